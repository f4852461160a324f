//! The SO(3) → SO(3) group convolution's kernel operator (THEORY.md §7.3–7.5).

use nalgebra::DMatrix;
use num_complex::Complex64;
use std::f64::consts::PI;

use super::basis::{block_indices, NBlockBasis};
use super::support::conv_support;
use super::{So3Error, So3PairKernel};

/// The linear part of the SO(3) convolution kernel,
/// `A[K](R, R′) = (1/|S|) ∫_S K(RQ, R′Q) dQ` truncated to degrees `l < L_out`, with `S` the
/// region `β ≤ max_beta` (all of SO(3) for `max_beta = π`), where `K` is known on the grid of
/// bandlimit `L_in` and is projected with that grid's quadrature (THEORY.md §7.2: for
/// post-nonlinearity kernels the quadrature defines the projection).
///
/// Fourier form: `K̂_n[(l,m),(l′,m′)] = Σ w w K D^l_{mn}(R) D^{l′}_{m′,−n}(R′)`, then
/// `A[K](R,R′) = Σ_k Σ (2l+1)(2l′+1)/(8π²)² Σ_n K̂_n G_{k,n}[l,l′] conj D^l_{mk}(R)
/// conj D^{l′}_{m′,−k}(R′)` with `G_{k,n}[l,l′] = (1/|S|)∫_S conj D^l_{kn} conj D^{l′}_{−k,−n}`
/// (for all of SO(3) `(−1)^{n−k} δ_{ll′}/(2l+1)`, which is §7.4's contraction including its
/// `[|k| ≤ l]` mask).
#[derive(Debug, Clone)]
pub struct So3ConvOperator {
    bandlimit_in: usize,
    bandlimit_out: usize,
    max_beta: f64,
    support: Vec<Vec<DMatrix<f64>>>,
    input_basis: NBlockBasis,
    output_basis: NBlockBasis,
}

impl So3ConvOperator {
    /// The operator from kernels on the SO(3) grid of bandlimit `L_in` to `L_out ≤ L_in`, filter
    /// support `β ≤ max_beta ∈ (0, π]`.
    pub fn new(bandlimit_in: usize, bandlimit_out: usize, max_beta: f64) -> Result<Self, So3Error> {
        super::check_bandlimits(bandlimit_in, bandlimit_out)?;
        super::check_max_beta(max_beta)?;
        Ok(Self {
            bandlimit_in,
            bandlimit_out,
            max_beta,
            support: conv_support(bandlimit_out, max_beta),
            input_basis: NBlockBasis::new(bandlimit_in, bandlimit_out),
            output_basis: NBlockBasis::new(bandlimit_out, bandlimit_out),
        })
    }

    /// `L_in`.
    pub fn bandlimit_in(&self) -> usize {
        self.bandlimit_in
    }
    /// `L_out`.
    pub fn bandlimit_out(&self) -> usize {
        self.bandlimit_out
    }
    /// The region's maximal `β`.
    pub fn max_beta(&self) -> f64 {
        self.max_beta
    }

    /// `A[K]`; errors when `K` is not on the input grid.
    pub fn apply(&self, kernel: &So3PairKernel) -> Result<So3PairKernel, So3Error> {
        if kernel.bandlimit() != self.bandlimit_in {
            return Err(So3Error::Shape(format!(
                "so3_conv expects SO(3) features of bandlimit {}, got {}",
                self.bandlimit_in,
                kernel.bandlimit()
            )));
        }
        let khat = self.input_basis.project(kernel);
        let lo = self.bandlimit_out as i32;
        let norm = 1.0 / (64.0 * PI.powi(4));
        // Only k ≥ 0 is read by `evaluate` (the kernel is real), so k < 0 stays empty.
        let blocks: Vec<DMatrix<Complex64>> = (-(lo - 1)..lo)
            .map(|k| {
                if k < 0 {
                    return DMatrix::zeros(0, 0);
                }
                let rows = block_indices(self.bandlimit_out, k);
                DMatrix::from_fn(rows.len(), rows.len(), |i, j| {
                    let ((l, m), (lp, mp)) = (rows[i], rows[j]);
                    let top = l.min(lp) as i32;
                    let mut sum = Complex64::new(0.0, 0.0);
                    for n in -top..=top {
                        let g = self.support[(k + lo - 1) as usize][(n + lo - 1) as usize][(l, lp)];
                        if g != 0.0 {
                            let block = &khat[(n + lo - 1) as usize];
                            sum += block[(position(l, m, n), position(lp, mp, n))] * g;
                        }
                    }
                    sum * ((2 * l + 1) * (2 * lp + 1)) as f64 * norm
                })
            })
            .collect();
        Ok(self.output_basis.evaluate(&blocks))
    }
}

/// Position of `(l, m)` in the block of γ-frequency `n` (see `block_indices`): `l² − n² + l + m`.
fn position(l: usize, m: i32, n: i32) -> usize {
    let n2 = (n * n) as usize;
    (l * l - n2 + l).wrapping_add_signed(m as isize)
}
