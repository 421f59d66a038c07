//! `PiecewiseLeakyReLU(w=1.0, c=0.01)`.
use super::{non_negative, positive, SurrogateFunction};
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;

/// σ'(x) = 1/w for |x| < w, else c. The gradient inside is `1/w` as in SpikingJelly's source,
/// while the primitive's slope there is `1/(2w)` (§2.3 DOC-BUG).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiecewiseLeakyReLU {
    /// The half-width w of the linear part.
    pub w: f64,
    /// The slope c outside it.
    pub c: f64,
}

impl SurrogateFunction for PiecewiseLeakyReLU {
    const NAME: &'static str = "PiecewiseLeakyReLU";
    fn params(&self) -> String {
        format!("w={:?}, c={:?}", self.w, self.c)
    }
    fn check(&self) -> Result<(), String> {
        positive("w", self.w, "1.0")?;
        non_negative("c", self.c, "0.01")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        let inside = x.clone().abs().lt(self.w);
        R::select(
            inside,
            R::constant(&x, 1.0 / self.w),
            R::constant(&x, self.c),
        )
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let (w, c) = (self.w, self.c);
        let mid = x.clone() / (2.0 * w) + 0.5;
        let (lo, hi) = if c == 0.0 {
            (R::constant(&x, 0.0), R::constant(&x, 1.0))
        } else {
            (x.clone() * c + c * w, x.clone() * c - c * w + 1.0)
        };
        let low_or_mid = R::select(x.ge(-w), mid, lo);
        Some(R::select(x.le(w), low_or_mid, hi))
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::piecewise_leaky_relu_backward(
            y, x, self.w, self.c, dtype,
        ))
    }
}
