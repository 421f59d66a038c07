//! Izhikevich (SpikingJelly's `AdaptBaseNode` dynamics): `H = V + (X + a0·(V − V_rest)·(V − V_c) − W)/τ`,
//! then `W = W + (a·(H − V_rest) − W)/τ_w + b·S`. The adaptation current `W` is a second state
//! variable: the kernels carry it forward and `∂L/∂W` backward; backward needs only `H[t]` (all
//! partial derivatives that involve `W` are constants).
use crate::charge::{c, Charge};
use crate::config::require;
use crate::QifCharge;

/// The Izhikevich charge and adaptation: QIF's charge (and its derivatives) minus `W/τ`.
#[derive(Clone, Copy, Debug)]
pub struct IzhikevichCharge {
    /// τ, V_c, a0 and V_rest.
    pub qif: QifCharge,
    /// `1/τ_w`, rounded to f32 once, as the op-by-op path multiplies by it.
    pub inv_tau_w: f32,
    /// Sub-threshold adaptation coupling.
    pub a: f32,
    /// Spike-triggered adaptation jump.
    pub b: f32,
}

impl Charge for IzhikevichCharge {
    const ADAPTS: bool = true;
    fn check(&self) -> Result<(), String> {
        self.qif.check()?;
        let tau_w = 1.0 / self.inv_tau_w as f64;
        require("tau_w", tau_w, tau_w > 0.0, "> 0")?;
        require("a", self.a as f64, true, "")?;
        require("b", self.b as f64, true, "")
    }
    #[inline(always)]
    fn h(&self, v: f32, x: f32) -> f32 {
        self.h_adapt(v, x, 0.0)
    }
    #[inline(always)]
    fn h_adapt(&self, v: f32, x: f32, w: f32) -> f32 {
        let q = &self.qif;
        v + (x + (v - q.v_rest) * (v - q.v_c) * q.a0 - w) / q.tau
    }
    #[inline(always)]
    fn adapt(&self, w: f32, h: f32, s: f32) -> f32 {
        (w + (self.a * (h - self.qif.v_rest) - w) * self.inv_tau_w) + s * self.b
    }
    #[inline(always)]
    fn adapt_grads(&self) -> [f32; 4] {
        [
            -1.0 / self.qif.tau,
            1.0 - self.inv_tau_w,
            self.a * self.inv_tau_w,
            self.b,
        ]
    }
    #[inline(always)]
    fn dh_dv(&self, v: f32) -> f32 {
        self.qif.dh_dv(v)
    }
    #[inline(always)]
    fn dh_dx(&self, v: f32) -> f32 {
        self.qif.dh_dx(v)
    }
    /// QIF's device functions (its `sj_h` is this charge at `W = 0`) plus the adaptation.
    fn cuda(&self) -> String {
        let q = &self.qif;
        self.qif.cuda()
            + &include_str!("izhikevich.cu")
                .replace("IZ_TAU_CHARGE", &c(q.tau))
                .replace("IZ_V_C", &c(q.v_c))
                .replace("IZ_SHARPNESS", &c(q.a0))
                .replace("IZ_V_REST", &c(q.v_rest))
                .replace("IZ_INV_TAU_W", &c(self.inv_tau_w))
                .replace("IZ_COUPLING", &c(self.a))
                .replace("IZ_JUMP", &c(self.b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charge::check;

    const IZH: IzhikevichCharge = IzhikevichCharge {
        qif: QifCharge {
            tau: 2.0,
            v_c: 0.8,
            a0: 1.2,
            v_rest: -0.1,
        },
        inv_tau_w: 1.0 / 3.0,
        a: 0.3,
        b: 0.2,
    };

    #[test]
    fn derivatives_and_cuda_source() {
        check::derivatives(IZH);
        // the constant partial derivatives against central differences
        let [dh_dw, dw_dw, dw_dh, dw_ds] = IZH.adapt_grads();
        let (v, x, w, h, s, e) = (0.3f32, 0.5f32, 0.2f32, 0.7f32, 1.0f32, 1e-2f32);
        let fd = |f: &dyn Fn(f32) -> f32, at: f32| (f(at + e) - f(at - e)) / (2.0 * e);
        assert!((fd(&|w| IZH.h_adapt(v, x, w), w) - dh_dw).abs() < 1e-3);
        assert!((fd(&|w| IZH.adapt(w, h, s), w) - dw_dw).abs() < 1e-3);
        assert!((fd(&|h| IZH.adapt(w, h, s), h) - dw_dh).abs() < 1e-3);
        assert!((IZH.adapt(w, h, 1.0) - IZH.adapt(w, h, 0.0) - dw_ds).abs() < 1e-6);
        assert!(!IZH.cuda().contains("IZ_"), "every constant is written in");
        check::cuda_compiles(IZH);
    }
}
