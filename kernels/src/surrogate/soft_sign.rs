//! `SoftSign(alpha=2.0)`.
use super::{positive, SurrogateFunction};
use crate::real::Real;

/// σ'(x) = 1 / (2α·(|x| + 1/α)²).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftSign {
    /// The steepness α.
    pub alpha: f64,
}

impl SurrogateFunction for SoftSign {
    const NAME: &'static str = "SoftSign";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "2.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        ((x.abs() + 1.0 / self.alpha).square() * (2.0 * self.alpha)).rdiv(1.0)
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let ax = x * self.alpha;
        Some((ax.clone() / (ax.abs() + 1.0) + 1.0) * 0.5)
    }
}
