//! Mean prediction of gradient-flow MSE training at infinite width (docs/theory.md#prediction).

use std::sync::OnceLock;

use faer::Mat;
use ndarray::{Array2, ArrayView2};

use super::convert::{regularized_faer, to_faer, to_ndarray};
use super::info::{SolveInfo, SolveMethod};
use super::regularize::DiagReg;
use super::solve::{Eigen, PsdFactor};
use super::spectral::{flow_filter, flow_fraction};
use super::time::TrainingTime;
use super::validate::{
    check_nonnegative, check_result, check_symmetric_gram, check_targets, check_test_train,
};
use super::{RegressionError, DEFAULT_EIGEN_FLOOR_REL};

/// Settings of [`GradientFlow`] / [`gradient_flow_mean`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientFlowOptions {
    /// Learning rate `η > 0` of gradient flow on the unnormalised loss
    /// `½ Σ_i |f(x_i) − y_i|²` (default 1). Only `η·t` matters. neural-tangents'
    /// `gradient_descent_mse` normalises the loss by `y_train.size`, i.e. uses
    /// `η_here = η_nt / y_train.size`.
    pub learning_rate: f64,
    /// Diagonal regularisation added to the train–train Gram matrix (default none).
    pub diag_reg: DiagReg,
    /// Relative eigenvalue floor of the `t = ∞` fallback (default
    /// [`DEFAULT_EIGEN_FLOOR_REL`]): Cholesky is rejected when a pivot `L_ii²` falls below
    /// `eigen_floor_rel · max_i Θ_ii`, and the fallback then clips the eigenvalues of `Θ_reg` to
    /// `eigen_floor_rel · λ_max`. Must be finite and `> 0`.
    pub eigen_floor_rel: f64,
}

impl Default for GradientFlowOptions {
    fn default() -> Self {
        GradientFlowOptions {
            learning_rate: 1.0,
            diag_reg: DiagReg::NONE,
            eigen_floor_rel: DEFAULT_EIGEN_FLOOR_REL,
        }
    }
}

/// Output of [`GradientFlow::predict`].
#[derive(Debug, Clone, PartialEq)]
pub struct GradientFlowPrediction {
    /// `μ_t` at the test points, `m×k`.
    pub test: Array2<f64>,
    /// `μ_t` at the training points, `n×k`: the solution `f_t(X) = (I − e^{−ηΘ_reg t}) Y` of the
    /// training ODE `df/dt = −η Θ_reg (f − Y)`, `f_0 = 0` (neural-tangents' `fx_train`). It equals
    /// `Y` at `t = ∞` unless the singular fallback was used. To evaluate the predictor with the
    /// *unregularised* kernel on the training points instead, pass `Θ(X,X)` as `test_train`.
    pub train: Array2<f64>,
    /// The dual coefficients `α_t = Θ_reg⁻¹ (I − e^{−ηΘ_reg t}) Y` (`n×k`), so that
    /// `test = test_train · α_t`.
    pub coefficients: Array2<f64>,
    /// How the system was solved, with warnings.
    pub info: SolveInfo,
}

/// Gradient-flow mean predictor for one training set: the train–train Gram matrix is validated
/// and regularised once, and its factorisations (Cholesky for `t = ∞`, eigendecomposition for
/// finite `t`) are computed on first use and cached, so many times and test sets are cheap.
///
/// With `Θ_reg = Θ(X,X) + jitter·I` (see [`DiagReg`]) the prediction at a test input `x` is
///
/// `μ_t(x) = Θ(x,X) Θ_reg⁻¹ (I − e^{−η Θ_reg t}) Y`   (docs/theory.md#prediction),
///
/// evaluated for finite `t` as `Θ(x,X) U diag(g(λ_i)) Uᵀ Y` with `Θ_reg = U Λ Uᵀ` and the
/// spectral filter `g(λ) = (1 − e^{−λ η t})/λ` ([`super::flow_filter`]), which is finite at
/// `λ = 0` (→ `η t`), so a singular Gram matrix is harmless; negative eigenvalues (rounding) are
/// clamped to 0. At `t = ∞` it is `Θ(x,X) Θ_reg⁻¹ Y` by Cholesky; when Cholesky fails or has a
/// pivot below `eigen_floor_rel · max Θ_ii`, it falls back to `U diag(1/max(λ_i, floor)) Uᵀ Y`
/// with `floor = eigen_floor_rel · λ_max` and reports a warning in [`SolveInfo::warnings`].
/// Works with any kernel (NNGP or NTK); the NTK gives the infinite-width network's mean.
pub struct GradientFlow {
    // Cached factorisations; errors are cached too (they are deterministic).
    gram: Mat<f64>,
    targets: Mat<f64>,
    options: GradientFlowOptions,
    jitter: f64,
    eigen: OnceLock<Result<Projected, RegressionError>>,
    infinite: OnceLock<Result<Solved, RegressionError>>,
}

/// `Θ_reg = U Λ Uᵀ` together with `Uᵀ Y`.
struct Projected {
    eigen: Eigen,
    uty: Mat<f64>,
}

/// Coefficients `α`, training prediction and info for one time.
#[derive(Clone)]
struct Solved {
    alpha: Mat<f64>,
    train: Mat<f64>,
    info: SolveInfo,
}

impl GradientFlow {
    /// Validates and stores `train_train` (`n×n`, finite, symmetric within
    /// [`super::SYMMETRY_TOL`]; symmetrised as `(A + Aᵀ)/2`), the targets `Y` (`n×k`, finite) and
    /// the options.
    pub fn new(
        train_train: ArrayView2<'_, f64>,
        targets: ArrayView2<'_, f64>,
        options: GradientFlowOptions,
    ) -> Result<Self, RegressionError> {
        check_symmetric_gram("train_train Gram", &train_train)?;
        let n = train_train.nrows();
        check_targets(&targets, n)?;
        check_nonnegative("learning_rate", options.learning_rate, true)?;
        check_nonnegative("eigen_floor_rel", options.eigen_floor_rel, true)?;
        options.diag_reg.validate()?;
        let jitter = options.diag_reg.jitter(&train_train);
        let gram = regularized_faer(&train_train, jitter)?;
        Ok(GradientFlow {
            gram,
            targets: to_faer(&targets),
            options,
            jitter,
            eigen: OnceLock::new(),
            infinite: OnceLock::new(),
        })
    }

    /// Number of training points `n`.
    pub fn n_train(&self) -> usize {
        self.gram.nrows()
    }

    /// Number of outputs `k` (columns of `Y`).
    pub fn n_outputs(&self) -> usize {
        self.targets.ncols()
    }

    /// The amount added to the diagonal of `Θ(X,X)`.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// `μ_t` at the test points given the test–train Gram `Θ(x,X)` (`m×n`; `m = 0` is allowed
    /// for a training-set-only prediction) and at the training points.
    ///
    /// Errors on a wrong shape, a non-finite entry, an invalid time or an `η·t` that overflows;
    /// never returns non-finite numbers.
    pub fn predict(
        &self,
        test_train: ArrayView2<'_, f64>,
        time: TrainingTime,
    ) -> Result<GradientFlowPrediction, RegressionError> {
        let n = self.n_train();
        check_test_train(
            "test_train Gram",
            &test_train,
            n,
            "pass Θ(x_test, X_train), not its transpose",
        )?;
        let Solved { alpha, train, info } = match time.validate()? {
            TrainingTime::Finite(t) => self.finite(t)?,
            TrainingTime::Infinite => self.infinite()?.clone(),
        };
        let test = to_faer(&test_train) * &alpha;
        let prediction = GradientFlowPrediction {
            test: to_ndarray(test.as_ref()),
            train: to_ndarray(train.as_ref()),
            coefficients: to_ndarray(alpha.as_ref()),
            info,
        };
        check_result("test prediction", &prediction.test)?;
        check_result("training-set prediction", &prediction.train)?;
        check_result("dual coefficients", &prediction.coefficients)?;
        Ok(prediction)
    }

    fn eigen(&self) -> Result<&Projected, RegressionError> {
        self.eigen
            .get_or_init(|| {
                let eigen = Eigen::new(self.gram.as_ref(), "train_train Gram")?;
                let uty = eigen.u.transpose() * &self.targets;
                Ok(Projected { eigen, uty })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn finite(&self, t: f64) -> Result<Solved, RegressionError> {
        let s = self.options.learning_rate * t;
        if !s.is_finite() {
            return Err(RegressionError::InvalidParameter {
                what: "learning_rate·time",
                value: s,
                reason: "overflows f64; use TrainingTime::Infinite for the t → ∞ limit",
            });
        }
        let Projected { eigen, uty } = self.eigen()?;
        let mut info = SolveInfo::new(SolveMethod::Eigendecomposition, self.jitter);
        eigen.describe(&mut info, 0.0);
        let alpha = eigen.expand(|l| flow_filter(l, s), uty.as_ref());
        let train = eigen.expand(|l| flow_fraction(l, s), uty.as_ref());
        Ok(Solved { alpha, train, info })
    }

    fn infinite(&self) -> Result<&Solved, RegressionError> {
        self.infinite
            .get_or_init(|| {
                let (factor, info) = PsdFactor::new(
                    self.gram.as_ref(),
                    self.options.eigen_floor_rel,
                    self.jitter,
                )?;
                let alpha = factor.solve(self.targets.as_ref());
                let train = factor.reproduce(self.targets.as_ref());
                Ok(Solved { alpha, train, info })
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// One-shot `μ_t` (see [`GradientFlow`]): train–train Gram `Θ(X,X)` (`n×n`), test–train Gram
/// `Θ(x,X)` (`m×n`), targets `Y` (`n×k`), time and options.
pub fn gradient_flow_mean(
    train_train: ArrayView2<'_, f64>,
    test_train: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    time: TrainingTime,
    options: &GradientFlowOptions,
) -> Result<GradientFlowPrediction, RegressionError> {
    GradientFlow::new(train_train, targets, *options)?.predict(test_train, time)
}
