//! The Rust side of the autograd bridge: [`fused_neuron`] applies the C++ `FusedNeuron` function,
//! whose forward and backward call back into the CPU or CUDA kernels by device.
use crate::config::NeuronConfig;
use crate::cpu::{self, GradV};
use crate::cuda;
use crate::error::KernelError;
use std::ffi::{c_char, c_int, c_void, CStr};
use tch::{Device, Kind, Tensor};
use torch_sys::C_tensor;

type ForwardFn = unsafe extern "C" fn(
    *const c_void,
    *mut C_tensor,
    *mut C_tensor,
    *mut C_tensor,
    *mut *mut C_tensor,
    *mut c_char,
    i64,
);
type BackwardFn = unsafe extern "C" fn(
    *const c_void,
    c_int,
    *mut C_tensor,
    *mut C_tensor,
    *mut C_tensor,
    *mut C_tensor,
    *mut C_tensor,
    *mut *mut C_tensor,
    *mut c_char,
    i64,
);

extern "C" {
    fn sj_fused_neuron_apply(
        x: *mut C_tensor,
        v_init: *mut C_tensor,
        decay: *mut C_tensor,
        cfg: *mut c_void,
        drop_cfg: unsafe extern "C" fn(*mut c_void),
        fwd: ForwardFn,
        bwd: BackwardFn,
        spike_out: *mut *mut C_tensor,
        v_seq_out: *mut *mut C_tensor,
        err: *mut c_char,
        err_len: i64,
    ) -> c_int;
    fn sj_graph_consumed(t: *mut C_tensor) -> c_int;
    fn sj_mark_state(t: *mut C_tensor, err: *mut c_char, err_len: i64) -> *mut C_tensor;
}

/// `state` (equal, a copy) with an identity autograd node on its history that [`graph_consumed`]
/// finds once a backward has run through it: neurons put it where a step reads the state, so a
/// state left over from a trained-on batch is recognised whatever computed it (fused kernel or
/// op-by-op). Tensors that do not require grad are returned as they are.
pub fn mark_state(state: &Tensor) -> Result<Tensor, KernelError> {
    if !state.requires_grad() {
        return Ok(state.shallow_clone());
    }
    let mut handle = state.shallow_clone();
    let mut err = [0 as c_char; 512];
    // SAFETY: the pointer is a live tensor for the call; the shim returns a new tensor we own,
    // or null with a NUL-terminated message.
    let out = unsafe { sj_mark_state(handle.as_mut_ptr(), err.as_mut_ptr(), err.len() as i64) };
    if out.is_null() {
        // SAFETY: the shim wrote a NUL-terminated message.
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy();
        return Err(KernelError::Autograd(msg.into_owned()));
    }
    // SAFETY: a non-null result is a new tensor owned by us.
    Ok(unsafe { Tensor::from_ptr(out) })
}

/// Whether `state`'s autograd graph runs into a fused kernel node or a [`mark_state`] node that a
/// finished backward has released: the state of a trained-on batch that was never reset (the next backward
/// would fail with libtorch's "Trying to backward through the graph a second time"). False for
/// tensors without history; never fails.
pub fn graph_consumed(state: &Tensor) -> bool {
    if !state.requires_grad() {
        return false;
    }
    let mut handle = state.shallow_clone();
    // SAFETY: the pointer is a live tensor for the call; the shim only reads its graph and
    // catches every C++ exception.
    unsafe { sj_graph_consumed(handle.as_mut_ptr()) == 1 }
}

/// Whether the kernels take `x`'s dtype on its device: float32 everywhere, float16 and bfloat16
/// on CUDA (stored in 16 bits, computed in float32).
pub fn supports(x: &Tensor) -> bool {
    match x.kind() {
        Kind::Float => true,
        Kind::Half | Kind::BFloat16 => x.device().is_cuda(),
        _ => false,
    }
}

/// Runs a fused multi-step neuron: `x_seq` is `[T, *]` (float32, contiguous or not), `v_init` is
/// the initial state `[*]` (`[2, *]`, `V` then `W`, for Izhikevich), `decay` is the ParametricLIF
/// decay `k = sigmoid(w)` (a scalar tensor) or `None`. Returns `(spike_seq, v)`: spikes `[T, *]`
/// and the potential, `V[t]` as `[T, *]` when `cfg.store_v_seq`, else the last state (`v_init`'s
/// shape). Both are outputs of one autograd node whose backward is the fused BPTT kernel
/// (gradients for `x_seq`, `v_init` and `decay`).
pub fn fused_neuron(
    cfg: &NeuronConfig,
    x_seq: &Tensor,
    v_init: &Tensor,
    decay: Option<&Tensor>,
) -> Result<(Tensor, Tensor), KernelError> {
    cfg.check().map_err(KernelError::Input)?;
    let states = cfg.charge.state_len();
    let state_shape = |x: &[i64]| match states {
        1 => x.to_vec(),
        k => [&[k as i64], x].concat(),
    };
    if x_seq.dim() < 1 || state_shape(&x_seq.size()[1..]) != v_init.size() {
        return Err(KernelError::Input(format!(
            "x_seq {:?} must be [T, *] with v_init {:?} = [{}*]",
            x_seq.size(),
            v_init.size(),
            if states == 1 { "" } else { "2, " }
        )));
    }
    if states > 1 && cfg.store_v_seq {
        return Err(KernelError::Input(
            "store_v_seq is not supported for neurons with two state variables".into(),
        ));
    }
    if !supports(x_seq) || v_init.kind() != x_seq.kind() {
        return Err(KernelError::Input(format!(
            "fused kernels take float32 (and float16 or bfloat16 on CUDA), with v_init of the same dtype; got {:?} on {:?} and {:?}",
            x_seq.kind(),
            x_seq.device(),
            v_init.kind()
        )));
    }
    if x_seq.device() != v_init.device() || decay.is_some_and(|d| d.device() != x_seq.device()) {
        return Err(KernelError::Input(
            "x_seq, v_init and decay must be on one device".into(),
        ));
    }
    if cfg.charge.learns_decay() != decay.is_some() {
        return Err(KernelError::Input(format!(
            "a decay tensor is needed by a charge with a learnable decay (ParametricLIF) and only \
             by it; {:?} {}",
            cfg.charge,
            if decay.is_some() {
                "has none"
            } else {
                "needs one"
            }
        )));
    }
    let t_steps = x_seq.size()[0];
    let n = v_init.numel() as i64 / states as i64;
    let mut x2 = x_seq.reshape([t_steps, n]).contiguous();
    let mut v2 = v_init.reshape([-1]).contiguous();
    // libtorch's custom functions need defined tensor inputs: neurons without a learnable decay
    // get a constant zero that the kernels ignore.
    let mut k2 = match decay {
        Some(d) => d.reshape([1]).to_kind(Kind::Float).contiguous(),
        None => Tensor::zeros([1], (Kind::Float, x_seq.device())),
    };
    // The shim owns this copy until libtorch frees the autograd node (through `drop_config`).
    let handle = Box::into_raw(Box::new(cfg.clone())) as *mut c_void;
    let mut err = [0 as c_char; 512];
    let (mut s_ptr, mut v_ptr) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: the tensor pointers are valid for the call; the shim copies what it keeps and
    // returns new tensors that we take ownership of.
    let rc = unsafe {
        sj_fused_neuron_apply(
            x2.as_mut_ptr(),
            v2.as_mut_ptr(),
            k2.as_mut_ptr(),
            handle,
            drop_config,
            forward_callback,
            backward_callback,
            &mut s_ptr,
            &mut v_ptr,
            err.as_mut_ptr(),
            err.len() as i64,
        )
    };
    if rc != 0 {
        // SAFETY: the shim wrote a NUL-terminated message.
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        return Err(KernelError::Autograd(msg));
    }
    // SAFETY: on success both pointers are new tensors owned by us.
    let (s, v) = unsafe { (Tensor::from_ptr(s_ptr), Tensor::from_ptr(v_ptr)) };
    let v_shape = if cfg.store_v_seq {
        x_seq.size()
    } else {
        v_init.size()
    };
    Ok((s.view(x_seq.size().as_slice()), v.view(v_shape.as_slice())))
}

fn write_err(err: *mut c_char, len: i64, msg: &str) {
    let bytes = msg.as_bytes();
    let n = bytes.len().min(len as usize - 1);
    // SAFETY: the shim passes a buffer of `len` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr() as *const c_char, err, n);
        *err.add(n) = 0;
    }
}

fn give(out: *mut *mut C_tensor, tensors: [Option<Tensor>; 3]) {
    for (i, t) in tensors.into_iter().enumerate() {
        // SAFETY: `out` has three slots; ownership of each tensor moves to the shim.
        unsafe {
            *out.add(i) = match t {
                Some(mut t) => {
                    let p = t.as_mut_ptr();
                    std::mem::forget(t);
                    p
                }
                None => std::ptr::null_mut(),
            };
        }
    }
}

/// Borrows a shim tensor as a tch tensor (a new shallow handle; null stays `None`).
///
/// # Safety
/// `p` is null or a live `at::Tensor*` for the duration of the call.
unsafe fn borrow(p: *mut C_tensor) -> Option<Tensor> {
    // SAFETY: guaranteed by the caller; the new handle shares the storage.
    (!p.is_null()).then(|| unsafe { Tensor::clone_from_ptr(p) })
}

fn f32s(t: &Tensor) -> &[f32] {
    match t.numel() {
        // libtorch's data pointer is null for an empty tensor; a slice must never be built on it.
        0 => &[],
        // SAFETY: callers pass contiguous float32 CPU tensors that outlive the slice, and a
        // non-empty tensor's data pointer is non-null and aligned.
        n => unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, n) },
    }
}

#[allow(clippy::mut_from_ref)]
fn f32s_mut(t: &Tensor) -> &mut [f32] {
    match t.numel() {
        // As in `f32s`: no slice on the null pointer of an empty tensor.
        0 => &mut [],
        // SAFETY: callers pass contiguous float32 CPU tensors that nothing else reads while the
        // slice lives (freshly allocated, or the saved H of a backward whose graph is freed
        // after it); a non-empty tensor's data pointer is non-null and aligned.
        n => unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, n) },
    }
}

/// Frees the configuration that [`fused_neuron`] handed to the shim.
///
/// # Safety
/// `p` must come from `Box::into_raw(Box<NeuronConfig>)` in [`fused_neuron`], freed once.
unsafe extern "C" fn drop_config(p: *mut c_void) {
    // SAFETY: guaranteed by the caller (the shim calls this once, when the handle dies).
    drop(unsafe { Box::from_raw(p as *mut NeuronConfig) });
}

/// The configuration behind a handle.
///
/// # Safety
/// `p` must be a live handle from [`fused_neuron`] (the shim keeps it alive during callbacks).
unsafe fn config<'a>(p: *const c_void) -> &'a NeuronConfig {
    // SAFETY: guaranteed by the caller.
    unsafe { &*(p as *const NeuronConfig) }
}

/// The learnable decay `k` (read once per call), or 0.
fn decay_value(decay: Option<&Tensor>) -> f32 {
    decay.map_or(0.0, |d| d.double_value(&[0]) as f32)
}

fn run_forward(
    cfg: &NeuronConfig,
    x: Tensor,
    v0: Tensor,
    decay: Option<Tensor>,
) -> Result<[Option<Tensor>; 3], KernelError> {
    if x.device() != Device::Cpu {
        // the CUDA kernels read the decay on the device
        let [s, v, h] = cuda::forward(cfg, &x, &v0, decay.as_ref())?;
        return Ok([Some(s), Some(v), Some(h)]);
    }
    let t_steps = x.size()[0] as usize;
    let (s, h, v_last) = (x.empty_like(), x.empty_like(), v0.empty_like());
    let v_seq = cfg.store_v_seq.then(|| x.empty_like());
    let out = cpu::ForwardOut {
        spike: f32s_mut(&s),
        v_seq: v_seq.as_ref().map(f32s_mut),
        v_last: f32s_mut(&v_last),
        h_seq: f32s_mut(&h),
    };
    let k = decay_value(decay.as_ref());
    cfg.charge
        .cpu_forward(&cfg.firing, k, t_steps, f32s(&x), f32s(&v0), out);
    Ok([Some(s), Some(v_seq.unwrap_or(v_last)), Some(h)])
}

/// The backward. `h_reusable`: the autograd graph is freed after this backward (no
/// `retain_graph`), so the saved `H` is never read again and the CPU kernel writes `∂L/∂X` over it
/// in place; otherwise it works on a copy.
fn run_backward(
    cfg: &NeuronConfig,
    grad_spike: Tensor,
    grad_v: Option<Tensor>,
    h_seq: Tensor,
    v0: Tensor,
    decay: Option<Tensor>,
    h_reusable: bool,
) -> Result<[Option<Tensor>; 3], KernelError> {
    if h_seq.device() != Device::Cpu {
        return cuda::backward(
            cfg,
            &grad_spike,
            grad_v.as_ref(),
            &h_seq,
            &v0,
            decay.as_ref(),
        );
    }
    let t_steps = h_seq.size()[0] as usize;
    let gx = match h_reusable {
        true => h_seq,
        false => h_seq.copy(),
    };
    let gv0 = v0.empty_like();
    let out = cpu::BackwardOut {
        h_then_grad_x: f32s_mut(&gx),
        grad_v_init: f32s_mut(&gv0),
    };
    let grad_v = match (&grad_v, cfg.store_v_seq) {
        (None, _) => GradV::None,
        (Some(g), true) => GradV::Seq(f32s(g)),
        (Some(g), false) => GradV::Last(f32s(g)),
    };
    let k = decay_value(decay.as_ref());
    let gk = cfg.charge.cpu_backward(
        &cfg.firing,
        k,
        t_steps,
        f32s(&grad_spike),
        grad_v,
        f32s(&v0),
        out,
    );
    let gk = decay.map(|d| {
        Tensor::from_slice(&[gk as f32])
            .to_device(d.device())
            .reshape(d.size().as_slice())
    });
    Ok([Some(gx), Some(gv0), gk])
}

fn guarded(
    err: *mut c_char,
    len: i64,
    out: *mut *mut C_tensor,
    f: impl FnOnce() -> Result<[Option<Tensor>; 3], KernelError>,
) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(t)) => give(out, t),
        Ok(Err(e)) => write_err(err, len, &e.to_string()),
        Err(_) => write_err(err, len, "panic inside the fused kernel"),
    }
}

unsafe extern "C" fn forward_callback(
    cfg: *const c_void,
    x: *mut C_tensor,
    v0: *mut C_tensor,
    decay: *mut C_tensor,
    out: *mut *mut C_tensor,
    err: *mut c_char,
    err_len: i64,
) {
    guarded(err, err_len, out, || {
        // SAFETY: the shim passes the live handle and valid (or null) tensor pointers for the
        // duration of the call.
        let (cfg, x, v0, decay) = unsafe { (config(cfg), borrow(x), borrow(v0), borrow(decay)) };
        let decay = decay.filter(|_| cfg.charge.learns_decay());
        run_forward(cfg, x.expect("x"), v0.expect("v_init"), decay)
    });
}

unsafe extern "C" fn backward_callback(
    cfg: *const c_void,
    h_reusable: c_int,
    grad_spike: *mut C_tensor,
    grad_v: *mut C_tensor,
    h_seq: *mut C_tensor,
    v0: *mut C_tensor,
    decay: *mut C_tensor,
    out: *mut *mut C_tensor,
    err: *mut c_char,
    err_len: i64,
) {
    guarded(err, err_len, out, || {
        // SAFETY: as above.
        let (cfg, gs, gv, h, v0, decay) = unsafe {
            (
                config(cfg),
                borrow(grad_spike),
                borrow(grad_v),
                borrow(h_seq),
                borrow(v0),
                borrow(decay),
            )
        };
        let decay = decay.filter(|_| cfg.charge.learns_decay());
        run_backward(
            cfg,
            gs.expect("grad_spike"),
            gv,
            h.expect("h_seq"),
            v0.expect("v_init"),
            decay,
            h_reusable != 0,
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surrogate::{Sigmoid, SurrogateRef};
    use crate::{Firing, IfCharge};
    use std::sync::Arc;

    /// The configuration handed to the C++ node lives exactly as long as the autograd node: one
    /// more reference to the surrogate while the outputs hold the graph, none once they are gone
    /// (after a backward or without one), and none after a call the shim refuses.
    #[test]
    fn the_node_owns_its_configuration_and_frees_it() {
        let sg: SurrogateRef = Arc::new(Sigmoid { alpha: 4.0 });
        let firing = Firing {
            v_threshold: 1.0,
            v_reset: Some(0.0),
            detach_reset: false,
            surrogate: sg.clone(),
        };
        let cfg = NeuronConfig::new(Arc::new(IfCharge), firing);
        assert_eq!(Arc::strong_count(&sg), 2);
        let x = Tensor::rand([4, 3], (tch::Kind::Float, Device::Cpu)).set_requires_grad(true);
        let v0 = Tensor::zeros([3], (tch::Kind::Float, Device::Cpu));
        for backward in [false, true] {
            let (s, v) = fused_neuron(&cfg, &x, &v0, None).unwrap();
            assert_eq!(
                Arc::strong_count(&sg),
                3,
                "the node holds the configuration"
            );
            if backward {
                s.sum(tch::Kind::Float).backward();
            }
            drop((s, v));
            assert_eq!(Arc::strong_count(&sg), 2, "freed with the node");
        }
        // Without gradients no node is recorded: nothing is kept.
        let (s, _) = tch::no_grad(|| fused_neuron(&cfg, &x, &v0, None)).unwrap();
        assert_eq!(Arc::strong_count(&sg), 2);
        drop(s);
        // A call refused before the shim keeps nothing either.
        assert!(fused_neuron(&cfg, &x, &v0.view([1, 3]), None).is_err());
        assert_eq!(Arc::strong_count(&sg), 2);
    }

    /// With `retain_graph` the saved H is not overwritten: a second backward gives the same
    /// gradient; without it, the first backward's gradient is the same too.
    #[test]
    fn backward_twice_with_retain_graph_gives_the_same_gradient() {
        let firing = Firing {
            v_threshold: 0.5,
            v_reset: None,
            detach_reset: false,
            surrogate: Arc::new(Sigmoid { alpha: 4.0 }),
        };
        let cfg = NeuronConfig::new(Arc::new(IfCharge), firing);
        tch::manual_seed(0);
        let x = Tensor::rand([6, 5], (tch::Kind::Float, Device::Cpu)).set_requires_grad(true);
        let v0 = Tensor::zeros([5], (tch::Kind::Float, Device::Cpu));
        let (s, _) = fused_neuron(&cfg, &x, &v0, None).unwrap();
        let w = Tensor::rand([6, 5], (tch::Kind::Float, Device::Cpu));
        let loss = (&s * &w).sum(tch::Kind::Float);
        let g1 = Tensor::run_backward(&[&loss], &[&x], true, false)[0].copy();
        let g2 = Tensor::run_backward(&[&loss], &[&x], false, false)[0].copy();
        assert!(g1.abs().sum(tch::Kind::Float).double_value(&[]) > 0.0);
        assert!(g1.equal(&g2), "{g1} vs {g2}");
    }
}
