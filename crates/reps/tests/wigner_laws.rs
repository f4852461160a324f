//! Laws of the Wigner matrices (docs/conventions.md#so3): closed forms, symmetries, orthogonality up to
//! l = 100, and the representation laws of D and of the real D.

mod common;

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_PI_2, PI};

use common::{assert_all_pass, assert_close, haar_rotations, law_rotations, rng};
use entk_groups::laws::tolerance::{EXACT, EXACT_LONG_SUM};
use entk_groups::{EulerZyz, Rotation, SO3};
use entk_reps::laws::check_representation;
use entk_reps::{
    complex_to_real_basis, real_wigner_d, wigner_d, wigner_d_from_euler, wigner_small_d,
    wigner_small_d_entry, RealWignerIrrep, Representation, WignerD, WignerIrrep, WignerSmallDTable,
};
use nalgebra::{DMatrix, Matrix3};
use num_complex::Complex64;
use proptest::prelude::*;

/// Closed forms of `d^l_{mn}(β)` for `l ≤ 2`, `m ≥ |n|` (Wikipedia "Wigner D-matrix", table of
/// d-matrix elements; Sakurai, Modern Quantum Mechanics, §3.5); other entries follow from the
/// symmetries `d_{mn} = (−1)^{m−n} d_{nm} = d_{−n,−m}`.
fn closed_form_small_d(l: usize, m: i32, n: i32, beta: f64) -> Option<f64> {
    let (c, s) = (beta.cos(), beta.sin());
    let sqrt_3_8 = (3.0_f64 / 8.0).sqrt();
    Some(match (l, m, n) {
        (0, 0, 0) => 1.0,
        (1, 1, 1) => (1.0 + c) / 2.0,
        (1, 1, 0) => -s * FRAC_1_SQRT_2,
        (1, 1, -1) => (1.0 - c) / 2.0,
        (1, 0, 0) => c,
        (2, 2, 2) => ((1.0 + c) / 2.0).powi(2),
        (2, 2, 1) => -(1.0 + c) * s / 2.0,
        (2, 2, 0) => sqrt_3_8 * s * s,
        (2, 2, -1) => -(1.0 - c) * s / 2.0,
        (2, 2, -2) => ((1.0 - c) / 2.0).powi(2),
        (2, 1, 1) => (1.0 + c) * (2.0 * c - 1.0) / 2.0,
        (2, 1, 0) => -sqrt_3_8 * (2.0 * beta).sin(),
        (2, 1, -1) => (1.0 - c) * (2.0 * c + 1.0) / 2.0,
        (2, 0, 0) => (3.0 * c * c - 1.0) / 2.0,
        _ => return None,
    })
}

/// The closed form extended to every `(m, n)` by the two symmetries.
fn closed_form_any_order(l: usize, m: i32, n: i32, beta: f64) -> f64 {
    let sign = |k: i32| if k.rem_euclid(2) == 0 { 1.0 } else { -1.0 };
    closed_form_small_d(l, m, n, beta)
        .or_else(|| closed_form_small_d(l, n, m, beta).map(|v| sign(m - n) * v))
        .or_else(|| closed_form_small_d(l, -n, -m, beta))
        .or_else(|| closed_form_small_d(l, -m, -n, beta).map(|v| sign(m - n) * v))
        .expect("every l ≤ 2 entry is reachable by symmetry")
}

const TEST_BETAS: [f64; 8] = [0.0, 1e-9, 0.3, 1.0, PI / 2.0, 2.5, PI - 1e-9, PI];

#[test]
fn small_d_matches_closed_forms_up_to_degree_two() {
    for beta in TEST_BETAS.iter().copied().chain([-0.7, 4.0]) {
        for l in 0..=2usize {
            let d = wigner_small_d(l, beta);
            let li = l as i32;
            for m in -li..=li {
                for n in -li..=li {
                    let expected = closed_form_any_order(l, m, n, beta);
                    let context = format!("d^{l}_({m},{n})({beta})");
                    let entry = wigner_small_d_entry(l, m, n, beta);
                    for got in [entry, d[((m + li) as usize, (n + li) as usize)]] {
                        assert_close(got, expected, EXACT, &context);
                    }
                }
            }
        }
    }
}

/// `d^l_{mn}(β)` from Wigner's sum formula evaluated at 120 digits with mpmath 1.3.0 (exact
/// factorials, `β` the given f64 exactly):
/// `python3 -c "import mpmath as mp; mp.mp.dps=120; ..."` with
/// `d = √((l+m)!(l−m)!(l+n)!(l−n)!) Σ_s (−1)^{m−n+s} c^{2l+n−m−2s} s^{m−n+2s} / ((l+n−s)! s! (m−n+s)! (l−m−s)!)`.
// β = 3.14 is deliberately close to, but not, π.
#[allow(clippy::approx_constant)]
const HIGH_PRECISION_D: [(usize, i32, i32, f64, f64); 9] = [
    (100, 0, 0, 0.7, 0.08937021228635302),
    (100, 37, -12, 1.3, 0.08495272656722996),
    (100, 100, 3, 2.9, -3.115912103544643e-66),
    (100, -50, 49, 0.05, 5.406675152094317e-119),
    (100, 1, 99, 3.1, -1.3063001605407618e-138),
    (64, 20, 20, FRAC_PI_2, 0.10389243819359253),
    (100, -3, 7, 2.2, -0.07970934020062798),
    (90, 60, -60, 1.0, 5.442631373521538e-12),
    (100, 10, -10, 3.14, 0.9936686818410747),
];

/// Relative accuracy required against the 120-digit values, including entries as small as
/// 1e-138 (measured: ≤ 3e-13).
const HIGH_PRECISION_RELATIVE_TOL: f64 = 1e-11;

#[test]
fn small_d_matches_high_precision_wigner_formula_at_degree_one_hundred() {
    for (l, m, n, beta, expected) in HIGH_PRECISION_D {
        let context = format!("d^{l}_({m},{n})({beta})");
        let entry = wigner_small_d_entry(l, m, n, beta);
        let table = WignerSmallDTable::new(l + 1, beta).unwrap().get(l, m, n);
        for value in [entry, table] {
            assert_close(
                value,
                expected,
                HIGH_PRECISION_RELATIVE_TOL * expected.abs(),
                &context,
            );
        }
    }
}

#[test]
fn small_d_is_zero_outside_its_degree() {
    assert_eq!(wigner_small_d_entry(2, 3, 0, 0.4), 0.0);
    assert_eq!(wigner_small_d_entry(2, 0, -3, 0.4), 0.0);
    let table = WignerSmallDTable::new(5, 0.4).unwrap();
    assert_eq!(table.get(2, 3, 1), 0.0);
    assert_eq!(table.get(1, -1, -2), 0.0);
}

fn small_d_arguments() -> impl Strategy<Value = (usize, i32, i32, f64)> {
    (0usize..=100).prop_flat_map(|l| {
        let li = l as i32;
        (Just(l), -li..=li, -li..=li, -PI..(2.0 * PI))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn small_d_symmetries_hold((l, m, n, beta) in small_d_arguments()) {
        let d = wigner_small_d_entry(l, m, n, beta);
        let sign = if (m - n).rem_euclid(2) == 0 { 1.0 } else { -1.0 };
        prop_assert!((d - sign * wigner_small_d_entry(l, n, m, beta)).abs() <= EXACT_LONG_SUM);
        prop_assert!((d - wigner_small_d_entry(l, -n, -m, beta)).abs() <= EXACT_LONG_SUM);
        prop_assert!((d - wigner_small_d_entry(l, n, m, -beta)).abs() <= EXACT_LONG_SUM);
    }
}

/// Largest entry of `A Aᵀ − I`.
fn orthogonality_defect(a: &DMatrix<f64>) -> f64 {
    let n = a.nrows();
    (a * a.transpose() - DMatrix::identity(n, n)).amax()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn small_d_is_orthogonal_up_to_degree_one_hundred(beta in 0.0..PI) {
        for l in [1usize, 7, 33, 64, 100] {
            let defect = orthogonality_defect(&wigner_small_d(l, beta));
            prop_assert!(defect <= EXACT_LONG_SUM, "l = {l}, β = {beta}: {defect:e}");
        }
    }

    #[test]
    fn small_d_adds_angles(beta1 in -PI..PI, beta2 in -PI..PI) {
        for l in [2usize, 20, 60] {
            let product = wigner_small_d(l, beta1) * wigner_small_d(l, beta2);
            let defect = (product - wigner_small_d(l, beta1 + beta2)).amax();
            prop_assert!(defect <= EXACT_LONG_SUM, "l = {l}: {defect:e}");
        }
    }
}

#[test]
fn small_d_table_agrees_with_single_degree_and_single_entry() {
    let bandlimit = 24;
    for beta in TEST_BETAS {
        let table = WignerSmallDTable::new(bandlimit, beta).unwrap();
        for l in [0usize, 1, 5, 23] {
            assert!((table.degree(l) - wigner_small_d(l, beta)).amax() <= EXACT);
            let li = l as i32;
            for (m, n) in [(0, 0), (li, -li), (-li, li / 2), (li / 3, -li)] {
                let entry = wigner_small_d_entry(l, m, n, beta);
                assert_close(
                    table.get(l, m, n),
                    entry,
                    EXACT,
                    &format!("l={l} m={m} n={n}"),
                );
            }
        }
    }
}

#[test]
fn wigner_d_of_the_identity_is_the_identity() {
    for l in [0usize, 1, 4, 50] {
        let d = wigner_d(l, &Rotation::identity());
        assert!((d - DMatrix::identity(2 * l + 1, 2 * l + 1)).camax() <= EXACT);
    }
}

#[test]
fn wigner_d_is_a_unitary_representation_for_small_degrees() {
    let rotations = law_rotations(1);
    for l in 0..=6 {
        let checks = check_representation(&WignerIrrep::new(l), &rotations, EXACT_LONG_SUM);
        assert_all_pass(&checks, &format!("D^{l}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2))]

    #[test]
    fn wigner_d_is_a_unitary_representation_up_to_degree_one_hundred(seed in any::<u64>()) {
        let mut rng = rng(seed);
        let rotations = haar_rotations(3, &mut rng);
        for l in [37usize, 100] {
            let checks = check_representation(&WignerIrrep::new(l), &rotations, EXACT_LONG_SUM);
            assert_all_pass(&checks, &format!("D^{l}"));
        }
    }
}

#[test]
fn wigner_d_of_a_rotation_equals_wigner_d_of_its_euler_angles() {
    let angles = [
        (0.3, 0.0, 1.1),
        (2.0, PI, 0.4),
        (0.7, 1e-9, 5.0),
        (1.0, 2.0, 3.0),
        (-1.0, 0.5, 7.0),
    ];
    for (alpha, beta, gamma) in angles {
        let euler = EulerZyz { alpha, beta, gamma };
        let rotation = Rotation::from_euler_zyz(euler);
        for l in [1usize, 3, 12] {
            let defect = (wigner_d(l, &rotation) - wigner_d_from_euler(l, euler)).camax();
            assert!(defect <= EXACT, "l = {l}, angles {euler:?}: {defect:e}");
        }
    }
}

#[test]
fn wigner_d_of_all_degrees_matches_single_degrees() {
    let rotation = haar_rotations(1, &mut rng(2))[0];
    let all = WignerD::new(16, &rotation).unwrap();
    assert_eq!(all.bandlimit(), 16);
    for l in [0usize, 1, 9, 15] {
        assert!((all.degree(l) - wigner_d(l, &rotation)).camax() <= EXACT);
    }
    assert_eq!(all.get(3, 4, 0), Complex64::new(0.0, 0.0));
}

#[test]
fn wigner_d_factorises_into_z_and_y_rotations() {
    // D(α, β, γ) = D(R_z(α)) D(R_y(β)) D(R_z(γ)), and D(R_z(α)) is diagonal e^{−imα}.
    let (alpha, beta, gamma) = (0.4, 1.2, 2.9);
    for l in [1usize, 5] {
        let product = wigner_d(l, &Rotation::about_z(alpha))
            * wigner_d(l, &Rotation::about_y(beta))
            * wigner_d(l, &Rotation::about_z(gamma));
        let direct = wigner_d_from_euler(l, EulerZyz { alpha, beta, gamma });
        assert!((product - &direct).camax() <= 1e-12);
        let dz = wigner_d(l, &Rotation::about_z(alpha));
        for m in -(l as i32)..=l as i32 {
            let i = (m + l as i32) as usize;
            let expected = Complex64::cis(-(m as f64) * alpha);
            assert!((dz[(i, i)] - expected).norm() <= 1e-12);
        }
    }
}

#[test]
fn real_wigner_d_is_a_real_orthogonal_representation() {
    let rotations = law_rotations(3);
    for l in [0usize, 1, 2, 5, 30] {
        let checks = check_representation(&RealWignerIrrep::new(l), &rotations, EXACT_LONG_SUM);
        assert_all_pass(&checks, &format!("real D^{l}"));
        let u = complex_to_real_basis(l);
        let n = 2 * l + 1;
        assert!(
            (u.adjoint() * &u - DMatrix::identity(n, n)).camax() <= EXACT,
            "U unitary"
        );
        for r in &rotations {
            let full = &u * wigner_d(l, r).conjugate() * u.adjoint();
            let imaginary = full.iter().map(|z| z.im.abs()).fold(0.0, f64::max);
            assert!(
                imaginary <= EXACT_LONG_SUM,
                "l = {l}: imaginary part {imaginary:e}"
            );
            let orthogonality = orthogonality_defect(&real_wigner_d(l, r));
            assert!(orthogonality <= EXACT_LONG_SUM);
        }
    }
}

#[test]
fn real_wigner_d_of_degree_one_is_the_rotation_matrix_in_yzx_order() {
    // Y^real_1 = √(3/4π) (y, z, x), so D^1_real(R) = P R Pᵀ with P: (x, y, z) ↦ (y, z, x).
    let p = Matrix3::new(0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0);
    for r in haar_rotations(5, &mut rng(4)) {
        let expected = p * r.matrix() * p.transpose();
        let actual = real_wigner_d(1, &r);
        for i in 0..3 {
            for j in 0..3 {
                assert_close(actual[(i, j)], expected[(i, j)], EXACT, "D^1_real");
            }
        }
    }
}

/// A deliberately broken "D": α and γ swapped, which is not a homomorphism.
struct SwappedAngles(usize);

impl Representation for SwappedAngles {
    type Group = SO3;
    fn group(&self) -> &SO3 {
        &SO3
    }
    fn dim(&self) -> usize {
        2 * self.0 + 1
    }
    fn matrix(&self, g: &Rotation) -> DMatrix<Complex64> {
        let e = g.to_euler_zyz();
        wigner_d_from_euler(
            self.0,
            EulerZyz {
                alpha: e.gamma,
                beta: e.beta,
                gamma: e.alpha,
            },
        )
    }
}

#[test]
fn representation_checker_rejects_wigner_d_with_swapped_angles() {
    let rotations = haar_rotations(4, &mut rng(5));
    let checks = check_representation(&SwappedAngles(2), &rotations, EXACT_LONG_SUM);
    let homomorphism = checks
        .iter()
        .find(|c| c.name == "homomorphism_err")
        .unwrap();
    assert!(
        !homomorphism.passed(),
        "swapped angles must fail: {homomorphism:?}"
    );
}

#[test]
fn wigner_tables_reject_bad_input() {
    assert!(WignerSmallDTable::new(0, 0.3).is_err());
    assert!(WignerSmallDTable::new(4, f64::NAN).is_err());
    assert!(WignerD::new(0, &Rotation::identity()).is_err());
    assert!(WignerD::from_euler(
        3,
        EulerZyz {
            alpha: f64::INFINITY,
            beta: 0.1,
            gamma: 0.0
        }
    )
    .is_err());
}
