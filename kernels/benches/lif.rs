//! Criterion benchmark of the fused CPU LIF kernel, forward + backward, on the workloads of
//! ../shared/bench case A (multi-step LIF, T in {4, 16, 64}, N in {2^16, 2^20}).
//! (criterion's macros generate the undocumented `benches` and `main`.)
#![allow(missing_docs)]
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sj_kernels::surrogate::Sigmoid;
use sj_kernels::{fused_neuron, Firing, LifCharge, NeuronConfig};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// Fused LIF forward + `sum().backward()` for each workload.
fn lif_fwd_bwd(c: &mut Criterion) {
    // Large activations freed by one iteration are reused by the next (see the function's docs).
    sj_kernels::cpu::keep_freed_memory();
    let charge = LifCharge {
        tau: 2.0,
        decay_input: true,
        v_reset: 0.0,
    };
    let firing = Firing {
        v_threshold: 1.0,
        v_reset: Some(0.0),
        detach_reset: false,
        surrogate: Arc::new(Sigmoid { alpha: 4.0 }),
    };
    let cfg = NeuronConfig::new(Arc::new(charge), firing);
    let mut group = c.benchmark_group("lif_fwd_bwd_cpu");
    group.sample_size(10);
    for &(t, n) in &[
        (4i64, 1i64 << 16),
        (16, 1 << 16),
        (64, 1 << 16),
        (4, 1 << 20),
        (16, 1 << 20),
        (64, 1 << 20),
    ] {
        let x = Tensor::rand([t, n], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let v0 = Tensor::zeros([n], (Kind::Float, Device::Cpu));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("T{t}_N{n}")),
            &(),
            |b, _| {
                b.iter(|| {
                    let (s, _) = fused_neuron(&cfg, &x, &v0, None).unwrap();
                    s.sum(Kind::Float).backward();
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, lif_fwd_bwd);
criterion_main!(benches);
