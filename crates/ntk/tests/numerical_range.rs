//! Hostile sizes and scales: impossible sizes are refused before anything is allocated, and
//! no NaN, Inf or negative self-kernel is ever returned as a result. Homogeneous (bias-free,
//! ReLU-like) networks are computed exactly at any input scale.

use std::time::Instant;

use entk_ntk::{GramOptions, Network, NtkError};
use ndarray::Array4;

mod common;

fn images(n: usize, side: usize, c: usize) -> Array4<f64> {
    Array4::from_shape_fn((n, side, side, c), |(b, h, w, k)| {
        ((0.7 * h as f64 + 1.3 * w as f64 + b as f64 + 0.3 * k as f64).sin()) + 0.1 * (h * w) as f64
    })
}

const RELU_CNN: &str = r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "global_avg_pool"}, {"type": "dense"}]}"#;

fn gram(spec: &str, x: &Array4<f64>) -> Result<entk_ntk::Gram, NtkError> {
    Network::from_json(spec)
        .unwrap()
        .gram(x.view(), None, &GramOptions::default())
}

#[test]
fn bias_free_relu_networks_are_exact_at_extreme_input_scales() {
    let x = images(3, 5, 2);
    let reference = gram(RELU_CNN, &x).unwrap();
    // K(c·x, c·x′) = c²·K(x, x′) for bias-free ReLU networks (docs/theory.md#nonlinearities-dual-activations: the arc-cosine dual
    // is positively homogeneous). Before rescaling, 1e100 overflowed and 1e-100 underflowed to
    // a 100 % wrong kernel.
    for c in [1e100, 1e-100, 1e150, 1e-150, 3e40] {
        let g = gram(RELU_CNN, &x.mapv(|v| v * c)).unwrap();
        let (a, b) = (g.nngp.mapv(|v| v / (c * c)), g.ntk.mapv(|v| v / (c * c)));
        assert!(
            common::rel_err(&a, &reference.nngp) < 1e-12,
            "scale {c}: NNGP"
        );
        assert!(
            common::rel_err(&b, &reference.ntk) < 1e-12,
            "scale {c}: NTK"
        );
    }
    // Mixed scales within one Gram matrix: K(a·x, b·x′) = a·b·K(x, x′).
    let mut y = x.clone();
    y.index_axis_mut(ndarray::Axis(0), 1)
        .mapv_inplace(|v| v * 1e120);
    let g = gram(RELU_CNN, &y).unwrap();
    let factor = [1.0, 1e120, 1.0];
    for i in 0..3 {
        for j in 0..3 {
            let want = reference.ntk[[i, j]] * factor[i] * factor[j];
            assert!(((g.ntk[[i, j]] - want) / want).abs() < 1e-12, "({i},{j})");
        }
    }
}

#[test]
fn overflowing_kernels_are_an_error_naming_the_layer_not_a_result() {
    // The erf NTK at input scale 1e8 overflowed to Inf (the 1/√((1+2k11)(1+2k22)−4k12²) factor).
    let erf = r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "erf"},
        {"type": "global_avg_pool"}, {"type": "dense"}]}"#;
    match gram(erf, &images(2, 5, 1).mapv(|v| v * 1e200)) {
        Err(NtkError::Numerical(msg)) => {
            assert!(!msg.contains('\n'));
            assert!(msg.contains("largest |x|"), "{msg}");
        }
        Ok(g) => assert!(
            g.ntk.iter().chain(&g.nngp).all(|v| v.is_finite()),
            "non-finite result returned"
        ),
        Err(e) => panic!("unexpected error {e}"),
    }
    // Huge w_std: the kernel overflows inside the network; the message names where.
    let huge = r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same", "w_std": 1e160, "b_std": 1.0},
        {"type": "relu"}, {"type": "conv", "filter": 3, "padding": "same", "w_std": 1e160},
        {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#;
    let e = gram(huge, &images(2, 5, 1)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, NtkError::Numerical(_)), "{msg}");
    assert!(msg.contains("at layer"), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn the_gelu_ntk_never_reports_a_negative_self_kernel() {
    let gelu = r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "gelu"},
        {"type": "global_avg_pool"}, {"type": "dense"}]}"#;
    for c in [1.0, 1e3, 1e6, 1e9] {
        match gram(gelu, &images(3, 5, 1).mapv(|v| v * c)) {
            Ok(g) => {
                for i in 0..3 {
                    assert!(g.ntk[[i, i]] >= 0.0 && g.nngp[[i, i]] >= 0.0, "scale {c}");
                }
            }
            Err(NtkError::Numerical(_)) => {}
            Err(e) => panic!("scale {c}: unexpected {e}"),
        }
    }
}

#[test]
fn zero_channel_inputs_are_refused() {
    let e = gram(RELU_CNN, &Array4::zeros((2, 5, 5, 0))).unwrap_err();
    assert!(matches!(e, NtkError::Input { .. }), "{e}");
    assert!(e.to_string().contains("0 channels"), "{e}");
}

#[test]
fn impossible_sizes_are_refused_in_milliseconds() {
    let t = Instant::now();
    // (the layers of a spec, what its one-line refusal names)
    let bad = [
        (
            r#"{"type": "lift_conv", "group": "é4", "filter": 3}"#,
            "unknown group",
        ),
        (
            r#"{"type": "lift_conv", "group": "c18446744073709551615", "filter": 3}"#,
            "at most 1024",
        ),
        (
            r#"{"type": "lift_conv", "group": "d9223372036854775808", "filter": 3}"#,
            "at most 1024",
        ),
        (
            r#"{"type": "lift_conv", "group": "c5000000000", "filter": 3}"#,
            "at most 1024",
        ),
        (
            r#"{"type": "lift_conv", "group": "c1000000", "filter": 3}"#,
            "at most 1024",
        ),
        (
            r#"{"type": "lift_conv", "group": "d1000", "filter": 3}"#,
            "at most 1024",
        ),
        (r#"{"type": "conv", "filter": 100001}"#, "too large"),
        (
            r#"{"type": "lift_conv", "group": "c8", "filter": 301}"#,
            "GiB",
        ),
        (
            r#"{"type": "dense"}, {"type": "fan_out", "n": 1000000000000}"#,
            "1..=1024",
        ),
        (
            r#"{"type": "dense"}, {"type": "gelu", "degree": 1000000000000}"#,
            "1..=1000",
        ),
        (
            r#"{"type": "s2_lift_conv", "bandlimit_out": 1000000000}"#,
            "1..=64",
        ),
        (
            r#"{"type": "s2_lift_conv", "bandlimit_out": 2, "max_beta": 1e-9}"#,
            "max_beta",
        ),
        (r#"{"type": "dense", "width": 1000000000000}"#, "width"),
    ];
    for (layers, needle) in bad {
        let spec = common::spec(&[layers]);
        let e = Network::from_json(&spec).unwrap_err();
        common::assert_one_line_error(&e, needle, &spec);
    }
    assert!(
        t.elapsed().as_secs_f64() < 5.0,
        "refusals must not compute anything"
    );
}

#[test]
fn a_huge_group_that_parses_is_refused_by_the_memory_estimate_before_allocating() {
    // c1000 has 1000 elements: its kernel on 8×8 images would hold 1000²·8⁴ values per pair.
    let net = Network::from_json(
        r#"{"layers": [{"type": "lift_conv", "group": "c1000", "filter": 1, "padding": "same"},
            {"type": "relu"}, {"type": "group_pool"}, {"type": "dense"}]}"#,
    );
    let net = match net {
        Ok(n) => n,
        Err(e) => {
            // Refused at construction (stencil tables) is fine too.
            assert!(
                e.to_string().contains("GiB") || e.to_string().contains("elements"),
                "{e}"
            );
            return;
        }
    };
    let e = net
        .gram(images(1, 8, 1).view(), None, &GramOptions::default())
        .unwrap_err();
    assert!(matches!(e, NtkError::OutOfMemory { .. }), "{e}");
}

#[test]
fn parameterization_and_padding_names_are_case_insensitive_alike() {
    let a = Network::from_json(
        r#"{"parameterization": "NTK", "layers": [{"type": "conv", "filter": 3, "padding": "SAME"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert!(a.is_ok());
    let b =
        Network::from_json(r#"{"parameterization": "Standard", "layers": [{"type": "dense"}]}"#);
    assert!(b.is_ok());
}
