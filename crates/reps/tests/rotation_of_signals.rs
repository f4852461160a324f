//! Rotating bandlimited signals through Wigner D: `(Λ_R f)(u) = f(R⁻¹u)` on S², left
//! `(Λ_Q f)(R) = f(Q⁻¹R)` and right `(ρ_Q f)(R) = f(RQ)` translation on SO(3). Each is checked
//! against direct evaluation of the original expansion at the moved points, against exact grid
//! permutations for z-rotations by grid steps, and for composition and norm preservation.

mod common;

use std::f64::consts::TAU;

use common::{assert_all_pass, haar_rotations, random_signal, rng, unit_vectors};
use entk_groups::laws::tolerance::EXACT_LONG_SUM;
use entk_groups::Rotation;
use entk_reps::so3_laws::{check_s2_rotation, check_so3_translations, relative_error};
use entk_reps::{
    left_translate_so3_signal, right_translate_so3_signal, rotate_s2_signal, FourierTransform,
    RepsError, S2Coefficients, S2Transform, So3Coefficients, So3Transform,
};
use proptest::prelude::*;

/// Panics unless `max |a − b| / max |b| ≤ EXACT_LONG_SUM` for the real signals `actual` and
/// `expected`, naming `context`.
#[track_caller]
fn assert_close_signals(actual: &[f64], expected: &[f64], context: &str) {
    let to_complex = |v: &[f64]| {
        v.iter()
            .map(|&x| num_complex::Complex64::new(x, 0.0))
            .collect::<Vec<_>>()
    };
    let error = relative_error(&to_complex(actual), &to_complex(expected));
    assert!(error <= EXACT_LONG_SUM, "{context}: {error:e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// The S² law at bandlimit `L` (1 to 16) and the SO(3) laws at `⌈L/2⌉` (1 to 8).
    #[test]
    fn moved_expansions_equal_the_originals_at_moved_points(
        bandlimit in 1usize..=16,
        seed in any::<u64>(),
    ) {
        let mut rng = rng(seed);
        let so3_bandlimit = bandlimit.div_ceil(2);
        let s2 = S2Coefficients::random_real(bandlimit, &mut rng).unwrap();
        let so3 = So3Coefficients::random_real(so3_bandlimit, &mut rng).unwrap();
        let rotations = haar_rotations(2, &mut rng);
        let points = unit_vectors(6, &mut rng);
        let mut checks = check_s2_rotation(&s2, &rotations[0], &points, EXACT_LONG_SUM).unwrap();
        let points = haar_rotations(4, &mut rng);
        checks.extend(check_so3_translations(&so3, &rotations[1], &points, EXACT_LONG_SUM).unwrap());
        assert_all_pass(&checks, &format!("S² L = {bandlimit}, SO(3) L = {so3_bandlimit}"));
    }
}

#[test]
fn rotating_an_s2_grid_signal_equals_evaluating_at_inverse_rotated_grid_points() {
    let mut rng = rng(60);
    let (transform, coeffs, signal) = random_signal::<S2Transform>(10, &mut rng);
    let grid = transform.grid();
    for rotation in haar_rotations(3, &mut rng) {
        let rotated = rotate_s2_signal(&transform, &signal, &rotation).unwrap();
        let inverse = rotation.inverse();
        let expected: Vec<f64> = (0..grid.n_theta())
            .flat_map(|j| (0..grid.n_phi()).map(move |k| (j, k)))
            .map(|(j, k)| coeffs.evaluate(&inverse.apply(&grid.point(j, k))).re)
            .collect();
        assert_close_signals(&rotated, &expected, "rotation");
    }
}

#[test]
fn translating_an_so3_grid_signal_equals_evaluating_at_translated_grid_points() {
    let mut rng = rng(61);
    let (transform, coeffs, signal) = random_signal::<So3Transform>(5, &mut rng);
    let points: Vec<Rotation> = transform.grid().quadrature().nodes;
    for q in haar_rotations(2, &mut rng) {
        let left = left_translate_so3_signal(&transform, &signal, &q).unwrap();
        let q_inverse = q.inverse();
        let expected: Vec<f64> = points
            .iter()
            .map(|r| coeffs.evaluate(&q_inverse.compose(r)).re)
            .collect();
        assert_close_signals(&left, &expected, "left");
        let right = right_translate_so3_signal(&transform, &signal, &q).unwrap();
        let expected: Vec<f64> = points
            .iter()
            .map(|r| coeffs.evaluate(&r.compose(&q)).re)
            .collect();
        assert_close_signals(&right, &expected, "right");
    }
}

#[test]
fn z_rotations_by_grid_steps_shift_the_s2_grid() {
    // (Λ_{R_z(φ_s)} f)(θ_j, φ_k) = f(θ_j, φ_{k−s}).
    let bandlimit = 7;
    let (transform, _, signal) = random_signal::<S2Transform>(bandlimit, &mut rng(62));
    let width = 2 * bandlimit - 1;
    for shift in [1usize, 4, 12] {
        let rotation = Rotation::about_z(TAU * shift as f64 / width as f64);
        let rotated = rotate_s2_signal(&transform, &signal, &rotation).unwrap();
        let expected: Vec<f64> = (0..signal.len())
            .map(|p| signal[p - p % width + (p % width + width - shift) % width])
            .collect();
        assert_close_signals(&rotated, &expected, &format!("shift {shift}"));
    }
}

#[test]
fn z_translations_by_grid_steps_shift_the_so3_grid() {
    // Left by R_z(φ_s): f(R_z(−φ_s) R(α,β,γ)) = f(α − φ_s, β, γ), a shift along α.
    // Right by R_z(φ_s): f(R(α,β,γ) R_z(φ_s)) = f(α, β, γ + φ_s), a shift along γ.
    let bandlimit = 5;
    let (transform, _, signal) = random_signal::<So3Transform>(bandlimit, &mut rng(63));
    let (n_beta, width) = (2 * bandlimit, 2 * bandlimit - 1);
    let at = |c: usize, j: usize, a: usize| signal[(c * n_beta + j) * width + a];
    for shift in [1usize, 3, 8] {
        let q = Rotation::about_z(TAU * shift as f64 / width as f64);
        let left = left_translate_so3_signal(&transform, &signal, &q).unwrap();
        let right = right_translate_so3_signal(&transform, &signal, &q).unwrap();
        let mut expected_left = Vec::with_capacity(signal.len());
        let mut expected_right = Vec::with_capacity(signal.len());
        for c in 0..width {
            for j in 0..n_beta {
                for a in 0..width {
                    expected_left.push(at(c, j, (a + width - shift) % width));
                    expected_right.push(at((c + shift) % width, j, a));
                }
            }
        }
        assert_close_signals(&left, &expected_left, &format!("left, shift {shift}"));
        assert_close_signals(&right, &expected_right, &format!("right, shift {shift}"));
    }
}

#[test]
fn rotations_compose_and_preserve_the_norm() {
    let mut rng = rng(64);
    let rotations = haar_rotations(2, &mut rng);
    let (r1, r2) = (rotations[0], rotations[1]);
    let s2 = S2Coefficients::random_real(12, &mut rng).unwrap();
    let twice = s2.rotated(&r2).unwrap().rotated(&r1).unwrap();
    let once = s2.rotated(&r1.compose(&r2)).unwrap();
    assert!(relative_error(twice.as_slice(), once.as_slice()) <= EXACT_LONG_SUM);
    let norm = |v: &[num_complex::Complex64]| v.iter().map(|z| z.norm_sqr()).sum::<f64>();
    assert!((norm(once.as_slice()) / norm(s2.as_slice()) - 1.0).abs() <= EXACT_LONG_SUM);

    let so3 = So3Coefficients::random_real(7, &mut rng).unwrap();
    type Translation = fn(&So3Coefficients, &Rotation) -> Result<So3Coefficients, RepsError>;
    let sides: [(&str, Translation); 2] = [
        ("left", So3Coefficients::left_translated),
        ("right", So3Coefficients::right_translated),
    ];
    for (side, translate) in sides {
        let twice = translate(&translate(&so3, &r2).unwrap(), &r1).unwrap();
        let once = translate(&so3, &r1.compose(&r2)).unwrap();
        let error = relative_error(twice.as_slice(), once.as_slice());
        assert!(error <= EXACT_LONG_SUM, "{side}: {error:e}");
    }
    let both = so3
        .left_translated(&r1)
        .unwrap()
        .right_translated(&r2)
        .unwrap();
    assert!((norm(both.as_slice()) / norm(so3.as_slice()) - 1.0).abs() <= EXACT_LONG_SUM);
    // Left and right translations commute.
    let other_order = so3
        .right_translated(&r2)
        .unwrap()
        .left_translated(&r1)
        .unwrap();
    assert!(relative_error(both.as_slice(), other_order.as_slice()) <= EXACT_LONG_SUM);
}

#[test]
fn rotating_a_signal_rejects_bad_input() {
    let transform = S2Transform::new(3).unwrap();
    assert!(rotate_s2_signal(&transform, &[0.0; 7], &Rotation::identity()).is_err());
    let nan_rotation = Rotation::from_euler_zyz(entk_groups::EulerZyz {
        alpha: f64::NAN,
        beta: 0.0,
        gamma: 0.0,
    });
    let signal = vec![0.0; transform.grid().len()];
    assert!(rotate_s2_signal(&transform, &signal, &nan_rotation).is_err());
    let so3 = So3Transform::new(2).unwrap();
    assert!(left_translate_so3_signal(&so3, &[1.0; 3], &Rotation::identity()).is_err());
    assert!(right_translate_so3_signal(&so3, &vec![0.0; so3.grid().len()], &nan_rotation).is_err());
}
