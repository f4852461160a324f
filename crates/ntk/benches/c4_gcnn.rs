//! Benchmarks of the C4 GCNN kernel of THEORY.md §10 (lift 3×3 same, relu, group conv 3×3 same,
//! relu, group pool, dense): NTK + NNGP Gram matrices of random images.
//!
//! - `c4_gcnn_ntk_n16_16x16`: 16 images 16×16×3 (target ≲ 0.9 s on 2 cores).
//! - `c4_gcnn_ntk_n100_28x28`: 100 images 28×28×1; slow, run by hand with
//!   `cargo bench -p entk-ntk --bench c4_gcnn -- n100`.

use criterion::{criterion_main, Criterion};
use entk_ntk::{GramOptions, Network};
use ndarray::Array4;
use rand::{Rng, SeedableRng};

const SPEC: &str = r#"{"layers": [
    {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"}, {"type": "relu"},
    {"type": "group_pool"}, {"type": "dense"}]}"#;

fn images(n: usize, s: usize, c: usize) -> Array4<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    Array4::from_shape_fn((n, s, s, c), |_| rng.random_range(-1.0..1.0))
}

fn bench(c: &mut Criterion) {
    let net = Network::from_json(SPEC).unwrap();
    let x = images(16, 16, 3);
    let mut g = c.benchmark_group("ntk");
    g.sample_size(10);
    g.bench_function("c4_gcnn_ntk_n16_16x16", |b| {
        b.iter(|| net.gram(x.view(), None, &GramOptions::default()).unwrap())
    });
    let x = images(100, 28, 1);
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
