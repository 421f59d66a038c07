//! `PiecewiseQuadratic(alpha=1.0)`.
use super::{positive, SurrogateFunction};
use crate::real::Real;

/// σ'(x) = −α²|x| + α for |x| ≤ 1/α, else 0.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiecewiseQuadratic {
    /// The width 1/α of the support and the peak α.
    pub alpha: f64,
}

impl SurrogateFunction for PiecewiseQuadratic {
    const NAME: &'static str = "PiecewiseQuadratic";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "1.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        let a = self.alpha;
        let ax = x.clone().abs();
        R::select(ax.gt(1.0 / a), R::constant(&x, 0.0), ax * (-a * a) + a)
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let a = self.alpha;
        let mid = x.clone().abs() * (-0.5 * a * a) * x.clone() + x.clone() * a + 0.5;
        let hi = R::select(x.gt(1.0 / a), R::constant(&x, 1.0), mid);
        Some(R::select(x.lt(-1.0 / a), R::constant(&x, 0.0), hi))
    }
}
