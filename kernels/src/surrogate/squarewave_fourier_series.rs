//! `SquarewaveFourierSeries(n=2, T_period=8)`.
use super::{positive, SurrogateFunction};
use crate::real::Real;
use std::f64::consts::PI;

/// The square wave's Fourier series to `n − 1` terms: σ(x) = 1/2 + (2/π)·Σ sin((2i−1)ωx)/(2i−1),
/// σ'(x) = (4/T)·Σ cos((2i−1)ωx), ω = 2π/T.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SquarewaveFourierSeries {
    /// Terms + 1 (≥ 1).
    pub n: i64,
    /// The period T.
    pub t_period: f64,
}

/// The most terms a series may have: more adds nothing in float32 and only lengthens the kernels.
const MAX_N: i64 = 1 << 12;

impl SurrogateFunction for SquarewaveFourierSeries {
    const NAME: &'static str = "SquarewaveFourierSeries";
    fn params(&self) -> String {
        format!("n={}, T_period={:?}", self.n, self.t_period)
    }
    fn check(&self) -> Result<(), String> {
        if !(1..=MAX_N).contains(&self.n) {
            return Err(format!(
                "n must be >= 1 and <= {MAX_N}, got {} (SpikingJelly's default is 2)",
                self.n
            ));
        }
        positive("T_period", self.t_period, "8")
    }
    fn grad<R: Real>(&self, x: R) -> R {
        let omega = 2.0 * PI / self.t_period;
        let sum = (1..self.n).fold(R::constant(&x, 0.0), |acc, i| {
            acc + (x.clone() * ((2 * i - 1) as f64 * omega)).cos()
        });
        sum * (4.0 / self.t_period)
    }
    fn primitive<R: Real>(&self, x: R) -> Option<R> {
        let omega = 2.0 * PI / self.t_period;
        let sum = (1..self.n).fold(R::constant(&x, 0.0), |acc, i| {
            let c = (2 * i - 1) as f64;
            acc + (x.clone() * (c * omega)).sin() / c
        });
        Some(sum * (2.0 / PI) + 0.5)
    }
}
