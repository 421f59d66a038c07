//! Checking a neuron's backends against each other: SpikingJelly's
//! `check_multi_step_neuron_output_and_grad` (checklist 221) for sj's backends and devices. A
//! [`Case`] is one neuron configuration with inputs; [`Case::run`] runs it with a backend and step
//! mode on a device and returns spikes, final state and gradients; [`Outcome::compare`] measures
//! the differences. The unit tests run every case on the CPU (`torch` against `fused`, and single
//! steps); `cargo run --release -p sj --example cuda_check` runs them on a GPU.
//!
//! ```
//! use sj::neuron::check::Case;
//! use sj::prelude::*;
//! let case = &Case::all()[0];
//! let reference = case.run(Device::Cpu, Kind::Float, Backend::Torch, StepMode::M)?;
//! let fused = case.run(Device::Cpu, Kind::Float, Backend::Fused, StepMode::M)?;
//! assert!(reference.compare(&fused)?.within(1e-6, 1e-5));
//! # Ok::<(), sj::SjError>(())
//! ```
use super::{EIFNode, IFNode, IzhikevichNode, LIFNode, NodeOptions, ParametricLIFNode, QIFNode};
use crate::base::{Backend, Memory, Module, StepMode};
use crate::error::{Result, SjError};
use crate::surrogate::Surrogate;
use tch::{nn, Device, Kind, Tensor};

/// The neurons with fused kernels.
pub const NEURONS: [&str; 6] = [
    "IFNode",
    "LIFNode",
    "ParametricLIFNode",
    "QIFNode",
    "EIFNode",
    "IzhikevichNode",
];

/// One neuron configuration and its inputs (`x` is `[T, 3, 37]`: an odd number of neurons).
#[derive(Clone, Debug)]
pub struct Case {
    /// An entry of [`NEURONS`].
    pub neuron: &'static str,
    /// The surrogate.
    pub surrogate: Surrogate,
    /// `Some` is a hard reset (to 0 for IF/LIF/PLIF, −0.1 for QIF/EIF/Izhikevich), `None` soft.
    pub hard_reset: bool,
    /// `detach_reset`.
    pub detach_reset: bool,
    /// Time steps.
    pub t: i64,
}

/// What one run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The spikes `[T, *]`.
    pub spikes: Tensor,
    /// The final state: `V[T−1]`, stacked with `W[T−1]` for Izhikevich.
    pub state: Tensor,
    /// `∂L/∂X`.
    pub grad_x: Tensor,
    /// `∂L/∂V[−1]` (and `∂L/∂W[−1]` for Izhikevich).
    pub grad_v_init: Tensor,
    /// ParametricLIF's `w`.
    pub grad_w: Option<Tensor>,
}

/// Differences between two outcomes; gradients relative to the reference's largest magnitude.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// Fraction of spikes that differ.
    pub spike_mismatch: f64,
    /// Largest absolute difference of the final state.
    pub max_state_diff: f64,
    /// Largest difference of `∂L/∂X`, relative to the reference.
    pub grad_x_rel: f64,
    /// Largest difference of the initial state's gradient, relative.
    pub grad_v_init_rel: f64,
    /// Largest difference of ParametricLIF's `∂L/∂w`, relative (0 for other neurons).
    pub grad_w_rel: f64,
}

impl Comparison {
    /// Identical spikes, the state within `state_tol`, every gradient within `grad_tol` relative.
    pub fn within(&self, state_tol: f64, grad_tol: f64) -> bool {
        self.spike_mismatch == 0.0
            && self.max_state_diff <= state_tol
            && [self.grad_x_rel, self.grad_v_init_rel, self.grad_w_rel]
                .iter()
                .all(|&e| e <= grad_tol)
    }
}

impl Case {
    /// Every neuron × {Sigmoid, ATan, PiecewiseQuadratic, S2NN} × hard/soft × detach_reset ×
    /// T ∈ {1, 2, 7, 64}, the surrogate rotating with T (half the surrogate-T pairs): 192 cases.
    pub fn all() -> Vec<Case> {
        // SpikingJelly's defaults of these four families.
        let surrogates: Vec<Surrogate> = ["Sigmoid", "ATan", "PiecewiseQuadratic", "S2NN"]
            .iter()
            .flat_map(|&name| {
                Surrogate::all_defaults()
                    .into_iter()
                    .filter(move |s| s.name() == name)
            })
            .collect();
        let mut cases = Vec::new();
        for neuron in NEURONS {
            for (si, surrogate) in surrogates.iter().enumerate() {
                for hard_reset in [true, false] {
                    for detach_reset in [false, true] {
                        for t in [1i64, 2, 7, 64] {
                            if (si + t as usize) % 2 == 0 {
                                cases.push(Case {
                                    neuron,
                                    surrogate: surrogate.clone(),
                                    hard_reset,
                                    detach_reset,
                                    t,
                                });
                            }
                        }
                    }
                }
            }
        }
        cases
    }

    /// A short description.
    pub fn name(&self) -> String {
        format!(
            "{} {} {} reset{} T={}",
            self.neuron,
            self.surrogate,
            if self.hard_reset { "hard" } else { "soft" },
            if self.detach_reset { ", detached" } else { "" },
            self.t
        )
    }

    /// The neuron with the starting potential `v0` (which requires grad).
    fn build(&self, vs: &nn::VarStore, v0: &Tensor) -> Result<Box<dyn Module>> {
        let reset = |r: f64| self.hard_reset.then_some(r);
        // LIF and PLIF alternate decay_input with T
        let decay_input = self.t % 2 == 0;
        Ok(match self.neuron {
            "IFNode" => self.prepared(IFNode::new().with_v_reset(reset(0.0)), v0),
            "LIFNode" => self.prepared(
                LIFNode::new(3.0)?
                    .with_decay_input(decay_input)
                    .with_v_reset(reset(0.0)),
                v0,
            ),
            "ParametricLIFNode" => self.prepared(
                ParametricLIFNode::new(&vs.root(), 2.5)?
                    .with_decay_input(!decay_input)
                    .with_v_reset(reset(0.0)),
                v0,
            ),
            "QIFNode" => self.prepared(QIFNode::default().with_v_reset(reset(-0.1)), v0),
            "EIFNode" => self.prepared(EIFNode::default().with_v_reset(reset(-0.1)), v0),
            "IzhikevichNode" => {
                // two state variables; W starts from v0 too, so its gradient is checked
                let mut izh = IzhikevichNode::new(2.0, 0.8, 1.0, -0.1, 0.0, 2.0, 0.3, 0.2)?
                    .with_v_reset(reset(-0.1));
                izh.w = Memory::Tensor(v0 * 0.4);
                self.prepared(izh, v0)
            }
            other => {
                return Err(SjError::config(
                    "check",
                    format!("no fused kernel for {other}"),
                ))
            }
        })
    }

    fn prepared<N: NodeOptions + 'static>(&self, n: N, v0: &Tensor) -> Box<dyn Module> {
        let mut n = n
            .with_detach_reset(self.detach_reset)
            .with_surrogate(self.surrogate.clone());
        n.node_mut().v = Memory::Tensor(v0.shallow_clone());
        Box::new(n)
    }

    /// Runs the case with `backend` in `mode` (step mode `s` loops over T single steps) on
    /// `device` in `kind`, and backpropagates `Σ S·g + ½ Σ V[T−1] (+ 0.3 Σ W[T−1])`, with `g`
    /// random, except at T = 7, where the spike term is `Σ S` (a broadcast gradient). The inputs
    /// are a hash of the element index and the case (not libtorch's global generator, which tests
    /// running in parallel share), so every run of a case sees the same ones.
    pub fn run(
        &self,
        device: Device,
        kind: Kind,
        backend: Backend,
        mode: StepMode,
    ) -> Result<Outcome> {
        let t = self.t;
        let seed = 10 * t + NEURONS.iter().position(|n| *n == self.neuron).unwrap_or(0) as i64;
        let x0 = uniform(&[t, 3, 37], seed) * 1.6 - 0.3;
        let v00 = uniform(&[3, 37], seed + 1) * 0.5;
        let g = uniform(&[t, 3, 37], seed + 2)
            .to_device(device)
            .to_kind(kind);
        let vs = nn::VarStore::new(device);
        let x = x0.to_device(device).to_kind(kind).set_requires_grad(true);
        let v0 = v00.to_device(device).to_kind(kind).set_requires_grad(true);
        let mut n = self.build(&vs, &v0)?;
        n.set_step_mode(mode)?;
        n.set_backend(backend)?;
        let spikes = match mode {
            StepMode::M => n.forward(&x)?,
            StepMode::S => Tensor::stack(
                &(0..t)
                    .map(|i| n.forward(&x.get(i)))
                    .collect::<Result<Vec<_>>>()?,
                0,
            ),
        };
        let memories = n.memories();
        let state_of = |i: usize| {
            memories
                .get(i)
                .and_then(|m| m.1.as_ref().map(Tensor::shallow_clone))
        };
        let v_last = state_of(0)
            .ok_or_else(|| SjError::config("check", "no membrane potential after forward"))?;
        let w_last = state_of(1);
        let loss_s = match t {
            7 => spikes.sum(Kind::Float),
            _ => (&spikes * &g).sum(Kind::Float),
        };
        let loss_w = w_last
            .as_ref()
            .map_or(Tensor::from(0.0f32).to_device(device), |w| {
                (w * 0.3).sum(Kind::Float)
            });
        (loss_s + (&v_last * 0.5).sum(Kind::Float) + loss_w).f_backward()?;
        let grad_w = vs.variables().get("w").map(|w| w.grad());
        let state = match &w_last {
            Some(w) => Tensor::stack(&[&v_last, w], 0),
            None => v_last,
        };
        Ok(Outcome {
            spikes,
            state,
            grad_x: x.grad(),
            grad_v_init: v0.grad(),
            grad_w,
        })
    }
}

impl Outcome {
    /// How far `other` is from this outcome (the reference), computed in float64 on the CPU.
    pub fn compare(&self, other: &Outcome) -> Result<Comparison> {
        let f = |t: &Tensor| t.to_device(Device::Cpu).to_kind(Kind::Double);
        let max = |t: Tensor| t.abs().max().double_value(&[]);
        let rel = |a: &Tensor, b: &Tensor| max(f(a) - f(b)) / max(f(a)).max(1e-12);
        let mismatch = f(&self.spikes)
            .ne_tensor(&f(&other.spikes))
            .to_kind(Kind::Double)
            .mean(Kind::Double);
        Ok(Comparison {
            spike_mismatch: mismatch.double_value(&[]),
            max_state_diff: max(f(&self.state) - f(&other.state)),
            grad_x_rel: rel(&self.grad_x, &other.grad_x),
            grad_v_init_rel: rel(&self.grad_v_init, &other.grad_v_init),
            grad_w_rel: match (&self.grad_w, &other.grad_w) {
                (Some(a), Some(b)) => rel(a, b),
                (None, None) => 0.0,
                _ => {
                    return Err(SjError::config(
                        "check",
                        "one outcome has a grad for w, the other not",
                    ))
                }
            },
        })
    }
}

/// Values in [0, 1) from the element index and `seed` (the fractional part of a scaled sine).
fn uniform(shape: &[i64], seed: i64) -> Tensor {
    let n: i64 = shape.iter().product();
    let i = Tensor::arange(n, (Kind::Double, Device::Cpu)) + (seed as f64) * 7919.0;
    let s = (i * 12.9898).sin() * 43758.5453;
    (&s - s.floor()).to_kind(Kind::Float).reshape(shape)
}
