//! The prepared-input path of the engine (the first layer's kernel built from per-input
//! summaries, [`entk_ntk::Layer::prepare_input`]) equals the input-kernel path (`K⁰` through
//! every layer's kernel map) to rounding: S² lifting from quadrature coefficients, and layers
//! that offer no summary, unchanged.

use entk_ntk::{image_features, Features, Kernel, Network};
use ndarray::Array3;

/// The kernel of a pair through `K⁰` and every layer's kernel map (no prepared summaries).
fn through_input_kernel(net: &Network, a: &Features, b: &Features) -> Kernel {
    let k0 = |x: &Features, y: &Features| Kernel::from_features(x, y).unwrap();
    let (_, r1) = net.self_kernel(k0(a, a)).unwrap();
    let (_, r2) = net.self_kernel(k0(b, b)).unwrap();
    net.cross_kernel(k0(a, b), &r1, &r2).unwrap()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn assert_close(got: &Kernel, want: &Kernel, tol: f64) {
    assert_eq!(got.layout, want.layout);
    for (g, w) in [(&got.nngp, &want.nngp), (&got.ntk, &want.ntk)] {
        let scale = max_abs(w);
        let err = g
            .iter()
            .zip(w)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            err <= tol * scale,
            "max deviation {err:e} at scale {scale:e}"
        );
    }
}

/// Smooth S² signals (low-degree polynomials in the unit vector plus a little of everything),
/// so that the input-kernel path suffers no cancellation and both paths are accurate.
fn sphere_signal(l: usize, channels: usize, seed: f64) -> Features {
    let (h, w) = (2 * l, 2 * l - 1);
    let x = Array3::from_shape_fn((h, w, channels), |(j, k, c)| {
        let theta = std::f64::consts::PI * (2 * j + 1) as f64 / (4 * l) as f64;
        let phi = std::f64::consts::TAU * k as f64 / w as f64;
        let (x, y, z) = (
            theta.sin() * phi.cos(),
            theta.sin() * phi.sin(),
            theta.cos(),
        );
        let c = c as f64;
        1.0 + seed * z + (0.5 - c) * x * y + 0.3 * c * x - 0.2 * seed * y * z
            + 0.01 * ((j * 7 + k * 3) as f64 + seed + c).sin()
    });
    image_features(x.view())
}

#[test]
fn s2_lifting_from_quadrature_coefficients_matches_the_input_kernel() {
    for spec in [
        r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 3}]}"#,
        r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 2, "b_std": 0.3}, {"type": "erf"},
            {"type": "so3_conv", "bandlimit_out": 2}, {"type": "erf"}]}"#,
        r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 3, "max_beta": 1.2}, {"type": "erf"},
            {"type": "so3_conv", "bandlimit_out": 3}, {"type": "erf"}, {"type": "so3_pool"}, {"type": "dense"}]}"#,
    ] {
        let net = Network::from_json(spec).unwrap();
        let (a, b) = (sphere_signal(4, 3, 0.7), sphere_signal(4, 3, -1.3));
        let prepared = net.kernel_pair_features(&a, &b).unwrap();
        let reference = through_input_kernel(&net, &a, &b);
        assert_close(&prepared, &reference, 1e-13);
    }
}

#[test]
fn gram_uses_the_same_kernels_as_single_pairs() {
    let net = Network::from_json(
        r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 2}, {"type": "erf"},
            {"type": "so3_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let xs: Vec<Features> = [0.4, -0.9, 1.6]
        .iter()
        .map(|s| sphere_signal(3, 2, *s))
        .collect();
    let g = net.gram_features(&xs, None, &Default::default()).unwrap();
    for i in 0..xs.len() {
        for j in 0..xs.len() {
            let k = through_input_kernel(&net, &xs[i], &xs[j]);
            let scale = g.nngp[[i, i]].abs().max(g.nngp[[j, j]].abs());
            assert!((g.nngp[[i, j]] - k.nngp[0]).abs() <= 1e-13 * scale);
            let scale = g.ntk[[i, i]].abs().max(g.ntk[[j, j]].abs());
            assert!((g.ntk[[i, j]] - k.ntk[0]).abs() <= 1e-13 * scale);
        }
    }
}

#[test]
fn layers_without_summaries_take_the_input_kernel_path() {
    let net = Network::from_json(
        r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"},
            {"type": "relu"}, {"type": "group_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let x = Array3::from_shape_fn((5, 5, 2), |(h, w, c)| {
        ((h * 5 + w) as f64 * 0.37 + c as f64).sin()
    });
    let y = x.map(|v| v * v - 0.3);
    let (a, b) = (image_features(x.view()), image_features(y.view()));
    let prepared = net.prepare_input(&a).unwrap();
    assert!(format!("{prepared:?}").contains("summarised: false"));
    let got = net.kernel_pair_features(&a, &b).unwrap();
    assert_eq!(got, through_input_kernel(&net, &a, &b));
}
