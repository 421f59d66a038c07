//! `QPseudoSpike(alpha=2.0)`.
use super::SurrogateFunction;
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;

/// σ'(x) = (1 + 2|x|/(α − 1))^(−α), a tail that decays as a power of |x|.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QPseudoSpike {
    /// The tail exponent α (> 1).
    pub alpha: f64,
}

impl SurrogateFunction for QPseudoSpike {
    const NAME: &'static str = "QPseudoSpike";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        let alpha = self.alpha;
        match alpha.is_finite() && alpha > 1.0 {
            true => Ok(()),
            false => Err(format!(
                "alpha must be finite and > 1 (the tail exponent; 1 divides by zero), got \
                 {alpha} (SpikingJelly's default is 2.0)"
            )),
        }
    }
    fn grad<R: Real>(&self, x: R) -> R {
        (x.abs() * (2.0 / (self.alpha - 1.0)) + 1.0).powf(-self.alpha)
    }
    /// Written as SpikingJelly does, with the sign mask `m` times `x` rather than `|x|`, so the
    /// autograd derivative at 0 is the true σ'(0) = 1.
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let a = self.alpha;
        let nonneg = x.heaviside();
        let m = nonneg.clone() * 2.0 - 1.0;
        let base = (x * m.clone() * (2.0 / (a - 1.0)) + 1.0).powf(1.0 - a) * 0.5;
        Some(nonneg - m * base)
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::q_pseudo_spike_backward(y, x, self.alpha, dtype))
    }
}
