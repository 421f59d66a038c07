//! `PiecewiseExp(alpha=1.0)`.
use super::{positive, SurrogateFunction};
use crate::real::Real;

/// σ'(x) = (α/2)·e^(−α|x|).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiecewiseExp {
    /// The decay rate α.
    pub alpha: f64,
}

impl SurrogateFunction for PiecewiseExp {
    const NAME: &'static str = "PiecewiseExp";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "1.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        (x.abs() * -self.alpha).exp() * (self.alpha / 2.0)
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let a = self.alpha;
        let neg = (x.clone().min_c(0.0) * a).exp() * 0.5;
        let pos = ((x.clone().max_c(0.0) * -a).exp() * 0.5).rsub(1.0);
        Some(R::select(x.lt(0.0), neg, pos))
    }
}
