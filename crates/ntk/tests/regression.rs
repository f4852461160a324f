//! Kernel regression against independent oracles: linear solves (nalgebra), explicit RK4
//! integration of the gradient-flow ODE, the augmentation lemma of docs/theory.md#data-augmentation-and-group-convolution on a toy kernel,
//! the direct GP formulas, and input validation.

mod common;

use entk_ntk::regression::{
    flow_filter, flow_fraction, gp_posterior, gradient_flow_mean, ntk_gp_covariance,
    regularized_gram, DiagReg, GpOptions, GpPosterior, GradientFlow, GradientFlowOptions,
    GradientFlowPrediction, NtkGpGrams, RegressionError, SolveMethod, TrainingTime,
};
use nalgebra::DMatrix;
use ndarray::{Array2, ArrayView2, Axis, Slice};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::ops::Range;

/// Named RNG seed for every test.
const SEED: u64 = 2_406_065_004;
/// Agreement of two exact computations of the same quantity (different factorisations).
use common::tol::SOLVE as EXACT_TOL;
/// RK4 with step `h` where `h·η·λ_max ≈ 5e-3`: global error ≈ 1e-11 over the times used.
const RK4_TOL: f64 = 1e-9;
/// docs/theory.md#tested-properties, property 6: augmented vs orbit-averaged predictions.
use common::tol::SOLVE as AUGMENTATION_TOL;

// ---------------------------------------------------------------------------------------------
// Toy kernels and data.

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(SEED)
}

fn gaussian(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| rng.sample::<f64, _>(StandardNormal))
}

/// RBF kernel `exp(−|x − x′|²/(2ℓ²))` (PSD on R^d, invariant under simultaneous orthogonal maps).
fn rbf(x: &[f64], y: &[f64], ell: f64) -> f64 {
    let d2: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    (-d2 / (2.0 * ell * ell)).exp()
}

/// Polynomial kernel `(1 + x·x′)²` (PSD, finite rank `1 + d + d(d+1)/2`).
fn poly2(x: &[f64], y: &[f64]) -> f64 {
    let dot: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    (1.0 + dot).powi(2)
}

/// Gram matrix `k(a_i, b_j)` for point sets stored as rows.
fn gram(a: &Array2<f64>, b: &Array2<f64>, k: impl Fn(&[f64], &[f64]) -> f64) -> Array2<f64> {
    Array2::from_shape_fn((a.nrows(), b.nrows()), |(i, j)| {
        k(a.row(i).as_slice().unwrap(), b.row(j).as_slice().unwrap())
    })
}

/// `a[rows, cols]` (the `s!` macro expands to `allow(unsafe_code)`, which the workspace forbids).
fn block(a: &Array2<f64>, rows: Range<usize>, cols: Range<usize>) -> ArrayView2<'_, f64> {
    a.slice_axis(Axis(0), Slice::from(rows))
        .slice_axis_move(Axis(1), Slice::from(cols))
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
}

fn all_finite(a: &Array2<f64>) -> bool {
    a.iter().all(|v| v.is_finite())
}

fn to_na(a: &ArrayView2<'_, f64>) -> DMatrix<f64> {
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

fn from_na(a: &DMatrix<f64>) -> Array2<f64> {
    Array2::from_shape_fn((a.nrows(), a.ncols()), |(i, j)| a[(i, j)])
}

/// A small regression problem with an RBF kernel.
struct Problem {
    k_train: Array2<f64>,
    k_test: Array2<f64>,
    k_test_test: Array2<f64>,
    y: Array2<f64>,
}

fn rbf_problem(n: usize, m: usize, k: usize, d: usize) -> Problem {
    let mut r = rng();
    let x = gaussian(&mut r, n, d);
    let xt = gaussian(&mut r, m, d) * 1.5;
    let kern = |a: &[f64], b: &[f64]| rbf(a, b, 1.3);
    Problem {
        k_train: gram(&x, &x, kern),
        k_test: gram(&xt, &x, kern),
        k_test_test: gram(&xt, &xt, kern),
        y: gaussian(&mut r, n, k),
    }
}

impl Problem {
    /// One flow fitted on this problem; the function it returns predicts the test points at a time.
    fn fitted(
        &self,
        options: GradientFlowOptions,
    ) -> impl Fn(TrainingTime) -> GradientFlowPrediction + '_ {
        let flow = GradientFlow::new(self.k_train.view(), self.y.view(), options).unwrap();
        move |time| flow.predict(self.k_test.view(), time).unwrap()
    }

    /// The gradient-flow mean on this problem (unwrapped).
    fn flow(&self, time: TrainingTime, options: &GradientFlowOptions) -> GradientFlowPrediction {
        flow_mean(&self.k_train, &self.k_test, &self.y, time, options)
    }

    /// The GP posterior on this problem, with its test-test covariance (unwrapped).
    fn gp(&self, options: &GpOptions) -> GpPosterior {
        let (k, kt, ktt) = (&self.k_train, &self.k_test, &self.k_test_test);
        gp_posterior(
            k.view(),
            kt.view(),
            Some(ktt.view()),
            self.y.view(),
            options,
        )
        .unwrap()
    }
}

/// `gradient_flow_mean` on owned Grams and targets (unwrapped).
fn flow_mean(
    k: &Array2<f64>,
    kt: &Array2<f64>,
    y: &Array2<f64>,
    time: TrainingTime,
    options: &GradientFlowOptions,
) -> GradientFlowPrediction {
    gradient_flow_mean(k.view(), kt.view(), y.view(), time, options).unwrap()
}

fn opts(learning_rate: f64, diag_reg: DiagReg) -> GradientFlowOptions {
    GradientFlowOptions {
        learning_rate,
        diag_reg,
        ..GradientFlowOptions::default()
    }
}

// ---------------------------------------------------------------------------------------------
// (1) t = ∞ solves the linear system.

#[test]
fn infinite_time_solves_the_kernel_linear_system() {
    let p = rbf_problem(12, 5, 3, 4);
    let pred = p.flow(TrainingTime::Infinite, &GradientFlowOptions::default());
    assert_eq!(pred.info.method, SolveMethod::Cholesky);
    assert!(pred.info.warnings.is_empty());
    // Residual of Θ α = Y.
    let residual = p.k_train.dot(&pred.coefficients) - &p.y;
    assert!(
        max_abs(&residual) <= EXACT_TOL * max_abs(&p.y),
        "residual {}",
        max_abs(&residual)
    );
    // Independent solver (nalgebra LU) for the test prediction.
    let alpha = to_na(&p.k_train.view())
        .lu()
        .solve(&to_na(&p.y.view()))
        .unwrap();
    let oracle = p.k_test.dot(&from_na(&alpha));
    assert!(max_abs_diff(&pred.test, &oracle) <= EXACT_TOL * max_abs(&oracle));
    // The training prediction at t = ∞ interpolates.
    assert!(max_abs_diff(&pred.train, &p.y) <= EXACT_TOL);
}

#[test]
fn infinite_time_agrees_with_the_eigen_path_at_large_finite_time() {
    let p = rbf_problem(10, 4, 2, 3);
    let flow = p.fitted(GradientFlowOptions::default());
    let inf = flow(TrainingTime::Infinite);
    let lam_min = DMatrix::from(to_na(&p.k_train.view()))
        .symmetric_eigenvalues()
        .min();
    // e^{−λ_min t} < 1e-300: the finite-t eigen path has converged to the t = ∞ limit.
    let t = 700.0 / lam_min;
    let fin = flow(TrainingTime::Finite(t));
    assert_eq!(fin.info.method, SolveMethod::Eigendecomposition);
    let scale = max_abs(&inf.test).max(1.0);
    assert!(
        max_abs_diff(&inf.test, &fin.test) <= 1e3 * EXACT_TOL * scale,
        "{}",
        max_abs_diff(&inf.test, &fin.test)
    );
    assert!(max_abs_diff(&inf.train, &fin.train) <= EXACT_TOL * 1e3);
}

#[test]
fn relative_diag_reg_adds_lambda_times_mean_trace() {
    let p = rbf_problem(7, 3, 1, 2);
    let k_train = &p.k_train * 3.7; // diagonal 3.7, so tr/n = 3.7
    let lambda = 1e-2;
    let (reg, jitter) = regularized_gram(k_train.view(), DiagReg::relative(lambda)).unwrap();
    assert!((jitter - lambda * 3.7).abs() < 1e-15);
    assert!(max_abs_diff(&(&reg - &k_train), &(Array2::eye(7) * jitter)) < 1e-15);
    let pred = gradient_flow_mean(
        k_train.view(),
        p.k_test.view(),
        p.y.view(),
        TrainingTime::Infinite,
        &opts(1.0, DiagReg::relative(lambda)),
    )
    .unwrap();
    assert!((pred.info.jitter - jitter).abs() < 1e-15);
    let residual = reg.dot(&pred.coefficients) - &p.y;
    assert!(max_abs(&residual) <= EXACT_TOL);
    let both = DiagReg {
        relative: lambda,
        absolute: 0.5,
    };
    assert!((both.jitter(&k_train.view()) - (lambda * 3.7 + 0.5)).abs() < 1e-15);
}

// ---------------------------------------------------------------------------------------------
// (2) Finite t against RK4 integration of df/dt = −η Θ (f − Y) (train) and
//     df_x/dt = −η Θ(x,X) (f − Y) (test).

/// Integrates from f = 0 to each of `times` (ascending) with step ≈ `h`; returns (train, test).
fn rk4(
    k_train: &Array2<f64>,
    k_test: &Array2<f64>,
    y: &Array2<f64>,
    eta: f64,
    times: &[f64],
    h: f64,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let rhs = |f: &Array2<f64>| {
        let r = f - y;
        (k_train.dot(&r) * -eta, k_test.dot(&r) * -eta)
    };
    let mut f = Array2::<f64>::zeros(y.dim());
    let mut g = Array2::<f64>::zeros((k_test.nrows(), y.ncols()));
    let mut now = 0.0;
    let mut out = Vec::new();
    for &t in times {
        let steps = ((t - now) / h).ceil().max(1.0) as usize;
        let dt = (t - now) / steps as f64;
        for _ in 0..steps {
            let (a1, b1) = rhs(&f);
            let (a2, b2) = rhs(&(&f + &(&a1 * (dt / 2.0))));
            let (a3, b3) = rhs(&(&f + &(&a2 * (dt / 2.0))));
            let (a4, b4) = rhs(&(&f + &(&a3 * dt)));
            f = &f + &((&a1 + &(&a2 * 2.0) + &(&a3 * 2.0) + &a4) * (dt / 6.0));
            g = &g + &((&b1 + &(&b2 * 2.0) + &(&b3 * 2.0) + &b4) * (dt / 6.0));
        }
        now = t;
        out.push((f.clone(), g.clone()));
    }
    out
}

#[test]
fn finite_time_matches_rk4_integration_of_the_flow_ode() {
    let p = rbf_problem(8, 4, 2, 3);
    let eta = 0.7;
    let times = [0.05, 0.5, 1.0, 3.0];
    let lam_max = to_na(&p.k_train.view()).symmetric_eigenvalues().max();
    let h = 5e-3 / (eta * lam_max);
    let oracle = rk4(&p.k_train, &p.k_test, &p.y, eta, &times, h);
    let flow = p.fitted(opts(eta, DiagReg::NONE));
    for (&t, (f_train, f_test)) in times.iter().zip(&oracle) {
        let pred = flow(TrainingTime::Finite(t));
        let e_train = max_abs_diff(&pred.train, f_train);
        let e_test = max_abs_diff(&pred.test, f_test);
        assert!(
            e_train <= RK4_TOL && e_test <= RK4_TOL,
            "t = {t}: train {e_train:e}, test {e_test:e}"
        );
    }
}

#[test]
fn finite_time_with_diag_reg_matches_rk4_with_the_regularised_gram() {
    let p = rbf_problem(6, 3, 1, 2);
    let reg = DiagReg {
        relative: 0.1,
        absolute: 0.05,
    };
    let (k_reg, _) = regularized_gram(p.k_train.view(), reg).unwrap();
    let eta = 1.3;
    let lam_max = to_na(&k_reg.view()).symmetric_eigenvalues().max();
    let oracle = rk4(&k_reg, &p.k_test, &p.y, eta, &[0.8], 5e-3 / (eta * lam_max));
    let pred = p.flow(TrainingTime::Finite(0.8), &opts(eta, reg));
    assert!(max_abs_diff(&pred.train, &oracle[0].0) <= RK4_TOL);
    assert!(max_abs_diff(&pred.test, &oracle[0].1) <= RK4_TOL);
}

#[test]
fn only_learning_rate_times_time_matters() {
    let p = rbf_problem(6, 3, 2, 2);
    let a = p.flow(TrainingTime::Finite(2.0), &opts(0.25, DiagReg::NONE));
    let b = p.flow(TrainingTime::Finite(0.5), &opts(1.0, DiagReg::NONE));
    assert!(max_abs_diff(&a.test, &b.test) <= 1e-14);
}

// ---------------------------------------------------------------------------------------------
// (3) μ_0 = 0 and μ_t → μ_∞.

#[test]
fn prediction_starts_at_zero_and_converges_to_kernel_regression() {
    let p = rbf_problem(9, 4, 2, 3);
    let flow = p.fitted(GradientFlowOptions::default());
    let zero = flow(TrainingTime::Finite(0.0));
    assert!(zero.test.iter().chain(zero.train.iter()).all(|&v| v == 0.0));
    let inf = flow(TrainingTime::Infinite);
    let mut last_train_gap = f64::INFINITY;
    let mut gaps = Vec::new();
    for t in [0.1, 1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6] {
        let pred = flow(TrainingTime::Finite(t));
        // Every eigencomponent of f_t(X) − Y decays, so the training gap is monotone.
        let train_gap = max_abs_diff(&pred.train, &inf.train);
        assert!(
            train_gap <= last_train_gap + 1e-15,
            "train gap grew at t = {t}"
        );
        last_train_gap = train_gap;
        gaps.push(max_abs_diff(&pred.test, &inf.test));
    }
    assert!(gaps[0] > 1e-2, "t = 0.1 should still be far from t = ∞");
    assert!(
        *gaps.last().unwrap() <= 1e3 * EXACT_TOL,
        "gap at t = 1e6: {:e}",
        gaps.last().unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// (4) Singular / rank-deficient Gram matrices.

/// Points with row `dup` repeated at the end (same target).
fn duplicated_problem() -> (Problem, Problem) {
    let mut r = rng();
    let x = gaussian(&mut r, 6, 3);
    let xt = gaussian(&mut r, 4, 3) * 2.0;
    let y = gaussian(&mut r, 6, 2);
    let mut xd = x.clone();
    xd.push_row(x.row(2)).unwrap();
    let mut yd = y.clone();
    yd.push_row(y.row(2)).unwrap();
    let kern = |a: &[f64], b: &[f64]| rbf(a, b, 1.0);
    let make = |x: &Array2<f64>, y: Array2<f64>| Problem {
        k_train: gram(x, x, kern),
        k_test: gram(&xt, x, kern),
        k_test_test: gram(&xt, &xt, kern),
        y,
    };
    (make(&x, y), make(&xd, yd))
}

#[test]
fn duplicated_training_point_is_finite_at_finite_time_and_matches_rk4() {
    let (_, dup) = duplicated_problem();
    let eta = 1.0;
    let lam_max = to_na(&dup.k_train.view()).symmetric_eigenvalues().max();
    let oracle = rk4(
        &dup.k_train,
        &dup.k_test,
        &dup.y,
        eta,
        &[0.3, 2.0],
        5e-3 / lam_max,
    );
    let flow = dup.fitted(opts(eta, DiagReg::NONE));
    for (t, (f_train, f_test)) in [0.3, 2.0].into_iter().zip(&oracle) {
        let pred = flow(TrainingTime::Finite(t));
        assert!(
            all_finite(&pred.test) && all_finite(&pred.train) && all_finite(&pred.coefficients)
        );
        assert!(max_abs_diff(&pred.train, f_train) <= RK4_TOL);
        assert!(max_abs_diff(&pred.test, f_test) <= RK4_TOL);
        let lo = pred.info.spectrum.unwrap().min_eigenvalue;
        assert!(
            lo.abs() < 1e-12,
            "duplicated point should give a ~0 eigenvalue, got {lo:e}"
        );
    }
}

#[test]
fn duplicated_training_point_at_infinite_time_falls_back_and_warns() {
    let (plain, dup) = duplicated_problem();
    let pred = dup.flow(TrainingTime::Infinite, &GradientFlowOptions::default());
    assert!(all_finite(&pred.test) && all_finite(&pred.train));
    assert_eq!(pred.info.method, SolveMethod::Eigendecomposition);
    assert!(pred.info.spectrum.unwrap().clipped >= 1);
    assert!(pred.info.spectrum.unwrap().floor > 0.0);
    assert_eq!(pred.info.warnings.len(), 1, "{:?}", pred.info.warnings);
    assert!(
        pred.info.warnings[0].contains("singular"),
        "{}",
        pred.info.warnings[0]
    );
    // With consistent targets the t → ∞ limit is the interpolant of the de-duplicated set.
    let reference = plain.flow(TrainingTime::Infinite, &GradientFlowOptions::default());
    assert_eq!(reference.info.method, SolveMethod::Cholesky);
    let e = max_abs_diff(&pred.test, &reference.test);
    assert!(e <= 1e-8, "fallback vs de-duplicated: {e:e}");
    assert!(max_abs_diff(&pred.train, &dup.y) <= 1e-8);
    // A relative diag_reg makes Cholesky succeed again, without warnings.
    let reg = dup.flow(TrainingTime::Infinite, &opts(1.0, DiagReg::relative(1e-4)));
    assert_eq!(reg.info.method, SolveMethod::Cholesky);
    assert!(reg.info.warnings.is_empty());
}

#[test]
fn inconsistent_duplicates_and_low_rank_grams_stay_finite() {
    // Duplicated point with different targets: no exact interpolant; must be finite + warned.
    let (_, mut dup) = duplicated_problem();
    let last = dup.y.nrows() - 1;
    dup.y[[last, 0]] += 1.0;
    for time in [TrainingTime::Finite(5.0), TrainingTime::Infinite] {
        let pred = dup.flow(time, &GradientFlowOptions::default());
        assert!(
            all_finite(&pred.test) && all_finite(&pred.train) && all_finite(&pred.coefficients)
        );
    }
    // Linear kernel of rank 2 on 7 points.
    let mut r = rng();
    let x = gaussian(&mut r, 7, 2);
    let xt = gaussian(&mut r, 3, 2);
    let lin = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
    let (k, kt, y) = (
        gram(&x, &x, lin),
        gram(&xt, &x, lin),
        gaussian(&mut r, 7, 1),
    );
    let inf = flow_mean(
        &k,
        &kt,
        &y,
        TrainingTime::Infinite,
        &GradientFlowOptions::default(),
    );
    assert!(all_finite(&inf.test) && all_finite(&inf.train));
    assert!(inf.info.has_warnings());
    assert!(
        inf.info.spectrum.unwrap().clipped >= 5,
        "rank 2 of 7: {} clipped",
        inf.info.spectrum.unwrap().clipped
    );
    // The all-zero Gram matrix (λ_max = 0) is degenerate but still finite.
    let z = Array2::<f64>::zeros((3, 3));
    let zt = Array2::<f64>::zeros((2, 3));
    let pred = gradient_flow_mean(
        z.view(),
        zt.view(),
        block(&y, 0..3, 0..y.ncols()),
        TrainingTime::Infinite,
        &GradientFlowOptions::default(),
    )
    .unwrap();
    assert!(pred.test.iter().all(|&v| v == 0.0));
    assert!(all_finite(&pred.train));
}

// ---------------------------------------------------------------------------------------------
// (5) Augmentation lemma (docs/theory.md#data-augmentation-and-group-convolution) on a toy kernel.

/// The dihedral group of the square acting on R^4 by permuting the coordinates (corners of a
/// square in cyclic order): 4 rotations and 4 reflections.
fn d4_permutations() -> Vec<[usize; 4]> {
    let mut g = Vec::new();
    for r in 0..4 {
        g.push([r % 4, (r + 1) % 4, (r + 2) % 4, (r + 3) % 4]);
        g.push([r % 4, (r + 3) % 4, (r + 2) % 4, (r + 1) % 4]);
    }
    g
}

fn act(p: &[usize; 4], x: &[f64]) -> Vec<f64> {
    (0..4).map(|i| x[p[i]]).collect()
}

/// Rows `ρ(g) x_i` for all g (outer) and i (inner), and the targets `1_G ⊗ Y`.
fn augment(x: &Array2<f64>, y: &Array2<f64>, group: &[[usize; 4]]) -> (Array2<f64>, Array2<f64>) {
    let mut xa = Array2::zeros((0, 4));
    let mut ya = Array2::zeros((0, y.ncols()));
    for g in group {
        for i in 0..x.nrows() {
            xa.push_row(ndarray::ArrayView1::from(&act(
                g,
                x.row(i).as_slice().unwrap(),
            )))
            .unwrap();
            ya.push_row(y.row(i)).unwrap();
        }
    }
    (xa, ya)
}

fn check_augmentation_lemma(
    kern: &dyn Fn(&[f64], &[f64]) -> f64,
    x: &Array2<f64>,
    reg_aug: f64,
    expect_singular: bool,
) {
    let group = d4_permutations();
    let order = group.len() as f64;
    let mut r = ChaCha8Rng::seed_from_u64(SEED + 1);
    let y = gaussian(&mut r, x.nrows(), 2);
    // Off-distribution test points: shifted and scaled.
    let xt = gaussian(&mut r, 5, 4) * 1.5 + 1.0;
    let (xa, ya) = augment(x, &y, &group);
    let k_aug = gram(&xa, &xa, kern);
    let k_aug_test = gram(&xt, &xa, kern);
    let kbar =
        |a: &[f64], b: &[f64]| group.iter().map(|g| kern(a, &act(g, b))).sum::<f64>() / order;
    let kb = gram(x, x, kbar);
    let kb_test = gram(&xt, x, kbar);
    let eta = 0.3;
    let aug = GradientFlow::new(
        k_aug.view(),
        ya.view(),
        opts(eta, DiagReg::absolute(reg_aug)),
    )
    .unwrap();
    // Trivial-representation block: |G| K̄ + c = |G| (K̄ + c/|G|), at rate η|G|.
    let avg = GradientFlow::new(
        kb.view(),
        y.view(),
        opts(eta * order, DiagReg::absolute(reg_aug / order)),
    )
    .unwrap();
    for time in [
        TrainingTime::Finite(0.05),
        TrainingTime::Finite(0.7),
        TrainingTime::Finite(20.0),
        TrainingTime::Infinite,
    ] {
        let a = aug.predict(k_aug_test.view(), time).unwrap();
        let b = avg.predict(kb_test.view(), time).unwrap();
        let e = max_abs_diff(&a.test, &b.test);
        assert!(
            e <= AUGMENTATION_TOL,
            "{time:?}: augmented vs orbit-averaged differ by {e:e}"
        );
        eprintln!(
            "{time:?}: max |μ| = {:.3e}, difference {e:.3e}",
            max_abs(&b.test)
        );
        assert!(max_abs(&b.test) > 1e-2, "{time:?}: trivial comparison");
        if time == TrainingTime::Infinite {
            assert_eq!(
                a.info.method == SolveMethod::Eigendecomposition,
                expect_singular,
                "{:?}",
                a.info
            );
        }
    }
}

#[test]
fn augmented_training_equals_orbit_averaged_kernel_at_rate_eta_times_group_order_rbf() {
    let mut r = rng();
    let x = gaussian(&mut r, 5, 4);
    let kern = |a: &[f64], b: &[f64]| rbf(a, b, 2.5);
    // Unregularised (augmented Gram is nonsingular but ill-conditioned) and with matched jitter.
    check_augmentation_lemma(&kern, &x, 0.0, false);
    check_augmentation_lemma(&kern, &x, 1e-3, false);
}

#[test]
fn augmented_training_equals_orbit_averaged_kernel_with_an_exactly_singular_augmented_gram() {
    let mut r = rng();
    let mut x = gaussian(&mut r, 4, 4);
    // x_0 is fixed by the reflection (0)(1 3)(2): its orbit repeats points exactly.
    x[[0, 3]] = x[[0, 1]];
    let kern = |a: &[f64], b: &[f64]| rbf(a, b, 2.5);
    check_augmentation_lemma(&kern, &x, 0.0, true);
    // Finite-rank polynomial kernel: 32 augmented points, rank <= 15.
    let x = gaussian(&mut r, 4, 4) * 0.5;
    check_augmentation_lemma(&poly2, &x, 0.0, true);
}

// ---------------------------------------------------------------------------------------------
// (6) GP posterior.

#[test]
fn gp_mean_without_noise_equals_infinite_time_prediction() {
    let p = rbf_problem(10, 6, 2, 3);
    let gp = p.gp(&GpOptions::default());
    let flow = p.flow(TrainingTime::Infinite, &GradientFlowOptions::default());
    assert!(max_abs_diff(&gp.mean, &flow.test) <= EXACT_TOL);
}

#[test]
fn gp_covariance_is_symmetric_psd_and_matches_the_direct_formula() {
    let p = rbf_problem(9, 7, 1, 3);
    for noise in [0.0, 0.1] {
        let options = GpOptions {
            diag_reg: DiagReg::absolute(noise),
            ..GpOptions::default()
        };
        let gp = p.gp(&options);
        let cov = gp.covariance.unwrap();
        assert_eq!(cov, cov.t(), "covariance must be exactly symmetric");
        // Direct formula with an explicit inverse (nalgebra).
        let kreg = to_na(&p.k_train.view()) + DMatrix::identity(9, 9) * noise;
        let inv = kreg.try_inverse().unwrap();
        let kxt = to_na(&p.k_test.view());
        let direct = from_na(&(to_na(&p.k_test_test.view()) - &kxt * &inv * kxt.transpose()));
        assert!(
            max_abs_diff(&cov, &direct) <= 1e-8,
            "noise {noise}: {:e}",
            max_abs_diff(&cov, &direct)
        );
        let mean_direct = from_na(&(&kxt * &inv * to_na(&p.y.view())));
        assert!(max_abs_diff(&gp.mean, &mean_direct) <= 1e-8);
        let eig = to_na(&cov.view()).symmetric_eigenvalues();
        assert!(
            eig.min() >= -1e-12 * eig.max().max(1.0),
            "noise {noise}: λ_min {:e}",
            eig.min()
        );
    }
}

#[test]
fn gp_posterior_variance_vanishes_at_noise_free_training_points_and_without_test_test_is_none() {
    let p = rbf_problem(6, 2, 1, 2);
    // Test points = training points.
    let gp = gp_posterior(
        p.k_train.view(),
        p.k_train.view(),
        Some(p.k_train.view()),
        p.y.view(),
        &GpOptions::default(),
    )
    .unwrap();
    assert!(max_abs(&gp.covariance.unwrap()) <= 1e-10);
    assert!(max_abs_diff(&gp.mean, &p.y) <= 1e-10);
    let gp = gp_posterior(
        p.k_train.view(),
        p.k_test.view(),
        None,
        p.y.view(),
        &GpOptions::default(),
    )
    .unwrap();
    assert!(gp.covariance.is_none());
}

#[test]
fn gp_with_duplicated_training_point_is_finite_and_warns() {
    let (_, dup) = duplicated_problem();
    let gp = dup.gp(&GpOptions::default());
    assert!(gp.info.has_warnings());
    let cov = gp.covariance.unwrap();
    assert!(all_finite(&gp.mean) && all_finite(&cov));
    let eig = to_na(&cov.view()).symmetric_eigenvalues();
    assert!(eig.min() >= -1e-10, "λ_min {:e}", eig.min());
}

// ---------------------------------------------------------------------------------------------
// (7) Bad inputs give errors, never NaN or panics.

/// Asserts that `e` is [`RegressionError::InvalidParameter`] naming `what`.
fn assert_invalid(e: &RegressionError, what: &str) {
    assert!(
        matches!(e, RegressionError::InvalidParameter { what: w, .. } if *w == what),
        "{e}"
    );
}

/// Asserts that `e` is [`RegressionError::ShapeMismatch`] naming `what`.
fn assert_shape_mismatch(e: &RegressionError, what: &str) {
    assert!(
        matches!(e, RegressionError::ShapeMismatch { what: w, .. } if *w == what),
        "{e}"
    );
}

#[test]
fn bad_inputs_are_rejected_with_named_errors() {
    let p = rbf_problem(4, 2, 1, 2);
    let o = GradientFlowOptions::default();
    let inf = TrainingTime::Infinite;
    let run =
        |k: ArrayView2<'_, f64>,
         kt: ArrayView2<'_, f64>,
         y: ArrayView2<'_, f64>,
         t: TrainingTime,
         o: &GradientFlowOptions| { gradient_flow_mean(k, kt, y, t, o).unwrap_err() };
    // The problem's own arrays with the given time and options.
    let run_with = |t: TrainingTime, o: &GradientFlowOptions| {
        run(p.k_train.view(), p.k_test.view(), p.y.view(), t, o)
    };
    // Non-square.
    let e = run(
        block(&p.k_train, 0..4, 0..3),
        p.k_test.view(),
        p.y.view(),
        inf,
        &o,
    );
    assert!(
        matches!(
            e,
            RegressionError::NotSquare {
                rows: 4,
                cols: 3,
                ..
            }
        ),
        "{e}"
    );
    // Asymmetric.
    let mut asym = p.k_train.clone();
    asym[[0, 1]] += 1e-3;
    let e = run(asym.view(), p.k_test.view(), p.y.view(), inf, &o);
    assert!(
        matches!(e, RegressionError::NotSymmetric { index: (0, 1), .. }),
        "{e}"
    );
    // Rounding-level asymmetry is accepted.
    let mut tiny = p.k_train.clone();
    tiny[[0, 1]] += 1e-15;
    assert!(gradient_flow_mean(tiny.view(), p.k_test.view(), p.y.view(), inf, &o).is_ok());
    // NaN / Inf in each input.
    for (which, value) in [(0, f64::NAN), (1, f64::INFINITY), (2, f64::NEG_INFINITY)] {
        let (mut k, mut kt, mut y) = (p.k_train.clone(), p.k_test.clone(), p.y.clone());
        match which {
            0 => k[[2, 2]] = value,
            1 => kt[[1, 3]] = value,
            _ => y[[3, 0]] = value,
        }
        let e = run(k.view(), kt.view(), y.view(), inf, &o);
        let expected = [(2, 2), (1, 3), (3, 0)][which];
        assert!(
            matches!(e, RegressionError::NonFinite { index, .. } if index == expected),
            "{e}"
        );
    }
    // Shapes.
    let e = run(p.k_train.view(), p.k_test.t(), p.y.view(), inf, &o);
    assert!(
        matches!(
            e,
            RegressionError::ShapeMismatch {
                what: "test_train Gram",
                got: (4, 2),
                ..
            }
        ),
        "{e}"
    );
    let y3 = block(&p.y, 0..3, 0..1);
    assert_shape_mismatch(
        &run(p.k_train.view(), p.k_test.view(), y3, inf, &o),
        "targets",
    );
    // Parameters.
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_invalid(&run_with(inf, &opts(lr, DiagReg::NONE)), "learning_rate");
    }
    for t in [-1.0, f64::NAN, f64::NEG_INFINITY] {
        assert!(TrainingTime::from_f64(t).is_err());
        assert_invalid(&run_with(TrainingTime::Finite(t), &o), "time");
    }
    assert_eq!(
        TrainingTime::try_from(f64::INFINITY).unwrap(),
        TrainingTime::Infinite
    );
    assert_eq!(
        TrainingTime::try_from(2.5).unwrap(),
        TrainingTime::Finite(2.5)
    );
    let e = run_with(TrainingTime::Finite(1e308), &opts(10.0, DiagReg::NONE));
    assert_invalid(&e, "learning_rate·time");
    let e = run_with(inf, &opts(1.0, DiagReg::relative(-1e-3)));
    assert_invalid(&e, "diag_reg.relative");
    let floor0 = GradientFlowOptions {
        eigen_floor_rel: 0.0,
        ..o
    };
    assert_invalid(&run_with(inf, &floor0), "eigen_floor_rel");
    // Overflowing inputs: an error, not NaN.
    let huge = &p.y * 1e300;
    let kt_huge = &p.k_test * 1e300;
    let e = run(p.k_train.view(), kt_huge.view(), huge.view(), inf, &o);
    assert!(matches!(e, RegressionError::NonFiniteResult { .. }), "{e}");
    // A jitter that overflows.
    let k_big = &p.k_train * 1e308;
    let e = run(
        k_big.view(),
        p.k_test.view(),
        p.y.view(),
        inf,
        &opts(1.0, DiagReg::relative(10.0)),
    );
    assert!(matches!(e, RegressionError::NonFiniteResult { .. }), "{e}");
    // GP shapes and parameters.
    let gp = |k_tt: Option<ArrayView2<'_, f64>>, o: &GpOptions| {
        gp_posterior(p.k_train.view(), p.k_test.view(), k_tt, p.y.view(), o).unwrap_err()
    };
    let e = gp(Some(p.k_train.view()), &GpOptions::default());
    assert_shape_mismatch(&e, "test_test Gram");
    let nan_reg = GpOptions {
        diag_reg: DiagReg::absolute(f64::NAN),
        ..GpOptions::default()
    };
    assert_invalid(&gp(None, &nan_reg), "diag_reg.absolute");
    // Messages name the argument.
    let e = run(p.k_train.view(), p.k_test.t(), p.y.view(), inf, &o);
    assert!(e.to_string().contains("test_train"), "{e}");
}

#[test]
fn empty_training_set_predicts_zero_and_empty_test_set_is_allowed() {
    let k = Array2::<f64>::zeros((0, 0));
    let kt = Array2::<f64>::zeros((3, 0));
    let y = Array2::<f64>::zeros((0, 2));
    for time in [TrainingTime::Finite(1.0), TrainingTime::Infinite] {
        let pred = flow_mean(&k, &kt, &y, time, &GradientFlowOptions::default());
        assert_eq!(pred.test, Array2::<f64>::zeros((3, 2)));
        assert_eq!(pred.train.dim(), (0, 2));
    }
    let p = rbf_problem(4, 2, 1, 2);
    let none = block(&p.k_test, 0..0, 0..4);
    let pred = gradient_flow_mean(
        p.k_train.view(),
        none,
        p.y.view(),
        TrainingTime::Finite(1.0),
        &GradientFlowOptions::default(),
    )
    .unwrap();
    assert_eq!(pred.test.dim(), (0, 1));
    assert_eq!(pred.train.len_of(Axis(0)), 4);
}

#[test]
fn flow_filter_is_accurate_and_finite_at_zero() {
    let s = 3.0;
    assert_eq!(flow_filter(0.0, s), s);
    assert_eq!(
        flow_filter(-1e-3, s),
        s,
        "negative eigenvalues are clamped to 0"
    );
    assert_eq!(flow_filter(5.0, 0.0), 0.0);
    assert_eq!(flow_fraction(5.0, 0.0), 0.0);
    for &l in &[
        1e-300, 1e-20, 1e-9, 1e-6, 3e-6, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e300,
    ] {
        let f = flow_filter(l, s);
        assert!(f.is_finite() && f > 0.0 && f <= s, "λ = {l:e}: {f}");
        // Reference: (1 − e^{−x})/λ with x = λs, summed as a series for small x.
        let x = l * s;
        let reference = if x < 1e-2 {
            s * (1..20)
                .map(|k| (-x).powi(k - 1) / (1..=k).map(f64::from).product::<f64>())
                .sum::<f64>()
        } else {
            (1.0 - (-x).exp()) / l
        };
        assert!(
            (f - reference).abs() <= 4.0 * f64::EPSILON * reference,
            "λ = {l:e}: {f} vs {reference}"
        );
        assert!(
            (flow_fraction(l, s) - l * f).abs()
                <= 4.0 * f64::EPSILON * (l * f).max(f64::MIN_POSITIVE)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property test: random PSD Grams of random sizes and ranks.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_psd_grams_give_finite_consistent_predictions(
        n in 1usize..12,
        m in 0usize..5,
        k in 1usize..3,
        rank_frac in 0.1f64..1.5,
        scale in -3.0f64..3.0,
        log_t in -3.0f64..4.0,
        reg in prop::sample::select(vec![0.0, 1e-8, 1e-3]),
        seed in 0u64..1_000_000,
    ) {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let rank = ((n as f64 * rank_frac).ceil() as usize).max(1);
        // Joint features: rows 0..n train, n..n+m test; the joint Gram is PSD.
        let phi = gaussian(&mut r, n + m, rank) * 10f64.powf(scale);
        let joint = phi.dot(&phi.t());
        let k_train = block(&joint, 0..n, 0..n).to_owned();
        let k_test = block(&joint, n..n + m, 0..n).to_owned();
        let k_tt = block(&joint, n..n + m, n..n + m).to_owned();
        let y = gaussian(&mut r, n, k);
        let o = opts(1.0, DiagReg::relative(reg));
        let flow = GradientFlow::new(k_train.view(), y.view(), o).unwrap();
        let t = 10f64.powf(log_t) / 10f64.powf(2.0 * scale);
        for time in [TrainingTime::Finite(0.0), TrainingTime::Finite(t), TrainingTime::Infinite] {
            let pred = flow.predict(k_test.view(), time).unwrap();
            prop_assert!(all_finite(&pred.test) && all_finite(&pred.train) && all_finite(&pred.coefficients));
            if time == TrainingTime::Finite(0.0) {
                prop_assert!(pred.test.iter().all(|&v| v == 0.0));
            }
            // test = test_train · α by definition.
            let again = k_test.dot(&pred.coefficients);
            prop_assert!(max_abs_diff(&again, &pred.test) <= 1e-9 * (1.0 + max_abs(&pred.test)));
        }
        let gp = gp_posterior(k_train.view(), k_test.view(), Some(k_tt.view()), y.view(),
            &GpOptions { diag_reg: DiagReg::relative(reg), ..GpOptions::default() }).unwrap();
        let cov = gp.covariance.unwrap();
        prop_assert!(all_finite(&gp.mean) && all_finite(&cov));
        prop_assert!(cov == cov.t());
    }
}

// ---------------------------------------------------------------------------------------------
// NTK-GP predictive covariance and indefinite inputs.

/// Two kernels on the same points: an RBF "NTK" and a polynomial-plus-RBF "NNGP".
fn two_kernel_problem() -> (Problem, Problem) {
    let mut r = rng();
    let x = gaussian(&mut r, 7, 3);
    let xt = gaussian(&mut r, 4, 3) * 1.2;
    let y = gaussian(&mut r, 7, 1);
    let ntk = |a: &[f64], b: &[f64]| 2.0 * rbf(a, b, 1.1);
    let nngp = |a: &[f64], b: &[f64]| rbf(a, b, 0.8) + 0.1 * poly2(a, b);
    let make = |k: &dyn Fn(&[f64], &[f64]) -> f64| Problem {
        k_train: gram(&x, &x, k),
        k_test: gram(&xt, &x, k),
        k_test_test: gram(&xt, &xt, k),
        y: y.clone(),
    };
    (make(&ntk), make(&nngp))
}

fn ntk_gp_grams<'a>(theta: &'a Problem, k: &'a Problem) -> NtkGpGrams<'a> {
    NtkGpGrams {
        ntk_train_train: theta.k_train.view(),
        ntk_test_train: theta.k_test.view(),
        nngp_train_train: k.k_train.view(),
        nngp_test_train: k.k_test.view(),
        nngp_test_test: k.k_test_test.view(),
    }
}

#[test]
fn ntk_gp_covariance_matches_the_direct_formula_at_every_time() {
    let (theta, k) = two_kernel_problem();
    let grams = ntk_gp_grams(&theta, &k);
    let eta = 0.6;
    let o = opts(eta, DiagReg::NONE);
    // Independent A_t from nalgebra's symmetric eigendecomposition.
    let eig = to_na(&theta.k_train.view()).symmetric_eigen();
    let a_t = |t: Option<f64>| {
        let g = eig.eigenvalues.map(|l| match t {
            Some(t) => (1.0 - (-l * eta * t).exp()) / l,
            None => 1.0 / l,
        });
        &eig.eigenvectors * DMatrix::from_diagonal(&g) * eig.eigenvectors.transpose()
    };
    for t in [Some(0.3), Some(4.0), None] {
        let time = t.map_or(TrainingTime::Infinite, TrainingTime::Finite);
        let got = ntk_gp_covariance(&grams, time, &o).unwrap();
        let b = a_t(t) * to_na(&theta.k_test.view()).transpose();
        let kxt = to_na(&k.k_test.view()).transpose();
        let direct = to_na(&k.k_test_test.view()) - b.transpose() * &kxt - kxt.transpose() * &b
            + b.transpose() * to_na(&k.k_train.view()) * &b;
        let e = max_abs_diff(&got.covariance, &from_na(&direct));
        assert!(e <= 1e-9, "{time:?}: {e:e}");
        assert_eq!(got.covariance, got.covariance.t());
    }
    // t = 0: the prior.
    let prior = ntk_gp_covariance(&grams, TrainingTime::Finite(0.0), &o).unwrap();
    assert!(max_abs_diff(&prior.covariance, &k.k_test_test) <= 1e-15);
}

#[test]
fn ntk_gp_covariance_with_nngp_equal_to_ntk_is_the_gp_posterior_at_infinite_time() {
    let (theta, _) = two_kernel_problem();
    let grams = ntk_gp_grams(&theta, &theta);
    let cov = ntk_gp_covariance(
        &grams,
        TrainingTime::Infinite,
        &GradientFlowOptions::default(),
    )
    .unwrap();
    let gp = theta.gp(&GpOptions::default());
    assert!(max_abs_diff(&cov.covariance, &gp.covariance.unwrap()) <= EXACT_TOL);
    // Shape errors name the offending Gram.
    let (theta, k) = two_kernel_problem();
    let mut bad = ntk_gp_grams(&theta, &k);
    bad.nngp_test_test = k.k_train.view();
    let e = ntk_gp_covariance(
        &bad,
        TrainingTime::Infinite,
        &GradientFlowOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            RegressionError::ShapeMismatch {
                what: "nngp_test_test Gram",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn indefinite_gram_is_clamped_and_reported() {
    // Eigenvalues −1 and 3: not a kernel Gram matrix.
    let k = Array2::from_shape_vec((2, 2), vec![1.0, 2.0, 2.0, 1.0]).unwrap();
    let kt = Array2::from_shape_vec((1, 2), vec![0.5, 0.3]).unwrap();
    let y = Array2::from_shape_vec((2, 1), vec![1.0, -1.0]).unwrap();
    for time in [TrainingTime::Finite(2.0), TrainingTime::Infinite] {
        let pred = flow_mean(&k, &kt, &y, time, &GradientFlowOptions::default());
        assert!(all_finite(&pred.test) && all_finite(&pred.train));
        assert_eq!(pred.info.method, SolveMethod::Eigendecomposition);
        assert_eq!(pred.info.spectrum.unwrap().clipped, 1);
        assert!((pred.info.spectrum.unwrap().min_eigenvalue + 1.0).abs() < 1e-14);
        assert!(
            pred.info.warnings.iter().any(|w| w.contains("indefinite")),
            "{time:?}: {:?}",
            pred.info.warnings
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Arbitrary symmetric (often indefinite) matrices of any magnitude: an error or finite
    /// numbers, never a panic or NaN.
    #[test]
    fn arbitrary_symmetric_matrices_never_give_nan(
        n in 1usize..8,
        exponent in -300i32..300,
        log_t in -3.0f64..3.0,
        seed in 0u64..1_000_000,
    ) {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let a = gaussian(&mut r, n, n) * 10f64.powi(exponent);
        let k = &a + &a.t();
        let kt = gaussian(&mut r, 2, n) * 10f64.powi(exponent);
        let y = gaussian(&mut r, n, 2);
        for time in [TrainingTime::Finite(10f64.powf(log_t)), TrainingTime::Infinite] {
            if let Ok(pred) = gradient_flow_mean(k.view(), kt.view(), y.view(), time, &GradientFlowOptions::default()) {
                prop_assert!(all_finite(&pred.test) && all_finite(&pred.train));
            }
        }
        if let Ok(gp) = gp_posterior(k.view(), kt.view(), None, y.view(), &GpOptions::default()) {
            prop_assert!(all_finite(&gp.mean));
        }
    }
}
