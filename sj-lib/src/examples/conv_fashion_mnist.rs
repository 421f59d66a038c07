//! `examples.conv_fashion_mnist`: a convolutional SNN classifies Fashion-MNIST (T9).
//!
//! `CSNN(T, channels)`: `{Conv3×3(1→c, pad 1, no bias)-BN-IF(ATan)-MaxPool2}` (→ 14×14),
//! `{Conv(c→c)-BN-IF-MaxPool2}` (→ 7×7), Flatten, `Linear(c·49 → c·16, no bias)`, IF,
//! `Linear(c·16 → 10, no bias)`, IF, all multi-step. The image is repeated T times (the first
//! conv-BN-IF block is the spiking encoder), output = firing rate over T, MSE to the one-hot label.
//! SpikingJelly's run (T 4, c 128, SGD lr 0.1 momentum 0.9, cosine schedule, 64 epochs) reaches
//! max test accuracy 0.9308.
use super::Args;
use crate::base::{Backend, Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::set_step_mode;
use crate::layer::{BatchNorm2d, Conv2d, ConvOptions, Flatten, Linear, MaxPool2d, Sequential};
use crate::neuron::{IFNode, NodeOptions};
use crate::surrogate::Surrogate;
use crate::training::TrainLog;
use sj_datasets::FashionMNIST;
use tch::{nn, Device, Kind, Tensor};

/// The script's defaults: `-T 4 -b 128 -epochs 64 -opt sgd -lr 0.1 -momentum 0.9 -channels 128`
/// with the cosine schedule.
pub fn default_args() -> Args {
    Args {
        t: 4,
        device: Device::Cpu,
        b: 128,
        epochs: 64,
        j: 4,
        data_dir: FashionMNIST::default_root(),
        out_dir: None,
        resume: false,
        opt: "sgd".into(),
        momentum: 0.9,
        lr: 0.1,
        tau: 2.0,
        channels: 128,
        channels2: None,
        hidden: None,
        cosine: true,
        backend: Backend::Auto,
        seed: 0,
        train_samples: None,
        max_batches: None,
    }
}

/// `CSNN(T, channels)`: takes images `[N, 1, 28, 28]`, returns firing rates `[N, 10]`. Its
/// parameters are named `conv_fc.<i>.…` as in SpikingJelly's `state_dict`.
#[derive(Debug)]
pub struct CSNN {
    t: i64,
    conv_fc: Sequential,
    step_mode: StepMode,
}

impl CSNN {
    /// The network under `path / "conv_fc"`; errors unless `t ≥ 1` and `channels ≥ 1`.
    pub fn new(path: &nn::Path, t: i64, channels: i64) -> Result<Self> {
        Self::new_with(path, t, [channels, channels], channels * 16)
    }

    /// A variant with `channels[0]` and `channels[1]` filters in the two conv blocks and `hidden`
    /// neurons in the hidden fully connected layer (`new(path, T, c)` is `new_with(path, T, [c, c],
    /// 16 c)`): on a CPU the first block, at 28×28, costs the most, so a narrow first block with a
    /// wider second one buys accuracy cheaply.
    pub fn new_with(path: &nn::Path, t: i64, channels: [i64; 2], hidden: i64) -> Result<Self> {
        if t < 1 || channels.iter().any(|&c| c < 1) || hidden < 1 {
            return Err(SjError::config(
                "CSNN",
                format!("T, channels and hidden must be at least 1, got T={t}, channels={channels:?}, hidden={hidden}"),
            ));
        }
        let [c1, c2] = channels;
        let p = |i: usize| path / "conv_fc" / i.to_string();
        let conv = |i, c_in, c_out| {
            Conv2d::new_with(
                &p(i),
                c_in,
                c_out,
                3,
                ConvOptions::new().with_padding(1).with_bias(false),
            )
        };
        let atan = Surrogate::atan(2.0)?;
        let if_node = || IFNode::new().with_surrogate(atan.clone());
        let mut conv_fc = Sequential::new()
            .add(conv(0, 1, c1)?)
            .add(BatchNorm2d::new(&p(1), c1)?)
            .add(if_node())
            .add(MaxPool2d::new(2).with_stride(2))
            .add(conv(4, c1, c2)?)
            .add(BatchNorm2d::new(&p(5), c2)?)
            .add(if_node())
            .add(MaxPool2d::new(2).with_stride(2))
            .add(Flatten::new())
            .add(Linear::new(&p(9), c2 * 7 * 7, hidden, false)?)
            .add(if_node())
            .add(Linear::new(&p(11), hidden, 10, false)?)
            .add(if_node());
        set_step_mode(&mut conv_fc, StepMode::M)?;
        Ok(CSNN {
            t,
            conv_fc,
            step_mode: StepMode::M,
        })
    }

    fn repeat(&self, x: &Tensor) -> Result<Tensor> {
        if x.dim() != 4 || x.size()[1..] != [1, 28, 28] {
            return Err(SjError::Shape {
                module: "CSNN".into(),
                expected: "[N, 1, 28, 28]".into(),
                got: x.size(),
            });
        }
        Ok(x.unsqueeze(0).repeat([self.t, 1, 1, 1, 1]))
    }

    /// `spiking_encoder()` applied to `x`: the spikes `[T, N, c, 28, 28]` of the first
    /// conv-BN-IF block (call `reset_net` afterwards).
    pub fn spiking_encoder(&mut self, x: &Tensor) -> Result<Tensor> {
        let mut y = self.repeat(x)?;
        for i in 0..3 {
            let m = self
                .conv_fc
                .get_mut(i)
                .ok_or_else(|| SjError::config("CSNN", "conv_fc has fewer than 3 modules"))?;
            y = m.forward(&y)?;
        }
        Ok(y)
    }
}

impl Module for CSNN {
    fn type_name(&self) -> &'static str {
        "CSNN"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let x_seq = self.repeat(x)?;
        Ok(self
            .conv_fc
            .forward(&x_seq)?
            .mean_dim(0, false, Kind::Float))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn supported_step_modes(&self) -> &'static [StepMode] {
        &[StepMode::M]
    }
    fn extra_repr(&self) -> String {
        format!("T={}", self.t)
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("conv_fc".into(), &self.conv_fc as &dyn Module)]
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("conv_fc".into(), &mut self.conv_fc as &mut dyn Module)]
    }
}

/// Trains as the script does (checkpoints in `-out-dir` when given) and returns the log.
pub fn main(args: &Args) -> Result<TrainLog> {
    let (train, test) = args.loaders(
        FashionMNIST::new(&args.data_dir, true)?,
        FashionMNIST::new(&args.data_dir, false)?,
        true,
    )?;
    tch::manual_seed(args.seed as i64);
    let vs = nn::VarStore::new(args.device);
    let c2 = args.channels2.unwrap_or(args.channels);
    let mut net = CSNN::new_with(
        &vs.root(),
        args.t,
        [args.channels, c2],
        args.hidden.unwrap_or(16 * c2),
    )?;
    args.fit(
        args.run_dir(true),
        &mut net,
        &vs,
        &train,
        &test,
        |net, x| net.forward(x),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;

    #[test]
    fn csnn_shapes_and_state_dict_names() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = CSNN::new(&vs.root(), 2, 4).unwrap();
        let mut names: Vec<String> = vs.variables().into_keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "conv_fc.0.weight",
                "conv_fc.1.bias",
                "conv_fc.1.num_batches_tracked",
                "conv_fc.1.running_mean",
                "conv_fc.1.running_var",
                "conv_fc.1.weight",
                "conv_fc.11.weight",
                "conv_fc.4.weight",
                "conv_fc.5.bias",
                "conv_fc.5.num_batches_tracked",
                "conv_fc.5.running_mean",
                "conv_fc.5.running_var",
                "conv_fc.5.weight",
                "conv_fc.9.weight",
            ]
        );
        assert_eq!(vs.variables()["conv_fc.9.weight"].size(), vec![64, 196]);
        let x = Tensor::rand([3, 1, 28, 28], (Kind::Float, Device::Cpu));
        let out = net.forward(&x).unwrap();
        assert_eq!(out.size(), vec![3, 10]);
        // firing rates over T = 2 steps are 0, 0.5 or 1
        let rates = Vec::<f32>::try_from(&out.flatten(0, -1)).unwrap();
        assert!(
            rates.iter().all(|r| [0.0, 0.5, 1.0].contains(r)),
            "{rates:?}"
        );
        reset_net(&mut net);
        assert_eq!(
            net.spiking_encoder(&x).unwrap().size(),
            vec![2, 3, 4, 28, 28]
        );
        reset_net(&mut net);
        let e = net
            .forward(&Tensor::rand([3, 784], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "CSNN: expected input shape [N, 1, 28, 28], got [3, 784]");
        assert!(CSNN::new(&vs.root(), 0, 4).is_err());

        // new_with: (2, 3) filters and 5 hidden neurons
        let vs = nn::VarStore::new(Device::Cpu);
        let mut narrow = CSNN::new_with(&vs.root(), 2, [2, 3], 5).unwrap();
        let shape = |n: &str| vs.variables()[n].size();
        assert_eq!(
            (
                shape("conv_fc.0.weight"),
                shape("conv_fc.4.weight"),
                shape("conv_fc.9.weight"),
                shape("conv_fc.11.weight")
            ),
            (
                vec![2, 1, 3, 3],
                vec![3, 2, 3, 3],
                vec![5, 147],
                vec![10, 5]
            )
        );
        assert_eq!(narrow.forward(&x).unwrap().size(), vec![3, 10]);
        let e = CSNN::new_with(&vs.root(), 2, [2, 3], 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden=0"), "{e}");
    }
}
