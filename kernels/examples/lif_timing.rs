//! Times sj's fused CPU LIF (and IF, ParametricLIF) on ../shared/bench case A and prints one JSON
//! line per case, like the Python harness: multi-step LIF(tau=2, ATan), x = rand(T, N)·3, forward
//! (no grad) and forward+backward (`sum().backward()`), median over `reps` runs after 3 warm-ups.
//!
//! cargo run --release -p sj-kernels --example lif_timing [-- --quick]
use sj_kernels::surrogate::ATan;
use sj_kernels::{fused_neuron, ChargeRef, Firing, IfCharge, LifCharge, NeuronConfig, PlifCharge};
use std::sync::Arc;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Median and best wall time of `f` over `reps` runs after 3 warm-ups; `setup` prepares each
/// run's input outside the timed region (as the Python harness's `reset`).
fn median_ms<S>(reps: usize, mut setup: impl FnMut() -> S, mut f: impl FnMut(S)) -> (f64, f64) {
    for _ in 0..3 {
        f(setup());
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let input = setup();
            let s = Instant::now();
            f(input);
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (t[t.len() / 2], t[0])
}

fn case(name: &str, charge: ChargeRef, t: i64, n: i64, reps: usize) {
    // `SJ_TIMING_ONLY=LIFNode:16:1048576` runs one case (for a profiler).
    if let Ok(only) = std::env::var("SJ_TIMING_ONLY") {
        if only != format!("{name}:{t}:{n}") {
            return;
        }
    }
    let learns_decay = charge.learns_decay();
    let firing = Firing {
        v_threshold: 1.0,
        v_reset: Some(0.0),
        detach_reset: false,
        surrogate: Arc::new(ATan { alpha: 2.0 }),
    };
    let cfg = NeuronConfig::new(charge, firing);
    tch::manual_seed(0);
    let x = Tensor::rand([t, n], (Kind::Float, Device::Cpu)) * 3.0;
    let v0 = Tensor::zeros([n], (Kind::Float, Device::Cpu));
    let w = Tensor::from_slice(&[0.0f32]).set_requires_grad(true);
    let decay = |w: &Tensor| learns_decay.then(|| w.sigmoid());
    let (fwd, fwd_min) = median_ms(
        reps,
        || (),
        |_| {
            let _ = tch::no_grad(|| fused_neuron(&cfg, &x, &v0, decay(&w).as_ref()).unwrap());
        },
    );
    // a fresh leaf per run (the harness sets `xg.grad = None`), so no gradient accumulates
    let (bwd, bwd_min) = median_ms(
        reps,
        || x.detach().set_requires_grad(true),
        |xg| {
            let (s, _) = fused_neuron(&cfg, &xg, &v0, decay(&w).as_ref()).unwrap();
            s.sum(Kind::Float).backward();
        },
    );
    for (mode, ms, min) in [("fwd", fwd, fwd_min), ("fwd_bwd", bwd, bwd_min)] {
        println!(
            "{{\"case\": \"A\", \"lib\": \"sj\", \"neuron\": \"{name}\", \"T\": {t}, \"N\": {n}, \"mode\": \"{mode}\", \"reps\": {reps}, \"ms\": {ms:.3}, \"ms_min\": {min:.3}, \"threads\": {}}}",
            rayon::current_num_threads()
        );
    }
}

fn main() {
    // Large activations freed by one run are reused by the next (see the function's docs).
    sj_kernels::cpu::keep_freed_memory();
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 5 } else { 20 };
    let lif = LifCharge {
        tau: 2.0,
        decay_input: true,
        v_reset: 0.0,
    };
    for t in [4, 16, 64] {
        for n in [1i64 << 16, 1 << 20] {
            case("LIFNode", Arc::new(lif), t, n, reps);
        }
    }
    case("IFNode", Arc::new(IfCharge), 16, 1 << 20, reps);
    let plif = PlifCharge {
        k: 0.5,
        decay_input: true,
        v_reset: 0.0,
    };
    case("ParametricLIFNode", Arc::new(plif), 16, 1 << 20, reps);
}
