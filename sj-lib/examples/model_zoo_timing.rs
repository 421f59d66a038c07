//! Model-zoo timings on the workloads of `benches/model_zoo_spikingjelly.py` (run both with
//! `bash sj-lib/benches/compare_model_zoo.sh`): forward + backward of `spiking_resnet18` and
//! `sew_resnet18` (ADD) with IF neurons (ATan, detach_reset) in step mode 'm', T=4, batch 8,
//! 3x64x64 input, cross-entropy on the mean over time, `reset_net` after each step. One JSON line
//! per case: `{"case", "ms", "samples_per_s"}`, the median of `--iters` steps after a warm-up.
//!
//! A last line measures the Trainer's overhead: one epoch of `Trainer::fit` over 8 batches of 8
//! images (loader, metrics, log; checkpoints off) against the same forward, backward and SGD
//! steps in a bare loop.
use sj::datasets::{DataLoader, ImageDataset, ToTensor};
use sj::model::{sew_resnet, spiking_resnet, ConnectFunction, ResNetOptions};
use sj::prelude::*;
use sj::progress::ProgressOutput;
use sj::surrogate::Surrogate;
use sj::training::{Loss, Optimizer, Trainer, SGD};
use std::time::Instant;

fn if_atan(_: &nn::Path) -> sj::Result<Box<dyn Module>> {
    Ok(Box::new(
        IFNode::new()
            .with_surrogate(Surrogate::atan(2.0)?)
            .with_detach_reset(true),
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One training step's forward and backward: the mean over T of the network's output, CE loss.
fn step(net: &mut dyn Module, x: &Tensor, labels: &Tensor) -> sj::Result<()> {
    let y = net.forward(x)?.mean_dim(0, false, Kind::Float);
    y.cross_entropy_for_logits(labels).backward();
    reset_net(net);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let iters: usize = args
        .iter()
        .position(|a| a == "--iters")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(5), |v| v.parse())?;
    sj::device::keep_freed_memory();
    tch::manual_seed(0);
    let (t, n) = (4, 8);
    let x = Tensor::rand([t, n, 3, 64, 64], (Kind::Float, Device::Cpu));
    let labels = Tensor::randint(1000, [n], (Kind::Int64, Device::Cpu));
    let opts = ResNetOptions::default();
    for case in ["spiking_resnet18", "sew_resnet18"] {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net: Box<dyn Module> = if case == "sew_resnet18" {
            Box::new(sew_resnet::sew_resnet18(
                &vs.root(),
                &if_atan,
                ConnectFunction::Add,
                &opts,
            )?)
        } else {
            Box::new(spiking_resnet::spiking_resnet18(
                &vs.root(),
                &if_atan,
                &opts,
            )?)
        };
        set_step_mode(net.as_mut(), StepMode::M)?;
        let mut times = Vec::new();
        for i in 0..=iters {
            let t0 = Instant::now();
            step(net.as_mut(), &x, &labels)?;
            for mut p in vs.trainable_variables() {
                p.zero_grad();
            }
            if i > 0 {
                times.push(t0.elapsed().as_secs_f64());
            }
        }
        let ms = median(times) * 1e3;
        println!(
            "{}",
            serde_json::json!({"case": format!("{case}_fwd_bwd_T4_b8_64px"), "ms": ms, "samples_per_s": n as f64 / (ms / 1e3)})
        );
    }

    // Trainer overhead: the same steps through Trainer::fit and in a bare loop.
    let batches = 8usize;
    let pixels = Vec::<u8>::try_from(&Tensor::randint(
        256,
        [(batches * 8 * 3 * 64 * 64) as i64],
        (Kind::Uint8, Device::Cpu),
    ))?;
    let labels_all: Vec<i64> = (0..batches * 8).map(|i| (i % 10) as i64).collect();
    let classes: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    let data = ImageDataset::new("random", pixels, [3, 64, 64], labels_all, classes)?;
    let train = DataLoader::new(data.clone(), 8)?
        .with_transform(ToTensor)
        .with_shuffle(0);
    let test = DataLoader::new(data.subset(&[0])?, 1)?.with_transform(ToTensor);
    let small = ResNetOptions {
        num_classes: 10,
        ..Default::default()
    };
    let forward = |net: &mut dyn Module, x: &Tensor| -> sj::Result<Tensor> {
        let x_seq = x.unsqueeze(0).repeat([t, 1, 1, 1, 1]);
        Ok(net.forward(&x_seq)?.mean_dim(0, false, Kind::Float))
    };
    let mut trainer_ms = Vec::new();
    let mut bare_ms = Vec::new();
    for _ in 0..iters.max(1) {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = spiking_resnet::spiking_resnet18(&vs.root(), &if_atan, &small)?;
        set_step_mode(&mut net, StepMode::M)?;
        let mut sgd = SGD::new(&vs, 0.01)?;
        let t0 = Instant::now();
        Trainer::new(1)
            .with_loss(Loss::CrossEntropy)
            .with_progress(ProgressOutput::Hidden)
            .fit(&mut net, &vs, &mut sgd, &train, &test, forward)?;
        trainer_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        let batches: Vec<(Tensor, Tensor)> = train.iter(0).collect::<Result<_, _>>()?;
        let t0 = Instant::now();
        for (x, y) in &batches {
            sgd.zero_grad();
            let out = forward(&mut net, x)?;
            out.cross_entropy_for_logits(y).backward();
            sgd.step()?;
            reset_net(&mut net);
        }
        let _ = no_grad(|| forward(&mut net, &test.iter(0).next().unwrap().unwrap().0));
        reset_net(&mut net);
        bare_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let (trainer, bare) = (median(trainer_ms), median(bare_ms));
    println!(
        "{}",
        serde_json::json!({"case": "trainer_overhead_8x8_spiking_resnet18", "trainer_ms": trainer, "bare_ms": bare, "overhead_percent": (trainer / bare - 1.0) * 100.0})
    );
    Ok(())
}
