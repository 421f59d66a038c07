//! The error of every fallible sj-kernels call; sj carries it as the typed source of
//! `SjError::Kernel`.

/// Why a fused call failed.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// Inputs the kernel cannot take (shape, dtype, device).
    #[error("{0}")]
    Input(String),
    /// CUDA was needed but is not usable here.
    #[error("CUDA not available: {0}")]
    CudaUnavailable(String),
    /// A CUDA driver or NVRTC error.
    #[error("CUDA error: {0}")]
    Cuda(String),
    /// An error raised inside libtorch's autograd machinery.
    #[error("autograd: {0}")]
    Autograd(String),
}
