//! `S2NN(alpha=4.0, beta=1.0)`.
use super::{positive, SurrogateFunction};
use crate::cuda::cfunction::{self as cf, CDtype};
use crate::real::Real;

/// σ'(x) = α·s·(1 − s) with s = sigmoid(αx) for x < 0, β/(x + 1) for x ≥ 0.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S2NN {
    /// The sigmoid's steepness α (x < 0).
    pub alpha: f64,
    /// The logarithm's scale β (x ≥ 0).
    pub beta: f64,
}

impl SurrogateFunction for S2NN {
    const NAME: &'static str = "S2NN";
    fn params(&self) -> String {
        format!("alpha={:?}, beta={:?}", self.alpha, self.beta)
    }
    fn check(&self) -> Result<(), String> {
        positive("alpha", self.alpha, "4.0")?;
        positive("beta", self.beta, "1.0")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        let s = (x.clone() * self.alpha).sigmoid();
        let neg = s.clone().rsub(1.0) * s * self.alpha;
        let pos = (x.clone().max_c(0.0) + 1.0).rdiv(self.beta);
        R::select(x.lt(0.0), neg, pos)
    }
    /// SpikingJelly's code: `β·ln(|x + 1| + 1e-5) + 1/2` for x ≥ 0, continuous with the sigmoid
    /// side at 0 (its docstring's `β·ln(x + 1) + 1` is not).
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let neg = (x.clone() * self.alpha).sigmoid();
        let pos = ((x.clone() + 1.0).abs() + 1e-5).ln() * self.beta + 0.5;
        Some(R::select(x.lt(0.0), neg, pos))
    }
    fn cuda_codes(&self, y: &str, x: &str, dtype: CDtype) -> Option<String> {
        Some(cf::s2nn_backward(y, x, self.alpha, self.beta, dtype))
    }
}
