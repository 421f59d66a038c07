//! `activation_based.ann2snn` (inventory §2.9, tutorial T15): converting a trained ReLU network
//! into a rate-coded spiking network of IF neurons.
//!
//! An IF neuron with soft reset (`v_reset=None`), threshold 1 and constant input `z ∈ [0, 1]`
//! fires at the rate `r = z − (V_T − V_0)/T`, which tends to `ReLU(z)` as `T → ∞` (Rueckauer et
//! al. 2017). [`Converter`] therefore
//! 1. folds each `Conv{1,2,3}d` followed by its `BatchNorm{1,2,3}d` into one convolution
//!    ([`Converter::fuse`]; the BatchNorm's place keeps an `Identity`, so the other modules keep
//!    their names),
//! 2. puts a [`VoltageHook`] after every `ReLU` module ([`Converter::set_voltagehook`]) and runs
//!    the calibration data through the network (eval mode) to record each ReLU's scale `s`,
//! 3. replaces each `ReLU` by `Sequential(VoltageScaler(1/s), IFNode(v_threshold=1.0,
//!    v_reset=None), VoltageScaler(s))` ([`Converter::replace_by_ifnode`]; SpikingJelly puts these
//!    triples under a top-level `snn tailor` module of its fx graph, sj in the ReLU's place).
//!
//! sj has no `torch.fx`: it converts networks built from sj's containers (`Sequential`, nested,
//! and the step-mode containers) of `Linear`, `Conv1d`-`Conv3d`, `BatchNorm1d`-`BatchNorm3d`,
//! `AvgPool`/`AdaptiveAvgPool`, `Flatten`, `Dropout` (an identity in eval mode), `Identity` and
//! `ReLU` modules. Anything else is an error naming the module and where it is: `MaxPool` (a max
//! over spikes is not the max of the rates; SpikingJelly has no good solution for it either), a
//! spiking neuron, or a custom module (whose `forward` may apply a ReLU as a function, which no
//! converter can see). The converted network is single-step: run it `T` times on the same input
//! and sum the outputs ([`val`]).
//!
//! ```no_run
//! use sj::ann2snn::{sample_models, val, Converter};
//! use sj::prelude::*;
//! # fn main() -> sj::Result<()> {
//! # let (train, test): (sj::datasets::DataLoader, sj::datasets::DataLoader) = todo!();
//! let vs = nn::VarStore::new(Device::Cpu);
//! let ann = sample_models::mnist_cnn(&vs.root())?; // ... trained
//! let mut snn = Converter::new("99.9%")?.convert(ann, &train)?;
//! let accuracy_per_step = val(&mut snn, &test, 50)?; // accuracy after 1..=50 steps
//! # Ok(()) }
//! ```
mod modules;
pub mod sample_models;
#[cfg(test)]
mod tests;

pub use modules::{VoltageHook, VoltageScaler};

use crate::base::{Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::{fuse_conv_bn_eval, reset_net, set_training, state_dict};
use crate::layer::{BatchNormNd, ConvNd, Identity, ReLU, Sequential};
use crate::neuron::{IFNode, NodeOptions};
use sj_datasets::DataLoader;
use std::fmt;
use std::str::FromStr;
use tch::{Device, Kind, Tensor};

/// How a [`VoltageHook`] turns a batch of activations into a scale (`mode=` of `Converter`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// `'max'` (MaxNorm): the largest activation.
    Max,
    /// `'p%'` (RobustNorm with `'99.9%'`): the p-th percentile, `p` in [0, 100].
    Percentile(f64),
    /// A number in (0, 1]: that fraction of the largest activation.
    Fraction(f64),
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Max => write!(f, "max"),
            Mode::Percentile(p) => write!(f, "{p}%"),
            Mode::Fraction(x) => write!(f, "{x}"),
        }
    }
}

const MODE_HELP: &str =
    "use 'max', a percentile such as '99.9%', or a fraction of the max in (0, 1] such as 0.5";

impl FromStr for Mode {
    type Err = SjError;
    /// `"max"` (any case), `"99.9%"`, or a number in (0, 1] such as `"0.5"`.
    fn from_str(s: &str) -> Result<Mode> {
        let bad = || SjError::config("Converter", format!("mode '{s}' is not known: {MODE_HELP}"));
        let t = s.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Mode::Max);
        }
        match t.strip_suffix('%') {
            Some(p) => Mode::Percentile(p.trim().parse().map_err(|_| bad())?),
            None => Mode::Fraction(t.parse().map_err(|_| bad())?),
        }
        .checked()
    }
}

impl Mode {
    /// `mode=fraction`: a number in (0, 1].
    pub fn fraction(fraction: f64) -> Result<Mode> {
        Mode::Fraction(fraction).checked()
    }

    /// The mode if its number is in range (a percentile in [0, 100], a fraction in (0, 1]).
    fn checked(self) -> Result<Mode> {
        match self {
            Mode::Max => Ok(self),
            Mode::Percentile(p) if (0.0..=100.0).contains(&p) => Ok(self),
            Mode::Fraction(f) if f > 0.0 && f <= 1.0 => Ok(self),
            _ => Err(SjError::config(
                "Converter",
                format!("mode {self} is out of range: {MODE_HELP}"),
            )),
        }
    }
}

/// What [`Converter::new`] accepts as its mode: `"max"`, `"99.9%"`, a fraction such as `1.0 / 3.0`,
/// or a [`Mode`].
pub trait IntoMode {
    /// The mode, or an error saying what is accepted.
    fn into_mode(self) -> Result<Mode>;
}

impl IntoMode for Mode {
    fn into_mode(self) -> Result<Mode> {
        self.checked()
    }
}

impl IntoMode for &str {
    fn into_mode(self) -> Result<Mode> {
        self.parse()
    }
}

impl IntoMode for f64 {
    fn into_mode(self) -> Result<Mode> {
        Mode::fraction(self)
    }
}

/// The calibration data of [`Converter::convert`] (SpikingJelly's `dataloader`, any iterable): a
/// [`DataLoader`] (its inputs, epoch 0's order; the labels are not used) or ready-made input batches
/// (`Vec<Tensor>`, `[Tensor]`).
pub trait Calibration {
    /// The input batches, in order.
    fn batches(&self) -> Box<dyn Iterator<Item = Result<Tensor>> + '_>;
}

impl Calibration for DataLoader {
    fn batches(&self) -> Box<dyn Iterator<Item = Result<Tensor>> + '_> {
        Box::new(
            self.iter(0)
                .map(|b| b.map(|(x, _)| x).map_err(SjError::from)),
        )
    }
}

impl Calibration for [Tensor] {
    fn batches(&self) -> Box<dyn Iterator<Item = Result<Tensor>> + '_> {
        Box::new(self.iter().map(|x| Ok(x.shallow_clone())))
    }
}

impl Calibration for Vec<Tensor> {
    fn batches(&self) -> Box<dyn Iterator<Item = Result<Tensor>> + '_> {
        self.as_slice().batches()
    }
}

/// `Converter(dataloader, mode='Max', momentum=0.1, fuse_flag=True)`: converts a ReLU network into
/// a spiking one (see the [module documentation](self)). The calibration data is given to
/// [`Converter::convert`].
#[derive(Clone, Debug)]
pub struct Converter {
    mode: Mode,
    momentum: f64,
    fuse_flag: bool,
}

impl Converter {
    /// A converter with `momentum=0.1` and `fuse_flag=True`; errors on a mode that is not `'max'`,
    /// a percentile in [0, 100] or a fraction in (0, 1].
    pub fn new(mode: impl IntoMode) -> Result<Self> {
        Ok(Converter {
            mode: mode.into_mode()?,
            momentum: 0.1,
            fuse_flag: true,
        })
    }

    /// `momentum=` of the hooks' running scale, in [0, 1] (checked by `convert`).
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// `fuse_flag=`: fold Conv+BatchNorm pairs (default true).
    pub fn with_fuse_flag(mut self, fuse_flag: bool) -> Self {
        self.fuse_flag = fuse_flag;
        self
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Converts `ann`: checks that every module can be converted, switches it to eval mode, folds
    /// Conv+BatchNorm pairs (with `fuse_flag`), runs every batch of `calibration` ([`Calibration`]:
    /// a `DataLoader` or a `Vec<Tensor>` of inputs) through it, on the network's device, with
    /// a hook after each ReLU, and replaces each ReLU by its scaled IF neuron. The network is
    /// consumed (its fused convolutions hold new tensors; the VarStore it was built in keeps the
    /// trained values, so rebuild and copy to convert the same weights again). The result is in
    /// step mode `s`.
    pub fn convert<M: Module>(
        &self,
        mut ann: M,
        calibration: &(impl Calibration + ?Sized),
    ) -> Result<M> {
        modules::check_momentum(self.momentum)?;
        check_convertible(&mut ann, "")?;
        set_training(&mut ann, false);
        Self::fuse(&mut ann, self.fuse_flag)?;
        Self::set_voltagehook(&mut ann, self.mode, self.momentum)?;
        let device = network_device(&ann);
        tch::no_grad(|| -> Result<()> {
            for x in calibration.batches() {
                let _ = ann.forward(&x?.to_device(device))?;
            }
            Ok(())
        })?;
        Self::replace_by_ifnode(&mut ann)?;
        crate::functional::set_step_mode(&mut ann, StepMode::S)?;
        Ok(ann)
    }

    /// `Converter.fuse(model, fuse_flag)`: replaces each `Conv{1,2,3}d` directly followed by a
    /// `BatchNorm{1,2,3}d` in a container by their fold ([`fuse_conv_bn_eval`]) and the BatchNorm
    /// by an `Identity`. Returns the number of pairs folded (0 without `fuse_flag`).
    pub fn fuse(net: &mut dyn Module, fuse_flag: bool) -> Result<usize> {
        if !fuse_flag {
            return Ok(0);
        }
        let mut folded = 0;
        let mut slots = net.child_slots_mut();
        for i in 0..slots.len() {
            if i + 1 < slots.len() {
                if let Some(conv) = fold_pair(slots[i].1.as_ref(), slots[i + 1].1.as_ref())? {
                    *slots[i].1 = conv;
                    *slots[i + 1].1 = Box::new(Identity::new());
                    folded += 1;
                }
            }
            folded += Self::fuse(slots[i].1.as_mut(), true)?;
        }
        Ok(folded)
    }

    /// `Converter.set_voltagehook(model, mode, momentum)`: puts a [`VoltageHook`] after every
    /// `ReLU` module. Returns the number of hooks.
    pub fn set_voltagehook(net: &mut dyn Module, mode: Mode, momentum: f64) -> Result<usize> {
        let mut hooks = 0;
        for (_, slot) in net.child_slots_mut() {
            if is::<ReLU>(slot.as_ref()) {
                *slot = Box::new(HookedReLU {
                    relu: ReLU::new(),
                    hook: VoltageHook::new(mode, momentum)?,
                });
                hooks += 1;
            } else {
                hooks += Self::set_voltagehook(slot.as_mut(), mode, momentum)?;
            }
        }
        Ok(hooks)
    }

    /// `Converter.replace_by_ifnode(model)`: replaces each ReLU and its hook (scale `s`) by
    /// `Sequential(VoltageScaler(1/s), IFNode(v_threshold=1.0, v_reset=None), VoltageScaler(s))`.
    /// Errors, naming the ReLU, when a scale is not a finite positive number (a ReLU that never
    /// fired during calibration). Returns the number of ReLUs replaced.
    pub fn replace_by_ifnode(net: &mut dyn Module) -> Result<usize> {
        replace_hooked(net, "")
    }
}

fn replace_hooked(net: &mut dyn Module, prefix: &str) -> Result<usize> {
    let mut replaced = 0;
    for (name, slot) in net.child_slots_mut() {
        let path = join(prefix, &name);
        let scale = slot
            .as_any()
            .and_then(|a| a.downcast_ref::<HookedReLU>())
            .map(|h| h.hook.scale().double_value(&[]));
        match scale {
            Some(s) if s.is_finite() && s > 0.0 => {
                *slot = Box::new(
                    Sequential::new()
                        .add(VoltageScaler::new(1.0 / s))
                        .add(IFNode::new().with_v_reset(None))
                        .add(VoltageScaler::new(s)),
                );
                replaced += 1;
            }
            Some(s) => {
                return Err(SjError::config(
                    "Converter",
                    format!(
                        "the ReLU at '{path}' has the scale {s} after calibration (it never fired, \
                         or its input was not finite); calibrate with data that activates it"
                    ),
                ))
            }
            None => replaced += replace_hooked(slot.as_mut(), &path)?,
        }
    }
    Ok(replaced)
}

/// A ReLU followed by its hook: what [`Converter::set_voltagehook`] puts in a ReLU's place.
#[derive(Debug)]
struct HookedReLU {
    relu: ReLU,
    hook: VoltageHook,
}

impl Module for HookedReLU {
    fn type_name(&self) -> &'static str {
        "HookedReLU"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let y = self.relu.forward(x)?;
        self.hook.forward(&y)
    }
    fn step_mode(&self) -> StepMode {
        self.relu.step_mode()
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        self.relu.step_mode_slot()
    }
    fn extra_repr(&self) -> String {
        String::new()
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("0".into(), &self.relu), ("1".into(), &self.hook)]
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("0".into(), &mut self.relu), ("1".into(), &mut self.hook)]
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

fn is<T: 'static>(m: &dyn Module) -> bool {
    m.as_any().is_some_and(|a| a.is::<T>())
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The fold of `conv` followed by `bn` when they are a convolution and the batch norm of the same
/// dimension, else `None`.
fn fold_pair(conv: &dyn Module, bn: &dyn Module) -> Result<Option<Box<dyn Module>>> {
    fn fold<const D: usize>(conv: &dyn Module, bn: &dyn Module) -> Option<Result<Box<dyn Module>>> {
        let conv = conv.as_any()?.downcast_ref::<ConvNd<D, false>>()?;
        let bn = bn.as_any()?.downcast_ref::<BatchNormNd<D>>()?;
        Some(fuse_conv_bn_eval(conv, bn).map(|c| Box::new(c) as Box<dyn Module>))
    }
    fold::<1>(conv, bn)
        .or_else(|| fold::<2>(conv, bn))
        .or_else(|| fold::<3>(conv, bn))
        .transpose()
}

/// The leaf modules a ReLU network may hold.
const CONVERTIBLE: &[&str] = &[
    "Linear",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "Flatten",
    "Dropout",
    "Dropout2d",
    "Identity",
    "ReLU",
];

/// Errors, naming the module and its path, for anything the converter cannot rewrite.
fn check_convertible(net: &mut dyn Module, path: &str) -> Result<()> {
    let name = net.type_name();
    let shown = if path.is_empty() {
        "the network's root".to_string()
    } else {
        format!("'{path}'")
    };
    let children = net.children().len();
    if children == 0 {
        if name == "ReLU" && path.is_empty() {
            return Err(SjError::config(
                "Converter",
                "the network is a single ReLU: put it in a Sequential",
            ));
        }
        if CONVERTIBLE.contains(&name) {
            return Ok(());
        }
        let why = if let Some(dims) = name.strip_prefix("MaxPool") {
            format!(
                "{name} at {shown} cannot be converted: the max of spike trains is not the max of \
                 their rates (SpikingJelly's ann2snn has no good solution either); train the ANN \
                 with AvgPool{dims} instead"
            )
        } else {
            format!(
                "{name} at {shown} cannot be converted: ann2snn converts ReLU networks of Linear, \
                 Conv, BatchNorm, AvgPool, AdaptiveAvgPool, Flatten, Dropout, Identity and ReLU \
                 modules in containers (a ReLU applied as a function inside a custom module's \
                 forward cannot be found: use the ReLU module)"
            )
        };
        return Err(SjError::config("Converter", why));
    }
    let mut slots = net.child_slots_mut();
    if slots.len() != children {
        return Err(SjError::config(
            "Converter",
            format!(
                "{name} at {shown} cannot be converted: its children cannot be replaced (build \
                 the network from Sequential containers)"
            ),
        ));
    }
    for (child, slot) in slots.iter_mut() {
        check_convertible(slot.as_mut(), &join(path, child))?;
    }
    Ok(())
}

/// The device of the network's first parameter or buffer (the CPU for a network without any).
fn network_device(net: &dyn Module) -> Device {
    state_dict(net)
        .first()
        .map_or(Device::Cpu, |(_, t)| t.device())
}

/// `val(net, data_loader, T)` of SpikingJelly's ann2snn examples: the accuracy over `loader`
/// after each of `t` steps, `[acc after 1 step, ..., acc after t steps]`, with the outputs of the
/// steps summed and the network reset before each batch (no gradients; eval mode). With `t = 1`
/// it is the accuracy of an ANN.
pub fn val(net: &mut dyn Module, loader: &DataLoader, t: usize) -> Result<Vec<f64>> {
    if t == 0 {
        return Err(SjError::config("val", "T must be at least 1"));
    }
    set_training(net, false);
    let device = network_device(net);
    let mut correct = vec![0i64; t];
    let mut total = 0i64;
    tch::no_grad(|| -> Result<()> {
        for batch in loader.iter(0) {
            let (x, y) = batch?;
            let (x, y) = (x.to_device(device), y.to_device(device));
            reset_net(net);
            let mut out: Option<Tensor> = None;
            for c in correct.iter_mut() {
                let step = net.forward(&x)?;
                let sum = match out {
                    Some(o) => o + step,
                    None => step,
                };
                *c += sum
                    .argmax(1, false)
                    .eq_tensor(&y)
                    .sum(Kind::Int64)
                    .int64_value(&[]);
                out = Some(sum);
            }
            total += y.size().first().copied().unwrap_or(0);
        }
        Ok(())
    })?;
    reset_net(net);
    if total == 0 {
        return Err(SjError::config("val", "the data loader gave no samples"));
    }
    Ok(correct.iter().map(|&c| c as f64 / total as f64).collect())
}
