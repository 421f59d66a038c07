//! `LogTailedReLU(alpha=0.0)`.
use super::{non_negative, SurrogateFunction};
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;

/// σ'(x) = α for x ≤ 0, 1 for 0 < x ≤ 1, 1/x above.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogTailedReLU {
    /// The slope below 0.
    pub alpha: f64,
}

impl SurrogateFunction for LogTailedReLU {
    const NAME: &'static str = "LogTailedReLU";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        non_negative("alpha", self.alpha, "0.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        R::select(
            x.le(0.0),
            R::constant(&x, self.alpha),
            x.clone().max_c(1.0).recip(),
        )
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let tail = x.clone().max_c(1.0).ln() + 1.0;
        let upper = R::select(x.le(1.0), x.clone(), tail);
        Some(R::select(x.le(0.0), x * self.alpha, upper))
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::log_tailed_relu_backward(y, x, self.alpha, dtype))
    }
}
