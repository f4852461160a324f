//! A Gram matrix computed block by block ([`entk_ntk::GramBlocks`], the tiles of `entk kernel`):
//! every block is bit for bit [`Network::gram_features`] of its inputs, whatever the order in
//! which blocks are asked for (so whether an input's self pass was already shared or not), for
//! a network with per-input summaries (S² lifting), one without (a C4 GCNN), a homogeneous one
//! with inputs of extreme scale (rescaled, not shared), and two input sets.

use std::sync::atomic::{AtomicUsize, Ordering};

use entk_ntk::{image_features, Features, GramOptions, Network};
use ndarray::Array3;

fn features(n: usize, h: usize, w: usize, c: usize, seed: f64, scale: f64) -> Vec<Features> {
    (0..n)
        .map(|b| {
            let x = Array3::from_shape_fn((h, w, c), |(i, j, k)| {
                scale * ((b * 31 + i * 7 + j * 3 + k) as f64 * 0.37 + seed).sin()
            });
            image_features(x.view())
        })
        .collect()
}

const SO3: &str = r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 2}, {"type": "erf"},
    {"type": "so3_conv", "bandlimit_out": 2}, {"type": "erf"}, {"type": "so3_pool"}, {"type": "dense"}]}"#;
const C4: &str = r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"},
    {"type": "relu"}, {"type": "group_pool"}, {"type": "dense"}]}"#;

/// Every block of a `tile`-edged grid over `x1` (against `x2`), in `order`, equals the engine's
/// Gram of that block; and the progress of a block ends at its unit count.
fn check_blocks(net: &Network, x1: &[Features], x2: Option<&[Features]>, tile: usize, rev: bool) {
    let opts = GramOptions {
        threads: 2,
        ..GramOptions::default()
    };
    let blocks = net.gram_blocks(x1, x2, 2).unwrap();
    let (n1, n2) = (x1.len(), x2.map_or(x1.len(), <[Features]>::len));
    let mut ids: Vec<(usize, usize)> = (0..n1.div_ceil(tile))
        .flat_map(|r| (0..n2.div_ceil(tile)).map(move |c| (r, c)))
        .filter(|&(r, c)| x2.is_some() || c >= r)
        .collect();
    if rev {
        ids.reverse();
    }
    for (r, c) in ids {
        let rows = r * tile..((r + 1) * tile).min(n1);
        let cols = c * tile..((c + 1) * tile).min(n2);
        let symmetric = x2.is_none() && r == c;
        let want = if symmetric {
            net.gram_features(&x1[rows.clone()], None, &opts).unwrap()
        } else {
            let other = &x2.unwrap_or(x1)[cols.clone()];
            net.gram_features(&x1[rows.clone()], Some(other), &opts)
                .unwrap()
        };
        let last = AtomicUsize::new(0);
        let progress = |done: usize, total: usize| {
            assert!(done <= total);
            last.fetch_max(done, Ordering::Relaxed);
        };
        let got = blocks
            .block(
                rows.clone(),
                cols.clone(),
                &GramOptions {
                    progress: Some(&progress),
                    ..opts
                },
            )
            .unwrap();
        assert_eq!(got, want, "block ({r}, {c}) bit for bit");
        let units = if symmetric {
            rows.len() * (rows.len() + 1) / 2
        } else {
            rows.len() + cols.len() + rows.len() * cols.len()
        };
        assert_eq!(
            last.load(Ordering::Relaxed),
            units,
            "block ({r}, {c}) units"
        );
    }
}

#[test]
fn blocks_equal_the_engine_gram_of_each_block() {
    let so3 = Network::from_json(SO3).unwrap();
    let s2 = features(7, 4, 3, 2, 0.1, 1.0);
    let s2b = features(5, 4, 3, 2, 0.9, 1.0);
    let c4 = Network::from_json(C4).unwrap();
    let img = features(6, 5, 5, 1, 0.3, 1.0);
    let huge = features(6, 5, 5, 1, 0.3, 1e100);
    for rev in [false, true] {
        check_blocks(&so3, &s2, None, 3, rev);
        check_blocks(&so3, &s2, Some(&s2b), 2, rev);
        check_blocks(&c4, &img, None, 4, rev);
        check_blocks(&c4, &huge, None, 4, rev);
    }
}

#[test]
fn blocks_report_bad_input_as_the_engine_does() {
    let net = Network::from_json(C4).unwrap();
    let x = features(4, 5, 5, 1, 0.3, 1.0);
    let y = features(2, 6, 6, 1, 0.3, 1.0);
    let opts = GramOptions::default();
    let blocks = net.gram_blocks(&x, Some(&y), 1).unwrap();
    let got = blocks.block(0..2, 0..2, &opts).unwrap_err().to_string();
    let want = net
        .gram_features(&x[0..2], Some(&y[0..2]), &opts)
        .unwrap_err()
        .to_string();
    assert_eq!(got, want);
}
