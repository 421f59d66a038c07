//! EIF: `H = V + (X + V_rest − V + Δ_T·exp((V − θ_rh)/Δ_T))/τ`.
use crate::charge::{c, Charge};
use crate::config::require;

/// The exponential integrate-and-fire charge.
#[derive(Clone, Copy, Debug)]
pub struct EifCharge {
    /// Time constant τ.
    pub tau: f32,
    /// Sharpness Δ_T.
    pub delta_t: f32,
    /// Rheobase threshold θ_rh.
    pub theta_rh: f32,
    /// Resting potential.
    pub v_rest: f32,
}

impl Charge for EifCharge {
    #[inline(always)]
    fn h(&self, v: f32, x: f32) -> f32 {
        v + (x + self.v_rest - v + ((v - self.theta_rh) / self.delta_t).exp() * self.delta_t)
            / self.tau
    }
    #[inline(always)]
    fn dh_dv(&self, v: f32) -> f32 {
        1.0 + (((v - self.theta_rh) / self.delta_t).exp() - 1.0) / self.tau
    }
    #[inline(always)]
    fn dh_dx(&self, _v: f32) -> f32 {
        1.0 / self.tau
    }
    fn check(&self) -> Result<(), String> {
        require("tau", self.tau as f64, self.tau > 1.0, "> 1")?;
        require("delta_T", self.delta_t as f64, self.delta_t > 0.0, "> 0")?;
        require("theta_rh", self.theta_rh as f64, true, "")?;
        require("v_rest", self.v_rest as f64, true, "")
    }
    fn cuda(&self) -> String {
        include_str!("eif.cu")
            .replace("TAU", &c(self.tau))
            .replace("DELTA_T", &c(self.delta_t))
            .replace("THETA_RH", &c(self.theta_rh))
            .replace("V_REST", &c(self.v_rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::check;

    #[test]
    fn derivatives_and_cuda_source() {
        check::derivatives(EifCharge {
            tau: 2.0,
            delta_t: 0.7,
            theta_rh: 0.8,
            v_rest: 0.0,
        });
        check::cuda_compiles(EifCharge {
            tau: 2.0,
            delta_t: 0.7,
            theta_rh: 0.8,
            v_rest: 0.0,
        });
    }
}
