//! Exact GP inference with an NNGP or NTK prior covariance.

use ndarray::{Array2, ArrayView2};

use super::convert::{regularized_faer, to_faer, to_ndarray};
use super::info::SolveInfo;
use super::regularize::DiagReg;
use super::solve::PsdFactor;
use super::validate::{
    check_nonnegative, check_result, check_symmetric_gram, check_targets, check_test_train,
};
use super::{RegressionError, DEFAULT_EIGEN_FLOOR_REL};

/// Settings of [`gp_posterior`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpOptions {
    /// Added to the train–train prior covariance: `absolute` is the observation-noise variance
    /// `σ²`, `relative` a neural-tangents-style `diag_reg` (fraction of the mean diagonal).
    /// Default none (noise-free interpolation).
    pub diag_reg: DiagReg,
    /// Relative eigenvalue floor of the singular fallback, as in
    /// [`super::GradientFlowOptions::eigen_floor_rel`].
    pub eigen_floor_rel: f64,
}

impl Default for GpOptions {
    fn default() -> Self {
        GpOptions {
            diag_reg: DiagReg::NONE,
            eigen_floor_rel: DEFAULT_EIGEN_FLOOR_REL,
        }
    }
}

/// Output of [`gp_posterior`].
#[derive(Debug, Clone, PartialEq)]
pub struct GpPosterior {
    /// Posterior mean `K(x,X) K_reg⁻¹ Y`, `m×k`.
    pub mean: Array2<f64>,
    /// Posterior covariance of the latent function (no noise added), `m×m`, shared by all `k`
    /// outputs; `None` when no test–test Gram was given. Exactly symmetric.
    pub covariance: Option<Array2<f64>>,
    /// How `K_reg` was factorised, with warnings.
    pub info: SolveInfo,
}

/// GP posterior at test points with prior covariance `K` (the NNGP gives the Bayesian posterior
/// of the infinite-width network; the NTK may be used as a prior too):
///
/// `mean = K(x,X) K_reg⁻¹ Y`,  `cov = K(x,x) − K(x,X) K_reg⁻¹ K(X,x)`,
///
/// with `K_reg = K(X,X) + (relative·tr K(X,X)/n + σ²)·I` (see [`DiagReg`]). `train_train` is
/// `n×n` (symmetric), `test_train` is `m×n`, `test_test` is `m×m` (symmetric; optional: without
/// it no covariance is computed), `targets` is `n×k`. Solved by Cholesky (`cov = K(x,x) − VᵀV`,
/// `V = L⁻¹ K(X,x)`); when that is rejected, by the eigendecomposition with eigenvalues clipped at
/// `eigen_floor_rel · λ_max`, with a warning in `info`. With `σ² = 0` and `relative = 0` the mean
/// equals the `t = ∞` gradient-flow prediction with the same kernel.
pub fn gp_posterior(
    train_train: ArrayView2<'_, f64>,
    test_train: ArrayView2<'_, f64>,
    test_test: Option<ArrayView2<'_, f64>>,
    targets: ArrayView2<'_, f64>,
    options: &GpOptions,
) -> Result<GpPosterior, RegressionError> {
    check_symmetric_gram("train_train Gram", &train_train)?;
    let n = train_train.nrows();
    check_test_train(
        "test_train Gram",
        &test_train,
        n,
        "pass K(x_test, X_train), not its transpose",
    )?;
    let m = test_train.nrows();
    if let Some(tt) = &test_test {
        check_symmetric_gram("test_test Gram", tt)?;
        if tt.nrows() != m {
            return Err(RegressionError::ShapeMismatch {
                what: "test_test Gram",
                expected: format!("{m}×{m} (test points of test_train)"),
                got: tt.dim(),
                hint: "test_test must be K(x_test, x_test) for the rows of test_train",
            });
        }
    }
    check_targets(&targets, n)?;
    options.diag_reg.validate()?;
    check_nonnegative("eigen_floor_rel", options.eigen_floor_rel, true)?;

    let jitter = options.diag_reg.jitter(&train_train);
    let gram = regularized_faer(&train_train, jitter)?;
    let (factor, info) = PsdFactor::new(gram.as_ref(), options.eigen_floor_rel, jitter)?;
    let kxx = to_faer(&test_train);
    let alpha = factor.solve(to_faer(&targets).as_ref());
    let mean = to_ndarray((&kxx * &alpha).as_ref());
    check_result("posterior mean", &mean)?;
    let covariance = match test_test {
        None => None,
        Some(tt) => {
            let v = factor.whiten(kxx.transpose());
            let explained = v.transpose() * &v;
            let cov = Array2::from_shape_fn((m, m), |(i, j)| {
                let prior = 0.5 * (tt[[i, j]] + tt[[j, i]]);
                let e = 0.5 * (explained[(i, j)] + explained[(j, i)]);
                prior - e
            });
            check_result("posterior covariance", &cov)?;
            Some(cov)
        }
    };
    Ok(GpPosterior {
        mean,
        covariance,
        info,
    })
}
