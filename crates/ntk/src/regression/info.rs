//! What a solve did: method, regularisation, spectrum and warnings.

use std::fmt;

/// The factorisation used for the train–train Gram matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveMethod {
    /// Cholesky `Θ_reg = L Lᵀ` (t = ∞ and GP inference when the matrix is numerically positive
    /// definite).
    Cholesky,
    /// Symmetric eigendecomposition `Θ_reg = U Λ Uᵀ`: always used at finite `t`, and the
    /// fallback at `t = ∞` / in GP inference when Cholesky is rejected.
    Eigendecomposition,
}

impl fmt::Display for SolveMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SolveMethod::Cholesky => "cholesky",
            SolveMethod::Eigendecomposition => "eigendecomposition",
        })
    }
}

/// Diagnostics of one prediction, for the CLI to print (`warnings`) and for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveInfo {
    /// Factorisation used.
    pub method: SolveMethod,
    /// The absolute amount `relative·tr(Θ)/n + absolute` added to the diagonal.
    pub jitter: f64,
    /// The spectrum of `Θ_reg`, on the eigendecomposition path only (`None` after Cholesky,
    /// which does not compute it).
    pub spectrum: Option<Spectrum>,
    /// Human-readable warnings (empty when all went well). The CLI prints each on stderr.
    pub warnings: Vec<String>,
}

/// What the eigendecomposition found: eigenvalues of the regularised matrix
/// `Θ_reg = Θ + jitter·I`, and how many were clipped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spectrum {
    /// Smallest eigenvalue.
    pub min_eigenvalue: f64,
    /// Largest eigenvalue.
    pub max_eigenvalue: f64,
    /// Floor the eigenvalues were clipped to: 0 at finite `t`, the positive floor
    /// `eigen_floor_rel · λ_max` on the `t = ∞`/GP fallback.
    pub floor: f64,
    /// How many eigenvalues were below the floor and replaced by it.
    pub clipped: usize,
}

impl SolveInfo {
    pub(crate) fn new(method: SolveMethod, jitter: f64) -> Self {
        SolveInfo {
            method,
            jitter,
            spectrum: None,
            warnings: Vec::new(),
        }
    }

    /// True when there is at least one warning.
    pub fn has_warnings(&self) -> bool {
        !self.warnings.is_empty()
    }
}
