//! glibc's allocator and large tensors: by default every block above the (dynamic, at most 32 MiB)
//! mmap threshold is a fresh `mmap`, returned to the kernel on `free`. A training step allocates and
//! frees the same large activations every iteration, so each one is page-faulted in again (about
//! 1 ms per 4 MiB here): at T = 16, N = 2^20 that was three quarters of a fused LIF
//! forward+backward. [`keep_freed_memory`] makes glibc serve large blocks from its heap and keep
//! freed memory for reuse (`M_MMAP_MAX = 0`, `M_TRIM_THRESHOLD` = 2 GiB): the process keeps its
//! peak footprint instead of returning it, like PyTorch's CUDA caching allocator on the GPU.
use std::sync::OnceLock;

/// The environment variable that turns the setting off (`SJ_KEEP_FREED_MEMORY=0`).
const OPT_OUT: &str = "SJ_KEEP_FREED_MEMORY";

static APPLIED: OnceLock<bool> = OnceLock::new();

/// Applies the setting once per process (later calls return the first answer): `true` when
/// glibc accepted it; `false` when `SJ_KEEP_FREED_MEMORY=0` or on other C libraries.
pub fn keep_freed_memory() -> bool {
    *APPLIED.get_or_init(|| {
        if std::env::var(OPT_OUT).is_ok_and(|v| v == "0") {
            return false;
        }
        apply()
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only changes glibc's tuning parameters; both values are in range.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minor page faults of this thread so far.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn minor_faults() -> i64 {
        // SAFETY: rusage is plain integers, for which all zeros is a valid value.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage fills the struct it is given.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) }, 0);
        u.ru_minflt
    }

    #[test]
    fn applied_once_and_freed_blocks_are_reused_without_page_faults() {
        let first = keep_freed_memory();
        assert_eq!(keep_freed_memory(), first);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if first {
            // A 16 MiB block, written, freed and allocated again: without the setting it is a
            // fresh mapping and writing it faults in all 4096 pages again.
            let touch = || {
                let v = vec![1u8; 16 << 20];
                std::hint::black_box(&v);
            };
            touch();
            let before = minor_faults();
            touch();
            let faults = minor_faults() - before;
            assert!(
                faults < 256,
                "{faults} page faults re-using a freed 16 MiB block"
            );
        }
    }
}
