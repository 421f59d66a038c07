//! Automatic mixed precision regions (`torch.autocast(device_type, dtype)`) through the C++ shim:
//! tch exposes libtorch's autocast for CUDA only; sj's Trainer also needs the CPU's bfloat16.
use crate::error::KernelError;
use std::ffi::{c_char, c_int, CStr};
use tch::{Device, Kind};

extern "C" {
    fn sj_autocast_enter(
        device: c_int,
        dtype: c_int,
        prev_dtype: *mut c_int,
        err: *mut c_char,
        err_len: i64,
    ) -> c_int;
    fn sj_autocast_exit(device: c_int, prev_enabled: c_int, prev_dtype: c_int);
}

/// While alive, libtorch autocasts the ops it lists (convolutions, matrix products, ...) on
/// `device` to `kind`; dropping it restores the previous state (regions nest).
#[derive(Debug)]
pub struct AutocastGuard {
    device: c_int,
    prev_enabled: c_int,
    prev_dtype: c_int,
}

impl AutocastGuard {
    /// Enters autocast on `device`'s type (CPU or CUDA) with `kind` (`BFloat16` on the CPU,
    /// `Half` or `BFloat16` on CUDA, as libtorch allows).
    pub fn new(device: Device, kind: Kind) -> Result<Self, KernelError> {
        let device = match device {
            Device::Cpu => 0,
            Device::Cuda(_) => 1,
            other => {
                return Err(KernelError::Input(format!(
                    "autocast runs on the CPU or CUDA, not {other:?}"
                )))
            }
        };
        let dtype = match kind {
            Kind::Half => 5,
            Kind::BFloat16 => 15,
            other => {
                return Err(KernelError::Input(format!(
                    "autocast computes in Half or BFloat16, not {other:?}"
                )))
            }
        };
        let mut prev_dtype = 0;
        let mut err = [0 as c_char; 512];
        // SAFETY: plain integers and a buffer of err.len() bytes for the message.
        let prev = unsafe {
            sj_autocast_enter(
                device,
                dtype,
                &mut prev_dtype,
                err.as_mut_ptr(),
                err.len() as i64,
            )
        };
        if prev < 0 {
            // SAFETY: the shim wrote a NUL-terminated message into the buffer.
            let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy();
            return Err(KernelError::Input(format!(
                "autocast: {}",
                msg.lines().next().unwrap_or_default()
            )));
        }
        Ok(AutocastGuard {
            device,
            prev_enabled: prev,
            prev_dtype,
        })
    }
}

impl Drop for AutocastGuard {
    fn drop(&mut self) {
        // SAFETY: restores the state `new` saved; the shim catches every exception.
        unsafe { sj_autocast_exit(self.device, self.prev_enabled, self.prev_dtype) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;

    #[test]
    fn cpu_bfloat16_region_casts_matmul_and_ends() {
        let a = Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
        let b = Tensor::ones([3, 4], (Kind::Float, Device::Cpu));
        {
            let _guard = AutocastGuard::new(Device::Cpu, Kind::BFloat16).unwrap();
            assert_eq!(a.matmul(&b).kind(), Kind::BFloat16);
            // element-wise ops keep their dtype
            assert_eq!((&a + 1.0).kind(), Kind::Float);
        }
        assert_eq!(a.matmul(&b).kind(), Kind::Float);
        assert!(AutocastGuard::new(Device::Cpu, Kind::Double).is_err());
    }
}
