//! `STDPLearner::step` timings on the workloads of `benches/stdp_spikingjelly.py` (run both with
//! `bash sj-lib/benches/compare_stdp.sh`): one JSON line per case, the median ms of one
//! `step(false, 1.0)` over one batch's records (the forward passes are not timed).
use sj::learning::{STDPLearner, StdpOptions, WeightFn};
use sj::prelude::*;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let iters: usize = args
        .iter()
        .position(|a| a == "--iters")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(10), |v| v.parse())?;
    sj::device::keep_freed_memory();
    tch::manual_seed(0);
    let clamp = WeightFn::clamp(-1.0, 1.0)?;
    let options = StdpOptions::new(2.0, 2.0)?
        .with_f_pre(clamp.clone())
        .with_f_post(clamp);
    for case in ["conv2d_16x16_3x3", "linear_784x400"] {
        let vs = nn::VarStore::new(Device::Cpu);
        let (mode, synapse, shape, t_steps): (StepMode, Box<dyn Module>, Vec<i64>, i64) = match case
        {
            "conv2d_16x16_3x3" => (
                StepMode::S,
                Box::new(Conv2d::new_with(
                    &(vs.root() / "0"),
                    16,
                    16,
                    3,
                    ConvOptions::new().with_padding(1).with_bias(false),
                )?),
                vec![32, 16, 32, 32],
                8,
            ),
            _ => (
                StepMode::M,
                Box::new(Linear::new(&(vs.root() / "0"), 784, 400, false)?),
                vec![64, 784],
                100,
            ),
        };
        let mut net = Sequential::new();
        net.push(synapse);
        net.push(Box::new(IFNode::new()));
        set_step_mode(&mut net, mode)?;
        let mut learner = STDPLearner::new(mode, &net, "0", "1", options.clone())?;
        let mut full = vec![t_steps];
        full.extend(&shape);
        let x = Tensor::rand(full.as_slice(), (Kind::Float, Device::Cpu))
            .gt(0.8)
            .to_kind(Kind::Float);
        let mut times = Vec::new();
        for _ in 0..iters {
            learner.reset();
            reset_net(&mut net);
            tch::no_grad(|| -> sj::Result<()> {
                match mode {
                    StepMode::S => {
                        for t in 0..t_steps {
                            let _ = net.forward(&x.get(t))?;
                        }
                    }
                    StepMode::M => {
                        let _ = net.forward(&x)?;
                    }
                }
                Ok(())
            })?;
            let start = Instant::now();
            learner.step(false, 1.0)?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{{\"case\": \"{case}\", \"step_mode\": \"{mode}\", \"ms\": {:.3}}}",
            times[times.len() / 2]
        );
    }
    Ok(())
}
