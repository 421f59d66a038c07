//! The fused CUDA kernels on a GPU, in one run (issue: fused kernels, "CUDA tests" and "Speed"):
//!
//! 1. correctness: every [`Case`] (6 neurons × 4 surrogates × reset × detach_reset × T) with
//!    the `cuda` backend and with `auto` single steps against the op-by-op path on the same GPU
//!    (float32: identical spikes, state within 1e-6, gradients within 1e-5 relative), and the
//!    float16 and bfloat16 kernels against float32 (reported: spike mismatch and errors);
//! 2. timing: multi-step LIF (tau 2, ATan) forward+backward at T = 16, N = 2^24 in float32 and
//!    float16 (CUDA events via synchronize, median of 20 after warm-up), the op-by-op path for
//!    comparison, and the achieved bandwidth (bytes the kernels must move / time).
//!
//! Prints one JSON line per result and a summary; exits 1 if a float32 case fails and 2 if CUDA
//! is not available (the reason is printed: an error value, not a panic). Build here, run there:
//! `cargo build --release -p sj --example cuda_check`, then on the GPU machine (no Rust needed)
//! `bash sj-lib/benches/gpu_check.sh` with the binary carried along.
use sj::neuron::check::Case;
use sj::prelude::*;
use std::time::Instant;

fn json_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Median milliseconds of `f` over `reps` runs after 3 warm-ups, synchronising the device.
fn median_ms(reps: usize, mut f: impl FnMut() -> sj::Result<()>) -> sj::Result<f64> {
    for _ in 0..3 {
        f()?;
    }
    sj::tch::Cuda::synchronize(0);
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = Instant::now();
        f()?;
        sj::tch::Cuda::synchronize(0);
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

fn correctness(device: Device) -> sj::Result<usize> {
    let mut failures = 0;
    for case in Case::all() {
        let reference = case.run(device, Kind::Float, Backend::Torch, StepMode::M)?;
        for (what, kind, backend, mode) in [
            ("cuda f32", Kind::Float, Backend::Cuda, StepMode::M),
            (
                "auto single steps f32",
                Kind::Float,
                Backend::Auto,
                StepMode::S,
            ),
            ("cuda f16", Kind::Half, Backend::Cuda, StepMode::M),
            ("cuda bf16", Kind::BFloat16, Backend::Cuda, StepMode::M),
        ] {
            let c = reference.compare(&case.run(device, kind, backend, mode)?)?;
            let pass = kind != Kind::Float || c.within(1e-6, 1e-5);
            failures += usize::from(!pass);
            println!(
                "{{\"check\": \"{what}\", \"case\": \"{}\", \"pass\": {pass}, \"spike_mismatch\": {:.3e}, \"max_state_diff\": {:.3e}, \"grad_x_rel\": {:.3e}, \"grad_v_init_rel\": {:.3e}, \"grad_w_rel\": {:.3e}}}",
                json_escape(&case.name()),
                c.spike_mismatch,
                c.max_state_diff,
                c.grad_x_rel,
                c.grad_v_init_rel,
                c.grad_w_rel
            );
        }
    }
    Ok(failures)
}

fn timing(device: Device) -> sj::Result<()> {
    let (t, n) = (16i64, 1i64 << 24);
    for (kind, bytes_per) in [(Kind::Float, 4.0), (Kind::Half, 2.0)] {
        for backend in [Backend::Cuda, Backend::Torch] {
            let mut lif = LIFNode::new(2.0)?
                .with_surrogate(Surrogate::atan(2.0)?)
                .with_step_mode(StepMode::M);
            lif.set_backend(backend)?;
            let x = (Tensor::rand([t, n], (kind, device)) * 3.0).set_requires_grad(true);
            let ms = median_ms(20, || {
                let s = lif.forward(&x)?;
                s.sum(Kind::Float).f_backward()?;
                lif.reset();
                Ok(())
            })?;
            // forward reads x, writes spikes and h; backward reads h and the gradient, writes grad x
            // (the broadcast gradient of sum() is one value): 5 tensors of T·N elements.
            let gb = 5.0 * (t * n) as f64 * bytes_per / 1e9;
            println!(
                "{{\"timing\": \"LIF fwd+bwd\", \"backend\": \"{backend}\", \"dtype\": \"{kind:?}\", \"T\": {t}, \"N\": {n}, \"ms\": {ms:.3}, \"GB_moved\": {gb:.3}, \"GB_per_s\": {:.0}}}",
                gb / ms * 1e3
            );
        }
    }
    Ok(())
}

fn main() {
    let device = match sj::device::cuda(0) {
        Ok(d) => d,
        Err(e) => {
            println!(
                "{{\"cuda\": false, \"error\": \"{}\"}}",
                json_escape(&e.to_string())
            );
            eprintln!("cuda_check: {e}");
            std::process::exit(2);
        }
    };
    let run = || -> sj::Result<usize> {
        let failures = correctness(device)?;
        timing(device)?;
        Ok(failures)
    };
    match run() {
        Ok(0) => println!("{{\"summary\": \"all float32 cases pass\"}}"),
        Ok(f) => {
            println!("{{\"summary\": \"{f} float32 comparisons failed\"}}");
            std::process::exit(1);
        }
        Err(e) => {
            println!("{{\"error\": \"{}\"}}", json_escape(&e.to_string()));
            std::process::exit(1);
        }
    }
}
