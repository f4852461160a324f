//! The CLI's error type: one line each, naming the file, flag or layer at fault.

use std::path::PathBuf;

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
    #[error("{0}")]
    Ntk(#[from] entk_ntk::NtkError),
    /// Kernel regression failed.
    #[error("{0}")]
    Regression(#[from] entk_ntk::regression::RegressionError),
    /// A group could not be built.
    #[error("{0}")]
    Group(#[from] entk_groups::GroupError),
    /// A representation-layer failure.
    #[error("{0}")]
    Reps(#[from] entk_reps::RepsError),
    /// A data set could not be read or is malformed.
    #[error("{0}")]
    Dataset(#[from] entk_datasets::DatasetError),
    /// Arguments that do not fit together.
    #[error("{0}")]
    Usage(String),
}
