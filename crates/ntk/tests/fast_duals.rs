//! The branch-free arc-tangent and the ReLU / Erf duals built on it agree with libm's `atan2`
//! formulas to ≤ 1e-15 relative, over many decades and at the edges of docs/theory.md#nonlinearities-dual-activations
//! (`k12 = ±√(k11k22)`, `k12 = 0`, `k11·k22 = 0`).

mod common;

use std::f64::consts::PI;

use entk_ntk::nonlin::{
    atan2_right_half, atan_ratio, erf_dual, erf_dual_reference, relu_dual, relu_dual_reference,
    Nonlinearity,
};

use common::tol::ULPS as TOL;

/// Magnitudes from 1e-300 to 1e300 (decades and a few in between), plus zero.
fn magnitudes() -> Vec<f64> {
    let mut v = vec![0.0];
    for e in -300..=300 {
        if e % 25 == 0 || (-12..=12).contains(&e) {
            for m in [1.0, 1.7, 3.3, 7.9] {
                v.push(m * 10f64.powi(e));
            }
        }
    }
    v
}

/// Correlations `ρ ∈ [−1, 1]`, dense near ±1 and 0.
fn correlations() -> Vec<f64> {
    let mut v = vec![-1.0, 1.0, 0.0, -0.0];
    for e in 1..=16 {
        let d = 10f64.powi(-e);
        v.extend([1.0 - d, -1.0 + d, d, -d]);
    }
    for i in 0..=200 {
        v.push(-1.0 + 2.0 * i as f64 / 200.0);
    }
    v
}

#[test]
fn atan_ratio_matches_libm() {
    let mags = magnitudes();
    let mut worst: f64 = 0.0;
    for &y in &mags {
        for &x in &mags {
            if x == 0.0 && y == 0.0 {
                continue;
            }
            let (fast, libm) = (atan_ratio(y, x), y.atan2(x));
            assert!(fast.is_finite(), "atan_ratio({y}, {x}) = {fast}");
            if libm != 0.0 {
                worst = worst.max((fast - libm).abs() / libm);
            } else {
                assert_eq!(fast, 0.0, "atan_ratio({y}, {x})");
            }
        }
    }
    // Dense sweep of t = y/x through the reduction boundaries 0.66 and tan(3π/8).
    for i in 0..=200_000 {
        let t = 3.0 * i as f64 / 200_000.0;
        for (y, x) in [(t, 1.0), (1.0, t)] {
            if x == 0.0 && y == 0.0 {
                continue;
            }
            let libm = y.atan2(x);
            if libm != 0.0 {
                worst = worst.max((atan_ratio(y, x) - libm).abs() / libm);
            }
        }
    }
    assert!(worst <= TOL, "worst relative error {worst:e}");
    assert_eq!(atan_ratio(1.0, 0.0), PI / 2.0);
    assert_eq!(atan_ratio(0.0, 1.0), 0.0);
    assert_eq!(atan2_right_half(0.0, 0.0), 0.0);
    assert_eq!(atan2_right_half(-0.0, 2.0).to_bits(), (-0.0f64).to_bits());
    assert_eq!(atan2_right_half(-3.0, 0.0), -PI / 2.0);
}

#[test]
fn relu_dual_matches_reference() {
    let mags = magnitudes();
    let (mut worst_k, mut worst_t): (f64, f64) = (0.0, 0.0);
    for &k11 in &mags {
        for &k22 in mags.iter().step_by(7) {
            let root = (k11 * k22).sqrt();
            let mut k12s: Vec<f64> = correlations().iter().map(|r| r * root).collect();
            // Rounding can push |k12| just past √(k11k22): s is then clamped to 0.
            k12s.extend([root * (1.0 + 1e-15), -root * (1.0 + 1e-15), 0.5, -0.5]);
            for k12 in k12s {
                if !(k11 * k22).is_finite() || !(k12 * k12).is_finite() {
                    continue;
                }
                let (kk, tt) = relu_dual(k11, k22, k12);
                let (rk, rt) = relu_dual_reference(k11, k22, k12);
                assert!(
                    kk.is_finite() && tt.is_finite(),
                    "relu_dual({k11}, {k22}, {k12})"
                );
                // Against π − θ = atan2(s, −k12) in full relative precision (the libm
                // reference's `π − θ` loses it near θ = π), and E[φφ] relative to the size of
                // its two terms (they cancel near θ = π, in any evaluation order).
                let prod = k11 * k22;
                let (s, phi) = if prod > 0.0 {
                    let s = (prod - k12 * k12).max(0.0).sqrt();
                    (s, s.atan2(-k12))
                } else {
                    (0.0, PI / 2.0)
                };
                let exact_t = phi / (2.0 * PI);
                worst_t = worst_t.max((tt - exact_t).abs() / exact_t.abs().max(f64::MIN_POSITIVE));
                let exact_k = (s + phi * k12) / (2.0 * PI);
                let scale = (s + (phi * k12).abs()) / (2.0 * PI);
                if scale > 0.0 {
                    worst_k = worst_k.max((kk - exact_k).abs() / scale);
                } else {
                    assert_eq!(kk, rk);
                }
                assert!((tt - rt).abs() <= 4.0 * f64::EPSILON, "{tt} vs {rt}");
            }
        }
    }
    assert!(worst_k <= TOL, "E[φφ] worst relative error {worst_k:e}");
    assert!(worst_t <= TOL, "E[φ′φ′] worst relative error {worst_t:e}");
    // Safeguards: zero variance gives θ = π/2 and no NaN.
    assert_eq!(relu_dual(0.0, 1.0, 0.0), (0.0, 0.25));
    assert_eq!(relu_dual(0.0, 0.0, 0.0), (0.0, 0.25));
    // Perfect (anti)correlation: θ = 0 (E[φφ] = k/2, E[φ′φ′] = 1/2) and θ = π (0, 0).
    assert_eq!(relu_dual(2.0, 2.0, 2.0), (1.0, 0.5));
    assert_eq!(relu_dual(2.0, 2.0, -2.0), (0.0, 0.0));
    // The Nonlinearity dispatch and AbReLU(0, 1) use the same dual.
    let (a, b) = Nonlinearity::AbRelu { a: 0.0, b: 1.0 }.dual(0.7, 1.3, -0.4);
    let (c, d) = relu_dual_reference(0.7, 1.3, -0.4);
    assert!((a - c).abs() <= 1e-15 && (b - d).abs() <= 1e-15);
}

#[test]
fn erf_dual_matches_reference() {
    let mags = magnitudes();
    let mut worst: f64 = 0.0;
    for (a, b, c) in [(1.0, 1.0, 0.0), (1.1, 0.8, 0.1), (2.0, 3.0, -0.5)] {
        for &k11 in mags.iter().step_by(3) {
            for &k22 in mags.iter().step_by(11) {
                let root = (k11 * k22).sqrt();
                for r in correlations() {
                    let k12 = r * root;
                    let (kk, tt) = erf_dual(a, b, c, k11, k22, k12);
                    let (rk, rt) = erf_dual_reference(a, b, c, k11, k22, k12);
                    if !rk.is_finite() || !rt.is_finite() {
                        continue;
                    }
                    assert_eq!(tt, rt, "E[φ′φ′] at ({k11}, {k22}, {k12})");
                    let scale = (rk - c * c).abs() + c * c;
                    if scale > 0.0 {
                        worst = worst.max((kk - rk).abs() / scale);
                    } else {
                        assert_eq!(kk, rk);
                    }
                }
            }
        }
    }
    assert!(worst <= TOL, "worst relative error {worst:e}");
    assert_eq!(erf_dual(1.0, 1.0, 0.0, 0.0, 0.0, 0.0), (0.0, 4.0 / PI));
}

#[test]
fn rectified_monomial_dual_matches_reference() {
    // The branch-free arc-cosine dual (atan_ratio, powers by products) against libm's atan2
    // and powf, relative to the size of its terms (P(ρ)·√(1−ρ²) and Q(ρ)·(π − θ) cancel near
    // θ = π in any evaluation order), at degrees 0..=5.
    let mags: Vec<f64> = magnitudes()
        .into_iter()
        .filter(|m| *m == 0.0 || (1e-40..=1e40).contains(m))
        .collect();
    let mut worst: f64 = 0.0;
    for d in 0..=5usize {
        let Nonlinearity::RectifiedMonomial(r) = Nonlinearity::rectified_monomial(d) else {
            unreachable!()
        };
        // The same value with every term made non-negative: the scale of each output.
        let abs = |x: f64| x.abs();
        for &k11 in &mags {
            for &k22 in mags.iter().step_by(5) {
                let root = (k11 * k22).sqrt();
                let mut k12s: Vec<f64> = correlations().iter().map(|c| c * root).collect();
                k12s.extend([root * (1.0 + 1e-15), -root * (1.0 + 1e-15), 0.5, -0.5]);
                for k12 in k12s {
                    let fast = r.dual(k11, k22, k12);
                    let refr = r.dual_reference(k11, k22, k12);
                    let scale = r.dual_reference(k11, k22, abs(root));
                    for (f, e, s) in [(fast.0, refr.0, scale.0), (fast.1, refr.1, scale.1)] {
                        assert!(f.is_finite(), "degree {d} ({k11}, {k22}, {k12}): {f}");
                        if s > 0.0 && s.is_normal() {
                            worst = worst.max((f - e).abs() / s);
                        } else {
                            assert!((f - e).abs() <= f64::MIN_POSITIVE, "{f} vs {e}");
                        }
                    }
                }
            }
        }
    }
    assert!(worst <= TOL, "worst error relative to the scale {worst:e}");
    // Degree 1 is the ReLU (arc-cosine of degree 1).
    let (a, b) = Nonlinearity::rectified_monomial(1).dual(0.7, 1.3, -0.4);
    let (c, e) = relu_dual_reference(0.7, 1.3, -0.4);
    assert!((a - c).abs() <= 1e-15 && (b - e).abs() <= 1e-15);
}
