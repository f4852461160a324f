//! Benchmarks of the C4 GCNN kernel of docs/theory.md#golden-values (lift 3×3 same, relu, group conv 3×3 same,
//! relu, group pool, dense): NTK + NNGP Gram matrices of random images.
//!
//! - `c4_gcnn_ntk_n16_16x16`: 16 images 16×16×3 (the neural-tangents comparison,
//!   `benches/reference/nt_cnn_timing.py`; target ≤ 0.25× its plain CNN).
//! - `c4_gcnn_ntk_n100_28x28`: 100 images 28×28×1; slow, run by hand with
//!   `cargo bench -p entk-ntk --bench c4_gcnn -- n100`.
//!
//! Before the criterion benches it prints a roofline line (`benches/roofline.rs`) for 16 images
//! 16×16×3 and 8 images 28×28×1 (target: within 3× of the roofline time at 28×28), against a
//! copy-bandwidth and an FMA-peak probe measured in the same run.

use criterion::{criterion_main, Criterion};
use entk_ntk::{GramOptions, Network};

#[path = "cases.rs"]
#[allow(dead_code)]
mod cases;

#[path = "roofline.rs"]
#[allow(dead_code)]
mod roofline;

/// Counted work of one pair of the C4 GCNN on `N×N×C` images, layer by layer, in the relative
/// layout (`E = 4N⁴` values per kernel array, NNGP and NTK):
/// - `K⁰`: `N⁴` dot products of `C` channels (`2C` flop each); NNGP and NTK written (`16N⁴` B);
/// - `lift_conv`: per output value 9 flop (8 additions of the 3×3 taps, the scale) and 2 for
///   the affine step, NNGP only (the NTK of `K⁰` is 0); `K⁰` read once per slice (`32N⁴` B),
///   both arrays written (`16E` B);
/// - `relu`: 47 flop per value (the arc-cosine dual's square root, two divisions, the
///   arctangent's reduction and rational function, both outputs and the NTK product); both
///   arrays read and written (`32E` B);
/// - `group_conv`: 9 flop per value per array and 3 for the affine step; both arrays read and
///   written (`32E` B);
/// - `relu` again; `group_pool`: one addition per value per array, both arrays read (`16E` B).
///
/// In all `(2C + 512)·N⁴` flop and `560·N⁴` bytes (flop and bytes of the layer-by-layer
/// algorithm, whatever the implementation fuses).
fn c4_counts(n: usize, c: usize) -> (f64, f64) {
    let n4 = (n as f64).powi(4);
    let e = 4.0 * n4;
    let flops = 2.0 * c as f64 * n4 + 11.0 * e + 47.0 * e + 21.0 * e + 47.0 * e + 2.0 * e;
    let bytes = 16.0 * n4 + 32.0 * n4 + 16.0 * e + 32.0 * e + 32.0 * e + 32.0 * e + 16.0 * e;
    (flops, bytes)
}

fn bench(c: &mut Criterion) {
    let net = Network::from_json(cases::C4_SPEC).unwrap();
    let machine = roofline::probe(rayon::current_num_threads());
    for (n, s, ch) in [(16, 16, 3), (8, 28, 1)] {
        let x = cases::images(n, s, ch);
        let secs = roofline::median_secs(3, || {
            net.gram(x.view(), None, &GramOptions::default()).unwrap();
        });
        let (flops, bytes) = c4_counts(s, ch);
        let pairs = (n * (n + 1) / 2) as f64;
        roofline::report(
            &format!("c4_gcnn n={n} {s}x{s}x{ch}"),
            secs / pairs,
            flops,
            bytes,
            &machine,
        );
    }
    let x = cases::images(16, 16, 3);
    let mut g = c.benchmark_group("ntk");
    g.sample_size(10);
    g.bench_function("c4_gcnn_ntk_n16_16x16", |b| {
        b.iter(|| net.gram(x.view(), None, &GramOptions::default()).unwrap())
    });
    let x = cases::images(100, 28, 1);
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(1));
    g.bench_function("c4_gcnn_ntk_n100_28x28", |b| {
        b.iter(|| net.gram(x.view(), None, &GramOptions::default()).unwrap())
    });
    g.finish();
}

mod group {
    // criterion's macro generates an undocumented function.
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
