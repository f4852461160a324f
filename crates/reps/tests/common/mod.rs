//! Shared helpers of the SO(3) harmonic-analysis tests: the seeded RNG, random rotations and
//! points, and one assertion for measured law checks.
#![allow(dead_code)]

use entk_groups::laws::LawCheck;
use entk_groups::{CompactGroup, Rotation, SO3};
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

/// Panics unless `|actual − expected| ≤ tol`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tol: f64, context: &str) {
    assert!(
        (actual - expected).abs() <= tol,
        "{context}: got {actual:e}, expected {expected:e} (difference {:e} > {tol:e})",
        (actual - expected).abs()
    );
}

/// Panics unless `|actual − expected| ≤ tol` for complex values.
#[track_caller]
pub fn assert_close_complex(actual: Complex64, expected: Complex64, tol: f64, context: &str) {
    assert!(
        (actual - expected).norm() <= tol,
        "{context}: got {actual}, expected {expected} (difference {:e} > {tol:e})",
        (actual - expected).norm()
    );
}
