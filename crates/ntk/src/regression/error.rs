//! The error type of the regression module.

/// Why a regression or GP call refused its inputs or could not produce a finite result.
///
/// Every public function of [`crate::regression`] validates its inputs before any arithmetic, so
/// bad inputs give one of these variants instead of NaN or a panic. Matrix indices are
/// `(row, column)`, zero-based.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegressionError {
    /// An array has the wrong shape for its role.
    #[error("{what}: expected shape {expected}, got {}×{}; {hint}", got.0, got.1)]
    ShapeMismatch {
        /// The argument, e.g. `"test_train Gram"`.
        what: &'static str,
        /// The expected shape in words, e.g. `"m×5 (columns = training points)"`.
        expected: String,
        /// The shape that was passed, `(rows, columns)`.
        got: (usize, usize),
        /// How to fix it.
        hint: &'static str,
    },
    /// A Gram matrix that must be square is not.
    #[error("{what} must be square, got {rows}×{cols}")]
    NotSquare {
        /// The argument.
        what: &'static str,
        /// Number of rows passed.
        rows: usize,
        /// Number of columns passed.
        cols: usize,
    },
    /// An input entry is NaN or ±∞.
    #[error(
        "{what} has a non-finite entry {value} at {index:?}; kernels and targets must be finite"
    )]
    NonFinite {
        /// The argument.
        what: &'static str,
        /// `(row, column)` of the first offending entry.
        index: (usize, usize),
        /// The entry itself.
        value: f64,
    },
    /// A Gram matrix is not symmetric within [`super::SYMMETRY_TOL`] (relative to its largest
    /// entry).
    #[error(
        "{what} is not symmetric: |A[i,j] - A[j,i]| = {asymmetry:e} at {index:?} exceeds {tolerance:e}; \
         pass a Gram matrix computed with x2 = x1, or symmetrise it as (A + Aᵀ)/2"
    )]
    NotSymmetric {
        /// The argument.
        what: &'static str,
        /// `(i, j)` of the largest asymmetry.
        index: (usize, usize),
        /// `|A[i,j] − A[j,i]|`.
        asymmetry: f64,
        /// The absolute tolerance that was exceeded.
        tolerance: f64,
    },
    /// A scalar parameter is out of its range.
    #[error("invalid {what} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter, named as in the options struct (e.g. `"learning_rate"`).
        what: &'static str,
        /// The value passed.
        value: f64,
        /// The allowed range.
        reason: &'static str,
    },
    /// The symmetric eigensolver did not converge.
    #[error(
        "eigendecomposition of {what} did not converge; check the matrix for huge or tiny entries"
    )]
    EigenNoConvergence {
        /// The matrix that was decomposed.
        what: &'static str,
    },
    /// A matrix behind [`super::SymmetricMatrix`] could not be read (for example a file).
    #[error("{0}")]
    MatrixRead(String),
    /// The inputs were finite but the result overflowed (entries near `f64::MAX`).
    #[error(
        "{what} is not finite although all inputs are: the inputs overflow in f64; \
         rescale the kernels or targets"
    )]
    NonFiniteResult {
        /// The output that overflowed.
        what: &'static str,
    },
}
