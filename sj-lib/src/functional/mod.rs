//! `activation_based.functional`: functions over module trees and sequences (inventory §2.5).
use crate::base::{check_dims, Backend, Module, StepMode};
use crate::error::Result;
use tch::Tensor;

mod convbn;
mod fptt;
mod init;
mod loss;
mod spikes;
mod threshold;

pub use convbn::{
    fuse_conv_bn_eval, fuse_convbn2d, fused_conv2d_bias_of_convbn2d,
    fused_conv2d_weight_of_convbn2d, scale_fused_conv2d_bias_of_convbn2d,
    scale_fused_conv2d_weight_of_convbn2d,
};
pub use fptt::{fptt_online_training, fptt_online_training_init_w_ra};
pub use init::kaiming_normal_conv_linear_weight;
pub use loss::{
    kernel_dot_product, spike_similar_loss, temporal_efficient_training_cross_entropy, Kernel,
    SimilarityLoss,
};
pub use spikes::{chunk_multi_step_forward, delay, first_spike_index, redundant_one_hot};
pub use threshold::set_threshold_margin;

/// The module at the dotted `named_modules` path (`"0"`, `"conv_fc.3"`) of `net`; the error lists
/// the paths there are.
pub fn get_module<'a>(net: &'a dyn Module, path: &str) -> Result<&'a dyn Module> {
    let mut module = net;
    for part in path.split('.') {
        let children = module.children();
        match children.into_iter().find(|(name, _)| name == part) {
            Some((_, child)) => module = child,
            None => {
                let known: Vec<String> = named_modules(net).into_iter().map(|(n, _)| n).collect();
                return Err(crate::error::SjError::config(
                    net.type_name(),
                    format!("no module at {path:?}; the modules are {known:?}"),
                ));
            }
        }
    }
    Ok(module)
}

fn walk_mut(module: &mut dyn Module, f: &mut dyn FnMut(&mut dyn Module)) {
    f(module);
    for (_, child) in module.children_mut() {
        walk_mut(child, f);
    }
}

pub(crate) fn walk(prefix: &str, module: &dyn Module, f: &mut dyn FnMut(&str, &dyn Module)) {
    f(prefix, module);
    for (name, child) in module.children() {
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        walk(&path, child, f);
    }
}

/// `reset_net(net)`: resets every stateful module. Call it after every batch.
pub fn reset_net(net: &mut dyn Module) {
    walk_mut(net, &mut |m| m.reset());
}

/// `detach_net(net)`: detaches every module's state from the graph (truncated BPTT).
pub fn detach_net(net: &mut dyn Module) {
    walk_mut(net, &mut |m| m.detach());
}

/// Switches training behaviour for the whole tree (PyTorch's `net.train()` / `net.eval()`).
pub fn set_training(net: &mut dyn Module, training: bool) {
    walk_mut(net, &mut |m| m.set_training(training));
}

/// `set_step_mode(net, mode)`: sets the mode of every module, except the children of the
/// containers (`MultiStepContainer`, `SeqToANNContainer`, `StepModeContainer` and the recurrent
/// containers), which stay `'s'`. Errors name the first
/// module that does not support `mode`.
pub fn set_step_mode(net: &mut dyn Module, mode: StepMode) -> Result<()> {
    net.set_step_mode(mode)?;
    if net.propagates_step_mode() {
        for (_, child) in net.children_mut() {
            set_step_mode(child, mode)?;
        }
    }
    Ok(())
}

/// `set_backend(net, backend)`: sets the backend on every module that supports it and returns
/// the names of the stateful modules that kept their old backend (SpikingJelly logs a warning).
pub fn set_backend(net: &mut dyn Module, backend: Backend) -> Vec<String> {
    let mut kept = Vec::new();
    walk_mut(net, &mut |m| {
        if m.set_backend(backend).is_err() && m.is_stateful() {
            kept.push(m.type_name().to_string());
        }
    });
    kept
}

/// Every memory in the tree with its dotted name, e.g. `("1.v", Some(tensor))`.
pub fn named_memories(net: &dyn Module) -> Vec<(String, Option<Tensor>)> {
    let mut out = Vec::new();
    walk("", net, &mut |path, m| {
        for (name, t) in m.memories() {
            out.push((
                if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                },
                t,
            ));
        }
    });
    out
}

/// The `state_dict` names and tensors of the tree, e.g. `("0.weight", tensor)`.
pub fn state_dict(net: &dyn Module) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    walk("", net, &mut |path, m| {
        for (name, t) in m.named_tensors() {
            out.push((
                if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                },
                t,
            ));
        }
    });
    out
}

/// Every module in the tree with its dotted name (`named_modules`), root first as `""`.
pub fn named_modules(net: &dyn Module) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    walk("", net, &mut |path, m| {
        out.push((path.to_string(), m.type_name()))
    });
    out
}

/// `multi_step_forward(x_seq, module)`: runs a single-step module over `x_seq[t]` and stacks.
pub fn multi_step_forward(x_seq: &Tensor, module: &mut dyn Module) -> Result<Tensor> {
    step_by_step(module.type_name(), x_seq, |x| module.forward(x))
}

/// Runs `step` over `x_seq[t]` for every t and stacks the outputs along dim 0: the loop behind
/// every multi-step forward of a stateful module (`module` names it in errors).
pub fn step_by_step(
    module: &str,
    x_seq: &Tensor,
    step: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    crate::error::torch_guard(module, || steps_stacked(module, x_seq, step))
}

fn steps_stacked(
    module: &str,
    x_seq: &Tensor,
    mut step: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    check_dims(module, x_seq, 2, "[T, N, *] in step mode 'm'")?;
    if x_seq.size()[0] == 0 {
        return Err(crate::SjError::Shape {
            module: module.into(),
            expected: "[T, N, *] with T > 0".into(),
            got: x_seq.size(),
        });
    }
    let steps = x_seq.size()[0];
    let first = step(&x_seq.get(0))?;
    // The stacked output must fit in memory: refuse an absurd T before looping over it (a
    // reservation that is never touched costs nothing when it succeeds).
    let _ = Tensor::f_empty(
        [&[steps], first.size().as_slice()].concat(),
        (first.kind(), first.device()),
    )
    .map_err(|_| crate::SjError::Shape {
        module: module.into(),
        expected: format!(
            "[T, N, *] whose T = {steps} steps of output {:?} fit in memory",
            first.size()
        ),
        got: x_seq.size(),
    })?;
    let mut ys = vec![first];
    for t in 1..steps {
        ys.push(step(&x_seq.get(t))?);
    }
    Tensor::f_stack(&ys, 0).map_err(crate::error::op_error("step_by_step"))
}

/// `seq_to_ann_forward(x_seq, f)`: `[T, N, *]` → `[T·N, *]`, apply `f`, then back to `[T, N, *']`.
pub fn seq_to_ann_forward(
    module: &str,
    x_seq: &Tensor,
    f: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    check_dims(module, x_seq, 2, "[T, N, *] in step mode 'm'")?;
    let (t, n) = (x_seq.size()[0], x_seq.size()[1]);
    let y = crate::error::torch_guard(module, || f(&x_seq.flatten(0, 1)))?;
    let y_size = y.size();
    if y_size.first() != Some(&(t * n)) {
        return Err(crate::SjError::Shape {
            module: module.into(),
            expected: format!("an output [T·N = {}, *] from the per-step function", t * n),
            got: y_size,
        });
    }
    let shape = [&[t, n], &y_size[1..]].concat();
    y.f_reshape(shape.as_slice())
        .map_err(crate::error::op_error("seq_to_ann_forward"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Flatten, Linear, Sequential};
    use crate::neuron::{IFNode, LIFNode};
    use tch::{nn, Device, Kind};

    fn net(vs: &nn::VarStore) -> Sequential {
        let p = vs.root();
        Sequential::new()
            .add(Flatten::new())
            .add(Linear::new(&(&p / "1"), 12, 4, true).unwrap())
            .add(LIFNode::new(2.0).unwrap())
            .add(Linear::new(&(&p / "3"), 4, 2, false).unwrap())
            .add(IFNode::new())
    }

    #[test]
    fn step_by_step_equals_layer_by_layer_exactly_checklist_283() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut n = net(&vs);
        tch::manual_seed(3);
        let x_seq = Tensor::rand([4, 2, 3, 4], (Kind::Float, Device::Cpu)) * 8.0;
        let y_s = Tensor::stack(
            &(0..4)
                .map(|t| n.forward(&x_seq.get(t)).unwrap())
                .collect::<Vec<_>>(),
            0,
        );
        reset_net(&mut n);
        set_step_mode(&mut n, StepMode::M).unwrap();
        let y_m = n.forward(&x_seq).unwrap();
        assert_eq!((y_s - y_m).abs().max().double_value(&[]), 0.0);
        assert_eq!(n.get(2).unwrap().step_mode(), StepMode::M);
        assert_eq!(named_modules(&n)[3], ("2".to_string(), "LIFNode"));
    }

    #[test]
    fn names_follow_pytorch_state_dicts() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut n = net(&vs);
        let names: Vec<String> = state_dict(&n).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["1.weight", "1.bias", "3.weight"]);
        let mut vs_names: Vec<String> = vs.variables().into_keys().collect();
        vs_names.sort();
        assert_eq!(vs_names, ["1.bias", "1.weight", "3.weight"]);
        let _ = n
            .forward(&Tensor::ones([2, 3, 4], (Kind::Float, Device::Cpu)))
            .unwrap();
        let mems: Vec<String> = named_memories(&n)
            .into_iter()
            .filter(|(_, t)| t.is_some())
            .map(|(k, _)| k)
            .collect();
        assert_eq!(mems, ["2.v", "4.v"]);
        reset_net(&mut n);
        assert!(named_memories(&n).iter().all(|(_, t)| t.is_none()));
        assert_eq!(set_backend(&mut n, Backend::Cuda), ["LIFNode", "IFNode"]);
    }

    #[test]
    fn shape_errors_name_the_module() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut n = net(&vs);
        let err = n
            .forward(&Tensor::ones([2, 5], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Linear") && err.contains("12") && err.contains("[2, 5]"),
            "{err}"
        );
    }
}
