//! SO(3): Euler/matrix/quaternion conversions, gimbal locks, Haar sampling and the
//! Driscoll–Healy quadratures of S² and SO(3).

use entk_groups::{
    CompactGroup, DriscollHealyGrid, EulerZyz, Group, GroupError, Rotation, So3Grid, SO3,
};
use nalgebra::{Matrix3, UnitQuaternion, Vector3};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::{PI, TAU};

/// Fixed so that failures reproduce; any value works.
const SEED: u64 = 0x5eed_0003;

fn matrix_err(a: &Rotation, b: &Rotation) -> f64 {
    (a.matrix() - b.matrix()).amax()
}

#[test]
fn euler_zyz_matches_the_theory_md_matrices() {
    // R_y(β) = [[cos β, 0, sin β], [0, 1, 0], [−sin β, 0, cos β]] and R = R_z(α) R_y(β) R_z(γ).
    let r = Rotation::from_euler_zyz(EulerZyz {
        alpha: 0.0,
        beta: 0.5,
        gamma: 0.0,
    });
    let expected = Matrix3::new(
        0.5f64.cos(),
        0.0,
        0.5f64.sin(),
        0.0,
        1.0,
        0.0,
        -0.5f64.sin(),
        0.0,
        0.5f64.cos(),
    );
    assert!((r.matrix() - expected).amax() < 1e-15);
    // γ acts first: R(α=π/2, β=0, γ=0) and R(0, 0, π/2) agree; R(0, π/2, π/2) sends x to y via z-first.
    let r = Rotation::from_euler_zyz(EulerZyz {
        alpha: 0.0,
        beta: PI / 2.0,
        gamma: PI / 2.0,
    });
    let image = r.apply(&Vector3::new(1.0, 0.0, 0.0));
    assert!(
        (image - Vector3::new(0.0, 1.0, 0.0)).amax() < 1e-15,
        "{image}"
    );
    let r = Rotation::from_euler_zyz(EulerZyz {
        alpha: PI / 2.0,
        beta: PI / 2.0,
        gamma: 0.0,
    });
    let image = r.apply(&Vector3::new(1.0, 0.0, 0.0));
    assert!(
        (image - Vector3::new(0.0, 0.0, -1.0)).amax() < 1e-15,
        "{image}"
    );
}

#[test]
fn euler_round_trips_at_both_gimbal_locks() {
    for beta in [0.0, PI, 1e-13, PI - 1e-13, 1e-7, PI - 1e-7] {
        for (alpha, gamma) in [(0.3, 1.1), (5.9, 6.2), (0.0, 0.0), (PI, PI)] {
            let r = Rotation::from_euler_zyz(EulerZyz { alpha, beta, gamma });
            let back = Rotation::from_euler_zyz(r.to_euler_zyz());
            assert!(
                matrix_err(&r, &back) < 1e-13,
                "β={beta}: {}",
                matrix_err(&r, &back)
            );
            let e = r.to_euler_zyz();
            assert!((0.0..TAU).contains(&e.alpha) && (0.0..TAU).contains(&e.gamma));
            assert!((0.0..=PI).contains(&e.beta));
        }
    }
    let lock = Rotation::from_euler_zyz(EulerZyz {
        alpha: 0.4,
        beta: 0.0,
        gamma: 0.5,
    })
    .to_euler_zyz();
    assert_eq!(lock.gamma, 0.0);
    assert!((lock.alpha - 0.9).abs() < 1e-14);
}

#[test]
fn non_finite_angles_and_bad_matrices_are_errors() {
    assert!(matches!(
        EulerZyz::new(f64::NAN, 0.0, 0.0),
        Err(GroupError::NonFinite { .. })
    ));
    assert!(Rotation::try_from_euler_zyz(0.0, f64::INFINITY, 0.0).is_err());
    assert!(Rotation::from_matrix(Matrix3::identity() * 2.0).is_err());
    assert!(Rotation::from_matrix(-Matrix3::identity()).is_err());
    assert!(Rotation::from_axis_angle(Vector3::zeros(), 1.0).is_err());
    assert!(Rotation::from_axis_angle(Vector3::x(), f64::NAN).is_err());
    assert!(So3Grid::new(0).is_err());
    assert!(DriscollHealyGrid::new(0).is_err());
    assert!(DriscollHealyGrid::from_shape(8, 8).is_err());
    assert!(DriscollHealyGrid::from_shape(7, 6).is_err());
    assert_eq!(DriscollHealyGrid::from_shape(8, 7).unwrap().bandlimit(), 4);
    assert!(So3Grid::from_shape(7, 8, 6).is_err());
    assert_eq!(So3Grid::from_shape(7, 8, 7).unwrap().bandlimit(), 4);
}

#[test]
fn haar_samples_have_the_right_moments() {
    // E[R_ij] = 0 and E[R_ij²] = 1/3 under Haar measure; SE of the mean of R_00² is √(4/45/N).
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let n = 20_000;
    let (mut first, mut second) = (Matrix3::<f64>::zeros(), Matrix3::<f64>::zeros());
    for _ in 0..n {
        let r = SO3.sample_haar(&mut rng);
        first += r.matrix();
        second += r.matrix().component_mul(r.matrix());
    }
    first /= n as f64;
    second /= n as f64;
    let se = (4.0 / 45.0 / n as f64).sqrt();
    assert!(
        first.amax() < 5.0 * (1.0 / 3.0 / n as f64).sqrt(),
        "{first}"
    );
    assert!(
        (second - Matrix3::repeat(1.0 / 3.0)).amax() < 5.0 * se,
        "{second}"
    );
}

/// `∫_{S²} x^a y^b z^c dS = 4π (a−1)!!(b−1)!!(c−1)!!/(a+b+c+1)!!` for even exponents, else 0.
fn sphere_monomial_integral(a: usize, b: usize, c: usize) -> f64 {
    if a % 2 == 1 || b % 2 == 1 || c % 2 == 1 {
        return 0.0;
    }
    let double_factorial = |n: i64| -> f64 { (1..=n).rev().step_by(2).map(|v| v as f64).product() };
    let num = double_factorial(a as i64 - 1)
        * double_factorial(b as i64 - 1)
        * double_factorial(c as i64 - 1);
    4.0 * PI * num / double_factorial((a + b + c + 1) as i64)
}

#[test]
fn sphere_quadrature_integrates_monomials_of_degree_up_to_2l_minus_2() {
    for l in 1..=12 {
        let q = DriscollHealyGrid::new(l).unwrap().quadrature();
        assert!((q.total_weight() - 4.0 * PI).abs() < 1e-12);
        let max_degree = 2 * l - 2;
        for a in 0..=max_degree {
            for b in 0..=max_degree - a {
                for c in 0..=max_degree - a - b {
                    let got = q.integrate(|u| {
                        u.x.powi(a as i32) * u.y.powi(b as i32) * u.z.powi(c as i32)
                    });
                    let want = sphere_monomial_integral(a, b, c);
                    assert!(
                        (got - want).abs() < 1e-12,
                        "L={l} x^{a}y^{b}z^{c}: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn so3_quadrature_has_haar_volume_and_exact_low_moments() {
    for l in 1..=8 {
        let q = SO3.haar_quadrature(l).unwrap();
        let volume = 8.0 * PI * PI;
        assert!((q.total_weight() - volume).abs() < 1e-12 * volume);
        if l < 2 {
            continue;
        }
        // ∫ R_ij dR = 0 and ∫ R_ij R_kl dR = 8π²/3 δ_ik δ_jl (degree-1 Wigner functions, L ≥ 2).
        for i in 0..3 {
            for j in 0..3 {
                let mean = q.integrate(|r| r.matrix()[(i, j)]);
                assert!(mean.abs() < 1e-12, "L={l} ∫R_{i}{j} = {mean}");
                for k in 0..3 {
                    for m in 0..3 {
                        let got = q.integrate(|r| r.matrix()[(i, j)] * r.matrix()[(k, m)]);
                        let want = if i == k && j == m { volume / 3.0 } else { 0.0 };
                        assert!((got - want).abs() < 1e-12, "L={l}: {got} vs {want}");
                    }
                }
            }
        }
    }
}

#[test]
fn so3_grid_points_follow_the_gamma_beta_alpha_order() {
    let grid = So3Grid::new(3).unwrap();
    let q = grid.quadrature();
    assert_eq!(q.len(), 5 * 6 * 5);
    let expected = Rotation::from_euler_zyz(EulerZyz {
        alpha: TAU * 4.0 / 5.0,
        beta: PI * 3.0 / 12.0,
        gamma: TAU * 2.0 / 5.0,
    });
    // (γ=2, β=1, α=4) sits at flat index (2·6 + 1)·5 + 4.
    assert!(matrix_err(&q.nodes[(2 * 6 + 1) * 5 + 4], &expected) < 1e-15);
}

fn any_rotation() -> impl Strategy<Value = Rotation> {
    let special = prop_oneof![Just(0.0), Just(PI), Just(1e-12), Just(PI - 1e-12), 0.0..PI];
    (0.0..TAU, special, 0.0..TAU)
        .prop_map(|(alpha, beta, gamma)| Rotation::from_euler_zyz(EulerZyz { alpha, beta, gamma }))
}

proptest! {
    #[test]
    fn matrix_to_euler_to_matrix_round_trips(r in any_rotation()) {
        let back = Rotation::from_euler_zyz(r.to_euler_zyz());
        prop_assert!(matrix_err(&r, &back) < 1e-13);
    }

    #[test]
    fn euler_to_matrix_to_euler_round_trips_away_from_locks(a in 0.0..TAU, b in 1e-3..(PI - 1e-3), c in 0.0..TAU) {
        let e = Rotation::from_euler_zyz(EulerZyz { alpha: a, beta: b, gamma: c }).to_euler_zyz();
        let angle_err = |x: f64, y: f64| { let d = (x - y).rem_euclid(TAU); d.min(TAU - d) };
        prop_assert!(angle_err(e.alpha, a) < 1e-10 && (e.beta - b).abs() < 1e-12 && angle_err(e.gamma, c) < 1e-10);
    }

    #[test]
    fn composition_agrees_through_every_parametrisation(r1 in any_rotation(), r2 in any_rotation()) {
        let via_matrix = r1.compose(&r2);
        let q: UnitQuaternion<f64> = r1.to_quaternion() * r2.to_quaternion();
        let via_quaternion = Rotation::from_quaternion(&q);
        let via_euler = Rotation::from_euler_zyz(r1.to_euler_zyz()).compose(&Rotation::from_euler_zyz(r2.to_euler_zyz()));
        prop_assert!(matrix_err(&via_matrix, &via_quaternion) < 1e-13);
        prop_assert!(matrix_err(&via_matrix, &via_euler) < 1e-13);
        prop_assert!(SO3.distance(&via_matrix, &via_euler) < 1e-12);
        let (axis, angle) = r1.to_quaternion().axis_angle().unwrap_or((nalgebra::Vector3::z_axis(), 0.0));
        let via_axis = Rotation::from_axis_angle(axis.into_inner(), angle).unwrap();
        prop_assert!(matrix_err(&r1, &via_axis) < 1e-13);
    }

    #[test]
    fn rotation_angle_is_a_bi_invariant_metric(r1 in any_rotation(), r2 in any_rotation(), g in any_rotation()) {
        let d = SO3.distance(&r1, &r2);
        let left = SO3.distance(&g.compose(&r1), &g.compose(&r2));
        let right = SO3.distance(&r1.compose(&g), &r2.compose(&g));
        prop_assert!((d - left).abs() < 1e-12 && (d - right).abs() < 1e-12);
        prop_assert!((0.0..=PI + 1e-12).contains(&d));
    }
}
