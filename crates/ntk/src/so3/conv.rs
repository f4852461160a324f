//! The SO(3) → SO(3) group convolution's kernel operator (docs/theory.md#the-so3-layers-in-fourier-space).

use entk_reps::{FourierTransform, So3Transform};
use nalgebra::DMatrix;
use num_complex::Complex64;
use std::f64::consts::PI;
use std::sync::{Arc, OnceLock};

use super::basis::{block_indices, NBlockBasis};
use super::support::conv_support;
use super::{So3Error, So3PairKernel};

/// The linear part of the SO(3) convolution kernel,
/// `A[K](R, R′) = (1/|S|) ∫_S K(RQ, R′Q) dQ` truncated to degrees `l < L_out`, with `S` the
/// region `β ≤ max_beta` (all of SO(3) for `max_beta = π`), where `K` is known on the grid of
/// bandlimit `L_in` and is projected with that grid's quadrature (docs/conventions.md#the-sphere-s²: for
/// post-nonlinearity kernels the quadrature defines the projection).
///
/// Fourier form: `K̂_n[(l,m),(l′,m′)] = Σ w w K D^l_{mn}(R) D^{l′}_{m′,−n}(R′)`, then
/// `A[K](R,R′) = Σ_k Σ (2l+1)(2l′+1)/(8π²)² Σ_n K̂_n G_{k,n}[l,l′] conj D^l_{mk}(R)
/// conj D^{l′}_{m′,−k}(R′)` with `G_{k,n}[l,l′] = (1/|S|)∫_S conj D^l_{kn} conj D^{l′}_{−k,−n}`
/// (for all of SO(3) `(−1)^{n−k} δ_{ll′}/(2l+1)`, which is the global-support contraction of docs/theory.md#the-so3-layers-in-fourier-space including its
/// `[|k| ≤ l]` mask).
#[derive(Debug, Clone)]
pub struct So3ConvOperator {
    bandlimit_in: usize,
    bandlimit_out: usize,
    max_beta: f64,
    /// `contraction[k][i + j·s_k]` for `k ≥ 0`: the sum that gives entry `(i, j)` of the
    /// output's block `k` ([`So3ConvOperator::apply_coefficients`]).
    contraction: Vec<Vec<Contraction>>,
    input_basis: Arc<NBlockBasis>,
    output_basis: Arc<NBlockBasis>,
    /// The Wigner transform of the input grid, built on first use by
    /// [`So3ConvOperator::signal_coefficients`].
    transform: OnceLock<So3Transform>,
}

/// One output coefficient `(2l+1)(2l′+1) Σ_n K̂_n[(l,m),(l′,m′)] G_{k,n}[l,l′]` of the
/// convolution, with the terms `G ≠ 0` listed once (in increasing `n`) when the operator is
/// built rather than found per pair.
#[derive(Debug, Clone)]
struct Contraction {
    /// `(2l+1)(2l′+1)`.
    scale: f64,
    /// `(n + L_out − 1, row, column, G_{k,n}[l,l′])` per surviving term.
    terms: Vec<(usize, usize, usize, f64)>,
}

/// The [`Contraction`]s of every output block `k ≥ 0` (column-major within a block).
fn contractions(bandlimit_out: usize, support: &[Vec<DMatrix<f64>>]) -> Vec<Vec<Contraction>> {
    let lo = bandlimit_out as i32;
    (0..lo)
        .map(|k| {
            let rows = block_indices(bandlimit_out, k);
            let s = rows.len();
            (0..s * s)
                .map(|ij| {
                    let ((l, m), (lp, mp)) = (rows[ij % s], rows[ij / s]);
                    let top = l.min(lp) as i32;
                    let terms = (-top..=top)
                        .filter_map(|n| {
                            let g = support[(k + lo - 1) as usize][(n + lo - 1) as usize][(l, lp)];
                            (g != 0.0).then(|| {
                                let b = (n + lo - 1) as usize;
                                (b, position(l, m, n), position(lp, mp, n), g)
                            })
                        })
                        .collect();
                    Contraction {
                        scale: ((2 * l + 1) * (2 * lp + 1)) as f64,
                        terms,
                    }
                })
                .collect()
        })
        .collect()
}

/// Per-channel Wigner coefficients `x̂^l_{c,mn} = Σ_R w_R x_c(R) D^l_{mn}(R)` (`l < L_out`) of one
/// SO(3) signal, split by the γ-frequency `n` ([`So3ConvOperator::signal_coefficients`]): the
/// per-input half of the two-slot transform of a raw input kernel
/// `K⁰(R, R′) = (1/C) Σ_c x_c(R) x′_c(R′)`, which factorises as
/// `K̂_n = (1/C) Σ_c x̂_{c,·n} x̂′_{c,·,−n}`.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalCoefficients {
    bandlimit_in: usize,
    /// `[n + L_out − 1]`: real and imaginary parts of the `C × s_n` matrix of `x̂^l_{c,mn}`,
    /// columns in the order of `block_indices(L_out, n)`.
    blocks: Vec<(DMatrix<f64>, DMatrix<f64>)>,
}

impl SignalCoefficients {
    /// The bandlimit of the signal's grid.
    pub fn bandlimit_in(&self) -> usize {
        self.bandlimit_in
    }
    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.blocks.first().map_or(0, |(re, _)| re.nrows())
    }
}

impl So3ConvOperator {
    /// The operator from kernels on the SO(3) grid of bandlimit `L_in` to `L_out ≤ L_in`, filter
    /// support `β ≤ max_beta ∈ (0, π]`.
    pub fn new(bandlimit_in: usize, bandlimit_out: usize, max_beta: f64) -> Result<Self, So3Error> {
        super::check_bandlimits(bandlimit_in, bandlimit_out)?;
        super::check_max_beta(max_beta)?;
        let output_basis = Arc::new(NBlockBasis::new(bandlimit_out, bandlimit_out));
        // Without downsampling both grids are the same: both slots hold the one table.
        let input_basis = if bandlimit_in == bandlimit_out {
            Arc::clone(&output_basis)
        } else {
            Arc::new(NBlockBasis::new(bandlimit_in, bandlimit_out))
        };
        Ok(Self {
            bandlimit_in,
            bandlimit_out,
            max_beta,
            contraction: contractions(bandlimit_out, &conv_support(bandlimit_out, max_beta)),
            input_basis,
            output_basis,
            transform: OnceLock::new(),
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
            return Err(So3Error::BandlimitMismatch {
                what: "features",
                expected: self.bandlimit_in,
                got: kernel.bandlimit(),
            });
        }
        Ok(self.apply_coefficients(&self.input_basis.project(kernel)))
    }

    /// The per-channel Wigner coefficients (degrees `l < L_out`) of one raw SO(3) signal on the
    /// input grid, stored `(γ, β, α, C)` (channels last, docs/spec.md#input-arrays): the per-input summary from
    /// which [`So3ConvOperator::apply_signals`] gives `A[K⁰]` of any pair.
    pub fn signal_coefficients(
        &self,
        signal: &[f64],
        channels: usize,
    ) -> Result<SignalCoefficients, So3Error> {
        let transform =
            super::get_or_try_init(&self.transform, || So3Transform::new(self.bandlimit_in))?;
        let points = transform.grid().len();
        super::check_signal_len(("SO(3)", self.bandlimit_in, points), channels, signal.len())?;
        let lo = self.bandlimit_out as i32;
        let mut blocks: Vec<(DMatrix<f64>, DMatrix<f64>)> = (-(lo - 1)..lo)
            .map(|n| {
                let s = block_indices(self.bandlimit_out, n).len();
                (DMatrix::zeros(channels, s), DMatrix::zeros(channels, s))
            })
            .collect();
        let mut channel = vec![0.0; points];
        for c in 0..channels {
            for (p, v) in channel.iter_mut().enumerate() {
                *v = signal[p * channels + c];
            }
            let coeffs = transform.forward(&channel)?;
            for n in -(lo - 1)..lo {
                let (re, im) = &mut blocks[(n + lo - 1) as usize];
                for (i, (l, m)) in block_indices(self.bandlimit_out, n).into_iter().enumerate() {
                    let v = coeffs.get(l, m, n);
                    re[(c, i)] = v.re;
                    im[(c, i)] = v.im;
                }
            }
        }
        Ok(SignalCoefficients {
            bandlimit_in: self.bandlimit_in,
            blocks,
        })
    }

    /// `A[K⁰]` for the raw input kernel `K⁰(R, R′) = (1/C) Σ_c x_c(R) x′_c(R′)` of two SO(3)
    /// signals summarised by [`So3ConvOperator::signal_coefficients`]. Both slots are
    /// transformed (docs/theory.md#the-so3-layers-in-fourier-space); the region `S` is invariant under multiplication by
    /// z-rotations, so only `n′ = −n` survives and the output is invariant under a common
    /// γ-shift, i.e. it lives in the Δγ-reduced layout although `K⁰` does not (docs/theory.md
    /// "Raw SO(3) inputs"). Equals [`So3ConvOperator::apply`] of the γ-shift average of `K⁰`
    /// ([`So3PairKernel::from_signals`]) up to rounding, without its `(2L−1)·P²` values.
    pub fn apply_signals(
        &self,
        a: &SignalCoefficients,
        b: &SignalCoefficients,
    ) -> Result<So3PairKernel, So3Error> {
        for x in [a, b] {
            if x.bandlimit_in != self.bandlimit_in || x.blocks.len() != 2 * self.bandlimit_out - 1 {
                return Err(So3Error::BandlimitMismatch {
                    what: "signals",
                    expected: self.bandlimit_in,
                    got: x.bandlimit_in,
                });
            }
        }
        if a.channels() != b.channels() {
            return Err(So3Error::Channels(a.channels(), b.channels()));
        }
        let inv = 1.0 / a.channels() as f64;
        let count = a.blocks.len();
        let khat: Vec<DMatrix<Complex64>> = (0..count)
            .map(|i| {
                // K̂_n = (1/C) A_nᵀ B_{−n}.
                let ((ar, ai), (br, bi)) = (&a.blocks[i], &b.blocks[count - 1 - i]);
                let re = (ar.tr_mul(br) - ai.tr_mul(bi)) * inv;
                let im = (ar.tr_mul(bi) + ai.tr_mul(br)) * inv;
                re.zip_map(&im, Complex64::new)
            })
            .collect();
        Ok(self.apply_coefficients(&khat))
    }

    /// `A[K]` from the two-slot coefficients `K̂_n` (`[n + L_out − 1]`, rows and columns in the
    /// order of `block_indices(L_out, n)`).
    fn apply_coefficients(&self, khat: &[DMatrix<Complex64>]) -> So3PairKernel {
        let lo = self.bandlimit_out;
        let norm = 1.0 / (64.0 * PI.powi(4));
        // Only k ≥ 0 is read by `evaluate` (the kernel is real), so k < 0 stays empty.
        let blocks: Vec<DMatrix<Complex64>> = (0..lo - 1)
            .map(|_| DMatrix::zeros(0, 0))
            .chain(self.contraction.iter().map(|entries| {
                let s = entries.len().isqrt();
                DMatrix::from_fn(s, s, |i, j| {
                    let entry = &entries[i + j * s];
                    let mut sum = Complex64::new(0.0, 0.0);
                    for &(n, r, c, g) in &entry.terms {
                        sum += khat[n][(r, c)] * g;
                    }
                    sum * entry.scale * norm
                })
            }))
            .collect();
        self.output_basis.evaluate(&blocks)
    }
}

/// Position of `(l, m)` in the block of γ-frequency `n` (see `block_indices`): `l² − n² + l + m`.
fn position(l: usize, m: i32, n: i32) -> usize {
    let n2 = (n * n) as usize;
    (l * l - n2 + l).wrapping_add_signed(m as isize)
}
