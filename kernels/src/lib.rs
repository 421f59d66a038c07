//! # sj-kernels: fused multi-step neuron kernels (CPU with rayon, CUDA through NVRTC)
//!
//! Not built yet: this crate is reserved for the fused forward-through-time and
//! backward-through-time kernels of the fused-kernels issue. sj's `torch` backend works without it.
