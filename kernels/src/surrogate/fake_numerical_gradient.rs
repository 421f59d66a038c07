//! `FakeNumericalGradient(alpha=0.3)`: always spiking, no primitive.
use super::{positive, SurrogateFunction};
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;

/// σ'(x) = min(sign(x)/x, α) = min(1/|x|, α).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeNumericalGradient {
    /// The cap α.
    pub alpha: f64,
}

impl SurrogateFunction for FakeNumericalGradient {
    const NAME: &'static str = "FakeNumericalGradient";
    fn params(&self) -> String {
        format!("alpha={:?}", self.alpha)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "0.3")
    }
    /// Written on |x| so that x = −0.0 gives α, not SpikingJelly's −inf.
    fn grad<R: Real>(&self, x: R) -> R {
        x.abs().recip().min_c(self.alpha)
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::fake_numerical_gradient_backward(
            y, x, self.alpha, dtype,
        ))
    }
}
