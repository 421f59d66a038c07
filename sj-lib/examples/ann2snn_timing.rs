//! ann2snn timings on the workloads of `benches/ann2snn_spikingjelly.py` (run both with
//! `bash sj-lib/benches/compare_ann2snn.sh`): the tutorial's `mnist_cnn` (random weights, its
//! BatchNorms with running statistics), converted over 600 ready-made calibration batches of 100
//! images (modes max and 99.9%), and the converted SNN run for T=50 steps on batches of 100. One JSON line
//! per case: `{"case", "ms"}`, the median of `--iters` runs (conversion: one pass over the 600
//! batches; inference: one batch of T=50 steps, reset included).
use sj::ann2snn::{sample_models::mnist_cnn, Converter};
use sj::datasets::{DataLoader, ImageDataset, ToTensor};
use sj::prelude::*;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let iters: usize = args
        .iter()
        .position(|a| a == "--iters")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(3), |v| v.parse())?;
    sj::device::keep_freed_memory();
    tch::manual_seed(0);
    // 60,000 random 28x28 images (the bytes a real dataset would hold), 600 batches of 100.
    let n = 60_000;
    let pixels = Vec::<u8>::try_from(&Tensor::randint(
        256,
        [n as i64 * 784],
        (Kind::Uint8, Device::Cpu),
    ))?;
    let data = ImageDataset::new("random", pixels, [1, 28, 28], vec![0; n], vec!["0".into()])?;
    let loader = DataLoader::new(data, 100)?.with_transform(ToTensor);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut ann = mnist_cnn(&vs.root())?;
    // Running statistics from a few training-mode batches, so that the BatchNorms fold non-trivially.
    no_grad(|| -> sj::Result<()> {
        for batch in loader.iter(0).take(5) {
            let _ = ann.forward(&batch?.0)?;
        }
        Ok(())
    })?;
    let build = || -> sj::Result<Sequential> {
        let copy = nn::VarStore::new(Device::Cpu);
        let net = mnist_cnn(&copy.root())?;
        let weights: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        sj::state_dict::load_named_tensors(&copy, &weights, "ann")?;
        Ok(net)
    };
    // Ready-made float batches, as the Python side gets them (no data loading is timed).
    let batches: Vec<Tensor> = loader
        .iter(0)
        .map(|b| b.map(|(x, _)| x))
        .collect::<Result<_, _>>()?;
    let mut snn = None;
    for (case, mode) in [
        ("convert_max_600x100", "max"),
        ("convert_99.9%_600x100", "99.9%"),
    ] {
        let mut times = Vec::new();
        for _ in 0..iters {
            let net = build()?;
            let start = Instant::now();
            let converted = Converter::new(mode)?.convert(net, &batches)?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
            snn = Some(converted);
        }
        println!("{{\"case\": \"{case}\", \"ms\": {:.3}}}", median(times));
    }
    let mut snn = snn.expect("converted");
    let x = batches[0].shallow_clone();
    let mut times = Vec::new();
    for _ in 0..iters.max(5) {
        let start = Instant::now();
        no_grad(|| -> sj::Result<()> {
            reset_net(&mut snn);
            let mut out = snn.forward(&x)?;
            for _ in 1..50 {
                out += snn.forward(&x)?;
            }
            Ok(())
        })?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{{\"case\": \"snn_T50_batch100\", \"ms\": {:.3}}}",
        median(times)
    );
    Ok(())
}
