use super::*;
use crate::base::{Backend, Module};
use tch::{nn, Device, Kind};

fn vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

fn col(values: &[f32]) -> Tensor {
    Tensor::from_slice(values).view([values.len() as i64, 1])
}

/// The tutorial's custom neuron: only the charge is overridden (checklist 51, 285).
#[derive(Debug, Default)]
struct SquareIFNode {
    node: BaseNode,
}

impl Neuron for SquareIFNode {
    fn type_name(&self) -> &'static str {
        "SquareIFNode"
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        v + x.square()
    }
}

#[test]
fn square_if_reference_checklist_285() {
    let xs = [0.7452f32, 0.8062, 0.6730, 0.0942];
    let mut n = SquareIFNode::default();
    let mut v = Vec::new();
    for x in xs {
        let _ = n.forward(&Tensor::from_slice(&[x])).unwrap();
        v.push(vec(n.node().v.tensor().unwrap())[0]);
    }
    for (got, want) in v.iter().zip([0.5554, 0.0, 0.4529, 0.4618]) {
        assert!((got - want).abs() < 1e-4, "{v:?}");
    }
    let mut m = SquareIFNode::default().with_step_mode(StepMode::M);
    assert_eq!(
        vec(&m.forward(&col(&xs)).unwrap()),
        vec![0.0, 1.0, 0.0, 0.0]
    );
}

#[test]
fn if_below_threshold_keeps_v_equal_to_x_checklist_284() {
    let mut n = IFNode::new();
    assert!(
        n.node().v.tensor().is_none(),
        "v is the float 0.0 before any input"
    );
    let x = Tensor::rand([8], (Kind::Float, Device::Cpu)) * 0.99;
    let y = n.forward(&x).unwrap();
    assert_eq!(vec(&y), vec![0.0; 8]);
    assert!(n.node().v.tensor().unwrap().equal(&x));
}

#[test]
fn hand_computed_if_and_lif_spike_trains() {
    // IF, x = 0.6: v 0.6, 1.2 -> fire -> 0, 0.6, 1.2 -> fire, 0.6
    let mut n = IFNode::new().with_step_mode(StepMode::M);
    assert_eq!(
        vec(&n.forward(&col(&[0.6; 5])).unwrap()),
        vec![0.0, 1.0, 0.0, 1.0, 0.0]
    );
    // Soft reset keeps the excess: 0.7, 1.4 -> 0.4, 1.1 -> 0.1, 0.8, 1.5 -> 0.5
    let mut n = IFNode::new()
        .with_v_reset(None)
        .with_step_mode(StepMode::M)
        .with_store_v_seq(true);
    assert_eq!(
        vec(&n.forward(&col(&[0.7; 5])).unwrap()),
        vec![0.0, 1.0, 1.0, 0.0, 1.0]
    );
    let v = vec(n.node().v_seq.as_ref().unwrap());
    for (got, want) in v.iter().zip([0.7, 0.4, 0.1, 0.8, 0.5]) {
        assert!((got - want).abs() < 1e-6, "{v:?}");
    }
    // LIF tau=2, decay_input, x = 1.5: v 0.75, 1.125 fire, 0.75, 1.125 fire
    let mut n = LIFNode::new(2.0).unwrap().with_step_mode(StepMode::M);
    assert_eq!(
        vec(&n.forward(&col(&[1.5; 4])).unwrap()),
        vec![0.0, 1.0, 0.0, 1.0]
    );
    // LIF without decay_input, x = 0.6: 0.6, 0.9, 1.05 fire
    let mut n = LIFNode::new(2.0)
        .unwrap()
        .with_decay_input(false)
        .with_step_mode(StepMode::M);
    assert_eq!(
        vec(&n.forward(&col(&[0.6; 3])).unwrap()),
        vec![0.0, 0.0, 1.0]
    );
}

fn all_neurons(vs: &nn::VarStore) -> Vec<Box<dyn Fn() -> Box<dyn Module>>> {
    let p = vs.root();
    let plif_w = ParametricLIFNode::new(&(&p / "plif"), 3.0).unwrap().w;
    let klif_k = KLIFNode::new(&(&p / "klif"), true, 2.0).unwrap().k;
    vec![
        Box::new(|| Box::new(IFNode::new())),
        Box::new(|| {
            Box::new(
                IFNode::new()
                    .with_v_reset(None)
                    .with_surrogate(crate::surrogate::Surrogate::atan(2.0).unwrap()),
            )
        }),
        Box::new(|| Box::new(LIFNode::new(2.0).unwrap())),
        Box::new(|| {
            Box::new(
                LIFNode::new(3.0)
                    .unwrap()
                    .with_decay_input(false)
                    .with_v_reset(None),
            )
        }),
        Box::new(move || {
            let mut n =
                ParametricLIFNode::new(&nn::VarStore::new(Device::Cpu).root(), 3.0).unwrap();
            n.w = plif_w.shallow_clone();
            Box::new(n)
        }),
        Box::new(|| Box::new(QIFNode::default())),
        Box::new(|| Box::new(EIFNode::default().with_detach_reset(true))),
        Box::new(|| {
            Box::new(IzhikevichNode::new(2.0, 0.8, 1.0, -0.1, 0.0, 2.0, 0.3, 0.2).unwrap())
        }),
        Box::new(move || {
            let mut n = KLIFNode::new(&nn::VarStore::new(Device::Cpu).root(), true, 2.0).unwrap();
            n.k = klif_k.shallow_clone();
            Box::new(n)
        }),
        Box::new(|| Box::new(LIAFNode::new(Tensor::relu, true, 2.0).unwrap())),
    ]
}

#[test]
fn multi_step_equals_single_step_loop_for_every_neuron() {
    let vs = nn::VarStore::new(Device::Cpu);
    tch::manual_seed(7);
    let x_seq = Tensor::rand([6, 3, 5], (Kind::Float, Device::Cpu)) * 1.5 - 0.2;
    for make in all_neurons(&vs) {
        let mut single = make();
        single.set_backend(Backend::Torch).unwrap();
        let ys: Vec<Tensor> = (0..6)
            .map(|t| single.forward(&x_seq.get(t)).unwrap())
            .collect();
        let mut multi = make();
        multi.set_step_mode(StepMode::M).unwrap();
        multi.set_backend(Backend::Torch).unwrap();
        let y = multi.forward(&x_seq).unwrap();
        assert!(y.equal(&Tensor::stack(&ys, 0)), "{}", multi.type_name());
        let (m0, s0) = (&multi.memories()[0].1, &single.memories()[0].1);
        assert!(
            m0.as_ref().unwrap().equal(s0.as_ref().unwrap()),
            "{} final v",
            multi.type_name()
        );
        multi.reset();
        assert!(
            multi.memories()[0].1.is_none(),
            "{} reset restores the float",
            multi.type_name()
        );
    }
}

#[test]
fn reset_and_stale_batch_error() {
    let mut n = LIFNode::new(2.0).unwrap();
    let _ = n
        .forward(&Tensor::ones([4, 3], (Kind::Float, Device::Cpu)))
        .unwrap();
    let err = n
        .forward(&Tensor::ones([2, 3], (Kind::Float, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LIFNode") && err.contains("reset_net"),
        "{err}"
    );
    n.reset();
    assert!(n
        .forward(&Tensor::ones([2, 3], (Kind::Float, Device::Cpu)))
        .is_ok());
    let err = n
        .forward(&Tensor::ones([2, 3], (Kind::Int64, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("floating-point"), "{err}");
    assert!(LIFNode::new(1.0).is_err());
}

#[test]
fn detach_reset_changes_only_the_gradient() {
    let run = |detach: bool| {
        let x = (Tensor::ones([3, 1], (Kind::Double, Device::Cpu)) * 0.7).set_requires_grad(true);
        let mut n = IFNode::new()
            .with_detach_reset(detach)
            .with_step_mode(StepMode::M);
        let y = n.forward(&x).unwrap();
        y.sum(Kind::Double).backward();
        (vec(&y), vec(&x.grad()))
    };
    let (y0, g0) = run(false);
    let (y1, g1) = run(true);
    assert_eq!(y0, y1);
    assert_ne!(g0, g1);
}

#[test]
fn reprs_follow_spikingjelly() {
    assert_eq!(
        crate::base::repr(&LIFNode::new(2.0).unwrap()),
        "LIFNode(v_threshold=1.0, v_reset=0.0, detach_reset=False, step_mode=s, backend=auto, tau=2.0)"
    );
    let vs = nn::VarStore::new(Device::Cpu);
    let plif = ParametricLIFNode::new(&vs.root(), 2.0).unwrap();
    assert!((plif.tau() - 2.0).abs() < 1e-6);
    assert_eq!(plif.parameters()[0].0, "w");
}

#[test]
fn if_constant_input_sawtooth_t5() {
    // T5 simulation 1: IF with x = 0.02 for 150 steps; in float32 the spikes fall at t = 50 and t = 101.
    let mut n = IFNode::new().with_step_mode(StepMode::M);
    let s = n
        .forward(&Tensor::full([150, 1], 0.02, (Kind::Float, Device::Cpu)))
        .unwrap();
    let times: Vec<i64> = Vec::<i64>::try_from(&s.flatten(0, -1).nonzero().flatten(0, -1)).unwrap();
    assert_eq!(times, vec![50, 101]);
}

/// The fused CPU kernels against the op-by-op path (the fused-kernel issue's CPU matrix): identical
/// spikes, V within 1e-6, gradients of x, v_init and the PLIF weight within 1e-5 relative, over
/// neuron x surrogate x reset x detach_reset x T in {1, 2, 7, 64}, with an odd number of neurons.
#[test]
fn fused_cpu_kernels_match_the_op_by_op_path() {
    // Every neuron with a kernel, 4 surrogates, hard/soft reset, detach_reset, T in {1, 2, 7, 64}
    // on 111 neurons: the fused sequence and `auto` single steps (the kernel with T = 1) against
    // the op-by-op path.
    let cases = check::Case::all();
    assert_eq!(cases.len(), 6 * 4 * 2 * 2 * 2);
    for case in &cases {
        let run = |backend, mode| case.run(Device::Cpu, Kind::Float, backend, mode).unwrap();
        let reference = run(Backend::Torch, StepMode::M);
        for (backend, mode) in [(Backend::Fused, StepMode::M), (Backend::Auto, StepMode::S)] {
            let c = reference.compare(&run(backend, mode)).unwrap();
            assert!(
                c.within(1e-6, 1e-5),
                "{} with {backend} in step mode {mode}: {c:?}",
                case.name()
            );
        }
    }
}

#[test]
fn fused_kernels_split_many_neurons_into_chunks_like_one() {
    // 2 × 8192 + 5 neurons: three rayon chunks, the last one short; ParametricLIF's dL/dw sums over them.
    let x0 = Tensor::rand([3, 2 * 8192 + 5], (Kind::Float, Device::Cpu)) * 1.5;
    let mut results = Vec::new();
    for backend in [Backend::Torch, Backend::Fused] {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut n = ParametricLIFNode::new(&vs.root(), 2.0)
            .unwrap()
            .with_step_mode(StepMode::M);
        n.set_backend(backend).unwrap();
        let x = x0.detach().set_requires_grad(true);
        let s = n.forward(&x).unwrap();
        (&s * &x0).sum(Kind::Float).backward();
        results.push((s, x.grad(), vs.variables()["w"].grad()));
    }
    let (a, b) = (&results[0], &results[1]);
    assert!(a.0.equal(&b.0));
    let rel = |p: &Tensor, q: &Tensor| {
        (p - q).abs().max().double_value(&[]) / p.abs().max().double_value(&[])
    };
    assert!(rel(&a.1, &b.1) <= 1e-5, "grad x {}", rel(&a.1, &b.1));
    assert!(rel(&a.2, &b.2) <= 1e-5, "grad w {}", rel(&a.2, &b.2));
}
