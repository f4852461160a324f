//! Kernel regression with NNGP/NTK Gram matrices: the mean prediction of gradient-flow MSE
//! training at any time `t` (docs/theory.md#prediction), exact GP inference ([`gp_posterior`]) and the
//! predictive covariance of the trained infinite-width network ([`ntk_gp_covariance`]).
//!
//! Conventions (all arrays `f64`, row-major `ndarray`; the functions take views and return owned
//! arrays):
//!
//! - `train_train` = `Θ(X,X)`, `n×n`, symmetric (checked within [`SYMMETRY_TOL`], then
//!   symmetrised); `test_train` = `Θ(x,X)`, `m×n` (rows are test points); `test_test` =
//!   `Θ(x,x)`, `m×m`; targets `Y`, `n×k` (docs/spec.md#input-arrays: labels `(N, K)`).
//! - Gradient flow runs at rate `η` on the unnormalised loss `½ Σ_i |f(x_i) − y_i|²` from
//!   `f_0 = 0`, so `μ_t(x) = Θ(x,X) Θ⁻¹ (I − e^{−η Θ t}) Y` ([`GradientFlow`]); time is a
//!   [`TrainingTime`] (`Finite(t)` or `Infinite`, from an `f64` with `f64::INFINITY` ↦
//!   `Infinite`).
//! - Regularisation ([`DiagReg`]) adds `(λ·tr(Θ)/n + c)·I`, neural-tangents' relative
//!   `diag_reg` plus an absolute part (docs/theory.md#prediction).
//! - Safeguards: finite `t` uses the eigendecomposition with the spectral filter
//!   [`flow_filter`], finite at `λ = 0`, and clamps negative eigenvalues to 0; `t = ∞` uses
//!   Cholesky and, if that is rejected, the eigendecomposition with eigenvalues clipped to
//!   `eigen_floor_rel · λ_max` (default [`DEFAULT_EIGEN_FLOOR_REL`]), reporting it in
//!   [`SolveInfo::warnings`]. Inputs are validated ([`RegressionError`]) and no result contains
//!   NaN or ±∞.
//!
//! ```
//! use entk_ntk::regression::{gradient_flow_mean, GradientFlowOptions, TrainingTime};
//! use ndarray::array;
//!
//! let train_train = array![[2.0, 0.5], [0.5, 1.0]];
//! let test_train = array![[1.0, 0.2]];
//! let y = array![[1.0], [-1.0]];
//! let opts = GradientFlowOptions::default();
//! let at_0 = gradient_flow_mean(train_train.view(), test_train.view(), y.view(), TrainingTime::Finite(0.0), &opts).unwrap();
//! assert_eq!(at_0.test[[0, 0]], 0.0);
//! let at_inf = gradient_flow_mean(train_train.view(), test_train.view(), y.view(), TrainingTime::Infinite, &opts).unwrap();
//! assert!((at_inf.train[[0, 0]] - 1.0).abs() < 1e-14);
//! assert!(at_inf.info.warnings.is_empty());
//! ```

mod cg;
mod convert;
mod error;
mod gp;
mod gradient_flow;
mod info;
mod ntk_gp;
mod regularize;
mod solve;
mod spectral;
mod time;
mod validate;

pub use cg::{conjugate_gradient_solve, CgOptions, CgSolution, SymmetricMatrix};
pub use error::RegressionError;
pub use gp::{gp_posterior, GpOptions, GpPosterior};
pub use gradient_flow::{
    gradient_flow_mean, GradientFlow, GradientFlowOptions, GradientFlowPrediction,
};
pub use info::{SolveInfo, SolveMethod, Spectrum};
pub use ntk_gp::{ntk_gp_covariance, ntk_gp_variance, NtkGpCovariance, NtkGpDiagGrams, NtkGpGrams};
pub use regularize::{regularized_gram, DiagReg};
pub use spectral::{flow_filter, flow_fraction};
pub use time::TrainingTime;

/// Relative symmetry tolerance for Gram matrices: `|A[i,j] − A[j,i]| <= SYMMETRY_TOL · max|A|`
/// is accepted (and symmetrised away); more is [`RegressionError::NotSymmetric`].
pub const SYMMETRY_TOL: f64 = 1e-10;

/// Default relative eigenvalue floor of the singular fallback: Cholesky is accepted only when
/// every pivot `L_ii² >= 1e-12 · max_i Θ_ii`; otherwise eigenvalues are clipped to
/// `1e-12 · λ_max` (condition number at most `1e12`).
pub const DEFAULT_EIGEN_FLOOR_REL: f64 = 1e-12;

/// An eigenvalue below `−NEGATIVE_EIGENVALUE_WARN_REL · λ_max` is reported as a warning (the
/// matrix is then indefinite beyond rounding, not a PSD kernel Gram matrix).
pub const NEGATIVE_EIGENVALUE_WARN_REL: f64 = 1e-8;
