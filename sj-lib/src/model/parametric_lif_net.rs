//! `model.parametric_lif_net`: the networks of the PLIF paper (Fang et al., 2021; inventory
//! §2.10, checklist 161), as SpikingJelly builds them: one `Sequential` named `conv_fc` of
//! convolution blocks (`Conv2d` 3×3 without bias, `BatchNorm2d`, neuron, `MaxPool2d(2, 2)`), then
//! `Flatten`, `Dropout(0.5)`, `Linear`, neuron, `Dropout(0.5)`, `Linear`, neuron and a
//! `VotingLayer(10)`.
//!
//! | network | input (per step) | conv blocks | hidden | voting neurons |
//! |---|---|---|---|---|
//! | `MNISTNet`, `FashionMNISTNet` | `[N, 1, 28, 28]` | 2, pool after each | 2048 | 100 |
//! | `NMNISTNet` | `[N, 2, 34, 34]` | 2, pool after each | 2048 | 100 |
//! | `CIFAR10Net` | `[N, 3, 32, 32]` | 2 × (3 convs, one pool) | 2048 | 100 |
//! | `CIFAR10DVSNet` | `[N, 2, 128, 128]` | 4, pool after each | 512 | 100 |
//! | `DVSGestureNet` | `[N, 2, 128, 128]` | 5, pool after each | 512 | 110 |
//!
//! The paper's neuron is `ParametricLIFNode`; any [`SpikingNeuron`] works.
use super::{zoo_common, Children, SpikingNeuron};
use crate::base::{Module, StepMode};
use crate::error::{Result, SjError};
use crate::layer::{
    BatchNorm2d, Conv2d, ConvOptions, Dropout, Flatten, Linear, MaxPool2d, Sequential, VotingLayer,
};
use tch::{nn, Tensor};

/// One of the PLIF paper's networks (its `type_name` is the SpikingJelly class name).
#[derive(Debug)]
pub struct PlifNet {
    name: &'static str,
    children: Children,
    step_mode: StepMode,
}

/// The shape of one network.
struct Layout {
    name: &'static str,
    in_channels: i64,
    /// Convolutions per pooling, for each pooling.
    convs_per_pool: &'static [usize],
    /// Spatial size after the last pooling.
    side: i64,
    hidden: i64,
    voting_neurons: i64,
}

impl PlifNet {
    fn new<N: SpikingNeuron + ?Sized>(
        path: &nn::Path,
        layout: &Layout,
        channels: i64,
        neuron: &N,
    ) -> Result<Self> {
        if channels < 1 {
            return Err(SjError::config(
                layout.name,
                format!("channels must be at least 1, got {channels}"),
            ));
        }
        let base = path / "conv_fc";
        let mut seq = Sequential::new();
        let next = |seq: &Sequential| &base / seq.len().to_string();
        let mut c_in = layout.in_channels;
        for &convs in layout.convs_per_pool {
            for _ in 0..convs {
                let options = ConvOptions::new().with_padding(1).with_bias(false);
                seq.push(Box::new(Conv2d::new_with(
                    &next(&seq),
                    c_in,
                    channels,
                    3,
                    options,
                )?));
                seq.push(Box::new(BatchNorm2d::new(&next(&seq), channels)?));
                seq.push(neuron.build(&next(&seq))?);
                c_in = channels;
            }
            seq.push(Box::new(MaxPool2d::new(2).with_stride(2)));
        }
        seq.push(Box::new(Flatten::new()));
        seq.push(Box::new(Dropout::new(0.5)?));
        let features = channels * layout.side * layout.side;
        seq.push(Box::new(Linear::new(
            &next(&seq),
            features,
            layout.hidden,
            true,
        )?));
        seq.push(neuron.build(&next(&seq))?);
        seq.push(Box::new(Dropout::new(0.5)?));
        seq.push(Box::new(Linear::new(
            &next(&seq),
            layout.hidden,
            layout.voting_neurons,
            true,
        )?));
        seq.push(neuron.build(&next(&seq))?);
        seq.push(Box::new(VotingLayer::new(10)?));
        let mut children = Children::default();
        children.push("conv_fc", Box::new(seq));
        Ok(PlifNet {
            name: layout.name,
            children,
            step_mode: StepMode::S,
        })
    }
}

impl Module for PlifNet {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.children.call("conv_fc", x)
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
    zoo_common!();
}

/// The six networks by name: constructor, SpikingJelly's default `channels`, input channels and
/// classes.
#[allow(clippy::type_complexity)]
pub(super) const PLIF_NETS: [(
    &str,
    fn(&nn::Path, i64, &dyn SpikingNeuron) -> Result<PlifNet>,
    i64,
    i64,
    i64,
); 6] = [
    ("MNISTNet", |p, c, n| MNISTNet(p, c, n), 128, 1, 10),
    (
        "FashionMNISTNet",
        |p, c, n| FashionMNISTNet(p, c, n),
        128,
        1,
        10,
    ),
    ("NMNISTNet", |p, c, n| NMNISTNet(p, c, n), 128, 2, 10),
    ("CIFAR10Net", |p, c, n| CIFAR10Net(p, c, n), 256, 3, 10),
    (
        "CIFAR10DVSNet",
        |p, c, n| CIFAR10DVSNet(p, c, n),
        128,
        2,
        10,
    ),
    (
        "DVSGestureNet",
        |p, c, n| DVSGestureNet(p, c, n),
        128,
        2,
        11,
    ),
];

/// Defines the six public constructors.
macro_rules! plif_constructors {
    ($($fn_name:ident: $name:literal, $c_in:literal, $convs:expr, $side:literal, $hidden:literal, $voting:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "(channels, spiking_neuron)` (see the module documentation for its shape).")]
            #[allow(non_snake_case)]
            pub fn $fn_name<N: SpikingNeuron + ?Sized>(path: &nn::Path, channels: i64, neuron: &N) -> Result<PlifNet> {
                let layout = Layout {
                    name: $name,
                    in_channels: $c_in,
                    convs_per_pool: $convs,
                    side: $side,
                    hidden: $hidden,
                    voting_neurons: $voting,
                };
                PlifNet::new(path, &layout, channels, neuron)
            }
        )*
    };
}

plif_constructors! {
    MNISTNet: "MNISTNet", 1, &[1, 1], 7, 2048, 100;
    FashionMNISTNet: "FashionMNISTNet", 1, &[1, 1], 7, 2048, 100;
    NMNISTNet: "NMNISTNet", 2, &[1, 1], 8, 2048, 100;
    CIFAR10Net: "CIFAR10Net", 3, &[3, 3], 8, 2048, 100;
    CIFAR10DVSNet: "CIFAR10DVSNet", 2, &[1, 1, 1, 1], 8, 512, 100;
    DVSGestureNet: "DVSGestureNet", 2, &[1, 1, 1, 1, 1], 4, 512, 110;
}
