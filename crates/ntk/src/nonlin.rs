//! Pointwise nonlinearities: finite maps `φ`, `φ′` and their Gaussian duals (docs/theory.md#nonlinearities-dual-activations).
//!
//! For a centred Gaussian `(u, v)` with covariance `[[k11, k12], [k12, k22]]` the dual returns
//! `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])`; the kernel map is `K ← E[φφ]`, `Θ ← Θ ⊙ E[φ′φ′]`.
//!
//! Closed forms: ReLU (arc-cosine), ABReLU / LeakyReLU / Abs, Erf, identity, GELU
//! ([`gelu_dual`]), and neural-tangents' Sin / Cos, Rbf, Gaussian, Exp, Sign, Monomial,
//! RectifiedMonomial, Polynomial and Hermite ([`closed`]). Anything else goes through the
//! Gauss–Hermite numerical dual [`GaussHermite`]; [`NamedFn`] lists the activations known by
//! name to the spec (`elementwise_numerical`).
//!
//! **Accuracy of the numerical dual.** [`NumericalFn::dual`] (a [`GaussHermite`] rule) is
//! neural-tangents' rule (physicists' nodes, the row argument factored) averaged with its
//! transpose, so it is symmetric in its two arguments and equals neural-tangents' value exactly
//! whenever `k11 = k22`. Its error against the closed forms, measured by
//! `tests/nonlinearities.rs::quadrature_error_against_closed_forms` (which asserts 3× these):
//! largest input variance `k`, variance ratios 1, 1/3, 1/10, correlations in [−0.999, 0.999],
//! error relative to `√(E[φ(u)²]E[φ(v)²])`; first `E[φφ]` (NNGP), then `E[φ′φ′]` (NTK factor):
//!
//! | φ | degree | k = 0.5 | k = 1 | k = 4 | k = 10 |
//! |---|---|---|---|---|---|
//! | erf | 10 | 4e-4 | 7e-3 | 1e-1 | 2e-1 |
//! | erf′ | 10 | 1e-3 | 3e-2 | 6e-1 | 9e-1 |
//! | erf | 20 | 2e-7 | 5e-5 | 2e-2 | 1e-1 |
//! | erf′ | 20 | 1e-6 | 5e-4 | 2e-1 | 7e-1 |
//! | erf | 40 | 7e-14 | 7e-9 | 1e-3 | 2e-2 |
//! | erf′ | 40 | 1e-12 | 1e-7 | 2e-2 | 3e-1 |
//! | erf | 80 | 1e-15 | 1e-15 | 4e-6 | 1e-3 |
//! | erf′ | 80 | 1e-15 | 1e-14 | 1e-4 | 4e-2 |
//! | gelu | 10 | 2e-5 | 5e-4 | 1e-2 | 2e-2 |
//! | gelu′ | 10 | 6e-5 | 2e-3 | 1e-1 | 2e-1 |
//! | gelu | 20 | 3e-10 | 4e-7 | 1e-3 | 5e-3 |
//! | gelu′ | 20 | 2e-9 | 3e-6 | 1e-2 | 1e-1 |
//! | gelu | 40 | 8e-16 | 3e-13 | 9e-6 | 6e-4 |
//! | gelu′ | 40 | 7e-16 | 6e-12 | 2e-4 | 2e-2 |
//! | gelu | 80 | 1e-15 | 2e-15 | 9e-10 | 8e-6 |
//! | gelu′ | 80 | 1e-15 | 1e-15 | 5e-8 | 5e-4 |
//! | relu | 10 | 3e-2 | 3e-2 | 3e-2 | 3e-2 |
//! | relu′ | 10 | 1e-1 | 1e-1 | 1e-1 | 1e-1 |
//! | relu | 20 | 1e-2 | 1e-2 | 1e-2 | 1e-2 |
//! | relu′ | 20 | 9e-2 | 9e-2 | 9e-2 | 9e-2 |
//! | relu | 40 | 7e-3 | 7e-3 | 7e-3 | 7e-3 |
//! | relu′ | 40 | 7e-2 | 7e-2 | 7e-2 | 7e-2 |
//! | relu | 80 | 3e-3 | 3e-3 | 3e-3 | 3e-3 |
//! | relu′ | 80 | 5e-2 | 5e-2 | 5e-2 | 5e-2 |
//!
//! Smooth `φ` converge geometrically until `φ` looks steep on the scale `√k` (erf at `k ≥ 4`);
//! kinks converge only algebraically (ReLU: ≈3e-3 at degree 80, and its step derivative far
//! worse), so prefer closed forms there. Size the degree for the largest variance in your
//! network. Cost: `2d²` function evaluations per kernel entry (`d²` where `k11 = k22`).

use std::f64::consts::{FRAC_2_SQRT_PI, FRAC_PI_2, FRAC_PI_4, PI, SQRT_2};
use std::fmt;
use std::sync::Arc;

use crate::error::InputProblem;
use crate::error::NtkError;

pub(crate) mod batch;
pub mod closed;
mod named;

pub use closed::ArcCosine;
pub use named::NamedFn;

/// `erf(x)` to ≈1e-16 relative, from the positive series
/// `erf x = (2/√π) e^{−x²} Σ_n 2ⁿ x^{2n+1}/(2n+1)!!` (no cancellation); `±1` beyond `|x| = 6.5`.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax == 0.0 {
        return x;
    }
    if ax > 6.5 {
        return x.signum();
    }
    let x2 = 2.0 * ax * ax;
    let (mut term, mut sum) = (ax, ax);
    let mut n = 0.0;
    loop {
        n += 1.0;
        term *= x2 / (2.0 * n + 1.0);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    let v = (FRAC_2_SQRT_PI * (-ax * ax).exp() * sum).min(1.0);
    v.copysign(x)
}

/// Gauss–Hermite rule with the physicists' weight `e^{−z²}`: `∫ e^{−z²} f(z) dz ≈ Σ w_i f(z_i)`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussHermite {
    /// Nodes `z_i` (descending).
    pub nodes: Vec<f64>,
    /// Weights `w_i` (sum `√π`).
    pub weights: Vec<f64>,
}

impl GaussHermite {
    /// The degree-`n` rule (Newton iteration on the orthonormal Hermite recurrence; exact for
    /// polynomials of degree `< 2n`).
    /// Refuses `n = 0` (a rule needs at least one node) and `n` above
    /// 1000 (the spec's limit).
    pub fn new(n: usize) -> Result<Self, NtkError> {
        if n == 0 || n > crate::spec::MAX_QUADRATURE_DEGREE {
            return Err(NtkError::input(
                InputProblem::Argument,
                format!(
                    "Gauss–Hermite degree {n} is out of range 1..={}",
                    crate::spec::MAX_QUADRATURE_DEGREE
                ),
            ));
        }
        let pim4 = PI.powf(-0.25);
        let (mut x, mut w) = (vec![0.0; n], vec![0.0; n]);
        let nf = n as f64;
        let mut z = 0.0;
        for i in 0..n.div_ceil(2) {
            z = match i {
                0 => (2.0 * nf + 1.0).sqrt() - 1.85575 * (2.0 * nf + 1.0).powf(-0.16667),
                1 => z - 1.14 * nf.powf(0.426) / z,
                2 => 1.86 * z - 0.86 * x[0],
                3 => 1.91 * z - 0.91 * x[1],
                _ => 2.0 * z - x[i - 2],
            };
            let mut pp = 0.0;
            for _ in 0..200 {
                let (mut p1, mut p2) = (pim4, 0.0);
                for j in 1..=n {
                    let p3 = p2;
                    p2 = p1;
                    let jf = j as f64;
                    p1 = z * (2.0 / jf).sqrt() * p2 - ((jf - 1.0) / jf).sqrt() * p3;
                }
                pp = (2.0 * nf).sqrt() * p2;
                let z1 = z;
                z = z1 - p1 / pp;
                if (z - z1).abs() <= 1e-15 * z.abs().max(1.0) {
                    break;
                }
            }
            x[i] = z;
            x[n - 1 - i] = -z;
            w[i] = 2.0 / (pp * pp);
            w[n - 1 - i] = w[i];
        }
        if n % 2 == 1 {
            x[n / 2] = 0.0;
        }
        Ok(GaussHermite {
            nodes: x,
            weights: w,
        })
    }
}

/// A user-supplied pointwise function with its derivative, integrated numerically.
#[derive(Clone)]
pub struct NumericalFn {
    /// Display name.
    pub name: String,
    /// `φ`.
    pub f: Arc<dyn Fn(f64) -> f64 + Send + Sync>,
    /// `φ′`.
    pub df: Arc<dyn Fn(f64) -> f64 + Send + Sync>,
    /// The quadrature rule (its degree sets the accuracy, see the module docs).
    pub rule: Arc<GaussHermite>,
}

impl NumericalFn {
    /// `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])` for the bivariate Gaussian `(k11, k22, k12)` by
    /// neural-tangents' rule ([`NumericalFn::dual_factored`]) averaged over both orders of
    /// the arguments: symmetric under `k11 ↔ k22` bitwise, and neural-tangents' value itself
    /// when `k11 = k22`. Where the rule has converged both orders agree to rounding; where not,
    /// neural-tangents' kernel is not symmetric (`K(x, x′) ≠ K(x′, x)`) and this one is.
    pub fn dual(&self, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
        let (a, b) = self.dual_factored(k11, k22, k12);
        if k11 == k22 {
            return (a, b);
        }
        let (c, d) = self.dual_factored(k22, k11, k12);
        (0.5 * (a + c), 0.5 * (b + d))
    }

    /// neural-tangents' `ElementwiseNumerical` rule (docs/theory.md#nonlinearities-dual-activations), the row argument factored:
    /// `u_i = √(2k11) z_i`, `v_ij = √(2k22)(ρ z_i + √(1−ρ²) z_j)`,
    /// `E ≈ π⁻¹ Σ w_i w_j h(u_i, v_ij)`. Not symmetric in `(k11, k22)` beyond its convergence.
    pub fn dual_factored(&self, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
        let (f, df, rule) = (&*self.f, &*self.df, &*self.rule);
        let prod = k11 * k22;
        let rho = if prod > 0.0 {
            (k12 / prod.sqrt()).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let (s1, s2) = ((2.0 * k11.max(0.0)).sqrt(), (2.0 * k22.max(0.0)).sqrt());
        let ortho = (1.0 - rho * rho).max(0.0).sqrt();
        let (mut kk, mut dd) = (0.0, 0.0);
        for (zi, wi) in rule.nodes.iter().zip(&rule.weights) {
            let u = s1 * zi;
            let (fu, dfu) = (f(u), df(u));
            let (mut ak, mut ad) = (0.0, 0.0);
            for (zj, wj) in rule.nodes.iter().zip(&rule.weights) {
                let v = s2 * (rho * zi + ortho * zj);
                ak += wj * f(v);
                ad += wj * df(v);
            }
            kk += wi * fu * ak;
            dd += wi * dfu * ad;
        }
        (kk / PI, dd / PI)
    }
}

impl fmt::Debug for NumericalFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NumericalFn({}, degree {})",
            self.name,
            self.rule.nodes.len()
        )
    }
}

/// `GELU(u) = u Φ(u)` with `Φ` the standard normal CDF.
pub fn gelu(u: f64) -> f64 {
    0.5 * u * (1.0 + erf(u / std::f64::consts::SQRT_2))
}

/// `GELU′(u) = Φ(u) + u φ_N(u)`.
pub fn gelu_derivative(u: f64) -> f64 {
    0.5 * (1.0 + erf(u / std::f64::consts::SQRT_2)) + u * (-0.5 * u * u).exp() / (2.0 * PI).sqrt()
}

/// Closed-form GELU dual `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])` for `φ(u) = uΦ(u)`.
///
/// Writing `Φ(u) = P(Z ≤ u)` and applying Stein's lemma to `E[uv 1{u−Z₁≥0} 1{v−Z₂≥0}]` gives,
/// with `S = (1+k11)(1+k22)`, `D = √(S − k12²)` and `m = 1 − k11/(1+k11) − k22/(1+k22)`,
/// ```text
/// E[φφ]   = k12 (1/4 + atan2(k12, D)/(2π)) + (k11 k22 + m k12²)/(2πD)
/// E[φ′φ′] = ∂E[φφ]/∂k12 (Price's theorem)
///         = 1/4 + atan2(k12, D)/(2π) + k12 (1 + 2m)/(2πD) + (k11 k22 + m k12²) k12/(2πD³)
/// ```
/// Checked against the Gauss–Hermite dual in `tests/nonlinearities.rs`. Branch-free (the
/// arctangent is [`atan2_right_half`], `D > 0`), so loops over kernel entries vectorise.
#[inline(always)]
pub fn gelu_dual(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let (a, b) = (1.0 + k11.max(0.0), 1.0 + k22.max(0.0));
    let s = a * b;
    let d = (s - k12 * k12).max(f64::MIN_POSITIVE).sqrt();
    let m = 1.0 - k11 / a - k22 / b;
    let n = k11 * k22 + m * k12 * k12;
    let ang = atan2_right_half(k12, d) / (2.0 * PI);
    let kk = k12 * (0.25 + ang) + n / (2.0 * PI * d);
    let dd = 0.25 + ang + k12 * (1.0 + 2.0 * m) / (2.0 * PI * d) + n * k12 / (2.0 * PI * d * d * d);
    (kk, dd)
}

/// `atan(y/x)` for `y, x ≥ 0`, not both zero, in `[0, π/2]`; branch-free so that loops over
/// kernel entries vectorise (the libm call was a third of a ReLU network's time).
///
/// Cephes' `atan`: the argument `t = y/x` is reduced to `|r| ≤ 0.66` by
/// `atan t = π/2 − atan(1/t)` (`t > tan(3π/8)`) or `π/4 + atan((t−1)/(t+1))` (`t > 0.66`), and
/// `atan r = r + r·z·P(z)/Q(z)`, `z = r²`, with a degree-4/5 rational fit whose relative
/// error is below 2e-16 on the reduced range. Each reduction divides `y` and `x` directly, so
/// `t` is never formed and `x = 0` gives `π/2` exactly. `MOREBITS` restores the bits of π/2
/// beyond f64 (`π/2 = FRAC_PI_2 + 6.1e-17`).
#[inline(always)]
pub fn atan_ratio(y: f64, x: f64) -> f64 {
    const TAN_3PI_8: f64 = 2.414_213_562_373_095;
    const MOREBITS: f64 = 6.123_233_995_736_766e-17;
    const P: [f64; 5] = [
        -0.875_060_860_003_190_4,
        -16.157_537_187_333_652,
        -75.008_557_923_147_05,
        -122.886_668_449_013_61,
        -64.850_219_049_420_25,
    ];
    const Q: [f64; 5] = [
        24.858_464_901_423_062,
        165.027_009_831_698_85,
        432.881_060_491_290_27,
        485.390_399_635_913_7,
        194.550_657_148_261_4,
    ];
    // Reduction as a rotation by 0, π/4 or π/2: `num = y·c − x·s`, `den = x·c + y·s` with
    // `(c, s) = (1, 0)`, `(1, 1)` or `(0, 1)` (the ratio, all that matters, is the same as with
    // the normalised `(1/√2, 1/√2)`); the 0/1 factors make the products exact and keep the
    // loop free of three-way selects.
    let s = if y > 0.66 * x { 1.0 } else { 0.0 };
    let c = if y > TAN_3PI_8 * x { 0.0 } else { 1.0 };
    let num = y * c - x * s;
    let den = x * c + y * s;
    // (s, c) = (0, 1) → 0, (1, 1) → π/4, (1, 0) → π/2, each with the bits beyond f64.
    let steps = s + (1.0 - c);
    let base = steps * FRAC_PI_4;
    let extra = steps * (0.5 * MOREBITS);
    let r = num / den;
    let z = r * r;
    let p = (((P[0] * z + P[1]) * z + P[2]) * z + P[3]) * z + P[4];
    let q = ((((z + Q[0]) * z + Q[1]) * z + Q[2]) * z + Q[3]) * z + Q[4];
    base + ((r * (z * p / q) + r) + extra)
}

/// `atan2(y, x)` for `x ≥ 0` through [`atan_ratio`] (branch-free); `±0` when `y = ±0`, as
/// libm gives.
#[inline(always)]
pub fn atan2_right_half(y: f64, x: f64) -> f64 {
    let a = atan_ratio(y.abs(), x).copysign(y);
    if y == 0.0 {
        y
    } else {
        a
    }
}

/// `(s, π − θ)` with `s = √max(k11k22 − k12², 0)` and `θ = atan2(s, k12) ∈ [0, π]`, or
/// `(0, π/2)` when `k11·k22 = 0` (docs/theory.md#nonlinearities-dual-activations safeguards). `π − θ = atan2(s, −k12)` is
/// evaluated directly (no cancellation near `θ = π`) and branch-free ([`atan_ratio`]).
#[inline(always)]
fn arc_complement(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let prod = k11 * k22;
    let s = (prod - k12 * k12).max(0.0).sqrt();
    let a = atan_ratio(s, k12.abs());
    let phi = if k12 < 0.0 { a } else { PI - a };
    if prod > 0.0 {
        (s, phi)
    } else {
        (0.0, FRAC_PI_2)
    }
}

/// The ReLU (arc-cosine) dual: `((s + (π−θ)k12)/(2π), (π−θ)/(2π))`, branch-free.
#[inline(always)]
pub fn relu_dual(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let (s, phi) = arc_complement(k11, k22, k12);
    ((s + phi * k12) * (0.5 / PI), phi * (0.5 / PI))
}

/// [`relu_dual`] written with libm's `atan2`, the reference the fast form is tested against.
pub fn relu_dual_reference(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let prod = k11 * k22;
    if prod > 0.0 {
        let s = (prod - k12 * k12).max(0.0).sqrt();
        let theta = s.atan2(k12);
        (
            (s + (PI - theta) * k12) / (2.0 * PI),
            (PI - theta) / (2.0 * PI),
        )
    } else {
        (k12 / 4.0, 0.25)
    }
}

/// The Erf dual of `φ(u) = a·erf(b·u) + c` (docs/theory.md#nonlinearities-dual-activations), branch-free:
/// `(a²(2/π)·atan2(2k12, √D) + c², a²b²(4/π)/√D)` with `k ← b²k` and
/// `D = max((1+2k11)(1+2k22) − 4k12², 0)`.
#[inline(always)]
pub fn erf_dual(a: f64, b: f64, c: f64, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let b2 = b * b;
    let (k11, k22, k12) = (b2 * k11, b2 * k22, b2 * k12);
    let root = ((1.0 + 2.0 * k11) * (1.0 + 2.0 * k22) - 4.0 * k12 * k12)
        .max(0.0)
        .sqrt();
    let kk = a * a * (2.0 / PI) * atan2_right_half(2.0 * k12, root) + c * c;
    let dd = a * a * b2 * (4.0 / PI) / root;
    (kk, dd)
}

/// [`erf_dual`] written with libm's `atan2`, the reference the fast form is tested against.
pub fn erf_dual_reference(a: f64, b: f64, c: f64, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let b2 = b * b;
    let (k11, k22, k12) = (b2 * k11, b2 * k22, b2 * k12);
    let den = ((1.0 + 2.0 * k11) * (1.0 + 2.0 * k22) - 4.0 * k12 * k12).max(0.0);
    let kk = a * a * (2.0 / PI) * (2.0 * k12).atan2(den.sqrt()) + c * c;
    let dd = a * a * b2 * (4.0 / PI) / den.sqrt();
    (kk, dd)
}

/// `1.5·2⁵²`: adding it to a float of magnitude below `2⁵¹` rounds it to an integer.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

/// `eˣ`, branch-free so that loops over kernel entries vectorise (libm's `exp` is a call, which
/// does not): Cephes' `exp`, relative error below 2.2e-16 on the reduced range.
///
/// `x = n·ln2 + r` with `n` the nearest integer to `x·log₂e` and `|r| ≤ ln2/2` (`ln2` in two
/// parts, so `r` is exact), `eʳ = 1 + 2r·P(r²)/(Q(r²) − r·P(r²))`, and `2ⁿ` applied as
/// `2ʰ·2ⁿ⁻ʰ` with `h = round(n/2)`, two normal powers built from their bits, so results in the
/// subnormal range are rounded once and `x ≥ 709.79` overflows to `+∞`. NaN gives NaN.
/// Tested against libm to ≤ 1e-15 relative in `tests/simd_duals.rs`.
#[inline(always)]
pub fn exp_branch_free(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_457_519_531_25e-1;
    const LN2_LO: f64 = 1.428_606_820_309_417_3e-6;
    const P: [f64; 3] = [1.261_771_930_748_105_9e-4, 3.029_944_077_074_419_6e-2, 1.0];
    const Q: [f64; 4] = [
        3.001_985_051_386_644_6e-6,
        2.524_483_403_496_841e-3,
        2.272_655_482_081_550_3e-1,
        2.0,
    ];
    // Beyond [−746, 710] the result is 0 or ∞ anyway; the clamp keeps 2ⁿ's halves normal.
    let x = x.clamp(-746.0, 710.0);
    let n = (x * std::f64::consts::LOG2_E + ROUNDER) - ROUNDER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let rr = r * r;
    let p = r * ((P[0] * rr + P[1]) * rr + P[2]);
    let q = ((Q[0] * rr + Q[1]) * rr + Q[2]) * rr + Q[3];
    let e = 1.0 + 2.0 * (p / (q - p));
    let h = (0.5 * n + ROUNDER) - ROUNDER;
    e * pow2_integer(h) * pow2_integer(n - h)
}

/// `2ᵐ` for an integer-valued `m ∈ [−1022, 1023]`, built from its exponent bits (adding
/// `ROUNDER + 1023` puts `m + 1023` in the low mantissa bits; shifting them up makes them the
/// exponent field).
#[inline(always)]
fn pow2_integer(m: f64) -> f64 {
    f64::from_bits((m + (ROUNDER + 1023.0)).to_bits() << 52)
}

/// A pointwise nonlinearity. Spec names and parameters follow neural-tangents' `stax`
/// (snake case): see [`Nonlinearity::name`].
#[derive(Debug, Clone)]
pub enum Nonlinearity {
    /// `max(u, 0)`.
    Relu,
    /// `a·min(u,0) + b·max(u,0)`; LeakyReLU(α) is `(α, 1)`.
    AbRelu {
        /// Slope for `u < 0`.
        a: f64,
        /// Slope for `u > 0`.
        b: f64,
    },
    /// `|u|` (neural-tangents' `Abs`, ABReLU(−1, 1)).
    Abs,
    /// `a·erf(b·u) + c`.
    Erf {
        /// Amplitude.
        a: f64,
        /// Input scale.
        b: f64,
        /// Offset.
        c: f64,
    },
    /// `u`.
    Identity,
    /// Exact GELU `u Φ(u)` in closed form (see [`gelu_dual`]).
    Gelu,
    /// `a·sin(b·u + c)` ([`closed::sin_dual`]).
    Sin {
        /// Amplitude.
        a: f64,
        /// Input scale.
        b: f64,
        /// Phase.
        c: f64,
    },
    /// `a·cos(b·u + c)`, i.e. `a·sin(b·u + c + π/2)` as in neural-tangents.
    Cos {
        /// Amplitude.
        a: f64,
        /// Input scale.
        b: f64,
        /// Phase.
        c: f64,
    },
    /// `√2·sin(√(2γ)·u + π/4)`, whose NNGP is the RBF kernel ([`closed::rbf_dual`]).
    Rbf {
        /// `γ = 1/(2ℓ²)`.
        gamma: f64,
    },
    /// `a·e^{b·u²}` ([`closed::gaussian_dual`]).
    Gaussian {
        /// Amplitude.
        a: f64,
        /// Exponent scale (default −1).
        b: f64,
    },
    /// `a·e^{b·u}` ([`closed::exp_dual`]).
    Exp {
        /// Amplitude.
        a: f64,
        /// Exponent scale.
        b: f64,
    },
    /// `sign(u)`, derivative 0 almost everywhere ([`closed::sign_dual`]).
    Sign,
    /// `uⁿ` ([`closed::monomial_dual`]).
    Monomial {
        /// `n ≥ 0`.
        degree: usize,
    },
    /// `1{u ≥ 0}·u^d` ([`ArcCosine`]).
    RectifiedMonomial(ArcCosine),
    /// `Σ_n coef[n]·uⁿ` ([`closed::polynomial_dual`]).
    Polynomial {
        /// Coefficients, constant term first (numpy's order).
        coef: Vec<f64>,
    },
    /// `He_n(u)/√n!` ([`closed::hermite_dual`]; exact at any variance).
    Hermite {
        /// `n ≥ 0`.
        degree: usize,
    },
    /// Any `φ` through Gauss–Hermite quadrature (GELU uses this).
    Numerical(NumericalFn),
}

/// The spec form: the name of [`Nonlinearity::name`] with its parameters in the spec's field
/// names, e.g. `relu`, `erf(a=1, b=1, c=0)`, `gelu(degree=80)` (what plans print).
impl fmt::Display for Nonlinearity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Nonlinearity::AbRelu { a, b } => write!(f, "{name}(a={a}, b={b})"),
            Nonlinearity::Erf { a, b, c }
            | Nonlinearity::Sin { a, b, c }
            | Nonlinearity::Cos { a, b, c } => write!(f, "{name}(a={a}, b={b}, c={c})"),
            Nonlinearity::Rbf { gamma } => write!(f, "{name}(gamma={gamma})"),
            Nonlinearity::Gaussian { a, b } | Nonlinearity::Exp { a, b } => {
                write!(f, "{name}(a={a}, b={b})")
            }
            Nonlinearity::Monomial { degree } | Nonlinearity::Hermite { degree } => {
                write!(f, "{name}(degree={degree})")
            }
            Nonlinearity::RectifiedMonomial(r) => write!(f, "{name}(degree={})", r.degree),
            Nonlinearity::Polynomial { coef } => write!(f, "{name}(coef={coef:?})"),
            Nonlinearity::Numerical(n) => {
                write!(f, "{name} [Gauss–Hermite degree {}]", n.rule.nodes.len())
            }
            Nonlinearity::Relu
            | Nonlinearity::Abs
            | Nonlinearity::Identity
            | Nonlinearity::Gelu
            | Nonlinearity::Sign => f.write_str(&name),
        }
    }
}

/// `x^n` for a small non-negative integer `n` (`0⁰ = 1`).
fn powu(x: f64, n: usize) -> f64 {
    x.powi(n as i32)
}

impl Nonlinearity {
    /// LeakyReLU with the given negative slope.
    pub fn leaky_relu(slope: f64) -> Self {
        Nonlinearity::AbRelu { a: slope, b: 1.0 }
    }
    /// `1{u ≥ 0}·u^degree`.
    pub fn rectified_monomial(degree: usize) -> Self {
        Nonlinearity::RectifiedMonomial(ArcCosine::new(degree))
    }
    /// GELU through the numerical Gauss–Hermite dual of degree `degree` (cross-check of the
    /// closed form [`Nonlinearity::Gelu`]).
    /// Refuses a degree outside `1..=`1000 (the spec's limit).
    pub fn gelu_numerical(degree: usize) -> Result<Self, NtkError> {
        Ok(Nonlinearity::Numerical(NumericalFn {
            name: "gelu".into(),
            f: Arc::new(gelu),
            df: Arc::new(gelu_derivative),
            rule: Arc::new(GaussHermite::new(degree)?),
        }))
    }
    /// A named activation ([`NamedFn`]) through the Gauss–Hermite dual of degree `degree`
    /// (`{"type": "elementwise_numerical", "fn": NAME, "degree": N}`).
    /// Refuses a degree outside `1..=`1000 (the spec's limit).
    pub fn named_numerical(f: NamedFn, degree: usize) -> Result<Self, NtkError> {
        Ok(Nonlinearity::Numerical(NumericalFn {
            name: format!("elementwise_numerical({f})"),
            f: Arc::new(move |u| f.apply(u)),
            df: Arc::new(move |u| f.derivative(u)),
            rule: Arc::new(GaussHermite::new(degree)?),
        }))
    }
    /// A numerical nonlinearity from `φ` and `φ′`.
    pub fn numerical(
        name: &str,
        f: impl Fn(f64) -> f64 + Send + Sync + 'static,
        df: impl Fn(f64) -> f64 + Send + Sync + 'static,
        degree: usize,
    ) -> Result<Self, NtkError> {
        Ok(Nonlinearity::Numerical(NumericalFn {
            name: name.into(),
            f: Arc::new(f),
            df: Arc::new(df),
            rule: Arc::new(GaussHermite::new(degree)?),
        }))
    }
    /// The spec name.
    pub fn name(&self) -> String {
        match self {
            Nonlinearity::Relu => "relu".into(),
            Nonlinearity::AbRelu { .. } => "abrelu".into(),
            Nonlinearity::Abs => "abs".into(),
            Nonlinearity::Erf { .. } => "erf".into(),
            Nonlinearity::Identity => "identity".into(),
            Nonlinearity::Gelu => "gelu".into(),
            Nonlinearity::Sin { .. } => "sin".into(),
            Nonlinearity::Cos { .. } => "cos".into(),
            Nonlinearity::Rbf { .. } => "rbf".into(),
            Nonlinearity::Gaussian { .. } => "gaussian".into(),
            Nonlinearity::Exp { .. } => "exp".into(),
            Nonlinearity::Sign => "sign".into(),
            Nonlinearity::Monomial { .. } => "monomial".into(),
            Nonlinearity::RectifiedMonomial(_) => "rectified_monomial".into(),
            Nonlinearity::Polynomial { .. } => "polynomial".into(),
            Nonlinearity::Hermite { .. } => "hermite".into(),
            Nonlinearity::Numerical(n) => n.name.clone(),
        }
    }
    /// `φ(u)`.
    pub fn apply(&self, u: f64) -> f64 {
        match self {
            Nonlinearity::Relu => u.max(0.0),
            Nonlinearity::AbRelu { a, b } => a * u.min(0.0) + b * u.max(0.0),
            Nonlinearity::Abs => u.abs(),
            Nonlinearity::Erf { a, b, c } => a * erf(b * u) + c,
            Nonlinearity::Identity => u,
            Nonlinearity::Gelu => gelu(u),
            Nonlinearity::Sin { a, b, c } => a * (b * u + c).sin(),
            Nonlinearity::Cos { a, b, c } => a * (b * u + c + FRAC_PI_2).sin(),
            Nonlinearity::Rbf { gamma } => SQRT_2 * ((2.0 * gamma).sqrt() * u + FRAC_PI_4).sin(),
            Nonlinearity::Gaussian { a, b } => a * (b * u * u).exp(),
            Nonlinearity::Exp { a, b } => a * (b * u).exp(),
            Nonlinearity::Sign => {
                if u == 0.0 {
                    0.0
                } else {
                    u.signum()
                }
            }
            Nonlinearity::Monomial { degree } => powu(u, *degree),
            Nonlinearity::RectifiedMonomial(r) => {
                if u >= 0.0 {
                    powu(u, r.degree)
                } else {
                    0.0
                }
            }
            Nonlinearity::Polynomial { coef } => coef.iter().rev().fold(0.0, |acc, c| acc * u + c),
            Nonlinearity::Hermite { degree } => closed::hermite_value(*degree, u).0,
            Nonlinearity::Numerical(n) => (n.f)(u),
        }
    }
    /// `φ′(u)` (at the kink of ReLU-like maps, the right derivative for `u > 0` and the left one
    /// otherwise; 0 for `sign` and the degree-0 rectified monomial, as in neural-tangents).
    pub fn derivative(&self, u: f64) -> f64 {
        match self {
            Nonlinearity::Relu => {
                if u > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Nonlinearity::AbRelu { a, b } => {
                if u > 0.0 {
                    *b
                } else {
                    *a
                }
            }
            Nonlinearity::Abs => {
                if u > 0.0 {
                    1.0
                } else {
                    -1.0
                }
            }
            Nonlinearity::Erf { a, b, .. } => a * b * FRAC_2_SQRT_PI * (-(b * u) * (b * u)).exp(),
            Nonlinearity::Identity => 1.0,
            Nonlinearity::Gelu => gelu_derivative(u),
            Nonlinearity::Sin { a, b, c } => a * b * (b * u + c).cos(),
            Nonlinearity::Cos { a, b, c } => a * b * (b * u + c + FRAC_PI_2).cos(),
            Nonlinearity::Rbf { gamma } => {
                let s = (2.0 * gamma).sqrt();
                SQRT_2 * s * (s * u + FRAC_PI_4).cos()
            }
            Nonlinearity::Gaussian { a, b } => 2.0 * a * b * u * (b * u * u).exp(),
            Nonlinearity::Exp { a, b } => a * b * (b * u).exp(),
            Nonlinearity::Sign => 0.0,
            Nonlinearity::Monomial { degree } => match degree {
                0 => 0.0,
                &n => n as f64 * powu(u, n - 1),
            },
            Nonlinearity::RectifiedMonomial(r) => match r.degree {
                0 => 0.0,
                n if u >= 0.0 => n as f64 * powu(u, n - 1),
                _ => 0.0,
            },
            Nonlinearity::Polynomial { coef } => coef
                .iter()
                .enumerate()
                .skip(1)
                .rev()
                .fold(0.0, |acc, (n, c)| acc * u + n as f64 * c),
            Nonlinearity::Hermite { degree } => closed::hermite_value(*degree, u).1,
            Nonlinearity::Numerical(n) => (n.df)(u),
        }
    }

    /// `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])` for the Gaussian `(k11, k22, k12)`, with the safeguards of
    /// docs/theory.md#nonlinearities-dual-activations (clamped correlations, safe square roots, `θ = π/2` when `k11·k22 = 0`).
    #[inline]
    pub fn dual(&self, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
        match self {
            Nonlinearity::Relu => relu_dual(k11, k22, k12),
            Nonlinearity::AbRelu { a, b } => abrelu_dual(*a, *b, k11, k22, k12),
            Nonlinearity::Abs => abrelu_dual(-1.0, 1.0, k11, k22, k12),
            Nonlinearity::Erf { a, b, c } => erf_dual(*a, *b, *c, k11, k22, k12),
            Nonlinearity::Identity => (k12, 1.0),
            Nonlinearity::Gelu => gelu_dual(k11, k22, k12),
            Nonlinearity::Sin { a, b, c } => closed::sin_dual(*a, *b, *c, k11, k22, k12),
            Nonlinearity::Cos { a, b, c } => closed::sin_dual(*a, *b, c + FRAC_PI_2, k11, k22, k12),
            Nonlinearity::Rbf { gamma } => closed::rbf_dual(*gamma, k11, k22, k12),
            Nonlinearity::Gaussian { a, b } => closed::gaussian_dual(*a, *b, k11, k22, k12),
            Nonlinearity::Exp { a, b } => closed::exp_dual(*a, *b, k11, k22, k12),
            Nonlinearity::Sign => closed::sign_dual(k11, k22, k12),
            Nonlinearity::Monomial { degree } => closed::monomial_dual(*degree, k11, k22, k12),
            Nonlinearity::RectifiedMonomial(r) => r.dual(k11, k22, k12),
            Nonlinearity::Polynomial { coef } => closed::polynomial_dual(coef, k11, k22, k12),
            Nonlinearity::Hermite { degree } => closed::hermite_dual(*degree, k11, k22, k12),
            Nonlinearity::Numerical(n) => n.dual(k11, k22, k12),
        }
    }

    /// `Err` with the reason when the dual is not finite for input variances up to `max_var`
    /// (only `gaussian` with `b > 0` has such a domain; overflow elsewhere is caught by the Gram
    /// engine's output check, which names the layer).
    pub fn check_variance(&self, max_var: f64) -> std::result::Result<(), String> {
        match self {
            Nonlinearity::Gaussian { b, .. } => closed::gaussian_domain(*b, max_var),
            _ => Ok(()),
        }
    }
}

/// The ABReLU dual (docs/theory.md#nonlinearities-dual-activations), `(a−b)²/(2π)·s + [(a²+b²)/2 − (a−b)²θ/(2π)]·k12`.
#[inline(always)]
pub(crate) fn abrelu_dual(a: f64, b: f64, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let (s, phi) = arc_complement(k11, k22, k12);
    let d2 = (a - b) * (a - b);
    let dd = (a * a + b * b) / 2.0 - d2 * (PI - phi) / (2.0 * PI);
    (d2 / (2.0 * PI) * s + dd * k12, dd)
}

/// The names `elementwise_numerical` accepts, comma-separated.
pub fn named_fn_names() -> String {
    named::NAMES.join(", ")
}
