//! The closed-form nonlinearities of neural-tangents' `stax` (sin, cos, rbf, gaussian, exp,
//! sign, abs, monomial, rectified_monomial, polynomial, hermite, exp_normalized): exact
//! identities, agreement with an independent 2-D quadrature (including correlation exactly 1,
//! where neural-tangents' RectifiedMonomial is NaN, and non-unit variances, which its Hermite
//! ignores), PSD Gram matrices, finite-twin derivatives, and spec parsing.

mod common;
mod nonlin_reference;

use entk_ntk::nonlin::{closed, Nonlinearity};
use entk_ntk::{ArchSpec, GramOptions, Network};
use ndarray::Array2;
use nonlin_reference::{dual2, expect2};
use proptest::prelude::*;
use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI, SQRT_2};

fn all_closed_forms() -> Vec<Nonlinearity> {
    let mut v = vec![
        Nonlinearity::Sin {
            a: 1.3,
            b: 0.7,
            c: 0.4,
        },
        Nonlinearity::Cos {
            a: 0.9,
            b: 1.1,
            c: 0.2,
        },
        Nonlinearity::Rbf { gamma: 0.6 },
        Nonlinearity::Gaussian { a: 1.2, b: -0.8 },
        Nonlinearity::Gaussian { a: 0.8, b: 0.05 },
        Nonlinearity::Exp { a: 0.7, b: 0.5 },
        Nonlinearity::Sign,
        Nonlinearity::Abs,
        Nonlinearity::Polynomial {
            coef: vec![0.3, -0.5, 0.2, 0.1],
        },
    ];
    for d in 0..=5 {
        v.push(Nonlinearity::Monomial { degree: d });
        v.push(Nonlinearity::rectified_monomial(d));
        v.push(Nonlinearity::Hermite { degree: d });
    }
    v
}

/// Covariances with variances in [0.1, 1.7] and correlations including ±1 and 0.
fn covariances() -> Vec<(f64, f64, f64)> {
    let mut v = Vec::new();
    for &(k11, k22) in &[(0.3, 0.3), (0.1, 0.9), (1.7, 0.5), (1.0, 1.0)] {
        for &rho in &[-1.0, -0.93, -0.4, 0.0, 0.25, 0.8, 0.999, 1.0] {
            v.push((k11, k22, rho * f64::sqrt(k11 * k22)));
        }
    }
    v
}

#[test]
fn closed_forms_match_independent_2d_quadrature() {
    let mut worst = 0.0f64;
    for phi in all_closed_forms() {
        let (f, df) = (|u| phi.apply(u), |u| phi.derivative(u));
        for (k11, k22, k12) in covariances() {
            let (kk, dd) = phi.dual(k11, k22, k12);
            let (rk, rd) = dual2(&f, &df, k11, k22, k12);
            // Scales: Cauchy–Schwarz bounds of each expectation.
            let sk = (expect2(&|u, _| f(u) * f(u), k11, k22, k12)
                * expect2(&|_, v| f(v) * f(v), k11, k22, k12))
            .sqrt();
            let sd = (expect2(&|u, _| df(u) * df(u), k11, k22, k12)
                * expect2(&|_, v| df(v) * df(v), k11, k22, k12))
            .sqrt()
            .max(1e-300);
            let (ek, ed) = ((kk - rk).abs() / sk.max(1e-300), (dd - rd).abs() / sd);
            worst = worst
                .max(ek)
                .max(if phi.name() == "sign" { 0.0 } else { ed });
            assert!(
                ek <= 1e-11,
                "{phi:?} at ({k11}, {k22}, {k12}): E[φφ] {kk} vs quadrature {rk} (rel {ek:e})"
            );
            if phi.name() != "sign" {
                assert!(
                    ed <= 1e-11,
                    "{phi:?} at ({k11}, {k22}, {k12}): E[φ′φ′] {dd} vs quadrature {rd} (rel {ed:e})"
                );
            }
            assert!(kk.is_finite() && dd.is_finite());
        }
    }
    println!("closed forms vs 2-D quadrature: worst relative error {worst:.2e}");
}

#[test]
fn diagonal_identities() {
    // E[φ(u)²] in closed form, k = 0.7.
    let k: f64 = 0.7;
    let double_fact = |n: i64| -> f64 { (1..=n).rev().step_by(2).map(|j| j as f64).product() };
    for d in 0..=6usize {
        let want = double_fact(2 * d as i64 - 1) * k.powi(d as i32);
        let (m, _) = Nonlinearity::Monomial { degree: d }.dual(k, k, k);
        assert!(
            (m - want).abs() <= 1e-14 * want,
            "monomial {d}: {m} vs {want}"
        );
        // Rectified: half of the even moment, at correlation exactly 1.
        let (r, _) = Nonlinearity::rectified_monomial(d).dual(k, k, k);
        assert!(
            (r - want / 2.0).abs() <= 1e-14 * want,
            "rectified_monomial {d}: {r} vs {}",
            want / 2.0
        );
        // Hermite: 1 at unit variance.
        let (h, hd) = Nonlinearity::Hermite { degree: d }.dual(1.0, 1.0, 1.0);
        assert!((h - 1.0).abs() <= 1e-14 && (hd - d as f64).abs() <= 1e-13);
    }
    // sign² = 1, sin: a²/2(1 − e^{−2b²k}cos 2c), rbf 1, gaussian 1/√(1−4bk), exp e^{2b²k}.
    assert_eq!(Nonlinearity::Sign.dual(k, k, k).0, 1.0);
    let (a, b, c) = (1.3, 0.7, 0.4);
    let s = Nonlinearity::Sin { a, b, c }.dual(k, k, k).0;
    let want = a * a / 2.0 * (1.0 - (-2.0 * b * b * k).exp() * (2.0 * c).cos());
    assert!((s - want).abs() <= 1e-15);
    assert_eq!(Nonlinearity::Rbf { gamma: 0.6 }.dual(k, k, k).0, 1.0);
    let g = Nonlinearity::Gaussian { a: 1.0, b: -0.8 }.dual(k, k, k).0;
    assert!((g - 1.0 / (1.0 + 4.0 * 0.8 * k).sqrt()).abs() <= 1e-15);
    let e = Nonlinearity::Exp { a: 1.0, b: 0.5 }.dual(k, k, k).0;
    assert!((e - (2.0 * 0.25 * k).exp()).abs() <= 1e-15);
}

fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
    (a.0 - b.0).abs() <= tol * b.0.abs().max(1.0) && (a.1 - b.1).abs() <= tol * b.1.abs().max(1.0)
}

#[test]
fn special_cases() {
    for (k11, k22, k12) in covariances() {
        let id = Nonlinearity::Identity.dual(k11, k22, k12);
        let m1 = Nonlinearity::Monomial { degree: 1 }.dual(k11, k22, k12);
        assert!(close(m1, id, 1e-15), "monomial 1 = identity");
        let p1 = Nonlinearity::Polynomial {
            coef: vec![0.0, 1.0],
        }
        .dual(k11, k22, k12);
        assert!(close(p1, id, 1e-15), "polynomial [0, 1] = identity");
        let h1 = Nonlinearity::Hermite { degree: 1 }.dual(k11, k22, k12);
        assert!(close(h1, id, 1e-15), "hermite 1 = identity");
        // Affine: E[(c0 + c1u)(c0 + c1v)] = c0² + c1²k12.
        let aff = Nonlinearity::Polynomial {
            coef: vec![0.4, -1.3],
        }
        .dual(k11, k22, k12);
        assert!(close(aff, (0.16 + 1.69 * k12, 1.69), 1e-15));
        for d in 0..=6 {
            let mut coef = vec![0.0; d + 1];
            coef[d] = 1.0;
            let p = Nonlinearity::Polynomial { coef }.dual(k11, k22, k12);
            let m = Nonlinearity::Monomial { degree: d }.dual(k11, k22, k12);
            assert!(close(p, m, 1e-14), "polynomial e_{d} = monomial {d}");
        }
        // Polynomial = sum of monomials: E[φφ] = Σ c_n c_m E[uⁿ vᵐ] (moments by quadrature),
        // and the hermite polynomial He_2/√2 = (u² − 1)/√2.
        let he2 = Nonlinearity::Polynomial {
            coef: vec![-1.0 / SQRT_2, 0.0, 1.0 / SQRT_2],
        }
        .dual(k11, k22, k12);
        assert!(close(
            Nonlinearity::Hermite { degree: 2 }.dual(k11, k22, k12),
            he2,
            1e-14
        ));
        let coef = [0.3, -0.5, 0.2, 0.1];
        let mut sum = 0.0;
        for (n, cn) in coef.iter().enumerate() {
            for (m, cm) in coef.iter().enumerate() {
                sum +=
                    cn * cm * expect2(&|u, v| u.powi(n as i32) * v.powi(m as i32), k11, k22, k12);
            }
        }
        let p = Nonlinearity::Polynomial {
            coef: coef.to_vec(),
        }
        .dual(k11, k22, k12);
        assert!((p.0 - sum).abs() <= 1e-12 * sum.abs().max(1.0));
        // Abs = ABReLU(−1, 1); RectifiedMonomial(1) = ReLU; Rbf = Sin(√2, √(2γ), π/4);
        // Cos(a, b, c) = Sin(a, b, c + π/2); Hermite at unit variance = ρⁿ.
        assert!(close(
            Nonlinearity::Abs.dual(k11, k22, k12),
            Nonlinearity::AbRelu { a: -1.0, b: 1.0 }.dual(k11, k22, k12),
            1e-15
        ));
        assert!(close(
            Nonlinearity::rectified_monomial(1).dual(k11, k22, k12),
            Nonlinearity::Relu.dual(k11, k22, k12),
            1e-14
        ));
        let g = 0.6f64;
        assert!(close(
            Nonlinearity::Rbf { gamma: g }.dual(k11, k22, k12),
            Nonlinearity::Sin {
                a: SQRT_2,
                b: (2.0 * g).sqrt(),
                c: FRAC_PI_4
            }
            .dual(k11, k22, k12),
            1e-14
        ));
        assert!(close(
            Nonlinearity::Cos {
                a: 0.9,
                b: 1.1,
                c: 0.2
            }
            .dual(k11, k22, k12),
            Nonlinearity::Sin {
                a: 0.9,
                b: 1.1,
                c: 0.2 + FRAC_PI_2
            }
            .dual(k11, k22, k12),
            1e-15
        ));
        // Constant maps: exp with b = 0, gaussian with b = 0, monomial 0.
        assert!(close(
            Nonlinearity::Exp { a: 0.7, b: 0.0 }.dual(k11, k22, k12),
            (0.49, 0.0),
            1e-15
        ));
        assert!(close(
            Nonlinearity::Gaussian { a: 0.7, b: 0.0 }.dual(k11, k22, k12),
            (0.49, 0.0),
            1e-15
        ));
        assert_eq!(
            Nonlinearity::Monomial { degree: 0 }.dual(k11, k22, k12),
            (1.0, 0.0)
        );
    }
    let rho: f64 = 0.37;
    for n in 0..=6 {
        let (h, hd) = Nonlinearity::Hermite { degree: n }.dual(1.0, 1.0, rho);
        assert!((h - rho.powi(n as i32)).abs() <= 1e-15);
        let want_d = if n == 0 {
            0.0
        } else {
            n as f64 * rho.powi(n as i32 - 1)
        };
        assert!((hd - want_d).abs() <= 1e-14);
    }
    // Zero variances (SAME-padded borders): finite, and 0 where φ(0) = 0.
    for phi in all_closed_forms() {
        let (a, b) = phi.dual(0.0, 0.0, 0.0);
        assert!(a.is_finite() && b.is_finite(), "{phi:?} at zero variance");
        let (a, b) = phi.dual(0.0, 0.8, 0.0);
        assert!(
            a.is_finite() && b.is_finite(),
            "{phi:?} at one zero variance"
        );
    }
    assert_eq!(Nonlinearity::Sign.dual(0.0, 0.5, 0.0), (0.0, 0.0));
    // Sign: 1 − 2θ/π, NTK factor 0 (neural-tangents' convention).
    let (s, d) = Nonlinearity::Sign.dual(1.0, 2.0, 0.5 * 2f64.sqrt());
    assert!((s - (1.0 - 2.0 * (0.5f64).acos() / PI)).abs() < 1e-15 && d == 0.0);
}

#[test]
fn finite_twin_derivatives_match_finite_differences() {
    let h = 1e-6;
    for phi in all_closed_forms() {
        for &u in &[-1.7, -0.6, -0.1, 0.2, 0.9, 1.4] {
            let fd = (phi.apply(u + h) - phi.apply(u - h)) / (2.0 * h);
            let d = phi.derivative(u);
            assert!(
                (fd - d).abs() <= 1e-7 * d.abs().max(1.0),
                "{phi:?} at {u}: φ′ = {d}, finite difference {fd}"
            );
        }
    }
    // Values that pin the conventions.
    assert_eq!(Nonlinearity::Sign.apply(0.0), 0.0);
    assert_eq!(Nonlinearity::Sign.apply(-3.0), -1.0);
    assert_eq!(Nonlinearity::rectified_monomial(2).apply(-1.0), 0.0);
    assert_eq!(Nonlinearity::rectified_monomial(2).apply(3.0), 9.0);
    assert!(
        (Nonlinearity::Hermite { degree: 3 }.apply(2.0) - (8.0 - 6.0) / 6f64.sqrt()).abs() < 1e-15
    );
    assert!((Nonlinearity::Rbf { gamma: 0.5 }.apply(0.0) - 1.0).abs() < 1e-15);
    assert!(
        (Nonlinearity::Cos {
            a: 2.0,
            b: 1.0,
            c: 0.0
        }
        .apply(1.0)
            - 2.0 * 1f64.cos())
        .abs()
            < 1e-15
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn duals_are_symmetric_and_finite(k11 in 0.0f64..2.0, k22 in 0.0f64..2.0, rho in -1.0f64..1.0) {
        let k12 = rho * (k11 * k22).sqrt();
        for phi in all_closed_forms() {
            let (a, b) = phi.dual(k11, k22, k12);
            let (c, d) = phi.dual(k22, k11, k12);
            prop_assert!(a.is_finite() && b.is_finite(), "{:?}", phi);
            prop_assert!((a - c).abs() <= 1e-14 * a.abs().max(1.0) && (b - d).abs() <= 1e-14 * b.abs().max(1.0), "{:?}", phi);
        }
    }
}

fn gram_vectors(spec: &str, x: &Array2<f64>) -> (Array2<f64>, Array2<f64>) {
    let net = Network::from_json(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    let g = net
        .gram_vectors(x.view(), None, &GramOptions::default())
        .unwrap();
    (g.nngp, g.ntk)
}

fn min_max_eig(m: &Array2<f64>) -> (f64, f64) {
    let n = m.nrows();
    let a = nalgebra::DMatrix::from_fn(n, n, |i, j| m[[i, j]]);
    let e = a.symmetric_eigenvalues();
    (e.min(), e.max())
}

#[test]
fn gram_matrices_are_symmetric_and_psd() {
    let x = Array2::from_shape_fn((7, 4), |(i, j)| ((i * 4 + j) as f64 * 0.77).sin() * 1.3);
    let layers = [
        r#"{"type": "sin", "a": 1.3, "b": 0.7, "c": 0.4}"#,
        r#"{"type": "cos"}"#,
        r#"{"type": "rbf", "gamma": 0.6}"#,
        r#"{"type": "gaussian"}"#,
        r#"{"type": "exp", "a": 0.7, "b": 0.5}"#,
        r#"{"type": "exp_normalized", "gamma": 1.5}"#,
        r#"{"type": "sign"}"#,
        r#"{"type": "abs"}"#,
        r#"{"type": "monomial", "degree": 3}"#,
        r#"{"type": "rectified_monomial", "degree": 2}"#,
        r#"{"type": "polynomial", "coef": [0.3, -0.5, 0.2, 0.1]}"#,
        r#"{"type": "hermite", "degree": 3}"#,
        r#"{"type": "elementwise_numerical", "fn": "tanh", "degree": 40}"#,
    ];
    for phi in layers {
        let spec = format!(
            r#"{{"layers": [{{"type": "dense", "w_std": 1.2, "b_std": 0.1}}, {phi}, {{"type": "dense"}}, {phi}, {{"type": "dense"}}]}}"#
        );
        let (k, t) = gram_vectors(&spec, &x);
        for (what, m) in [("nngp", &k), ("ntk", &t)] {
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    assert_eq!(m[[i, j]], m[[j, i]], "{phi} {what} not symmetric");
                }
            }
            let (lo, hi) = min_max_eig(m);
            assert!(
                lo >= -1e-10 * hi.abs(),
                "{phi} {what}: λ_min {lo}, λ_max {hi}"
            );
        }
    }
}

#[test]
fn spec_entries_parse_with_neural_tangents_defaults() {
    let parse = |layer: &str| {
        ArchSpec::from_json(&format!(
            r#"{{"layers": [{{"type": "dense"}}, {layer}, {{"type": "dense"}}]}}"#
        ))
    };
    use entk_ntk::{LayerSpec, NonlinearSpec};
    let nl = |layer: &str| match parse(layer).unwrap().layers[1].clone() {
        LayerSpec::Nonlinear(n) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(nl(r#"{"type": "sin"}"#), NonlinearSpec::Sin(1.0, 1.0, 0.0));
    assert_eq!(
        nl(r#"{"type": "cos", "c": 0.5}"#),
        NonlinearSpec::Cos(1.0, 1.0, 0.5)
    );
    assert_eq!(nl(r#"{"type": "rbf"}"#), NonlinearSpec::Rbf(1.0));
    assert_eq!(
        nl(r#"{"type": "gaussian"}"#),
        NonlinearSpec::Gaussian(1.0, -1.0)
    );
    assert_eq!(nl(r#"{"type": "exp"}"#), NonlinearSpec::Exp(1.0, 1.0));
    assert_eq!(nl(r#"{"type": "sign"}"#), NonlinearSpec::Sign);
    assert_eq!(nl(r#"{"type": "abs"}"#), NonlinearSpec::Abs);
    assert_eq!(
        nl(r#"{"type": "monomial", "degree": 4}"#),
        NonlinearSpec::Monomial(4)
    );
    assert_eq!(
        nl(r#"{"type": "rectified_monomial", "degree": 2}"#),
        NonlinearSpec::RectifiedMonomial(2)
    );
    assert_eq!(
        nl(r#"{"type": "hermite", "degree": 3}"#),
        NonlinearSpec::Hermite(3)
    );
    assert_eq!(
        nl(r#"{"type": "polynomial", "coef": [1, 0.5]}"#),
        NonlinearSpec::Polynomial(vec![1.0, 0.5])
    );
    match parse(r#"{"type": "exp_normalized"}"#).unwrap().layers[1].clone() {
        LayerSpec::ExpNormalized(e) => {
            assert_eq!((e.gamma, e.shift, e.do_clip), (1.0, -1.0, false))
        }
        other => panic!("{other:?}"),
    }
    // Old forms keep working.
    assert_eq!(nl(r#"{"type": "gelu"}"#), NonlinearSpec::Gelu(None));
    assert_eq!(
        nl(r#"{"type": "gelu", "degree": 30}"#),
        NonlinearSpec::Gelu(Some(30))
    );
    assert_eq!(nl(r#"{"type": "erf"}"#), NonlinearSpec::Erf(1.0, 1.0, 0.0));
    // One-line errors.
    for (layer, needle) in [
        (r#"{"type": "monomial"}"#, "missing field `degree`"),
        (
            r#"{"type": "monomial", "degree": -1}"#,
            "non-negative integer",
        ),
        (r#"{"type": "hermite", "degree": 1000}"#, "at most 64"),
        (r#"{"type": "polynomial"}"#, "missing field `coef`"),
        (r#"{"type": "polynomial", "coef": 3}"#, "must be a list"),
        (
            r#"{"type": "polynomial", "coef": [1, "x"]}"#,
            "finite number",
        ),
        (
            r#"{"type": "exp_normalized", "do_clip": 1}"#,
            "true or false",
        ),
        (r#"{"type": "sin", "d": 1}"#, "unknown field `d`"),
        (r#"{"type": "rbf", "gamma": -1}"#, "≥ 0"),
    ] {
        let e = parse(layer).unwrap_err().to_string();
        assert!(e.contains(needle), "{layer}: {e}");
        assert!(!e.contains('\n'));
    }
}

#[test]
fn divergent_or_overflowing_kernels_are_one_line_errors() {
    let x = Array2::from_shape_fn((2, 3), |(i, j)| 1.0 + (i + j) as f64);
    // gaussian with b > 0 and variance ≥ 1/(4b): E[exp(2b u²)] is infinite.
    let net = Network::from_json(
        r#"{"layers": [{"type": "dense"}, {"type": "gaussian", "b": 0.5}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let e = net
        .gram_vectors(x.view(), None, &GramOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer 1") && e.contains("diverges"), "{e}");
    // exp overflows f64.
    let net = Network::from_json(
        r#"{"layers": [{"type": "dense", "w_std": 30}, {"type": "exp", "b": 3}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let e = net
        .gram_vectors(x.view(), None, &GramOptions::default())
        .unwrap_err()
        .to_string();
    common::assert_error_names(&e, &["non-finite at layer 1", "`exp(a=1, b=3)`"]);
    // The monomial and Hermite series at the largest degree (64) overflow f64 at large
    // variances: the Gram engine's output check refuses the kernel, naming the layer.
    for phi in ["monomial", "hermite"] {
        let net = Network::from_json(&format!(
            r#"{{"layers": [{{"type": "dense", "w_std": 1000}}, {{"type": "{phi}", "degree": 64}}, {{"type": "dense"}}]}}"#
        ))
        .unwrap();
        let e = net
            .gram_vectors(x.view(), None, &GramOptions::default())
            .unwrap_err()
            .to_string();
        common::assert_error_names(&e, &["non-finite at layer 1", phi]);
    }
}

#[test]
fn gaussian_domain_message() {
    assert!(closed::gaussian_domain(-3.0, 100.0).is_ok());
    assert!(closed::gaussian_domain(0.1, 2.4).is_ok());
    assert!(closed::gaussian_domain(0.1, 2.5).is_err());
}

#[test]
fn new_nonlinearities_need_gaussian_input() {
    let x = Array2::from_shape_fn((2, 3), |(i, j)| 0.3 + (i + j) as f64);
    for phi in [
        r#"{"type": "sin"}"#,
        r#"{"type": "sign"}"#,
        r#"{"type": "polynomial", "coef": [1, 2]}"#,
        r#"{"type": "exp_normalized"}"#,
        r#"{"type": "elementwise_numerical", "fn": "tanh", "degree": 8}"#,
    ] {
        // Two nonlinearities in a row: the second sees non-Gaussian input.
        let spec =
            format!(r#"{{"layers": [{{"type": "dense"}}, {phi}, {phi}, {{"type": "dense"}}]}}"#);
        let e = match Network::from_json(&spec) {
            Err(e) => e.to_string(),
            Ok(net) => net
                .gram_vectors(x.view(), None, &GramOptions::default())
                .unwrap_err()
                .to_string(),
        };
        assert!(
            e.contains("layer 2") && e.contains("not Gaussian"),
            "{phi}: {e}"
        );
    }
}
