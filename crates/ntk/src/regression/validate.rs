//! Input checks shared by the regression entry points (crate-private).

use ndarray::{ArrayView2, Axis};

use super::{RegressionError, SYMMETRY_TOL};

/// First non-finite entry, if any.
pub(crate) fn check_finite(
    what: &'static str,
    a: &ArrayView2<'_, f64>,
) -> Result<(), RegressionError> {
    match a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(RegressionError::NonFinite { what, index, value }),
        None => Ok(()),
    }
}

/// Square, finite and symmetric within `SYMMETRY_TOL · max|A|`.
pub(crate) fn check_symmetric_gram(
    what: &'static str,
    a: &ArrayView2<'_, f64>,
) -> Result<(), RegressionError> {
    let (rows, cols) = a.dim();
    if rows != cols {
        return Err(RegressionError::NotSquare { what, rows, cols });
    }
    check_finite(what, a)?;
    let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let tolerance = SYMMETRY_TOL * scale;
    let mut worst = (0.0_f64, (0, 0));
    for i in 0..rows {
        for j in (i + 1)..cols {
            let d = (a[[i, j]] - a[[j, i]]).abs();
            if d > worst.0 {
                worst = (d, (i, j));
            }
        }
    }
    if worst.0 > tolerance {
        return Err(RegressionError::NotSymmetric {
            what,
            index: worst.1,
            asymmetry: worst.0,
            tolerance,
        });
    }
    Ok(())
}

/// Training targets must be `N × K`: one row per training point (finite entries).
pub(crate) fn check_targets(
    targets: &ArrayView2<'_, f64>,
    n: usize,
) -> Result<(), RegressionError> {
    check_len_along(
        ("targets", targets),
        (Axis(0), n),
        || format!("{n}×k (one row per training point)"),
        "targets must be (N, K) with N = number of training points",
    )
}

/// A test-by-train Gram matrix `what` must be `M × N`: one column per training point (finite
/// entries); `hint` says how it goes wrong.
pub(crate) fn check_test_train(
    what: &'static str,
    a: &ArrayView2<'_, f64>,
    n: usize,
    hint: &'static str,
) -> Result<(), RegressionError> {
    check_len_along(
        (what, a),
        (Axis(1), n),
        || format!("m×{n} (one column per training point)"),
        hint,
    )
}

/// `a` must have `len` entries along `axis` (any number along the other; finite entries).
fn check_len_along(
    (what, a): (&'static str, &ArrayView2<'_, f64>),
    (axis, len): (Axis, usize),
    expected: impl FnOnce() -> String,
    hint: &'static str,
) -> Result<(), RegressionError> {
    if a.len_of(axis) != len {
        return Err(RegressionError::ShapeMismatch {
            what,
            expected: expected(),
            got: a.dim(),
            hint,
        });
    }
    check_finite(what, a)
}

/// `value` must be finite and `>= 0` (or `> 0` when `strict`).
pub(crate) fn check_nonnegative(
    what: &'static str,
    value: f64,
    strict: bool,
) -> Result<(), RegressionError> {
    let ok = value.is_finite() && if strict { value > 0.0 } else { value >= 0.0 };
    if ok {
        Ok(())
    } else {
        Err(RegressionError::InvalidParameter {
            what,
            value,
            reason: if strict {
                "must be finite and > 0"
            } else {
                "must be finite and >= 0"
            },
        })
    }
}

/// Every entry finite, else `NonFiniteResult`.
pub(crate) fn check_result(
    what: &'static str,
    a: &ndarray::Array2<f64>,
) -> Result<(), RegressionError> {
    if a.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(RegressionError::NonFiniteResult { what })
    }
}
