#![allow(missing_docs)]
//! `duals/NAME`: one `Nonlinearity::dual_batch` over 4096 kernel entries (variances in
//! [0.5, 2], correlations in (−1, 1)) at the widest SIMD level the CPU has (`ENTK_SIMD` caps
//! it), for the closed forms whose cost is the arithmetic of each entry: ReLU and GELU
//! (arctangent), Erf (reciprocal square root and arctangent), and the monomial and Hermite
//! series. Criterion prints the time per batch (the copies of the inputs each batch starts from
//! are made outside the timing); divide by 4096 for the time per entry.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use entk_ntk::nonlin::Nonlinearity;
use entk_ntk::SimdLevel;

const N: usize = 4096;

fn inputs() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    // A fixed low-discrepancy spread, no random numbers needed.
    let frac = |i: usize, g: f64| (i as f64 * g).fract();
    let k11: Vec<f64> = (0..N)
        .map(|i| 0.5 + 1.5 * frac(i, 0.618_033_988_749_895))
        .collect();
    let k22: Vec<f64> = (0..N)
        .map(|i| 0.5 + 1.5 * frac(i, 0.754_877_666_246_693))
        .collect();
    let k12 = (0..N)
        .map(|i| (2.0 * frac(i, 0.569_840_290_998_053) - 1.0) * 0.999 * (k11[i] * k22[i]).sqrt())
        .collect();
    (k11, k22, k12)
}

fn bench(c: &mut Criterion) {
    let level = SimdLevel::current();
    println!("duals: SIMD level {level}");
    let (k11, k22, k12) = inputs();
    let cases = [
        ("relu", Nonlinearity::Relu),
        ("gelu", Nonlinearity::Gelu),
        (
            "erf",
            Nonlinearity::Erf {
                a: 1.0,
                b: 1.0,
                c: 0.0,
            },
        ),
        ("monomial3", Nonlinearity::Monomial { degree: 3 }),
        ("hermite4", Nonlinearity::Hermite { degree: 4 }),
    ];
    let mut group = c.benchmark_group("duals");
    for (name, phi) in &cases {
        // Fresh copies of the inputs per batch, made and dropped outside the timing.
        group.bench_function(*name, |b| {
            b.iter_batched(
                || (k12.clone(), vec![1.0; N]),
                |(mut k, mut t)| {
                    phi.dual_batch(level, &k11, &k22, &mut k, &mut t);
                    (k, t)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
