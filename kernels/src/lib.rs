//! # sj-kernels: fused multi-step neuron kernels
//!
//! SpikingJelly's speed comes from fused kernels that run a neuron's whole time loop in one
//! thread: forward through time, then backward through time, saving only `H[t]`. sj-kernels does
//! the same on the CPU (rayon over chunks of neurons) and on CUDA (kernels generated per
//! configuration and compiled by NVRTC at first use, through cudarc's dynamic loading, so building
//! never needs CUDA), and enters tch's autograd graph as one node through a small C++ shim on
//! `torch::autograd::Function` ([`fused_neuron`]).
//!
//! A neuron's kernel is defined by its [`Charge`] (an open trait: sj's neurons and a user's type in
//! a notebook cell go the same path): the CPU driver is monomorphised on it, the C++ autograd node
//! holds the call's [`NeuronConfig`] behind an opaque handle, and the CUDA source (which is also
//! the kernel cache's key) is generated from its snippet. Surrogates are open the same way
//! ([`SurrogateFunction`], one file per family in `surrogate/`, each formula written once over
//! [`real::Real`]).
//!
//! Each built-in neuron is one folder with its CPU charge code, its CUDA source and its tests:
//! `if_node/`, `lif/`, `plif/`, `qif/`, `eif/`, `izhikevich/` (two state variables); `poisson/` is
//! the fused Poisson encoder.
//! [`auto_cuda`] is SpikingJelly's kernel builder (`CKernel1D`, `CKernel2D`) for your own
//! element-wise and sequence kernels, on CUDA and, compiled by the system C compiler, on the CPU.
pub mod auto_cuda;
pub mod autocast;
mod autograd;
mod charge;
mod config;
pub mod cpu;
pub mod cuda;
mod error;
pub mod poisson;
pub mod real;
pub mod surrogate;
pub mod torch_file;

// The built-in neurons: one folder each, registered by its two lines here.
mod eif;
mod if_node;
mod izhikevich;
mod lif;
mod plif;
mod qif;
pub use eif::EifCharge;
pub use if_node::IfCharge;
pub use izhikevich::IzhikevichCharge;
pub use lif::LifCharge;
pub use plif::PlifCharge;
pub use qif::QifCharge;

pub use autograd::{fused_neuron, graph_consumed, mark_state, supports};
pub use charge::{check_derivatives, Charge, ChargeFormula, ChargeRef, DynCharge};
pub use config::{check_firing, require, Firing, NeuronConfig};
pub use error::KernelError;
pub use poisson::poisson_encode;
pub use surrogate::{DynSurrogate, SurrogateFunction, SurrogateRef};
