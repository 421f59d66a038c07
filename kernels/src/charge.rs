//! The per-neuron part of a fused kernel: the charge equation `H[t] = f(V[t−1], X[t])`, its partial
//! derivatives for backpropagation through time, and the same in CUDA C for the generated kernels.
//! Each neuron lives in its own folder (`if_node/`, `lif/`, ...) with its CPU code, its CUDA source
//! and its tests; adding a neuron means adding such a folder and a [`NeuronKind`](crate::NeuronKind) arm.

/// A neuron's charge equation with its derivatives. `v` is `V[t−1]`, `x` is `X[t]`, `h` is `H[t]`.
pub trait Charge: Copy + Send + Sync {
    /// `H[t] = f(V[t−1], X[t])`.
    fn h(&self, v: f32, x: f32) -> f32;
    /// `∂H[t]/∂V[t−1]`.
    fn dh_dv(&self, v: f32) -> f32;
    /// `∂H[t]/∂X[t]`.
    fn dh_dx(&self, v: f32) -> f32;
    /// Whether the charge has a learnable decay `k` (ParametricLIF): only then does the backward
    /// kernel compute `∂L/∂k`.
    const LEARNS_DECAY: bool = false;
    /// `∂H[t]/∂k` for a learnable decay `k` (ParametricLIF), from `V[t−1]` and `H[t]`; 0 otherwise.
    fn dh_dk(&self, _v: f32, _h: f32) -> f32 {
        0.0
    }
    /// Whether the neuron carries an adaptation current `W` (Izhikevich). Then the kernels call
    /// [`Charge::h_adapt`] and [`Charge::adapt`] and carry `∂L/∂W` backward through the
    /// constant partial derivatives below; for other neurons all of this compiles away.
    const ADAPTS: bool = false;
    /// `H[t] = f(V[t−1], X[t], W[t−1])` for an adapting neuron.
    fn h_adapt(&self, v: f32, x: f32, _w: f32) -> f32 {
        self.h(v, x)
    }
    /// `W[t]` from `W[t−1]`, `H[t]` and the spike `S[t]`.
    fn adapt(&self, w: f32, _h: f32, _s: f32) -> f32 {
        w
    }
    /// `∂H[t]/∂W[t−1]`, `∂W[t]/∂W[t−1]`, `∂W[t]/∂H[t]` and `∂W[t]/∂S[t]` (constants).
    fn adapt_grads(&self) -> [f32; 4] {
        [0.0, 1.0, 0.0, 0.0]
    }
    /// CUDA C device functions `sj_h(v, x)`, `sj_dh_dv(v)`, `sj_dh_dx(v)` and `sj_dh_dk(v, h)` with this
    /// neuron's constants written in (`k` is the learnable decay, read from a kernel argument).
    fn cuda(&self) -> String;
}

/// Formats an f32 constant as CUDA C source.
pub(crate) fn c(v: f32) -> String {
    format!("{:?}f", v)
}

/// Checks shared by every neuron folder's tests.
#[cfg(test)]
pub(crate) mod check {
    use super::Charge;
    use crate::config::{NeuronConfig, NeuronKind};
    use crate::cuda::Storage;
    use crate::surrogate::SurrogateKind;

    /// `dh_dv` and `dh_dx` equal central differences of `h` (in f64 around f32 points).
    pub fn derivatives<C: Charge>(c: C) {
        let h = 1e-2f32;
        for &v in &[-0.7f32, -0.1, 0.0, 0.3, 0.55, 0.9] {
            for &x in &[-0.5f32, 0.0, 0.4, 1.2] {
                let fd_v = (c.h(v + h, x) - c.h(v - h, x)) / (2.0 * h);
                let fd_x = (c.h(v, x + h) - c.h(v, x - h)) / (2.0 * h);
                assert!(
                    (fd_v - c.dh_dv(v)).abs() < 2e-3 * (1.0 + fd_v.abs()),
                    "dh_dv at v={v}, x={x}: {fd_v} vs {}",
                    c.dh_dv(v)
                );
                assert!(
                    (fd_x - c.dh_dx(v)).abs() < 2e-3 * (1.0 + fd_x.abs()),
                    "dh_dx at v={v}, x={x}"
                );
            }
        }
    }

    /// The generated CUDA source compiles with NVRTC for hard and soft reset, with and without
    /// detach_reset, two surrogates and the three storage types (no GPU is needed to compile).
    pub fn cuda_compiles<C: Charge>(c: C, kind: NeuronKind) {
        for (v_reset, detach) in [(Some(0.0), false), (None, true)] {
            for surrogate in [
                SurrogateKind::Sigmoid { alpha: 4.0 },
                SurrogateKind::SquarewaveFourierSeries {
                    n: 3,
                    t_period: 8.0,
                },
            ] {
                let cfg = NeuronConfig {
                    kind,
                    v_threshold: 1.0,
                    v_reset,
                    detach_reset: detach,
                    surrogate,
                    store_v_seq: true,
                };
                for storage in [Storage::F32, Storage::F16, Storage::BF16] {
                    let src = crate::cuda::source_for(&c, &cfg, storage);
                    if let Err(e) = crate::cuda::compile(&src) {
                        panic!("{storage:?}: {e}\n{src}");
                    }
                }
            }
        }
    }
}
