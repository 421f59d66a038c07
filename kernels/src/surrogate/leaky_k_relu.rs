//! `LeakyKReLU(leak=0.0, k=1.0)`.
use super::{non_negative, positive, SurrogateFunction};
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;

/// σ'(x) = k for x ≥ 0, `leak` below.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakyKReLU {
    /// The slope below 0.
    pub leak: f64,
    /// The slope from 0 up.
    pub k: f64,
}

impl SurrogateFunction for LeakyKReLU {
    const NAME: &'static str = "LeakyKReLU";
    fn params(&self) -> String {
        format!("leak={:?}, k={:?}", self.leak, self.k)
    }
    fn check(&self) -> Result<(), String> {
        non_negative("leak", self.leak, "0.0")?;
        positive("k", self.k, "1.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        R::select(
            x.ge(0.0),
            R::constant(&x, self.k),
            R::constant(&x, self.leak),
        )
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        Some(R::select(x.ge(0.0), x.clone() * self.k, x * self.leak))
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::leaky_k_relu_backward(y, x, self.leak, self.k, dtype))
    }
}
