//! `model.spiking_vgg`: torchvision's VGGs with spiking neurons in place of ReLU (inventory
//! §2.10, checklist 160): `features` (3×3 convolutions with bias, optional norm layers, 2×2 max
//! pooling), `avgpool` (to 7×7), `classifier` (`Linear(25088, 4096)`, neuron, `Dropout`,
//! `Linear(4096, 4096)`, neuron, `Dropout`, `Linear(4096, num_classes)`).
//!
//! Initialised as SpikingJelly does: convolutions Kaiming-normal (fan-out) with zero bias, norm
//! layers 1 and 0, linear layers `N(0, 0.01²)` with zero bias.
use super::{
    batch_norm2d, flatten_after, init_norm, init_tensor, kaiming_normal_fan_out, zoo_common,
    Children, NormLayer, SpikingNeuron,
};
use crate::base::{Module, StepMode};
use crate::error::{Result, SjError};
use crate::layer::{
    AdaptiveAvgPool2d, Conv2d, ConvOptions, Dropout, Linear, MaxPool2d, Sequential,
};
use tch::{nn, Tensor};

/// One entry of a VGG configuration: a 3×3 convolution to that many channels, or `M` (max pool).
const M: i64 = 0;
const CFG_A: &[i64] = &[64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M];
const CFG_B: &[i64] = &[
    64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M,
];
const CFG_D: &[i64] = &[
    64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M,
];
const CFG_E: &[i64] = &[
    64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M,
];

/// The keyword arguments of `SpikingVGG`.
#[derive(Clone, Debug)]
pub struct VGGOptions {
    /// `num_classes=` (1000).
    pub num_classes: i64,
    /// `init_weights=` (true).
    pub init_weights: bool,
    /// `norm_layer=` of the `_bn` variants (`layer.BatchNorm2d`).
    pub norm_layer: NormLayer,
    /// Input channels of the first convolution (3; sj's addition).
    pub in_channels: i64,
}

impl Default for VGGOptions {
    fn default() -> Self {
        VGGOptions {
            num_classes: 1000,
            init_weights: true,
            norm_layer: batch_norm2d,
            in_channels: 3,
        }
    }
}

/// `SpikingVGG`: input `[N, 3, H, W]` (`[T, N, 3, H, W]` in step mode `'m'`), output
/// `[N, num_classes]` (`[T, N, num_classes]`).
#[derive(Debug)]
pub struct SpikingVGG {
    children: Children,
    step_mode: StepMode,
}

/// The eight VGGs by SpikingJelly name: configuration and whether it has norm layers.
pub(super) const VGGS: [(&str, &[i64], bool); 8] = [
    ("spiking_vgg11", CFG_A, false),
    ("spiking_vgg11_bn", CFG_A, true),
    ("spiking_vgg13", CFG_B, false),
    ("spiking_vgg13_bn", CFG_B, true),
    ("spiking_vgg16", CFG_D, false),
    ("spiking_vgg16_bn", CFG_D, true),
    ("spiking_vgg19", CFG_E, false),
    ("spiking_vgg19_bn", CFG_E, true),
];

impl SpikingVGG {
    pub(super) fn new<N: SpikingNeuron + ?Sized>(
        path: &nn::Path,
        cfg: &[i64],
        batch_norm: bool,
        neuron: &N,
        options: &VGGOptions,
    ) -> Result<Self> {
        if options.num_classes < 1 {
            return Err(SjError::config(
                "SpikingVGG",
                format!(
                    "num_classes must be at least 1, got {}",
                    options.num_classes
                ),
            ));
        }
        let f = path / "features";
        let mut features = Sequential::new();
        let mut in_channels = options.in_channels;
        for &v in cfg {
            let p = &f / features.len().to_string();
            if v == M {
                features.push(Box::new(MaxPool2d::new(2).with_stride(2)));
                continue;
            }
            let conv = Conv2d::new_with(&p, in_channels, v, 3, ConvOptions::new().with_padding(1))?;
            features.push(Box::new(conv));
            if batch_norm {
                features.push((options.norm_layer)(&(&f / features.len().to_string()), v)?);
            }
            features.push(neuron.build(&(&f / features.len().to_string()))?);
            in_channels = v;
        }
        let c = path / "classifier";
        let mut classifier = Sequential::new();
        let p = |i: usize| &c / i.to_string();
        classifier.push(Box::new(Linear::new(&p(0), 512 * 7 * 7, 4096, true)?));
        classifier.push(neuron.build(&p(1))?);
        classifier.push(Box::new(Dropout::new(0.5)?));
        classifier.push(Box::new(Linear::new(&p(3), 4096, 4096, true)?));
        classifier.push(neuron.build(&p(4))?);
        classifier.push(Box::new(Dropout::new(0.5)?));
        classifier.push(Box::new(Linear::new(
            &p(6),
            4096,
            options.num_classes,
            true,
        )?));
        let mut children = Children::default();
        children.push("features", Box::new(features));
        children.push("avgpool", Box::new(AdaptiveAvgPool2d::new(7)));
        children.push("classifier", Box::new(classifier));
        let net = SpikingVGG {
            children,
            step_mode: StepMode::S,
        };
        if options.init_weights {
            crate::functional::walk("", &net, &mut |_, m| match m.type_name() {
                "Conv2d" => {
                    kaiming_normal_fan_out(m);
                    init_tensor(m, "bias", |b| {
                        let _ = b.fill_(0.0);
                    });
                }
                "BatchNorm2d" => init_norm(m),
                "Linear" => {
                    init_tensor(m, "weight", |w| {
                        let _ = w.normal_(0.0, 0.01);
                    });
                    init_tensor(m, "bias", |b| {
                        let _ = b.fill_(0.0);
                    });
                }
                _ => {}
            });
        }
        Ok(net)
    }
}

impl Module for SpikingVGG {
    fn type_name(&self) -> &'static str {
        "SpikingVGG"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let c = &mut self.children;
        let y = c.call("features", x)?;
        let y = c.call("avgpool", &y)?;
        let y = flatten_after(c.get("avgpool"), &y)?;
        c.call("classifier", &y)
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
    zoo_common!();
}

/// Defines the eight public constructors.
macro_rules! vgg_constructors {
    ($($fn_name:ident => $cfg:ident, $bn:literal, $doc:literal;)*) => {
        $(
            #[doc = concat!("`", stringify!($fn_name), "`: configuration `", stringify!($cfg), "`", $doc)]
            pub fn $fn_name<N: SpikingNeuron + ?Sized>(
                path: &nn::Path,
                neuron: &N,
                options: &VGGOptions,
            ) -> Result<SpikingVGG> {
                SpikingVGG::new(path, $cfg, $bn, neuron, options)
            }
        )*
    };
}

vgg_constructors! {
    spiking_vgg11 => CFG_A, false, ".";
    spiking_vgg11_bn => CFG_A, true, " with a norm layer after every convolution.";
    spiking_vgg13 => CFG_B, false, ".";
    spiking_vgg13_bn => CFG_B, true, " with a norm layer after every convolution.";
    spiking_vgg16 => CFG_D, false, ".";
    spiking_vgg16_bn => CFG_D, true, " with a norm layer after every convolution.";
    spiking_vgg19 => CFG_E, false, ".";
    spiking_vgg19_bn => CFG_E, true, " with a norm layer after every convolution.";
}
