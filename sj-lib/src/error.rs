//! The error type of every fallible sj call.
use std::fmt;

/// Everything that can go wrong in sj, with the module and what was expected versus what was got.
#[derive(Debug, thiserror::Error)]
pub enum SjError {
    /// A step mode string or value a module does not support.
    #[error("{module}: step mode '{got}' is not supported (expected one of {expected})")]
    StepMode {
        module: String,
        expected: String,
        got: String,
    },
    /// A backend a module does not support, or one that is not available on this machine.
    #[error("{module}: backend '{got}' is not supported (expected one of {expected})")]
    Backend {
        module: String,
        expected: String,
        got: String,
    },
    /// An input of the wrong shape.
    #[error("{module}: expected input shape {expected}, got {got:?}")]
    Shape {
        module: String,
        expected: String,
        got: Vec<i64>,
    },
    /// An input of the wrong dtype or on the wrong device.
    #[error("{module}: expected {expected}, got {got}")]
    Input {
        module: String,
        expected: String,
        got: String,
    },
    /// A stateful module still holds state from an earlier batch that does not fit the new input.
    #[error(
        "{module}: its state has shape {state:?} from an earlier input but the new input has shape {input:?}; \
         call functional::reset_net(&mut net) after every batch (SpikingJelly's reset_net)"
    )]
    StaleState {
        module: String,
        state: Vec<i64>,
        input: Vec<i64>,
    },
    /// A bad constructor argument or configuration.
    #[error("{module}: {message}")]
    Config { module: String, message: String },
    /// A name (layer, parameter, file entry) that does not exist.
    #[error("{what} '{name}' not found{hint}")]
    NotFound {
        what: String,
        name: String,
        hint: String,
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
        path: String,
        source: std::io::Error,
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
    /// A [`SjError::Config`] for `module`.
    pub fn config(module: impl Into<String>, message: impl fmt::Display) -> Self {
        SjError::Config {
            module: module.into(),
            message: message.to_string(),
        }
    }
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
