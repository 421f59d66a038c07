//! The surrogate families of SpikingJelly (inventory §2.3), shared by sj's tensor code and the
//! fused kernels: the scalar gradient σ'(x) used in the CPU loops and the CUDA snippet of the same
//! formula used in the generated kernels.
use crate::cuda::cfunction::{self as cf, CDtype};

/// The surrogate families with their shape parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SurrogateKind {
    /// `PiecewiseQuadratic(alpha=1.0)`.
    PiecewiseQuadratic { alpha: f64 },
    /// `PiecewiseExp(alpha=1.0)`.
    PiecewiseExp { alpha: f64 },
    /// `Sigmoid(alpha=4.0)`, the default of every neuron.
    Sigmoid { alpha: f64 },
    /// `SoftSign(alpha=2.0)`.
    SoftSign { alpha: f64 },
    /// `ATan(alpha=2.0)`.
    ATan { alpha: f64 },
    /// `NonzeroSignLogAbs(alpha=1.0)`.
    NonzeroSignLogAbs { alpha: f64 },
    /// `Erf(alpha=2.0)`.
    Erf { alpha: f64 },
    /// `PiecewiseLeakyReLU(w=1.0, c=0.01)`; the gradient inside is `1/w` as in the source (§2.3 DOC-BUG).
    PiecewiseLeakyReLU { w: f64, c: f64 },
    /// `SquarewaveFourierSeries(n=2, T_period=8)`.
    SquarewaveFourierSeries { n: i64, t_period: f64 },
    /// `S2NN(alpha=4.0, beta=1.0)`.
    S2NN { alpha: f64, beta: f64 },
    /// `QPseudoSpike(alpha=2.0)`.
    QPseudoSpike { alpha: f64 },
    /// `LeakyKReLU(leak=0.0, k=1.0)`.
    LeakyKReLU { leak: f64, k: f64 },
    /// `FakeNumericalGradient(alpha=0.3)`: always spiking, no primitive.
    FakeNumericalGradient { alpha: f64 },
    /// `LogTailedReLU(alpha=0.0)`.
    LogTailedReLU { alpha: f64 },
}

const FRAC_1_SQRT_PI: f32 = 0.564_189_6;

impl SurrogateKind {
    /// Checks the parameters against the domain where σ' is the finite, non-negative surrogate
    /// SpikingJelly means (`alpha > 0`, `QPseudoSpike`'s `alpha > 1`, ...); the message names the
    /// parameter, what it must be and SpikingJelly's default.
    pub fn check(&self) -> Result<(), String> {
        let positive = |name: &str, v: f64, default: &str| match v.is_finite() && v > 0.0 {
            true => Ok(()),
            false => Err(format!(
                "{name} must be finite and > 0, got {v} (SpikingJelly's default is {default})"
            )),
        };
        let non_negative = |name: &str, v: f64, default: &str| match v.is_finite() && v >= 0.0 {
            true => Ok(()),
            false => Err(format!(
                "{name} must be finite and >= 0, got {v} (SpikingJelly's default is {default})"
            )),
        };
        match *self {
            SurrogateKind::PiecewiseQuadratic { alpha }
            | SurrogateKind::PiecewiseExp { alpha }
            | SurrogateKind::NonzeroSignLogAbs { alpha } => positive("alpha", alpha, "1.0"),
            SurrogateKind::Sigmoid { alpha } => positive("alpha", alpha, "4.0"),
            SurrogateKind::SoftSign { alpha }
            | SurrogateKind::ATan { alpha }
            | SurrogateKind::Erf { alpha } => positive("alpha", alpha, "2.0"),
            SurrogateKind::PiecewiseLeakyReLU { w, c } => {
                positive("w", w, "1.0")?;
                non_negative("c", c, "0.01")
            }
            SurrogateKind::SquarewaveFourierSeries { n, t_period } => {
                if n < 1 {
                    return Err(format!(
                        "n must be >= 1, got {n} (SpikingJelly's default is 2)"
                    ));
                }
                positive("T_period", t_period, "8")
            }
            SurrogateKind::S2NN { alpha, beta } => {
                positive("alpha", alpha, "4.0")?;
                positive("beta", beta, "1.0")
            }
            SurrogateKind::QPseudoSpike { alpha } => match alpha.is_finite() && alpha > 1.0 {
                true => Ok(()),
                false => Err(format!(
                    "alpha must be finite and > 1 (the tail exponent; 1 divides by zero), got \
                     {alpha} (SpikingJelly's default is 2.0)"
                )),
            },
            SurrogateKind::LeakyKReLU { leak, k } => {
                non_negative("leak", leak, "0.0")?;
                positive("k", k, "1.0")
            }
            SurrogateKind::FakeNumericalGradient { alpha } => positive("alpha", alpha, "0.3"),
            SurrogateKind::LogTailedReLU { alpha } => non_negative("alpha", alpha, "0.0"),
        }
    }

    /// σ'(x) in f32, the same formula as sj's tensor `Surrogate::grad`.
    #[inline(always)]
    pub fn grad(&self, x: f32) -> f32 {
        use std::f32::consts::PI;
        match *self {
            SurrogateKind::PiecewiseQuadratic { alpha } => {
                let a = alpha as f32;
                if x.abs() > 1.0 / a {
                    0.0
                } else {
                    -a * a * x.abs() + a
                }
            }
            SurrogateKind::PiecewiseExp { alpha } => {
                let a = alpha as f32;
                (-a * x.abs()).exp() * (a / 2.0)
            }
            SurrogateKind::Sigmoid { alpha } => {
                let a = alpha as f32;
                let s = 1.0 / (1.0 + (-a * x).exp());
                (1.0 - s) * s * a
            }
            SurrogateKind::SoftSign { alpha } => {
                let a = alpha as f32;
                let d = x.abs() + 1.0 / a;
                1.0 / (d * d * (2.0 * a))
            }
            SurrogateKind::ATan { alpha } => {
                let a = alpha as f32;
                let z = PI / 2.0 * a * x;
                a / 2.0 / (z * z + 1.0)
            }
            SurrogateKind::NonzeroSignLogAbs { alpha } => 1.0 / (x.abs() + 1.0 / alpha as f32),
            SurrogateKind::Erf { alpha } => {
                let a = alpha as f32;
                (-(a * x) * (a * x)).exp() * (a * FRAC_1_SQRT_PI)
            }
            SurrogateKind::PiecewiseLeakyReLU { w, c } => {
                if x.abs() < w as f32 {
                    1.0 / w as f32
                } else {
                    c as f32
                }
            }
            SurrogateKind::SquarewaveFourierSeries { n, t_period } => {
                let omega = 2.0 * PI / t_period as f32;
                let sum: f32 = (1..n)
                    .map(|i| (x * ((2 * i - 1) as f32 * omega)).cos())
                    .sum();
                sum * (4.0 / t_period as f32)
            }
            SurrogateKind::S2NN { alpha, beta } => {
                if x < 0.0 {
                    let a = alpha as f32;
                    let s = 1.0 / (1.0 + (-a * x).exp());
                    (1.0 - s) * s * a
                } else {
                    beta as f32 / (x + 1.0)
                }
            }
            SurrogateKind::QPseudoSpike { alpha } => {
                let a = alpha as f32;
                (x.abs() * (2.0 / (a - 1.0)) + 1.0).powf(-a)
            }
            SurrogateKind::LeakyKReLU { leak, k } => {
                if x >= 0.0 {
                    k as f32
                } else {
                    leak as f32
                }
            }
            SurrogateKind::FakeNumericalGradient { alpha } => (1.0 / x.abs()).min(alpha as f32),
            SurrogateKind::LogTailedReLU { alpha } => {
                if x <= 0.0 {
                    alpha as f32
                } else if x <= 1.0 {
                    1.0
                } else {
                    1.0 / x
                }
            }
        }
    }

    /// SpikingJelly's `cuda_codes(y, x, dtype)`: the C snippet that assigns the surrogate gradient
    /// of `x` to `y`, text for text as SpikingJelly 0.0.0.0.14 writes it (checklist 287), for the
    /// surrogates that have one there (Sigmoid, ATan, PiecewiseLeakyReLU, S2NN, QPseudoSpike,
    /// LeakyKReLU, FakeNumericalGradient, LogTailedReLU); `None` for the others.
    ///
    /// ```
    /// use sj_kernels::{cuda::cfunction::CDtype, SurrogateKind};
    /// let code = SurrogateKind::Sigmoid { alpha: 4.0 }.cuda_codes("grad_s", "over_th", CDtype::Float).unwrap();
    /// assert_eq!(code.lines().next().unwrap(),
    ///     "const float sigmoid_backward__sigmoid_ax = 1.0f / (1.0f + expf(- (4.0f) * over_th));");
    /// ```
    pub fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(match *self {
            SurrogateKind::Sigmoid { alpha } => cf::sigmoid_backward(y, x, alpha, dtype),
            SurrogateKind::ATan { alpha } => cf::atan_backward(y, x, alpha, dtype),
            SurrogateKind::PiecewiseLeakyReLU { w, c } => {
                cf::piecewise_leaky_relu_backward(y, x, w, c, dtype)
            }
            SurrogateKind::S2NN { alpha, beta } => cf::s2nn_backward(y, x, alpha, beta, dtype),
            SurrogateKind::QPseudoSpike { alpha } => {
                cf::q_pseudo_spike_backward(y, x, alpha, dtype)
            }
            SurrogateKind::LeakyKReLU { leak, k } => {
                cf::leaky_k_relu_backward(y, x, leak, k, dtype)
            }
            SurrogateKind::FakeNumericalGradient { alpha } => {
                cf::fake_numerical_gradient_backward(y, x, alpha, dtype)
            }
            SurrogateKind::LogTailedReLU { alpha } => {
                cf::log_tailed_relu_backward(y, x, alpha, dtype)
            }
            _ => return None,
        })
    }

    /// A CUDA C expression of σ'(x) in `float`, for the generated kernels (x is the variable `over_th`).
    pub fn cuda_grad(&self) -> String {
        let f = |v: f64| format!("{v:?}f");
        match *self {
            SurrogateKind::PiecewiseQuadratic { alpha } => format!(
                "(fabsf(over_th) > 1.0f / {a} ? 0.0f : -({a}) * {a} * fabsf(over_th) + {a})",
                a = f(alpha)
            ),
            SurrogateKind::PiecewiseExp { alpha } => format!("expf(-({a}) * fabsf(over_th)) * ({a} / 2.0f)", a = f(alpha)),
            SurrogateKind::Sigmoid { alpha } => {
                format!("sj_sigmoid_grad(over_th, {a})", a = f(alpha))
            }
            SurrogateKind::SoftSign { alpha } => {
                format!("1.0f / ((fabsf(over_th) + 1.0f / {a}) * (fabsf(over_th) + 1.0f / {a}) * (2.0f * {a}))", a = f(alpha))
            }
            SurrogateKind::ATan { alpha } => format!(
                "{a} / 2.0f / ((1.57079632679f * {a} * over_th) * (1.57079632679f * {a} * over_th) + 1.0f)",
                a = f(alpha)
            ),
            SurrogateKind::NonzeroSignLogAbs { alpha } => format!("1.0f / (fabsf(over_th) + 1.0f / {a})", a = f(alpha)),
            SurrogateKind::Erf { alpha } => {
                format!("expf(-({a} * over_th) * ({a} * over_th)) * ({a} * 0.56418958354f)", a = f(alpha))
            }
            SurrogateKind::PiecewiseLeakyReLU { w, c } => {
                format!("(fabsf(over_th) < {w} ? 1.0f / {w} : {c})", w = f(w), c = f(c))
            }
            SurrogateKind::SquarewaveFourierSeries { n, t_period } => {
                let omega = 2.0 * std::f64::consts::PI / t_period;
                let terms: Vec<String> = (1..n).map(|i| format!("cosf(over_th * {})", f((2 * i - 1) as f64 * omega))).collect();
                let sum = if terms.is_empty() { "0.0f".to_string() } else { terms.join(" + ") };
                format!("(({sum}) * {})", f(4.0 / t_period))
            }
            SurrogateKind::S2NN { alpha, beta } => {
                format!("(over_th < 0.0f ? sj_sigmoid_grad(over_th, {a}) : {b} / (over_th + 1.0f))", a = f(alpha), b = f(beta))
            }
            SurrogateKind::QPseudoSpike { alpha } => {
                format!("powf(fabsf(over_th) * (2.0f / ({a} - 1.0f)) + 1.0f, -({a}))", a = f(alpha))
            }
            SurrogateKind::LeakyKReLU { leak, k } => format!("(over_th >= 0.0f ? {k} : {l})", k = f(k), l = f(leak)),
            SurrogateKind::FakeNumericalGradient { alpha } => format!("fminf(1.0f / fabsf(over_th), {a})", a = f(alpha)),
            SurrogateKind::LogTailedReLU { alpha } => {
                format!("(over_th <= 0.0f ? {a} : (over_th <= 1.0f ? 1.0f : 1.0f / over_th))", a = f(alpha))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SurrogateKind::*;
    use crate::{IfCharge, NeuronConfig, NeuronKind};

    #[test]
    fn every_surrogate_compiles_into_a_kernel_negative_parameters_too() {
        for surrogate in [
            PiecewiseQuadratic { alpha: -1.0 },
            PiecewiseExp { alpha: -0.5 },
            Sigmoid { alpha: -4.0 },
            SoftSign { alpha: 2.0 },
            ATan { alpha: -2.0 },
            NonzeroSignLogAbs { alpha: 1.0 },
            Erf { alpha: -2.0 },
            PiecewiseLeakyReLU { w: 1.0, c: -0.01 },
            SquarewaveFourierSeries {
                n: 3,
                t_period: 8.0,
            },
            S2NN {
                alpha: 4.0,
                beta: -1.0,
            },
            QPseudoSpike { alpha: -2.0 },
            LeakyKReLU { leak: -0.1, k: 1.0 },
            FakeNumericalGradient { alpha: 0.3 },
            LogTailedReLU { alpha: -0.1 },
        ] {
            let cfg = NeuronConfig {
                kind: NeuronKind::If,
                v_threshold: 1.0,
                v_reset: Some(0.0),
                detach_reset: false,
                surrogate,
                store_v_seq: false,
            };
            let src = crate::cuda::source(&IfCharge, &cfg);
            if let Err(e) = crate::cuda::compile(&src) {
                panic!("{surrogate:?}: {e}");
            }
        }
    }
}
