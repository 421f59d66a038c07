//! CUDA kernels: `neuron.cu` is specialised per configuration (the neuron's charge functions, the
//! surrogate's gradient, the reset and the constants are written into the source), compiled to
//! PTX by NVRTC at first use and cached. cudarc loads the driver and NVRTC dynamically, so a build
//! never needs CUDA and a machine without a GPU gets [`KernelError::CudaUnavailable`], not a panic.
pub mod cfunction;
mod storage;

pub use storage::Storage;

use crate::config::NeuronConfig;
use crate::error::KernelError;
use cudarc::driver::{CudaContext, CudaFunction, LaunchConfig, PushKernelArg};
use std::collections::HashMap;
use std::ffi::CString;
use std::sync::{Arc, Mutex, OnceLock};
use tch::Tensor;

/// Threads per block (SpikingJelly's `configure.cuda_threads`).
pub(crate) const THREADS: u32 = 512;

/// The CUDA C source for one configuration, float32 tensors.
pub fn source(cfg: &NeuronConfig) -> String {
    source_for(cfg, Storage::F32)
}

/// The CUDA C source for one configuration and element type: the charge's device functions
/// ([`Charge::cuda`](crate::Charge::cuda)), the surrogate's gradient
/// ([`DynSurrogate::cuda_grad`](crate::DynSurrogate::cuda_grad)), the reset and the constants
/// written into `neuron.cu`. The source is also the kernel cache's key.
pub fn source_for(cfg: &NeuronConfig, storage: Storage) -> String {
    let f = &cfg.firing;
    include_str!("neuron.cu")
        .replace("@STORAGE@", storage.cuda())
        .replace("@CHARGE@", &cfg.charge.cuda())
        .replace("@ADAPTS@", if cfg.charge.adapts() { "1" } else { "0" })
        .replace("@SURROGATE_GRAD@", &f.surrogate.cuda_grad("over_th"))
        .replace("@HARD_RESET@", if f.v_reset.is_some() { "1" } else { "0" })
        .replace(
            "@DETACH_RESET@",
            if f.detach_reset { "1.0f" } else { "0.0f" },
        )
        .replace("@V_TH@", &format!("{:?}f", f.v_threshold as f32))
        .replace(
            "@V_RESET@",
            &format!("{:?}f", f.v_reset.unwrap_or(0.0) as f32),
        )
}

/// Compiles `src` to PTX with NVRTC (no GPU needed), as the kernels are compiled at first use.
pub fn compile(src: &str) -> Result<cudarc::nvrtc::Ptx, KernelError> {
    compile_with(src, Vec::new())
}

/// [`compile`] with folders to search for `#include`d headers.
pub(crate) fn compile_with(
    src: &str,
    include_paths: Vec<String>,
) -> Result<cudarc::nvrtc::Ptx, KernelError> {
    // SAFETY: only probes whether the shared library can be loaded.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(KernelError::CudaUnavailable(
            "NVRTC (libnvrtc) not found".into(),
        ));
    }
    // No fused multiply-adds: each operation rounds as in the CPU kernels and the op-by-op path.
    let opts = cudarc::nvrtc::CompileOptions {
        use_fast_math: Some(false),
        fmad: Some(false),
        include_paths,
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(src, opts)
        .map_err(|e| KernelError::Cuda(format!("NVRTC: {e}")))
}

fn driver_present() -> bool {
    let name = CString::new("libcuda.so.1").expect("no NUL");
    // SAFETY: dlopen with a valid C string; the handle stays open for the process.
    !unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) }.is_null()
}

/// The CUDA context of device `ordinal`, checking for the driver first (an unguarded
/// `CudaContext::new` panics where there is none).
pub(crate) fn context(ordinal: usize) -> Result<Arc<CudaContext>, KernelError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<usize, Arc<CudaContext>>>> = OnceLock::new();
    // SAFETY: only probes whether the shared library can be loaded.
    if !driver_present() || !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(KernelError::CudaUnavailable(
            "no NVIDIA driver library (libcuda.so.1)".into(),
        ));
    }
    let mut map = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| KernelError::Cuda("context cache poisoned".into()))?;
    if let Some(c) = map.get(&ordinal) {
        return Ok(c.clone());
    }
    let ctx = CudaContext::new(ordinal)
        .map_err(|e| KernelError::CudaUnavailable(format!("device {ordinal}: {e}")))?;
    map.insert(ordinal, ctx.clone());
    Ok(ctx)
}

/// The compiled `(fptt, bptt)` functions for a configuration on a device, from the cache (keyed
/// by the generated source, which holds every constant).
fn kernels(
    cfg: &NeuronConfig,
    storage: Storage,
    ordinal: usize,
) -> Result<(CudaFunction, CudaFunction), KernelError> {
    type Cache = Mutex<HashMap<(usize, String), (CudaFunction, CudaFunction)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let src = source_for(cfg, storage);
    let key = (ordinal, src.clone());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(f) = cache
        .lock()
        .map_err(|_| KernelError::Cuda("kernel cache poisoned".into()))?
        .get(&key)
    {
        return Ok(f.clone());
    }
    let ctx = context(ordinal)?;
    let module = ctx
        .load_module(compile(&src)?)
        .map_err(|e| KernelError::Cuda(e.to_string()))?;
    let f = module
        .load_function("sj_fptt")
        .map_err(|e| KernelError::Cuda(e.to_string()))?;
    let b = module
        .load_function("sj_bptt")
        .map_err(|e| KernelError::Cuda(e.to_string()))?;
    cache
        .lock()
        .map_err(|_| KernelError::Cuda("kernel cache poisoned".into()))?
        .insert(key, (f.clone(), b.clone()));
    Ok((f, b))
}

fn ptr(t: Option<&Tensor>) -> u64 {
    t.map_or(0, |t| t.data_ptr() as u64)
}

/// Launches `f` with one thread per neuron: the pointer `args`, then the integers `ints`
/// (T, N, ...). Nothing to do for no neurons.
fn launch(
    ordinal: usize,
    f: &CudaFunction,
    n: usize,
    args: &[u64],
    ints: &[i32],
) -> Result<(), KernelError> {
    if n == 0 {
        return Ok(());
    }
    let ctx = context(ordinal)?;
    // The legacy default stream: ordered with libtorch's default stream, which sj uses.
    let stream = ctx.default_stream();
    let cfg = LaunchConfig {
        grid_dim: ((n as u32).div_ceil(THREADS), 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut builder = stream.launch_builder(f);
    for a in args {
        builder.arg(a);
    }
    for i in ints {
        builder.arg(i);
    }
    // SAFETY: the arguments match the kernel's parameters (pointers to contiguous tensors of the
    // kernel's storage type on this device, of the sizes the kernel reads, then the integers).
    unsafe { builder.launch(cfg) }.map_err(|e| KernelError::Cuda(e.to_string()))?;
    stream
        .synchronize()
        .map_err(|e| KernelError::Cuda(e.to_string()))
}

/// T and N as the kernels' `int`s: N counts neurons, the state holds `states`·N values.
fn dims(t_steps: i64, n: i64, states: usize) -> Result<(i32, i32), KernelError> {
    let fits = |v: i64| v >= 0 && v <= i32::MAX as i64;
    match fits(t_steps) && fits(n * states as i64) {
        true => Ok((t_steps as i32, n as i32)),
        false => Err(KernelError::Input(format!(
            "CUDA kernels index with 32-bit T and N, got T={t_steps}, N={n}"
        ))),
    }
}

/// The storage of `t`, or an error naming the dtypes the kernels take.
fn storage_of(t: &Tensor) -> Result<Storage, KernelError> {
    Storage::of(t.kind()).ok_or_else(|| {
        KernelError::Input(format!(
            "CUDA kernels take float32, float16 or bfloat16, got {:?}",
            t.kind()
        ))
    })
}

/// FPTT on CUDA; inputs are contiguous `[T, N]` and state `[N]` (or `[2, N]`) of one dtype on
/// `Device::Cuda(ordinal)`; the decay is float32.
pub(crate) fn forward(
    cfg: &NeuronConfig,
    x: &Tensor,
    v_init: &Tensor,
    decay: Option<&Tensor>,
) -> Result<[Tensor; 3], KernelError> {
    let ordinal = match x.device() {
        tch::Device::Cuda(o) => o,
        d => {
            return Err(KernelError::Input(format!(
                "expected a CUDA tensor, got {d:?}"
            )))
        }
    };
    let (t_steps, n) = (x.size()[0], x.size()[1]);
    let (f, _) = kernels(cfg, storage_of(x)?, ordinal)?;
    let (s, h, v_last) = (x.empty_like(), x.empty_like(), v_init.empty_like());
    let v_seq = cfg.store_v_seq.then(|| x.empty_like());
    let args = [
        ptr(Some(x)),
        ptr(Some(v_init)),
        ptr(decay),
        ptr(Some(&s)),
        ptr(v_seq.as_ref()),
        ptr(Some(&v_last)),
        ptr(Some(&h)),
    ];
    let (t32, n32) = dims(t_steps, n, cfg.charge.state_len())?;
    launch(ordinal, &f, n as usize, &args, &[t32, n32])?;
    Ok([s, v_seq.unwrap_or(v_last), h])
}

/// BPTT on CUDA; returns `(grad_x, grad_v_init, grad_decay)`. `grad_spike` is `[T, N]`, or one
/// value for every spike.
pub(crate) fn backward(
    cfg: &NeuronConfig,
    grad_spike: &Tensor,
    grad_v: Option<&Tensor>,
    h_seq: &Tensor,
    v_init: &Tensor,
    decay: Option<&Tensor>,
) -> Result<[Option<Tensor>; 3], KernelError> {
    let ordinal = match h_seq.device() {
        tch::Device::Cuda(o) => o,
        d => {
            return Err(KernelError::Input(format!(
                "expected a CUDA tensor, got {d:?}"
            )))
        }
    };
    let (t_steps, n) = (h_seq.size()[0], h_seq.size()[1]);
    let (_, b) = kernels(cfg, storage_of(h_seq)?, ordinal)?;
    let (gx, gv0) = (h_seq.empty_like(), v_init.empty_like());
    let gk = decay.map(|d| d.zeros_like());
    let (grad_v_seq, grad_v_last) = match grad_v {
        Some(g) if g.dim() == 2 => (Some(g), None),
        other => (None, other),
    };
    let args = [
        ptr(Some(grad_spike)),
        ptr(grad_v_seq),
        ptr(grad_v_last),
        ptr(Some(h_seq)),
        ptr(Some(v_init)),
        ptr(decay),
        ptr(Some(&gx)),
        ptr(Some(&gv0)),
        ptr(gk.as_ref()),
    ];
    let (t32, n32) = dims(t_steps, n, cfg.charge.state_len())?;
    let gs_stride = i32::from(grad_spike.numel() == h_seq.numel());
    launch(ordinal, &b, n as usize, &args, &[t32, n32, gs_stride])?;
    Ok([Some(gx), Some(gv0), gk])
}
