//! Spherical harmonics (docs/conventions.md#so3): values against scipy and the standard closed forms,
//! conjugation symmetry, orthonormality under the Driscoll–Healy quadrature, and the rotation
//! identities `Y_lm(Ru) = Σ_n conj D^l_{mn}(R) Y_ln(u)` and `Y^real(Ru) = D_real(R) Y^real(u)`.

mod common;

use std::f64::consts::PI;

use common::{assert_close, assert_close_complex, rng, rotated_point_cases, unit_vectors};
use entk_groups::laws::tolerance::{EXACT, EXACT_LONG_SUM};
use entk_groups::DriscollHealyGrid;
use entk_reps::{
    real_spherical_harmonic, real_wigner_d, sphere_angles, spherical_harmonic, wigner_d,
    SphericalHarmonics,
};
use nalgebra::{DMatrix, DVector, Vector3};
use num_complex::Complex64;
use proptest::prelude::*;

/// `(l, m, θ, φ, Re, Im)` computed with SciPy 1.17.1:
/// `python3 -c "from scipy.special import sph_harm_y; print(sph_harm_y(l, m, θ, φ))"`.
const SCIPY_SPH_HARM_Y: [(usize, i32, f64, f64, f64, f64); 7] = [
    (3, 2, 0.4, 1.1, -0.08400656248451682, 0.11541015246111766),
    (5, -4, 2.0, -0.3, -0.1513037556911901, -0.3891762006348988),
    (20, 7, 1.0, 2.0, 0.04943905270934809, 0.358166488351603),
    (2, -2, 0.9, 4.0, -0.0344861641047558, -0.23449596510971782),
    (10, 0, 2.5, 0.0, 0.3862590674642482, 0.0),
    (
        31,
        -30,
        1.2,
        5.5,
        -0.01629950701339168,
        -0.24516663947296102,
    ),
    (1, 1, 0.3, 0.2, -0.10006529003405469, -0.020284238495988836),
];

#[test]
fn harmonics_equal_scipy_sph_harm_y() {
    for (l, m, theta, phi, re, im) in SCIPY_SPH_HARM_Y {
        let expected = Complex64::new(re, im);
        let context = format!("Y_{l}^{m}({theta}, {phi})");
        let table = SphericalHarmonics::new(l + 1).unwrap().evaluate(theta, phi);
        let index = l * (2 * l + 1) + (m + l as i32) as usize;
        for got in [spherical_harmonic(l, m, theta, phi), table[index]] {
            assert_close_complex(got, expected, EXACT, &context);
        }
    }
}

/// Closed forms from the table of orthonormal Condon–Shortley harmonics (Wikipedia, "Table of
/// spherical harmonics").
fn closed_form_harmonic(l: usize, m: i32, theta: f64, phi: f64) -> Complex64 {
    let (s, c) = theta.sin_cos();
    let e = |k: f64| Complex64::cis(k * phi);
    match (l, m) {
        (0, 0) => e(0.0) * (0.5 * (1.0 / PI).sqrt()),
        (1, 1) => e(1.0) * (-0.5 * (3.0 / (2.0 * PI)).sqrt() * s),
        (1, 0) => e(0.0) * (0.5 * (3.0 / PI).sqrt() * c),
        (2, -2) => e(-2.0) * (0.25 * (15.0 / (2.0 * PI)).sqrt() * s * s),
        (2, 0) => e(0.0) * (0.25 * (5.0 / PI).sqrt() * (3.0 * c * c - 1.0)),
        (2, 1) => e(1.0) * (-0.5 * (15.0 / (2.0 * PI)).sqrt() * s * c),
        (3, -1) => e(-1.0) * (0.125 * (21.0 / PI).sqrt() * s * (5.0 * c * c - 1.0)),
        (3, 2) => e(2.0) * (0.25 * (105.0 / (2.0 * PI)).sqrt() * s * s * c),
        (3, 3) => e(3.0) * (-0.125 * (35.0 / PI).sqrt() * s * s * s),
        _ => unreachable!("no closed form listed for ({l}, {m})"),
    }
}

#[test]
fn harmonics_equal_the_closed_forms_of_the_standard_table() {
    let orders = [
        (0, 0),
        (1, 1),
        (1, 0),
        (2, -2),
        (2, 0),
        (2, 1),
        (3, -1),
        (3, 2),
        (3, 3),
    ];
    for u in unit_vectors(10, &mut rng(10)) {
        let (theta, phi) = sphere_angles(&u);
        for (l, m) in orders {
            let context = format!("Y_{l}^{m} at {u:?}");
            let expected = closed_form_harmonic(l, m, theta, phi);
            assert_close_complex(
                spherical_harmonic(l, m, theta, phi),
                expected,
                EXACT,
                &context,
            );
        }
    }
}

#[test]
fn negative_orders_are_conjugates_with_the_condon_shortley_sign() {
    let bandlimit = 12;
    let width = 2 * bandlimit - 1;
    let harmonics = SphericalHarmonics::new(bandlimit).unwrap();
    for u in unit_vectors(5, &mut rng(11)) {
        let y = harmonics.evaluate_at(&u);
        let at = |l: usize, m: i32| y[l * width + (m + bandlimit as i32 - 1) as usize];
        for l in 0..bandlimit {
            for m in 1..=l as i32 {
                let sign = if m % 2 == 0 { 1.0 } else { -1.0 };
                assert_close_complex(at(l, -m), at(l, m).conj() * sign, EXACT, "Y_{l,−m}");
            }
        }
    }
}

#[test]
fn harmonic_table_agrees_with_single_harmonics_and_is_zero_outside_degrees() {
    let bandlimit = 9;
    let harmonics = SphericalHarmonics::new(bandlimit).unwrap();
    let (theta, phi) = (1.234, -2.5);
    let all = harmonics.evaluate(theta, phi);
    let real = harmonics.evaluate_real(theta, phi);
    for l in 0..bandlimit {
        for m in -(bandlimit as i32 - 1)..bandlimit as i32 {
            let index = l * (2 * bandlimit - 1) + (m + bandlimit as i32 - 1) as usize;
            let single = spherical_harmonic(l, m, theta, phi);
            assert_close_complex(all[index], single, EXACT, "table vs single");
            assert_close(
                real[index],
                real_spherical_harmonic(l, m, theta, phi),
                EXACT,
                "real",
            );
            if m.unsigned_abs() as usize > l {
                assert_eq!(all[index], Complex64::new(0.0, 0.0));
                assert_eq!(real[index], 0.0);
            }
        }
    }
}

/// Largest entry of `Yᴴ W Y − I` over all harmonics `l < L` on the DH grid of bandlimit `L`.
fn driscoll_healy_gram_defect(bandlimit: usize, real: bool) -> f64 {
    let grid = DriscollHealyGrid::new(bandlimit).unwrap();
    let harmonics = SphericalHarmonics::new(bandlimit).unwrap();
    let width = 2 * bandlimit - 1;
    let valid: Vec<usize> = (0..bandlimit)
        .flat_map(|l| (bandlimit - 1 - l..bandlimit + l).map(move |mi| l * width + mi))
        .collect();
    let mut samples = DMatrix::<Complex64>::zeros(grid.len(), valid.len());
    let mut weighted = samples.clone();
    for j in 0..grid.n_theta() {
        for k in 0..grid.n_phi() {
            let row = j * grid.n_phi() + k;
            let values: Vec<Complex64> = if real {
                let r = harmonics.evaluate_real(grid.theta(j), grid.phi(k));
                r.into_iter().map(|x| Complex64::new(x, 0.0)).collect()
            } else {
                harmonics.evaluate(grid.theta(j), grid.phi(k))
            };
            for (col, &index) in valid.iter().enumerate() {
                samples[(row, col)] = values[index];
                weighted[(row, col)] = values[index] * grid.weight(j);
            }
        }
    }
    let n = valid.len();
    (samples.adjoint() * weighted - DMatrix::identity(n, n))
        .iter()
        .map(|z| z.norm())
        .fold(0.0, f64::max)
}

#[test]
fn harmonics_are_orthonormal_under_the_driscoll_healy_quadrature() {
    for bandlimit in [1usize, 2, 3, 6, 13] {
        let defect = driscoll_healy_gram_defect(bandlimit, false);
        assert!(defect <= EXACT_LONG_SUM, "L = {bandlimit}: {defect:e}");
    }
}

#[test]
fn real_harmonics_are_orthonormal_under_the_driscoll_healy_quadrature() {
    for bandlimit in [1usize, 4, 9] {
        let defect = driscoll_healy_gram_defect(bandlimit, true);
        assert!(defect <= EXACT_LONG_SUM, "L = {bandlimit}: {defect:e}");
    }
}

#[test]
fn real_harmonics_of_degree_one_are_y_z_x() {
    let scale = (3.0 / (4.0 * PI)).sqrt();
    for u in unit_vectors(8, &mut rng(12)) {
        let (theta, phi) = sphere_angles(&u);
        for (m, coordinate) in [(-1, u.y), (0, u.z), (1, u.x)] {
            let value = real_spherical_harmonic(1, m, theta, phi);
            assert_close(value, scale * coordinate, EXACT, &format!("Y^real_(1,{m})"));
        }
    }
}

#[test]
fn sphere_angles_recover_the_point() {
    for u in unit_vectors(20, &mut rng(13)) {
        let (theta, phi) = sphere_angles(&u);
        let back = Vector3::new(
            theta.sin() * phi.cos(),
            theta.sin() * phi.sin(),
            theta.cos(),
        );
        assert!((back - u).amax() <= EXACT);
        assert!((0.0..=PI).contains(&theta));
    }
}

/// Degree-`l` harmonics at `u` as a vector indexed `m + l`.
fn degree_vector(l: usize, u: &Vector3<f64>) -> DVector<Complex64> {
    let (theta, phi) = sphere_angles(u);
    DVector::from_fn(2 * l + 1, |i, _| {
        spherical_harmonic(l, i as i32 - l as i32, theta, phi)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// docs/conventions.md#so3: `Y_lm(Ru) = Σ_n conj D^l_{mn}(R) Y_ln(u)`.
    #[test]
    fn harmonics_of_a_rotated_point_mix_through_conjugate_wigner_d(seed in any::<u64>()) {
        for (l, rotation, u) in rotated_point_cases(seed) {
            let left = degree_vector(l, &rotation.apply(&u));
            let right = wigner_d(l, &rotation).conjugate() * degree_vector(l, &u);
            let defect = (left - right).iter().map(|z| z.norm()).fold(0.0, f64::max);
            prop_assert!(defect <= EXACT_LONG_SUM, "l = {}: {:e}", l, defect);
        }
    }

    /// `Y^real_l(Ru) = D^l_real(R) Y^real_l(u)`.
    #[test]
    fn real_harmonics_of_a_rotated_point_mix_through_real_wigner_d(seed in any::<u64>()) {
        for (l, rotation, u) in rotated_point_cases(seed) {
            let real_at = |v: &Vector3<f64>| {
                let (theta, phi) = sphere_angles(v);
                DVector::from_fn(2 * l + 1, |i, _| {
                    real_spherical_harmonic(l, i as i32 - l as i32, theta, phi)
                })
            };
            let left = real_at(&rotation.apply(&u));
            let right = real_wigner_d(l, &rotation) * real_at(&u);
            let defect = (left - right).amax();
            prop_assert!(defect <= EXACT_LONG_SUM, "l = {}: {:e}", l, defect);
        }
    }
}

#[test]
fn harmonics_reject_bad_input() {
    assert!(SphericalHarmonics::new(0).is_err());
    let harmonics = SphericalHarmonics::new(3).unwrap();
    let mut short = vec![Complex64::new(0.0, 0.0); 4];
    assert!(harmonics.evaluate_into(0.1, 0.2, &mut short).is_err());
    assert_eq!(spherical_harmonic(2, 3, 0.1, 0.2), Complex64::new(0.0, 0.0));
}
