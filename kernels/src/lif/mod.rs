//! LIF: `H = V + (X − (V − V_reset))/τ` (`decay_input`) or `H = V − (V − V_reset)/τ + X`,
//! with `V_reset = 0` in the charge for the soft reset.
use crate::charge::{c, Charge};
use crate::config::require;

/// The leaky integrate-and-fire charge with a fixed time constant (computed as `/ τ`, the same
/// operations as the op-by-op path, so both give the same spikes).
#[derive(Clone, Copy, Debug)]
pub struct LifCharge {
    /// τ.
    pub tau: f32,
    /// Whether the input is scaled by the decay too.
    pub decay_input: bool,
    /// `V_reset` in the charge (0 for the soft reset).
    pub v_reset: f32,
}

impl Charge for LifCharge {
    #[inline(always)]
    fn h(&self, v: f32, x: f32) -> f32 {
        if self.decay_input {
            v + (x - (v - self.v_reset)) / self.tau
        } else {
            v - (v - self.v_reset) / self.tau + x
        }
    }
    #[inline(always)]
    fn dh_dv(&self, _v: f32) -> f32 {
        1.0 - 1.0 / self.tau
    }
    #[inline(always)]
    fn dh_dx(&self, _v: f32) -> f32 {
        if self.decay_input {
            1.0 / self.tau
        } else {
            1.0
        }
    }
    fn check(&self) -> Result<(), String> {
        require("tau", self.tau as f64, self.tau > 1.0, "> 1")
    }
    fn cuda(&self) -> String {
        include_str!("lif.cu")
            .replace("DECAY_INPUT", if self.decay_input { "1" } else { "0" })
            .replace("TAU", &c(self.tau))
            .replace("V_RESET", &c(self.v_reset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::check;

    #[test]
    fn derivatives_and_cuda_source() {
        for di in [true, false] {
            check::derivatives(LifCharge {
                tau: 2.5,
                decay_input: di,
                v_reset: -0.1,
            });
            check::cuda_compiles(LifCharge {
                tau: 2.5,
                decay_input: di,
                v_reset: -0.1,
            });
        }
    }
}
