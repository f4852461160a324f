//! Factorisations of a regularised train–train Gram matrix (crate-private).
//!
//! [`Eigen`] is the symmetric eigendecomposition used at finite `t`; [`PsdFactor`] solves
//! `Θ_reg α = B` by Cholesky, falling back to the eigendecomposition with eigenvalues clipped at
//! a positive floor when Cholesky is rejected.

use faer::linalg::solvers::{Llt, LltError, Solve};
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Mat, MatRef, Par, Side};

use super::info::{SolveInfo, SolveMethod, Spectrum};
use super::{RegressionError, NEGATIVE_EIGENVALUE_WARN_REL};

/// `Θ_reg = U diag(s) Uᵀ`, eigenvalues ascending.
pub(crate) struct Eigen {
    pub(crate) u: Mat<f64>,
    pub(crate) s: Vec<f64>,
}

impl Eigen {
    pub(crate) fn new(gram: MatRef<'_, f64>, what: &'static str) -> Result<Self, RegressionError> {
        if gram.nrows() == 0 {
            // faer's eigensolver does not accept 0×0.
            return Ok(Eigen {
                u: Mat::zeros(0, 0),
                s: Vec::new(),
            });
        }
        let evd = gram
            .self_adjoint_eigen(Side::Lower)
            .map_err(|_| RegressionError::EigenNoConvergence { what })?;
        let s: Vec<f64> = evd.S().column_vector().iter().copied().collect();
        Ok(Eigen {
            u: evd.U().to_owned(),
            s,
        })
    }

    pub(crate) fn min(&self) -> Option<f64> {
        self.s.iter().copied().reduce(f64::min)
    }

    pub(crate) fn max(&self) -> Option<f64> {
        self.s.iter().copied().reduce(f64::max)
    }

    /// Fills the spectrum of `info` (none for an empty matrix) and warns about clearly
    /// negative eigenvalues.
    pub(crate) fn describe(&self, info: &mut SolveInfo, floor: f64) {
        let (Some(lo), Some(hi)) = (self.min(), self.max()) else {
            return;
        };
        info.spectrum = Some(Spectrum {
            min_eigenvalue: lo,
            max_eigenvalue: hi,
            floor,
            clipped: self.s.iter().filter(|&&l| l < floor).count(),
        });
        if lo < -NEGATIVE_EIGENVALUE_WARN_REL * hi.abs().max(f64::MIN_POSITIVE) {
            info.warnings.push(format!(
                "train_train Gram is indefinite: smallest eigenvalue {lo:e} vs largest {hi:e} \
                 (beyond rounding); negative eigenvalues were clamped — is the kernel PSD?"
            ));
        }
    }

    /// `U diag(f(λ_i)) C` for `C = Uᵀ B` already projected.
    pub(crate) fn expand(&self, f: impl Fn(f64) -> f64, projected: MatRef<'_, f64>) -> Mat<f64> {
        let mut c = projected.to_owned();
        scale_rows(&mut c, self.s.iter().map(|&l| f(l)));
        &self.u * &c
    }
}

/// A solver for `Θ_reg α = B` (Θ_reg symmetric, meant to be PSD).
pub(crate) enum PsdFactor {
    Cholesky(Llt<f64>),
    /// Eigen fallback with clipped inverse eigenvalues `1/max(λ_i, floor)`.
    ClippedEigen {
        eigen: Eigen,
        inv: Vec<f64>,
    },
}

impl PsdFactor {
    /// Cholesky when it succeeds with every pivot `L_ii² >= floor_rel · max_i Θ_ii`; otherwise
    /// the eigendecomposition with eigenvalues clipped to `floor = floor_rel · λ_max` (or
    /// `floor_rel` itself when `λ_max <= 0`), with a warning in the returned info.
    pub(crate) fn new(
        gram: MatRef<'_, f64>,
        floor_rel: f64,
        jitter: f64,
    ) -> Result<(Self, SolveInfo), RegressionError> {
        let n = gram.nrows();
        let max_diag = (0..n).map(|i| gram[(i, i)]).fold(0.0_f64, f64::max);
        let pivot_floor = floor_rel * max_diag;
        let rejection = match gram.llt(Side::Lower) {
            Ok(llt) => {
                let l = llt.L();
                let (index, pivot) = (0..n)
                    .map(|i| (i, l[(i, i)] * l[(i, i)]))
                    .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
                if n == 0 || (pivot >= pivot_floor && pivot > 0.0) {
                    return Ok((
                        PsdFactor::Cholesky(llt),
                        SolveInfo::new(SolveMethod::Cholesky, jitter),
                    ));
                }
                format!("Cholesky pivot {index} is {pivot:e} < {pivot_floor:e} (= {floor_rel:e}·max diagonal)")
            }
            Err(LltError::NonPositivePivot { index }) => {
                format!("Cholesky found a non-positive pivot at row {index}")
            }
        };
        let eigen = Eigen::new(gram, "train_train Gram")?;
        let top = eigen.max().unwrap_or(0.0);
        let floor = if top > 0.0 {
            floor_rel * top
        } else {
            floor_rel
        };
        let mut info = SolveInfo::new(SolveMethod::Eigendecomposition, jitter);
        eigen.describe(&mut info, floor);
        let (clipped, lo) = info
            .spectrum
            .map_or((0, f64::NAN), |s| (s.clipped, s.min_eigenvalue));
        info.warnings.push(format!(
            "train_train Gram (with jitter {jitter:e}) is numerically singular: {rejection}; \
             fell back to the eigendecomposition with {clipped} of {n} eigenvalues clipped to the \
             floor {floor:e} (smallest eigenvalue {lo:e}); consider a larger --diag-reg",
        ));
        let inv = eigen.s.iter().map(|&l| 1.0 / l.max(floor)).collect();
        Ok((PsdFactor::ClippedEigen { eigen, inv }, info))
    }

    /// `Θ_reg⁻¹ B` (clipped inverse on the fallback).
    pub(crate) fn solve(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        match self {
            PsdFactor::Cholesky(llt) => {
                let mut x = b.to_owned();
                llt.solve_in_place(x.as_mut());
                x
            }
            PsdFactor::ClippedEigen { eigen, inv } => {
                let mut c = eigen.u.transpose() * b;
                scale_rows(&mut c, inv.iter().copied());
                &eigen.u * &c
            }
        }
    }

    /// `W` with `Wᵀ W = Bᵀ Θ_reg⁻¹ B`: `L⁻¹ B`, or `diag(1/√max(λ,floor)) Uᵀ B` on the fallback.
    pub(crate) fn whiten(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        match self {
            PsdFactor::Cholesky(llt) => {
                let mut x = b.to_owned();
                solve_lower_triangular_in_place(llt.L(), x.as_mut(), Par::Seq);
                x
            }
            PsdFactor::ClippedEigen { eigen, inv } => {
                let mut c = eigen.u.transpose() * b;
                scale_rows(&mut c, inv.iter().map(|v| v.sqrt()));
                c
            }
        }
    }

    /// `diag(λ_i / max(λ_i, floor))`-weighted projection `U diag(·) Uᵀ B` on the fallback, `B`
    /// itself for Cholesky: `Θ_reg Θ_reg⁻¹ B` evaluated spectrally.
    pub(crate) fn reproduce(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        match self {
            PsdFactor::Cholesky(_) => b.to_owned(),
            PsdFactor::ClippedEigen { eigen, inv } => {
                let mut c = eigen.u.transpose() * b;
                scale_rows(
                    &mut c,
                    eigen.s.iter().zip(inv).map(|(&l, &i)| l.max(0.0) * i),
                );
                &eigen.u * &c
            }
        }
    }
}

fn scale_rows(c: &mut Mat<f64>, w: impl Iterator<Item = f64>) {
    for (i, w) in w.enumerate() {
        for j in 0..c.ncols() {
            c[(i, j)] *= w;
        }
    }
}
