//! Errors of the experiments: one line each, naming the experiment and what to do.

use thiserror::Error;

use crate::CliError;

/// Everything that can stop an experiment.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// The name is not a known experiment.
    #[error("unknown experiment `{name}` (known: {known})")]
    Unknown {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// Data could not be read or does not suffice (too many points requested, missing files).
    #[error("{0}")]
    Dataset(#[from] entk_datasets::DatasetError),
    /// The kernel engine refused.
    #[error("{0}")]
    Ntk(#[from] entk_ntk::NtkError),
    /// Kernel regression failed.
    #[error("{0}")]
    Regression(#[from] entk_ntk::regression::RegressionError),
    /// Writing results failed.
    #[error("{0}")]
    Cli(#[from] CliError),
    /// Options that do not fit the experiment.
    #[error("{0}")]
    Usage(String),
    /// An error inside a named experiment.
    #[error("{experiment}: {source}")]
    In {
        /// The experiment.
        experiment: &'static str,
        /// What went wrong.
        source: Box<ExperimentError>,
    },
}

impl ExperimentError {
    /// Wraps an error with the experiment's name (once).
    pub fn within(self, experiment: &'static str) -> Self {
        match self {
            e @ ExperimentError::In { .. } => e,
            e => ExperimentError::In {
                experiment,
                source: Box::new(e),
            },
        }
    }
}
