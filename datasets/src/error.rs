//! The error type of every fallible sj-datasets call.
use std::path::Path;

/// What can go wrong reading, converting or loading a dataset; file errors name the file (and
/// the byte offset for malformed contents).
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file-system error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Malformed contents: a wrong magic number, a truncated file, a bad value.
    #[error("{file}: at byte {offset}: {message}")]
    Format {
        /// The file.
        file: String,
        /// The byte offset in the file.
        offset: u64,
        /// What is wrong, and the fix where there is one.
        message: String,
    },
    /// A dataset directory or file that is not there, with where it is expected and how to get it.
    #[error("{what} not found at {path}: {hint}")]
    Missing {
        /// What was looked up or checked.
        what: String,
        /// The file or folder.
        path: String,
        /// What does exist, or how to get it.
        hint: String,
    },
    /// A downloaded archive whose MD5 sum is not the one SpikingJelly publishes for it.
    #[error("{file}: MD5 sum {actual} does not match the published {expected}: {hint}")]
    Checksum {
        /// The archive.
        file: String,
        /// The published MD5 sum.
        expected: String,
        /// The file's MD5 sum.
        actual: String,
        /// What to do about it.
        hint: String,
    },
    /// A bad argument (batch size 0, an index out of range, a wrong shape).
    #[error("{what}: {message}")]
    Config {
        /// What was looked up or checked.
        what: String,
        /// What is wrong, and the fix where there is one.
        message: String,
    },
    /// An error of a public reader, prefixed with the name of the reader that met it (`read_npz:
    /// <file>: at byte 0: not a zip archive ...`); a reader calling another keeps the inner name.
    #[error("{reader}: {source}")]
    Reader {
        /// The public reader that met the error.
        reader: String,
        /// The underlying error.
        source: Box<DatasetError>,
    },
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// An error raised by polars while building a table.
    #[error(transparent)]
    Polars(#[from] polars::error::PolarsError),
}

/// `Result` with [`DatasetError`].
pub type Result<T> = std::result::Result<T, DatasetError>;

impl DatasetError {
    /// A [`DatasetError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A [`DatasetError::Format`] at byte `offset` of `file`.
    pub fn format(file: &Path, offset: u64, message: impl Into<String>) -> Self {
        DatasetError::Format {
            file: file.display().to_string(),
            offset,
            message: message.into(),
        }
    }

    /// This error inside a [`DatasetError::Reader`] naming `reader`, unless it names a reader
    /// already (the innermost reader, the one that met the bad bytes, is the one named).
    pub fn in_reader(self, reader: &str) -> Self {
        match self {
            e @ DatasetError::Reader { .. } => e,
            e => DatasetError::Reader {
                reader: reader.to_string(),
                source: Box::new(e),
            },
        }
    }

    /// A [`DatasetError::Config`] for `what`.
    pub fn config(what: impl Into<String>, message: impl Into<String>) -> Self {
        DatasetError::Config {
            what: what.into(),
            message: message.into(),
        }
    }
}
