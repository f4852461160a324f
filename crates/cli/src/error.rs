//! The CLI's error type: one line each, naming the file, flag or layer at fault.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors of `entk` commands.
#[derive(Debug, Error)]
pub enum CliError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `.npy` file is malformed or has the wrong dtype or shape.
    #[error("{}: {reason}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The kernel engine refused (bad spec, bad input, memory).
    #[error(transparent)]
    Ntk(#[from] entk_ntk::NtkError),
    /// Kernel regression failed.
    #[error(transparent)]
    Regression(#[from] entk_ntk::regression::RegressionError),
    /// A group could not be built.
    #[error(transparent)]
    Group(#[from] entk_groups::GroupError),
    /// A representation-layer failure.
    #[error(transparent)]
    Reps(#[from] entk_reps::RepsError),
    /// A data set could not be read or is malformed.
    #[error(transparent)]
    Dataset(#[from] entk_datasets::DatasetError),
    /// Arguments that do not fit together.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The `map_err` adapter of an I/O error on `path`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The error of a malformed `.npy` file `path`, for a reason.
    pub(crate) fn npy(path: &Path) -> impl Fn(String) -> CliError + '_ {
        move |reason| CliError::Npy {
            path: path.to_path_buf(),
            reason,
        }
    }

    /// This error with a later one that happened while handling it, as one line:
    /// "THIS; also: LATER".
    pub(crate) fn also(self, later: impl std::fmt::Display) -> CliError {
        CliError::Usage(format!("{self}; also: {later}"))
    }
}
