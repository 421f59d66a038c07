//! Issue 19 (nothing a notebook user types may kill the kernel): one test per item found by the
//! probe of the public API, in the numbering. Each failed (abort, panic or a silently
//! wrong value) before its fix. The test profile has debug assertions on, as evcxr's build does.
use sj::prelude::*;
use sj::surrogate::ATan;
use std::sync::Arc;

fn float(shape: &[i64]) -> Tensor {
    Tensor::rand(shape, (Kind::Float, Device::Cpu))
}

/// Every neuron that has a fused kernel, built fresh (its own VarStore for ParametricLIF).
fn fused_neurons(vs: &nn::VarStore) -> Vec<Box<dyn Module>> {
    vec![
        Box::new(IFNode::new()),
        Box::new(LIFNode::new(2.0).unwrap()),
        Box::new(ParametricLIFNode::new(&(vs.root() / "plif"), 2.0).unwrap()),
        Box::new(QIFNode::new(2.0, 0.8, 1.0, -0.1).unwrap()),
        Box::new(EIFNode::new(2.0, 1.0, 0.8, -0.1).unwrap()),
        Box::new(IzhikevichNode::default()),
    ]
}

/// Item 1: an empty batch through every fused neuron, both step modes, forward and backward.
/// Before: a slice built on libtorch's null data pointer (SIGABRT with debug assertions).
#[test]
fn item1_empty_batch_through_every_fused_neuron() {
    for (mode, shape) in [
        (StepMode::S, vec![0i64, 3]),
        (StepMode::M, vec![4, 0, 3]),
        (StepMode::M, vec![4, 2, 0]),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        for mut n in fused_neurons(&vs) {
            n.set_step_mode(mode).unwrap();
            let x = float(&shape).set_requires_grad(true);
            let s = n.forward(&x).unwrap();
            assert_eq!(s.size(), shape, "{} {mode}", n.type_name());
            s.sum(Kind::Float).backward();
            assert_eq!(x.grad().size(), shape, "{} {mode}", n.type_name());
            // The state is empty too and a reset neuron takes a real batch afterwards.
            functional::reset_net(n.as_mut());
            let real: Vec<i64> = shape.iter().map(|&d| d.max(1)).collect();
            assert_eq!(n.forward(&float(&real)).unwrap().size(), real);
        }
    }
}

/// Item 3: BatchNorm in training on one value per channel is PyTorch's error, and a failing
/// forward changes no buffer. Before: NaN in `running_var`, `num_batches_tracked` counted.
#[test]
fn item3_batch_norm_refuses_one_value_per_channel_when_training() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut bn = BatchNorm2d::new(&(vs.root() / "bn"), 3).unwrap();
    let err = bn.forward(&float(&[1, 3, 1, 1])).unwrap_err().to_string();
    assert!(
        err.contains("BatchNorm2d") && err.contains("more than 1 value per channel"),
        "{err}"
    );
    let buffers = |bn: &BatchNorm2d| {
        let var = Vec::<f32>::try_from(bn.running_var().unwrap()).unwrap();
        let count = functional::state_dict(bn)
            .into_iter()
            .find(|(k, _)| k == "num_batches_tracked")
            .unwrap()
            .1
            .int64_value(&[]);
        (var, count)
    };
    assert_eq!(buffers(&bn), (vec![1.0; 3], 0));
    // Wrong channel count: an error, nothing counted.
    assert!(bn.forward(&float(&[4, 2, 5, 5])).is_err());
    assert_eq!(buffers(&bn), (vec![1.0; 3], 0));
    // One sample but several values per channel is fine, and counts once.
    let _ = bn.forward(&float(&[1, 3, 2, 2])).unwrap();
    let (var, count) = buffers(&bn);
    assert!(
        var.iter().all(|v| v.is_finite()) && count == 1,
        "{var:?} {count}"
    );
    // In eval mode one sample is fine (running statistics).
    functional::set_training(&mut bn, false);
    assert_eq!(
        bn.forward(&float(&[1, 3, 1, 1])).unwrap().size(),
        [1, 3, 1, 1]
    );
}

/// Item 4: ordinary mistakes are errors naming the module and the fix, not panics.
#[test]
fn item4_ordinary_mistakes_are_errors() {
    // Flatten of a [N, F] batch in step mode 'm', and of a 1-D input in 's'.
    let mut flat_m = Flatten::new().with_step_mode(StepMode::M);
    let err = flat_m.forward(&float(&[32, 784])).unwrap_err().to_string();
    assert!(
        err.contains("Flatten") && err.contains("step mode 's'"),
        "{err}"
    );
    let err = Flatten::new()
        .forward(&float(&[784]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Flatten") && err.contains("unsqueeze(0)"),
        "{err}"
    );
    assert_eq!(
        flat_m.forward(&float(&[4, 2, 3, 5])).unwrap().size(),
        [4, 2, 15]
    );
    // Attention layers on float64.
    let vs = nn::VarStore::new(Device::Cpu);
    let mut twa = TemporalWiseAttention::new(&(vs.root() / "twa"), 4, 2, 2).unwrap();
    let x64 = float(&[4, 2, 6]).to_kind(Kind::Double);
    let err = twa.forward(&x64).unwrap_err().to_string();
    assert!(
        err.contains("TemporalWiseAttention") && err.contains("to_kind(Float)"),
        "{err}"
    );
    let mut mda =
        MultiDimensionalAttention::with_options(&(vs.root() / "mda"), 4, 16, 2, 4, 3).unwrap();
    let x64 = float(&[4, 2, 16, 3, 3]).to_kind(Kind::Double);
    let err = mda.forward(&x64).unwrap_err().to_string();
    assert!(err.contains("MultiDimensionalAttention"), "{err}");
    // Empty pooled axes are refused instead of reducing over nothing.
    assert!(mda.forward(&float(&[4, 2, 16, 0, 3])).is_err());
    // Linear with negative sizes.
    let err = Linear::new(&(vs.root() / "fc"), -1, 10, true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Linear") && err.contains("-1"), "{err}");
}

/// Item 6: silently wrong answers.
#[test]
fn item6_nan_potential_fires_no_nan_spike_on_the_torch_backend() {
    // SpikingJelly and the fused kernel emit 0 where H is NaN; the straight-through term must
    // not turn the value into NaN (x − x.detach() times a NaN surrogate gradient).
    let x = Tensor::from_slice(&[f32::NAN, 1.5, 0.2, f32::INFINITY, f32::NEG_INFINITY])
        .view([1, 5])
        .set_requires_grad(true);
    let mut spikes = Vec::new();
    for backend in [Backend::Torch, Backend::Fused] {
        let mut lif = LIFNode::new(2.0).unwrap().with_step_mode(StepMode::M);
        lif.set_backend(backend).unwrap();
        let x_seq = x.unsqueeze(0) * 2.0;
        let s = lif.forward(&x_seq).unwrap();
        spikes.push(Vec::<f32>::try_from(&s.flatten(0, -1)).unwrap());
        s.sum(Kind::Float).backward();
    }
    assert_eq!(spikes[0], vec![0.0, 1.0, 0.0, 1.0, 0.0]);
    assert_eq!(spikes[0], spikes[1]);
    // The finite elements still get the surrogate gradient from both backends.
    let g = Vec::<f32>::try_from(&x.grad().flatten(0, -1)).unwrap();
    assert!(g[1] > 0.0 && g[2] > 0.0, "{g:?}");
}

#[test]
fn item6_surrogate_parameters_are_checked() {
    for (bad, what) in [
        (Surrogate::atan(-1.0), "alpha"),
        (Surrogate::sigmoid(f64::NAN), "alpha"),
        (Surrogate::sigmoid(0.0), "alpha"),
        (Surrogate::q_pseudo_spike(1.0), "alpha"),
        (Surrogate::piecewise_leaky_relu(1.0, -0.5), "c"),
        (Surrogate::squarewave_fourier_series(0, 8.0), "n"),
        (Surrogate::leaky_k_relu(0.0, -1.0), "k"),
        (Surrogate::s2nn(4.0, f64::INFINITY), "beta"),
    ] {
        let err = bad.unwrap_err().to_string();
        assert!(err.contains(what) && err.contains("default"), "{err}");
    }
    for s in Surrogate::all_defaults() {
        s.check().unwrap();
    }
    // A public field set afterwards is caught before the neuron runs, and before CUDA code
    // generation (it wrote `NaNf` into the source).
    let mut bad = Surrogate::atan(2.0).unwrap();
    bad.function = Arc::new(ATan { alpha: f64::NAN });
    let mut lif = LIFNode::new(2.0).unwrap().with_surrogate(bad.clone());
    let err = lif.forward(&float(&[2, 3])).unwrap_err().to_string();
    assert!(
        err.contains("LIFNode") && err.contains("surrogate"),
        "{err}"
    );
    assert!(bad.cuda_codes("g", "x", "float").is_err());
}

#[test]
fn item6_fields_set_after_construction_are_checked_before_forward() {
    let x = float(&[4, 2, 3]);
    let mut lif = LIFNode::new(2.0).unwrap().with_step_mode(StepMode::M);
    lif.tau = 0.0;
    let err = lif.forward(&x).unwrap_err().to_string();
    assert!(err.contains("LIFNode") && err.contains("tau"), "{err}");
    lif.tau = 2.0;
    lif.node_mut().v_threshold = f64::NAN;
    let err = lif.forward(&x).unwrap_err().to_string();
    assert!(err.contains("v_threshold"), "{err}");

    let mut izh = IzhikevichNode::default().with_step_mode(StepMode::M);
    izh.tau_w = 0.0;
    let err = izh.forward(&x).unwrap_err().to_string();
    assert!(
        err.contains("IzhikevichNode") && err.contains("tau_w"),
        "{err}"
    );
    izh.tau_w = 2.0;
    assert!(izh.forward(&x).is_ok());

    let err = LIFNode::new(f64::INFINITY).unwrap_err().to_string();
    assert!(err.contains("tau must be finite"), "{err}");
}

#[test]
fn item6_two_layers_at_one_var_store_path_is_an_error() {
    // tch would rename the second `weight` to `weight__2`, which state_dict never reports.
    let vs = nn::VarStore::new(Device::Cpu);
    let _a = Linear::new(&(vs.root() / "0"), 3, 2, true).unwrap();
    let err = Linear::new(&(vs.root() / "0"), 3, 2, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Linear") && err.contains("'0.weight'") && err.contains("own"),
        "{err}"
    );
    let err = BatchNorm1d::new(&(vs.root() / "0"), 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("BatchNorm1d") && err.contains("'0.weight'"),
        "{err}"
    );
    let err = Conv2d::new(&(vs.root() / "0"), 1, 2, 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Conv2d"), "{err}");
    assert_eq!(vs.variables().len(), 2, "nothing added by the failed calls");
}

/// Item 7: a forgotten reset_net with a batch of the same shape, after a backward, is detected
/// at the next forward (SpikingJelly users meet it as "backward through the graph a second time"
/// at the next backward).
#[test]
fn item7_forgotten_reset_net_after_backward_is_detected() {
    for mode in [StepMode::S, StepMode::M] {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = Sequential::new()
            .add(Linear::new(&(vs.root() / "0"), 4, 3, true).unwrap())
            .add(LIFNode::new(2.0).unwrap());
        functional::set_step_mode(&mut net, mode).unwrap();
        let shape: &[i64] = if mode == StepMode::M {
            &[5, 2, 4]
        } else {
            &[2, 4]
        };
        net.forward(&float(shape))
            .unwrap()
            .sum(Kind::Float)
            .backward();
        let err = net.forward(&float(shape)).unwrap_err().to_string();
        assert!(
            err.contains("LIFNode") && err.contains("reset_net") && err.contains("detach_net"),
            "{mode}: {err}"
        );
        // Both remedies work.
        functional::detach_net(&mut net);
        net.forward(&float(shape))
            .unwrap()
            .sum(Kind::Float)
            .backward();
        functional::reset_net(&mut net);
        net.forward(&float(shape))
            .unwrap()
            .sum(Kind::Float)
            .backward();
    }
    // The op-by-op path, a neuron without a fused kernel and a neuron defined by the user
    // (SpikingJelly's tutorial SquareIFNode) are recognised the same way.
    let mut torch_lif = LIFNode::new(2.0).unwrap();
    torch_lif.set_backend(Backend::Torch).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    for (name, err) in [
        ("LIFNode", stale_batch_error(torch_lif)),
        (
            "KLIFNode",
            stale_batch_error(KLIFNode::new(&(vs.root() / "k"), false, 2.0).unwrap()),
        ),
        ("SquareIFNode", stale_batch_error(SquareIFNode::default())),
    ] {
        assert!(err.contains(name) && err.contains("reset_net"), "{err}");
    }
    // Several steps in one graph (step mode 's' in a loop) are not mistaken for a stale batch.
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = Sequential::new()
        .add(Linear::new(&(vs.root() / "0"), 4, 3, true).unwrap())
        .add(LIFNode::new(2.0).unwrap());
    let x = float(&[2, 4]);
    let total = (0..8)
        .map(|_| net.forward(&x).unwrap())
        .fold(Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)), |a, s| {
            a + s
        });
    total.sum(Kind::Float).backward();
}

/// Linear + `neuron` in step mode 'm': a batch, its backward, then the same-shape batch without
/// `reset_net`; returns the error of the second forward.
fn stale_batch_error<N: Module + 'static>(neuron: N) -> String {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = Sequential::new()
        .add(Linear::new(&(vs.root() / "0"), 4, 3, true).unwrap())
        .add(neuron);
    functional::set_step_mode(&mut net, StepMode::M).unwrap();
    let x = float(&[5, 2, 4]);
    net.forward(&x).unwrap().sum(Kind::Float).backward();
    net.forward(&x).unwrap_err().to_string()
}

/// SpikingJelly's tutorial neuron `SquareIFNode` (`H = V + X²`), defined as a notebook user does.
#[derive(Debug, Default)]
struct SquareIFNode {
    node: sj::neuron::BaseNode,
}

impl Neuron for SquareIFNode {
    fn type_name(&self) -> &'static str {
        "SquareIFNode"
    }
    fn node(&self) -> &sj::neuron::BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut sj::neuron::BaseNode {
        &mut self.node
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        v + x.square()
    }
}
