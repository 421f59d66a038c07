//! The CPU kernels: forward through time and backward through time for any [`Charge`], parallel
//! over chunks of neurons with rayon, a tight loop over T per chunk (the inner loop over the
//! chunk's neurons is branch-free and vectorises), no allocation inside the time loop.
use crate::charge::Charge;
use crate::config::Firing;
use rayon::prelude::*;

mod allocator;
pub use allocator::keep_freed_memory;

/// Neurons per rayon task: each time step streams rows of 32 KB (long enough runs for the
/// hardware prefetcher: 2048 measured 20% slower at N = 2^20), and a chunk's state stays in L2.
const CHUNK: usize = 8192;

/// A raw pointer that rayon tasks may share: each task writes a disjoint set of columns.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: the pointer is only dereferenced through `slice`, whose callers give each task
// disjoint ranges of an allocation that outlives the parallel loop.
unsafe impl Send for Shared {}
// SAFETY: as above: shared between tasks, never dereferenced at overlapping ranges.
unsafe impl Sync for Shared {}

impl Shared {
    /// The `len` elements starting at `start`.
    ///
    /// # Safety
    /// The range must be inside the allocation and no other task may touch it concurrently.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Forward outputs, `[T, N]` row-major unless noted.
pub struct ForwardOut<'a> {
    /// Spikes `S[t]`.
    pub spike: &'a mut [f32],
    /// Potentials after reset `V[t]`, when the caller keeps them (`store_v_seq`).
    pub v_seq: Option<&'a mut [f32]>,
    /// The last state: `V[T−1]`, `[N]`, then `W[T−1]` for adapting neurons (`[2, N]`).
    pub v_last: &'a mut [f32],
    /// Potentials after charging `H[t]` (saved for backward).
    pub h_seq: &'a mut [f32],
}

/// The reset of `H[t]` after a spike `S[t]` (0 or 1), as a type so that each loop is compiled for
/// one reset without a branch.
trait Reset: Copy + Send + Sync {
    /// `V[t]`.
    fn v(self, h: f32, s: f32) -> f32;
    /// `∂V[t]/∂H[t]` with `sg = σ'(H − V_th)`; `keep` is 0 with `detach_reset`, else 1, and
    /// `keep_r` the same for the `V_reset·S` term of the hard reset (always 1 for adapting
    /// neurons: SpikingJelly's `AdaptBaseNode` multiplies `V_reset` by the undetached spike).
    fn dv_dh(self, h: f32, s: f32, sg: f32, keep: f32, keep_r: f32) -> f32;
}

/// The hard reset to `V_reset`: `V = H·(1 − S) + V_reset·S`.
#[derive(Clone, Copy)]
struct Hard(f32);
impl Reset for Hard {
    #[inline(always)]
    fn v(self, h: f32, s: f32) -> f32 {
        h * (1.0 - s) + self.0 * s
    }
    #[inline(always)]
    fn dv_dh(self, h: f32, s: f32, sg: f32, keep: f32, keep_r: f32) -> f32 {
        1.0 - s + (self.0 * keep_r - h * keep) * sg
    }
}

/// The soft reset by `V_th`: `V = H − V_th·S`.
#[derive(Clone, Copy)]
struct Soft(f32);
impl Reset for Soft {
    #[inline(always)]
    fn v(self, h: f32, s: f32) -> f32 {
        h - self.0 * s
    }
    #[inline(always)]
    fn dv_dh(self, _h: f32, _s: f32, sg: f32, keep: f32, _keep_r: f32) -> f32 {
        1.0 - self.0 * sg * keep
    }
}

/// Calls `$body` with `$reset` bound to the [`Reset`] of `$firing`.
macro_rules! with_reset {
    ($firing:expr, |$reset:ident| $body:expr) => {
        match $firing.v_reset {
            Some(r) => {
                let $reset = Hard(r as f32);
                $body
            }
            None => {
                let $reset = Soft($firing.v_threshold as f32);
                $body
            }
        }
    };
}

#[inline(always)]
fn heaviside(over: f32) -> f32 {
    if over >= 0.0 {
        1.0
    } else {
        0.0
    }
}

/// FPTT: `x` is `[T, N]`, `v_init` is the initial state `[N]` (`[2, N]`: `V`, `W` for adapting
/// neurons); `V[t]` is written when `out.v_seq` is given. Monomorphised on the charge.
pub fn forward<C: Charge>(
    charge: C,
    firing: &Firing,
    t_steps: usize,
    x: &[f32],
    v_init: &[f32],
    out: ForwardOut<'_>,
) {
    let n = v_init.len() / state_len::<C>();
    assert!(
        x.len() == t_steps * n
            && out.spike.len() == x.len()
            && out.v_seq.as_ref().is_none_or(|v| v.len() == x.len())
            && out.v_last.len() == v_init.len()
            && out.h_seq.len() == x.len()
    );
    with_reset!(firing, |reset| forward_with(
        charge,
        reset,
        firing.v_threshold as f32,
        t_steps,
        x,
        v_init,
        out
    ))
}

fn forward_with<C: Charge, R: Reset>(
    charge: C,
    reset: R,
    th: f32,
    t_steps: usize,
    x: &[f32],
    v_init: &[f32],
    out: ForwardOut<'_>,
) {
    let n = v_init.len() / state_len::<C>();
    let (v_init, w_init) = v_init.split_at(n);
    let (s_ptr, h_ptr, last_ptr) = (
        Shared(out.spike.as_mut_ptr()),
        Shared(out.h_seq.as_mut_ptr()),
        Shared(out.v_last.as_mut_ptr()),
    );
    let v_ptr = out.v_seq.map(|v| Shared(v.as_mut_ptr()));
    for_chunks(v_init, |(c, v0)| {
        let start = c * CHUNK;
        let len = v0.len();
        let mut v = v0.to_vec();
        let mut w = match C::ADAPTS {
            true => w_init[start..start + len].to_vec(),
            false => Vec::new(),
        };
        for t in 0..t_steps {
            let base = t * n + start;
            // SAFETY: columns [start, start+len) of row t belong to this task only.
            let (s, h) = unsafe { (s_ptr.slice(base, len), h_ptr.slice(base, len)) };
            forward_row(
                charge,
                reset,
                th,
                &x[base..base + len],
                &mut v,
                &mut w,
                s,
                h,
            );
            if let Some(vp) = v_ptr {
                // SAFETY: as above.
                unsafe { vp.slice(base, len) }.copy_from_slice(&v);
            }
        }
        // SAFETY: entries [start, start+len) (and [n+start, n+start+len)) belong to this task only.
        unsafe { last_ptr.slice(start, len) }.copy_from_slice(&v);
        if C::ADAPTS {
            // SAFETY: as above.
            unsafe { last_ptr.slice(n + start, len) }.copy_from_slice(&w);
        }
        0.0
    });
}

/// Runs `work` on each chunk of [`CHUNK`] neurons and sums what it returns: in parallel when
/// there is more than one chunk, else on the calling thread (handing a single chunk to rayon's
/// pool costs more than a time step of a few thousand neurons, e.g. a single-step neuron).
fn for_chunks(v: &[f32], work: impl Fn((usize, &[f32])) -> f64 + Sync + Send) -> f64 {
    if v.len() <= CHUNK {
        v.chunks(CHUNK).enumerate().map(work).sum()
    } else {
        v.par_chunks(CHUNK).enumerate().map(work).sum()
    }
}

/// State variables per neuron: `V`, and `W` for adapting neurons.
fn state_len<C: Charge>() -> usize {
    if C::ADAPTS {
        2
    } else {
        1
    }
}

/// One time step of a chunk. Separate slices (which the compiler knows do not alias) and the
/// parameters by value let the loop vectorise. `w` is the adaptation current (empty unless
/// `C::ADAPTS`).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn forward_row<C: Charge, R: Reset>(
    charge: C,
    reset: R,
    th: f32,
    x: &[f32],
    v: &mut [f32],
    w: &mut [f32],
    s: &mut [f32],
    h: &mut [f32],
) {
    let len = v.len();
    let (x, s, h) = (&x[..len], &mut s[..len], &mut h[..len]);
    if C::ADAPTS {
        let w = &mut w[..len];
        for i in 0..len {
            let hi = charge.h_adapt(v[i], x[i], w[i]);
            let spike = heaviside(hi - th);
            s[i] = spike;
            h[i] = hi;
            v[i] = reset.v(hi, spike);
            w[i] = charge.adapt(w[i], hi, spike);
        }
        return;
    }
    for i in 0..len {
        let hi = charge.h(v[i], x[i]);
        let spike = heaviside(hi - th);
        s[i] = spike;
        h[i] = hi;
        v[i] = reset.v(hi, spike);
    }
}

/// Backward outputs.
pub struct BackwardOut<'a> {
    /// `[T, N]`: on entry `H[t]` as the forward wrote it, on return `∂L/∂X[t]`. The backward
    /// overwrites each row of `H` once it has used it, so one buffer is read and written back
    /// while it is in cache: no second `[T, N]` allocation and no write-allocate traffic.
    pub h_then_grad_x: &'a mut [f32],
    /// `∂L/∂V[−1]`, `[N]` (then `∂L/∂W[−1]` for adapting neurons: `[2, N]`).
    pub grad_v_init: &'a mut [f32],
}

/// The gradient of the forward's state output.
#[derive(Clone, Copy, Debug)]
pub enum GradV<'a> {
    /// Unused.
    None,
    /// Of `V[t]` for every step (`store_v_seq`), `[T, N]`.
    Seq(&'a [f32]),
    /// Of the last state, `[N]` (`[2, N]` for adapting neurons).
    Last(&'a [f32]),
}

/// BPTT, SpikingJelly's formula (§2.17): with `σ' = σ'(H[t] − V_th)`,
/// `∂V/∂H = 1 − S + (V_reset − H)·σ'·(1 − D)` (hard) or `1 − V_th·σ'·(1 − D)` (soft),
/// `∂L/∂H[t] = (∂L/∂V[t] + ∂L/∂H[t+1]·∂H[t+1]/∂V[t])·∂V/∂H + ∂L/∂S[t]·σ'`.
/// `grad_spike` is `[T, N]`, or one value that every spike's gradient equals.
/// Adapting neurons add `∂L/∂W[t]·(∂W/∂H + ∂W/∂S·σ')` to `∂L/∂H[t]` and carry
/// `∂L/∂W[t−1] = ∂L/∂W[t]·∂W/∂W + ∂L/∂H[t]·∂H/∂W`. Returns `∂L/∂k` summed over all elements.
/// Monomorphised on the charge; the surrogate's σ' is computed a row at a time by
/// [`DynSurrogate::grad_over_threshold`](crate::DynSurrogate::grad_over_threshold), one loop compiled for
/// the surrogate's type, into a chunk-sized buffer that stays in cache.
#[allow(clippy::too_many_arguments)]
pub fn backward<C: Charge>(
    charge: C,
    firing: &Firing,
    t_steps: usize,
    grad_spike: &[f32],
    grad_v: GradV<'_>,
    v_init: &[f32],
    out: BackwardOut<'_>,
) -> f64 {
    let n = v_init.len() / state_len::<C>();
    let broadcast = grad_spike.len() == 1;
    let total = out.h_then_grad_x.len();
    assert!((broadcast || grad_spike.len() == t_steps * n) && total == t_steps * n);
    assert!(out.grad_v_init.len() == v_init.len());
    let (grad_v_seq, grad_v_last) = match grad_v {
        GradV::Seq(g) => {
            assert_eq!(g.len(), total, "grad_v is [T, N] with store_v_seq");
            (Some(g), None)
        }
        GradV::Last(g) => {
            assert_eq!(g.len(), v_init.len(), "grad_v has the state's shape");
            (None, Some(g))
        }
        GradV::None => (None, None),
    };
    let th = firing.v_threshold as f32;
    let keep = if firing.detach_reset { 0.0 } else { 1.0 };
    let keep_r = if C::ADAPTS { 1.0 } else { keep };
    let surrogate = firing.surrogate.as_ref();
    let v_init = &v_init[..n];
    let (gx_ptr, gv0_ptr) = (
        Shared(out.h_then_grad_x.as_mut_ptr()),
        Shared(out.grad_v_init.as_mut_ptr()),
    );
    with_reset!(firing, |reset| for_chunks(v_init, |(c, v0)| {
        let start = c * CHUNK;
        let len = v0.len();
        // carry[i] = ∂L/∂V[t]: ∂L/∂H[t+1]·∂H[t+1]/∂V[t], plus the gradient of V[t] itself.
        let mut carry = match grad_v_last {
            Some(g) => g[start..start + len].to_vec(),
            None => vec![0.0f32; len],
        };
        // ∂L/∂W[t] for adapting neurons
        let mut carry_w = match (C::ADAPTS, grad_v_last) {
            (false, _) => Vec::new(),
            (true, Some(g)) => g[n + start..n + start + len].to_vec(),
            (true, None) => vec![0.0f32; len],
        };
        // ∂L/∂k per neuron, summed over time (ParametricLIF only)
        let mut grad_k = vec![0.0f32; if C::LEARNS_DECAY { len } else { 0 }];
        // σ'(H[t] − V_th) of the current row
        let mut sg = vec![0.0f32; len];
        let row = BackwardRow {
            charge,
            reset,
            th,
            keep,
            keep_r,
        };
        for t in (0..t_steps).rev() {
            let base = t * n + start;
            if let Some(g) = grad_v_seq {
                carry
                    .iter_mut()
                    .zip(&g[base..base + len])
                    .for_each(|(c, g)| *c += g);
            }
            // SAFETY: columns [start, start+len) of rows t and t − 1 belong to this task only;
            // row t is H[t] until this step writes ∂L/∂X[t] over it, row t − 1 is still H[t − 1].
            let hx = unsafe { gx_ptr.slice(base, len) };
            surrogate.grad_over_threshold(hx, th, &mut sg);
            let gs = if broadcast {
                grad_spike
            } else {
                &grad_spike[base..base + len]
            };
            // V[t−1]: the reset of H[t−1], or v_init at t = 0.
            let prev: &[f32] = if t == 0 {
                v0
            } else {
                // SAFETY: as above (row t − 1 is only read here).
                unsafe { gx_ptr.slice(base - n, len) }
            };
            let c = (&mut carry[..], &mut carry_w[..], &mut grad_k[..]);
            match (t == 0, broadcast) {
                (true, false) => row.run::<false, false>(hx, &sg, gs, prev, c),
                (false, false) => row.run::<true, false>(hx, &sg, gs, prev, c),
                (true, true) => row.run::<false, true>(hx, &sg, gs, prev, c),
                (false, true) => row.run::<true, true>(hx, &sg, gs, prev, c),
            }
        }
        // SAFETY: entries [start, start+len) (and [n+start, n+start+len)) belong to this task only.
        unsafe { gv0_ptr.slice(start, len) }.copy_from_slice(&carry);
        if C::ADAPTS {
            // SAFETY: as above.
            unsafe { gv0_ptr.slice(n + start, len) }.copy_from_slice(&carry_w);
        }
        grad_k.iter().map(|&g| g as f64).sum()
    }))
}

/// One backward time step of a chunk (see [`forward_row`] on why it is a separate function).
#[derive(Clone, Copy)]
struct BackwardRow<C, R> {
    charge: C,
    reset: R,
    th: f32,
    keep: f32,
    keep_r: f32,
}

impl<C: Charge, R: Reset> BackwardRow<C, R> {
    /// Updates `carry` from `∂L/∂V[t]` to `∂L/∂V[t−1]` (and `∂L/∂W`, for adapting neurons),
    /// replaces `H[t]` in `hx` by `∂L/∂X[t]` and adds this step's `∂L/∂k` to `grad_k` (per
    /// neuron: no reduction in the loop, so it vectorises). `prev` is `H[t−1]` when `PREV_IS_H`,
    /// else `V[t−1]` itself; `sg` is σ'(H[t] − V_th); `grad_spike` is one value for all when
    /// `BROADCAST`.
    #[inline(never)]
    fn run<const PREV_IS_H: bool, const BROADCAST: bool>(
        self,
        hx: &mut [f32],
        sg: &[f32],
        grad_spike: &[f32],
        prev: &[f32],
        (carry, carry_w, grad_k): (&mut [f32], &mut [f32], &mut [f32]),
    ) {
        let len = carry.len();
        let carry_w = &mut carry_w[..if C::ADAPTS { len } else { 0 }];
        let grad_k = &mut grad_k[..if C::LEARNS_DECAY { len } else { 0 }];
        let [dh_dw, dw_dw, dw_dh, dw_ds] = self.charge.adapt_grads();
        let gs = &grad_spike[..if BROADCAST { 1 } else { len }];
        let (hx, sg, prev) = (&mut hx[..len], &sg[..len], &prev[..len]);
        for i in 0..len {
            let hi = hx[i];
            let spike = heaviside(hi - self.th);
            let grad_s_to_h = sg[i];
            let mut gh = carry[i]
                * self
                    .reset
                    .dv_dh(hi, spike, grad_s_to_h, self.keep, self.keep_r)
                + gs[if BROADCAST { 0 } else { i }] * grad_s_to_h;
            if C::ADAPTS {
                gh += carry_w[i] * (dw_dh + dw_ds * grad_s_to_h);
                carry_w[i] = carry_w[i] * dw_dw + gh * dh_dw;
            }
            let v_prev = match PREV_IS_H {
                true => self.reset.v(prev[i], heaviside(prev[i] - self.th)),
                false => prev[i],
            };
            hx[i] = gh * self.charge.dh_dx(v_prev);
            if C::LEARNS_DECAY {
                grad_k[i] += gh * self.charge.dh_dk(v_prev, hi);
            }
            carry[i] = gh * self.charge.dh_dv(v_prev);
        }
    }
}
