//! `activation_based.surrogate`: surrogate gradient functions (inventory §1.11, §2.3).
//!
//! With `spiking = true` the forward value is exactly the Heaviside step `Θ(x)` (`Θ(0) = 1`) and
//! the gradient is exactly the surrogate's formula σ'(x). tch has no custom autograd function, so
//! [`spike`] builds `Θ(x) + (x − x.detach())·σ'(x).detach()`: the second term is exactly zero in
//! value and contributes exactly σ'(x) to the gradient. With `spiking = false` the primitive σ(x)
//! is returned, with its own autograd gradient.
//!
//! Each family is one [`SurrogateFunction`] (in `sj_kernels::surrogate`, one file per family,
//! its formulas written once for the op-by-op path, the CPU kernels and the CUDA kernels). A
//! user-defined surrogate implements the same trait and trains through the fused kernels too:
//!
//! ```
//! use sj::surrogate::{Real, Surrogate, SurrogateFunction};
//! use tch::{Kind, Tensor};
//! let x = Tensor::from_slice(&[-0.5f32, 0.0, 0.25]).set_requires_grad(true);
//! let y = Surrogate::sigmoid(4.0).unwrap().forward(&x);
//! assert_eq!(Vec::<f32>::try_from(&y).unwrap(), vec![0.0, 1.0, 1.0]);
//! y.sum(Kind::Float).backward();
//! assert!((x.grad().double_value(&[1]) - 1.0).abs() < 1e-6); // σ'(0) = α/4 = 1
//!
//! /// A triangle: σ'(x) = max(0, 1 − |x|/w)/w.
//! #[derive(Clone, Debug)]
//! struct Triangle { w: f64 }
//! impl SurrogateFunction for Triangle {
//!     const NAME: &'static str = "Triangle";
//!     fn params(&self) -> String { format!("w={:?}", self.w) }
//!     fn check(&self) -> Result<(), String> { sj::surrogate::positive("w", self.w, "1.0") }
//!     fn grad<R: Real>(&self, x: R) -> R { (x.abs() / self.w).rsub(1.0).max_c(0.0) / self.w }
//! }
//! let tri = Surrogate::new(Triangle { w: 0.5 }).unwrap();
//! assert_eq!(tri.to_string(), "Triangle(w=0.5, spiking=True)");
//! assert!(Surrogate::new(Triangle { w: -1.0 }).is_err());
//! ```
use crate::error::{Result, SjError};
use std::fmt;
use std::sync::Arc;
use tch::Tensor;

use sj_kernels::cuda::cfunction::CDtype;
pub use sj_kernels::real::Real;
pub use sj_kernels::surrogate::{
    non_negative, positive, ATan, DynSurrogate, Erf, FakeNumericalGradient, LeakyKReLU,
    LogTailedReLU, NonzeroSignLogAbs, PiecewiseExp, PiecewiseLeakyReLU, PiecewiseQuadratic,
    QPseudoSpike, Sigmoid, SoftSign, SquarewaveFourierSeries, SurrogateFunction, SurrogateRef,
    S2NN,
};

/// A surrogate function module: the family with its parameters, plus `spiking`.
///
/// As JSON (run records): `{"function": "Sigmoid", "params": {"alpha": 4.0}, "spiking": true}`.
/// A user-defined family is written with its repr's parameters as a string and cannot be read
/// back (the error says so).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "SurrogateRecord", try_from = "SurrogateRecord")]
pub struct Surrogate {
    /// Which function and its parameters (any [`SurrogateFunction`]).
    pub function: SurrogateRef,
    /// `true`: Heaviside forward, surrogate backward. `false`: the primitive function.
    pub spiking: bool,
}

/// [`Surrogate`]'s JSON form.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SurrogateRecord {
    function: String,
    params: serde_json::Value,
    spiking: bool,
}

impl From<Surrogate> for SurrogateRecord {
    fn from(s: Surrogate) -> Self {
        SurrogateRecord {
            function: s.function.name().to_string(),
            params: sj_kernels::surrogate::to_json(s.function.as_ref())
                .unwrap_or_else(|| serde_json::Value::String(s.function.params())),
            spiking: s.spiking,
        }
    }
}

impl TryFrom<SurrogateRecord> for Surrogate {
    type Error = String;
    fn try_from(r: SurrogateRecord) -> std::result::Result<Self, String> {
        Ok(Surrogate {
            function: sj_kernels::surrogate::from_json(&r.function, r.params)?,
            spiking: r.spiking,
        })
    }
}

impl Default for Surrogate {
    /// `Sigmoid(alpha=4.0, spiking=True)`, every neuron's default.
    fn default() -> Self {
        Surrogate {
            function: Arc::new(Sigmoid { alpha: 4.0 }),
            spiking: true,
        }
    }
}

impl fmt::Debug for Surrogate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl PartialEq for Surrogate {
    /// The same family, parameters and mode (compared by SpikingJelly's repr).
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// `heaviside(x)`: 1 where `x >= 0`, else 0, in x's dtype.
pub fn heaviside(x: &Tensor) -> Tensor {
    x.ge(0.0).to_kind(x.kind())
}

/// Heaviside forward with gradient `grad` (σ'(x), same shape as x) flowing to x.
pub fn spike(x: &Tensor, grad: &Tensor) -> Tensor {
    crate::quantize::straight_through(x, &heaviside(&x.detach()), Some(grad))
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $fn:ident => $family:ident { $($p:ident : $t:ty),* };)*) => {
        impl Surrogate {
            $($(#[$doc])*
            ///
            /// Errors (naming the surrogate, the parameter and SpikingJelly's default) outside the
            /// parameter's domain.
            pub fn $fn($($p: $t),*) -> Result<Self> {
                Surrogate::new($family { $($p),* })
            })*
        }
    };
}

constructors! {
    /// `PiecewiseQuadratic(alpha)`; SpikingJelly's default alpha is 1.0.
    piecewise_quadratic => PiecewiseQuadratic { alpha: f64 };
    /// `PiecewiseExp(alpha)`; default 1.0.
    piecewise_exp => PiecewiseExp { alpha: f64 };
    /// `Sigmoid(alpha)`; default 4.0.
    sigmoid => Sigmoid { alpha: f64 };
    /// `SoftSign(alpha)`; default 2.0.
    soft_sign => SoftSign { alpha: f64 };
    /// `ATan(alpha)`; default 2.0.
    atan => ATan { alpha: f64 };
    /// `NonzeroSignLogAbs(alpha)`; default 1.0.
    nonzero_sign_log_abs => NonzeroSignLogAbs { alpha: f64 };
    /// `Erf(alpha)`; default 2.0.
    erf => Erf { alpha: f64 };
    /// `PiecewiseLeakyReLU(w, c)`; defaults 1.0, 0.01.
    piecewise_leaky_relu => PiecewiseLeakyReLU { w: f64, c: f64 };
    /// `SquarewaveFourierSeries(n, T_period)`; defaults 2, 8.
    squarewave_fourier_series => SquarewaveFourierSeries { n: i64, t_period: f64 };
    /// `S2NN(alpha, beta)`; defaults 4.0, 1.0.
    s2nn => S2NN { alpha: f64, beta: f64 };
    /// `QPseudoSpike(alpha)`; default 2.0.
    q_pseudo_spike => QPseudoSpike { alpha: f64 };
    /// `LeakyKReLU(leak, k)`; defaults 0.0, 1.0.
    leaky_k_relu => LeakyKReLU { leak: f64, k: f64 };
    /// `FakeNumericalGradient(alpha)`; default 0.3.
    fake_numerical_gradient => FakeNumericalGradient { alpha: f64 };
    /// `LogTailedReLU(alpha)`; default 0.0.
    log_tailed_relu => LogTailedReLU { alpha: f64 };
}

impl Surrogate {
    /// A spiking surrogate of `function` (a built-in family or a user's [`SurrogateFunction`]),
    /// after checking its parameters.
    pub fn new(function: impl SurrogateFunction) -> Result<Self> {
        Surrogate::from_ref(Arc::new(function))
    }

    /// [`Surrogate::new`] from a shared function.
    pub fn from_ref(function: SurrogateRef) -> Result<Self> {
        let surrogate = Surrogate {
            function,
            spiking: true,
        };
        surrogate.check()?;
        Ok(surrogate)
    }

    /// Checks the parameters (the fields are public, so neurons check again before each forward).
    pub fn check(&self) -> Result<()> {
        self.function
            .check()
            .map_err(|e| SjError::config(self.name(), e))
    }

    /// Every surrogate family with SpikingJelly's default parameters, for sweeps and tests.
    pub fn all_defaults() -> Vec<Surrogate> {
        sj_kernels::surrogate::all_defaults()
            .into_iter()
            .map(|function| Surrogate {
                function,
                spiking: true,
            })
            .collect()
    }

    /// Returns a copy with `spiking` set (`set_spiking_mode`).
    pub fn with_spiking(mut self, spiking: bool) -> Self {
        self.spiking = spiking;
        self
    }

    /// The SpikingJelly class name.
    pub fn name(&self) -> &'static str {
        self.function.name()
    }

    /// `forward(x)`: [`spike`] with this surrogate's gradient when spiking, else the primitive.
    /// A surrogate without a primitive (FakeNumericalGradient) is always spiking.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match self.primitive(x) {
            Ok(p) if !self.spiking => p,
            _ => spike(x, &self.grad(x)),
        }
    }

    /// σ'(x), the backward formula of the SpikingJelly source, element-wise.
    pub fn grad(&self, x: &Tensor) -> Tensor {
        self.function.grad_tensor(x)
    }

    /// `cuda_codes(y, x, dtype)`: SpikingJelly's C snippet that assigns σ'(`x`) to `y`, for
    /// `dtype` `"float"` or `"half2"`, text for text as SpikingJelly writes it (checklist 287), for
    /// kernels written the way the "Implement CUPY Neuron" tutorial does. Errors for an unknown
    /// dtype and for surrogates without CUDA code in SpikingJelly (PiecewiseQuadratic,
    /// PiecewiseExp, SoftSign, NonzeroSignLogAbs, Erf, SquarewaveFourierSeries).
    ///
    /// ```
    /// let code = sj::surrogate::Surrogate::sigmoid(4.0).unwrap().cuda_codes("grad_s", "over_th", "float").unwrap();
    /// assert!(code.ends_with("grad_s = (1.0f - sigmoid_backward__sigmoid_ax) * sigmoid_backward__sigmoid_ax * (4.0f);"));
    /// ```
    pub fn cuda_codes(&self, y: &str, x: &str, dtype: &str) -> Result<String> {
        self.check()?;
        let dt = CDtype::parse(dtype).ok_or_else(|| {
            SjError::config(
                self.name(),
                format!("dtype must be 'float' or 'half2', got '{dtype}'"),
            )
        })?;
        self.function.cuda_codes(y, x, dt).ok_or_else(|| {
            SjError::config(
                self.name(),
                "SpikingJelly has no CUDA code for this surrogate",
            )
        })
    }

    /// σ(x), the primitive function (`spiking=False` output). FakeNumericalGradient has none.
    pub fn primitive(&self, x: &Tensor) -> Result<Tensor> {
        self.function.primitive_tensor(x).ok_or_else(|| {
            SjError::config(
                self.name(),
                "has no primitive function (it is always spiking)",
            )
        })
    }
}

impl fmt::Display for Surrogate {
    /// SpikingJelly's repr, e.g. `Sigmoid(alpha=4.0, spiking=True)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let py = |b: bool| if b { "True" } else { "False" };
        write!(
            f,
            "{}({}, spiking={})",
            self.name(),
            self.function.params(),
            py(self.spiking)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;
    use tch::{Device, Kind};

    fn random(n: i64, seed: i64) -> Tensor {
        tch::manual_seed(seed);
        // Keep clear of the kinks (|x| = 1/alpha, w, 0, 1) where a central difference straddles two branches.
        let x = Tensor::rand([n], (Kind::Double, Device::Cpu)) * 6.0 - 3.0;
        let near_kink = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]
            .iter()
            .fold(x.zeros_like().to_kind(Kind::Bool), |m, k| {
                m.logical_or(&(&x - *k).abs().lt(1e-3))
            });
        x.masked_fill(&near_kink, 0.123)
    }

    fn to_vec(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(&t.to_kind(Kind::Double).contiguous()).unwrap()
    }

    #[test]
    fn sigmoid_reference_numbers_checklist_284() {
        // Inventory §2.3: Sigmoid(alpha=4) on these inputs.
        let xs = [
            -0.1303f32, 0.4976, 0.3364, 0.4296, 0.2779, 0.4580, 0.4447, 0.2466,
        ];
        let grads = [
            0.9351, 0.4231, 0.6557, 0.5158, 0.7451, 0.4759, 0.4943, 0.7913,
        ];
        let x = Tensor::from_slice(&xs).set_requires_grad(true);
        let y = Surrogate::sigmoid(4.0).unwrap().forward(&x);
        assert_eq!(to_vec(&y), vec![0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        y.sum(Kind::Float).backward();
        for (g, want) in to_vec(&x.grad()).iter().zip(grads) {
            assert!((g - want).abs() < 1e-4, "{g} vs {want}");
        }
    }

    #[test]
    fn spiking_forward_is_exact_heaviside_and_gradient_is_exact_formula() {
        let x0 = random(4096, 1).to_kind(Kind::Float);
        let x0 = Tensor::cat(&[x0, Tensor::from_slice(&[0.0f32, -0.0])], 0);
        for s in Surrogate::all_defaults() {
            let x = x0.detach().set_requires_grad(true);
            let y = s.forward(&x);
            assert!(y.equal(&heaviside(&x0)), "{s}: forward is not Θ(x)");
            let g_out = Tensor::rand_like(&x0);
            (&y * &g_out).sum(Kind::Float).backward();
            let want = s.grad(&x0) * &g_out;
            assert!(
                x.grad().equal(&want),
                "{s}: gradient differs from the formula"
            );
        }
    }

    #[test]
    fn gradient_formula_matches_finite_difference_of_primitive() {
        let x = random(2000, 2);
        let h = 1e-6;
        for s in Surrogate::all_defaults() {
            let Ok(plus) = s.primitive(&(&x + h)) else {
                assert_eq!(s.name(), "FakeNumericalGradient");
                continue;
            };
            let fd = (plus - s.primitive(&(&x - h)).unwrap()) / (2.0 * h);
            let mut want = s.grad(&x);
            let plr = s.function.as_any().downcast_ref::<PiecewiseLeakyReLU>();
            if let Some(&PiecewiseLeakyReLU { w, .. }) = plr {
                // §2.3 DOC-BUG: the backward uses 1/w inside, the primitive's slope is 1/(2w).
                want = want.where_self(&x.abs().ge(w), &(want.shallow_clone() / 2.0));
            }
            let err = (fd - &want).abs().max().double_value(&[]);
            assert!(err < 1e-5, "{s}: max |fd - grad| = {err}");
        }
    }

    #[test]
    fn spiking_false_returns_the_primitive_with_its_autograd_gradient() {
        let x = Tensor::from_slice(&[-0.3f64, 0.2]).set_requires_grad(true);
        let s = Surrogate::atan(2.0).unwrap().with_spiking(false);
        let y = s.forward(&x);
        let want: Vec<f64> = [-0.3f64, 0.2]
            .iter()
            .map(|v| (PI / 2.0 * 2.0 * v).atan() / PI + 0.5)
            .collect();
        assert_eq!(to_vec(&y), want);
        y.sum(Kind::Double).backward();
        let gw: Vec<f64> = [-0.3f64, 0.2]
            .iter()
            .map(|v| 1.0 / (1.0 + (PI / 2.0 * 2.0 * v).powi(2)))
            .collect();
        for (g, w) in to_vec(&x.grad()).iter().zip(gw) {
            assert!((g - w).abs() < 1e-12);
        }
    }

    #[test]
    fn known_values_at_zero_and_reprs() {
        let zero = Tensor::from_slice(&[0.0f64]);
        // Defaults are chosen so that σ'(0) is the maximum 1 for these families (§1.11).
        for s in [
            Surrogate::sigmoid(4.0).unwrap(),
            Surrogate::atan(2.0).unwrap(),
            Surrogate::piecewise_quadratic(1.0).unwrap(),
            Surrogate::soft_sign(2.0).unwrap(),
        ] {
            assert!(
                (s.grad(&zero).double_value(&[0]) - 1.0).abs() < 1e-12,
                "{s}"
            );
        }
        assert_eq!(
            Surrogate::default().to_string(),
            "Sigmoid(alpha=4.0, spiking=True)"
        );
        assert_eq!(
            Surrogate::atan(2.0)
                .unwrap()
                .with_spiking(false)
                .to_string(),
            "ATan(alpha=2.0, spiking=False)"
        );
        assert_eq!(
            Surrogate::fake_numerical_gradient(0.3)
                .unwrap()
                .grad(&zero)
                .double_value(&[0]),
            0.3
        );
    }
}

#[cfg(test)]
mod primitive_at_zero {
    use super::*;
    use tch::Kind;

    /// Issue 17 item 2: the autograd derivative of each primitive at +0 and −0 is the surrogate's
    /// σ'(0). SpikingJelly writes NonzeroSignLogAbs and QPseudoSpike with the sign mask times x
    /// (the derivative of |x| at 0 is 0 in autograd). PiecewiseLeakyReLU's primitive has slope
    /// 1/(2w) inside against the gradient's 1/w (§2.3 DOC-BUG), so it is compared with that.
    #[test]
    fn autograd_gradient_of_the_primitive_at_plus_and_minus_zero() {
        for s in Surrogate::all_defaults() {
            let x = Tensor::from_slice(&[0.0f64, -0.0]).set_requires_grad(true);
            let Ok(y) = s.primitive(&x) else {
                assert_eq!(s.name(), "FakeNumericalGradient");
                continue;
            };
            y.sum(Kind::Double).backward();
            let mut want = s.grad(&Tensor::from_slice(&[0.0f64])).double_value(&[0]);
            if s.name() == "PiecewiseLeakyReLU" {
                want /= 2.0;
            }
            for i in 0..2 {
                let g = x.grad().double_value(&[i]);
                // S2NN's primitive has ln(|x + 1| + 1e-5): its slope at 0 is β/(1 + 1e-5)
                assert!(
                    (g - want).abs() <= 2e-5 * want.abs(),
                    "{s} at {}0: autograd {g}, σ'(0) = {want}",
                    ["+", "-"][i as usize]
                );
            }
        }
    }

    /// S2NN's primitive is SpikingJelly's code: continuous at 0 (σ(0) = 1/2 on both sides).
    #[test]
    fn s2nn_primitive_is_continuous_at_zero() {
        let s = Surrogate::s2nn(4.0, 1.0).unwrap().with_spiking(false);
        let y = s.forward(&Tensor::from_slice(&[-1e-9f64, 0.0, 1e-9]));
        let y = Vec::<f64>::try_from(&y).unwrap();
        assert!(
            (y[0] - 0.5).abs() < 1e-8 && (y[1] - 0.5).abs() < 2e-5 && (y[2] - 0.5).abs() < 2e-5,
            "{y:?}"
        );
    }
}
