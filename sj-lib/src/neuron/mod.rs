//! `activation_based.neuron`: spiking neurons (inventory §1.10, §2.2).
//!
//! Every neuron is a [`Neuron`]: it owns a [`BaseNode`] (threshold, reset, surrogate, step mode,
//! membrane potential `v`) and supplies its charge equation `H[t] = f(V[t-1], X[t])`. Fire
//! (`S = Θ(H − V_th)` with the surrogate gradient) and reset (hard or soft) are shared, and every
//! neuron is a [`Module`] through a blanket implementation.
//!
//! ```
//! use sj::prelude::*;
//! let mut lif = LIFNode::new(2.0).unwrap().with_step_mode(StepMode::M);
//! let x = Tensor::full([4, 1], 1.5, (Kind::Float, Device::Cpu));
//! let s = lif.forward(&x).unwrap();
//! // v: 0.75 -> 1.125 fires (reset to 0) -> 0.75 -> 1.125 fires
//! assert_eq!(Vec::<f32>::try_from(&s.flatten(0, -1)).unwrap(), vec![0.0, 1.0, 0.0, 1.0]);
//! ```
mod adaptive;
pub mod check;
mod eif;
mod if_node;
mod klif;
mod liaf;
mod lif;
mod plif;
mod qif;

pub use adaptive::IzhikevichNode;
pub use eif::EIFNode;
pub use if_node::IFNode;
pub use klif::KLIFNode;
pub use liaf::LIAFNode;
pub use lif::LIFNode;
pub use plif::ParametricLIFNode;
pub use qif::QIFNode;

use crate::base::{check_dims, check_float, Backend, Memory, Module, NamedTensor, StepMode};
use crate::error::{torch_guard, Result, SjError};
use crate::functional::step_by_step;
use crate::surrogate::Surrogate;
pub use sj_kernels::{Charge, ChargeRef};
use sj_kernels::{Firing, NeuronConfig};
use std::fmt;
use tch::Tensor;

/// The state and options every neuron shares (`BaseNode`).
#[derive(Debug)]
pub struct BaseNode {
    /// `v_threshold` (default 1.0).
    pub v_threshold: f64,
    /// `v_reset` (default `Some(0.0)`); `None` is the soft reset `V = H − V_th·S`.
    pub v_reset: Option<f64>,
    /// The surrogate used by `neuronal_fire` (default `Sigmoid(alpha=4.0)`).
    pub surrogate_function: Surrogate,
    /// Detach the spike inside the reset (no gradient through the reset path).
    pub detach_reset: bool,
    /// Keep `v_seq` (`[T, N, *]`) in multi-step mode.
    pub store_v_seq: bool,
    /// The membrane potential memory `v`.
    pub v: Memory,
    /// `V[t]` for every t of the last multi-step call, when `store_v_seq`.
    pub v_seq: Option<Tensor>,
    step_mode: StepMode,
    backend: Backend,
}

impl Default for BaseNode {
    fn default() -> Self {
        BaseNode {
            v_threshold: 1.0,
            v_reset: Some(0.0),
            surrogate_function: Surrogate::default(),
            detach_reset: false,
            store_v_seq: false,
            v: Memory::Float(0.0),
            v_seq: None,
            step_mode: StepMode::S,
            backend: Backend::Auto,
        }
    }
}

impl BaseNode {
    /// The reset value of `v`: `v_reset`, or 0.0 for the soft reset.
    pub fn v_init(&self) -> f64 {
        self.v_reset.unwrap_or(0.0)
    }

    /// `neuronal_fire`: `surrogate_function(h − v_threshold)`.
    pub fn fire(&self, h: &Tensor) -> Tensor {
        self.surrogate_function.forward(&(h - self.v_threshold))
    }

    /// `neuronal_reset`: hard `(1 − S)·H + S·V_reset` or soft `H − S·V_th`, with the spike
    /// detached when `detach_reset`.
    pub fn reset_potential(&self, h: &Tensor, spike: &Tensor) -> Tensor {
        let spike_d = if self.detach_reset {
            spike.detach()
        } else {
            spike.shallow_clone()
        };
        match self.v_reset {
            None => h - spike_d * self.v_threshold,
            Some(r) => (1.0 - &spike_d) * h + spike_d * r,
        }
    }

    /// The common part of `extra_repr`.
    pub fn repr(&self) -> String {
        let v_reset = self
            .v_reset
            .map_or("None".to_string(), |r| format!("{r:?}"));
        let py = |b: bool| if b { "True" } else { "False" };
        format!(
            "v_threshold={:?}, v_reset={v_reset}, detach_reset={}, step_mode={}, backend={}",
            self.v_threshold,
            py(self.detach_reset),
            self.step_mode,
            self.backend
        )
    }
}

/// A spiking neuron: a [`BaseNode`] plus a charge equation. Implement this (usually just
/// [`Neuron::neuronal_charge`]) to define a new neuron, like the tutorial's `SquareIFNode`.
pub trait Neuron: fmt::Debug + Send {
    /// The SpikingJelly class name, e.g. `"LIFNode"`.
    fn type_name(&self) -> &'static str;
    /// The shared state and options.
    fn node(&self) -> &BaseNode;
    /// The shared state and options, mutably.
    fn node_mut(&mut self) -> &mut BaseNode;
    /// `neuronal_charge`: `H[t] = f(V[t−1], X[t])`.
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor;
    /// Neuron-specific repr arguments, e.g. `tau=2.0`.
    fn neuron_repr(&self) -> String {
        String::new()
    }
    /// Learnable parameters by SpikingJelly name (`w` of PLIF, `k` of KLIF).
    fn parameters(&self) -> Vec<NamedTensor> {
        Vec::new()
    }
    /// Extra memories beyond `v` (the adaptation current `w` of Izhikevich).
    fn extra_memories(&self) -> Vec<(String, Option<Tensor>)> {
        Vec::new()
    }
    /// The fused kernel of this neuron, if it has one: its charge (any [`Charge`], e.g.
    /// `Arc::new(MyCharge { .. })`) and, for a charge with a learnable decay (ParametricLIF), the
    /// decay `k` as a scalar tensor. A neuron that returns one runs fused by default
    /// (`Backend::Auto`) for float32 sequences, on CPU and CUDA.
    fn fused(&self) -> Option<(ChargeRef, Option<Tensor>)> {
        None
    }
    /// The second state variable that a fused kernel carries beside `v` (Izhikevich's adaptation
    /// current `w`), broadcast like `like`; `None` for one-variable neurons.
    fn fused_extra_state(&mut self, _like: &Tensor) -> Result<Option<Tensor>> {
        Ok(None)
    }
    /// Keeps the second state variable that the fused kernel returned.
    fn set_fused_extra_state(&mut self, _state: Tensor) {}
    /// Checks options that depend on each other (QIF/EIF need `v_threshold > v_reset` and
    /// `v_rest >= v_reset`); called before every forward.
    fn check_config(&self) -> Result<()> {
        Ok(())
    }
    /// Resets extra memories.
    fn reset_extra(&mut self) {}
    /// Detaches extra memories.
    fn detach_extra(&mut self) {}
    /// One time step: charge, fire, reset; returns the spike (`single_step_forward`).
    fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let name = self.type_name();
        let v = self.node_mut().v.to_tensor_like(name, x)?;
        let h = self.neuronal_charge(x, &v);
        let spike = self.node().fire(&h);
        let v = self.node().reset_potential(&h, &spike);
        self.node_mut().v = Memory::Tensor(v);
        Ok(spike)
    }
}

/// The options every neuron shares (`BaseNode`'s keyword arguments) as data: read them with
/// [`BaseNode::config`], apply them with [`NodeOptions::with_config`], and keep them in run records
/// (`Serialize + Deserialize`).
///
/// ```
/// use sj::prelude::*;
/// use sj::neuron::NodeConfig;
/// let lif = LIFNode::new(2.0).unwrap().with_v_reset(None).with_step_mode(StepMode::M);
/// let json = serde_json::to_string(&lif.node().config()).unwrap();
/// assert_eq!(json, r#"{"v_threshold":1.0,"v_reset":null,"surrogate_function":{"function":"Sigmoid","params":{"alpha":4.0},"spiking":true},"detach_reset":false,"store_v_seq":false,"step_mode":"m","backend":"auto"}"#);
/// let config: NodeConfig = serde_json::from_str(&json).unwrap();
/// let if_node = IFNode::new().with_config(config.clone()).unwrap();
/// assert_eq!(if_node.node().config(), config);
/// let fused = NodeConfig { backend: Backend::Fused, step_mode: StepMode::S, ..config };
/// assert!(IFNode::new().with_config(fused).is_err(), "fused needs step_mode m");
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// `v_threshold`.
    pub v_threshold: f64,
    /// `v_reset`; `None` is the soft reset.
    pub v_reset: Option<f64>,
    /// `surrogate_function`.
    pub surrogate_function: Surrogate,
    /// `detach_reset`.
    pub detach_reset: bool,
    /// `store_v_seq`.
    pub store_v_seq: bool,
    /// `step_mode`.
    pub step_mode: StepMode,
    /// `backend`.
    pub backend: Backend,
}

impl BaseNode {
    /// The shared options as a [`NodeConfig`].
    pub fn config(&self) -> NodeConfig {
        NodeConfig {
            v_threshold: self.v_threshold,
            v_reset: self.v_reset,
            surrogate_function: self.surrogate_function.clone(),
            detach_reset: self.detach_reset,
            store_v_seq: self.store_v_seq,
            step_mode: self.step_mode,
            backend: self.backend,
        }
    }
}

/// Builder-style options shared by every neuron (the `BaseNode` keyword arguments).
pub trait NodeOptions: Neuron + Sized {
    /// `v_threshold=`.
    fn with_v_threshold(mut self, v_threshold: f64) -> Self {
        self.node_mut().v_threshold = v_threshold;
        self
    }
    /// `v_reset=`; `None` selects the soft reset. Also sets the reset value of `v`.
    fn with_v_reset(mut self, v_reset: Option<f64>) -> Self {
        let node = self.node_mut();
        node.v_reset = v_reset;
        node.v = Memory::Float(node.v_init());
        self
    }
    /// `surrogate_function=`.
    fn with_surrogate(mut self, surrogate: Surrogate) -> Self {
        self.node_mut().surrogate_function = surrogate;
        self
    }
    /// `detach_reset=`.
    fn with_detach_reset(mut self, detach_reset: bool) -> Self {
        self.node_mut().detach_reset = detach_reset;
        self
    }
    /// `step_mode=` (neurons support both modes).
    fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.node_mut().step_mode = step_mode;
        self
    }
    /// `store_v_seq=`.
    fn with_store_v_seq(mut self, store_v_seq: bool) -> Self {
        self.node_mut().store_v_seq = store_v_seq;
        self
    }
    /// Every shared option at once, from a [`NodeConfig`] (a run record). The backend is set
    /// last, as [`Module::set_backend`] does: a backend this neuron does not support in this step
    /// mode is an error naming both. The other values are checked before each forward, as always.
    fn with_config(self, config: NodeConfig) -> Result<Self> {
        let mut n = self
            .with_v_threshold(config.v_threshold)
            .with_v_reset(config.v_reset)
            .with_surrogate(config.surrogate_function)
            .with_detach_reset(config.detach_reset)
            .with_step_mode(config.step_mode)
            .with_store_v_seq(config.store_v_seq);
        Module::set_backend(&mut n, config.backend)?;
        Ok(n)
    }
}

impl<N: Neuron + Sized> NodeOptions for N {}

/// Runs `single_step_forward` over `x_seq[t]` and stacks the spikes (`multi_step_forward`),
/// filling `v_seq` when `store_v_seq`.
fn multi_step_forward<N: Neuron + ?Sized>(n: &mut N, x_seq: &Tensor) -> Result<Tensor> {
    let store = n.node().store_v_seq;
    if let Some(spikes) = fused_forward(n, x_seq, store)? {
        return Ok(spikes);
    }
    let mut vs = Vec::new();
    let spikes = step_by_step(n.type_name(), x_seq, |x| {
        let spike = n.single_step_forward(x)?;
        if store {
            vs.extend(n.node().v.tensor().map(Tensor::shallow_clone));
        }
        Ok(spike)
    })?;
    if store {
        n.node_mut().v_seq = Some(Tensor::stack(&vs, 0));
    }
    Ok(spikes)
}

/// The whole sequence in one fused kernel (CPU or CUDA by the input's device), when the backend
/// asks for it (`fused`/`cuda`) or allows it (`auto`: a dtype the kernels take, see
/// [`sj_kernels::supports`], a neuron with a kernel, a spiking surrogate). `Ok(None)` means: use the op-by-op loop. `store_v_seq` keeps `v_seq`.
fn fused_forward<N: Neuron + ?Sized>(
    n: &mut N,
    x_seq: &Tensor,
    store_v_seq: bool,
) -> Result<Option<Tensor>> {
    let name = n.type_name();
    let backend = n.node().backend;
    if backend == Backend::Torch {
        return Ok(None);
    }
    let explicit = backend != Backend::Auto;
    let refuse = |why: String| {
        if explicit {
            Err(SjError::Backend {
                module: name.into(),
                expected: format!("'torch' ({why})"),
                got: backend.to_string(),
            })
        } else {
            Ok(None)
        }
    };
    let Some((charge, decay)) = n.fused() else {
        return refuse("no fused kernel for this neuron".into());
    };
    if !sj_kernels::supports(x_seq) {
        return refuse(format!(
            "fused kernels take float32 (float16 and bfloat16 on CUDA), got {:?} on {:?}",
            x_seq.kind(),
            x_seq.device()
        ));
    }
    if !n.node().surrogate_function.spiking {
        return refuse("the surrogate is not spiking".into());
    }
    if backend == Backend::Cuda && x_seq.device() == tch::Device::Cpu {
        return Err(SjError::Backend {
            module: name.into(),
            expected: "'cuda' with CUDA tensors".into(),
            got: "a CPU tensor".into(),
        });
    }
    check_dims(name, x_seq, 2, "[T, N, *] in step mode 'm'")?;
    let steps = x_seq.size()[0];
    if steps == 0 {
        return Err(SjError::Shape {
            module: name.into(),
            expected: "[T, N, *] with T > 0".into(),
            got: x_seq.size(),
        });
    }
    let first = x_seq.get(0);
    let v_init = n.node_mut().v.to_tensor_like(name, &first)?;
    let node = n.node();
    let firing = Firing {
        v_threshold: node.v_threshold,
        v_reset: node.v_reset,
        detach_reset: node.detach_reset,
        surrogate: node.surrogate_function.function.clone(),
    };
    let cfg = NeuronConfig::new(charge, firing).with_store_v_seq(store_v_seq);
    // Two state variables travel as one [2, *] state (V, then W).
    let extra = n.fused_extra_state(&first)?;
    if extra.is_some() && store_v_seq {
        return refuse("store_v_seq with two state variables".into());
    }
    let state = match &extra {
        Some(w) => Tensor::stack(&[&v_init, w], 0),
        None => v_init,
    };
    let (spikes, v) = sj_kernels::fused_neuron(&cfg, x_seq, &state, decay.as_ref())
        .map_err(|e| SjError::kernel(name, e))?;
    if extra.is_some() {
        n.node_mut().v = Memory::Tensor(v.get(0));
        n.set_fused_extra_state(v.get(1));
        return Ok(Some(spikes));
    }
    let node = n.node_mut();
    if store_v_seq {
        node.v = Memory::Tensor(v.get(steps - 1));
        node.v_seq = Some(v);
    } else {
        node.v = Memory::Tensor(v);
    }
    Ok(Some(spikes))
}

impl<N: Neuron> Module for N {
    fn type_name(&self) -> &'static str {
        Neuron::type_name(self)
    }

    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        torch_guard(Neuron::type_name(self), || neuron_forward(self, x))
    }

    fn step_mode(&self) -> StepMode {
        self.node().step_mode
    }

    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.node_mut().step_mode
    }

    fn backend(&self) -> Backend {
        self.node().backend
    }

    fn supported_backends(&self) -> Vec<Backend> {
        let mut b = vec![Backend::Auto, Backend::Torch];
        if self.fused().is_some() && self.node().step_mode == StepMode::M {
            b.push(Backend::Fused);
            if crate::device::cuda_available() {
                b.push(Backend::Cuda);
            }
        }
        b
    }

    fn set_backend(&mut self, backend: Backend) -> Result<()> {
        let supported = self.supported_backends();
        if !supported.contains(&backend) {
            let expected = supported
                .iter()
                .map(|b| format!("'{b}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(SjError::Backend {
                module: Neuron::type_name(self).into(),
                expected,
                got: backend.to_string(),
            });
        }
        self.node_mut().backend = backend;
        Ok(())
    }

    fn is_stateful(&self) -> bool {
        true
    }

    fn reset(&mut self) {
        let node = self.node_mut();
        node.v = Memory::Float(node.v_init());
        node.v_seq = None;
        self.reset_extra();
    }

    fn detach(&mut self) {
        let node = self.node_mut();
        node.v.detach();
        if let Some(v_seq) = node.v_seq.as_mut() {
            *v_seq = v_seq.detach();
        }
        self.detach_extra();
    }

    fn memories(&self) -> Vec<(String, Option<Tensor>)> {
        let node = self.node();
        let mut m = vec![("v".to_string(), node.v.tensor().map(Tensor::shallow_clone))];
        if node.store_v_seq {
            m.push((
                "v_seq".to_string(),
                node.v_seq.as_ref().map(Tensor::shallow_clone),
            ));
        }
        m.extend(self.extra_memories());
        m
    }

    fn named_tensors(&self) -> Vec<NamedTensor> {
        self.parameters()
    }

    fn extra_repr(&self) -> String {
        let extra = self.neuron_repr();
        if extra.is_empty() {
            self.node().repr()
        } else {
            format!("{}, {extra}", self.node().repr())
        }
    }
}

/// One forward of a neuron (run inside [`torch_guard`]): the checks, then the fused kernel or the
/// op-by-op step.
fn neuron_forward<N: Neuron>(n: &mut N, x: &Tensor) -> Result<Tensor> {
    let name = Neuron::type_name(n);
    check_float(name, x)?;
    check_neuron(n)?;
    match n.node().step_mode {
        StepMode::S => {
            check_dims(name, x, 1, "[N, *] in step mode 's'")?;
            // `auto`: one step of the fused kernel is one autograd node instead of a dozen ops.
            if n.node().backend == Backend::Auto {
                if let Some(spike) = fused_forward(n, &x.unsqueeze(0), false)? {
                    return Ok(spike.squeeze_dim(0));
                }
            }
            n.single_step_forward(x)
        }
        StepMode::M => multi_step_forward(n, x),
    }
}

/// Checks a neuron before a forward: its fused kernel's constants ([`Charge::check`]), a
/// finite threshold and reset and the surrogate's parameters ([`sj_kernels::check_firing`]), then
/// its own [`Neuron::check_config`]. Public fields changed after construction are caught here.
fn check_neuron<N: Neuron + ?Sized>(n: &N) -> Result<()> {
    let bad = |e: String| SjError::config(n.type_name(), e);
    if let Some((charge, _)) = n.fused() {
        charge.check().map_err(bad)?;
    }
    let node = n.node();
    sj_kernels::check_firing(
        node.v_threshold,
        node.v_reset,
        node.surrogate_function.function.as_ref(),
    )
    .map_err(bad)?;
    n.check_config()
}

/// Checks `v_threshold > v_reset` and `v_rest >= v_reset` for a hard reset (QIF, EIF).
pub(crate) fn check_rest_and_reset(module: &str, node: &BaseNode, v_rest: f64) -> Result<()> {
    match node.v_reset {
        Some(r) if !(node.v_threshold > r && v_rest >= r) => Err(SjError::config(
            module,
            format!("needs v_threshold > v_reset and v_rest >= v_reset, got v_threshold={}, v_rest={v_rest}, v_reset={r}", node.v_threshold),
        )),
        _ => Ok(()),
    }
}

/// Checks a time constant (`tau > 1`), naming the neuron.
pub(crate) fn check_tau(module: &str, name: &str, tau: f64) -> Result<()> {
    match (tau > 1.0, tau.is_finite()) {
        (true, true) => Ok(()),
        (true, false) => Err(SjError::config(
            module,
            format!("{name} must be finite, got {tau}"),
        )),
        _ => Err(SjError::config(
            module,
            format!("{name} must be > 1, got {tau}"),
        )),
    }
}

#[cfg(test)]
mod tests;
