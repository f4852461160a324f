//! Predictive covariance of the infinite-width network trained by gradient flow (the NTK-GP).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::gradient_flow::{GradientFlow, GradientFlowOptions};
use super::info::SolveInfo;
use super::time::TrainingTime;
use super::validate::{check_finite, check_result, check_symmetric_gram, check_test_train};
use super::RegressionError;

/// The five Gram matrices [`ntk_gp_covariance`] needs (`n` training, `m` test points); with
/// `T = ArrayView1` ([`NtkGpDiagGrams`]) the test–test NNGP is only its diagonal, which is all
/// [`ntk_gp_variance`] needs (so a large test set needs no `m×m` matrix).
#[derive(Debug, Clone, Copy)]
pub struct NtkGpGrams<'a, T = ArrayView2<'a, f64>> {
    /// `Θ(X,X)`, `n×n`, symmetric.
    pub ntk_train_train: ArrayView2<'a, f64>,
    /// `Θ(x,X)`, `m×n`.
    pub ntk_test_train: ArrayView2<'a, f64>,
    /// `K(X,X)` (NNGP), `n×n`, symmetric.
    pub nngp_train_train: ArrayView2<'a, f64>,
    /// `K(x,X)` (NNGP), `m×n`.
    pub nngp_test_train: ArrayView2<'a, f64>,
    /// `K(x,x)` (NNGP): `m×m` and symmetric, or in [`NtkGpDiagGrams`] its diagonal
    /// `K(x_i,x_i)`, length `m`.
    pub nngp_test_test: T,
}

/// The Gram matrices [`ntk_gp_variance`] needs: [`NtkGpGrams`] with only the diagonal
/// `K(x_i, x_i)` of the test–test NNGP.
pub type NtkGpDiagGrams<'a> = NtkGpGrams<'a, ArrayView1<'a, f64>>;

impl<T> NtkGpGrams<'_, T> {
    /// Checks the four Gram matrices with training points (symmetric, finite, of matching
    /// shapes) and returns `(n, m)`.
    fn check_train(&self) -> Result<(usize, usize), RegressionError> {
        let n = self.ntk_train_train.nrows();
        let m = self.ntk_test_train.nrows();
        check_symmetric_gram("ntk_train_train Gram", &self.ntk_train_train)?;
        check_test_train(
            "ntk_test_train Gram",
            &self.ntk_test_train,
            n,
            "pass Θ(x_test, X_train), not its transpose",
        )?;
        check_symmetric_gram("nngp_train_train Gram", &self.nngp_train_train)?;
        same_shape(
            "nngp_train_train Gram",
            &self.nngp_train_train,
            (n, n),
            "the NNGP and NTK must be evaluated on the same training points",
        )?;
        same_shape(
            "nngp_test_train Gram",
            &self.nngp_test_train,
            (m, n),
            "the NNGP and NTK must be evaluated on the same test and training points",
        )?;
        check_finite("nngp_test_train Gram", &self.nngp_test_train)?;
        Ok((n, m))
    }
    /// `B = A_t Θ(X,x)` (`n×m`), the dual coefficients of gradient flow with "targets"
    /// `Θ(X,x)`, and how `Θ_reg` was factorised.
    fn flow_coefficients(
        &self,
        time: TrainingTime,
        options: &GradientFlowOptions,
    ) -> Result<(Array2<f64>, SolveInfo), RegressionError> {
        let n = self.ntk_train_train.nrows();
        let flow = GradientFlow::new(self.ntk_train_train, self.ntk_test_train.t(), *options)?;
        let no_test = Array2::<f64>::zeros((0, n));
        let prediction = flow.predict(no_test.view(), time)?;
        Ok((prediction.coefficients, prediction.info))
    }
}

/// `a` must be `rows×cols`.
fn same_shape(
    what: &'static str,
    a: &ArrayView2<'_, f64>,
    (rows, cols): (usize, usize),
    hint: &'static str,
) -> Result<(), RegressionError> {
    if a.dim() != (rows, cols) {
        return Err(RegressionError::ShapeMismatch {
            what,
            expected: format!("{rows}×{cols}"),
            got: a.dim(),
            hint,
        });
    }
    Ok(())
}

/// Output of [`ntk_gp_covariance`].
#[derive(Debug, Clone, PartialEq)]
pub struct NtkGpCovariance {
    /// Covariance of the network outputs at the test points at time `t`, `m×m`, exactly
    /// symmetric; the same for every output dimension.
    pub covariance: Array2<f64>,
    /// How `Θ_reg` was factorised, with warnings.
    pub info: SolveInfo,
}

/// Covariance over random initialisations of the infinite-width network's test outputs after
/// gradient flow for time `t` (neural-tangents' `gradient_descent_mse_ensemble(get='ntk')`,
/// with this module's unnormalised loss, see [`GradientFlowOptions::learning_rate`]).
///
/// With `f_0 ~ GP(0, K)` (NNGP) the linearised network is
/// `f_t(x) = f_0(x) + Θ(x,X) A_t (Y − f_0(X))`, `A_t = Θ_reg⁻¹ (I − e^{−η Θ_reg t})`, so with
/// `B = A_t Θ(X,x)` (`n×m`)
///
/// `cov_t = K(x,x) − Bᵀ K(X,x) − K(x,X) B + Bᵀ K(X,X) B`.
///
/// `t = 0` gives the prior `K(x,x)`; at `t = ∞` with `K = Θ` it is the GP posterior covariance.
/// The mean is [`super::gradient_flow_mean`] with the NTK. `options.diag_reg` regularises `Θ(X,X)`
/// only (`K(X,X)` enters unregularised); `A_t` is evaluated exactly as in [`GradientFlow`]
/// (spectral filter at finite `t`, Cholesky or clipped fallback at `t = ∞`).
pub fn ntk_gp_covariance(
    grams: &NtkGpGrams<'_>,
    time: TrainingTime,
    options: &GradientFlowOptions,
) -> Result<NtkGpCovariance, RegressionError> {
    let (_, m) = grams.check_train()?;
    check_symmetric_gram("nngp_test_test Gram", &grams.nngp_test_test)?;
    same_shape(
        "nngp_test_test Gram",
        &grams.nngp_test_test,
        (m, m),
        "nngp_test_test must be K(x_test, x_test) for the rows of ntk_test_train",
    )?;

    let (b, info) = grams.flow_coefficients(time, options)?;
    let k_xt = grams.nngp_test_train.t();
    let cross = b.t().dot(&k_xt);
    let quad = b.t().dot(&grams.nngp_train_train.dot(&b));
    let cov = Array2::from_shape_fn((m, m), |(i, j)| {
        let prior = 0.5 * (grams.nngp_test_test[[i, j]] + grams.nngp_test_test[[j, i]]);
        prior - (cross[[i, j]] + cross[[j, i]]) + 0.5 * (quad[[i, j]] + quad[[j, i]])
    });
    check_result("NTK-GP covariance", &cov)?;
    Ok(NtkGpCovariance {
        covariance: cov,
        info,
    })
}

/// The diagonal of [`ntk_gp_covariance`] (the predictive variance of each test output) without
/// forming any `m×m` matrix: `var_i = K(x_i,x_i) − 2 (Bᵀ K(X,x))_ii + (Bᵀ K(X,X) B)_ii`, with
/// the same `B` and the same validation. Equal to the diagonal of the full covariance up to
/// rounding.
pub fn ntk_gp_variance(
    grams: &NtkGpDiagGrams<'_>,
    time: TrainingTime,
    options: &GradientFlowOptions,
) -> Result<(Array1<f64>, SolveInfo), RegressionError> {
    let (n, m) = grams.check_train()?;
    let diag = grams.nngp_test_test.insert_axis(ndarray::Axis(1));
    same_shape(
        "nngp_test_test diagonal",
        &diag,
        (m, 1),
        "pass K(x_i, x_i) for the rows of ntk_test_train",
    )?;
    check_finite("nngp_test_test diagonal", &diag)?;
    let (b, info) = grams.flow_coefficients(time, options)?;
    let kb = grams.nngp_train_train.dot(&b);
    let var = Array1::from_shape_fn(m, |i| {
        let cross: f64 = (0..n)
            .map(|j| b[[j, i]] * grams.nngp_test_train[[i, j]])
            .sum();
        let quad: f64 = (0..n).map(|j| b[[j, i]] * kb[[j, i]]).sum();
        grams.nngp_test_test[i] - 2.0 * cross + quad
    });
    check_result(
        "NTK-GP variance",
        &var.clone().insert_axis(ndarray::Axis(1)),
    )?;
    Ok((var, info))
}
