//! `Sigmoid(alpha=4.0)`, every neuron's default surrogate.
use super::{positive, SurrogateFunction};
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;

/// σ(x) = sigmoid(αx), σ'(x) = α·σ(x)·(1 − σ(x)).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sigmoid {
    /// The steepness α.
    pub alpha: f64,
}

impl SurrogateFunction for Sigmoid {
    const NAME: &'static str = "Sigmoid";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "4.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        let s = (x * self.alpha).sigmoid();
        s.clone().rsub(1.0) * s * self.alpha
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        Some((x * self.alpha).sigmoid())
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::sigmoid_backward(y, x, self.alpha, dtype))
    }
}
