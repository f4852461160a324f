//! Shared helpers of the SO(3) harmonic-analysis tests: the seeded RNG, random rotations and
//! points, and one assertion for measured law checks.
#![allow(dead_code)]

use entk_groups::laws::LawCheck;
use entk_groups::{CompactGroup, Group, Rotation, SO3};
use entk_reps::{FourierTransform, S2Coefficients, S2Transform, So3Coefficients, So3Transform};
use nalgebra::Vector3;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seed of every deterministic test. Fixed so that a failure reproduces exactly; the value
/// has no meaning. Tests derive independent streams from it with [`rng`].
pub const SEED: u64 = 0x5EED_0503_2026;

/// A deterministic RNG for stream `stream` (use a different stream per test).
pub fn rng(stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    rng.set_stream(stream);
    rng
}

/// `count` Haar-random rotations.
pub fn haar_rotations(count: usize, rng: &mut ChaCha8Rng) -> Vec<Rotation> {
    (0..count).map(|_| SO3.sample_haar(rng)).collect()
}

/// The rotations a representation law is checked on: `SO3.testing_elements()` (special
/// rotations) followed by 6 Haar-random ones from stream `stream`.
pub fn law_rotations(stream: u64) -> Vec<Rotation> {
    let mut special = SO3.testing_elements();
    special.extend(haar_rotations(6, &mut rng(stream)));
    special
}

/// The cases of a harmonics-under-rotation law for proptest seed `seed`: one Haar rotation,
/// 3 random points, and the degrees 0, 1, 2, 7 and 30, as `(degree, rotation, point)`.
pub fn rotated_point_cases(seed: u64) -> Vec<(usize, Rotation, Vector3<f64>)> {
    let mut rng = rng(seed);
    let rotation = haar_rotations(1, &mut rng)[0];
    let points = unit_vectors(3, &mut rng);
    points
        .into_iter()
        .flat_map(|u| [0usize, 1, 2, 7, 30].map(|l| (l, rotation, u)))
        .collect()
}

/// `count` uniformly random unit vectors.
pub fn unit_vectors(count: usize, rng: &mut ChaCha8Rng) -> Vec<Vector3<f64>> {
    (0..count)
        .map(|_| SO3.sample_haar(rng).apply(&Vector3::z()))
        .collect()
}

/// A random complex vector, parts uniform in `[−1, 1]` (not bandlimited when used as a signal).
pub fn complex_noise(len: usize, rng: &mut ChaCha8Rng) -> Vec<Complex64> {
    (0..len)
        .map(|_| Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
        .collect()
}

/// A random real signal: the real parts of [`complex_noise`] (drawing the same numbers).
pub fn real_noise(len: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    complex_noise(len, rng).iter().map(|z| z.re).collect()
}

/// Parseval on a grid: panics unless the quadrature `Σ_p weight(p) f_p conj g_p` equals the
/// spectral inner product `spectral` to `tol · max(|spectral|, 1)`.
#[track_caller]
pub fn assert_parseval(
    (f, g): (&[Complex64], &[Complex64]),
    weight: impl Fn(usize) -> f64,
    spectral: Complex64,
    tol: f64,
    bandlimit: usize,
) {
    let quadrature: Complex64 = (0..f.len()).map(|p| f[p] * g[p].conj() * weight(p)).sum();
    let scale = spectral.norm().max(1.0);
    assert_close_complex(
        quadrature,
        spectral,
        tol * scale,
        &format!("L = {bandlimit}"),
    );
}

/// Panics unless the complex inverse `complex` of real coefficients is real to `tol` and its
/// real part is bit for bit the real inverse `real`.
#[track_caller]
pub fn assert_real_inverse(complex: &[Complex64], real: &[f64], tol: f64) {
    assert_eq!(complex.len(), real.len());
    for (z, r) in complex.iter().zip(real) {
        assert!(z.im.abs() <= tol && z.re == *r, "{z} against {r}");
    }
}

/// Panics with every failing check (name, error, tolerance) and the context.
#[track_caller]
pub fn assert_all_pass(checks: &[LawCheck], context: &str) {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| format!("{} = {:e} > {:e}", c.name, c.max_error, c.tolerance))
        .collect();
    assert!(failed.is_empty(), "{context}: {}", failed.join(", "));
}

/// Panics unless `difference ≤ tol`, naming both values (`values()` gives "got A, expected
/// B"; it runs only on failure). A NaN difference fails.
#[track_caller]
fn assert_within(difference: f64, tol: f64, context: &str, values: impl Fn() -> String) {
    assert!(
        difference <= tol,
        "{context}: {} (difference {difference:e} > {tol:e})",
        values()
    );
}

/// Panics unless `|actual − expected| ≤ tol`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tol: f64, context: &str) {
    assert_within((actual - expected).abs(), tol, context, || {
        format!("got {actual:e}, expected {expected:e}")
    });
}

/// Panics unless `|actual − expected| ≤ tol` for complex values.
#[track_caller]
pub fn assert_close_complex(actual: Complex64, expected: Complex64, tol: f64, context: &str) {
    assert_within((actual - expected).norm(), tol, context, || {
        format!("got {actual}, expected {expected}")
    });
}

/// The fast transforms of the tests, built the same way for S² and SO(3): the transform of
/// bandlimit `L` and random real coefficients of bandlimit `L` (each type's own `new` and
/// `random_real`).
pub trait TestTransform: FourierTransform + Sized {
    /// The transform of bandlimit `L` (default table budget).
    fn of_bandlimit(bandlimit: usize) -> Self;
    /// Random real coefficients of bandlimit `L`, drawn from `rng`.
    fn random_real(bandlimit: usize, rng: &mut ChaCha8Rng) -> Self::Coefficients;
}

macro_rules! test_transform {
    ($transform:ty, $coefficients:ty) => {
        impl TestTransform for $transform {
            fn of_bandlimit(bandlimit: usize) -> Self {
                <$transform>::new(bandlimit).unwrap()
            }
            fn random_real(bandlimit: usize, rng: &mut ChaCha8Rng) -> $coefficients {
                <$coefficients>::random_real(bandlimit, rng).unwrap()
            }
        }
    };
}
test_transform!(S2Transform, S2Coefficients);
test_transform!(So3Transform, So3Coefficients);

/// A random bandlimited real signal: the transform `T` of bandlimit `L`, random real
/// coefficients drawn from `rng`, and their (real) inverse transform on `T`'s grid.
pub fn random_signal<T: TestTransform>(
    bandlimit: usize,
    rng: &mut ChaCha8Rng,
) -> (T, T::Coefficients, Vec<f64>) {
    let transform = T::of_bandlimit(bandlimit);
    let coeffs = T::random_real(bandlimit, rng);
    let signal = transform.inverse_real(&coeffs).unwrap();
    (transform, coeffs, signal)
}
