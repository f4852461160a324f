//! Filter supports: the Gram matrices of harmonics over a polar cap of S² or a region
//! `β ≤ β_max` of SO(3) (docs/theory.md#the-so3-layers-in-fourier-space), which replace the δ-structure of global support.

use entk_reps::WignerSmallDTable;
use nalgebra::DMatrix;
use std::f64::consts::PI;

/// Gauss–Legendre nodes and weights on `[a, b]` (`n` nodes, exact for polynomials of degree
/// `2n − 1`), by Newton iteration on `P_n` from Chebyshev starting points.
pub(crate) fn gauss_legendre(n: usize, a: f64, b: f64) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut derivative = 1.0;
        for _ in 0..100 {
            // Three-term recurrence for P_n(x) and P_{n−1}(x).
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 0 {
                1.0
            } else if n == 1 {
                x
            } else {
                p1
            };
            let pn1 = if n == 1 { 1.0 } else { p0 };
            derivative = n as f64 * (x * pn - pn1) / (x * x - 1.0);
            let step = pn / derivative;
            x -= step;
            if step.abs() < 1e-16 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * derivative * derivative);
        nodes.push(0.5 * (b - a) * x + 0.5 * (b + a));
        weights.push(0.5 * (b - a) * w);
    }
    (nodes, weights)
}

/// `∫_0^{β_max} d^l_{m n}(β) d^{l′}_{m′ n′}(β) sin β dβ` for all `l, l′ < L` at fixed orders:
/// the integrand is a polynomial of degree `≤ l + l′` in `cos β` (the half-angle powers pair
/// up), so Gauss–Legendre in `x = cos β` with `L + 1` nodes is exact.
fn polar_integrals(bandlimit: usize, max_beta: f64, orders: [(i32, i32); 2]) -> DMatrix<f64> {
    let (xs, ws) = gauss_legendre(bandlimit + 1, max_beta.cos(), 1.0);
    let mut out = DMatrix::zeros(bandlimit, bandlimit);
    for (x, w) in xs.iter().zip(&ws) {
        let table = WignerSmallDTable::new(bandlimit, x.clamp(-1.0, 1.0).acos()).expect("finite β");
        for l in 0..bandlimit {
            for lp in 0..bandlimit {
                let [(m, n), (mp, np)] = orders;
                let ok = |l: usize, a: i32, b: i32| {
                    a.unsigned_abs() as usize <= l && b.unsigned_abs() as usize <= l
                };
                if ok(l, m, n) && ok(lp, mp, np) {
                    out[(l, lp)] += w * table.get(l, m, n) * table.get(lp, mp, np);
                }
            }
        }
    }
    out
}

/// The S² lifting support: `G_n[l, l′] = (1/|S|) ∫_S Y_{ln}(u) Y_{l′,−n}(u) du` for a polar cap
/// `θ ≤ β_max` (`|S| = 2π(1 − cos β_max)`); for the full sphere `(−1)^n δ_{ll′}/(4π)`.
/// Indexed `[|n|-offset blocks]`: `lift_support(L, β)[n + L − 1]` is an `L×L` matrix (entries
/// with `l < |n|` or `l′ < |n|` are zero).
pub(crate) fn lift_support(bandlimit: usize, max_beta: f64) -> Vec<DMatrix<f64>> {
    let l = bandlimit as i32;
    let area = 2.0 * PI * (1.0 - max_beta.cos());
    (-(l - 1)..l)
        .map(|n| {
            // Y_ln Y_{l′,−n} = N_l N_l′ d^l_{n0} d^{l′}_{−n,0}, φ-integral 2π.
            let integrals = polar_integrals(bandlimit, max_beta, [(n, 0), (-n, 0)]);
            DMatrix::from_fn(bandlimit, bandlimit, |a, b| {
                let norm = (((2 * a + 1) * (2 * b + 1)) as f64).sqrt() / (4.0 * PI);
                2.0 * PI * norm * integrals[(a, b)] / area
            })
        })
        .collect()
}

/// The SO(3) group-convolution support for `β ≤ β_max` (`|S| = 4π²(1 − cos β_max)`):
/// `G_{k,n}[l, l′] = (1/|S|) ∫_S conj D^l_{kn}(Q) conj D^{l′}_{−k,−n}(Q) dQ
///  = (4π²/|S|) ∫_0^{β_max} d^l_{kn} d^{l′}_{−k,−n} sin β dβ`; for all of SO(3),
/// `(−1)^{n−k} δ_{ll′}/(2l+1)`. Returned as `[k + L − 1][n + L − 1]`, each `L×L`.
pub(crate) fn conv_support(bandlimit: usize, max_beta: f64) -> Vec<Vec<DMatrix<f64>>> {
    let l = bandlimit as i32;
    let volume = 4.0 * PI * PI * (1.0 - max_beta.cos());
    (-(l - 1)..l)
        .map(|k| {
            (-(l - 1)..l)
                .map(|n| {
                    polar_integrals(bandlimit, max_beta, [(k, n), (-k, -n)])
                        * (4.0 * PI * PI / volume)
                })
                .collect()
        })
        .collect()
}
