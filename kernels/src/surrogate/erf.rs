//! `Erf(alpha=2.0)`.
use super::{positive, SurrogateFunction};
use crate::real::Real;
use std::f64::consts::PI;

/// σ(x) = erfc(−αx)/2, σ'(x) = (α/√π)·e^(−α²x²).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Erf {
    /// The steepness α.
    pub alpha: f64,
}

impl SurrogateFunction for Erf {
    const NAME: &'static str = "Erf";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "2.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        (-(x * self.alpha).square()).exp() * (self.alpha / PI.sqrt())
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        Some((x * -self.alpha).erfc() * 0.5)
    }
}
