//! Pointwise nonlinearities: finite maps `φ`, `φ′` and their Gaussian duals (THEORY.md §3).
//!
//! For a centred Gaussian `(u, v)` with covariance `[[k11, k12], [k12, k22]]` the dual returns
//! `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])`; the kernel map is `K ← E[φφ]`, `Θ ← Θ ⊙ E[φ′φ′]`.
//!
//! Closed forms: ReLU (arc-cosine), ABReLU / LeakyReLU, Erf, identity, GELU ([`gelu_dual`]).
//! Anything else goes through the Gauss–Hermite numerical dual [`GaussHermite`].
//!
//! **Accuracy of the numerical dual** (degree `d`, checked in `tests/nonlinearities.rs` against
//! the Erf closed form): relative error ≲ 1e-12 for `b²k ≲ 0.5` at `d = 40`, degrading as the
//! variance grows (1e-12–1e-7 at `b²k = 1`, 1e-4–1e-2 at `b²k = 4`). Size `d` for the largest
//! variance in your network; cost is `d²` function evaluations per kernel entry.

use std::f64::consts::{FRAC_2_SQRT_PI, PI};
use std::fmt;
use std::sync::Arc;

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
    pub fn new(n: usize) -> Self {
        assert!(n >= 1, "Gauss–Hermite degree must be ≥ 1");
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
        GaussHermite {
            nodes: x,
            weights: w,
        }
    }

    /// `(E[f(u)f(v)], E[df(u)df(v)])` for the bivariate Gaussian `(k11, k22, k12)` (THEORY.md §3):
    /// `u_i = √(2k11) z_i`, `v_ij = √(2k22)(ρ z_i + √(1−ρ²) z_j)`, `E ≈ π⁻¹ Σ w_i w_j h(u_i, v_ij)`.
    pub fn dual(
        &self,
        f: &dyn Fn(f64) -> f64,
        df: &dyn Fn(f64) -> f64,
        k11: f64,
        k22: f64,
        k12: f64,
    ) -> (f64, f64) {
        let prod = k11 * k22;
        let rho = if prod > 0.0 {
            (k12 / prod.sqrt()).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let (s1, s2) = ((2.0 * k11.max(0.0)).sqrt(), (2.0 * k22.max(0.0)).sqrt());
        let ortho = (1.0 - rho * rho).max(0.0).sqrt();
        let (mut kk, mut dd) = (0.0, 0.0);
        for (zi, wi) in self.nodes.iter().zip(&self.weights) {
            let u = s1 * zi;
            let (fu, dfu) = (f(u), df(u));
            let (mut ak, mut ad) = (0.0, 0.0);
            for (zj, wj) in self.nodes.iter().zip(&self.weights) {
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
/// Checked against the Gauss–Hermite dual in `tests/nonlinearities.rs`.
pub fn gelu_dual(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
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

/// `(s, θ)` with `s = √max(k11k22 − k12², 0)` and `θ = atan2(s, k12) ∈ [0, π]`, or `(0, π/2)`
/// when `k11·k22 = 0` (THEORY.md §3 safeguards). `atan(s/k12)` plus a branch is about twice as
/// fast as `atan2` and as accurate (the quotient adds half an ulp).
#[inline(always)]
fn arc_angle(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let prod = k11 * k22;
    if prod > 0.0 {
        let s = (prod - k12 * k12).max(0.0).sqrt();
        let theta = if k12 > 0.0 {
            (s / k12).atan()
        } else if k12 < 0.0 {
            PI + (s / k12).atan()
        } else {
            PI / 2.0
        };
        (s, theta)
    } else {
        (0.0, PI / 2.0)
    }
}

/// The ReLU (arc-cosine) dual: `((s + (π−θ)k12)/(2π), (π−θ)/(2π))`.
#[inline(always)]
pub fn relu_dual(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let (s, theta) = arc_angle(k11, k22, k12);
    (
        (s + (PI - theta) * k12) * (0.5 / PI),
        (PI - theta) * (0.5 / PI),
    )
}

/// A pointwise nonlinearity.
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
    /// Any `φ` through Gauss–Hermite quadrature (GELU uses this).
    Numerical(NumericalFn),
}

impl Nonlinearity {
    /// LeakyReLU with the given negative slope.
    pub fn leaky_relu(slope: f64) -> Self {
        Nonlinearity::AbRelu { a: slope, b: 1.0 }
    }
    /// GELU through the numerical Gauss–Hermite dual of degree `degree` (cross-check of the
    /// closed form [`Nonlinearity::Gelu`]).
    pub fn gelu_numerical(degree: usize) -> Self {
        Nonlinearity::Numerical(NumericalFn {
            name: "gelu".into(),
            f: Arc::new(gelu),
            df: Arc::new(gelu_derivative),
            rule: Arc::new(GaussHermite::new(degree)),
        })
    }
    /// A numerical nonlinearity from `φ` and `φ′`.
    pub fn numerical(
        name: &str,
        f: impl Fn(f64) -> f64 + Send + Sync + 'static,
        df: impl Fn(f64) -> f64 + Send + Sync + 'static,
        degree: usize,
    ) -> Self {
        Nonlinearity::Numerical(NumericalFn {
            name: name.into(),
            f: Arc::new(f),
            df: Arc::new(df),
            rule: Arc::new(GaussHermite::new(degree)),
        })
    }
    /// The spec name.
    pub fn name(&self) -> String {
        match self {
            Nonlinearity::Relu => "relu".into(),
            Nonlinearity::AbRelu { .. } => "abrelu".into(),
            Nonlinearity::Erf { .. } => "erf".into(),
            Nonlinearity::Identity => "identity".into(),
            Nonlinearity::Gelu => "gelu".into(),
            Nonlinearity::Numerical(n) => n.name.clone(),
        }
    }
    /// `φ(u)`.
    pub fn apply(&self, u: f64) -> f64 {
        match self {
            Nonlinearity::Relu => u.max(0.0),
            Nonlinearity::AbRelu { a, b } => a * u.min(0.0) + b * u.max(0.0),
            Nonlinearity::Erf { a, b, c } => a * erf(b * u) + c,
            Nonlinearity::Identity => u,
            Nonlinearity::Gelu => gelu(u),
            Nonlinearity::Numerical(n) => (n.f)(u),
        }
    }
    /// `φ′(u)` (at the kink of ReLU-like maps, the right derivative for `u > 0` and the left one
    /// otherwise).
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
            Nonlinearity::Erf { a, b, .. } => a * b * FRAC_2_SQRT_PI * (-(b * u) * (b * u)).exp(),
            Nonlinearity::Identity => 1.0,
            Nonlinearity::Gelu => gelu_derivative(u),
            Nonlinearity::Numerical(n) => (n.df)(u),
        }
    }

    /// `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])` for the Gaussian `(k11, k22, k12)`, with the safeguards of
    /// THEORY.md §3 (clamped correlations, safe square roots, `θ = π/2` when `k11·k22 = 0`).
    #[inline]
    pub fn dual(&self, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
        match self {
            Nonlinearity::Relu => relu_dual(k11, k22, k12),
            Nonlinearity::AbRelu { a, b } => {
                let (s, theta) = arc_angle(k11, k22, k12);
                let d2 = (a - b) * (a - b);
                let dd = (a * a + b * b) / 2.0 - d2 * theta / (2.0 * PI);
                (d2 / (2.0 * PI) * s + dd * k12, dd)
            }
            Nonlinearity::Erf { a, b, c } => {
                let b2 = b * b;
                let (k11, k22, k12) = (b2 * k11, b2 * k22, b2 * k12);
                let den = ((1.0 + 2.0 * k11) * (1.0 + 2.0 * k22) - 4.0 * k12 * k12).max(0.0);
                let kk = a * a * (2.0 / PI) * (2.0 * k12).atan2(den.sqrt()) + c * c;
                let dd = a * a * b2 * (4.0 / PI) / den.sqrt();
                (kk, dd)
            }
            Nonlinearity::Identity => (k12, 1.0),
            Nonlinearity::Gelu => gelu_dual(k11, k22, k12),
            Nonlinearity::Numerical(n) => n.rule.dual(&*n.f, &*n.df, k11, k22, k12),
        }
    }
}
