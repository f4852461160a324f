//! An independent bivariate-Gaussian integrator for the nonlinearity tests: polar coordinates
//! of the whitened variable with Gauss–Legendre panels, the angular range split at the rays
//! where `u = 0` or `v = 0` (so kinks and jumps of `φ` at 0 fall on panel edges and piecewise
//! smooth integrands converge geometrically). It shares nothing with the Gauss–Hermite rule of
//! the engine.
#![allow(dead_code)]

use std::f64::consts::PI;

/// Gauss–Legendre nodes and weights on [−1, 1]: the tests' own rule (`common::gauss_legendre`,
/// Newton on the Legendre recurrence), not the crate's.
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    crate::common::gauss_legendre(n, -1.0, 1.0)
}

/// `E[h(u, v)]` for the centred Gaussian with covariance `[[k11, k12], [k12, k22]]`
/// (positive semi-definite; `k11 > 0`).
pub fn expect2(h: &dyn Fn(f64, f64) -> f64, k11: f64, k22: f64, k12: f64) -> f64 {
    // (u, v) = L z with L lower-triangular: u = a z1, v = b z1 + c z2.
    let a = k11.sqrt();
    let b = k12 / a;
    let c = (k22 - b * b).max(0.0).sqrt();
    // Angles t of z = (cos t, sin t) where u = 0 (cos t = 0) or v = 0 (b cos t + c sin t = 0).
    let mut cuts = vec![0.5 * PI, 1.5 * PI];
    let t0 = (-b).atan2(c).rem_euclid(PI);
    cuts.push(t0);
    cuts.push(t0 + PI);
    cuts.push(0.0);
    cuts.push(2.0 * PI);
    cuts.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let (ga, wa) = gauss_legendre(40);
    let (gr, wr) = gauss_legendre(24);
    let (r_max, panels) = (13.0, 13);
    let mut total = 0.0;
    for seg in cuts.windows(2) {
        let (t_lo, t_hi) = (seg[0], seg[1]);
        if t_hi - t_lo < 1e-15 {
            continue;
        }
        for (x, wx) in ga.iter().zip(&wa) {
            let t = 0.5 * (t_hi - t_lo) * x + 0.5 * (t_hi + t_lo);
            let wt = 0.5 * (t_hi - t_lo) * wx;
            let (ct, st) = (t.cos(), t.sin());
            let mut radial = 0.0;
            for p in 0..panels {
                let (r_lo, r_hi) = (
                    r_max * p as f64 / panels as f64,
                    r_max * (p + 1) as f64 / panels as f64,
                );
                for (y, wy) in gr.iter().zip(&wr) {
                    let r = 0.5 * (r_hi - r_lo) * y + 0.5 * (r_hi + r_lo);
                    let wrr = 0.5 * (r_hi - r_lo) * wy;
                    let (z1, z2) = (r * ct, r * st);
                    radial += wrr * r * (-0.5 * r * r).exp() * h(a * z1, b * z1 + c * z2);
                }
            }
            total += wt * radial;
        }
    }
    total / (2.0 * PI)
}

/// `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])` by [`expect2`].
pub fn dual2(
    f: &dyn Fn(f64) -> f64,
    df: &dyn Fn(f64) -> f64,
    k11: f64,
    k22: f64,
    k12: f64,
) -> (f64, f64) {
    (
        expect2(&|u, v| f(u) * f(v), k11, k22, k12),
        expect2(&|u, v| df(u) * df(v), k11, k22, k12),
    )
}
