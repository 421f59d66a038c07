//! The probe suite of sj's module API (issue 19): every public module's forward and every
//! fallible constructor and functional, called with the bad input a new user types (wrong rank,
//! T = 0, an empty batch, float64/int64, NaN/inf, non-contiguous views, absurd sizes, negative
//! parameters). A probe passes when it returns an `Err` whose message names the module, or an
//! `Ok` listed in [`DOCUMENTED_OK`] with the reason it is sensible. A panic, an error that does
//! not name the module, or an undocumented `Ok` fails the suite; all failures are reported at once.
//! The test profile has debug assertions and overflow checks on, like evcxr's build of `:dep sj`.
use sj::ann2snn::{Mode, VoltageHook, VoltageScaler};
use sj::functional::{self, Kernel, SimilarityLoss};
use sj::prelude::*;
use sj::quantize;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// `(module, probe, why Ok is right)`: the probes where an `Ok` is the sensible answer.
/// `*` as the module matches every module of the suite.
const DOCUMENTED_OK: &[(&str, &str, &str)] = &[
    ("*", "empty batch", "PyTorch returns an empty output for an empty batch (N = 0)"),
    ("*", "empty features", "a zero-size non-batch axis gives an empty output, as in PyTorch"),
    ("*", "NaN input", "NaN propagates through arithmetic as in PyTorch; neurons do not fire on NaN"),
    ("*", "inf input", "infinities propagate as in PyTorch; neurons fire on +inf only"),
    ("*", "non-contiguous", "views are read through strides; the output equals the contiguous input's (checked)"),
    ("*", "float64", "element-wise modules compute in the input's dtype, as SpikingJelly's do"),
    ("*", "extra leading dim", "the module is element-wise or broadcasts leading dims (torch's Linear does)"),
    ("*", "one sample", "a single [1, *] sample is a valid batch"),
    ("IFNode", "rank 1", "neurons are element-wise: [N] is a batch of N scalar neurons"),
    ("LIFNode", "rank 1", "neurons are element-wise"),
    ("ParametricLIFNode", "rank 1", "neurons are element-wise"),
    ("QIFNode", "rank 1", "neurons are element-wise"),
    ("EIFNode", "rank 1", "neurons are element-wise"),
    ("IzhikevichNode", "rank 1", "neurons are element-wise"),
    ("KLIFNode", "rank 1", "neurons are element-wise"),
    ("LIAFNode", "rank 1", "neurons are element-wise"),
    ("SynapseFilter", "rank 1", "the filter is element-wise"),
    ("Dropout", "rank 1", "element-wise masks take any shape"),
    ("PrintShapeModule", "rank 1", "prints any shape"),
    ("PrintShapeModule", "scalar", "prints any shape"),
    ("PrintShapeModule", "int64", "prints any dtype"),
    ("Sequential", "int64", "an empty Sequential is the identity"),
    ("Delay", "int64", "a delay line moves values of any dtype, as SpikingJelly's does"),
    ("Dropout", "int64", "in eval mode dropout is the identity for any dtype, as in PyTorch"),
    ("Dropout2d", "int64", "in eval mode dropout is the identity for any dtype, as in PyTorch"),
    ("Flatten", "int64", "flattening is dtype-agnostic, as torch.flatten"),
    ("MaxPool1d", "int64", "max pooling is defined for integers, as in PyTorch"),
    ("MaxPool2d", "int64", "max pooling is defined for integers, as in PyTorch"),
    ("MaxPool3d", "int64", "max pooling is defined for integers, as in PyTorch"),
    ("*", "T = 0", "stateless layers map [0, N, *] to an empty output, as PyTorch does; stateful ones refuse T = 0"),
    ("VotingLayer", "rank 1", "voting averages the last axis of any rank"),
    ("Linear", "rank 1", "torch's Linear takes an unbatched [in_features] input"),
    ("AvgPool2d", "int64", "average pooling of integers is defined in libtorch, as in PyTorch"),
    ("Dropout", "scalar", "in eval mode dropout is the identity for any shape, as in PyTorch"),
    ("Dropout2d", "scalar", "in eval mode dropout is the identity for any shape, as in PyTorch"),
    ("Dropout2d", "rank 1", "in eval mode dropout is the identity for any shape, as in PyTorch"),
    ("SynapseFilter", "scalar", "the filter is element-wise"),
    ("Sequential", "scalar", "an empty Sequential is the identity"),
    ("Sequential", "rank 1", "an empty Sequential is the identity"),
    ("ElementWiseRecurrentContainer", "rank 1", "the element-wise feedback and IFNode take [N]"),
    ("Delay", "rank 1", "a [T] sequence of scalars is delayed like any other"),
    ("Flatten", "huge batch (stride-0 view of 2^40 samples)", "returns a view: nothing is allocated"),
    ("Flatten", "huge T (stride-0 view of 2^40 steps)", "returns a view: nothing is allocated"),
    ("Dropout", "huge batch (stride-0 view of 2^40 samples)", "the identity in eval mode: nothing is allocated"),
    ("Dropout", "huge T (stride-0 view of 2^40 steps)", "the identity in eval mode: nothing is allocated"),
    ("Dropout2d", "huge batch (stride-0 view of 2^40 samples)", "the identity in eval mode: nothing is allocated"),
    ("Dropout2d", "huge T (stride-0 view of 2^40 steps)", "the identity in eval mode: nothing is allocated"),
    ("Sequential", "huge batch (stride-0 view of 2^40 samples)", "an empty Sequential is the identity"),
    ("Sequential", "huge T (stride-0 view of 2^40 steps)", "an empty Sequential is the identity"),
    ("PrintShapeModule", "huge batch (stride-0 view of 2^40 samples)", "prints the shape and returns its input"),
    ("PrintShapeModule", "huge T (stride-0 view of 2^40 steps)", "prints the shape and returns its input"),
    ("k_bit_quantize", "k 64", "k is valid up to 1023 (2^k − 1 is finite in f64); beyond float32's 24 bits it is the identity"),
    ("Flatten", "rank 1", "in step mode 'm' [T, N] flattening gives [T, N] (start_dim 1 of each step)"),
    ("ReLU", "scalar", "element-wise, any shape, as nn.ReLU"),
    ("ReLU", "rank 1", "element-wise, any shape, as nn.ReLU"),
    ("ReLU", "int64", "torch.relu is defined for integers"),
    ("Identity", "scalar", "returns its input, as nn.Identity"),
    ("Identity", "rank 1", "returns its input, as nn.Identity"),
    ("Identity", "int64", "returns its input, as nn.Identity"),
    ("Identity", "huge batch (stride-0 view of 2^40 samples)", "returns its input: nothing is allocated"),
    ("Identity", "huge T (stride-0 view of 2^40 steps)", "returns its input: nothing is allocated"),
    ("VoltageScaler", "scalar", "element-wise scaling, any shape"),
    ("VoltageScaler", "rank 1", "element-wise scaling, any shape"),
    ("VoltageHook", "scalar", "records the statistic of any non-empty activations and returns them"),
    ("VoltageHook", "rank 1", "records the statistic of any non-empty activations and returns them"),
    ("VoltageHook", "int64", "the max or percentile of integers is defined; the input is returned as it is"),
];

fn documented(module: &str, probe: &str) -> bool {
    DOCUMENTED_OK
        .iter()
        .any(|&(m, p, _)| (m == "*" || m == module) && p == probe)
}

/// libtorch's global RNG is shared by the test threads: `probe_forward` builds a module twice on
/// one seed and expects the same weights, so the tests of this file that draw from the RNG (module
/// initialisation, the Trainer's per-epoch seeding) take turns.
fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
struct Tally {
    probes: usize,
    errs: usize,
    oks: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Runs one probe of `module`; returns the value of an accepted `Ok`.
    fn probe<T>(
        &mut self,
        module: &str,
        probe: &str,
        f: impl FnOnce() -> sj::Result<T>,
    ) -> Option<T> {
        self.probes += 1;
        match catch_unwind(AssertUnwindSafe(f)) {
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.failures
                    .push(format!("{module} / {probe}: PANIC {msg}"));
                None
            }
            Ok(Err(e)) => {
                let text = e.to_string();
                if text.contains(module) {
                    self.errs += 1;
                } else {
                    let first = text.lines().next().unwrap_or_default();
                    self.failures.push(format!(
                        "{module} / {probe}: the error does not name the module: {first}"
                    ));
                }
                None
            }
            Ok(Ok(v)) => {
                if documented(module, probe) {
                    self.oks += 1;
                    Some(v)
                } else {
                    self.failures
                        .push(format!("{module} / {probe}: undocumented Ok"));
                    None
                }
            }
        }
    }

    fn finish(self, suite: &str) {
        eprintln!(
            "{suite}: {} probes, {} Err, {} documented Ok, {} failures",
            self.probes,
            self.errs,
            self.oks,
            self.failures.len()
        );
        assert!(
            self.failures.is_empty(),
            "{} failing probes:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

type Factory = Box<dyn Fn(&nn::VarStore) -> Box<dyn Module>>;

/// A module to probe: how to build it, a valid input shape in step mode 's' (`[N, *]`), and
/// whether it also runs in step mode 'm'.
struct Case {
    factory: Factory,
    sample: Vec<i64>,
    multi_step: bool,
}

fn case<M: Module + 'static>(
    sample: &[i64],
    multi_step: bool,
    f: impl Fn(&nn::Path) -> M + 'static,
) -> Case {
    Case {
        factory: Box::new(move |vs| Box::new(f(&vs.root()))),
        sample: sample.to_vec(),
        multi_step,
    }
}

fn cases() -> Vec<Case> {
    let neuron_sample = [2, 3];
    vec![
        case(&neuron_sample, true, |_| IFNode::new()),
        case(&neuron_sample, true, |_| LIFNode::new(2.0).unwrap()),
        case(&neuron_sample, true, |p| {
            ParametricLIFNode::new(&(p / "plif"), 2.0).unwrap()
        }),
        case(&neuron_sample, true, |_| {
            QIFNode::new(2.0, 0.8, 1.0, -0.1).unwrap()
        }),
        case(&neuron_sample, true, |_| {
            EIFNode::new(2.0, 1.0, 0.8, -0.1).unwrap()
        }),
        case(&neuron_sample, true, |_| IzhikevichNode::default()),
        case(&neuron_sample, true, |p| {
            KLIFNode::new(&(p / "klif"), false, 2.0).unwrap()
        }),
        case(&neuron_sample, true, |_| {
            LIAFNode::new(|x| x.relu(), false, 2.0).unwrap()
        }),
        case(&[2, 4], true, |p| {
            Linear::new(&(p / "fc"), 4, 3, true).unwrap()
        }),
        case(&[2, 4], true, |p| {
            DropConnectLinear::new(&(p / "dc"), 4, 3, true).unwrap()
        }),
        case(&[2, 3, 6], true, |p| {
            Conv1d::new(&(p / "c"), 3, 2, 3).unwrap()
        }),
        case(&[2, 3, 6, 6], true, |p| {
            Conv2d::new(&(p / "c"), 3, 2, 3).unwrap()
        }),
        case(&[2, 3, 4, 4, 4], true, |p| {
            Conv3d::new(&(p / "c"), 3, 2, 3).unwrap()
        }),
        case(&[2, 3, 6, 6], true, |p| {
            ConvTranspose2d::new(&(p / "c"), 3, 2, 3).unwrap()
        }),
        case(&[2, 3, 5], true, |p| {
            BatchNorm1d::new(&(p / "bn"), 3).unwrap()
        }),
        case(&[2, 3, 5, 5], true, |p| {
            BatchNorm2d::new(&(p / "bn"), 3).unwrap()
        }),
        case(&[2, 3, 3, 3, 3], true, |p| {
            BatchNorm3d::new(&(p / "bn"), 3).unwrap()
        }),
        case(&[2, 4, 5, 5], true, |p| {
            GroupNorm::new(&(p / "gn"), 2, 4).unwrap()
        }),
        case(&[2, 3, 5, 5], true, |p| {
            ThresholdDependentBatchNorm2d::new(&(p / "tdbn"), 1.0, 1.0, 3).unwrap()
        }),
        case(&[2, 3, 6], true, |_| MaxPool1d::new(2)),
        case(&[2, 3, 6, 6], true, |_| MaxPool2d::new(2)),
        case(&[2, 3, 4, 4, 4], true, |_| MaxPool3d::new(2)),
        case(&[2, 3, 6, 6], true, |_| AvgPool2d::new(2)),
        case(&[2, 3, 6, 6], true, |_| AdaptiveAvgPool2d::new(2)),
        case(&[2, 3, 4, 4], true, |_| Flatten::new()),
        case(&[2, 3, 4, 4], true, |_| ReLU::new()),
        case(&[2, 3, 4, 4], true, |_| Identity::new()),
        case(&[2, 3, 4, 4], true, |_| VoltageScaler::new(0.5)),
        case(&[2, 3, 4, 4], true, |_| {
            VoltageHook::new(Mode::Percentile(99.9), 0.1).unwrap()
        }),
        case(&[2, 3, 4, 4], true, |_| {
            let mut d = Dropout::new(0.5).unwrap();
            functional::set_training(&mut d, false);
            d
        }),
        case(&[2, 3, 4, 4], true, |_| {
            let mut d = Dropout2d::new(0.5).unwrap();
            functional::set_training(&mut d, false);
            d
        }),
        case(&[2, 3, 4, 4], true, |p| {
            NeuNorm::new(&(p / "nn"), 3, 4, 4).unwrap()
        }),
        case(&[2, 3], true, |_| SynapseFilter::new(2.0).unwrap()),
        case(&[2, 6], true, |_| VotingLayer::new(2).unwrap()),
        case(&[2, 3], true, |_| Sequential::new()),
        case(&[2, 3], true, |_| PrintShapeModule::new("probe")),
        case(&[2, 4], false, |p| {
            LinearRecurrentContainer::new(p, IFNode::new(), 4, 4, true).unwrap()
        }),
        case(&[2, 4], false, |_| {
            ElementWiseRecurrentContainer::new(IFNode::new(), |y, x| x + y).unwrap()
        }),
    ]
}

/// Multi-step-only modules: a valid `[T, N, *]` input.
fn multi_step_cases() -> Vec<(Factory, Vec<i64>)> {
    vec![
        (
            Box::new(|vs: &nn::VarStore| -> Box<dyn Module> {
                Box::new(TemporalWiseAttention::new(&(vs.root() / "twa"), 4, 2, 2).unwrap())
            }),
            vec![4, 2, 6],
        ),
        (
            Box::new(|vs: &nn::VarStore| -> Box<dyn Module> {
                Box::new(
                    MultiDimensionalAttention::with_options(&(vs.root() / "mda"), 4, 4, 2, 2, 3)
                        .unwrap(),
                )
            }),
            vec![4, 2, 4, 3, 3],
        ),
        (
            Box::new(|_: &nn::VarStore| -> Box<dyn Module> { Box::new(Delay::new(1).unwrap()) }),
            vec![4, 2, 3],
        ),
    ]
}

fn rand(shape: &[i64]) -> Tensor {
    Tensor::rand(shape, (Kind::Float, Device::Cpu))
}

/// The bad inputs derived from a valid `shape` (`batch` is the batch axis: 0 in 's', 1 in 'm').
fn bad_inputs(shape: &[i64], batch: usize, multi: bool) -> Vec<(&'static str, Tensor)> {
    let with = |axis: usize, size: i64| {
        let mut s = shape.to_vec();
        s[axis] = size;
        rand(&s)
    };
    let last = shape.len() - 1;
    let mut v = vec![
        ("scalar", Tensor::from(0.5f32)),
        ("rank 1", rand(&shape[last..])),
        ("extra leading dim", rand(&[&[2], shape].concat())),
        ("empty batch", with(batch, 0)),
        ("empty features", with(last, 0)),
        ("one sample", with(batch, 1)),
        ("float64", rand(shape).to_kind(Kind::Double)),
        ("int64", rand(shape).gt(0.5).to_kind(Kind::Int64)),
        (
            "NaN input",
            Tensor::full(shape, f64::NAN, (Kind::Float, Device::Cpu)),
        ),
        (
            "inf input",
            Tensor::full(shape, f64::INFINITY, (Kind::Float, Device::Cpu)),
        ),
        ("huge batch (stride-0 view of 2^40 samples)", {
            let mut s = shape.to_vec();
            s[batch] = 1 << 40;
            Tensor::zeros([1], (Kind::Float, Device::Cpu)).expand(s, false)
        }),
    ];
    if multi {
        v.push(("T = 0", with(0, 0)));
        let mut s = shape.to_vec();
        s[0] = 1 << 40;
        v.push((
            "huge T (stride-0 view of 2^40 steps)",
            Tensor::zeros([1], (Kind::Float, Device::Cpu)).expand(s, false),
        ));
    }
    v
}

/// The same values as `x` in a non-contiguous layout.
fn non_contiguous(x: &Tensor) -> Tensor {
    let last = x.dim() as i64 - 1;
    let t = x.transpose(0, last).contiguous().transpose(0, last);
    assert!(!t.is_contiguous() || x.size()[0] == 1 || x.size()[last as usize] == 1);
    t
}

fn probe_forward(tally: &mut Tally, factory: &Factory, mode: StepMode, shape: &[i64]) {
    // Two builds on one seed have the same weights (and dropout masks).
    let build = || {
        sj::tch::manual_seed(7);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut m = factory(&vs);
        // Modules that support one step mode only keep it (the other mode is not probed).
        let _ = m.set_step_mode(mode);
        (vs, m)
    };
    let x = rand(shape);
    // The control: the valid input runs.
    let (_vs, mut m) = build();
    if m.step_mode() != mode {
        return;
    }
    let name = m.type_name();
    let y = m
        .forward(&x)
        .unwrap_or_else(|e| panic!("{name} {mode}: valid input: {e}"));
    let batch = usize::from(mode == StepMode::M);
    for (probe, input) in bad_inputs(shape, batch, mode == StepMode::M) {
        let (_vs, mut m) = build();
        tally.probe(name, probe, || m.forward(&input));
    }
    // Non-contiguous: the same output as the contiguous input.
    let (_vs, mut m) = build();
    if let Some(y2) = tally.probe(name, "non-contiguous", || m.forward(&non_contiguous(&x))) {
        if !y.allclose(&y2, 1e-6, 1e-6, true) {
            tally.failures.push(format!(
                "{name} / non-contiguous: the output differs from the contiguous input's"
            ));
        }
    }
}

#[test]
fn every_module_forward_with_bad_input() {
    let _rng = rng_lock();
    let mut tally = Tally::default();
    for c in cases() {
        probe_forward(&mut tally, &c.factory, StepMode::S, &c.sample);
        if c.multi_step {
            let seq = [&[3], c.sample.as_slice()].concat();
            probe_forward(&mut tally, &c.factory, StepMode::M, &seq);
        }
    }
    for (factory, shape) in multi_step_cases() {
        probe_forward(&mut tally, &factory, StepMode::M, &shape);
    }
    tally.finish("probe_api forward");
}

#[test]
fn every_fallible_constructor_with_bad_parameters() {
    let _rng = rng_lock();
    let mut t = Tally::default();
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let huge = 1i64 << 40;
    macro_rules! refuse {
        ($module:expr, $probe:expr, $call:expr) => {
            t.probe($module, $probe, || $call.map(|_| ()))
        };
    }
    let mut sub = 0;
    let mut path = || {
        sub += 1;
        &p / sub
    };
    refuse!(
        "Linear",
        "negative in_features",
        Linear::new(&path(), -1, 3, true)
    );
    refuse!(
        "Linear",
        "negative out_features",
        Linear::new(&path(), 3, -5, false)
    );
    refuse!(
        "Linear",
        "2^40 x 2^40 weight",
        Linear::new(&path(), huge, huge, true)
    );
    refuse!(
        "DropConnectLinear",
        "zero features",
        DropConnectLinear::new(&path(), 0, 3, true)
    );
    refuse!("Conv2d", "zero in_channels", Conv2d::new(&path(), 0, 2, 3));
    refuse!("Conv2d", "negative kernel", Conv2d::new(&path(), 1, 2, -3));
    refuse!(
        "Conv2d",
        "2^40 channels",
        Conv2d::new(&path(), huge, huge, 3)
    );
    refuse!(
        "Conv1d",
        "groups not dividing",
        Conv1d::new_with(&path(), 3, 2, 3, ConvOptions::new().with_groups(2))
    );
    refuse!("BatchNorm2d", "zero features", BatchNorm2d::new(&path(), 0));
    refuse!(
        "BatchNorm1d",
        "negative features",
        BatchNorm1d::new(&path(), -4)
    );
    refuse!(
        "GroupNorm",
        "channels not a multiple",
        GroupNorm::new(&path(), 3, 4)
    );
    refuse!("GroupNorm", "zero groups", GroupNorm::new(&path(), 0, 4));
    refuse!("NeuNorm", "zero height", NeuNorm::new(&path(), 3, 0, 4));
    refuse!(
        "TemporalWiseAttention",
        "zero reduction",
        TemporalWiseAttention::new(&path(), 4, 0, 2)
    );
    refuse!(
        "TemporalWiseAttention",
        "dimension 3",
        TemporalWiseAttention::new(&path(), 4, 2, 3)
    );
    refuse!(
        "MultiDimensionalAttention",
        "kernel 5",
        MultiDimensionalAttention::with_options(&path(), 4, 4, 2, 2, 5)
    );
    refuse!(
        "MultiDimensionalAttention",
        "reduction above T",
        MultiDimensionalAttention::new(&path(), 4, 16)
    );
    refuse!("Dropout", "p > 1", Dropout::new(1.5));
    refuse!("Dropout", "p NaN", Dropout::new(f64::NAN));
    refuse!("Dropout2d", "p negative", Dropout2d::new(-0.1));
    refuse!("Delay", "negative delay", Delay::new(-1));
    refuse!("VotingLayer", "zero voting size", VotingLayer::new(0));
    refuse!("SynapseFilter", "tau < 1", SynapseFilter::new(0.5));
    refuse!("SynapseFilter", "tau NaN", SynapseFilter::new(f64::NAN));
    refuse!(
        "SynapseFilter",
        "learnable tau inf",
        SynapseFilter::new_learnable(&path(), f64::INFINITY)
    );
    refuse!("LIFNode", "tau 1", LIFNode::new(1.0));
    refuse!("LIFNode", "tau NaN", LIFNode::new(f64::NAN));
    refuse!("LIFNode", "tau inf", LIFNode::new(f64::INFINITY));
    refuse!(
        "ParametricLIFNode",
        "init_tau 0",
        ParametricLIFNode::new(&path(), 0.0)
    );
    refuse!("QIFNode", "a0 0", QIFNode::new(2.0, 0.8, 0.0, -0.1));
    refuse!("EIFNode", "delta_T 0", EIFNode::new(2.0, 0.0, 0.8, -0.1));
    refuse!(
        "IzhikevichNode",
        "a0 negative",
        IzhikevichNode::new(2.0, 0.8, -1.0, -0.1, 0.0, 2.0, 0.0, 0.0)
    );
    refuse!("KLIFNode", "tau -2", KLIFNode::new(&path(), false, -2.0));
    refuse!(
        "LIAFNode",
        "tau 0.5",
        LIAFNode::new(|x| x.relu(), false, 0.5)
    );
    for (name, s) in [
        ("PiecewiseQuadratic", Surrogate::piecewise_quadratic(0.0)),
        ("PiecewiseExp", Surrogate::piecewise_exp(-1.0)),
        ("Sigmoid", Surrogate::sigmoid(f64::NAN)),
        ("SoftSign", Surrogate::soft_sign(f64::INFINITY)),
        ("ATan", Surrogate::atan(-2.0)),
        ("NonzeroSignLogAbs", Surrogate::nonzero_sign_log_abs(0.0)),
        ("Erf", Surrogate::erf(-0.5)),
        (
            "PiecewiseLeakyReLU",
            Surrogate::piecewise_leaky_relu(0.0, 0.01),
        ),
        (
            "SquarewaveFourierSeries",
            Surrogate::squarewave_fourier_series(2, 0.0),
        ),
        ("S2NN", Surrogate::s2nn(-4.0, 1.0)),
        ("QPseudoSpike", Surrogate::q_pseudo_spike(0.5)),
        ("LeakyKReLU", Surrogate::leaky_k_relu(f64::NAN, 1.0)),
        (
            "FakeNumericalGradient",
            Surrogate::fake_numerical_gradient(0.0),
        ),
        ("LogTailedReLU", Surrogate::log_tailed_relu(-1.0)),
    ] {
        t.probe(name, "bad parameter", || s.map(|_| ()));
    }
    // Nothing a failed constructor did is left in the VarStore under a renamed key.
    assert!(
        vs.variables().keys().all(|k| !k.contains("__")),
        "{:?}",
        vs.variables().keys()
    );
    t.finish("probe_api constructors");
}

#[test]
fn functional_and_quantize_with_bad_input() {
    let _rng = rng_lock();
    let mut t = Tally::default();
    let labels = Tensor::from_slice(&[0i64, 2, 1]);
    let spikes = rand(&[4, 3, 5]).gt(0.5).to_kind(Kind::Float);
    macro_rules! refuse {
        ($module:expr, $probe:expr, $call:expr) => {
            t.probe($module, $probe, || $call.map(|_| ()))
        };
    }
    refuse!(
        "redundant_one_hot",
        "2-D labels",
        functional::redundant_one_hot(&labels.view([3, 1]), 3, 2)
    );
    refuse!(
        "redundant_one_hot",
        "label out of range",
        functional::redundant_one_hot(&Tensor::from_slice(&[5i64]), 3, 2)
    );
    refuse!(
        "redundant_one_hot",
        "negative label",
        functional::redundant_one_hot(&Tensor::from_slice(&[-1i64]), 3, 2)
    );
    refuse!(
        "redundant_one_hot",
        "zero classes",
        functional::redundant_one_hot(&labels, 0, 2)
    );
    refuse!(
        "redundant_one_hot",
        "float labels",
        functional::redundant_one_hot(&rand(&[3]), 3, 2)
    );
    refuse!(
        "redundant_one_hot",
        "2^40 classes",
        functional::redundant_one_hot(&labels, 1 << 40, 1 << 20)
    );
    refuse!(
        "first_spike_index",
        "scalar",
        functional::first_spike_index(&Tensor::from(1.0f32))
    );
    refuse!("delay", "negative steps", functional::delay(&spikes, -1));
    refuse!(
        "delay",
        "scalar",
        functional::delay(&Tensor::from(1.0f32), 1)
    );
    refuse!(
        "chunk_multi_step_forward",
        "split 0",
        functional::chunk_multi_step_forward(0, &spikes, &mut IFNode::new())
    );
    refuse!(
        "kernel_dot_product",
        "mismatched",
        functional::kernel_dot_product(&rand(&[3, 4]), &rand(&[2, 5]), Kernel::Linear)
    );
    refuse!(
        "kernel_dot_product",
        "1-D",
        functional::kernel_dot_product(&rand(&[3]), &rand(&[3]), Kernel::Linear)
    );
    refuse!(
        "spike_similar_loss",
        "labels rows differ",
        functional::spike_similar_loss(
            &spikes,
            &rand(&[2, 3]),
            Kernel::Linear,
            SimilarityLoss::default()
        )
    );
    refuse!(
        "spike_similar_loss",
        "1-D spikes",
        functional::spike_similar_loss(
            &rand(&[4]),
            &rand(&[4, 3]),
            Kernel::Linear,
            SimilarityLoss::default()
        )
    );
    refuse!(
        "temporal_efficient_training_cross_entropy",
        "2-D",
        functional::temporal_efficient_training_cross_entropy(&rand(&[3, 4]), &labels)
    );
    refuse!(
        "temporal_efficient_training_cross_entropy",
        "target batch differs",
        functional::temporal_efficient_training_cross_entropy(&rand(&[2, 4, 3]), &labels)
    );
    refuse!(
        "temporal_efficient_training_cross_entropy",
        "class out of range",
        functional::temporal_efficient_training_cross_entropy(&rand(&[2, 3, 2]), &labels)
    );
    refuse!(
        "temporal_efficient_training_cross_entropy",
        "float target",
        functional::temporal_efficient_training_cross_entropy(&rand(&[2, 3, 3]), &rand(&[3]))
    );
    refuse!(
        "set_threshold_margin",
        "1-D labels",
        functional::set_threshold_margin(&mut IFNode::new(), &labels, 1.0, 0.9, 1.1, true)
    );
    refuse!(
        "step_quantize",
        "step 0",
        quantize::step_quantize(&rand(&[3]), 0.0)
    );
    refuse!(
        "step_quantize",
        "step NaN",
        quantize::step_quantize(&rand(&[3]), f64::NAN)
    );
    refuse!(
        "k_bit_quantize",
        "k 0",
        quantize::k_bit_quantize(&rand(&[3]), 0)
    );
    refuse!(
        "k_bit_quantize",
        "k 64",
        quantize::k_bit_quantize(&rand(&[3]), 64)
    );
    refuse!(
        "clamp_by_linear",
        "eps negative",
        quantize::clamp_by_linear(&rand(&[3]), -1.0)
    );
    refuse!("set_step_mode", "'m' only module set to 's'", {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net =
            Sequential::new().add(TemporalWiseAttention::new(&(vs.root() / "0"), 4, 2, 2).unwrap());
        functional::set_step_mode(&mut net, StepMode::S)
            .map_err(|e| sj::SjError::config("set_step_mode", e))
    });
    t.finish("probe_api functional");
}

/// The model zoo, the Trainer and its command line, and their data readers (issue 12).
#[test]
fn model_zoo_and_trainer_with_bad_input() {
    let _rng = rng_lock();
    use sj::model::train_classify::{self, get_args_parser, parse_args};
    use sj::model::{
        get_model, parametric_lif_net, sew_resnet, spiking_resnet, spiking_vgg, ConnectFunction,
        ModelSpec, ResNetOptions,
    };
    use sj::training::{
        read_scalars, Loss, Mix, ModelEma, SummaryWriter, Trainer, Warmup, WarmupMethod, SGD,
    };
    let mut t = Tally::default();
    macro_rules! refuse {
        ($module:expr, $probe:expr, $call:expr) => {
            t.probe($module, $probe, || $call.map(|_| ()))
        };
    }
    fn if_node(_: &nn::Path) -> sj::Result<Box<dyn Module>> {
        Ok(Box::new(IFNode::new()))
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let mut sub = 0;
    let mut path = || {
        sub += 1;
        vs.root() / sub
    };
    let opts = |f: fn(&mut ResNetOptions)| {
        let mut o = ResNetOptions::default();
        f(&mut o);
        o
    };
    let spec = ModelSpec {
        num_classes: 10,
        in_channels: 3,
        cnf: ConnectFunction::Add,
        channels: Some(4),
    };
    refuse!(
        "model",
        "unknown name",
        get_model("resnet18", &path(), &if_node, &spec)
    );
    refuse!(
        "MNISTNet",
        "3 input channels",
        get_model("MNISTNet", &path(), &if_node, &spec)
    );
    refuse!(
        "SpikingResNet",
        "num_classes 0",
        spiking_resnet::spiking_resnet18(&path(), &if_node, &opts(|o| o.num_classes = 0))
    );
    refuse!(
        "SpikingResNet",
        "in_channels -1",
        spiking_resnet::spiking_resnet18(&path(), &if_node, &opts(|o| o.in_channels = -1))
    );
    refuse!(
        "BasicBlock",
        "groups 2",
        spiking_resnet::spiking_resnet34(&path(), &if_node, &opts(|o| o.groups = 2))
    );
    refuse!(
        "BasicBlock",
        "dilation",
        sew_resnet::sew_resnet18(
            &path(),
            &if_node,
            ConnectFunction::And,
            &opts(|o| o.replace_stride_with_dilation = [true; 3])
        )
    );
    refuse!("SEWResNet", "cnf 'OR'", "OR".parse::<ConnectFunction>());
    refuse!(
        "SpikingVGG",
        "num_classes -1",
        spiking_vgg::spiking_vgg11(
            &path(),
            &if_node,
            &spiking_vgg::VGGOptions {
                num_classes: -1,
                ..Default::default()
            }
        )
    );
    refuse!(
        "DVSGestureNet",
        "channels 0",
        parametric_lif_net::DVSGestureNet(&path(), 0, &if_node)
    );
    refuse!(
        "LIFNode",
        "a neuron builder that fails",
        parametric_lif_net::MNISTNet(&path(), 4, &|_: &nn::Path| -> sj::Result<Box<dyn Module>> {
            Ok(Box::new(LIFNode::new(-1.0)?))
        })
    );
    let mut resnet =
        spiking_resnet::spiking_resnet18(&path(), &if_node, &opts(|o| o.num_classes = 10)).unwrap();
    refuse!(
        "Conv2d",
        "one-channel images",
        resnet.forward(&rand(&[2, 1, 32, 32]))
    );
    refuse!("Conv2d", "rank 2 input", resnet.forward(&rand(&[2, 3])));
    reset_net(&mut resnet);
    refuse!(
        "Conv2d",
        "[T, N, C, H, W] in step mode 's'",
        resnet.forward(&rand(&[2, 2, 3, 16, 16]))
    );
    reset_net(&mut resnet);
    // The command line.
    refuse!(
        "train_classify",
        "unknown flag",
        parse_args(&get_args_parser(), ["--lrr", "1"])
    );
    refuse!(
        "train_classify",
        "bad number",
        parse_args(&get_args_parser(), ["-b", "-3"])
    );
    refuse!(
        "SEWResNet",
        "--cnf OR",
        parse_args(&get_args_parser(), ["--cnf", "OR"])
    );
    let args = parse_args(&get_args_parser(), ["--device", "cpu"])
        .unwrap()
        .expect("args")
        .unwrap();
    let with = |f: fn(&mut train_classify::TrainArgs)| {
        let mut a = args.clone();
        f(&mut a);
        a
    };
    refuse!(
        "train_classify",
        "--opt adamax",
        train_classify::set_optimizer(&with(|a| a.opt = "adamax".into()), &vs)
    );
    refuse!(
        "train_classify",
        "--norm-weight-decay",
        train_classify::set_optimizer(&with(|a| a.norm_weight_decay = Some(0.0)), &vs)
    );
    refuse!(
        "SGD",
        "negative lr",
        train_classify::set_optimizer(&with(|a| a.lr = -1.0), &vs)
    );
    refuse!(
        "train_classify",
        "--lr-scheduler poly",
        train_classify::set_lr_scheduler(&with(|a| a.lr_scheduler = "poly".into()))
    );
    refuse!(
        "train_classify",
        "--lr-warmup-method cubic",
        train_classify::set_lr_scheduler(&with(|a| a.lr_warmup_method = "cubic".into()))
    );
    refuse!(
        "StepLR",
        "--lr-step-size 0",
        train_classify::set_lr_scheduler(&with(|a| {
            a.lr_scheduler = "step".into();
            a.lr_step_size = 0;
        }))
    );
    refuse!(
        "train_classify",
        "--device tpu",
        with(|a| a.device = "tpu".into()).device()
    );
    refuse!(
        "train_classify",
        "--dataset imagenet",
        train_classify::load_data(&with(|a| a.dataset = "imagenet".into()))
    );
    refuse!(
        "CIFAR10",
        "missing files",
        train_classify::load_data(&with(|a| {
            a.dataset = "cifar10".into();
            a.data_path = "/nonexistent".into();
        }))
    );
    refuse!(
        "ImageFolder",
        "missing root",
        train_classify::load_data(&with(|a| a.data_path = "/nonexistent".into()))
    );
    refuse!(
        "train_classify",
        "--pretrained",
        train_classify::main(
            &train_classify::SResNetTrainer,
            &with(|a| a.pretrained = true)
        )
    );
    refuse!(
        "train_classify",
        "--world-size 2",
        train_classify::main(&train_classify::SResNetTrainer, &with(|a| a.world_size = 2))
    );
    refuse!(
        "train_classify",
        "--T 0",
        train_classify::repeat_t(&with(|a| a.t = 0), &rand(&[2, 3]))
    );
    // The Trainer's extras.
    refuse!(
        "Warmup",
        "decay 0",
        Warmup {
            method: WarmupMethod::Linear,
            epochs: 2,
            decay: 0.0
        }
        .lr(&sj::training::LrSchedule::Constant, 0.1, 0)
    );
    refuse!("ModelEma", "steps 0", ModelEma::new(&vs, 0, 0.9));
    refuse!("ModelEma", "decay 2", ModelEma::new(&vs, 1, 2.0));
    refuse!(
        "Mixup/Cutmix",
        "rank 1 images",
        Mix::Mixup { lambda: 0.5 }.mix_images(&rand(&[4]))
    );
    refuse!(
        "Trainer",
        "soft targets of another shape",
        Loss::CrossEntropy.compute_with(
            &rand(&[2, 3]),
            &Tensor::from_slice(&[0i64, 1]),
            Some(&rand(&[2, 4])),
            0.0
        )
    );
    refuse!(
        "Trainer",
        "label smoothing 1",
        Loss::Mse.compute_with(&rand(&[2, 3]), &Tensor::from_slice(&[0i64, 1]), None, 1.0)
    );
    let data = sj::datasets::ImageDataset::new(
        "four",
        vec![0; 4 * 4],
        [1, 2, 2],
        vec![0, 1, 0, 1],
        vec!["a".into(), "b".into()],
    )
    .unwrap();
    let loader = sj::datasets::DataLoader::new(data, 2)
        .unwrap()
        .with_transform(sj::datasets::ToTensor);
    let fvs = nn::VarStore::new(Device::Cpu);
    let mut net = Sequential::new()
        .add(Flatten::new())
        .add(Linear::new(&(fvs.root() / "1"), 4, 2, true).unwrap());
    let forward = |n: &mut dyn Module, x: &Tensor| n.forward(x);
    let fit = |tr: Trainer, net: &mut Sequential| {
        let mut sgd = SGD::new(&fvs, 0.1).unwrap();
        tr.with_progress(sj::progress::ProgressOutput::Hidden)
            .fit(net, &fvs, &mut sgd, &loader, &loader, forward)
    };
    refuse!(
        "Trainer",
        "mixup alpha -1",
        fit(Trainer::new(1).with_mixup_cutmix(-1.0, 0.0), &mut net)
    );
    refuse!(
        "Trainer",
        "label smoothing 1.5",
        fit(Trainer::new(1).with_label_smoothing(1.5), &mut net)
    );
    refuse!(
        "Trainer",
        "clip_grad_norm 0",
        fit(Trainer::new(1).with_clip_grad_norm(0.0), &mut net)
    );
    refuse!(
        "Trainer",
        "mixup with images as the output",
        fit(
            Trainer::new(1).with_mixup_cutmix(0.2, 0.0),
            &mut Sequential::new()
        )
    );
    // TensorBoard files.
    let dir = std::env::temp_dir().join(format!("sj-probe-tb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("not_a_dir"), b"x").unwrap();
    std::fs::write(
        dir.join("junk.tfevents"),
        b"\x05\x00\x00\x00\x00\x00\x00\x00junk",
    )
    .unwrap();
    refuse!(
        "not_a_dir",
        "log_dir is a file",
        SummaryWriter::new(dir.join("not_a_dir"))
    );
    refuse!(
        "read_scalars",
        "corrupt file",
        read_scalars(dir.join("junk.tfevents"))
    );
    refuse!(
        "missing.tfevents",
        "missing file",
        read_scalars(dir.join("missing.tfevents"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
    t.finish("probe_api model zoo and trainer");
}
