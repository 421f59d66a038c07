//! Spike and sequence helpers of `activation_based.functional` (inventory §2.5): `redundant_one_hot`,
//! `first_spike_index`, `delay`, `chunk_multi_step_forward`.
use crate::base::{check_dims, Module};
use crate::error::{Result, SjError};
use tch::{Kind, Tensor};

/// Errors unless `labels` holds integers (any integer dtype).
pub(super) fn check_integer(function: &str, labels: &Tensor) -> Result<()> {
    if !matches!(
        labels.kind(),
        Kind::Uint8 | Kind::Int8 | Kind::Int16 | Kind::Int | Kind::Int64
    ) {
        return Err(SjError::Input {
            module: function.into(),
            expected: "integer class labels (e.g. Int64)".into(),
            got: format!("{:?}", labels.kind()),
        });
    }
    Ok(())
}

/// Errors unless every label lies in `[0, num_classes)`.
pub(super) fn check_label_range(function: &str, labels: &Tensor, num_classes: i64) -> Result<()> {
    if labels.numel() == 0 {
        return Ok(());
    }
    let (lo, hi) = (labels.min().int64_value(&[]), labels.max().int64_value(&[]));
    if lo < 0 || hi >= num_classes {
        return Err(SjError::Input {
            module: function.into(),
            expected: format!("labels in [0, {num_classes})"),
            got: format!("labels in [{lo}, {hi}]"),
        });
    }
    Ok(())
}

/// `redundant_one_hot(labels, num_classes, n)`: labels `[B]` → float codes `[B, num_classes·n]`, class
/// `c` encoded as ones at `[c·n, c·n + n)` and zeros elsewhere.
pub fn redundant_one_hot(labels: &Tensor, num_classes: i64, n: i64) -> Result<Tensor> {
    const F: &str = "redundant_one_hot";
    if labels.dim() != 1 {
        return Err(SjError::Shape {
            module: F.into(),
            expected: "labels [batch_size]".into(),
            got: labels.size(),
        });
    }
    if num_classes < 1 || n < 1 {
        return Err(SjError::config(
            F,
            format!("num_classes and n must be >= 1, got num_classes={num_classes}, n={n}"),
        ));
    }
    check_integer(F, labels)?;
    check_label_range(F, labels, num_classes)?;
    crate::error::torch_guard(F, || {
        Ok(labels
            .to_kind(Kind::Int64)
            .one_hot(num_classes)
            .repeat_interleave_self_int(n, 1, None)
            .to_kind(Kind::Float))
    })
}

/// `first_spike_index(spikes)`: spikes `[*, T]` → a bool tensor of the same shape, true only where each
/// neuron fires for the first time (`cumsum(cumsum(s, -1), -1) == 1`, without gradient).
pub fn first_spike_index(spikes: &Tensor) -> Result<Tensor> {
    check_dims("first_spike_index", spikes, 1, "spikes [*, T]")?;
    Ok(tch::no_grad(|| {
        spikes.cumsum(-1, None).cumsum(-1, None).eq(1)
    }))
}

/// `delay(x_seq, delay_steps)`: `y[t] = x_seq[t − delay_steps]`, zeros for `t < delay_steps`; the output
/// has the shape of `x_seq` `[T, *]` and no gradient flows into the zero fill. A `delay_steps ≥ T` gives
/// all zeros (the equation, and what the `Delay` layer returns in step mode 's'; SpikingJelly's slicing
/// `x_seq[0:T-d]` would instead wrap around for `d > T`).
pub fn delay(x_seq: &Tensor, delay_steps: i64) -> Result<Tensor> {
    const F: &str = "delay";
    check_dims(F, x_seq, 1, "x_seq [T, *]")?;
    if delay_steps < 0 {
        return Err(SjError::config(
            F,
            format!("delay_steps must be >= 0, got {delay_steps}"),
        ));
    }
    let steps = x_seq.size()[0];
    let d = delay_steps.min(steps);
    let zeros = x_seq.narrow(0, 0, d).detach().zeros_like();
    Ok(Tensor::cat(&[zeros, x_seq.narrow(0, 0, steps - d)], 0))
}

/// `chunk_multi_step_forward(split_size, x_seq, multi_step_module)`: splits `x_seq` `[T, *]` along T into
/// chunks of `split_size` (the last may be shorter), runs them in order through the multi-step module
/// (its state carries over between chunks) and concatenates the outputs. Saves memory for large-T
/// inference such as ANN2SNN; the result equals one call on the whole sequence.
pub fn chunk_multi_step_forward(
    split_size: i64,
    x_seq: &Tensor,
    multi_step_module: &mut dyn Module,
) -> Result<Tensor> {
    const F: &str = "chunk_multi_step_forward";
    if split_size < 1 {
        return Err(SjError::config(
            F,
            format!("split_size must be >= 1, got {split_size}"),
        ));
    }
    check_dims(F, x_seq, 1, "x_seq [T, *]")?;
    let ys = x_seq
        .split(split_size, 0)
        .iter()
        .map(|chunk| multi_step_module.forward(chunk))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&ys, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::StepMode;
    use crate::functional::{reset_net, set_step_mode};
    use crate::layer::{Linear, Sequential};
    use crate::neuron::IFNode;
    use tch::{nn, Device};

    fn rows(t: &Tensor) -> Vec<Vec<f32>> {
        (0..t.size()[0])
            .map(|i| Vec::<f32>::try_from(&t.get(i).to_kind(Kind::Float)).unwrap())
            .collect()
    }

    #[test]
    fn redundant_one_hot_doc_rows_checklist_291() {
        let codes = redundant_one_hot(&Tensor::from_slice(&[0i64, 1, 1, 0]), 3, 2).unwrap();
        assert_eq!(codes.kind(), Kind::Float);
        assert_eq!(
            rows(&codes),
            vec![
                vec![1., 1., 0., 0., 0., 0.],
                vec![0., 0., 1., 1., 0., 0.],
                vec![0., 0., 1., 1., 0., 0.],
                vec![1., 1., 0., 0., 0., 0.]
            ]
        );
        let err = redundant_one_hot(&Tensor::from_slice(&[0i64, 3]), 3, 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("redundant_one_hot") && err.contains("[0, 3)") && err.contains("[0, 3]"),
            "{err}"
        );
        assert!(redundant_one_hot(&Tensor::from_slice(&[-1i64]), 3, 2).is_err());
        assert!(redundant_one_hot(&Tensor::from_slice(&[0i64]), 3, 0)
            .unwrap_err()
            .to_string()
            .contains("n=0"));
        assert!(redundant_one_hot(&Tensor::from_slice(&[0.0f32]), 3, 2)
            .unwrap_err()
            .to_string()
            .contains("Float"));
        assert!(
            redundant_one_hot(&Tensor::zeros([2, 2], (Kind::Int64, Device::Cpu)), 3, 2).is_err()
        );
    }

    #[test]
    fn first_spike_index_doc_example_checklist_292() {
        #[rustfmt::skip]
        let spikes = Tensor::from_slice(&[
            0f32, 0., 0., 0., 0., 0., 0., 0.,
            1., 0., 0., 0., 0., 0., 1., 0.,
            0., 1., 0., 0., 0., 1., 0., 1.,
            0., 0., 1., 1., 0., 0., 0., 1.,
            1., 1., 0., 0., 1., 0., 0., 0.,
            0., 0., 0., 1., 0., 0., 0., 0.,
        ]).view([2, 3, 8]);
        let idx = first_spike_index(&spikes).unwrap();
        assert_eq!(idx.kind(), Kind::Bool);
        assert_eq!(idx.size(), vec![2, 3, 8]);
        let first: Vec<Vec<f32>> = rows(&idx.view([6, 8]));
        let mut expected = vec![vec![0f32; 8]; 6];
        for (row, t) in [(1, 0), (2, 1), (3, 2), (4, 0), (5, 3)] {
            expected[row][t] = 1.0;
        }
        assert_eq!(first, expected);
        assert!(first_spike_index(&Tensor::from_slice(&[0f32; 0]).view([0])).is_ok());
        assert!(first_spike_index(&Tensor::from(1.0f32))
            .unwrap_err()
            .to_string()
            .contains("first_spike_index"));
    }

    #[test]
    fn delay_output_and_gradient_checklist_293() {
        let x = Tensor::from_slice(&[
            0.1084f32, 0.5698, 0.4563, 0.3623, 0.0556, 0.4704, 0., 0., 0., 0.,
        ])
        .view([5, 2])
        .set_requires_grad(true);
        let y = delay(&x, 1).unwrap();
        assert_eq!(
            rows(&y),
            vec![
                vec![0., 0.],
                vec![0.1084, 0.5698],
                vec![0.4563, 0.3623],
                vec![0.0556, 0.4704],
                vec![0., 0.]
            ]
        );
        y.sum(Kind::Float).backward();
        assert_eq!(
            rows(&x.grad()),
            vec![
                vec![1., 1.],
                vec![1., 1.],
                vec![1., 1.],
                vec![1., 1.],
                vec![0., 0.]
            ]
        );
        // d = 0 is the identity, d >= T gives zeros of x's shape, d < 0 is an error.
        assert_eq!(rows(&delay(&x, 0).unwrap()), rows(&x));
        let far = delay(&x, 7).unwrap();
        assert_eq!(far.size(), vec![5, 2]);
        assert_eq!(far.abs().sum(Kind::Float).double_value(&[]), 0.0);
        assert!(delay(&x, -1).unwrap_err().to_string().contains("delay"));
    }

    /// Linear(8,4)-IF-Linear(4,2)-IF with weights on a 1/8 grid so every chunking sums exactly.
    fn doc_net(vs: &nn::VarStore) -> Sequential {
        let p = vs.root();
        let net = Sequential::new()
            .add(Linear::new(&(&p / "0"), 8, 4, true).unwrap())
            .add(IFNode::new())
            .add(Linear::new(&(&p / "2"), 4, 2, true).unwrap())
            .add(IFNode::new());
        tch::no_grad(|| {
            for mut v in vs.trainable_variables() {
                let q = (&v * 8.0).round() / 8.0 + 0.125;
                v.copy_(&q);
            }
        });
        net
    }

    #[test]
    fn chunk_multi_step_forward_equals_one_call_checklist_294() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = doc_net(&vs);
        // SpikingJelly's doc shape [1024, 8]: sj's Linear needs [T, N, *] in step mode 'm', and is the same
        // map in step mode 's', so only the neurons run in 'm' here.
        for i in [1, 3] {
            net.get_mut(i).unwrap().set_step_mode(StepMode::M).unwrap();
        }
        let x_seq = (Tensor::rand([1024, 8], (Kind::Float, Device::Cpu)) * 8.0).round() / 8.0;
        let y_chunked = chunk_multi_step_forward(16, &x_seq, &mut net).unwrap();
        assert_eq!(y_chunked.size(), vec![1024, 2]);
        reset_net(&mut net);
        let y_whole = net.forward(&x_seq).unwrap();
        assert_eq!((&y_chunked - &y_whole).abs().max().double_value(&[]), 0.0);
        assert!(
            y_whole.sum(Kind::Float).double_value(&[]) > 0.0,
            "the test needs some spikes"
        );

        // The whole net in step mode 'm' on [T, N, 8], with a split that leaves a short last chunk.
        set_step_mode(&mut net, StepMode::M).unwrap();
        let x_seq = (Tensor::rand([100, 3, 8], (Kind::Float, Device::Cpu)) * 8.0).round() / 8.0;
        reset_net(&mut net);
        let y_chunked = chunk_multi_step_forward(16, &x_seq, &mut net).unwrap();
        reset_net(&mut net);
        assert_eq!(y_chunked.size(), vec![100, 3, 2]);
        assert_eq!(
            (&y_chunked - net.forward(&x_seq).unwrap())
                .abs()
                .max()
                .double_value(&[]),
            0.0
        );

        let err = chunk_multi_step_forward(0, &x_seq, &mut net)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("chunk_multi_step_forward") && err.contains("split_size"),
            "{err}"
        );
    }
}
