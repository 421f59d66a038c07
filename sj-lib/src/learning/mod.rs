//! `activation_based.learning`: spike-timing-dependent plasticity (STDP) and its reward-modulated
//! forms (MSTDP, MSTDPET), as functions on spikes and as learners that record a layer's input and
//! a neuron's output through monitors (inventory §2.8, checklist 136-146).
//!
//! The rules follow SpikingJelly 0.0.0.0.14's formulas exactly (checked against its outputs in
//! `tests/data/spikingjelly_stdp.npz`): traces are updated before they are used, STDP traces decay
//! as `tr·(1 − 1/τ) + s`, the reward rules' as `tr·e^(−1/τ) + s`, and
//! `Δw = f_post(W)⊙(Sₒᵤₜᵀ·trₚᵣₑ) − f_pre(W)⊙(trₚₒₛₜᵀ·Sᵢₙ)` summed over the batch (and over space for
//! convolutions). Where sj differs, it follows SpikingJelly's documented intent:
//! * the reward learners clear their eligibility in `reset()` (0.0.0.0.14 keeps it, so the first
//!   reward after a reset multiplied stale eligibility);
//! * `mstdpet_linear_single_step` takes no `tau_trace` (0.0.0.0.14 took it and ignored it; the
//!   learner applies it to the eligibility trace) and works batched as well as unbatched;
//! * `f_pre`/`f_post` are applied to the whole weight; SpikingJelly applies them to each kernel
//!   offset `W[:, :, h, w]` of a convolution, the same for every element-wise function;
//! * time constants are checked (at least 1 for the STDP decay, positive for the reward rules),
//!   shapes too, and a learner's `step` with nothing recorded is an error.
//!
//! Multi-step work runs as few tensor ops as possible: the traces of all T steps are computed
//! first, then one matrix product per rule term covers every step and sample (for convolutions,
//! over `im2col` columns).
//!
//! ```
//! use sj::learning::{stdp_linear_single_step, StdpOptions};
//! use sj::prelude::*;
//! let vs = nn::VarStore::new(Device::Cpu);
//! let fc = Linear::new(&vs.root(), 2, 1, false).unwrap();
//! tch::no_grad(|| fc.weight().shallow_clone().fill_(0.5));
//! let stdp = StdpOptions::new(2.0, 2.0).unwrap();
//! // Input neuron 0 fired one step before the output neuron: its trace 1 decays to 1·(1 − 1/2).
//! let trace_pre = Tensor::from_slice(&[1.0f32, 0.0]).view([1, 2]);
//! let (_, _, dw) = stdp_linear_single_step(
//!     &fc,
//!     &Tensor::zeros([1, 2], (Kind::Float, Device::Cpu)),
//!     &Tensor::ones([1, 1], (Kind::Float, Device::Cpu)),
//!     Some(&trace_pre),
//!     None,
//!     &stdp,
//! )
//! .unwrap();
//! // Potentiation f_post(w)·S_out·tr_pre = 0.5 · 1 · 0.5 for synapse 0, nothing for synapse 1.
//! assert_eq!(Vec::<f32>::try_from(&dw.flatten(0, -1)).unwrap(), [0.25, 0.0]);
//! ```
mod learner;
mod stdp;

pub use learner::{MSTDPETLearner, MSTDPLearner, STDPLearner};
pub use stdp::{
    mstdp_linear_single_step, mstdpet_linear_single_step, stdp_conv1d_single_step,
    stdp_conv2d_single_step, stdp_linear_single_step, stdp_multi_step, Synapse,
};

use crate::error::{Result, SjError};
use std::fmt;
use std::sync::Arc;
use tch::Tensor;

/// A function of the weight, shared.
type WeightMap = Arc<dyn Fn(&Tensor) -> Tensor + Send + Sync>;

/// A weight-dependence function `f(W)` (`f_pre`, `f_post`): its result multiplies the depression
/// or potentiation term element-wise.
#[derive(Clone)]
pub struct WeightFn {
    name: String,
    f: Option<WeightMap>,
}

impl WeightFn {
    /// `lambda x: x`, SpikingJelly's default.
    pub fn identity() -> Self {
        WeightFn {
            name: "identity".into(),
            f: None,
        }
    }

    /// `torch.clamp(w, min, max)`, the tutorial's weight dependence (`clamp(w, -1, 1)`).
    pub fn clamp(min: f64, max: f64) -> Result<Self> {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(SjError::config(
                "WeightFn::clamp",
                format!("needs finite min <= max, got {min} and {max}"),
            ));
        }
        Ok(WeightFn {
            name: format!("clamp({min:?}, {max:?})"),
            f: Some(Arc::new(move |w: &Tensor| w.clamp(min, max))),
        })
    }

    /// Any function of the weight, named `name` in reprs (e.g. `"1 - w"`).
    pub fn new(name: &str, f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static) -> Self {
        WeightFn {
            name: name.to_string(),
            f: Some(Arc::new(f)),
        }
    }

    /// `f(w)`, or `None` for the identity (so callers skip a multiplication).
    fn apply(&self, w: &Tensor) -> Option<Tensor> {
        self.f.as_ref().map(|f| f(w))
    }
}

impl fmt::Debug for WeightFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The options of every rule: the trace time constants and the weight dependence, checked once
/// by [`StdpOptions::new`].
#[derive(Clone, Debug)]
pub struct StdpOptions {
    /// `tau_pre`, the presynaptic trace's time constant.
    pub tau_pre: f64,
    /// `tau_post`, the postsynaptic trace's time constant.
    pub tau_post: f64,
    /// `f_pre`, the weight dependence of depression.
    pub f_pre: WeightFn,
    /// `f_post`, the weight dependence of potentiation.
    pub f_post: WeightFn,
}

impl StdpOptions {
    /// `tau_pre`, `tau_post` with identity weight dependence; both must be finite and at least 1
    /// (the STDP traces decay by `1 − 1/τ`, which a smaller τ turns negative).
    pub fn new(tau_pre: f64, tau_post: f64) -> Result<Self> {
        let options = StdpOptions {
            tau_pre,
            tau_post,
            f_pre: WeightFn::identity(),
            f_post: WeightFn::identity(),
        };
        options.check("StdpOptions", Decay::Euler)?;
        Ok(options)
    }

    /// `f_pre=`.
    pub fn with_f_pre(mut self, f_pre: WeightFn) -> Self {
        self.f_pre = f_pre;
        self
    }

    /// `f_post=`.
    pub fn with_f_post(mut self, f_post: WeightFn) -> Self {
        self.f_post = f_post;
        self
    }

    /// Checks the time constants for `decay` (fields may change after construction).
    fn check(&self, what: &str, decay: Decay) -> Result<()> {
        for (name, tau) in [("tau_pre", self.tau_pre), ("tau_post", self.tau_post)] {
            decay.check(what, name, tau)?;
        }
        Ok(())
    }
}

/// How a trace decays per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decay {
    /// `tr·(1 − 1/τ)`: STDP.
    Euler,
    /// `tr·e^(−1/τ)`: the reward-modulated rules.
    Exp,
}

impl Decay {
    fn factor(self, tau: f64) -> f64 {
        match self {
            Decay::Euler => 1.0 - 1.0 / tau,
            Decay::Exp => (-1.0 / tau).exp(),
        }
    }

    fn check(self, what: &str, name: &str, tau: f64) -> Result<()> {
        let ok = match self {
            Decay::Euler => tau.is_finite() && tau >= 1.0,
            Decay::Exp => tau.is_finite() && tau > 0.0,
        };
        if ok {
            Ok(())
        } else {
            let domain = match self {
                Decay::Euler => "finite and at least 1",
                Decay::Exp => "finite and positive",
            };
            Err(SjError::config(
                what,
                format!("{name} must be {domain}, got {tau}"),
            ))
        }
    }
}
