#![allow(missing_docs)]
//! `ntk/so3_ntk_n16_L6`: NTK + NNGP Gram of 16 random S² signals with 10 channels at L = 6 for
//! `s2_lift_conv (6→3) – erf – so3_conv (3→3) – erf – so3_pool – dense` (the issue's target:
//! ≤ 50 ms on a 2-core machine; the authors' JAX code takes ≈0.5 s warm).

use criterion::{criterion_group, criterion_main, Criterion};
use entk_ntk::{GramOptions, Network};
use ndarray::Array4;

const SPEC: &str = r#"{"layers": [
    {"type": "s2_lift_conv", "bandlimit_out": 3}, {"type": "erf"},
    {"type": "so3_conv", "bandlimit_out": 3}, {"type": "erf"},
    {"type": "so3_pool"}, {"type": "dense"}]}"#;

fn inputs(n: usize, l: usize, channels: usize) -> Array4<f64> {
    Array4::from_shape_fn((n, 2 * l, 2 * l - 1, channels), |(b, j, k, c)| {
        ((b * 7919 + j * 104729 + k * 1299709 + c * 15485863) as f64 * 0.61803398875).sin()
    })
}

fn so3_gram(c: &mut Criterion) {
    let net = Network::from_json(SPEC).unwrap();
    let x = inputs(16, 6, 10);
    let opts = GramOptions {
        threads: 2,
        ..Default::default()
    };
    let _ = net.gram(x.view(), None, &opts).unwrap(); // build operator caches once
    let mut group = c.benchmark_group("ntk");
    group.sample_size(20);
    group.bench_function("so3_ntk_n16_L6", |b| {
        b.iter(|| net.gram(x.view(), None, &opts).unwrap())
    });
    group.finish();
}

criterion_group!(benches, so3_gram);
criterion_main!(benches);
