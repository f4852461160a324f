//! Rotating bandlimited signals through Wigner D: `(Λ_R f)(u) = f(R⁻¹u)` on S², left
//! `(Λ_Q f)(R) = f(Q⁻¹R)` and right `(ρ_Q f)(R) = f(RQ)` translation on SO(3). Each is checked
//! against direct evaluation of the original expansion at the moved points, against exact grid
//! permutations for z-rotations by grid steps, and for composition and norm preservation.

mod common;

use std::f64::consts::TAU;

use common::{assert_all_pass, haar_rotations, rng, unit_vectors};
use entk_groups::laws::tolerance::EXACT_LONG_SUM;
use entk_groups::Rotation;
use entk_reps::so3_laws::{check_s2_rotation, check_so3_translations, relative_error};
use entk_reps::{
    left_translate_so3_signal, right_translate_so3_signal, rotate_s2_signal, FourierTransform,
    S2Coefficients, S2Transform, So3Coefficients, So3Transform,
};
use proptest::prelude::*;

/// `max |a − b| / max |b|` for real slices.
fn relative_error_real(actual: &[f64], expected: &[f64]) -> f64 {
    let to_complex = |v: &[f64]| {
        v.iter()
            .map(|&x| num_complex::Complex64::new(x, 0.0))
            .collect::<Vec<_>>()
    };
    relative_error(&to_complex(actual), &to_complex(expected))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn rotated_s2_expansion_equals_the_original_at_inverse_rotated_points(
        bandlimit in 1usize..=16,
        seed in any::<u64>(),
    ) {
        let mut rng = rng(seed);
        let coeffs = S2Coefficients::random_real(bandlimit, &mut rng).unwrap();
        let rotation = haar_rotations(1, &mut rng)[0];
        let points = unit_vectors(6, &mut rng);
        let checks = check_s2_rotation(&coeffs, &rotation, &points, EXACT_LONG_SUM).unwrap();
        assert_all_pass(&checks, &format!("L = {bandlimit}"));
    }

    #[test]
    fn translated_so3_expansions_equal_the_original_at_translated_points(
        bandlimit in 1usize..=8,
        seed in any::<u64>(),
    ) {
        let mut rng = rng(seed);
        let coeffs = So3Coefficients::random_real(bandlimit, &mut rng).unwrap();
        let q = haar_rotations(1, &mut rng)[0];
        let points = haar_rotations(4, &mut rng);
        let checks = check_so3_translations(&coeffs, &q, &points, EXACT_LONG_SUM).unwrap();
        assert_all_pass(&checks, &format!("L = {bandlimit}"));
    }
}

#[test]
fn rotating_an_s2_grid_signal_equals_evaluating_at_inverse_rotated_grid_points() {
    let bandlimit = 10;
    let mut rng = rng(60);
    let transform = S2Transform::new(bandlimit).unwrap();
    let grid = transform.grid();
    let coeffs = S2Coefficients::random_real(bandlimit, &mut rng).unwrap();
    let signal = transform.inverse_real(&coeffs).unwrap();
    for rotation in haar_rotations(3, &mut rng) {
        let rotated = rotate_s2_signal(&transform, &signal, &rotation).unwrap();
        let inverse = rotation.inverse();
        let expected: Vec<f64> = (0..grid.n_theta())
            .flat_map(|j| (0..grid.n_phi()).map(move |k| (j, k)))
            .map(|(j, k)| coeffs.evaluate(&inverse.apply(&grid.point(j, k))).re)
            .collect();
        let error = relative_error_real(&rotated, &expected);
        assert!(error <= EXACT_LONG_SUM, "{error:e}");
    }
}

#[test]
fn translating_an_so3_grid_signal_equals_evaluating_at_translated_grid_points() {
    let bandlimit = 5;
    let mut rng = rng(61);
    let transform = So3Transform::new(bandlimit).unwrap();
    let grid = transform.grid();
    let coeffs = So3Coefficients::random_real(bandlimit, &mut rng).unwrap();
    let signal = transform.inverse_real(&coeffs).unwrap();
    let points: Vec<Rotation> = grid.quadrature().nodes;
    for q in haar_rotations(2, &mut rng) {
        let left = left_translate_so3_signal(&transform, &signal, &q).unwrap();
        let q_inverse = q.inverse();
        let expected: Vec<f64> = points
            .iter()
            .map(|r| coeffs.evaluate(&q_inverse.compose(r)).re)
            .collect();
        assert!(
            relative_error_real(&left, &expected) <= EXACT_LONG_SUM,
            "left"
        );
        let right = right_translate_so3_signal(&transform, &signal, &q).unwrap();
        let expected: Vec<f64> = points
            .iter()
            .map(|r| coeffs.evaluate(&r.compose(&q)).re)
            .collect();
        assert!(
            relative_error_real(&right, &expected) <= EXACT_LONG_SUM,
            "right"
        );
    }
}

#[test]
fn z_rotations_by_grid_steps_shift_the_s2_grid() {
    // (Λ_{R_z(φ_s)} f)(θ_j, φ_k) = f(θ_j, φ_{k−s}).
    let bandlimit = 7;
    let transform = S2Transform::new(bandlimit).unwrap();
    let width = 2 * bandlimit - 1;
    let signal = transform
        .inverse_real(&S2Coefficients::random_real(bandlimit, &mut rng(62)).unwrap())
        .unwrap();
    for shift in [1usize, 4, 12] {
        let rotation = Rotation::about_z(TAU * shift as f64 / width as f64);
        let rotated = rotate_s2_signal(&transform, &signal, &rotation).unwrap();
        let expected: Vec<f64> = (0..signal.len())
            .map(|p| signal[p - p % width + (p % width + width - shift) % width])
            .collect();
        assert!(
            relative_error_real(&rotated, &expected) <= EXACT_LONG_SUM,
            "shift {shift}"
        );
    }
}

#[test]
fn z_translations_by_grid_steps_shift_the_so3_grid() {
    // Left by R_z(φ_s): f(R_z(−φ_s) R(α,β,γ)) = f(α − φ_s, β, γ), a shift along α.
    // Right by R_z(φ_s): f(R(α,β,γ) R_z(φ_s)) = f(α, β, γ + φ_s), a shift along γ.
    let bandlimit = 5;
    let transform = So3Transform::new(bandlimit).unwrap();
    let (n_beta, width) = (2 * bandlimit, 2 * bandlimit - 1);
    let signal = transform
        .inverse_real(&So3Coefficients::random_real(bandlimit, &mut rng(63)).unwrap())
        .unwrap();
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
        assert!(
            relative_error_real(&left, &expected_left) <= EXACT_LONG_SUM,
            "left, shift {shift}"
        );
        assert!(
            relative_error_real(&right, &expected_right) <= EXACT_LONG_SUM,
            "right, shift {shift}"
        );
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
    let left_twice = so3
        .left_translated(&r2)
        .unwrap()
        .left_translated(&r1)
        .unwrap();
    let left_once = so3.left_translated(&r1.compose(&r2)).unwrap();
    assert!(relative_error(left_twice.as_slice(), left_once.as_slice()) <= EXACT_LONG_SUM);
    let right_twice = so3
        .right_translated(&r2)
        .unwrap()
        .right_translated(&r1)
        .unwrap();
    let right_once = so3.right_translated(&r1.compose(&r2)).unwrap();
    assert!(relative_error(right_twice.as_slice(), right_once.as_slice()) <= EXACT_LONG_SUM);
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
