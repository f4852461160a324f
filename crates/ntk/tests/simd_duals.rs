//! The vectorised dual activations (`Nonlinearity::dual_batch`, the loop the nonlinearity layers
//! run) at every instruction-set level this CPU offers, against the entry-by-entry scalar dual
//! (bitwise), and the branch-free forms they use (`exp_branch_free`, GELU's and Sign's
//! arctangent) against libm's `exp` / `atan2` formulas to ≤ 1e-15 relative.

mod common;

use std::f64::consts::{FRAC_2_PI, PI};

use entk_ntk::nonlin::{exp_branch_free, gelu_dual, Nonlinearity};
use entk_ntk::SimdLevel;

use common::tol::ULPS as TOL;

/// The monomial and Hermite degrees tested: small ones, and up to the largest the spec allows
/// (64, docs/spec.md), where the series overflow f64 at large variances.
const DEGREES: [usize; 10] = [0, 1, 2, 3, 6, 11, 13, 17, 33, 64];

/// Every closed form the batch loop specialises, with parameters off their defaults: the
/// polynomials, rectified monomials, monomials and Hermite functions (chunks of lanes) at
/// several degrees.
fn nonlinearities() -> Vec<Nonlinearity> {
    let mut v = vec![
        Nonlinearity::Relu,
        Nonlinearity::leaky_relu(0.1),
        Nonlinearity::AbRelu { a: -0.3, b: 1.7 },
        Nonlinearity::Abs,
        Nonlinearity::Erf {
            a: 1.1,
            b: 0.8,
            c: 0.1,
        },
        Nonlinearity::Gelu,
        Nonlinearity::Sign,
        Nonlinearity::Sin {
            a: 1.25,
            b: 0.75,
            c: 0.45,
        },
        Nonlinearity::Cos {
            a: 0.9,
            b: 1.2,
            c: -0.3,
        },
        Nonlinearity::Rbf { gamma: 0.6 },
        Nonlinearity::Gaussian { a: 1.2, b: -0.8 },
        Nonlinearity::Exp { a: 0.7, b: 0.5 },
        Nonlinearity::Identity,
        Nonlinearity::Polynomial {
            coef: vec![0.1, -0.5, 0.25, 0.3],
        },
        Nonlinearity::Polynomial { coef: vec![] },
        Nonlinearity::Polynomial { coef: vec![0.7] },
        Nonlinearity::Polynomial {
            coef: vec![-0.2, 0.0, 1.3, 0.0, -0.05, 0.01],
        },
        Nonlinearity::rectified_monomial(0),
        Nonlinearity::rectified_monomial(1),
        Nonlinearity::rectified_monomial(2),
        Nonlinearity::rectified_monomial(3),
        Nonlinearity::rectified_monomial(5),
    ];
    for degree in DEGREES {
        v.push(Nonlinearity::Monomial { degree });
        v.push(Nonlinearity::Hermite { degree });
    }
    v
}

/// Gaussians `(k11, k22, k12)` over several decades, with the edge cases of docs/theory.md#nonlinearities-dual-activations:
/// `k12 = ±√(k11k22)` (and just beyond, by rounding), `k12 = ±0`, `k11·k22 = 0`.
fn gaussians() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mags: [f64; 11] = [0.0, 1e-12, 1e-6, 0.003, 0.25, 0.9, 1.0, 1.7, 4.0, 30.0, 1e3];
    let rhos = [
        -1.0 - 1e-15,
        -1.0,
        -0.999_999,
        -0.7,
        -0.1,
        -0.0,
        0.0,
        1e-9,
        0.3,
        0.5,
        0.99,
        1.0,
        1.0 + 1e-15,
    ];
    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for &k11 in &mags {
        for &k22 in &mags {
            for &r in &rhos {
                a.push(k11);
                b.push(k22);
                c.push(r * (k11 * k22).sqrt());
            }
        }
    }
    (a, b, c)
}

fn same(x: f64, y: f64) -> bool {
    x == y || (x.is_nan() && y.is_nan())
}

/// `phi.dual_batch` at every level this CPU offers against the scalar `(K, t0·T)` of each
/// entry, compared by `eq`; returns the scalar values.
fn agree_at_every_level(
    phi: &Nonlinearity,
    k: [&[f64]; 3],
    t0: &[f64],
    eq: impl Fn(f64, f64) -> bool,
) -> Vec<(f64, f64)> {
    let [k11, k22, k12] = k;
    let expect: Vec<(f64, f64)> = (0..k12.len())
        .map(|i| {
            let (a, b) = phi.dual(k11[i], k22[i], k12[i]);
            (a, t0[i] * b)
        })
        .collect();
    for level in SimdLevel::available() {
        let (mut k, mut t) = (k12.to_vec(), t0.to_vec());
        phi.dual_batch(level, k11, k22, &mut k, &mut t);
        for i in 0..k12.len() {
            assert!(
                eq(k[i], expect[i].0) && eq(t[i], expect[i].1),
                "{phi:?} at {level}: entry {i} ({}, {}, {}) gives ({}, {}), scalar ({}, {})",
                k11[i],
                k22[i],
                k12[i],
                k[i],
                t[i],
                expect[i].0,
                expect[i].1
            );
        }
    }
    expect
}

#[test]
fn every_level_is_bitwise_the_scalar_dual() {
    let levels = SimdLevel::available();
    println!("levels on this CPU: {levels:?}");
    assert_eq!(levels[0], SimdLevel::Scalar);
    let (k11, k22, k12) = gaussians();
    let t0: Vec<f64> = (0..k12.len()).map(|i| 0.5 + (i % 7) as f64).collect();
    for phi in nonlinearities() {
        // Sizes that leave a remainder after every lane width.
        for len in [k12.len(), 1, 3, 13] {
            agree_at_every_level(
                &phi,
                [&k11[..len], &k22[..len], &k12[..len]],
                &t0[..len],
                same,
            );
        }
    }
}

/// The monomial and Hermite chunks at the large degrees and variances up to 1e200, where the
/// series overflow (∞, and NaN from ∞ − ∞ or 0·∞): every level gives the scalar dual's value,
/// bit for bit, or NaN where it is NaN (the Gram engine then refuses the kernel with a one-line
/// error, `nonlin_closed_forms.rs`).
#[test]
fn overflowing_series_agree_at_every_level() {
    let mags: [f64; 8] = [0.5, 7.0, 1e3, 1e5, 1e10, 1e40, 1e100, 1e200];
    let rhos: [f64; 6] = [-1.0, -0.6, -0.0, 0.2, 0.999, 1.0];
    let (mut k11, mut k22, mut k12) = (vec![], vec![], vec![]);
    for &a in &mags {
        for &b in &mags {
            for &r in &rhos {
                k11.push(a);
                k22.push(b);
                k12.push(r * (a * b).sqrt());
            }
        }
    }
    let t0: Vec<f64> = (0..k12.len()).map(|i| 0.5 + (i % 5) as f64).collect();
    let (mut infinite, mut nan) = (0, 0);
    for degree in DEGREES {
        for phi in [
            Nonlinearity::Monomial { degree },
            Nonlinearity::Hermite { degree },
        ] {
            let bits = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
            let expect = agree_at_every_level(&phi, [&k11, &k22, &k12], &t0, bits);
            infinite += expect.iter().filter(|e| e.0.is_infinite()).count();
            nan += expect.iter().filter(|e| e.0.is_nan()).count();
        }
    }
    // The inputs do reach the overflow (both kinds of non-finite value).
    println!("{infinite} infinite and {nan} NaN scalar kernels");
    assert!(infinite > 0 && nan > 0, "{infinite} infinite, {nan} NaN");
}

#[test]
fn levels_above_the_cpu_fall_back() {
    for level in SimdLevel::ALL {
        let run = level.or_below();
        assert!(run <= level && run.is_available(), "{level} → {run}");
    }
    assert!(SimdLevel::current().is_available());
}

#[test]
#[should_panic(expected = "dual_batch: slices of lengths")]
fn mismatched_slices_are_refused() {
    let (mut k, mut t) = (vec![0.0; 3], vec![0.0; 3]);
    Nonlinearity::Relu.dual_batch(SimdLevel::Scalar, &[1.0; 3], &[1.0; 2], &mut k, &mut t);
}

#[test]
fn exp_branch_free_matches_libm() {
    let mut worst: f64 = 0.0;
    let mut check = |x: f64| {
        let (fast, libm) = (exp_branch_free(x), x.exp());
        if libm >= f64::MIN_POSITIVE && libm.is_finite() {
            worst = worst.max((fast - libm).abs() / libm);
        } else {
            // Subnormal, zero or infinite results: within one subnormal step (a subnormal has
            // fewer bits, so one rounding of e·2ⁿ may land on the neighbour).
            assert!(
                fast == libm || (fast - libm).abs() <= 4.9e-324,
                "exp({x}) = {fast}, libm {libm}"
            );
        }
    };
    for i in 0..=2_000_000 {
        check(-746.0 + 1456.0 * i as f64 / 2_000_000.0);
    }
    for i in 0..=200_000 {
        let x = -1.0 + 2.0 * i as f64 / 200_000.0;
        check(x);
        check(x * 1e-8);
    }
    for x in [
        0.0,
        -0.0,
        1e-300,
        -1e-300,
        709.78,
        709.782_712_893_384,
        709.79,
        -708.4,
        -744.4,
        -745.13,
        -745.14,
        1e10,
        -1e10,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN,
    ] {
        check(x);
    }
    assert!(worst <= TOL, "worst relative error {worst:e}");
    assert_eq!(exp_branch_free(0.0), 1.0);
    assert!(exp_branch_free(f64::NAN).is_nan());
    assert_eq!(exp_branch_free(f64::INFINITY), f64::INFINITY);
    assert_eq!(exp_branch_free(f64::NEG_INFINITY), 0.0);
}

/// The GELU closed form written with libm's `atan2`.
fn gelu_dual_libm(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let (a, b) = (1.0 + k11.max(0.0), 1.0 + k22.max(0.0));
    let s = a * b;
    let d = (s - k12 * k12).max(f64::MIN_POSITIVE).sqrt();
    let m = 1.0 - k11 / a - k22 / b;
    let n = k11 * k22 + m * k12 * k12;
    let ang = k12.atan2(d) / (2.0 * PI);
    let kk = k12 * (0.25 + ang) + n / (2.0 * PI * d);
    let dd = 0.25 + ang + k12 * (1.0 + 2.0 * m) / (2.0 * PI * d) + n * k12 / (2.0 * PI * d * d * d);
    (kk, dd)
}

#[test]
fn branch_free_gelu_and_sign_match_libm() {
    let (k11, k22, k12) = gaussians();
    let (mut worst_gelu, mut worst_sign): (f64, f64) = (0.0, 0.0);
    for i in 0..k12.len() {
        let (a, b, c) = (k11[i], k22[i], k12[i]);
        let (fk, ft) = gelu_dual(a, b, c);
        let (rk, rt) = gelu_dual_libm(a, b, c);
        // Relative to the size of the terms (E[φφ] has cancelling terms near k12 = −√(k11k22)).
        let d = ((1.0 + a) * (1.0 + b) - c * c)
            .max(f64::MIN_POSITIVE)
            .sqrt();
        let scale_k = c.abs() * 0.5 + (a * b + c * c) / (2.0 * PI * d);
        let scale_t =
            0.5 + 2.0 * c.abs() / (2.0 * PI * d) + (a * b + c * c) * c.abs() / (d * d * d);
        if scale_k > 0.0 {
            worst_gelu = worst_gelu.max((fk - rk).abs() / scale_k);
        }
        worst_gelu = worst_gelu.max((ft - rt).abs() / scale_t);

        let (sk, st) = Nonlinearity::Sign.dual(a, b, c);
        let prod = a * b;
        let reference = if prod <= 0.0 {
            0.0
        } else {
            FRAC_2_PI * c.atan2((prod - c * c).max(0.0).sqrt())
        };
        assert_eq!(st, 0.0);
        if reference != 0.0 {
            worst_sign = worst_sign.max((sk - reference).abs() / reference.abs());
        } else {
            assert_eq!(sk, reference, "sign at ({a}, {b}, {c})");
        }
    }
    assert!(
        worst_gelu <= TOL,
        "gelu: worst relative error {worst_gelu:e}"
    );
    assert!(
        worst_sign <= TOL,
        "sign: worst relative error {worst_sign:e}"
    );
}

#[test]
fn exponential_duals_match_libm() {
    let (k11, k22, k12) = gaussians();
    let mut worst: f64 = 0.0;
    for i in 0..k12.len() {
        let (p, q, r) = (k11[i], k22[i], k12[i]);
        if p > 100.0 || q > 100.0 {
            continue; // e^{b²·k} overflows for the exp dual, as it should.
        }
        let (a, b, c): (f64, f64, f64) = (1.3, 0.7, 0.4);
        let b2 = b * b;
        let half = 0.5 * (p + q);
        let s1 = (b2 * (r - half)).exp();
        let s2 = (-b2 * (r + half)).exp() * (2.0 * c).cos();
        let h = 0.5 * a * a;
        let (fk, ft) = Nonlinearity::Sin { a, b, c }.dual(p, q, r);
        let scale = h * (s1 + s2.abs());
        if scale > 0.0 {
            worst = worst.max((fk - h * (s1 - s2)).abs() / scale);
            worst = worst.max((ft - h * b2 * (s1 + s2)).abs() / (b2 * scale));
        }
        let gamma: f64 = 0.6;
        let e = (gamma * (2.0 * r - p - q)).exp();
        let (fk, ft) = Nonlinearity::Rbf { gamma }.dual(p, q, r);
        if e > 0.0 {
            worst = worst.max((fk - e).abs() / e);
            worst = worst.max((ft - 2.0 * gamma * e).abs() / (2.0 * gamma * e));
        }
        let (a, b): (f64, f64) = (0.7, 0.5);
        let e = a * a * ((b * b) * (0.5 * (p + q) + r)).exp();
        let (fk, ft) = Nonlinearity::Exp { a, b }.dual(p, q, r);
        worst = worst.max((fk - e).abs() / e);
        worst = worst.max((ft - b * b * e).abs() / (b * b * e));
    }
    // Two roundings of the fast exponential against libm's, plus the shared arithmetic.
    assert!(worst <= TOL, "worst relative error {worst:e}");
}
