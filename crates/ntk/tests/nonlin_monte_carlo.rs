//! docs/theory.md#tested-properties, property 8 for the closed-form and numerical nonlinearities: the mean empirical
//! NNGP/NTK of finite-width twins (`apply`/`vjp` of each layer) agrees with the analytic kernel
//! within 4 standard errors of the Monte-Carlo mean plus a finite-width bias allowance
//! `2/width` (relative); the standard error is the sample standard deviation over `samples`
//! independent initialisations divided by √samples.

mod common;
use common::*;
use entk_ntk::finite::monte_carlo_gram;
use entk_ntk::{ArchSpec, Network};

fn check(phi: &str, width: usize, samples: usize) {
    let spec = ArchSpec::from_json(&spec(&[
        r#"{"type": "conv", "filter": 3, "padding": "same", "w_std": 1.1, "b_std": 0.1}"#,
        phi,
        r#"{"type": "conv", "filter": 3, "padding": "same"}"#,
        phi,
        r#"{"type": "global_avg_pool"}"#,
        r#"{"type": "dense"}"#,
    ]))
    .unwrap();
    let x = random_images(2, 3, 2, SEED);
    let (nngp, ntk) = gram(&Network::from_spec(&spec).unwrap(), &x);
    let mc = monte_carlo_gram(&spec, width, samples, SEED, x.view(), None).unwrap();
    let mut worst_z = 0.0f64;
    for (name, mean, se, exact) in [
        ("nngp", &mc.nngp, &mc.nngp_stderr, &nngp),
        ("ntk", &mc.ntk, &mc.ntk_stderr, &ntk),
    ] {
        for ((m, s), e) in mean.iter().zip(se.iter()).zip(exact.iter()) {
            let allowed = 4.0 * s + 2.0 / width as f64 * e.abs() + 1e-12;
            worst_z = worst_z.max((m - e).abs() / s.max(1e-300));
            assert!(
                (m - e).abs() <= allowed,
                "{phi} {name}: Monte-Carlo mean {m} ± {s} (width {width}, {samples} samples), analytic {e}"
            );
        }
    }
    println!(
        "{phi}: width {width}, {samples} samples, worst |mean − analytic|/stderr {worst_z:.2}"
    );
}

#[test]
fn finite_twins_of_the_closed_forms_converge_to_their_kernels() {
    for phi in [
        r#"{"type": "sin", "a": 1.3, "b": 0.7, "c": 0.4}"#,
        r#"{"type": "cos", "a": 0.9, "b": 1.1, "c": 0.2}"#,
        r#"{"type": "rbf", "gamma": 0.6}"#,
        r#"{"type": "gaussian", "a": 1.2, "b": -0.8}"#,
        r#"{"type": "exp", "a": 0.7, "b": 0.4}"#,
        r#"{"type": "sign"}"#,
        r#"{"type": "abs"}"#,
        r#"{"type": "monomial", "degree": 2}"#,
        r#"{"type": "rectified_monomial", "degree": 2}"#,
        r#"{"type": "polynomial", "coef": [0.3, -0.5, 0.2, 0.1]}"#,
        r#"{"type": "hermite", "degree": 3}"#,
        r#"{"type": "exp_normalized", "gamma": 1.2}"#,
    ] {
        check(phi, 64, 160);
    }
}

#[test]
fn finite_twins_of_the_numerical_nonlinearities_converge_to_their_kernels() {
    for f in [
        "tanh", "sigmoid", "softplus", "silu", "elu", "selu", "mish", "softsign", "gelu",
    ] {
        check(
            &format!(r#"{{"type": "elementwise_numerical", "fn": "{f}", "degree": 40}}"#),
            64,
            160,
        );
    }
}
