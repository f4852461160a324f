//! Timings of the S² and SO(3) transforms on Driscoll–Healy grids, forward and inverse, for
//! L = 8, 16, 32, 64. Ids `reps/{s2,so3}_{forward,inverse}/LNNN`. Benches only time;
//! correctness lives in the tests. Plans (tables, FFTs) are built outside the timed loop.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_main, BenchmarkGroup, Criterion};
use entk_reps::{FourierTransform, S2Coefficients, S2Transform, So3Coefficients, So3Transform};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fixed so that every run times the same inputs.
const SEED: u64 = 0x5EED_BE0C;

const BANDLIMITS: [usize; 4] = [8, 16, 32, 64];

/// Times `transform` forward on the signal of `coeffs` and inverse on `coeffs`, as
/// `{name}_forward/LNNN` and `{name}_inverse/LNNN`.
fn time_both_ways<T: FourierTransform>(
    group: &mut BenchmarkGroup<WallTime>,
    name: &str,
    transform: &T,
    coeffs: &T::Coefficients,
) {
    let bandlimit = transform.bandlimit();
    let signal = transform.inverse_real(coeffs).unwrap();
    group.bench_function(format!("{name}_forward/L{bandlimit:03}"), |b| {
        b.iter(|| transform.forward(black_box(&signal)).unwrap())
    });
    group.bench_function(format!("{name}_inverse/L{bandlimit:03}"), |b| {
        b.iter(|| transform.inverse(black_box(coeffs)).unwrap())
    });
}

fn transforms(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut group = c.benchmark_group("reps");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    for bandlimit in BANDLIMITS {
        let transform = S2Transform::new(bandlimit).unwrap();
        let coeffs = S2Coefficients::random_real(bandlimit, &mut rng).unwrap();
        time_both_ways(&mut group, "s2", &transform, &coeffs);
    }
    for bandlimit in BANDLIMITS {
        let transform = So3Transform::new(bandlimit).unwrap();
        let coeffs = So3Coefficients::random_real(bandlimit, &mut rng).unwrap();
        time_both_ways(&mut group, "so3", &transform, &coeffs);
    }
    group.finish();
}

/// The criterion entry point (the macro's function carries no docs).
mod entry {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::transforms);
}

criterion_main!(entry::benches);
