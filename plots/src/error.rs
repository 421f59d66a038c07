//! Plot errors.

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Data that cannot be plotted: empty, wrongly shaped or not finite.
    #[error("{plot}: {message}")]
    Data { plot: &'static str, message: String },
    /// plotters failed to draw.
    #[error("{plot}: drawing failed: {message}")]
    Draw { plot: &'static str, message: String },
    /// Writing the file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
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
