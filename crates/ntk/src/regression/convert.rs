//! ndarray ⇄ faer conversions (crate-private; the public API speaks ndarray).

use faer::{Mat, MatRef};
use ndarray::{Array2, ArrayView2};

use super::RegressionError;

/// Copy into a faer matrix.
pub(crate) fn to_faer(a: &ArrayView2<'_, f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// `(A + Aᵀ)/2 + jitter·I` as a faer matrix (`a` square and finite), or `NonFiniteResult` when
/// the jitter or a diagonal entry overflows.
pub(crate) fn regularized_faer(
    a: &ArrayView2<'_, f64>,
    jitter: f64,
) -> Result<Mat<f64>, RegressionError> {
    let m = Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
        let v = 0.5 * a[[i, j]] + 0.5 * a[[j, i]];
        if i == j {
            v + jitter
        } else {
            v
        }
    });
    let finite = jitter.is_finite() && (0..m.nrows()).all(|i| m[(i, i)].is_finite());
    if finite {
        Ok(m)
    } else {
        Err(RegressionError::NonFiniteResult {
            what: "regularised train_train Gram",
        })
    }
}

/// Copy back into ndarray.
pub(crate) fn to_ndarray(m: MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}
