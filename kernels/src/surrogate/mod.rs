//! Surrogate gradient functions (inventory §1.11, §2.3, checklist 53-54): each family is one
//! file here with one [`SurrogateFunction`] impl that holds everything about it: SpikingJelly's
//! name and repr, the parameter checks, the gradient σ'(x) and the primitive σ(x) written once
//! over [`Real`] (so the same formula runs in the CPU kernels' loops, on tensors in the op-by-op
//! path and as CUDA C in the generated kernels), and SpikingJelly's `cuda_codes` text.
//!
//! A user-defined surrogate is a type implementing [`SurrogateFunction`]; it then works
//! everywhere a built-in one does, fused kernels included ([`SurrogateRef`]).
//!
//! ```
//! use sj_kernels::real::{CExpr, Real, Scalar};
//! use sj_kernels::surrogate::{DynSurrogate, SurrogateFunction};
//! /// σ'(x) = max(0, 1 − |x|/w)/w, a triangle of area 1.
//! #[derive(Clone, Debug)]
//! struct Triangle { w: f64 }
//! impl SurrogateFunction for Triangle {
//!     const NAME: &'static str = "Triangle";
//!     fn params(&self) -> String { format!("w={:?}", self.w) }
//!     fn grad<R: Real>(&self, x: R) -> R { ((x.abs() / self.w).rsub(1.0).max_c(0.0)) / self.w }
//! }
//! let t = Triangle { w: 0.5 };
//! assert_eq!(t.grad_scalar(0.25), 1.0);
//! assert_eq!(t.cuda_grad("over_th"), "(fmaxf((1.0f - (fabsf(over_th) / 0.5f)), 0.0f) / 0.5f)");
//! ```
use crate::cuda::cfunction::CDtype;
use crate::real::{CExpr, Real, Scalar, TensorReal};
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use tch::Tensor;

mod atan;
mod erf;
mod fake_numerical_gradient;
mod leaky_k_relu;
mod log_tailed_relu;
mod nonzero_sign_log_abs;
mod piecewise_exp;
mod piecewise_leaky_relu;
mod piecewise_quadratic;
mod q_pseudo_spike;
mod s2nn;
mod sigmoid;
mod soft_sign;
mod squarewave_fourier_series;

pub use atan::ATan;
pub use erf::Erf;
pub use fake_numerical_gradient::FakeNumericalGradient;
pub use leaky_k_relu::LeakyKReLU;
pub use log_tailed_relu::LogTailedReLU;
pub use nonzero_sign_log_abs::NonzeroSignLogAbs;
pub use piecewise_exp::PiecewiseExp;
pub use piecewise_leaky_relu::PiecewiseLeakyReLU;
pub use piecewise_quadratic::PiecewiseQuadratic;
pub use q_pseudo_spike::QPseudoSpike;
pub use s2nn::S2NN;
pub use sigmoid::Sigmoid;
pub use soft_sign::SoftSign;
pub use squarewave_fourier_series::SquarewaveFourierSeries;

/// The built-in families, each once with SpikingJelly's default parameters: the registration
/// list (a new built-in surrogate is a file in this folder plus a line here). It defines
/// [`all_defaults`], [`to_json`] and [`from_json`].
macro_rules! builtins {
    ($($family:ident $defaults:tt),* $(,)?) => {
        /// Every built-in family with SpikingJelly's default parameters.
        pub fn all_defaults() -> Vec<SurrogateRef> {
            vec![$(Arc::new($family $defaults)),*]
        }

        /// The parameters of a built-in surrogate as a JSON object (`{"alpha": 4.0}`); `None` for
        /// a user-defined one.
        pub fn to_json(s: &dyn DynSurrogate) -> Option<serde_json::Value> {
            $(if let Some(f) = s.as_any().downcast_ref::<$family>() {
                return serde_json::to_value(f).ok();
            })*
            None
        }

        /// The built-in surrogate `name` with the parameters `params` (a JSON object as
        /// [`to_json`] writes it), checked. The error names an unknown family or a bad parameter.
        pub fn from_json(name: &str, params: serde_json::Value) -> Result<SurrogateRef, String> {
            let s: SurrogateRef = match name {
                $(<$family as SurrogateFunction>::NAME => Arc::new(
                    serde_json::from_value::<$family>(params)
                        .map_err(|e| format!("{name}: {e}"))?,
                ),)*
                other => {
                    return Err(format!(
                        "{other:?} is not a built-in surrogate ({}); a user-defined surrogate is recorded but cannot be read back",
                        all_defaults().iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
                    ))
                }
            };
            s.check()?;
            Ok(s)
        }
    };
}

builtins![
    PiecewiseQuadratic { alpha: 1.0 },
    PiecewiseExp { alpha: 1.0 },
    Sigmoid { alpha: 4.0 },
    SoftSign { alpha: 2.0 },
    ATan { alpha: 2.0 },
    NonzeroSignLogAbs { alpha: 1.0 },
    Erf { alpha: 2.0 },
    PiecewiseLeakyReLU { w: 1.0, c: 0.01 },
    SquarewaveFourierSeries {
        n: 2,
        t_period: 8.0
    },
    S2NN {
        alpha: 4.0,
        beta: 1.0
    },
    QPseudoSpike { alpha: 2.0 },
    LeakyKReLU { leak: 0.0, k: 1.0 },
    FakeNumericalGradient { alpha: 0.3 },
    LogTailedReLU { alpha: 0.0 },
];

/// A surrogate family: implement this to define a surrogate (the formula once, over [`Real`]).
pub trait SurrogateFunction: Clone + fmt::Debug + Send + Sync + 'static {
    /// SpikingJelly's class name, e.g. `"Sigmoid"`.
    const NAME: &'static str;
    /// The repr's parameters, e.g. `alpha=4.0`.
    fn params(&self) -> String;
    /// Checks the parameters (the message names the parameter, its domain and the default).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// σ'(x), the gradient the spike passes back.
    fn grad<R: Real>(&self, x: R) -> R;
    /// σ(x), the primitive (`spiking=False` output, differentiated by autograd); `None` for a
    /// surrogate that is always spiking.
    fn primitive<R: Real>(&self, _x: R) -> Option<R> {
        None
    }
    /// SpikingJelly's `cuda_codes(y, x, dtype)` text, for families that have one there.
    fn cuda_codes(&self, _y: &str, _x: &str, _dtype: CDtype) -> Option<String> {
        None
    }
}

/// A surrogate behind a pointer, as neurons and fused kernels hold it.
pub type SurrogateRef = Arc<dyn DynSurrogate>;

/// The object-safe face of a [`SurrogateFunction`], implemented for every one: each method is
/// the generic formula instantiated for one number type ([`Scalar`], [`TensorReal`], [`CExpr`]).
pub trait DynSurrogate: fmt::Debug + Send + Sync {
    /// SpikingJelly's class name.
    fn name(&self) -> &'static str;
    /// The repr's parameters.
    fn params(&self) -> String;
    /// Checks the parameters.
    fn check(&self) -> Result<(), String>;
    /// σ'(x) in f32.
    fn grad_scalar(&self, x: f32) -> f32;
    /// `out[i] = σ'(h[i] − v_threshold)`, in one loop compiled for the concrete type (the fused
    /// CPU backward calls this once per row of a chunk).
    fn grad_over_threshold(&self, h: &[f32], v_threshold: f32, out: &mut [f32]);
    /// σ'(x) element-wise on a tensor (no gradient).
    fn grad_tensor(&self, x: &Tensor) -> Tensor;
    /// σ(x) on a tensor, with autograd; `None` if always spiking.
    fn primitive_tensor(&self, x: &Tensor) -> Option<Tensor>;
    /// σ'(x) as a CUDA C `float` expression of the variable `x`.
    fn cuda_grad(&self, x: &str) -> String;
    /// SpikingJelly's `cuda_codes` text, if it has one.
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String>;
    /// The concrete type, to read its parameters back (`downcast_ref::<Sigmoid>()`).
    fn as_any(&self) -> &dyn Any;
}

impl<S: SurrogateFunction> DynSurrogate for S {
    fn name(&self) -> &'static str {
        S::NAME
    }
    fn params(&self) -> String {
        SurrogateFunction::params(self)
    }
    fn check(&self) -> Result<(), String> {
        SurrogateFunction::check(self)
    }
    fn grad_scalar(&self, x: f32) -> f32 {
        self.grad(Scalar(x)).0
    }
    fn grad_over_threshold(&self, h: &[f32], v_threshold: f32, out: &mut [f32]) {
        for (o, h) in out.iter_mut().zip(h) {
            *o = self.grad(Scalar(h - v_threshold)).0;
        }
    }
    fn grad_tensor(&self, x: &Tensor) -> Tensor {
        self.grad(TensorReal(x.detach())).0
    }
    fn primitive_tensor(&self, x: &Tensor) -> Option<Tensor> {
        self.primitive(TensorReal(x.shallow_clone())).map(|p| p.0)
    }
    fn cuda_grad(&self, x: &str) -> String {
        self.grad(CExpr::var(x)).to_string()
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        SurrogateFunction::cuda_codes(self, y, x, dtype)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `Err` unless `v` is finite and > 0, naming the parameter and SpikingJelly's default.
pub fn positive(name: &str, v: f64, default: &str) -> Result<(), String> {
    match v.is_finite() && v > 0.0 {
        true => Ok(()),
        false => Err(format!(
            "{name} must be finite and > 0, got {v} (SpikingJelly's default is {default})"
        )),
    }
}

/// `Err` unless `v` is finite and >= 0, naming the parameter and SpikingJelly's default.
pub fn non_negative(name: &str, v: f64, default: &str) -> Result<(), String> {
    match v.is_finite() && v >= 0.0 {
        true => Ok(()),
        false => Err(format!(
            "{name} must be finite and >= 0, got {v} (SpikingJelly's default is {default})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Firing, IfCharge, NeuronConfig};

    #[test]
    fn built_ins_round_trip_through_json() {
        for s in all_defaults() {
            let json = to_json(s.as_ref()).unwrap();
            let back = from_json(s.name(), json.clone()).unwrap();
            assert_eq!(format!("{back:?}"), format!("{s:?}"));
        }
        assert_eq!(
            to_json(&Sigmoid { alpha: 2.5 }).unwrap().to_string(),
            r#"{"alpha":2.5}"#
        );
        let e = from_json("Sigmoid", serde_json::json!({"alpha": 1.0, "beta": 2.0})).unwrap_err();
        assert!(e.starts_with("Sigmoid: unknown field `beta`"), "{e}");
        let e = from_json("Sigmoid", serde_json::json!({"alpha": -1.0})).unwrap_err();
        assert!(e.contains("alpha"), "checked: {e}");
        let e = from_json("Triangle", serde_json::json!({})).unwrap_err();
        assert!(
            e.starts_with("\"Triangle\" is not a built-in surrogate (PiecewiseQuadratic, "),
            "{e}"
        );
    }

    #[test]
    fn every_surrogate_compiles_into_a_kernel() {
        for surrogate in all_defaults() {
            let cfg = NeuronConfig::new(
                Arc::new(IfCharge),
                Firing {
                    v_threshold: 1.0,
                    v_reset: Some(0.0),
                    detach_reset: false,
                    surrogate: surrogate.clone(),
                },
            );
            let src = crate::cuda::source(&cfg);
            if let Err(e) = crate::cuda::compile(&src) {
                panic!("{surrogate:?}: {e}");
            }
        }
    }

    #[test]
    fn scalar_tensor_and_row_forms_agree() {
        let xs: Vec<f32> = (-300..=300).map(|i| i as f32 * 0.01 + 0.003).collect();
        let t = Tensor::from_slice(&xs);
        for s in all_defaults() {
            let want = Vec::<f32>::try_from(&s.grad_tensor(&t)).unwrap();
            let mut row = vec![0.0; xs.len()];
            s.grad_over_threshold(&xs, 0.0, &mut row);
            for ((x, w), r) in xs.iter().zip(&want).zip(&row) {
                assert_eq!(s.grad_scalar(*x), *r, "{s:?} at {x}");
                assert!(
                    (r - w).abs() <= 1e-6 * (1.0 + w.abs()),
                    "{s:?} at {x}: {r} vs {w}"
                );
            }
        }
    }
}
