//! `layer_norm` and `dropout` (issue 15) besides their neural-tangents goldens
//! (`nt_goldens_layers.rs`): exact identities, Gaussianity and spec checks, and Monte-Carlo
//! agreement of the finite twins within 4 standard errors plus a 1/width bias allowance.

mod common;
use common::*;
use entk_ntk::{GramOptions, Network};
use ndarray::Array4;

fn net(layers: &[&str]) -> Network {
    Network::from_json(&spec(layers)).unwrap()
}

fn rot90(x: &Array4<f64>) -> Array4<f64> {
    let (n, h, w, c) = x.dim();
    Array4::from_shape_fn((n, h, w, c), |(b, i, j, k)| x[[b, j, w - 1 - i, k]])
}

#[test]
fn layer_norm_gives_unit_self_correlations_and_is_scale_invariant() {
    let x = random_images(3, 6, 2, SEED);
    let n = net(&[
        r#"{"type": "conv", "filter": 3, "padding": "same", "w_std": 1.7}"#,
        r#"{"type": "layer_norm", "axis": -1, "eps": 0}"#,
        r#"{"type": "global_avg_pool"}"#,
        r#"{"type": "dense"}"#,
    ]);
    // Per-pixel normalisation: every self entry K(x, x)(p, p) = 1, so after the pool the
    // self kernel is the mean correlation ≤ 1 and scaling an input by any a > 0 changes nothing.
    let (k, t) = gram(&n, &x);
    let scaled = Array4::from_shape_fn(x.dim(), |(b, i, j, c)| x[[b, i, j, c]] * (0.3 + b as f64));
    let (ks, ts) = gram(&n, &scaled);
    assert!(rel_err(&ks, &k) <= 1e-13 && rel_err(&ts, &t) <= 1e-13);
    assert!(k.diag().iter().all(|v| *v <= 1.0 + 1e-15));
    // Normalising over everything: the self kernel before the pool averages to exactly 1.
    let all = net(&[
        r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.3}"#,
        r#"{"type": "layer_norm", "axis": [1, 2, 3], "eps": 0}"#,
        r#"{"type": "flatten"}"#,
        r#"{"type": "dense"}"#,
    ]);
    let (k, _) = gram(&all, &x);
    for v in k.diag() {
        assert!((v - 1.0).abs() <= 1e-14, "{v}");
    }
}

#[test]
fn layer_norm_keeps_group_invariance() {
    let x = random_images(2, 7, 1, SEED + 3);
    for axis in ["-1", "[1, 2, 3]", "[2, 3]"] {
        let ln = format!(r#"{{"type": "layer_norm", "axis": {axis}}}"#);
        let n = net(&[
            r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same", "b_std": 0.2}"#,
            &ln,
            r#"{"type": "relu"}"#,
            r#"{"type": "group_conv", "filter": 3, "padding": "same"}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "group_pool"}"#,
            r#"{"type": "dense"}"#,
        ]);
        let (x1, x2) = (pick(&x, 0), pick(&x, 1));
        let o = GramOptions::default();
        let a = n.gram(x1.view(), Some(x2.view()), &o).unwrap();
        let b = n.gram(rot90(&x1).view(), Some(x2.view()), &o).unwrap();
        let d = ((a.nngp[[0, 0]] - b.nngp[[0, 0]]) / a.nngp[[0, 0]])
            .abs()
            .max(((a.ntk[[0, 0]] - b.ntk[[0, 0]]) / a.ntk[[0, 0]]).abs());
        // [2, 3] normalises each row separately: rows are not rotation invariant.
        if axis == "[2, 3]" {
            assert!(d > 1e-4, "axis {axis}: expected a violation, got {d:e}");
        } else {
            assert!(d <= 1e-12, "axis {axis}: defect {d:e}");
        }
        println!("layer_norm axis {axis}: invariance defect {d:.2e}");
    }
}

#[test]
fn layer_norm_finite_twin_agrees_in_monte_carlo() {
    let x = random_images(2, 4, 1, SEED + 5);
    assert_finite_twins_agree(
        &spec(&[
            r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.2}"#,
            r#"{"type": "layer_norm", "axis": -1}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "conv", "filter": 3, "padding": "same", "w_std": 1.3}"#,
            r#"{"type": "layer_norm", "axis": [1, 2, 3]}"#,
            r#"{"type": "erf"}"#,
            r#"{"type": "global_avg_pool"}"#,
            r#"{"type": "dense"}"#,
        ]),
        &x,
        64,
        150,
        2.0,
    );
}

#[test]
fn dropout_scales_the_same_sample_diagonal_by_one_over_rate_and_nothing_else() {
    let x = random_images(4, 5, 2, SEED + 1);
    let base = [
        r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.1}"#,
        r#"{"type": "relu"}"#,
    ];
    let tail = [
        r#"{"type": "flatten"}"#,
        r#"{"type": "dense", "w_std": 1.2}"#,
    ];
    let plain = net(&[base[0], base[1], tail[0], tail[1]]);
    let rate = 0.6;
    let d = format!(r#"{{"type": "dropout", "rate": {rate}}}"#);
    let drop = net(&[base[0], base[1], &d, tail[0], tail[1]]);
    let (k0, t0) = gram(&plain, &x);
    let (k1, t1) = gram(&drop, &x);
    for i in 0..4 {
        for j in 0..4 {
            let f = if i == j { 1.0 / rate } else { 1.0 };
            for (a, b) in [(k1[[i, j]], k0[[i, j]]), (t1[[i, j]], t0[[i, j]])] {
                assert!(
                    (a - f * b).abs() <= 1e-14 * b.abs(),
                    "({i},{j}): {a} vs {f}·{b}"
                );
            }
        }
    }
    // Against a separate x2 (even equal to x1) nothing is scaled (neural-tangents' x1_is_x2).
    let o = GramOptions::default();
    let cross = drop.gram(x.view(), Some(x.view()), &o).unwrap();
    let plain_cross = plain.gram(x.view(), Some(x.view()), &o).unwrap();
    assert!(rel_err(&cross.nngp, &plain_cross.nngp) <= 1e-14);
    // test mode and rate 1 are the identity.
    for d in [
        r#"{"type": "dropout", "rate": 0.3, "mode": "test"}"#,
        r#"{"type": "dropout", "rate": 1}"#,
    ] {
        let (k, t) = gram(&net(&[base[0], base[1], d, tail[0], tail[1]]), &x);
        assert_eq!((k, t), (k0.clone(), t0.clone()));
    }
}

#[test]
fn dropout_finite_twin_agrees_in_monte_carlo() {
    let x = random_images(3, 3, 1, SEED + 9);
    assert_finite_twins_agree(
        &spec(&[
            r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.2}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "dropout", "rate": 0.5}"#,
            r#"{"type": "conv", "filter": 3, "padding": "same"}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "flatten"}"#,
            r#"{"type": "dropout", "rate": 0.7}"#,
            r#"{"type": "dense"}"#,
        ]),
        &x,
        64,
        200,
        1.0,
    );
}

#[test]
fn bad_norm_and_dropout_specs_are_refused_in_one_line() {
    let dense = r#"{"type": "dense"}"#;
    for (layers, says) in [
        (
            vec![r#"{"type": "dropout", "rate": 0.5}"#, dense],
            "network input",
        ),
        (
            vec![dense, r#"{"type": "dropout", "rate": 0}"#, dense],
            "keep probability",
        ),
        (
            vec![dense, r#"{"type": "dropout", "rate": 1.5}"#, dense],
            "keep probability",
        ),
        (vec![dense, r#"{"type": "dropout"}"#, dense], "needs `rate`"),
        (
            vec![
                dense,
                r#"{"type": "dropout", "rate": 0.5, "mode": "eval"}"#,
                dense,
            ],
            "unknown mode",
        ),
        (
            vec![
                dense,
                r#"{"type": "dropout", "rate": 0.5}"#,
                r#"{"type": "relu"}"#,
                dense,
            ],
            "not Gaussian",
        ),
        (
            vec![dense, r#"{"type": "layer_norm", "axis": "c"}"#, dense],
            "integer",
        ),
        (
            vec![dense, r#"{"type": "layer_norm", "eps": -1}"#, dense],
            "eps",
        ),
    ] {
        let e = Network::from_json(&spec(&layers))
            .and_then(|n| n.plan(&Network::image_signature(4, 4, 1)).map(|_| ()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says) && !e.contains('\n'), "{layers:?}: {e}");
    }
    let conv = r#"{"type": "conv", "filter": 3}"#;
    for (ln, says) in [
        (r#"{"type": "layer_norm", "axis": [1, 2]}"#, "channel axis"),
        (r#"{"type": "layer_norm", "axis": [0, 3]}"#, "batch axis"),
        (r#"{"type": "layer_norm", "axis": 4}"#, "out of range"),
    ] {
        let e = net(&[conv, ln, r#"{"type": "flatten"}"#, dense])
            .plan(&Network::image_signature(5, 5, 1))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{ln}: {e}");
    }
    let e = net(&[r#"{"type": "layer_norm"}"#, dense])
        .plan(&Network::image_signature(5, 5, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not Gaussian"), "{e}");
}
