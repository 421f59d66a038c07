//! `NonzeroSignLogAbs(alpha=1.0)`.
use super::{positive, SurrogateFunction};
use crate::real::Real;

/// σ(x) = sign(x)·ln(α|x| + 1) with sign(0) = 1, σ'(x) = 1/(|x| + 1/α).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonzeroSignLogAbs {
    /// The steepness α.
    pub alpha: f64,
}

impl SurrogateFunction for NonzeroSignLogAbs {
    const NAME: &'static str = "NonzeroSignLogAbs";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "1.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        (x.abs() + 1.0 / self.alpha).recip()
    }
    /// Written as SpikingJelly does, with the sign mask `m` times `x` rather than `|x|`: the
    /// autograd derivative of `|x|` at 0 is 0, of `m·x` it is the true `m = 1`.
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let m = x.heaviside() * 2.0 - 1.0;
        Some(m.clone() * (m * self.alpha * x + 1.0).ln())
    }
}
