//! ParametricLIF: the LIF charge with a learnable `k = sigmoid(w)` in place of `1/τ`; the kernel
//! also returns `∂L/∂k`.
use crate::charge::{c, Charge};

/// The parametric LIF charge; `k` is read once per call from the `decay` tensor.
#[derive(Clone, Copy, Debug)]
pub struct PlifCharge {
    /// The current decay `k`.
    pub k: f32,
    /// Whether the input is scaled by `k` too.
    pub decay_input: bool,
    /// `V_reset` in the charge (0 for the soft reset).
    pub v_reset: f32,
}

impl Charge for PlifCharge {
    const LEARNS_DECAY: bool = true;
    fn with_decay(self, k: f32) -> Self {
        PlifCharge { k, ..self }
    }
    #[inline(always)]
    fn h(&self, v: f32, x: f32) -> f32 {
        if self.decay_input {
            v + (x - (v - self.v_reset)) * self.k
        } else {
            v - (v - self.v_reset) * self.k + x
        }
    }
    #[inline(always)]
    fn dh_dv(&self, _v: f32) -> f32 {
        1.0 - self.k
    }
    #[inline(always)]
    fn dh_dx(&self, _v: f32) -> f32 {
        if self.decay_input {
            self.k
        } else {
            1.0
        }
    }
    #[inline(always)]
    fn dh_dk(&self, v: f32, h: f32) -> f32 {
        // decay_input: X − (V − V_reset) = (H − V)/k; otherwise −(V − V_reset).
        if self.decay_input {
            (h - v) / self.k
        } else {
            self.v_reset - v
        }
    }
    fn cuda(&self) -> String {
        include_str!("plif.cu")
            .replace("DECAY_INPUT", if self.decay_input { "1" } else { "0" })
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
            check::derivatives(PlifCharge {
                k: 0.3,
                decay_input: di,
                v_reset: 0.2,
            });
            check::cuda_compiles(PlifCharge {
                k: 0.3,
                decay_input: di,
                v_reset: 0.2,
            });
        }
    }

    #[test]
    fn dh_dk_matches_a_finite_difference() {
        for di in [true, false] {
            let at = |k: f32| PlifCharge {
                k,
                decay_input: di,
                v_reset: 0.2,
            };
            for (v, x) in [(0.3f32, 0.9f32), (-0.4, 0.1)] {
                let fd = (at(0.31).h(v, x) - at(0.29).h(v, x)) / 0.02;
                let h = at(0.3).h(v, x);
                assert!((fd - at(0.3).dh_dk(v, h)).abs() < 1e-4, "{fd}");
            }
        }
    }
}
