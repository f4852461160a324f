//! Nonlinearity duals (docs/theory.md#nonlinearities-dual-activations): closed forms against the Gauss–Hermite numerical dual, the
//! stated quadrature accuracy, and the helper special functions.

use std::sync::Arc;

use entk_ntk::nonlin::{erf, gelu_dual, GaussHermite, Nonlinearity, NumericalFn};
use proptest::prelude::*;

#[test]
fn gauss_hermite_rule_integrates_moments() {
    for d in [1, 5, 20, 40, 80] {
        let r = GaussHermite::new(d).unwrap();
        let sqrt_pi = std::f64::consts::PI.sqrt();
        let m0: f64 = r.weights.iter().sum();
        let m2: f64 = r.weights.iter().zip(&r.nodes).map(|(w, z)| w * z * z).sum();
        assert!((m0 - sqrt_pi).abs() < 1e-13, "d={d}: Σw = {m0}");
        if d > 1 {
            assert!((m2 - sqrt_pi / 2.0).abs() < 1e-13, "d={d}: Σwz² = {m2}");
        }
    }
}

#[test]
fn erf_matches_reference_values() {
    // Reference values from scipy.special.erf (17 significant digits).
    let cases = [
        (0.1, 0.1124629160182849),
        (0.5, 0.5204998778130465),
        (1.0, 0.8427007929497149),
        (2.0, 0.9953222650189527),
        (3.0, 0.9999779095030014),
        (-1.5, -0.9661051464753108),
    ];
    for (x, want) in cases {
        let got = erf(x);
        assert!(
            (got - want).abs() <= 5e-16 * want.abs().max(1.0),
            "erf({x}) = {got:e}, want {want:e}"
        );
    }
    assert_eq!(erf(0.0), 0.0);
    assert_eq!(erf(10.0), 1.0);
}

fn grid() -> Vec<(f64, f64, f64)> {
    let mut v = Vec::new();
    for &k11 in &[0.05f64, 0.2, 0.5] {
        for &k22 in &[0.1f64, 0.3, 0.5] {
            for &rho in &[-0.99, -0.5, 0.0, 0.3, 0.9, 0.999] {
                v.push((k11, k22, rho * (k11 * k22).sqrt()));
            }
        }
    }
    v
}

fn worst(a: &Nonlinearity, b: &Nonlinearity, scale: f64) -> (f64, f64) {
    let (mut ek, mut ed) = (0.0f64, 0.0f64);
    for (k11, k22, k12) in grid() {
        let (k11, k22, k12) = (k11 * scale, k22 * scale, k12 * scale);
        let (x1, y1) = a.dual(k11, k22, k12);
        let (x2, y2) = b.dual(k11, k22, k12);
        ek = ek.max((x1 - x2).abs() / x2.abs().max(1e-3 * (k11 * k22).sqrt()));
        ed = ed.max((y1 - y2).abs() / y2.abs());
    }
    (ek, ed)
}

#[test]
fn gauss_hermite_matches_erf_closed_form_at_the_stated_accuracy() {
    // docs/theory.md#nonlinearities-dual-activations: d = 40 is ≲ 1e-12 relative for b²k ≲ 0.5.
    let closed = Nonlinearity::Erf {
        a: 1.0,
        b: 1.0,
        c: 0.0,
    };
    let numerical = Nonlinearity::numerical(
        "erf",
        erf,
        |u| std::f64::consts::FRAC_2_SQRT_PI * (-u * u).exp(),
        40,
    )
    .unwrap();
    let (ek, ed) = worst(&numerical, &closed, 1.0);
    println!("erf, d=40, b²k ≤ 0.5: E[φφ] rel err {ek:.2e}, E[φ′φ′] rel err {ed:.2e}");
    assert!(ek < 2e-12 && ed < 2e-12, "docs/theory.md states ≲1e-12");
    let (ek2, ed2) = worst(&numerical, &closed, 2.0);
    println!("erf, d=40, b²k ≤ 1: E[φφ] rel err {ek2:.2e}, E[φ′φ′] rel err {ed2:.2e}");
    assert!(ek2 < 1e-6 && ed2 < 1e-6);
}

#[test]
fn gelu_closed_form_matches_gauss_hermite() {
    let numerical = Nonlinearity::gelu_numerical(80).unwrap();
    for scale in [1.0, 4.0] {
        let (ek, ed) = worst(&numerical, &Nonlinearity::Gelu, scale);
        println!(
            "gelu, d=80, variances ≤ {}: E[φφ] rel err {ek:.2e}, E[φ′φ′] rel err {ed:.2e}",
            0.5 * scale
        );
        assert!(ek < 1e-9 && ed < 1e-9);
    }
    // Zero variance (SAME borders): finite, φ(0)=0 and φ′(0)=1/2.
    assert_eq!(gelu_dual(0.0, 0.0, 0.0), (0.0, 0.25));
}

#[test]
fn abrelu_special_cases() {
    let (k11, k22, k12) = (0.7, 1.3, 0.4);
    let relu = Nonlinearity::Relu.dual(k11, k22, k12);
    let ab = Nonlinearity::AbRelu { a: 0.0, b: 1.0 }.dual(k11, k22, k12);
    assert!((relu.0 - ab.0).abs() < 1e-15 && (relu.1 - ab.1).abs() < 1e-15);
    // a = b: a linear map, E[φφ] = a² k12, E[φ′φ′] = a².
    let lin = Nonlinearity::AbRelu { a: 1.7, b: 1.7 }.dual(k11, k22, k12);
    assert!((lin.0 - 1.7 * 1.7 * k12).abs() < 1e-15 && (lin.1 - 1.7 * 1.7).abs() < 1e-15);
    // Diagonal: E[φφ] = (a²+b²)/2 · k11.
    let d = Nonlinearity::leaky_relu(0.1).dual(k11, k11, k11);
    assert!((d.0 - (0.01 + 1.0) / 2.0 * k11).abs() < 1e-15);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn duals_are_symmetric_and_finite(k11 in 0.0f64..3.0, k22 in 0.0f64..3.0, rho in -1.0f64..1.0) {
        let k12 = rho * (k11 * k22).sqrt();
        for phi in [Nonlinearity::Relu, Nonlinearity::leaky_relu(0.2), Nonlinearity::Erf { a: 1.1, b: 0.8, c: 0.1 }, Nonlinearity::Gelu] {
            let (a, b) = phi.dual(k11, k22, k12);
            let (c, d) = phi.dual(k22, k11, k12);
            prop_assert!(a.is_finite() && b.is_finite());
            prop_assert!((a - c).abs() <= 1e-14 * a.abs().max(1.0) && (b - d).abs() <= 1e-14 * b.abs().max(1.0));
        }
    }
}

/// Worst error of the degree-`d` Gauss–Hermite dual of `phi` against `closed` for variances up
/// to `kmax` (ratios 1, 1/3, 1/10; correlations in [−0.999, 0.999]), relative to the
/// Cauchy–Schwarz scale `√(E[φ(u)²]·E[φ(v)²])` (same for `φ′`).
fn quadrature_error(phi: &Nonlinearity, closed: &Nonlinearity, kmax: f64) -> (f64, f64) {
    let (mut ek, mut ed) = (0.0f64, 0.0f64);
    for ratio in [1.0, 1.0 / 3.0, 0.1] {
        let (k11, k22) = (kmax, kmax * ratio);
        let (s1, t1) = closed.dual(k11, k11, k11);
        let (s2, t2) = closed.dual(k22, k22, k22);
        for rho in [-0.999, -0.9, -0.5, 0.0, 0.3, 0.7, 0.95, 0.999] {
            let k12 = rho * (k11 * k22).sqrt();
            let (a, b) = phi.dual(k11, k22, k12);
            let (c, d) = closed.dual(k11, k22, k12);
            ek = ek.max((a - c).abs() / (s1 * s2).sqrt());
            ed = ed.max((b - d).abs() / (t1 * t2).sqrt());
        }
    }
    (ek, ed)
}

#[test]
fn quadrature_error_against_closed_forms() {
    use entk_ntk::nonlin::{gelu, gelu_derivative};
    let erf_d = |u: f64| std::f64::consts::FRAC_2_SQRT_PI * (-u * u).exp();
    let relu_d = |u: f64| if u > 0.0 { 1.0 } else { 0.0 };
    // Bounds on the E[φφ] (first row) and E[φ′φ′] (second row) errors of each nonlinearity, at
    // degrees 10, 20, 40, 80 (outer) and kmax = 0.5, 1, 4, 10 (inner): three times the measured
    // values (the table in the `nonlin` module docs), floored at 1e-14.
    type Bounds = [[f64; 4]; 4];
    #[rustfmt::skip]
    let bounds: [(&str, Bounds, Bounds); 3] = [
        ("erf",  [[1e-03, 2e-02, 3e-01, 6e-01], [6e-07, 2e-04, 6e-02, 3e-01], [2e-13, 2e-08, 3e-03, 6e-02], [1e-14, 1e-14, 1e-05, 3e-03]],
                 [[3e-03, 9e-02, 2e+00, 3e+00], [3e-06, 2e-03, 6e-01, 2e+00], [3e-12, 3e-07, 6e-02, 9e-01], [1e-14, 3e-14, 3e-04, 1e-01]]),
        ("gelu", [[6e-05, 2e-03, 3e-02, 6e-02], [9e-10, 1e-06, 3e-03, 1e-02], [1e-14, 9e-13, 3e-05, 2e-03], [1e-14, 1e-14, 3e-09, 2e-05]],
                 [[2e-04, 6e-03, 3e-01, 6e-01], [6e-09, 9e-06, 3e-02, 3e-01], [1e-14, 2e-11, 6e-04, 6e-02], [1e-14, 1e-14, 1e-07, 2e-03]]),
        ("relu", [[9e-02, 9e-02, 9e-02, 9e-02], [3e-02, 3e-02, 3e-02, 3e-02], [2e-02, 2e-02, 2e-02, 2e-02], [9e-03, 9e-03, 9e-03, 9e-03]],
                 [[3e-01, 3e-01, 3e-01, 3e-01], [3e-01, 3e-01, 3e-01, 3e-01], [2e-01, 2e-01, 2e-01, 2e-01], [2e-01, 2e-01, 2e-01, 2e-01]]),
    ];
    println!("| φ | degree | k = 0.5 | k = 1 | k = 4 | k = 10 |");
    let degrees = [10, 20, 40, 80];
    for (name, bounds, bounds_d) in bounds {
        for ((degree, bound), bound_d) in degrees.into_iter().zip(bounds).zip(bounds_d) {
            let (num, closed) = match name {
                "erf" => (
                    Nonlinearity::numerical("erf", erf, erf_d, degree).unwrap(),
                    Nonlinearity::Erf {
                        a: 1.0,
                        b: 1.0,
                        c: 0.0,
                    },
                ),
                "gelu" => (
                    Nonlinearity::numerical("gelu", gelu, gelu_derivative, degree).unwrap(),
                    Nonlinearity::Gelu,
                ),
                _ => (
                    Nonlinearity::numerical("relu", |u: f64| u.max(0.0), relu_d, degree).unwrap(),
                    Nonlinearity::Relu,
                ),
            };
            let mut row = format!("| {name} | {degree} |");
            let mut row_d = format!("| {name} φ′ | {degree} |");
            for ((kmax, b), bd) in [0.5, 1.0, 4.0, 10.0].into_iter().zip(bound).zip(bound_d) {
                let (ek, ed) = quadrature_error(&num, &closed, kmax);
                row += &format!(" {ek:.0e} |");
                row_d += &format!(" {ed:.0e} |");
                assert!(
                    ek <= b,
                    "{name} degree {degree} at k = {kmax}: {ek:e} > {b:e}"
                );
                assert!(
                    ed <= bd,
                    "{name}′ degree {degree} at k = {kmax}: {ed:e} > {bd:e}"
                );
            }
            println!("{row}");
            println!("{row_d}");
        }
    }
}

#[test]
fn numerical_dual_is_symmetric_and_equals_the_factored_rule_at_equal_variances() {
    let rule = NumericalFn {
        name: "tanh".into(),
        f: Arc::new(|u: f64| u.tanh()),
        df: Arc::new(|u: f64| 1.0 - u.tanh().powi(2)),
        rule: Arc::new(GaussHermite::new(7).unwrap()),
    };
    for (k11, k22, rho) in [(0.4, 2.5, 0.6), (1.3, 0.2, -0.8), (3.0, 0.9, 0.99)] {
        let k12 = rho * f64::sqrt(k11 * k22);
        let a = rule.dual(k11, k22, k12);
        let b = rule.dual(k22, k11, k12);
        assert_eq!(a, b, "bitwise symmetric");
        // neural-tangents' factored rule is not, at this low degree.
        let fa = rule.dual_factored(k11, k22, k12);
        let fb = rule.dual_factored(k22, k11, k12);
        assert!(
            (fa.0 - fb.0).abs() > 1e-6,
            "factored rule asymmetry {fa:?} {fb:?}"
        );
        assert_eq!(a.0, 0.5 * (fa.0 + fb.0));
        // Equal variances: exactly the factored rule.
        let e = rule.dual(k11, k11, rho * k11);
        assert_eq!(e, rule.dual_factored(k11, k11, rho * k11));
    }
}
