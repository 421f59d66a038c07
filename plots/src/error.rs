//! Plot errors.

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Data that cannot be plotted: empty, wrongly shaped or not finite.
    #[error("{plot}: {message}")]
    Data {
        /// The plot function.
        plot: &'static str,
        /// What is wrong, and the fix where there is one.
        message: String,
    },
    /// plotters failed to draw.
    #[error("{plot}: drawing failed: {message}")]
    Draw {
        /// The plot function.
        plot: &'static str,
        /// What is wrong, and the fix where there is one.
        message: String,
    },
    /// Writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// `Result` with [`PlotError`].
pub type Result<T> = std::result::Result<T, PlotError>;

/// Converts any plotters drawing error into [`PlotError::Draw`] for `plot`.
pub(crate) fn draw_err<E: std::fmt::Debug>(plot: &'static str) -> impl Fn(E) -> PlotError {
    move |e| PlotError::Draw {
        plot,
        message: format!("{e:?}"),
    }
}
