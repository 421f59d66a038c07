//! # sj: SpikingJelly's activation-based SNNs in Rust
//!
//! Stateful spiking neurons, surrogate gradients, step modes and containers on libtorch (tch),
//! with the names a SpikingJelly user knows: `LIFNode`, `reset_net`, `set_step_mode`.
//! Start with [`prelude`]; call [`device::best_device`] to pick CUDA when it is there.
pub mod base;
pub mod device;
pub mod error;
pub mod surrogate;

pub use error::{Result, SjError};
pub use tch;
