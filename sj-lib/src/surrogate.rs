//! `activation_based.surrogate`: surrogate gradient functions (inventory §1.11, §2.3).
//!
//! With `spiking = true` the forward value is exactly the Heaviside step `Θ(x)` (`Θ(0) = 1`) and
//! the gradient is exactly the surrogate's formula σ'(x). tch has no custom autograd function, so
//! [`spike`] builds `Θ(x) + (x − x.detach())·σ'(x).detach()`: the second term is exactly zero in
//! value and contributes exactly σ'(x) to the gradient. With `spiking = false` the primitive σ(x)
//! is returned, with its own autograd gradient.
//!
//! ```
//! use sj::surrogate::Surrogate;
//! use tch::{Kind, Tensor};
//! let x = Tensor::from_slice(&[-0.5f32, 0.0, 0.25]).set_requires_grad(true);
//! let y = Surrogate::sigmoid(4.0).unwrap().forward(&x);
//! assert_eq!(Vec::<f32>::try_from(&y).unwrap(), vec![0.0, 1.0, 1.0]);
//! y.sum(Kind::Float).backward();
//! assert!((x.grad().double_value(&[1]) - 1.0).abs() < 1e-6); // σ'(0) = α/4 = 1
//! ```
use crate::error::{Result, SjError};
use std::f64::consts::PI;
use std::fmt;
use tch::Tensor;

use sj_kernels::cuda::cfunction::CDtype;
/// The surrogate families with their parameters; defined in sj-kernels, which also holds their
/// scalar and CUDA forms for the fused kernels.
pub use sj_kernels::SurrogateKind;

/// A surrogate function module: the kind plus `spiking`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Surrogate {
    /// Which function and its parameters.
    pub kind: SurrogateKind,
    /// `true`: Heaviside forward, surrogate backward. `false`: the primitive function.
    pub spiking: bool,
}

impl Default for Surrogate {
    /// `Sigmoid(alpha=4.0, spiking=True)`, every neuron's default.
    fn default() -> Self {
        Surrogate {
            kind: SurrogateKind::Sigmoid { alpha: 4.0 },
            spiking: true,
        }
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
    ($($(#[$doc:meta])* $fn:ident => $variant:ident { $($p:ident : $t:ty),* };)*) => {
        impl Surrogate {
            $($(#[$doc])*
            ///
            /// Errors (naming the surrogate, the parameter and SpikingJelly's default) outside the
            /// parameter's domain: see [`SurrogateKind::check`].
            pub fn $fn($($p: $t),*) -> Result<Self> {
                Surrogate::new(SurrogateKind::$variant { $($p),* })
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
    /// A spiking surrogate of `kind`, after checking its parameters ([`SurrogateKind::check`]).
    pub fn new(kind: SurrogateKind) -> Result<Self> {
        let surrogate = Surrogate {
            kind,
            spiking: true,
        };
        surrogate.check()?;
        Ok(surrogate)
    }

    /// Checks the parameters (the fields are public, so neurons check again before each forward).
    pub fn check(&self) -> Result<()> {
        self.kind
            .check()
            .map_err(|e| SjError::config(self.name(), e))
    }

    /// Every surrogate family with SpikingJelly's default parameters, for sweeps and tests.
    pub fn all_defaults() -> Vec<Surrogate> {
        use SurrogateKind::*;
        [
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
                t_period: 8.0,
            },
            S2NN {
                alpha: 4.0,
                beta: 1.0,
            },
            QPseudoSpike { alpha: 2.0 },
            LeakyKReLU { leak: 0.0, k: 1.0 },
            FakeNumericalGradient { alpha: 0.3 },
            LogTailedReLU { alpha: 0.0 },
        ]
        .into_iter()
        .map(|kind| Surrogate {
            kind,
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
        match self.kind {
            SurrogateKind::PiecewiseQuadratic { .. } => "PiecewiseQuadratic",
            SurrogateKind::PiecewiseExp { .. } => "PiecewiseExp",
            SurrogateKind::Sigmoid { .. } => "Sigmoid",
            SurrogateKind::SoftSign { .. } => "SoftSign",
            SurrogateKind::ATan { .. } => "ATan",
            SurrogateKind::NonzeroSignLogAbs { .. } => "NonzeroSignLogAbs",
            SurrogateKind::Erf { .. } => "Erf",
            SurrogateKind::PiecewiseLeakyReLU { .. } => "PiecewiseLeakyReLU",
            SurrogateKind::SquarewaveFourierSeries { .. } => "SquarewaveFourierSeries",
            SurrogateKind::S2NN { .. } => "S2NN",
            SurrogateKind::QPseudoSpike { .. } => "QPseudoSpike",
            SurrogateKind::LeakyKReLU { .. } => "LeakyKReLU",
            SurrogateKind::FakeNumericalGradient { .. } => "FakeNumericalGradient",
            SurrogateKind::LogTailedReLU { .. } => "LogTailedReLU",
        }
    }

    /// `forward(x)`: [`spike`] with this surrogate's gradient when spiking, else the primitive.
    /// FakeNumericalGradient is always spiking.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match self.primitive(x) {
            Ok(p) if !self.spiking => p,
            _ => spike(x, &self.grad(x)),
        }
    }

    /// σ'(x), the backward formula of the SpikingJelly source, element-wise.
    pub fn grad(&self, x: &Tensor) -> Tensor {
        let x = &x.detach();
        match self.kind {
            SurrogateKind::PiecewiseQuadratic { alpha } => {
                let outside = x.abs().gt(1.0 / alpha);
                (x.abs() * (-alpha * alpha) + alpha).masked_fill(&outside, 0.0)
            }
            SurrogateKind::PiecewiseExp { alpha } => (x.abs() * -alpha).exp() * (alpha / 2.0),
            SurrogateKind::Sigmoid { alpha } => {
                let s = (x * alpha).sigmoid();
                (1.0 - &s) * &s * alpha
            }
            SurrogateKind::SoftSign { alpha } => {
                1.0 / ((x.abs() + 1.0 / alpha).square() * (2.0 * alpha))
            }
            SurrogateKind::ATan { alpha } => {
                alpha / 2.0 / ((x * (PI / 2.0 * alpha)).square() + 1.0)
            }
            SurrogateKind::NonzeroSignLogAbs { alpha } => 1.0 / (x.abs() + 1.0 / alpha),
            SurrogateKind::Erf { alpha } => (-(x * alpha).square()).exp() * (alpha / PI.sqrt()),
            SurrogateKind::PiecewiseLeakyReLU { w, c } => {
                let inside = x.abs().lt(w);
                x.full_like(c).masked_fill(&inside, 1.0 / w)
            }
            SurrogateKind::SquarewaveFourierSeries { n, t_period } => {
                let omega = 2.0 * PI / t_period;
                let sum = (1..n).fold(x.zeros_like(), |acc, i| {
                    acc + (x * ((2 * i - 1) as f64 * omega)).cos()
                });
                sum * (4.0 / t_period)
            }
            SurrogateKind::S2NN { alpha, beta } => {
                let s = (x * alpha).sigmoid();
                let neg: Tensor = (1.0 - &s) * &s * alpha;
                let pos = beta / (x.clamp_min(0.0) + 1.0);
                neg.where_self(&x.lt(0.0), &pos)
            }
            SurrogateKind::QPseudoSpike { alpha } => {
                (x.abs() * (2.0 / (alpha - 1.0)) + 1.0).pow_tensor_scalar(-alpha)
            }
            SurrogateKind::LeakyKReLU { leak, k } => {
                x.full_like(k).where_self(&x.ge(0.0), &x.full_like(leak))
            }
            // sign(x)/x = 1/|x|; written on |x| so that x = -0.0 gives alpha, not SpikingJelly's -inf.
            SurrogateKind::FakeNumericalGradient { alpha } => x.abs().reciprocal().clamp_max(alpha),
            SurrogateKind::LogTailedReLU { alpha } => {
                let tail: Tensor = 1.0 / x.clamp_min(1.0);
                tail.masked_fill(&x.le(0.0), alpha)
            }
        }
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
        self.kind.cuda_codes(y, x, dt).ok_or_else(|| {
            SjError::config(
                self.name(),
                "SpikingJelly has no CUDA code for this surrogate",
            )
        })
    }

    /// σ(x), the primitive function (`spiking=False` output). FakeNumericalGradient has none.
    pub fn primitive(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self.kind {
            SurrogateKind::PiecewiseQuadratic { alpha } => {
                let mid = -0.5 * alpha * alpha * x.abs() * x + alpha * x + 0.5;
                let lo = x.lt(-1.0 / alpha);
                let hi = x.gt(1.0 / alpha);
                mid.masked_fill(&lo, 0.0).masked_fill(&hi, 1.0)
            }
            SurrogateKind::PiecewiseExp { alpha } => {
                let neg = (x.clamp_max(0.0) * alpha).exp() * 0.5;
                let pos = 1.0 - (x.clamp_min(0.0) * -alpha).exp() * 0.5;
                neg.where_self(&x.lt(0.0), &pos)
            }
            SurrogateKind::Sigmoid { alpha } => (x * alpha).sigmoid(),
            SurrogateKind::SoftSign { alpha } => {
                let ax = x * alpha;
                (&ax / (ax.abs() + 1.0) + 1.0) * 0.5
            }
            SurrogateKind::ATan { alpha } => (x * (PI / 2.0 * alpha)).atan() / PI + 0.5,
            SurrogateKind::NonzeroSignLogAbs { alpha } => {
                (heaviside(x) * 2.0 - 1.0) * ((x * alpha).abs() + 1.0).log()
            }
            SurrogateKind::Erf { alpha } => (x * -alpha).erfc() * 0.5,
            SurrogateKind::PiecewiseLeakyReLU { w, c } => {
                let mid = x / (2.0 * w) + 0.5;
                let (lo_v, hi_v) = if c == 0.0 {
                    (x.zeros_like(), x.ones_like())
                } else {
                    (x * c + c * w, x * c - c * w + 1.0)
                };
                mid.where_self(&x.ge(-w), &lo_v).where_self(&x.le(w), &hi_v)
            }
            SurrogateKind::SquarewaveFourierSeries { n, t_period } => {
                let omega = 2.0 * PI / t_period;
                let sum = (1..n).fold(x.zeros_like(), |acc, i| {
                    let c = (2 * i - 1) as f64;
                    acc + (x * (c * omega)).sin() / c
                });
                sum * (2.0 / PI) + 0.5
            }
            SurrogateKind::S2NN { alpha, beta } => {
                let neg = (x * alpha).sigmoid();
                let pos = (x.clamp_min(0.0) + 1.0).log() * beta + 1.0;
                neg.where_self(&x.lt(0.0), &pos)
            }
            SurrogateKind::QPseudoSpike { alpha } => {
                let base =
                    (x.abs() * (2.0 / (alpha - 1.0)) + 1.0).pow_tensor_scalar(1.0 - alpha) * 0.5;
                let upper: Tensor = 1.0 - &base;
                upper.where_self(&x.ge(0.0), &base)
            }
            SurrogateKind::LeakyKReLU { leak, k } => (x * k).where_self(&x.ge(0.0), &(x * leak)),
            SurrogateKind::FakeNumericalGradient { .. } => {
                return Err(SjError::config(
                    "FakeNumericalGradient",
                    "has no primitive function (it is always spiking)",
                ))
            }
            SurrogateKind::LogTailedReLU { alpha } => {
                let tail = x.clamp_min(1.0).log() + 1.0;
                (x * alpha).where_self(&x.le(0.0), &x.where_self(&x.le(1.0), &tail))
            }
        })
    }
}

impl fmt::Display for Surrogate {
    /// SpikingJelly's repr, e.g. `Sigmoid(alpha=4.0, spiking=True)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let py = |b: bool| if b { "True" } else { "False" };
        let params = match self.kind {
            SurrogateKind::PiecewiseLeakyReLU { w, c } => format!("w={w:?}, c={c:?}"),
            SurrogateKind::SquarewaveFourierSeries { n, t_period } => {
                format!("n={n}, T_period={t_period:?}")
            }
            SurrogateKind::S2NN { alpha, beta } => format!("alpha={alpha:?}, beta={beta:?}"),
            SurrogateKind::LeakyKReLU { leak, k } => format!("leak={leak:?}, k={k:?}"),
            SurrogateKind::PiecewiseQuadratic { alpha }
            | SurrogateKind::PiecewiseExp { alpha }
            | SurrogateKind::Sigmoid { alpha }
            | SurrogateKind::SoftSign { alpha }
            | SurrogateKind::ATan { alpha }
            | SurrogateKind::NonzeroSignLogAbs { alpha }
            | SurrogateKind::Erf { alpha }
            | SurrogateKind::QPseudoSpike { alpha }
            | SurrogateKind::FakeNumericalGradient { alpha }
            | SurrogateKind::LogTailedReLU { alpha } => format!("alpha={alpha:?}"),
        };
        write!(f, "{}({params}, spiking={})", self.name(), py(self.spiking))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            if let SurrogateKind::PiecewiseLeakyReLU { w, .. } = s.kind {
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
