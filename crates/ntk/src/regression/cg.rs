//! Kernel regression at `t = ∞` without factorising the Gram matrix: preconditioned conjugate
//! gradients on `Θ_reg α = Y`, for Gram matrices that do not fit in memory (streamed from disk
//! by a [`SymmetricMatrix`] implementation) or are too large to factorise.
//!
//! The preconditioner is a rank-`r` pivoted Cholesky factor plus a diagonal,
//! `P = L Lᵀ + D`, `D = diag(Θ_reg − L Lᵀ)` (floored at `1e-12 · max Θ_ii`), applied through the
//! Woodbury identity; building it needs the diagonal and `r` rows of `Θ`. Each CG iteration
//! costs one product of `Θ` with the `n×k` block of current search directions (one pass over
//! the matrix for all `k` right-hand sides).

use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::{DiagReg, RegressionError};

/// A symmetric `n×n` matrix that can be read row by row and multiplied with a block of vectors,
/// without being held in memory.
pub trait SymmetricMatrix {
    /// `n`.
    fn size(&self) -> usize;
    /// The diagonal.
    fn diagonal(&mut self) -> Result<Vec<f64>, RegressionError>;
    /// Row `i` (= column `i`).
    fn row(&mut self, i: usize) -> Result<Vec<f64>, RegressionError>;
    /// `A X` for an `n×k` block `X`.
    fn mul(&mut self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, RegressionError>;
}

/// An in-memory matrix as a [`SymmetricMatrix`] (for tests and small problems).
impl SymmetricMatrix for ArrayView2<'_, f64> {
    fn size(&self) -> usize {
        self.nrows()
    }
    fn diagonal(&mut self) -> Result<Vec<f64>, RegressionError> {
        Ok(self.diag().to_vec())
    }
    fn row(&mut self, i: usize) -> Result<Vec<f64>, RegressionError> {
        Ok(self.index_axis(Axis(0), i).to_vec())
    }
    fn mul(&mut self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, RegressionError> {
        Ok(self.dot(&x))
    }
}

/// Settings of [`conjugate_gradient_solve`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CgOptions {
    /// Diagonal regularisation, as for the direct solvers.
    pub diag_reg: DiagReg,
    /// Stop when every column has `‖r‖ ≤ tolerance · ‖y‖` for the recurrence residual `r`
    /// (default `1e-12`). The true residual reported in [`CgSolution::relative_residual`] can
    /// sit above it by the rounding of one product, about `ε · ‖Θ‖ · ‖α‖ / ‖y‖`.
    pub tolerance: f64,
    /// At most this many iterations (default `0`: `max(100, n)`).
    pub max_iterations: usize,
    /// Rank of the pivoted-Cholesky preconditioner (default 100, capped at `n`; 0: only the
    /// diagonal, Jacobi).
    pub preconditioner_rank: usize,
}

impl Default for CgOptions {
    fn default() -> Self {
        CgOptions {
            diag_reg: DiagReg::NONE,
            tolerance: 1e-12,
            max_iterations: 0,
            preconditioner_rank: 100,
        }
    }
}

/// Result of [`conjugate_gradient_solve`].
#[derive(Debug, Clone, PartialEq)]
pub struct CgSolution {
    /// `α ≈ Θ_reg⁻¹ Y`, `n×k`.
    pub coefficients: Array2<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Largest relative residual `‖Θ_reg α − y‖ / ‖y‖` over the columns, from a final explicit
    /// product (not the recurrence).
    pub relative_residual: f64,
    /// The diagonal added to `Θ`.
    pub jitter: f64,
    /// Rank of the preconditioner used.
    pub preconditioner_rank: usize,
    /// True when every column reached the tolerance (by the recurrence) within the iteration
    /// limit.
    pub converged: bool,
}

/// `P = L Lᵀ + D` with its Woodbury inverse.
struct Preconditioner {
    /// `n×r`.
    l: Array2<f64>,
    /// `D⁻¹`.
    d_inv: Array1<f64>,
    /// `(I + Lᵀ D⁻¹ L)⁻¹`, `r×r`.
    core_inv: Array2<f64>,
}

impl Preconditioner {
    fn new(
        a: &mut dyn SymmetricMatrix,
        diag: &[f64],
        jitter: f64,
        rank: usize,
    ) -> Result<Self, RegressionError> {
        let n = diag.len();
        let max_diag = diag.iter().fold(0.0f64, |m, &v| m.max(v));
        let floor = 1e-12 * max_diag.max(f64::MIN_POSITIVE);
        let mut residual: Vec<f64> = diag.to_vec();
        let mut l = Array2::<f64>::zeros((n, rank.min(n)));
        let mut used = 0;
        for k in 0..rank.min(n) {
            let (p, &best) = residual
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .expect("n > 0");
            if best <= floor {
                break;
            }
            let row = a.row(p)?;
            let pivot = best.sqrt();
            for i in 0..n {
                let mut v = row[i];
                for j in 0..k {
                    v -= l[[i, j]] * l[[p, j]];
                }
                l[[i, k]] = v / pivot;
            }
            for i in 0..n {
                residual[i] = (residual[i] - l[[i, k]] * l[[i, k]]).max(0.0);
            }
            residual[p] = 0.0;
            used = k + 1;
        }
        let l = l.slice_move(ndarray::s![.., ..used]);
        let d_inv = Array1::from_iter(residual.iter().map(|&r| 1.0 / (r.max(floor) + jitter)));
        let scaled = &l * &d_inv.view().insert_axis(Axis(1));
        let mut core = l.t().dot(&scaled);
        for i in 0..used {
            core[[i, i]] += 1.0;
        }
        let core_inv = if used == 0 {
            Array2::zeros((0, 0))
        } else {
            let f = super::convert::to_faer(&core.view());
            let llt =
                f.llt(faer::Side::Lower)
                    .map_err(|_| RegressionError::EigenNoConvergence {
                        what: "CG preconditioner core",
                    })?;
            let mut inv = faer::Mat::<f64>::identity(used, used);
            faer::linalg::solvers::Solve::solve_in_place(&llt, inv.as_mut());
            super::convert::to_ndarray(inv.as_ref())
        };
        Ok(Preconditioner { l, d_inv, core_inv })
    }

    /// `P⁻¹ R = D⁻¹R − D⁻¹L (I + LᵀD⁻¹L)⁻¹ LᵀD⁻¹R`.
    fn apply(&self, r: &Array2<f64>) -> Array2<f64> {
        let dr = r * &self.d_inv.view().insert_axis(Axis(1));
        if self.l.ncols() == 0 {
            return dr;
        }
        let t = self.core_inv.dot(&self.l.t().dot(&dr));
        let correction = self.l.dot(&t) * self.d_inv.view().insert_axis(Axis(1));
        dr - correction
    }
}

fn column_dots(a: &Array2<f64>, b: &Array2<f64>) -> Vec<f64> {
    (0..a.ncols())
        .map(|j| a.column(j).dot(&b.column(j)))
        .collect()
}

/// Solves `Θ_reg α = Y` (`Θ_reg = Θ + jitter·I`, jitter from `options.diag_reg`) by
/// preconditioned conjugate gradients, all `k` columns of `Y` together (one pass over `Θ` per
/// iteration). Errors on a wrong target shape, non-finite targets or a matrix read failure;
/// `converged` says whether the tolerance was met within the iteration limit.
pub fn conjugate_gradient_solve(
    gram: &mut dyn SymmetricMatrix,
    targets: ArrayView2<'_, f64>,
    options: &CgOptions,
) -> Result<CgSolution, RegressionError> {
    let n = gram.size();
    super::validate::check_targets(&targets, n)?;
    options.diag_reg.validate()?;
    super::validate::check_nonnegative("tolerance", options.tolerance, true)?;
    let diag = gram.diagonal()?;
    let mean_diag = if n == 0 {
        0.0
    } else {
        diag.iter().sum::<f64>() / n as f64
    };
    let jitter = options.diag_reg.relative * mean_diag + options.diag_reg.absolute;
    let k = targets.ncols();
    if n == 0 || k == 0 {
        return Ok(CgSolution {
            coefficients: Array2::zeros((n, k)),
            iterations: 0,
            relative_residual: 0.0,
            jitter,
            preconditioner_rank: 0,
            converged: true,
        });
    }
    let precond = Preconditioner::new(gram, &diag, jitter, options.preconditioner_rank)?;
    let mut mul = |x: &Array2<f64>| -> Result<Array2<f64>, RegressionError> {
        let mut y = gram.mul(x.view())?;
        y.scaled_add(jitter, x);
        Ok(y)
    };
    let b = targets.to_owned();
    let b_norm: Vec<f64> = column_dots(&b, &b).iter().map(|v| v.sqrt()).collect();
    let max_iter = if options.max_iterations == 0 {
        n.max(100)
    } else {
        options.max_iterations
    };
    let mut x = Array2::<f64>::zeros((n, k));
    let mut r = b.clone();
    let mut z = precond.apply(&r);
    let mut p = z.clone();
    let mut rz = column_dots(&r, &z);
    let mut iterations = 0;
    let done = |r: &Array2<f64>| {
        column_dots(r, r)
            .iter()
            .zip(&b_norm)
            .all(|(rr, bn)| rr.sqrt() <= options.tolerance * bn)
    };
    while iterations < max_iter && !done(&r) {
        let ap = mul(&p)?;
        let pap = column_dots(&p, &ap);
        for j in 0..k {
            if pap[j] <= 0.0 || rz[j] == 0.0 {
                continue;
            }
            let alpha = rz[j] / pap[j];
            x.column_mut(j).scaled_add(alpha, &p.column(j));
            r.column_mut(j).scaled_add(-alpha, &ap.column(j));
        }
        z = precond.apply(&r);
        let rz_new = column_dots(&r, &z);
        for j in 0..k {
            let beta = if rz[j] == 0.0 { 0.0 } else { rz_new[j] / rz[j] };
            let zj = z.column(j).to_owned();
            let mut pj = p.column_mut(j);
            pj *= beta;
            pj += &zj;
        }
        rz = rz_new;
        iterations += 1;
    }
    // The true residual, not the recurrence.
    let res = &b - &mul(&x)?;
    let relative_residual = column_dots(&res, &res)
        .iter()
        .zip(&b_norm)
        .map(|(rr, bn)| if *bn == 0.0 { 0.0 } else { rr.sqrt() / bn })
        .fold(0.0f64, f64::max);
    if x.iter().any(|v| !v.is_finite()) {
        return Err(RegressionError::NonFiniteResult {
            what: "CG coefficients",
        });
    }
    Ok(CgSolution {
        coefficients: x,
        iterations,
        relative_residual,
        jitter,
        preconditioner_rank: precond.l.ncols(),
        converged: done(&r),
    })
}
