#![allow(missing_docs)]
//! `ntk/so3_ntk_n16_L6` and `ntk/so3_ntk_n16_L8`: NTK + NNGP Gram of 16 random S² signals with
//! 10 channels at L = 6 and 8 for `s2_lift_conv (L→L/2) – erf – so3_conv – erf – so3_pool –
//! dense`. The targets are for the whole `entk kernel` process (≤ 12 ms at L = 6,
//! ≤ 0.25 s at L = 8; the authors' JAX code takes ≈1.2 s and ≈25 s warm), timed by
//! `scripts/bench-speed`; these benches time the Gram alone, operators built.
//!
//! Before them it prints a roofline line per L (`benches/roofline.rs`).

use criterion::{criterion_group, criterion_main, Criterion};
use entk_ntk::so3::So3PairKernel;
use entk_ntk::{GramOptions, Network};

#[path = "cases.rs"]
#[allow(dead_code)]
mod cases;

#[path = "roofline.rs"]
#[allow(dead_code)]
mod roofline;

/// Flop of the transforms on the grid of bandlimit `lg` with coefficient bandlimit `lc`
/// (`basis.rs`): `(evaluate, project)`. A complex product is four real ones of `2mnk` flop.
fn transform_flops(lg: usize, lc: usize) -> (f64, f64) {
    let (d, p) = So3PairKernel::dims(lg);
    let (d, p) = (d as f64, p as f64);
    let stacked = (2 * lc - 1) as f64;
    let (mut eval, mut proj) = (2.0 * d * stacked * p * p, 2.0 * stacked * d * p * p);
    for n in 0..lc {
        let s = (lc * lc - n * n) as f64;
        let halves = if n == 0 { 0.5 } else { 1.0 };
        eval += 8.0 * p * s * s + halves * 8.0 * p * p * s;
        proj += halves * 8.0 * s * p * p + 8.0 * s * s * p;
    }
    (eval, proj)
}

/// Counted work of one pair at input bandlimit `l` (`lo = l/2`, `E = (2lo−1)·P²` kernel values,
/// `P = 2lo(2lo−1)`): the lifting's coefficient products (`8C·lo⁴` flop) and evaluate; erf
/// (45 flop per value: the dual's arctangent, square root and division, both outputs, the NTK
/// product); the convolution's project, support contraction (`8·Σ_n s_n²·lo` flop) and
/// evaluate; erf; the pool's sums (`2E`). Bytes: each layer reads and writes both arrays
/// (`32E`), the pool reads them (`16E`).
fn so3_counts(l: usize, channels: usize) -> (f64, f64) {
    let lo = l / 2;
    let (d, p) = So3PairKernel::dims(lo);
    let e = (d * p * p) as f64;
    let (eval, proj) = transform_flops(lo, lo);
    let lo4 = (lo as f64).powi(4);
    let contraction: f64 = (0..lo)
        .map(|n| 8.0 * ((lo * lo - n * n) as f64).powi(2) * lo as f64)
        .sum();
    let flops = 8.0 * channels as f64 * lo4
        + eval
        + 45.0 * e
        + proj
        + contraction
        + eval
        + 45.0 * e
        + 2.0 * e;
    let bytes = 16.0 * e + 32.0 * e + 32.0 * e + 32.0 * e + 16.0 * e;
    (flops, bytes)
}

fn so3_gram(c: &mut Criterion) {
    let opts = GramOptions {
        threads: 2,
        ..Default::default()
    };
    let machine = roofline::probe(2);
    let mut group = c.benchmark_group("ntk");
    group.sample_size(20);
    for l in [6, 8] {
        let net = Network::from_json(&cases::so3_spec(l)).unwrap();
        let x = cases::s2_signals(16, l, 10);
        let _ = net.gram(x.view(), None, &opts).unwrap(); // build operator caches once
        let secs = roofline::median_secs(5, || {
            net.gram(x.view(), None, &opts).unwrap();
        });
        let (flops, bytes) = so3_counts(l, 10);
        roofline::report(
            &format!("so3 n=16 L={l}"),
            secs / 136.0,
            flops,
            bytes,
            &machine,
        );
        group.bench_function(format!("so3_ntk_n16_L{l}"), |b| {
            b.iter(|| net.gram(x.view(), None, &opts).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, so3_gram);
criterion_main!(benches);
