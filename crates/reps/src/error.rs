//! Errors of the representation layer.

use thiserror::Error;

/// Everything that can go wrong in `entk-reps`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RepsError {
    /// An error from the group layer (zero bandlimit, bad angles, ...).
    #[error(transparent)]
    Group(#[from] entk_groups::GroupError),
    /// A signal or coefficient array of the wrong length or shape.
    #[error("shape mismatch for {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// Which array.
        what: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape received.
        got: String,
    },
    /// A NaN or infinite input value.
    #[error("non-finite value in {what} at position {index}")]
    NonFinite {
        /// Which array.
        what: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// An irrep label or degree out of range.
    #[error("invalid irrep: {reason}")]
    InvalidIrrep {
        /// What is wrong.
        reason: String,
    },
}
