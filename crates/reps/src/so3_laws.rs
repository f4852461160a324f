//! Measuring checks for SO(3) harmonic analysis: transform round trips, agreement with the
//! reference transforms, and exact rotation of bandlimited expansions. Like
//! [`entk_groups::laws`], each returns [`LawCheck`]s (name, largest error, tolerance) so tests,
//! `entk verify-group` and kernel code share one implementation. The Wigner matrices themselves
//! are checked by [`crate::laws::check_representation`] through [`crate::WignerIrrep`].
//!
//! Errors are relative: the largest absolute difference divided by the largest absolute value of
//! the reference (docs/theory.md#tested-properties; [`entk_groups::laws::tolerance::EXACT_LONG_SUM`] = 1e-10 is the
//! tolerance for transforms up to `L = 32`).

use entk_groups::laws::{nan_max, LawCheck};
use entk_groups::Rotation;
use nalgebra::Vector3;
use num_complex::Complex64;

use crate::{FourierTransform, RepsError, S2Coefficients, So3Coefficients, Spectrum};

/// `max_i |actual_i − expected_i| / max_i |expected_i|` (NaN-propagating; infinite when the
/// lengths differ; the plain maximum difference when `expected` is zero).
pub fn relative_error(actual: &[Complex64], expected: &[Complex64]) -> f64 {
    if actual.len() != expected.len() {
        return f64::INFINITY;
    }
    let diff = actual
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).norm())
        .fold(0.0, nan_max);
    let scale = expected.iter().map(|b| b.norm()).fold(0.0, nan_max);
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}

/// Round trips through an S² or SO(3) transform, starting from `coeffs` (use bandlimited
/// coefficients): `coefficient_roundtrip_err` (coefficients → signal → coefficients) and
/// `signal_roundtrip_err` (that signal → coefficients → signal).
pub fn check_roundtrip<T: FourierTransform + ?Sized>(
    transform: &T,
    coeffs: &T::Coefficients,
    tol: f64,
) -> Result<Vec<LawCheck>, RepsError> {
    let signal = transform.inverse(coeffs)?;
    let back = transform.forward_complex(&signal)?;
    let again = transform.inverse(&back)?;
    Ok(vec![
        LawCheck::new(
            "coefficient_roundtrip_err",
            relative_error(back.as_slice(), coeffs.as_slice()),
            tol,
        ),
        LawCheck::new("signal_roundtrip_err", relative_error(&again, &signal), tol),
    ])
}

/// Agreement of two transforms of one kind (typically fast and naive) on one signal and one
/// coefficient set: `forward_agreement_err`, `inverse_agreement_err` (relative to `reference`).
pub fn check_against_reference<A, B>(
    transform: &A,
    reference: &B,
    signal: &[Complex64],
    coeffs: &A::Coefficients,
    tol: f64,
) -> Result<Vec<LawCheck>, RepsError>
where
    A: FourierTransform + ?Sized,
    B: FourierTransform<Coefficients = A::Coefficients> + ?Sized,
{
    let forward = transform.forward_complex(signal)?;
    let forward_reference = reference.forward_complex(signal)?;
    let inverse = relative_error(&transform.inverse(coeffs)?, &reference.inverse(coeffs)?);
    Ok(vec![
        LawCheck::new(
            "forward_agreement_err",
            relative_error(forward.as_slice(), forward_reference.as_slice()),
            tol,
        ),
        LawCheck::new("inverse_agreement_err", inverse, tol),
    ])
}

/// `s2_rotation_err`: the rotated expansion [`S2Coefficients::rotated`] evaluated at `u` against
/// the original evaluated at `R⁻¹u`, over `points`.
pub fn check_s2_rotation(
    coeffs: &S2Coefficients,
    rotation: &Rotation,
    points: &[Vector3<f64>],
    tol: f64,
) -> Result<Vec<LawCheck>, RepsError> {
    let rotated = coeffs.rotated(rotation)?;
    let inverse = rotation.inverse();
    let actual: Vec<Complex64> = points.iter().map(|u| rotated.evaluate(u)).collect();
    let expected: Vec<Complex64> = points
        .iter()
        .map(|u| coeffs.evaluate(&inverse.apply(u)))
        .collect();
    Ok(vec![LawCheck::new(
        "s2_rotation_err",
        relative_error(&actual, &expected),
        tol,
    )])
}

/// `so3_left_translation_err` (`Λ_Q f` at `R` against `f(Q⁻¹R)`) and
/// `so3_right_translation_err` (`ρ_Q f` at `R` against `f(RQ)`) over `points`.
pub fn check_so3_translations(
    coeffs: &So3Coefficients,
    q: &Rotation,
    points: &[Rotation],
    tol: f64,
) -> Result<Vec<LawCheck>, RepsError> {
    let left = coeffs.left_translated(q)?;
    let right = coeffs.right_translated(q)?;
    let q_inverse = q.inverse();
    let eval = |c: &So3Coefficients, f: &dyn Fn(&Rotation) -> Rotation| -> Vec<Complex64> {
        points.iter().map(|r| c.evaluate(&f(r))).collect()
    };
    let left_err = relative_error(
        &eval(&left, &|r| *r),
        &eval(coeffs, &|r| q_inverse.compose(r)),
    );
    let right_err = relative_error(&eval(&right, &|r| *r), &eval(coeffs, &|r| r.compose(q)));
    Ok(vec![
        LawCheck::new("so3_left_translation_err", left_err, tol),
        LawCheck::new("so3_right_translation_err", right_err, tol),
    ])
}
