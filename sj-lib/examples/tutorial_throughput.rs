//! Training and inference throughput of the T8/T9 tutorial networks on the workloads of
//! `../shared/bench` cases B (`b_fc_mnist.py`) and C (`c_conv_fmnist.py`): random stand-in images,
//! the same shapes, T, batch, optimiser and loss, warm-up iterations, then `iters` timed ones.
//! Prints one JSON line per case with the Python scripts' fields, so that
//! `sj-lib/benches/compare_spikingjelly.sh` can join them. Threads: `BENCH_THREADS` (default 2),
//! for libtorch's intra-op pool and for the fused kernels' rayon pool.
//!
//! `cargo run --release -p sj --example tutorial_throughput -- [--iters 20] [--cases B,C]`
use sj::examples::conv_fashion_mnist::CSNN;
use sj::examples::lif_fc_mnist::{firing_rate, SNN};
use sj::prelude::*;
use sj::training::{Adam, Loss, Optimizer, SGD};
use std::time::Instant;

fn batches(n: usize, batch: i64) -> Vec<(Tensor, Tensor)> {
    sj::tch::manual_seed(0);
    (0..n)
        .map(|_| {
            let img = Tensor::randint(256, [batch, 1, 28, 28], (Kind::Uint8, Device::Cpu));
            let label = Tensor::randint(10, [batch], (Kind::Int64, Device::Cpu));
            (img.to_kind(Kind::Float) / 255.0, label)
        })
        .collect()
}

/// Times `warmup + iters` batches of training (forward, MSE, backward, step) and of inference,
/// printing one JSON line each with `fields` (the case's own keys).
fn time_case(
    fields: &str,
    net: &mut dyn Module,
    opt: &mut dyn Optimizer,
    forward: &dyn Fn(&mut dyn Module, &Tensor) -> sj::Result<Tensor>,
    data: &[(Tensor, Tensor)],
    warmup: usize,
) -> sj::Result<()> {
    let batch = data[0].1.size()[0];
    for kind in ["train", "infer"] {
        functional::set_training(net, kind == "train");
        let mut timed = None;
        for (i, (img, label)) in data.iter().enumerate() {
            if i == warmup {
                timed = Some(Instant::now());
            }
            if kind == "train" {
                opt.zero_grad();
                let out = forward(net, img)?;
                let loss = Loss::Mse.compute(&out, label)?;
                loss.f_backward()
                    .map_err(|e| SjError::config("bench", e.to_string()))?;
                opt.step()?;
                let _ = loss.double_value(&[]);
                let _ = out
                    .argmax(1, false)
                    .eq_tensor(label)
                    .sum(Kind::Float)
                    .double_value(&[]);
            } else {
                no_grad(|| -> sj::Result<()> {
                    let out = forward(net, img)?;
                    let _ = out
                        .argmax(1, false)
                        .eq_tensor(label)
                        .sum(Kind::Float)
                        .double_value(&[]);
                    Ok(())
                })?;
            }
            reset_net(net);
        }
        let iters = data.len() - warmup;
        let dt = timed.expect("warmup < data.len()").elapsed().as_secs_f64();
        println!(
            "{{{fields}, \"kind\": \"{kind}\", \"batch\": {batch}, \"iters\": {iters}, \"s_per_iter\": {:.4}, \"samples_per_s\": {:.2}}}",
            dt / iters as f64,
            (batch as usize * iters) as f64 / dt
        );
    }
    Ok(())
}

fn case_b(step_mode: StepMode, iters: usize, warmup: usize) -> sj::Result<()> {
    const T: i64 = 100;
    sj::tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = SNN::new(&vs.root(), 2.0)?;
    set_step_mode(&mut net, step_mode)?;
    let mut opt = Adam::new(&vs, 1e-3)?;
    let forward = |net: &mut dyn Module, img: &Tensor| -> sj::Result<Tensor> {
        if step_mode == StepMode::S {
            return firing_rate(net, img, T); // the tutorial loop
        }
        let x_seq =
            PoissonEncoder::new().forward(&img.unsqueeze(0).expand([T, -1, -1, -1, -1], false))?;
        Ok(net.forward(&x_seq)?.mean_dim(0, false, Kind::Float))
    };
    let fields = format!(
        "\"case\": \"B\", \"lib\": \"sj\", \"workload\": \"lif_fc_mnist\", \"step_mode\": \"{step_mode}\", \"T\": {T}"
    );
    time_case(
        &fields,
        &mut net,
        &mut opt,
        &forward,
        &batches(warmup + iters, 64),
        warmup,
    )
}

fn case_c(channels: i64, iters: usize, warmup: usize) -> sj::Result<()> {
    const T: i64 = 4;
    sj::tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = CSNN::new(&vs.root(), T, channels)?;
    let mut opt = SGD::new(&vs, 0.1)?.with_momentum(0.9)?;
    let forward = |net: &mut dyn Module, img: &Tensor| net.forward(img);
    let fields = format!(
        "\"case\": \"C\", \"lib\": \"sj\", \"workload\": \"conv_fashion_mnist\", \"channels\": {channels}, \"T\": {T}"
    );
    time_case(
        &fields,
        &mut net,
        &mut opt,
        &forward,
        &batches(warmup + iters, 64),
        warmup,
    )
}

fn main() {
    // Large activations freed by one step are reused by the next (see the function's docs).
    sj::device::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let (mut iters, mut cases) = (20usize, "B,C".to_string());
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--iters", Some(v)) => iters = v.parse().unwrap_or(iters),
            ("--cases", Some(v)) => cases = v,
            _ => {
                eprintln!("usage: tutorial_throughput [--iters N] [--cases B,C]");
                std::process::exit(2);
            }
        }
    }
    let threads: usize = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    sj::tch::set_num_threads(threads as i32);
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    let run = || -> sj::Result<()> {
        if cases.contains('B') {
            case_b(StepMode::S, iters, 3)?;
            case_b(StepMode::M, iters, 3)?;
        }
        if cases.contains('C') {
            case_c(128, iters, 2)?;
            case_c(32, iters, 2)?;
        }
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("tutorial_throughput: {e}");
        std::process::exit(1);
    }
}
