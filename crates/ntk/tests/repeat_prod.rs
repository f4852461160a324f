//! `repeat` and `fan_in_prod` (issue 15) besides their neural-tangents goldens: `repeat` equals
//! the explicit serial network (kernels bit for bit, finite twins with independent copies),
//! `fan_in_prod` obeys `K = Π K_i`, `Θ = Σ Θ_i Π_{j≠i} K_j` (checked by hand on an MLP), a single
//! branch is the identity, the output is refused by nonlinearities (not Gaussian), and its
//! finite twin agrees in Monte-Carlo within 4 standard errors plus a 1/width allowance.

mod common;
use common::*;
use entk_ntk::{GramOptions, Network};
use ndarray::Array2;

fn net(layers: &[&str]) -> Network {
    Network::from_json(&spec(layers)).unwrap()
}

#[test]
fn repeat_equals_the_explicit_serial_network() {
    let x = random_images(3, 6, 2, SEED);
    let block =
        r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.1}, {"type": "relu"}"#;
    let rep = format!(r#"{{"type": "repeat", "n": 3, "layers": [{block}]}}"#);
    let head = r#"{"type": "conv", "filter": 3, "padding": "same", "w_std": 1.2}"#;
    let tail = [r#"{"type": "global_avg_pool"}"#, r#"{"type": "dense"}"#];
    let a = net(&[head, r#"{"type": "relu"}"#, &rep, tail[0], tail[1]]);
    let b = net(&[
        head,
        r#"{"type": "relu"}"#,
        block,
        block,
        block,
        tail[0],
        tail[1],
    ]);
    assert_eq!(gram(&a, &x), gram(&b, &x), "bit for bit");
    // Finite twins: independent parameters per copy, same count as the explicit network.
    let sig = Network::image_signature(6, 6, 2);
    let (pa, pb) = (
        a.init_seeded(&sig, 1).unwrap(),
        b.init_seeded(&sig, 1).unwrap(),
    );
    assert_eq!(pa.count(), pb.count());
    assert_eq!(pa.flatten(), pb.flatten(), "same draws in the same order");
    let f = entk_ntk::image_features(x.index_axis(ndarray::Axis(0), 0));
    assert_eq!(
        a.apply(&pa, &f).unwrap().data,
        b.apply(&pb, &f).unwrap().data
    );
    for bad in [
        r#"{"type": "repeat", "n": 0, "layers": []}"#,
        r#"{"type": "repeat", "n": 2}"#,
    ] {
        assert!(
            Network::from_json(&spec(&[bad, r#"{"type": "dense"}"#])).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn fan_in_prod_multiplies_kernels_by_hand() {
    let x = Array2::from_shape_fn((3, 4), |(i, j)| ((i * 4 + j) as f64 * 0.7).sin());
    let (a, b1, b2, d) = (1.3, 0.8, 1.4, 0.9);
    let n = net(&[
        &format!(r#"{{"type": "dense", "w_std": {a}}}"#),
        r#"{"type": "fan_out", "n": 2}"#,
        &format!(
            r#"{{"type": "parallel", "branches": [[{{"type": "dense", "w_std": {b1}, "b_std": 0.2}}], [{{"type": "dense", "w_std": {b2}}}]]}}"#
        ),
        r#"{"type": "fan_in_prod"}"#,
        &format!(r#"{{"type": "dense", "w_std": {d}}}"#),
    ]);
    let g = n
        .gram_vectors(x.view(), None, &GramOptions::default())
        .unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let k0 = x.row(i).dot(&x.row(j)) / 4.0;
            let (k, t) = (a * a * k0, a * a * k0);
            let (k1, k2) = (b1 * b1 * k + 0.04, b2 * b2 * k);
            let (t1, t2) = (k1 + b1 * b1 * t, k2 + b2 * b2 * t);
            let (kp, tp) = (k1 * k2, t1 * k2 + k1 * t2);
            let (ko, to) = (d * d * kp, d * d * kp + d * d * tp);
            assert!(
                (g.nngp[[i, j]] - ko).abs() <= 1e-14 * ko.abs().max(1e-3),
                "K ({i},{j})"
            );
            assert!(
                (g.ntk[[i, j]] - to).abs() <= 1e-14 * to.abs().max(1e-3),
                "Θ ({i},{j})"
            );
        }
    }
    // One branch: the identity.
    let one = net(&[
        r#"{"type": "dense", "w_std": 1.3}"#,
        r#"{"type": "fan_out", "n": 1}"#,
        r#"{"type": "fan_in_prod"}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "dense"}"#,
    ]);
    let plain = net(&[
        r#"{"type": "dense", "w_std": 1.3}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "dense"}"#,
    ]);
    let o = GramOptions::default();
    assert_eq!(
        one.gram_vectors(x.view(), None, &o).unwrap().nngp,
        plain.gram_vectors(x.view(), None, &o).unwrap().nngp
    );
    // Two branches: not Gaussian, so a nonlinearity after it is refused.
    let e = Network::from_json(&spec(&[
        r#"{"type": "dense"}"#,
        r#"{"type": "fan_out", "n": 2}"#,
        r#"{"type": "parallel", "branches": [[{"type": "dense"}], [{"type": "dense"}]]}"#,
        r#"{"type": "fan_in_prod"}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "dense"}"#,
    ]))
    .and_then(|n| n.gram_vectors(x.view(), None, &o).map(|_| ()))
    .unwrap_err()
    .to_string();
    assert!(e.contains("not Gaussian"), "{e}");
}

#[test]
fn fan_in_prod_and_repeat_finite_twins_agree_in_monte_carlo() {
    let x = random_images(2, 3, 1, SEED + 2);
    let spec = spec(&[
        r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.2}"#,
        r#"{"type": "repeat", "n": 2, "layers": [{"type": "relu"}, {"type": "conv", "filter": 3, "padding": "same"}]}"#,
        r#"{"type": "fan_out", "n": 2}"#,
        r#"{"type": "parallel", "branches": [[{"type": "conv", "filter": 3, "padding": "same"}], [{"type": "relu"}, {"type": "conv", "filter": 3, "padding": "circular", "b_std": 0.3}]]}"#,
        r#"{"type": "fan_in_prod"}"#,
        r#"{"type": "flatten"}"#,
        r#"{"type": "dense"}"#,
    ]);
    assert_finite_twins_agree(&spec, &x, 64, 200, 1.0);
}
