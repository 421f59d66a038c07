//! The CPU kernels: forward through time and backward through time for any [`Charge`], parallel
//! over chunks of neurons with rayon, a tight loop over T per chunk (the inner loop over the
//! chunk's neurons is branch-free and vectorises), no allocation inside the time loop.
use crate::charge::Charge;
use crate::config::NeuronConfig;
use crate::surrogate::SurrogateKind;
use rayon::prelude::*;

/// Neurons per rayon task: large enough to amortise scheduling, small enough that the chunk's
/// state stays in L1/L2.
const CHUNK: usize = 2048;

/// A raw pointer that rayon tasks may share: each task writes a disjoint set of columns.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The `len` elements starting at `start`.
    ///
    /// # Safety
    /// The range must be inside the allocation and no other task may touch it concurrently.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        std::slice::from_raw_parts_mut(self.0.add(start), len)
    }
}

/// Forward outputs, `[T, N]` row-major unless noted.
pub struct ForwardOut<'a> {
    /// Spikes `S[t]`.
    pub spike: &'a mut [f32],
    /// Potentials after reset `V[t]`, when the caller keeps them (`store_v_seq`).
    pub v_seq: Option<&'a mut [f32]>,
    /// The last potential `V[T−1]`, `[N]`.
    pub v_last: &'a mut [f32],
    /// Potentials after charging `H[t]` (saved for backward).
    pub h_seq: &'a mut [f32],
}

/// FPTT: `x` is `[T, N]`, `v_init` is `[N]`.
pub fn forward<C: Charge>(
    charge: C,
    cfg: &NeuronConfig,
    t_steps: usize,
    x: &[f32],
    v_init: &[f32],
    out: ForwardOut<'_>,
) {
    let n = v_init.len();
    assert!(
        x.len() == t_steps * n
            && out.spike.len() == x.len()
            && out.v_seq.as_ref().is_none_or(|v| v.len() == x.len())
            && out.v_last.len() == n
            && out.h_seq.len() == x.len()
    );
    let (th, vr) = (cfg.v_threshold as f32, cfg.v_reset.map(|r| r as f32));
    let (s_ptr, h_ptr, last_ptr) =
        (Shared(out.spike.as_mut_ptr()), Shared(out.h_seq.as_mut_ptr()), Shared(out.v_last.as_mut_ptr()));
    let v_ptr = out.v_seq.map(|v| Shared(v.as_mut_ptr()));
    v_init.par_chunks(CHUNK).enumerate().for_each(|(c, v0)| {
        let start = c * CHUNK;
        let len = v0.len();
        let mut v = v0.to_vec();
        for t in 0..t_steps {
            let base = t * n + start;
            let xs = &x[base..base + len];
            // SAFETY: columns [start, start+len) of row t belong to this task only.
            let (s, ho) = unsafe { (s_ptr.slice(base, len), h_ptr.slice(base, len)) };
            for i in 0..len {
                let h = charge.h(v[i], xs[i]);
                let spike = if h >= th { 1.0 } else { 0.0 };
                s[i] = spike;
                ho[i] = h;
                v[i] = NeuronConfig::reset(th, vr, h, spike);
            }
            if let Some(vp) = v_ptr {
                // SAFETY: as above.
                unsafe { vp.slice(base, len) }.copy_from_slice(&v);
            }
        }
        // SAFETY: entries [start, start+len) belong to this task only.
        unsafe { last_ptr.slice(start, len) }.copy_from_slice(&v);
    });
}

/// Backward outputs.
pub struct BackwardOut<'a> {
    /// `∂L/∂X[t]`, `[T, N]`.
    pub grad_x: &'a mut [f32],
    /// `∂L/∂V[−1]`, `[N]`.
    pub grad_v_init: &'a mut [f32],
}

/// BPTT, SpikingJelly's formula (§2.17): with `σ' = σ'(H[t] − V_th)`,
/// `∂V/∂H = 1 − S + (V_reset − H)·σ'·(1 − D)` (hard) or `1 − V_th·σ'·(1 − D)` (soft),
/// `∂L/∂H[t] = (∂L/∂V[t] + ∂L/∂H[t+1]·∂H[t+1]/∂V[t])·∂V/∂H + ∂L/∂S[t]·σ'`.
/// `grad_v` is the gradient of the forward's potential output: `[T, N]` for `V[t]`
/// (`store_v_seq`), `[N]` for the last potential only, or `None` when it is unused. Returns
/// `∂L/∂k` summed over all elements.
#[allow(clippy::too_many_arguments)]
pub fn backward<C: Charge>(
    charge: C,
    cfg: &NeuronConfig,
    t_steps: usize,
    grad_spike: &[f32],
    grad_v: Option<&[f32]>,
    h_seq: &[f32],
    v_init: &[f32],
    out: BackwardOut<'_>,
) -> f64 {
    macro_rules! go {
        ($sg:expr) => {
            backward_with(
                charge, cfg, t_steps, grad_spike, grad_v, h_seq, v_init, out, $sg,
            )
        };
    }
    // One monomorphised loop per surrogate family, so that the inner loop has no branch on it.
    match cfg.surrogate {
        SurrogateKind::Sigmoid { alpha } => {
            let a = alpha as f32;
            go!(move |x: f32| {
                let s = 1.0 / (1.0 + (-a * x).exp());
                (1.0 - s) * s * a
            })
        }
        SurrogateKind::ATan { alpha } => {
            let a = alpha as f32;
            let b = std::f32::consts::PI / 2.0 * a;
            go!(move |x: f32| a / 2.0 / ((b * x) * (b * x) + 1.0))
        }
        other => go!(move |x: f32| other.grad(x)),
    }
}

#[allow(clippy::too_many_arguments)]
fn backward_with<C: Charge, S: Fn(f32) -> f32 + Sync>(
    charge: C,
    cfg: &NeuronConfig,
    t_steps: usize,
    grad_spike: &[f32],
    grad_v: Option<&[f32]>,
    h_seq: &[f32],
    v_init: &[f32],
    out: BackwardOut<'_>,
    sg: S,
) -> f64 {
    let n = v_init.len();
    assert!(
        grad_spike.len() == t_steps * n
            && h_seq.len() == grad_spike.len()
            && out.grad_x.len() == grad_spike.len()
    );
    assert!(out.grad_v_init.len() == n);
    // The per-step gradient, or the last step's alone.
    let (grad_v_seq, grad_v_last) = match grad_v {
        Some(g) if g.len() == grad_spike.len() => (Some(g), None),
        Some(g) => {
            assert_eq!(g.len(), n, "grad_v is [T, N] or [N]");
            (None, Some(g))
        }
        None => (None, None),
    };
    let (th, vr) = (cfg.v_threshold as f32, cfg.v_reset.map(|r| r as f32));
    let keep_reset = if cfg.detach_reset { 0.0 } else { 1.0 };
    let (gx_ptr, gv0_ptr) = (
        Shared(out.grad_x.as_mut_ptr()),
        Shared(out.grad_v_init.as_mut_ptr()),
    );
    v_init
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, v0)| {
            let start = c * CHUNK;
            let len = v0.len();
            // carry[i] = ∂L/∂H[t+1] · ∂H[t+1]/∂V[t]
            let mut carry = match grad_v_last {
                Some(g) => g[start..start + len].to_vec(),
                None => vec![0.0f32; len],
            };
            let mut grad_k = 0.0f64;
            for t in (0..t_steps).rev() {
                let base = t * n + start;
                let (hs, gs) = (&h_seq[base..base + len], &grad_spike[base..base + len]);
                let gvs = grad_v_seq.map(|g| &g[base..base + len]);
                let prev = if t > 0 {
                    Some(&h_seq[base - n..base - n + len])
                } else {
                    None
                };
                // SAFETY: columns [start, start+len) of row t belong to this task only.
                let gx = unsafe { gx_ptr.slice(base, len) };
                let mut gk = 0.0f32;
                for i in 0..len {
                    let h = hs[i];
                    let over = h - th;
                    let spike = if over >= 0.0 { 1.0 } else { 0.0 };
                    let grad_s_to_h = sg(over);
                    let grad_v_to_h = match vr {
                        Some(r) => 1.0 - spike + (r - h) * grad_s_to_h * keep_reset,
                        None => 1.0 - th * grad_s_to_h * keep_reset,
                    };
                    let gv = carry[i] + gvs.map_or(0.0, |g| g[i]);
                    let gh = gv * grad_v_to_h + gs[i] * grad_s_to_h;
                    // V[t−1]: the reset of H[t−1], or v_init at t = 0.
                    let v_prev = match prev {
                        Some(p) => {
                            let hp = p[i];
                            NeuronConfig::reset(th, vr, hp, if hp >= th { 1.0 } else { 0.0 })
                        }
                        None => v0[i],
                    };
                    gx[i] = gh * charge.dh_dx(v_prev);
                    gk += gh * charge.dh_dk(v_prev, h);
                    carry[i] = gh * charge.dh_dv(v_prev);
                }
                grad_k += gk as f64;
            }
            // SAFETY: entries [start, start+len) belong to this task only.
            unsafe { gv0_ptr.slice(start, len) }.copy_from_slice(&carry);
            grad_k
        })
        .sum()
}
