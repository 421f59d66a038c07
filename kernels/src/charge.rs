//! The per-neuron part of a fused kernel: the charge equation `H[t] = f(V[t−1], X[t])`, its partial
//! derivatives for backpropagation through time, and the same in CUDA C for the generated kernels.
//! Each built-in neuron lives in its own folder (`if_node/`, `lif/`, ...) with its CPU code, its
//! CUDA source and its tests, registered by one `mod`/`pub use` line in `lib.rs`. A user type
//! implementing [`Charge`] (in a notebook cell, say) is fused the same way: the CPU driver is
//! monomorphised on it and the CUDA source is generated from its [`Charge::cuda`] snippet.
use crate::config::Firing;
use crate::cpu::{self, BackwardOut, ForwardOut, GradV};
use crate::real::{CExpr, Real, Scalar, TensorReal};
use std::fmt;
use std::sync::Arc;
use tch::Tensor;

/// A neuron's charge equation with its derivatives. `v` is `V[t−1]`, `x` is `X[t]`, `h` is `H[t]`.
///
/// ```
/// use sj_kernels::Charge;
/// /// H = V − V²/τ + X
/// #[derive(Clone, Copy, Debug)]
/// struct QuadLeak { tau: f32 }
/// impl Charge for QuadLeak {
///     fn h(&self, v: f32, x: f32) -> f32 { v - v * v / self.tau + x }
///     fn dh_dv(&self, v: f32) -> f32 { 1.0 - 2.0 * v / self.tau }
///     fn dh_dx(&self, _v: f32) -> f32 { 1.0 }
///     fn cuda(&self) -> String {
///         format!("__device__ __forceinline__ float sj_h(float v, float x, float k) {{ return v - v * v / {t:?}f + x; }}
/// __device__ __forceinline__ float sj_dh_dv(float v, float k) {{ return 1.0f - 2.0f * v / {t:?}f; }}
/// __device__ __forceinline__ float sj_dh_dx(float v, float k) {{ return 1.0f; }}
/// __device__ __forceinline__ float sj_dh_dk(float v, float h, float k) {{ return 0.0f; }}", t = self.tau)
///     }
/// }
/// sj_kernels::check_derivatives(QuadLeak { tau: 4.0 }).unwrap();
/// ```
pub trait Charge: Copy + Send + Sync + fmt::Debug + 'static {
    /// `H[t] = f(V[t−1], X[t])`.
    fn h(&self, v: f32, x: f32) -> f32;
    /// `∂H[t]/∂V[t−1]`.
    fn dh_dv(&self, v: f32) -> f32;
    /// `∂H[t]/∂X[t]`.
    fn dh_dx(&self, v: f32) -> f32;
    /// Checks the constants (a neuron checks before every fused call); the message names the
    /// constant and its domain.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Whether the charge has a learnable decay `k` (ParametricLIF): only then does the backward
    /// kernel compute `∂L/∂k`, and the call passes `k` as a tensor.
    const LEARNS_DECAY: bool = false;
    /// This charge with the learnable decay `k` read from the call's decay tensor.
    fn with_decay(self, _k: f32) -> Self {
        self
    }
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
    /// CUDA C device functions `sj_h(v, x, k)`, `sj_dh_dv(v, k)`, `sj_dh_dx(v, k)` and
    /// `sj_dh_dk(v, h, k)` with this neuron's constants written in (`k` is the learnable decay,
    /// read from a kernel argument); adapting neurons add `sj_h_adapt`, `sj_adapt` and the
    /// `SJ_DH_DW`, `SJ_DW_DW`, `SJ_DW_DH`, `SJ_DW_DS` constants.
    fn cuda(&self) -> String;
}

/// A charge behind a pointer, as a [`NeuronConfig`](crate::NeuronConfig) holds it:
/// `Arc::new(LifCharge { .. })` or any user [`Charge`].
pub type ChargeRef = Arc<dyn DynCharge>;

/// The object-safe face of a [`Charge`], implemented for every one: the fused call holds the
/// charge behind this trait and each method runs the driver monomorphised for the concrete type.
pub trait DynCharge: fmt::Debug + Send + Sync {
    /// [`Charge::check`].
    fn check(&self) -> Result<(), String>;
    /// State variables per neuron: 2 for adapting neurons (`V`, `W`), else 1.
    fn state_len(&self) -> usize;
    /// [`Charge::LEARNS_DECAY`].
    fn learns_decay(&self) -> bool;
    /// [`Charge::ADAPTS`].
    fn adapts(&self) -> bool;
    /// [`Charge::cuda`].
    fn cuda(&self) -> String;
    /// [`cpu::forward`] on this charge with decay `k`.
    fn cpu_forward(
        &self,
        firing: &Firing,
        k: f32,
        t_steps: usize,
        x: &[f32],
        v_init: &[f32],
        out: ForwardOut<'_>,
    );
    /// [`cpu::backward`] on this charge with decay `k`; returns `∂L/∂k`.
    #[allow(clippy::too_many_arguments)]
    fn cpu_backward(
        &self,
        firing: &Firing,
        k: f32,
        t_steps: usize,
        grad_spike: &[f32],
        grad_v: GradV<'_>,
        v_init: &[f32],
        out: BackwardOut<'_>,
    ) -> f64;
}

impl<C: Charge> DynCharge for C {
    fn check(&self) -> Result<(), String> {
        Charge::check(self)
    }
    fn state_len(&self) -> usize {
        if C::ADAPTS {
            2
        } else {
            1
        }
    }
    fn learns_decay(&self) -> bool {
        C::LEARNS_DECAY
    }
    fn adapts(&self) -> bool {
        C::ADAPTS
    }
    fn cuda(&self) -> String {
        Charge::cuda(self)
    }
    fn cpu_forward(
        &self,
        firing: &Firing,
        k: f32,
        t_steps: usize,
        x: &[f32],
        v_init: &[f32],
        out: ForwardOut<'_>,
    ) {
        cpu::forward(self.with_decay(k), firing, t_steps, x, v_init, out)
    }
    fn cpu_backward(
        &self,
        firing: &Firing,
        k: f32,
        t_steps: usize,
        grad_spike: &[f32],
        grad_v: GradV<'_>,
        v_init: &[f32],
        out: BackwardOut<'_>,
    ) -> f64 {
        let c = self.with_decay(k);
        cpu::backward(c, firing, t_steps, grad_spike, grad_v, v_init, out)
    }
}

/// A charge written once, over [`Real`]: the same three formulas give the CPU kernel's `f32`
/// code, the CUDA device functions (printed as C) and, through [`ChargeFormula::h_tensor`], the
/// op-by-op tensor path, so a new neuron's formula is not written three times. Every
/// `ChargeFormula` is a [`Charge`] (no learnable decay, one state variable).
///
/// ```
/// use sj_kernels::{Charge, ChargeFormula, real::Real};
/// use tch::Tensor;
/// /// H = V − V·|V|/τ + X
/// #[derive(Clone, Copy, Debug)]
/// struct QuadLeak { tau: f64 }
/// impl ChargeFormula for QuadLeak {
///     fn h<R: Real>(&self, v: R, x: R) -> R { v.clone() - v.clone() * v.abs() / self.tau + x }
///     fn dh_dv<R: Real>(&self, v: R) -> R { (v.abs() * (2.0 / self.tau)).rsub(1.0) }
///     fn dh_dx<R: Real>(&self, v: R) -> R { R::constant(&v, 1.0) }
/// }
/// let q = QuadLeak { tau: 4.0 };
/// assert_eq!(Charge::h(&q, -1.0, 0.5), -0.25);
/// assert!(q.cuda().contains("float sj_h(float v, float x, float k) { return (((v - ((v * fabsf(v)) / 4.0f)) + x)); }"));
/// // X = 0.5, V = −1 on tensors, as a neuron's `neuronal_charge(x, v)`
/// let h = q.h_tensor(&Tensor::from_slice(&[0.5f32]), &Tensor::from_slice(&[-1.0f32]));
/// assert_eq!(h.double_value(&[0]), -0.25);
/// sj_kernels::check_derivatives(q).unwrap();
/// ```
pub trait ChargeFormula: Copy + Send + Sync + fmt::Debug + 'static {
    /// `H[t] = f(V[t−1], X[t])`.
    fn h<R: Real>(&self, v: R, x: R) -> R;
    /// `∂H[t]/∂V[t−1]`.
    fn dh_dv<R: Real>(&self, v: R) -> R;
    /// `∂H[t]/∂X[t]`.
    fn dh_dx<R: Real>(&self, v: R) -> R;
    /// Checks the constants, as [`Charge::check`].
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// The charge on tensors `x` (`X[t]`) and `v` (`V[t−1]`), with autograd: a neuron's
    /// `neuronal_charge`.
    fn h_tensor(&self, x: &Tensor, v: &Tensor) -> Tensor {
        self.h(TensorReal(v.shallow_clone()), TensorReal(x.shallow_clone()))
            .0
    }
}

impl<F: ChargeFormula> Charge for F {
    #[inline(always)]
    fn h(&self, v: f32, x: f32) -> f32 {
        ChargeFormula::h(self, Scalar(v), Scalar(x)).0
    }
    #[inline(always)]
    fn dh_dv(&self, v: f32) -> f32 {
        ChargeFormula::dh_dv(self, Scalar(v)).0
    }
    #[inline(always)]
    fn dh_dx(&self, v: f32) -> f32 {
        ChargeFormula::dh_dx(self, Scalar(v)).0
    }
    fn check(&self) -> Result<(), String> {
        ChargeFormula::check(self)
    }
    fn cuda(&self) -> String {
        let (v, x) = (CExpr::var("v"), CExpr::var("x"));
        format!(
            "__device__ __forceinline__ float sj_h(float v, float x, float k) {{ return ({}); }}
__device__ __forceinline__ float sj_dh_dv(float v, float k) {{ return ({}); }}
__device__ __forceinline__ float sj_dh_dx(float v, float k) {{ return ({}); }}
__device__ __forceinline__ float sj_dh_dk(float v, float h, float k) {{ return 0.0f; }}",
            ChargeFormula::h(self, v.clone(), x),
            ChargeFormula::dh_dv(self, v.clone()),
            ChargeFormula::dh_dx(self, v)
        )
    }
}

/// Checks that `dh_dv` and `dh_dx` equal central differences of `h` (in f32, step 0.01, relative
/// tolerance 2e-3) on a grid of `V` in [−0.7, 0.9] and `X` in [−0.5, 1.2]: for a new charge,
/// before training with it. The message names the derivative and the point.
pub fn check_derivatives<C: Charge>(c: C) -> Result<(), String> {
    let h = 1e-2f32;
    for &v in &[-0.7f32, -0.1, 0.0, 0.3, 0.55, 0.9] {
        for &x in &[-0.5f32, 0.0, 0.4, 1.2] {
            let fd_v = (c.h(v + h, x) - c.h(v - h, x)) / (2.0 * h);
            let fd_x = (c.h(v, x + h) - c.h(v, x - h)) / (2.0 * h);
            if (fd_v - c.dh_dv(v)).abs() >= 2e-3 * (1.0 + fd_v.abs()) {
                return Err(format!(
                    "dh_dv at v={v}, x={x}: central difference {fd_v}, dh_dv {}",
                    c.dh_dv(v)
                ));
            }
            if (fd_x - c.dh_dx(v)).abs() >= 2e-3 * (1.0 + fd_x.abs()) {
                return Err(format!(
                    "dh_dx at v={v}, x={x}: central difference {fd_x}, dh_dx {}",
                    c.dh_dx(v)
                ));
            }
        }
    }
    Ok(())
}

/// Formats an f32 constant as CUDA C source.
pub(crate) fn c(v: f32) -> String {
    format!("{:?}f", v)
}

/// Checks shared by every neuron folder's tests.
#[cfg(test)]
pub(crate) mod check {
    use super::Charge;
    use crate::config::{Firing, NeuronConfig};
    use crate::cuda::Storage;
    use crate::surrogate::{Sigmoid, SquarewaveFourierSeries, SurrogateRef};
    use std::sync::Arc;

    /// `dh_dv` and `dh_dx` equal central differences of `h` ([`super::check_derivatives`]).
    pub fn derivatives<C: Charge>(c: C) {
        if let Err(e) = super::check_derivatives(c) {
            panic!("{c:?}: {e}");
        }
    }

    /// The generated CUDA source compiles with NVRTC for hard and soft reset, with and without
    /// detach_reset, two surrogates and the three storage types (no GPU is needed to compile).
    pub fn cuda_compiles<C: Charge>(c: C) {
        for (v_reset, detach) in [(Some(0.0), false), (None, true)] {
            let surrogates: [SurrogateRef; 2] = [
                Arc::new(Sigmoid { alpha: 4.0 }),
                Arc::new(SquarewaveFourierSeries {
                    n: 3,
                    t_period: 8.0,
                }),
            ];
            for surrogate in surrogates {
                let firing = Firing {
                    v_threshold: 1.0,
                    v_reset,
                    detach_reset: detach,
                    surrogate,
                };
                let cfg = NeuronConfig::new(Arc::new(c), firing).with_store_v_seq(true);
                for storage in [Storage::F32, Storage::F16, Storage::BF16] {
                    let src = crate::cuda::source_for(&cfg, storage);
                    if let Err(e) = crate::cuda::compile(&src) {
                        panic!("{storage:?}: {e}\n{src}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod formula_tests {
    use super::*;

    /// `H = V − V·|V|/τ + X`, written once.
    #[derive(Clone, Copy, Debug)]
    struct QuadLeak {
        tau: f64,
    }

    impl ChargeFormula for QuadLeak {
        fn h<R: Real>(&self, v: R, x: R) -> R {
            v.clone() - v.clone() * v.abs() / self.tau + x
        }
        fn dh_dv<R: Real>(&self, v: R) -> R {
            (v.abs() * (2.0 / self.tau)).rsub(1.0)
        }
        fn dh_dx<R: Real>(&self, v: R) -> R {
            R::constant(&v, 1.0)
        }
        fn check(&self) -> Result<(), String> {
            crate::require("tau", self.tau, self.tau > 0.0, "> 0")
        }
    }

    #[test]
    fn a_formula_is_a_charge_on_the_cpu_in_cuda_and_on_tensors() {
        let q = QuadLeak { tau: 4.0 };
        check::derivatives(q);
        check::cuda_compiles(q);
        assert!(Charge::check(&QuadLeak { tau: -1.0 }).is_err());
        // the tensor form equals the f32 form element for element
        let vs: Vec<f32> = (-20..20).map(|i| i as f32 * 0.07 + 0.01).collect();
        let xs: Vec<f32> = vs.iter().map(|v| 0.3 - v * 0.5).collect();
        let h = q.h_tensor(&Tensor::from_slice(&xs), &Tensor::from_slice(&vs));
        let h = Vec::<f32>::try_from(&h).unwrap();
        for ((v, x), h) in vs.iter().zip(&xs).zip(&h) {
            assert_eq!(Charge::h(&q, *v, *x), *h, "v={v}, x={x}");
        }
    }
}
