//! Pools (`avg_pool`, `sum_pool`, `global_sum_pool`) and strided convolutions (issue 15), tested
//! three ways besides the neural-tangents goldens of `nt_goldens_layers.rs`:
//! exact identities (sum = window² × avg, symmetry/PSD, group invariance where the sampling grid
//! is centred and a clear violation where it is not, relative = full layout, finite = infinite
//! width for linear networks through the exact Jacobian), and Monte-Carlo agreement of the
//! finite twins within 4 standard errors plus a 1/width bias allowance.

mod common;
use common::*;
use entk_groups::CyclicGroup;
use entk_ntk::finite::empirical_kernel_pair;
use entk_ntk::layers::{same_padding, Geometry};
use entk_ntk::layers::{Conv, GroupConv, LiftConv, PoolKind, SpatialMap, WindowPool};
use entk_ntk::{
    Affine, Features, GramOptions, GroupInfo, GroupSupport, Layer, Network, Padding,
    Parameterization,
};
use ndarray::{s, Array2, Array4};

fn net(layers: &[&str]) -> Network {
    Network::from_json(&spec(layers)).unwrap()
}

/// `x` rotated by 90° (numpy.rot90(x, 1) on the spatial axes).
fn rot90(x: &Array4<f64>) -> Array4<f64> {
    let (n, h, w, c) = x.dim();
    assert_eq!(h, w);
    Array4::from_shape_fn((n, h, w, c), |(b, i, j, k)| x[[b, j, w - 1 - i, k]])
}

/// max |K(g·x1, x2) − K(x1, x2)| / |K(x1, x2)| over NNGP and NTK for two distinct images
/// (distinct, so no correlation-1 self pair, whose NTK dual amplifies rounding to ~1e-9).
fn invariance_defect(net: &Network, x: &Array4<f64>) -> f64 {
    let (x1, x2) = (pick(x, 0), pick(x, 1));
    let o = GramOptions::default();
    let a = net.gram(x1.view(), Some(x2.view()), &o).unwrap();
    let b = net.gram(rot90(&x1).view(), Some(x2.view()), &o).unwrap();
    let d = |p: &Array2<f64>, q: &Array2<f64>| (p[[0, 0]] - q[[0, 0]]).abs() / p[[0, 0]].abs();
    d(&a.nngp, &b.nngp).max(d(&a.ntk, &b.ntk))
}

#[test]
fn lax_same_rule_pads_eight_to_four_as_zero_one() {
    assert_eq!(same_padding(8, 3, 2), (4, 0, 1));
    assert_eq!(same_padding(9, 3, 2), (5, 1, 1));
    assert_eq!(same_padding(7, 3, 1), (7, 1, 1));
    assert_eq!(same_padding(5, 2, 3), (2, 0, 0));
}

#[test]
fn sum_pool_is_window_squared_times_avg_pool() {
    let x = random_images(3, 8, 2, SEED);
    let mut worst = 0.0f64;
    for pad in ["valid", "same", "circular"] {
        for (window, strides, win) in [("[2, 3]", "[2, 1]", 6.0), ("3", "2", 9.0)] {
            let pool = |kind: &str| {
                format!(
                    r#"{{"type": "{kind}", "window": {window}, "strides": {strides}, "padding": "{pad}"}}"#
                )
            };
            for head in [
                [
                    r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.1}"#,
                    r#"{"type": "relu"}"#,
                ],
                [
                    r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}"#,
                    r#"{"type": "relu"}"#,
                ],
            ] {
                let tail = if head[0].contains("lift") {
                    r#"{"type": "group_pool"}"#
                } else {
                    r#"{"type": "flatten"}"#
                };
                let (a, b) = (pool("avg_pool"), pool("sum_pool"));
                let dense = r#"{"type": "dense", "w_std": 1.3}"#;
                let (ka, ta) = gram(&net(&[head[0], head[1], &a, tail, dense]), &x);
                let (ks, ts) = gram(&net(&[head[0], head[1], &b, tail, dense]), &x);
                let f = win * win;
                worst = worst
                    .max(rel_err(&(&ka * f), &ks))
                    .max(rel_err(&(&ta * f), &ts));
            }
        }
    }
    println!("sum_pool vs window²·avg_pool: worst relative error {worst:.1e}");
    assert!(worst <= 1e-13, "{worst:e}");
    // global_sum_pool = (H·W)² · global_avg_pool.
    let conv = r#"{"type": "conv", "filter": 3, "padding": "valid", "b_std": 0.2}"#;
    let [(ka, ta), (ks, ts)] = ["global_avg_pool", "global_sum_pool"].map(|pool| {
        let pool = format!(r#"{{"type": "{pool}"}}"#);
        gram(
            &net(&[conv, r#"{"type": "erf"}"#, &pool, r#"{"type": "dense"}"#]),
            &x,
        )
    });
    let f = 36.0 * 36.0;
    let e = rel_err(&(&ka * f), &ks).max(rel_err(&(&ta * f), &ts));
    assert!(e <= 1e-13, "global_sum_pool: {e:e}");
}

#[test]
fn pooled_and_strided_grams_are_symmetric_and_psd() {
    let x = random_images(5, 8, 2, SEED + 1);
    for layers in [
        vec![
            r#"{"type": "conv", "filter": 3, "padding": "same", "strides": 2, "b_std": 0.1}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "sum_pool", "window": [2, 1], "strides": [1, 2], "padding": "circular"}"#,
            r#"{"type": "flatten"}"#,
            r#"{"type": "dense"}"#,
        ],
        vec![
            r#"{"type": "lift_conv", "group": "d4", "filter": 3, "padding": "valid", "strides": 2}"#,
            r#"{"type": "erf"}"#,
            r#"{"type": "avg_pool", "window": 2, "padding": "same", "normalize_edges": true}"#,
            r#"{"type": "group_conv", "filter": 3, "padding": "same", "strides": 2}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "group_pool"}"#,
            r#"{"type": "dense"}"#,
        ],
    ] {
        let (k, t) = gram(&net(&layers), &x);
        for m in [&k, &t] {
            assert_eq!(m, &m.t().to_owned(), "exactly symmetric");
            let scale = m.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            assert!(
                min_eigenvalue(m) >= -1e-12 * scale,
                "PSD: min eig {}",
                min_eigenvalue(m)
            );
        }
    }
}

/// `(strided lift, pool)` settings on `n×n` images: (description, layers, keeps invariance).
fn invariance_cases(n: usize) -> Vec<(String, Vec<String>, bool)> {
    let lift = |pad: &str, s: usize| {
        format!(
            r#"{{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "{pad}", "strides": {s}, "b_std": 0.1}}"#
        )
    };
    let pool = |pad: &str, s: usize| {
        format!(r#"{{"type": "avg_pool", "window": 3, "strides": {s}, "padding": "{pad}"}}"#)
    };
    let g = |(h, w): (usize, usize), pad: Padding, s: usize| {
        SpatialMap::strided(&Geometry::new(h, w, 3, 3, pad).unwrap(), (s, s))
            .is_none_or(|m| m.keeps_rotations())
    };
    let p = |pad: Padding, s: usize| {
        WindowPool::new(PoolKind::Avg, (3, 3), (s, s), pad, false)
            .unwrap()
            .map(n, n)
            .unwrap()
            .keeps_rotations()
    };
    let mut v = Vec::new();
    for (name, pad) in [
        ("same", Padding::Same),
        ("valid", Padding::Valid),
        ("circular", Padding::Circular),
    ] {
        v.push((
            format!("lift {name} stride 2"),
            vec![lift(name, 2), pool("valid", 1)],
            g((n, n), pad, 2),
        ));
        v.push((
            format!("pool {name} stride 2"),
            vec![lift("same", 1), pool(name, 2)],
            p(pad, 2),
        ));
    }
    v
}

#[test]
fn strides_keep_invariance_exactly_when_the_grid_is_centred_and_break_it_otherwise() {
    let tail = [
        r#"{"type": "relu"}"#.to_string(),
        r#"{"type": "group_conv", "filter": 3, "padding": "same"}"#.to_string(),
        r#"{"type": "relu"}"#.to_string(),
        r#"{"type": "group_pool"}"#.to_string(),
        r#"{"type": "dense"}"#.to_string(),
    ];
    let (mut kept, mut broken) = (0, 0);
    for n in [9, 8] {
        let x = random_images(2, n, 1, SEED + n as u64);
        for (name, head, keeps) in invariance_cases(n) {
            let layers: Vec<&str> = head
                .iter()
                .map(String::as_str)
                .take(1)
                .chain(tail[..1].iter().map(String::as_str))
                .chain(head[1..].iter().map(String::as_str))
                .chain(tail[1..].iter().map(String::as_str))
                .collect();
            let d = invariance_defect(&net(&layers), &x);
            println!(
                "{n}×{n} {name}: keeps rotations = {keeps}, |K(g·x1, x2) − K(x1, x2)|/K = {d:.2e}"
            );
            if keeps {
                assert!(
                    d <= 1e-12,
                    "{n}×{n} {name}: invariance should hold, defect {d:e}"
                );
                kept += 1;
            } else {
                assert!(
                    d >= 1e-4,
                    "{n}×{n} {name}: expected a clear violation, defect {d:e}"
                );
                broken += 1;
            }
        }
    }
    // 9×9: every setting is centred; 8×8: SAME and CIRCULAR pad (0, 1), VALID (8 − 3) mod 2 = 1.
    assert_eq!((kept, broken), (6, 6));
}

fn images(s: usize, c: usize) -> (Features, Features) {
    let x = random_images(2, s, c, SEED);
    let f = |i: usize| {
        Features::image(
            s,
            s,
            c,
            x.slice(s![i, .., .., ..]).iter().copied().collect(),
        )
        .unwrap()
    };
    (f(0), f(1))
}

/// Exact Jacobian kernels of a linear network vs the analytic ones (full layouts).
fn exact_linear(name: &str, layers: Vec<Box<dyn Layer>>, x1: &Features, x2: &Features) -> f64 {
    let net = Network::new(layers);
    let analytic = net.kernel_pair_features(x1, x2).unwrap().to_full();
    let params = net.init_seeded(&x1.sig, SEED).unwrap();
    let emp = empirical_kernel_pair(&net, &params, x1, x2).unwrap();
    assert_eq!(analytic.layout, emp.layout, "{name}");
    // f = Jθ with θ ~ N(0, I): E[f f′] = J J′ᵀ = the empirical NTK; Θ = K for linear networks.
    let e = rel_err(&emp.ntk, &analytic.nngp).max(rel_err(&emp.ntk, &analytic.ntk));
    assert!(e <= 1e-12, "{name}: {e:e}");
    e
}

#[test]
fn linear_strided_and_pooled_networks_finite_equal_infinite() {
    let (x1, x2) = images(7, 2);
    let a = Affine {
        w_std: 1.1,
        b_std: 0.3,
        width: 3,
        param: Parameterization::Ntk,
    };
    let c4 = CyclicGroup::new(4).unwrap();
    let c8 = CyclicGroup::new(8).unwrap();
    let mut worst = 0.0f64;
    for pad in [Padding::Same, Padding::Valid, Padding::Circular] {
        for strides in [(2, 1), (2, 2), (3, 2)] {
            let conv = || {
                Box::new(
                    Conv::new(3, 1, pad, a)
                        .unwrap()
                        .with_strides(strides)
                        .unwrap(),
                )
            };
            worst = worst.max(exact_linear(
                &format!("conv {pad:?} {strides:?}"),
                vec![conv()],
                &x1,
                &x2,
            ));
            let pool = WindowPool::new(PoolKind::Sum, (2, 3), strides, pad, false).unwrap();
            worst = worst.max(exact_linear(
                &format!("conv + sum_pool {pad:?} {strides:?}"),
                vec![conv(), Box::new(pool)],
                &x1,
                &x2,
            ));
        }
        for s in [2, 3] {
            let lift = LiftConv::new(c4, 3, pad, a)
                .unwrap()
                .with_strides((s, s))
                .unwrap();
            let avg =
                WindowPool::new(PoolKind::Avg, (2, 2), (s, s), pad, pad == Padding::Same).unwrap();
            worst = worst.max(exact_linear(
                &format!("c4 lift + avg_pool {pad:?} {s}"),
                vec![Box::new(lift), Box::new(avg)],
                &x1,
                &x2,
            ));
            for (group, name) in [(c4, "c4"), (c8, "c8")] {
                let info = std::sync::Arc::new(GroupInfo::new(&group).unwrap());
                let n = info.order * 7 * 7 * 2;
                let sig = |o: usize| {
                    (0..n)
                        .map(|i| ((i * 7 + o) as f64 * 0.37).sin())
                        .collect::<Vec<_>>()
                };
                let g1 = Features::group_signal(info.clone(), 7, 7, 2, sig(1)).unwrap();
                let g2 = Features::group_signal(info.clone(), 7, 7, 2, sig(5)).unwrap();
                let gc = GroupConv::new(group, 3, pad, GroupSupport::All, a)
                    .unwrap()
                    .with_strides((s, s))
                    .unwrap();
                worst = worst.max(exact_linear(
                    &format!("{name} group_conv {pad:?} {s}"),
                    vec![Box::new(gc)],
                    &g1,
                    &g2,
                ));
            }
        }
    }
    println!("linear strided/pooled networks: worst relative error {worst:.1e}");
}

#[test]
fn strided_relative_layout_equals_full_layout() {
    let (x1, x2) = images(9, 1);
    let c4 = CyclicGroup::new(4).unwrap();
    for pad in [Padding::Same, Padding::Valid, Padding::Circular] {
        let a = Affine::default();
        let mk = |full: bool| -> Vec<Box<dyn Layer>> {
            let l = LiftConv::new(c4, 3, pad, a).unwrap();
            let l = if full { l.with_full_kernel() } else { l };
            vec![
                Box::new(l.with_strides((2, 2)).unwrap()),
                Box::new(entk_ntk::layers::Elementwise::new(
                    entk_ntk::Nonlinearity::Relu,
                )),
                Box::new(WindowPool::new(PoolKind::Sum, (2, 2), (2, 2), pad, false).unwrap()),
            ]
        };
        let rel = Network::new(mk(false))
            .kernel_pair_features(&x1, &x2)
            .unwrap();
        let full = Network::new(mk(true))
            .kernel_pair_features(&x1, &x2)
            .unwrap();
        assert_eq!(rel.layout.kind(), "group_relative");
        let rel = rel.to_full();
        let e = rel_err(&rel.nngp, &full.nngp).max(rel_err(&rel.ntk, &full.ntk));
        assert!(e <= 1e-13, "{pad:?}: {e:e}");
    }
}

#[test]
fn finite_twins_of_pools_and_strided_convs_agree_in_monte_carlo() {
    let x = random_images(2, 8, 1, SEED + 7);
    let spec = spec(&[
        r#"{"type": "conv", "filter": 3, "padding": "same", "strides": 2, "b_std": 0.2}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "sum_pool", "window": 2, "strides": [1, 2], "padding": "same"}"#,
        r#"{"type": "conv", "filter": 3, "padding": "circular", "strides": [2, 1]}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "avg_pool", "window": 2, "padding": "valid"}"#,
        r#"{"type": "flatten"}"#,
        r#"{"type": "dense"}"#,
    ]);
    assert_finite_twins_agree(&spec, &x, 32, 150, 0.5);
}

#[test]
fn plan_counts_the_stride_one_kernel_of_strided_layers() {
    let n = net(&[
        r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same", "strides": 3}"#,
        r#"{"type": "group_pool"}"#,
        r#"{"type": "dense"}"#,
    ]);
    let plan = n.plan(&Network::image_signature(9, 9, 1)).unwrap();
    println!("{plan}");
    // relative layout: |G| = 4 blocks of the stride-1 9⁴ kernel, not of the 3⁴ output (four
    // arrays of it per worker), plus the 9⁴ input kernel (NNGP and NTK).
    assert_eq!(
        plan.bytes_per_pair,
        (4 * 8 * 4 * 9usize.pow(4) + 2 * 8 * 9usize.pow(4)) as u64
    );
}

#[test]
fn spec_pool_fields_old_and_new() {
    let gram_of = |pool: &str| {
        let x = random_images(2, 6, 1, SEED);
        gram(
            &net(&[
                r#"{"type": "conv", "filter": 3}"#,
                pool,
                r#"{"type": "flatten"}"#,
                r#"{"type": "dense"}"#,
            ]),
            &x,
        )
    };
    let old = gram_of(r#"{"type": "avg_pool", "window": 2, "stride": 2}"#);
    let new =
        gram_of(r#"{"type": "avg_pool", "window": [2, 2], "strides": [2, 2], "padding": "valid"}"#);
    assert_eq!(old, new);
    for (bad, says) in [
        (
            r#"{"type": "avg_pool", "window": 2, "stride": 2, "strides": 2}"#,
            "both `strides` and `stride`",
        ),
        (r#"{"type": "sum_pool", "window": 0}"#, "positive integer"),
        (
            r#"{"type": "sum_pool", "window": 2, "normalize_edges": true}"#,
            "unknown field `normalize_edges`",
        ),
        (r#"{"type": "avg_pool", "window": [2, 2, 2]}"#, "[h, w]"),
        (
            r#"{"type": "conv", "filter": 3, "strides": [1, 0]}"#,
            "positive integer",
        ),
        (
            r#"{"type": "avg_pool", "window": 2, "padding": "full"}"#,
            "unknown padding",
        ),
    ] {
        let e = Network::from_json(&spec(&[bad, r#"{"type": "dense"}"#]))
            .unwrap_err()
            .to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
    let e = net(&[
        r#"{"type": "avg_pool", "window": 9}"#,
        r#"{"type": "dense"}"#,
    ])
    .plan(&Network::image_signature(8, 8, 1))
    .unwrap_err()
    .to_string();
    assert!(e.contains("does not fit"), "{e}");
}
