//! `activation_based.model`: SpikingJelly's model zoo (inventory §2.10, checklist 157-163, 310).
//!
//! - [`spiking_resnet`]: `spiking_resnet18/34/50/101/152`, `spiking_resnext50_32x4d`,
//!   `spiking_resnext101_32x8d`, `spiking_wide_resnet50_2/101_2`;
//! - [`sew_resnet`]: the same family with spike-element-wise residuals (`ADD`, `AND`, `IAND`);
//! - [`spiking_vgg`]: `spiking_vgg11/13/16/19` with and without batch norm;
//! - [`parametric_lif_net`]: `MNISTNet`, `FashionMNISTNet`, `NMNISTNet`, `CIFAR10Net`,
//!   `CIFAR10DVSNet`, `DVSGestureNet`.
//!
//! Every network has SpikingJelly's structure and `state_dict` names (torchvision's for the ResNets
//! and VGGs), is built in step mode `'s'`, and takes its neuron as SpikingJelly's
//! `spiking_neuron=..., **kwargs` do: a [`SpikingNeuron`], called once per neuron with the neuron's
//! `VarStore` path, which builds any sj neuron with any options.
//!
//! ```
//! use sj::prelude::*;
//! use sj::model::{spiking_resnet, ResNetOptions};
//! use sj::surrogate::Surrogate;
//!
//! fn if_atan(_: &nn::Path) -> sj::Result<Box<dyn Module>> {
//!     Ok(Box::new(IFNode::new().with_surrogate(Surrogate::atan(2.0)?).with_detach_reset(true)))
//! }
//! # fn main() -> sj::Result<()> {
//! let vs = nn::VarStore::new(Device::Cpu);
//! let options = ResNetOptions { num_classes: 10, ..Default::default() };
//! let mut net = spiking_resnet::spiking_resnet18(&vs.root(), &if_atan, &options)?;
//! set_step_mode(&mut net, StepMode::M)?;
//! let y = net.forward(&Tensor::rand([4, 1, 3, 32, 32], (Kind::Float, Device::Cpu)))?;
//! assert_eq!(y.size(), [4, 1, 10]);
//! # Ok(()) }
//! ```
pub mod parametric_lif_net;
mod resnet;
pub mod sew_resnet;
pub mod spiking_resnet;
pub mod spiking_vgg;

pub mod train_classify;

pub use resnet::{Block, ConnectFunction, ResNet, ResNetOptions};
pub use spiking_vgg::{SpikingVGG, VGGOptions};

use crate::base::{Hooks, Module};
use crate::error::{Result, SjError};
use crate::layer::BatchNorm2d;
use tch::{nn, Tensor};

/// Builds one spiking neuron at its `VarStore` path: SpikingJelly's `spiking_neuron(**kwargs)`.
///
/// Any `fn(&nn::Path) -> sj::Result<Box<dyn Module>>` (or closure) is one; the path matters only
/// for neurons with parameters (`ParametricLIFNode::new(path, 2.0)` puts its `w` there, named like
/// SpikingJelly's `sn1.w`).
pub trait SpikingNeuron {
    /// A new neuron at `path`.
    fn build(&self, path: &nn::Path) -> Result<Box<dyn Module>>;
}

impl<F: Fn(&nn::Path) -> Result<Box<dyn Module>>> SpikingNeuron for F {
    fn build(&self, path: &nn::Path) -> Result<Box<dyn Module>> {
        self(path)
    }
}

/// What [`get_model`] needs besides the name and the neuron.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelSpec {
    /// Classes of the dataset (the PLIF networks have a fixed 10 (11 for DVS Gesture)).
    pub num_classes: i64,
    /// Channels of the input images.
    pub in_channels: i64,
    /// The SEW ResNets' connect function.
    pub cnf: ConnectFunction,
    /// The PLIF networks' `channels` (their SpikingJelly default when `None`).
    pub channels: Option<i64>,
}

/// Every name [`get_model`] knows, SpikingJelly's function and class names.
pub fn model_names() -> Vec<String> {
    let resnets = resnet::ARCHS.iter().map(|a| a.name);
    resnets
        .clone()
        .map(|a| format!("spiking_{a}"))
        .chain(resnets.map(|a| format!("sew_{a}")))
        .chain(spiking_vgg::VGGS.iter().map(|v| v.0.to_string()))
        .chain(
            parametric_lif_net::PLIF_NETS
                .iter()
                .map(|p| p.0.to_string()),
        )
        .collect()
}

/// The zoo network named `name` (`"spiking_resnet18"`, `"sew_resnet50"`, `"spiking_vgg11_bn"`,
/// `"DVSGestureNet"`, ...): what a Trainer's `--model` builds. An unknown name, or a PLIF network
/// asked for other classes or input channels than it has, is an error listing what fits.
pub fn get_model<N: SpikingNeuron>(
    name: &str,
    path: &nn::Path,
    neuron: &N,
    spec: &ModelSpec,
) -> Result<Box<dyn Module>> {
    let resnet_options = ResNetOptions {
        num_classes: spec.num_classes,
        in_channels: spec.in_channels,
        ..Default::default()
    };
    if let Some(arch) = name
        .strip_prefix("spiking_")
        .and_then(|a| resnet::arch_named(a).ok())
    {
        return Ok(Box::new(arch.build(
            path,
            resnet::Residual::Spiking,
            neuron,
            &resnet_options,
        )?));
    }
    if let Some(arch) = name
        .strip_prefix("sew_")
        .and_then(|a| resnet::arch_named(a).ok())
    {
        return Ok(Box::new(arch.build(
            path,
            resnet::Residual::Sew(spec.cnf),
            neuron,
            &resnet_options,
        )?));
    }
    if let Some((_, cfg, bn)) = spiking_vgg::VGGS.iter().find(|v| v.0 == name) {
        let options = VGGOptions {
            num_classes: spec.num_classes,
            in_channels: spec.in_channels,
            ..Default::default()
        };
        return Ok(Box::new(SpikingVGG::new(path, cfg, *bn, neuron, &options)?));
    }
    if let Some((_, build, channels, in_channels, classes)) =
        parametric_lif_net::PLIF_NETS.iter().find(|p| p.0 == name)
    {
        if (spec.in_channels, spec.num_classes) != (*in_channels, *classes) {
            return Err(SjError::config(
                name,
                format!(
                    "takes {in_channels}-channel input and has {classes} classes, not {} and {}",
                    spec.in_channels, spec.num_classes
                ),
            ));
        }
        return Ok(Box::new(build(
            path,
            spec.channels.unwrap_or(*channels),
            neuron,
        )?));
    }
    Err(SjError::config(
        "model",
        format!(
            "unknown model '{name}'; the zoo has: {}",
            model_names().join(", ")
        ),
    ))
}

/// Builds a normalisation layer of `num_features` channels at a path: SpikingJelly's `norm_layer`
/// (default `layer.BatchNorm2d`). It must name its affine parameters `weight` and `bias`.
pub type NormLayer = fn(&nn::Path, i64) -> Result<Box<dyn Module>>;

/// The default [`NormLayer`]: `layer.BatchNorm2d(num_features)`.
pub fn batch_norm2d(path: &nn::Path, num_features: i64) -> Result<Box<dyn Module>> {
    Ok(Box::new(BatchNorm2d::new(path, num_features)?))
}

/// The children of a zoo network or block, by their SpikingJelly attribute names, run through
/// forward [`Hooks`] so that monitors see them.
#[derive(Debug, Default)]
struct Children {
    names: Vec<&'static str>,
    modules: Vec<Box<dyn Module>>,
    hooks: Hooks,
}

impl Children {
    fn push(&mut self, name: &'static str, module: Box<dyn Module>) {
        self.names.push(name);
        self.modules.push(module);
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|&n| n == name)
    }

    fn get(&self, name: &str) -> Option<&dyn Module> {
        self.index(name).map(|i| self.modules[i].as_ref())
    }

    /// Runs the child `name` (which the builder added) on `x`.
    fn call(&mut self, name: &str, x: &Tensor) -> Result<Tensor> {
        let i = self
            .index(name)
            .ok_or_else(|| SjError::config("model", format!("no child named '{name}'")))?;
        self.hooks.call(name, self.modules[i].as_mut(), x)
    }

    fn children(&self) -> Vec<(String, &dyn Module)> {
        self.names
            .iter()
            .zip(&self.modules)
            .map(|(n, m)| (n.to_string(), m.as_ref()))
            .collect()
    }

    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        self.names
            .iter()
            .zip(self.modules.iter_mut())
            .map(|(n, m)| (n.to_string(), m.as_mut() as &mut dyn Module))
            .collect()
    }

    fn child_slots_mut(&mut self) -> Vec<(String, &mut Box<dyn Module>)> {
        self.names
            .iter()
            .zip(self.modules.iter_mut())
            .map(|(n, m)| (n.to_string(), m))
            .collect()
    }
}

/// Implements the [`Module`] methods every zoo network shares over its `children: Children` and
/// `step_mode` fields (the networks have no step mode of their own: `set_step_mode` reaches the
/// layers).
macro_rules! zoo_common {
    () => {
        fn step_mode(&self) -> crate::base::StepMode {
            self.step_mode
        }
        fn step_mode_slot(&mut self) -> &mut crate::base::StepMode {
            &mut self.step_mode
        }
        fn children(&self) -> Vec<(String, &dyn Module)> {
            self.children.children()
        }
        fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
            self.children.children_mut()
        }
        fn child_slots_mut(&mut self) -> Vec<(String, &mut Box<dyn Module>)> {
            self.children.child_slots_mut()
        }
        fn hooks(&self) -> Option<&crate::base::Hooks> {
            Some(&self.children.hooks)
        }
    };
}
use zoo_common;

/// The tensor `name` of `module` (e.g. a layer's `weight`), sharing its storage.
fn tensor_of(module: &dyn Module, name: &str) -> Option<Tensor> {
    module
        .named_tensors()
        .into_iter()
        .find_map(|(n, t)| (n == name).then_some(t))
}

/// Fills `module`'s tensor `name` in place (no autograd), if it has one.
fn init_tensor(module: &dyn Module, name: &str, fill: impl FnOnce(&mut Tensor)) {
    if let Some(mut t) = tensor_of(module, name) {
        tch::no_grad(|| fill(&mut t));
    }
}

/// `nn.init.kaiming_normal_(weight, mode='fan_out', nonlinearity='relu')`:
/// `N(0, 2 / fan_out)` with `fan_out = weight.size(0) · ∏ weight.size(2..)`.
fn kaiming_normal_fan_out(module: &dyn Module) {
    init_tensor(module, "weight", |w| {
        let size = w.size();
        let fan_out = size[0] * size[2..].iter().product::<i64>();
        let _ = w.normal_(0.0, (2.0 / fan_out as f64).sqrt());
    });
}

/// `nn.init.constant_(weight, 1)`, `nn.init.constant_(bias, 0)` of a normalisation layer.
fn init_norm(module: &dyn Module) {
    init_tensor(module, "weight", |w| {
        let _ = w.fill_(1.0);
    });
    init_tensor(module, "bias", |b| {
        let _ = b.fill_(0.0);
    });
}

/// `torch.flatten(x, 1)` after a pooling in step mode `'s'`, `torch.flatten(x, 2)` in `'m'`.
fn flatten_after(pool: Option<&dyn Module>, x: &Tensor) -> Result<Tensor> {
    let start = match pool.map(|p| p.step_mode()) {
        Some(crate::base::StepMode::M) => 2,
        _ => 1,
    };
    Ok(x.f_flatten(start, -1)?)
}
