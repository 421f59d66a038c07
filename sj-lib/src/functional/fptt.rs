//! FPTT online training of `activation_based.functional` (inventory §2.5): Kag & Saligrama, "Training
//! Recurrent Neural Networks via Forward Propagation Through Time", used for SNNs by Yin et al.
use super::{detach_net, named_memories};
use crate::base::Module;
use crate::error::{Result, SjError};
use tch::{nn, Reduction, Tensor};

const F: &str = "fptt_online_training";

/// `fptt_online_training_init_w_ra(optimizer)`: copies of the optimizer's parameters, the running
/// average `w_ra` that [`fptt_online_training`] updates (in `optimizer.trainable_variables()` order).
pub fn fptt_online_training_init_w_ra(optimizer: &nn::Optimizer) -> Vec<Tensor> {
    optimizer
        .trainable_variables()
        .iter()
        .map(|w| w.detach().copy())
        .collect()
}

/// A deep copy of every memory in the tree, by dotted name.
fn snapshot(model: &dyn Module) -> Vec<(String, Option<Tensor>)> {
    named_memories(model)
        .into_iter()
        .map(|(name, t)| (name, t.map(|t| t.detach().copy())))
        .collect()
}

/// Writes a [`snapshot`] back into the model's (detached) memory tensors, in place.
fn restore(model: &dyn Module, saved: &[(String, Option<Tensor>)]) -> Result<()> {
    let now = named_memories(model);
    if now.len() != saved.len() {
        return Err(SjError::config(
            F,
            "the model's memories changed while re-running a step",
        ));
    }
    for ((name, current), (_, old)) in now.into_iter().zip(saved) {
        match (current, old) {
            (Some(mut current), Some(old)) if current.size() == old.size() => {
                tch::no_grad(|| current.copy_(old));
            }
            (None, None) => {}
            _ => {
                return Err(SjError::config(
                    F,
                    format!("memory '{name}' cannot be restored after re-running a step"),
                ))
            }
        }
    }
    Ok(())
}

/// Runs `f_loss_t(model(x), target)` and checks that the loss is a scalar that depends on the parameters.
fn step_loss<L>(
    model: &mut dyn Module,
    x: &Tensor,
    target: &Tensor,
    f_loss_t: &mut L,
) -> Result<Tensor>
where
    L: FnMut(&Tensor, &Tensor) -> Result<Tensor>,
{
    let loss = f_loss_t(&model.forward(x)?, target)?;
    if loss.numel() != 1 {
        return Err(SjError::Shape {
            module: format!("{F} (f_loss_t)"),
            expected: "a scalar loss".into(),
            got: loss.size(),
        });
    }
    Ok(loss)
}

fn backward(loss: &Tensor) -> Result<()> {
    loss.f_backward().map_err(|e| {
        SjError::config(
            F,
            format!(
                "backward failed: {}",
                e.to_string().lines().next().unwrap_or_default()
            ),
        )
    })
}

/// `fptt_online_training(model, optimizer, x_seq, target_seq, f_loss_t, alpha, w_ra)`: one sequence of
/// FPTT online learning with a single-step `model`, x_seq `[T, N, *]`, target_seq `[T, *]`. For each t:
/// zero the gradients; `ℓ_t = f_loss_t(model(x_seq[t]), target_seq[t])` plus the regulariser
/// `(α/2)·Σ_w mse(w, w_ra + g/(2α))`; backward, `optimizer.step()`, [`detach_net`]. If `t < T − 1`, the
/// step is re-run (updated weights, post-step state, as in SpikingJelly) to get `g = ∇_w ℓ_t`, then `w_ra ← (w_ra + w)/2 − g/(2α)`, and
/// the memories saved before the re-run are restored. `g` starts at 0; a parameter without a gradient
/// counts as `g = 0`. `w_ra` comes from [`fptt_online_training_init_w_ra`] and carries over between
/// calls; call `reset_net` after each sequence.
pub fn fptt_online_training<L>(
    model: &mut dyn Module,
    optimizer: &mut nn::Optimizer,
    x_seq: &Tensor,
    target_seq: &Tensor,
    mut f_loss_t: L,
    alpha: f64,
    w_ra: &mut [Tensor],
) -> Result<()>
where
    L: FnMut(&Tensor, &Tensor) -> Result<Tensor>,
{
    if x_seq.dim() < 2 {
        return Err(SjError::Shape {
            module: F.into(),
            expected: "x_seq [T, N, *]".into(),
            got: x_seq.size(),
        });
    }
    let steps = x_seq.size()[0];
    if target_seq.dim() < 1 || target_seq.size()[0] != steps {
        return Err(SjError::Shape {
            module: F.into(),
            expected: format!("target_seq [{steps}, *]"),
            got: target_seq.size(),
        });
    }
    if !(alpha > 0.0 && alpha.is_finite()) {
        return Err(SjError::config(
            F,
            format!("alpha must be a finite number > 0, got {alpha}"),
        ));
    }
    let params = optimizer.trainable_variables();
    if w_ra.len() != params.len()
        || params
            .iter()
            .zip(w_ra.iter())
            .any(|(w, r)| w.size() != r.size())
    {
        return Err(SjError::config(
            F,
            format!(
                "w_ra must match the optimizer's {} parameters; build it with fptt_online_training_init_w_ra",
                params.len()
            ),
        ));
    }
    let mut grad_last: Vec<Tensor> = params.iter().map(|w| w.detach().zeros_like()).collect();
    for t in 0..steps {
        optimizer.zero_grad();
        let loss_t = step_loss(model, &x_seq.get(t), &target_seq.get(t), &mut f_loss_t)?;
        let loss_reg = params.iter().zip(w_ra.iter()).zip(&grad_last).fold(
            Tensor::zeros([], (loss_t.kind(), loss_t.device())),
            |sum, ((w, ra), g)| sum + w.mse_loss(&(ra + g / (2.0 * alpha)), Reduction::Mean),
        );
        backward(&(loss_t + loss_reg * (alpha / 2.0)))?;
        optimizer.step();
        detach_net(model);

        if t < steps - 1 {
            let memories = snapshot(model);
            optimizer.zero_grad();
            // A copy of the input, so that no memory written in place by `restore` aliases x_seq.
            let loss_t = step_loss(
                model,
                &x_seq.get(t).copy(),
                &target_seq.get(t),
                &mut f_loss_t,
            )?;
            backward(&loss_t)?;
            tch::no_grad(|| {
                for ((w, ra), g) in params.iter().zip(w_ra.iter_mut()).zip(grad_last.iter_mut()) {
                    let grad = w.grad();
                    *g = if grad.defined() {
                        grad.detach().copy()
                    } else {
                        w.detach().zeros_like()
                    };
                    *ra = (&*ra + w.detach()) / 2.0 - &*g / (2.0 * alpha);
                }
            });
            detach_net(model);
            restore(model, &memories)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;
    use crate::layer::{Linear, Sequential};
    use crate::neuron::IFNode;
    use tch::nn::OptimizerConfig;
    use tch::{Device, Kind};

    fn mse(y: &Tensor, target: &Tensor) -> Result<Tensor> {
        Ok(y.mse_loss(target, Reduction::Mean))
    }

    /// ∇ of mean((x Wᵀ + b − target)²) with respect to (W, b), written out.
    fn linear_mse_grads(w: &Tensor, b: &Tensor, x: &Tensor, target: &Tensor) -> (Tensor, Tensor) {
        let y = x.mm(&w.tr()) + b;
        let dy = (y - target) * (2.0 / target.numel() as f64);
        (dy.tr().mm(x), dy.sum_dim_intlist(0, false, Kind::Float))
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn two_steps_match_hand_computed_sgd_with_the_fptt_regulariser() {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut model = Linear::new(&vs.root(), 3, 2, true).unwrap();
        let (lr, alpha) = (0.1, 0.1);
        let mut opt = nn::Sgd::default().build(&vs, lr).unwrap();
        let mut w_ra = fptt_online_training_init_w_ra(&opt);
        assert_eq!(w_ra.len(), 2);
        let (w0, b0) = (
            model.weight().detach().copy(),
            model.bias().unwrap().detach().copy(),
        );
        let x_seq = Tensor::rand([2, 4, 3], (Kind::Float, Device::Cpu));
        let target_seq = Tensor::rand([2, 4, 2], (Kind::Float, Device::Cpu));
        let before = mse(&model.forward(&x_seq.get(0)).unwrap(), &target_seq.get(0))
            .unwrap()
            .double_value(&[]);

        fptt_online_training(
            &mut model,
            &mut opt,
            &x_seq,
            &target_seq,
            mse,
            alpha,
            &mut w_ra,
        )
        .unwrap();

        // t = 0: w_ra = w0 and g = 0, so the regulariser has zero gradient: a plain SGD step.
        let (gw, gb) = linear_mse_grads(&w0, &b0, &x_seq.get(0), &target_seq.get(0));
        let (w1, b1) = (&w0 - &gw * lr, &b0 - &gb * lr);
        let after = mse(&(x_seq.get(0).mm(&w1.tr()) + &b1), &target_seq.get(0))
            .unwrap()
            .double_value(&[]);
        assert!(after < before, "the step lowers ℓ_0: {before} -> {after}");
        // Re-run: g = ∇ℓ_0(w1); w_ra = (w0 + w1)/2 − g/(2α).
        let (hw, hb) = linear_mse_grads(&w1, &b1, &x_seq.get(0), &target_seq.get(0));
        let ra_w = (&w0 + &w1) / 2.0 - &hw / (2.0 * alpha);
        let ra_b = (&b0 + &b1) / 2.0 - &hb / (2.0 * alpha);
        // t = 1: ∇ = ∇ℓ_1(w1) + α·(w1 − w_ra − g/(2α)) / numel(w).
        let (gw1, gb1) = linear_mse_grads(&w1, &b1, &x_seq.get(1), &target_seq.get(1));
        let reg_w = (&w1 - &ra_w - &hw / (2.0 * alpha)) * (alpha / 6.0);
        let reg_b = (&b1 - &ra_b - &hb / (2.0 * alpha)) * (alpha / 2.0);
        let w2 = &w1 - (gw1 + reg_w) * lr;
        let b2 = &b1 - (gb1 + reg_b) * lr;

        assert!(
            max_diff(model.weight(), &w2) < 1e-6,
            "weight off by {}",
            max_diff(model.weight(), &w2)
        );
        assert!(max_diff(model.bias().unwrap(), &b2) < 1e-6);
        // w_ra follows the optimizer's (VarStore's) order.
        let (ra_w_got, ra_b_got) = if w_ra[0].dim() == 2 {
            (&w_ra[0], &w_ra[1])
        } else {
            (&w_ra[1], &w_ra[0])
        };
        assert!(max_diff(ra_w_got, &ra_w) < 1e-6 && max_diff(ra_b_got, &ra_b) < 1e-6);
    }

    #[test]
    fn memories_are_those_of_one_pass_through_the_sequence() {
        tch::manual_seed(6);
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        let mut net = Sequential::new()
            .add(Linear::new(&(&p / "0"), 3, 2, true).unwrap())
            .add(IFNode::new());
        // lr = 0 keeps the weights, so the IF state after FPTT must equal a plain forward pass; without
        // restoring the memories, x[0] and x[1] would be integrated twice.
        let mut opt = nn::Sgd::default().build(&vs, 0.0).unwrap();
        let mut w_ra = fptt_online_training_init_w_ra(&opt);
        let x_seq = Tensor::rand([3, 2, 3], (Kind::Float, Device::Cpu)) * 0.2;
        let target_seq = Tensor::zeros([3, 2, 2], (Kind::Float, Device::Cpu));
        fptt_online_training(&mut net, &mut opt, &x_seq, &target_seq, mse, 0.1, &mut w_ra).unwrap();
        let v_fptt = named_memories(&net)[0].1.as_ref().unwrap().copy();
        reset_net(&mut net);
        for t in 0..3 {
            let _ = net.forward(&x_seq.get(t)).unwrap();
        }
        let v_plain = named_memories(&net)[0].1.as_ref().unwrap().copy();
        assert!(v_plain.abs().max().double_value(&[]) > 0.0);
        assert_eq!(max_diff(&v_fptt, &v_plain), 0.0);
        assert!(!v_fptt.requires_grad());
    }

    #[test]
    fn bad_arguments_name_the_function() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut model = Linear::new(&vs.root(), 3, 2, true).unwrap();
        let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
        let mut w_ra = fptt_online_training_init_w_ra(&opt);
        let x = Tensor::rand([2, 4, 3], (Kind::Float, Device::Cpu));
        let y = Tensor::rand([3, 4, 2], (Kind::Float, Device::Cpu));
        let err = fptt_online_training(&mut model, &mut opt, &x, &y, mse, 0.1, &mut w_ra)
            .unwrap_err()
            .to_string();
        assert!(err.contains(F) && err.contains("[2, *]"), "{err}");
        let y = y.narrow(0, 0, 2);
        let err = fptt_online_training(&mut model, &mut opt, &x, &y, mse, 0.0, &mut w_ra)
            .unwrap_err()
            .to_string();
        assert!(err.contains(F) && err.contains("alpha"), "{err}");
        let err = fptt_online_training(&mut model, &mut opt, &x, &y, mse, 0.1, &mut w_ra[..1])
            .unwrap_err()
            .to_string();
        assert!(err.contains(F) && err.contains("w_ra"), "{err}");
        let per_element = |y: &Tensor, t: &Tensor| -> Result<Tensor> { Ok(y - t) };
        let err = fptt_online_training(&mut model, &mut opt, &x, &y, per_element, 0.1, &mut w_ra)
            .unwrap_err()
            .to_string();
        assert!(err.contains("f_loss_t") && err.contains("scalar"), "{err}");
    }
}
