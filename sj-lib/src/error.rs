//! The error type of every fallible sj call.
use std::fmt;

/// Everything that can go wrong in sj, with the module and what was expected versus what was got.
#[derive(Debug, thiserror::Error)]
pub enum SjError {
    /// A step mode string or value a module does not support.
    #[error("{module}: step mode '{got}' is not supported (expected one of {expected})")]
    StepMode {
        /// The module (or function) that reports it.
        module: String,
        /// What it expected.
        expected: String,
        /// What it got.
        got: String,
    },
    /// A backend a module does not support, or one that is not available on this machine.
    #[error("{module}: backend '{got}' is not supported (expected one of {expected})")]
    Backend {
        /// The module (or function) that reports it.
        module: String,
        /// What it expected.
        expected: String,
        /// What it got.
        got: String,
    },
    /// An input of the wrong shape.
    #[error("{module}: expected input shape {expected}, got {got:?}")]
    Shape {
        /// The module (or function) that reports it.
        module: String,
        /// What it expected.
        expected: String,
        /// What it got.
        got: Vec<i64>,
    },
    /// An input of the wrong dtype or on the wrong device.
    #[error("{module}: expected {expected}, got {got}")]
    Input {
        /// The module (or function) that reports it.
        module: String,
        /// What it expected.
        expected: String,
        /// What it got.
        got: String,
    },
    /// A stateful module still holds state from an earlier batch that does not fit the new input.
    #[error(
        "{module}: its state has shape {state:?} from an earlier input but the new input has shape {input:?}; \
         call functional::reset_net(&mut net) after every batch (SpikingJelly's reset_net)"
    )]
    StaleState {
        /// The module (or function) that reports it.
        module: String,
        /// The shape of the state it holds.
        state: Vec<i64>,
        /// The shape of the new input.
        input: Vec<i64>,
    },
    /// A stateful module still holds the autograd graph of a batch whose backward has already
    /// run: the same-shape batch after it was fed without `reset_net`.
    #[error(
        "{module}: its state still holds the autograd graph of an earlier batch whose backward has \
         already run (the next backward would fail with 'Trying to backward through the graph a second \
         time'); call functional::reset_net(&mut net) after every batch (SpikingJelly's reset_net), or \
         functional::detach_net(&mut net) to carry the state on without its graph (truncated BPTT)"
    )]
    StaleGraph {
        /// The module whose state is stale.
        module: String,
    },
    /// A bad constructor argument or configuration.
    #[error("{module}: {message}")]
    Config {
        /// The module (or function) that reports it.
        module: String,
        /// What is wrong, and the fix where there is one.
        message: String,
    },
    /// A name (layer, parameter, file entry) that does not exist.
    #[error("{what} '{name}' not found{hint}")]
    NotFound {
        /// What was looked up or checked.
        what: String,
        /// The name looked up.
        name: String,
        /// What does exist, or how to get it.
        hint: String,
    },
    /// A fused kernel of [`sj_kernels`] refused its inputs or failed (a CUDA driver or NVRTC
    /// error, libtorch's autograd), with the module that called it; the kernel's own error is the
    /// [`std::error::Error::source`], so a caller can match on [`sj_kernels::KernelError`].
    #[error("{module}: {source}")]
    Kernel {
        /// The module whose forward ran the kernel.
        module: String,
        /// What the kernel reported.
        #[source]
        source: sj_kernels::KernelError,
    },
    /// CUDA was asked for but is not usable here.
    #[error("CUDA not available: {0}")]
    CudaUnavailable(String),
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// A file-system error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `torch.save` file (`.pt`, `.pth`) could not be read; the reader's error is the source.
    #[error("{path}: not a readable torch.save file ({source})")]
    TorchFile {
        /// The file.
        path: String,
        /// What `pytorch-reader` reported.
        #[source]
        source: pytorch_reader::PytorchError,
    },
    /// Plotting failed.
    #[error(transparent)]
    Plot(#[from] sj_plots::PlotError),
    /// Reading or batching a dataset failed.
    #[error(transparent)]
    Dataset(#[from] sj_datasets::DatasetError),
}

/// `Result` with [`SjError`].
pub type Result<T> = std::result::Result<T, SjError>;

impl SjError {
    /// A [`SjError::Kernel`] for `module`: use as `.map_err(|e| SjError::kernel(name, e))`.
    pub fn kernel(module: impl Into<String>, source: sj_kernels::KernelError) -> Self {
        SjError::Kernel {
            module: module.into(),
            source,
        }
    }

    /// A [`SjError::Config`] for `module`.
    pub fn config(module: impl Into<String>, message: impl fmt::Display) -> Self {
        SjError::Config {
            module: module.into(),
            message: message.to_string(),
        }
    }
}

/// Runs `f`, turning a libtorch failure that tch reported by panicking (its infallible wrappers
/// are `f_op(..).unwrap()`: an allocation of terabytes, a dtype mismatch deep inside an op) back
/// into the error it was, naming `module`. Any other panic is an sj bug and keeps unwinding.
///
/// The panic message of a converted failure is not printed: a process-wide panic hook, installed
/// once and delegating to the previous hook for every other panic, stays silent inside a guard.
pub fn torch_guard<T>(module: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_quiet_hook();
    let depth = GUARD_DEPTH.with(|d| d.replace(d.get() + 1));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARD_DEPTH.with(|d| d.set(depth));
    match out {
        Ok(r) => r,
        Err(payload) => match torch_panic_message(payload.as_ref()) {
            Some(message) => Err(SjError::Input {
                module: module.into(),
                expected: "an input libtorch can compute on".into(),
                got: message,
            }),
            None => std::panic::resume_unwind(payload),
        },
    }
}

thread_local! {
    /// How many [`torch_guard`]s the current thread is inside.
    static GUARD_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The first line of libtorch's message when `payload` is tch's unwrap of a `TchError`.
fn torch_panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())?;
    let rest = text.strip_prefix("called `Result::unwrap()` on an `Err` value: Torch(\"")?;
    let first = rest.split("\\n").next().unwrap_or(rest);
    Some(first.trim_end_matches("\")").to_string())
}

fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let guarded = GUARD_DEPTH.with(|d| d.get() > 0);
            if !(guarded && torch_panic_message(info.payload()).is_some()) {
                previous(info);
            }
        }));
    });
}

/// Turns a libtorch error of `module`'s op into an [`SjError`] naming the module (first line only).
pub(crate) fn op_error(module: &'static str) -> impl Fn(tch::TchError) -> SjError {
    move |e| {
        let message = e.to_string();
        SjError::Input {
            module: module.into(),
            expected: "an input its settings accept".into(),
            got: message.lines().next().unwrap_or_default().to_string(),
        }
    }
}
