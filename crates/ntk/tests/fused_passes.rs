//! Fused kernel passes: a stencil layer (`conv`, `lift_conv`, `group_conv`) and the
//! nonlinearity after it run in one sweep for cross pairs. An `identity` layer between them
//! stops the fusion, so each network is compared, bit for bit, with its twin that has one: the
//! fused sweep performs the same operations in the same order as the separate passes. A mean
//! pool after the nonlinearity (`global_avg_pool`, `group_pool`) folds into the sweep as running
//! sums; an `identity` before the pool stops that fold alone, and the result is again bitwise
//! the same (the sums take the values in the pool's order).

mod common;

use common::{gram, random_images, spec, SEED};
use entk_ntk::Network;
use ndarray::Array4;

/// The Gram matrices of `layers` and of the same layers with `identity` after every linear
/// layer are bitwise equal.
fn assert_fusion_exact(layers: &[&str], size: usize, channels: usize) {
    let x = random_images(4, size, channels, SEED);
    assert_unfused_exact(layers, &["conv", "lift_conv", "group_conv"], &x);
}

/// The Gram matrices of `layers` and of the same layers with `identity` after every layer of
/// one of the types `after` are bitwise equal, on the images `x`.
fn assert_unfused_exact(layers: &[&str], after: &[&str], x: &Array4<f64>) {
    let unfused: Vec<&str> = layers
        .iter()
        .flat_map(|l| {
            let linear = after
                .iter()
                .any(|t| l.contains(&format!(r#""type": "{t}""#)));
            std::iter::once(*l).chain(linear.then_some(r#"{"type": "identity"}"#))
        })
        .collect();
    assert!(
        unfused.len() > layers.len(),
        "no linear layer in {layers:?}"
    );
    let fused = gram(&Network::from_json(&spec(layers)).unwrap(), x);
    let plain = gram(&Network::from_json(&spec(&unfused)).unwrap(), x);
    for (name, a, b) in [("nngp", &fused.0, &plain.0), ("ntk", &fused.1, &plain.1)] {
        for ((i, j), v) in a.indexed_iter() {
            assert_eq!(
                v.to_bits(),
                b[[i, j]].to_bits(),
                "{name}[{i},{j}] of {layers:?}: fused {v:e}, separate passes {:e}",
                b[[i, j]]
            );
        }
    }
}

#[test]
fn conv_and_dual_in_one_sweep_are_bitwise_the_separate_passes() {
    assert_fusion_exact(
        &[
            r#"{"type": "conv", "filter": [3, 3], "padding": "same", "b_std": 0.3}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "conv", "filter": [3, 1], "padding": "circular"}"#,
            r#"{"type": "erf"}"#,
            r#"{"type": "conv", "filter": [1, 3], "padding": "valid", "w_std": 1.3}"#,
            r#"{"type": "gelu"}"#,
            r#"{"type": "global_avg_pool"}"#,
            r#"{"type": "dense"}"#,
        ],
        7,
        2,
    );
}

#[test]
fn group_convs_and_dual_in_one_sweep_are_bitwise_the_separate_passes() {
    // C4 and D4: the relative layout; C8: the full layout with interpolated filters.
    for group in ["c4", "d4", "c8"] {
        let lift = format!(
            r#"{{"type": "lift_conv", "group": "{group}", "filter": 3, "padding": "same"}}"#
        );
        let gconv = format!(
            r#"{{"type": "group_conv", "group": "{group}", "filter": 3, "padding": "same", "group_support": "all", "b_std": 0.2}}"#
        );
        assert_fusion_exact(
            &[
                &lift,
                r#"{"type": "relu"}"#,
                &gconv,
                r#"{"type": "abrelu", "a": -0.2, "b": 1.0}"#,
                r#"{"type": "group_pool"}"#,
                r#"{"type": "dense"}"#,
            ],
            5,
            1,
        );
    }
}

#[test]
fn strided_convs_keep_the_dual_as_its_own_pass() {
    assert_fusion_exact(
        &[
            r#"{"type": "conv", "filter": [3, 3], "padding": "same", "strides": [2, 2]}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "valid", "strides": [2, 2]}"#,
            r#"{"type": "erf"}"#,
            r#"{"type": "group_pool"}"#,
            r#"{"type": "dense"}"#,
        ],
        9,
        1,
    );
}

#[test]
fn chunked_duals_fuse_bitwise() {
    // The polynomial and rectified-monomial duals run in chunks of lanes; the fused sweep
    // gathers the 5-entry rows into runs of at least 64 entries, and a run's last chunk is
    // padded.
    assert_fusion_exact(
        &[
            r#"{"type": "conv", "filter": [3, 3], "padding": "same", "b_std": 0.1}"#,
            r#"{"type": "polynomial", "coef": [0.1, 0.9, 0.2, -0.05]}"#,
            r#"{"type": "conv", "filter": [3, 3], "padding": "circular"}"#,
            r#"{"type": "rectified_monomial", "degree": 3}"#,
            r#"{"type": "global_avg_pool"}"#,
            r#"{"type": "dense"}"#,
        ],
        5,
        2,
    );
}

#[test]
fn pooling_after_the_dual_as_running_sums_is_bitwise_the_pool() {
    // Only the fold of the pool is stopped (identity after the nonlinearity), for pixel and
    // group features, relative (C4) and full (C8) layouts, output planes whose sizes are not
    // multiples of the pool's eight partial sums (5×5 → planes of 25 values, 3×3 → planes of 9;
    // blocks of 625 and 81), so the running sums take each plane across the sums' lanes.
    let nets: Vec<(Vec<String>, usize)> = vec![
        (
            vec![
                r#"{"type": "conv", "filter": [3, 3], "padding": "same"}"#.into(),
                r#"{"type": "relu"}"#.into(),
                r#"{"type": "conv", "filter": [3, 3], "padding": "same", "b_std": 0.4}"#.into(),
                r#"{"type": "erf"}"#.into(),
                r#"{"type": "global_avg_pool"}"#.into(),
                r#"{"type": "dense"}"#.into(),
            ],
            5,
        ),
        (
            vec![
                r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "valid"}"#.into(),
                r#"{"type": "relu"}"#.into(),
                r#"{"type": "group_pool"}"#.into(),
                r#"{"type": "dense"}"#.into(),
            ],
            5,
        ),
    ];
    let mut nets = nets;
    for group in ["c4", "d4", "c8"] {
        nets.push((
            vec![
                format!(r#"{{"type": "lift_conv", "group": "{group}", "filter": 3, "padding": "valid"}}"#),
                r#"{"type": "relu"}"#.into(),
                format!(r#"{{"type": "group_conv", "group": "{group}", "filter": 3, "padding": "valid", "group_support": "all", "b_std": 0.1}}"#),
                r#"{"type": "gelu"}"#.into(),
                r#"{"type": "group_pool"}"#.into(),
                r#"{"type": "dense"}"#.into(),
                r#"{"type": "relu"}"#.into(),
                r#"{"type": "dense"}"#.into(),
            ],
            7,
        ));
    }
    for (layers, size) in &nets {
        let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
        let phis = ["relu", "erf", "gelu"];
        let x = random_images(4, *size, 2, SEED);
        assert_unfused_exact(&layers, &phis, &x);
        // And against the fully unfused passes.
        let mut all = phis.to_vec();
        all.extend(["conv", "lift_conv", "group_conv"]);
        assert_unfused_exact(&layers, &all, &x);
    }
}

#[test]
fn long_rows_and_strided_pools_fuse_bitwise() {
    // 1×70 images: each output plane is 70×70 values (padded rows of 72), which the fused sweep
    // runs through the dual whole, here with the pool folded in, and with chunked duals.
    let wide = Array4::from_shape_fn((4, 1, 70, 2), |(b, _, j, c)| {
        ((13 * b + 7 * j + 3 * c) as f64 * 0.37).sin()
    });
    let layers = [
        r#"{"type": "conv", "filter": [1, 3], "padding": "same", "b_std": 0.2}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "conv", "filter": [1, 3], "padding": "circular"}"#,
        r#"{"type": "rectified_monomial", "degree": 2}"#,
        r#"{"type": "global_avg_pool"}"#,
        r#"{"type": "dense"}"#,
    ];
    assert_unfused_exact(&layers, &["relu", "rectified_monomial"], &wide);
    assert_unfused_exact(&layers, &["conv"], &wide);
    // A strided conv keeps its dual and the global mean pool after it as separate passes.
    assert_fusion_exact(
        &[
            r#"{"type": "conv", "filter": [3, 3], "padding": "same", "strides": [2, 2]}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "global_avg_pool"}"#,
            r#"{"type": "dense"}"#,
        ],
        7,
        2,
    );
}

#[test]
fn non_square_images_fuse_bitwise() {
    // 4×6 images: planes of 6×6 values in padded rows of 8 or 10 (filters 3 and 5 wide), on
    // 4×4 position pairs, each padding, with the pool folded in.
    let x = Array4::from_shape_fn((4, 4, 6, 2), |(b, i, j, c)| {
        ((11 * b + 5 * i + 3 * j + 7 * c) as f64 * 0.29).cos()
    });
    let mut layers = Vec::new();
    for (filter, padding, dual) in [
        ("[3, 3]", "same", "relu"),
        ("[3, 5]", "circular", "erf"),
        ("[3, 3]", "valid", "gelu"),
    ] {
        layers.push(format!(
            r#"{{"type": "conv", "filter": {filter}, "padding": "{padding}", "b_std": 0.2}}"#
        ));
        layers.push(format!(r#"{{"type": "{dual}"}}"#));
    }
    layers.extend([r#"{"type": "global_avg_pool"}"#, r#"{"type": "dense"}"#].map(String::from));
    let layers: Vec<&str> = layers.iter().map(String::as_str).collect();
    assert_unfused_exact(&layers, &["relu", "erf", "gelu"], &x);
    assert_unfused_exact(&layers, &["conv"], &x);
}
