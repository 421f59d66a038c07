//! `ATan(alpha=2.0)`.
use super::{positive, SurrogateFunction};
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;
use std::f64::consts::PI;

/// σ(x) = atan(παx/2)/π + 1/2, σ'(x) = (α/2) / (1 + (παx/2)²).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ATan {
    /// The steepness α.
    pub alpha: f64,
}

impl SurrogateFunction for ATan {
    const NAME: &'static str = "ATan";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "2.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        ((x * (PI / 2.0 * self.alpha)).square() + 1.0).rdiv(self.alpha / 2.0)
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        Some((x * (PI / 2.0 * self.alpha)).atan() / PI + 0.5)
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::atan_backward(y, x, self.alpha, dtype))
    }
}
