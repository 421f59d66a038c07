//! Device initialisation: make libtorch's CUDA library visible to tch, and pick the best device.
//!
//! Rust's linker drops `libtorch_cuda.so` (nothing references it by symbol), so tch alone never
//! sees a GPU. [`init`] loads it with `dlopen(RTLD_NOW | RTLD_GLOBAL)`, which registers the CUDA
//! backend with libtorch. That works the same in binaries, tests and evcxr cells. It first checks
//! for the NVIDIA driver library, so on a CPU-only machine nothing is loaded and nothing is printed.
//!
//! ```
//! let device = sj::device::best_device();
//! assert!(matches!(device, tch::Device::Cpu | tch::Device::Cuda(_)));
//! ```
use crate::error::{Result, SjError};
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::OnceLock;
use tch::Device;

/// What [`init`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CudaStatus {
    /// libtorch's CUDA backend is loaded and at least one GPU is usable.
    Available {
        /// How many GPUs are usable.
        devices: usize,
    },
    /// Not usable, with the reason (no driver, no CUDA build of libtorch, no GPU).
    Unavailable(String),
}

static STATUS: OnceLock<CudaStatus> = OnceLock::new();

fn dlopen(name: &str, flags: i32) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: dlopen with a valid NUL-terminated path; the handle is intentionally kept open.
    !unsafe { libc::dlopen(c.as_ptr(), flags) }.is_null()
}

/// The directory holding the libtorch that this process already loaded (libc10.so).
fn loaded_torch_lib_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("SJ_TORCH_LIB") {
        return Some(PathBuf::from(dir));
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libc10.so"))
        .and_then(|p| PathBuf::from(p).parent().map(PathBuf::from))
}

fn probe() -> CudaStatus {
    // Touch libtorch first so that libc10.so is mapped and its directory can be found.
    let _ = tch::Cuda::is_available();
    if !dlopen("libcuda.so.1", libc::RTLD_NOW | libc::RTLD_LOCAL) {
        return CudaStatus::Unavailable(
            "no NVIDIA driver library (libcuda.so.1) on this machine".into(),
        );
    }
    let candidates = loaded_torch_lib_dir()
        .map(|d| d.join("libtorch_cuda.so").to_string_lossy().into_owned())
        .into_iter()
        .chain(std::iter::once("libtorch_cuda.so".to_string()));
    if !candidates
        .into_iter()
        .any(|p| dlopen(&p, libc::RTLD_NOW | libc::RTLD_GLOBAL))
    {
        return CudaStatus::Unavailable("libtorch_cuda.so not found (a CPU-only libtorch?)".into());
    }
    match tch::Cuda::device_count() {
        n if n > 0 && tch::Cuda::is_available() => CudaStatus::Available {
            devices: n as usize,
        },
        _ => CudaStatus::Unavailable("the driver reports no usable GPU".into()),
    }
}

/// Loads libtorch's CUDA backend once per process (idempotent, never panics) and says what it found.
/// It changes no allocator setting: that is [`keep_freed_memory`], a call of its own.
pub fn init() -> &'static CudaStatus {
    STATUS.get_or_init(probe)
}

/// Asks glibc to keep freed memory for reuse, for the rest of the process: a process-wide
/// setting, so sj never applies it on its own; call it once at the start of a training script or
/// notebook. Returns `true` when glibc accepted it; `false` on other C libraries or when the
/// environment variable `SJ_KEEP_FREED_MEMORY=0` opts out. Later calls return the first answer.
///
/// What it changes: glibc serves every block above its mmap threshold (dynamic, at most 32 MiB)
/// with a fresh `mmap` and returns it to the kernel on `free`. With the setting
/// (`M_MMAP_MAX = 0`, `M_TRIM_THRESHOLD` = 2 GiB) large blocks come from the heap and freed
/// memory stays in the process: its footprint stays at its peak instead of shrinking, like
/// PyTorch's CUDA caching allocator on the GPU.
///
/// Why: a training step allocates and frees the same large activations every iteration, and
/// without the setting each one is page-faulted in again, about 1 ms per 4 MiB on the project's
/// 2-core machine; at T = 16, N = 2^20 that was three quarters of a fused LIF forward + backward
/// ([`sj_kernels::cpu::keep_freed_memory`] has the measurement). The tutorial examples and the
/// benchmarks call it; skip it where a smaller resident footprint matters more than speed.
///
/// ```
/// // first thing in a script: large tensors freed by one step are reused by the next
/// sj::device::keep_freed_memory();
/// ```
pub fn keep_freed_memory() -> bool {
    sj_kernels::cpu::keep_freed_memory()
}

/// True when CUDA tensors can be used.
pub fn cuda_available() -> bool {
    matches!(init(), CudaStatus::Available { .. })
}

/// CUDA device 0 when available, else the CPU. Never errors.
pub fn best_device() -> Device {
    if cuda_available() {
        Device::Cuda(0)
    } else {
        Device::Cpu
    }
}

/// The CUDA device `index`, or [`SjError::CudaUnavailable`] saying why not.
pub fn cuda(index: usize) -> Result<Device> {
    match init() {
        CudaStatus::Available { devices } if index < *devices => Ok(Device::Cuda(index)),
        CudaStatus::Available { devices } => Err(SjError::CudaUnavailable(format!(
            "device {index} requested, {devices} present"
        ))),
        CudaStatus::Unavailable(why) => Err(SjError::CudaUnavailable(why.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_idempotent_and_consistent_with_tch() {
        let a = init().clone();
        assert_eq!(&a, init());
        assert_eq!(cuda_available(), tch::Cuda::is_available());
        match a {
            CudaStatus::Available { .. } => assert!(matches!(best_device(), Device::Cuda(0))),
            CudaStatus::Unavailable(_) => {
                assert_eq!(best_device(), Device::Cpu);
                let err = cuda(0).unwrap_err();
                assert!(err.to_string().starts_with("CUDA not available"), "{err}");
            }
        }
    }
}
