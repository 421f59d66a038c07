//! # sj-kernels: fused multi-step neuron kernels
//!
//! SpikingJelly's speed comes from fused kernels that run a neuron's whole time loop in one
//! thread: forward through time, then backward through time, saving only `H[t]`. sj-kernels does
//! the same on the CPU (rayon over chunks of neurons) and on CUDA (kernels generated per
//! configuration and compiled by NVRTC at first use, through cudarc's dynamic loading, so building
//! never needs CUDA), and enters tch's autograd graph as one node through a small C++ shim on
//! `torch::autograd::Function` ([`fused_neuron`]).
//!
//! Each neuron is one folder with its CPU charge code, its CUDA source and its tests: `if_node/`,
//! `lif/`, `plif/`, `qif/`, `eif/`, `izhikevich/` (two state variables); `poisson/` is the fused Poisson encoder.
//! [`auto_cuda`] is SpikingJelly's kernel builder for your own element-wise and sequence kernels.
pub mod auto_cuda;
mod autograd;
mod charge;
mod config;
pub mod cpu;
pub mod cuda;
mod eif;
mod if_node;
mod izhikevich;
mod lif;
mod plif;
pub mod poisson;
mod qif;
mod surrogate;

pub use autograd::{fused_neuron, graph_consumed, mark_state, supports, KernelError};
pub use charge::Charge;
pub use config::{check_firing, NeuronConfig, NeuronKind};
pub use eif::EifCharge;
pub use if_node::IfCharge;
pub use izhikevich::IzhikevichCharge;
pub use lif::LifCharge;
pub use plif::PlifCharge;
pub use poisson::poisson_encode;
pub use qif::QifCharge;
pub use surrogate::SurrogateKind;

/// Calls `$body` with `$charge` bound to the [`Charge`] of `$cfg` (`$k` is the PLIF decay).
#[macro_export]
#[doc(hidden)]
macro_rules! with_charge {
    ($cfg:expr, $k:expr, |$charge:ident| $body:expr) => {{
        let v_reset0 = $cfg.v_reset.unwrap_or(0.0) as f32;
        match $cfg.kind {
            $crate::NeuronKind::If => {
                let $charge = $crate::IfCharge;
                $body
            }
            $crate::NeuronKind::Lif { tau, decay_input } => {
                let $charge = $crate::LifCharge {
                    tau: tau as f32,
                    decay_input,
                    v_reset: v_reset0,
                };
                $body
            }
            $crate::NeuronKind::ParametricLif { decay_input } => {
                let $charge = $crate::PlifCharge {
                    k: $k,
                    decay_input,
                    v_reset: v_reset0,
                };
                $body
            }
            $crate::NeuronKind::Qif {
                tau,
                v_c,
                a0,
                v_rest,
            } => {
                let $charge = $crate::QifCharge {
                    tau: tau as f32,
                    v_c: v_c as f32,
                    a0: a0 as f32,
                    v_rest: v_rest as f32,
                };
                $body
            }
            $crate::NeuronKind::Eif {
                tau,
                delta_t,
                theta_rh,
                v_rest,
            } => {
                let $charge = $crate::EifCharge {
                    tau: tau as f32,
                    delta_t: delta_t as f32,
                    theta_rh: theta_rh as f32,
                    v_rest: v_rest as f32,
                };
                $body
            }
            $crate::NeuronKind::Izhikevich {
                tau,
                v_c,
                a0,
                v_rest,
                tau_w,
                a,
                b,
            } => {
                let $charge = $crate::IzhikevichCharge {
                    qif: $crate::QifCharge {
                        tau: tau as f32,
                        v_c: v_c as f32,
                        a0: a0 as f32,
                        v_rest: v_rest as f32,
                    },
                    inv_tau_w: (1.0 / tau_w) as f32,
                    a: a as f32,
                    b: b as f32,
                };
                $body
            }
        }
    }};
}
