//! QIF: `H = V + (X + a0·(V − V_rest)·(V − V_c))/τ`.
use crate::charge::{c, Charge};
use crate::config::require;

/// The quadratic integrate-and-fire charge.
#[derive(Clone, Copy, Debug)]
pub struct QifCharge {
    /// Time constant τ.
    pub tau: f32,
    /// Critical voltage.
    pub v_c: f32,
    /// Sharpness.
    pub a0: f32,
    /// Resting potential.
    pub v_rest: f32,
}

impl Charge for QifCharge {
    #[inline(always)]
    fn h(&self, v: f32, x: f32) -> f32 {
        v + (x + (v - self.v_rest) * (v - self.v_c) * self.a0) / self.tau
    }
    #[inline(always)]
    fn dh_dv(&self, v: f32) -> f32 {
        1.0 + self.a0 * (2.0 * v - self.v_rest - self.v_c) / self.tau
    }
    #[inline(always)]
    fn dh_dx(&self, _v: f32) -> f32 {
        1.0 / self.tau
    }
    fn check(&self) -> Result<(), String> {
        require("tau", self.tau as f64, self.tau > 1.0, "> 1")?;
        require("a0", self.a0 as f64, self.a0 > 0.0, "> 0")?;
        require("v_c", self.v_c as f64, true, "")?;
        require("v_rest", self.v_rest as f64, true, "")
    }
    fn cuda(&self) -> String {
        include_str!("qif.cu")
            .replace("TAU", &c(self.tau))
            .replace("V_C", &c(self.v_c))
            .replace("A0", &c(self.a0))
            .replace("V_REST", &c(self.v_rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::check;

    #[test]
    fn derivatives_and_cuda_source() {
        check::derivatives(QifCharge {
            tau: 2.0,
            v_c: 0.8,
            a0: 1.2,
            v_rest: -0.1,
        });
        check::cuda_compiles(QifCharge {
            tau: 2.0,
            v_c: 0.8,
            a0: 1.2,
            v_rest: -0.1,
        });
    }
}
