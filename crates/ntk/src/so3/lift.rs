//! The S² → SO(3) lifting layer's kernel operator (docs/theory.md#the-so3-layers-in-fourier-space).

use entk_reps::{FourierTransform, S2Transform};
use nalgebra::DMatrix;
use num_complex::Complex64;
use std::sync::OnceLock;

use super::basis::{block_indices, NBlockBasis};
use super::support::lift_support;
use super::{So3Error, So3PairKernel};

/// Flat index of `(l, m)` in an `L²`-long list ordered by `l`, then `m`: `l² + l + m`.
pub(crate) fn lm_index(l: usize, m: i32) -> usize {
    (l * l + l).wrapping_add_signed(m as isize)
}

/// Per-channel quadrature coefficients of one S² signal
/// ([`S2LiftOperator::quadrature_coefficients`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QuadratureCoefficients {
    /// Real parts, `C × L_out²` (columns `lm_index(l, m)`).
    pub re: DMatrix<f64>,
    /// Imaginary parts.
    pub im: DMatrix<f64>,
}

/// The linear part of the lifting kernel,
/// `A[K⁰](R, R′) = (1/|S|) ∫_S K⁰(Ru, R′u) du` truncated to degrees `l < L_out`, where
/// `K⁰(y, y′) = (1/C) Σ_c x_c(y) x′_c(y′)` and `S` is the polar cap `θ ≤ max_beta` (the whole
/// sphere for `max_beta = π`).
///
/// Fourier form (docs/theory.md#the-so3-layers-in-fourier-space): with `K̂[l,m; l′,m′] = (1/C) Σ_c x̂_{c,lm} x̂′_{c,l′m′}`,
/// `A[K⁰](R,R′) = Σ K̂ · G_n[l,l′] · conj D^l_{mn}(R) conj D^{l′}_{m′,−n}(R′)`, where
/// `G_n[l,l′] = (1/|S|)∫_S Y_{ln} Y_{l′,−n}` (for the sphere `(−1)^n δ_{ll′}/4π`). The output
/// lives on the SO(3) grid of bandlimit `L_out`.
#[derive(Debug, Clone)]
pub struct S2LiftOperator {
    bandlimit_in: usize,
    bandlimit_out: usize,
    max_beta: f64,
    /// The S² transform of the input grid, built on first use by
    /// [`S2LiftOperator::coefficients`] (the kernel path uses the quadrature tables below).
    transform: OnceLock<S2Transform>,
    /// Real part of `w_p conj Y_lm(u_p)` on the input grid, `P_in × L_out²`.
    harmonics_re: DMatrix<f64>,
    /// Imaginary part of the same.
    harmonics_im: DMatrix<f64>,
    support: Vec<DMatrix<f64>>,
    basis: NBlockBasis,
}

impl S2LiftOperator {
    /// The operator from S² signals of bandlimit `L_in` to SO(3) kernels of bandlimit
    /// `L_out ≤ L_in`, filter support `θ ≤ max_beta ∈ (0, π]`.
    pub fn new(bandlimit_in: usize, bandlimit_out: usize, max_beta: f64) -> Result<Self, So3Error> {
        super::check_bandlimits(bandlimit_in, bandlimit_out)?;
        super::check_max_beta(max_beta)?;
        let grid = entk_groups::DriscollHealyGrid::new(bandlimit_in)
            .map_err(entk_reps::RepsError::from)?;
        let lms = bandlimit_out * bandlimit_out;
        let mut weighted_conj_harmonics = DMatrix::zeros(grid.len(), lms);
        // `Y_lm(θ, φ) = e^{imφ} Y_lm(θ, 0)` (the same product `spherical_harmonic` forms, so
        // bitwise its values): the θ part once per ring, not once per point.
        let mut radial = vec![0.0; lms];
        for j in 0..grid.n_theta() {
            for l in 0..bandlimit_out {
                for m in -(l as i32)..=l as i32 {
                    radial[lm_index(l, m)] =
                        entk_reps::spherical_harmonic(l, m, grid.theta(j), 0.0).re;
                }
            }
            for k in 0..grid.n_phi() {
                for l in 0..bandlimit_out {
                    for m in -(l as i32)..=l as i32 {
                        let y = Complex64::cis(m as f64 * grid.phi(k)) * radial[lm_index(l, m)];
                        weighted_conj_harmonics[(j * grid.n_phi() + k, lm_index(l, m))] =
                            y.conj() * grid.weight(j);
                    }
                }
            }
        }
        Ok(Self {
            bandlimit_in,
            bandlimit_out,
            max_beta,
            harmonics_re: weighted_conj_harmonics.map(|v| v.re),
            harmonics_im: weighted_conj_harmonics.map(|v| v.im),
            transform: OnceLock::new(),
            support: lift_support(bandlimit_out, max_beta),
            basis: NBlockBasis::new(bandlimit_out, bandlimit_out),
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
    /// The cap's polar angle.
    pub fn max_beta(&self) -> f64 {
        self.max_beta
    }

    /// The truncated S² coefficients of one multi-channel signal stored `(θ, φ, C)` (channels
    /// last, as in docs/spec.md#input-arrays), as a `C × L_out²` matrix with columns `lm_index(l, m)`.
    pub fn coefficients(
        &self,
        signal: &[f64],
        channels: usize,
    ) -> Result<DMatrix<Complex64>, So3Error> {
        let points = 2 * self.bandlimit_in * (2 * self.bandlimit_in - 1);
        super::check_signal_len(("S²", self.bandlimit_in, points), channels, signal.len())?;
        let transform =
            super::get_or_try_init(&self.transform, || S2Transform::new(self.bandlimit_in))?;
        let lo = self.bandlimit_out;
        let mut out = DMatrix::zeros(channels, lo * lo);
        let mut channel = vec![0.0; points];
        for c in 0..channels {
            for (p, v) in channel.iter_mut().enumerate() {
                *v = signal[p * channels + c];
            }
            let coeffs = transform.forward(&channel)?;
            for l in 0..lo {
                for m in -(l as i32)..=l as i32 {
                    out[(c, lm_index(l, m))] = coeffs.get(l, m);
                }
            }
        }
        Ok(out)
    }

    /// `A[K⁰]` for the pair of signals with coefficient matrices `a` and `b` (from
    /// [`S2LiftOperator::coefficients`]).
    pub fn apply(&self, a: &DMatrix<Complex64>, b: &DMatrix<Complex64>) -> So3PairKernel {
        let channels = a.nrows() as f64;
        self.apply_coefficients(&(a.transpose() * b / Complex64::new(channels, 0.0)))
    }

    /// `A[K⁰]` from the input kernel on the S² grid, `k0[p₁·P + p₂] = K⁰(u_{p₁}, u_{p₂})` with
    /// `p = θ·(2L_in−1) + φ`: both slots are projected with the DH quadrature,
    /// `K̂[l,m; l′,m′] = Σ w w K⁰ conj Y_lm conj Y_{l′m′}`.
    pub fn apply_input_kernel(&self, k0: &[f64]) -> Result<So3PairKernel, So3Error> {
        let p = self.harmonics_re.nrows();
        super::check_kernel_len(p, self.bandlimit_in, k0.len())?;
        // Row-major k0 read column-major is K⁰ᵀ, so K̂ᵀ = Yᵀ K⁰ᵀ Y. Real GEMMs with the split
        // Y = Y_r + i Y_i: Yᵀ A Y = (Y_rᵀAY_r − Y_iᵀAY_i) + i(Y_rᵀAY_i + Y_iᵀAY_r).
        let k0_t = nalgebra::DMatrixView::from_slice(k0, p, p);
        let (yr, yi) = (&self.harmonics_re, &self.harmonics_im);
        let (ayr, ayi) = (k0_t * yr, k0_t * yi);
        let re = yr.transpose() * &ayr - yi.transpose() * &ayi;
        let im = yr.transpose() * &ayi + yi.transpose() * &ayr;
        let khat = re.zip_map(&im, Complex64::new).transpose();
        Ok(self.apply_coefficients(&khat))
    }

    /// The quadrature coefficients `a_c[lm] = Σ_p w_p conj Y_lm(u_p) x_c(u_p)` (`l < L_out`) of
    /// each channel of a signal stored `(θ, φ, C)`, as real and imaginary `C × L_out²` parts:
    /// the per-input half of `K̂ = Σ w w K⁰ conj Y conj Y′`, which for `K⁰ = (1/C) Σ_c x_c x′_c`
    /// factorises as `K̂ = aᵀ a′ / C` ([`S2LiftOperator::apply_quadrature`]).
    pub fn quadrature_coefficients(
        &self,
        signal: &[f64],
        channels: usize,
    ) -> Result<QuadratureCoefficients, So3Error> {
        let p = self.harmonics_re.nrows();
        super::check_signal_len(("S²", self.bandlimit_in, p), channels, signal.len())?;
        // Row-major (P, C) read column-major is the C × P matrix Xᵀ.
        let x_t = nalgebra::DMatrixView::from_slice(signal, channels, p);
        Ok(QuadratureCoefficients {
            re: x_t * &self.harmonics_re,
            im: x_t * &self.harmonics_im,
        })
    }

    /// `A[K⁰]` for the pair of signals with quadrature coefficients `a` and `b`; equals
    /// [`S2LiftOperator::apply_input_kernel`] of their input kernel up to rounding, at a
    /// fraction of the cost (no `P_in²` input kernel). It is also the more accurate route: for
    /// signals with small low-degree content the `P_in²` products of the input-kernel route
    /// cancel to `K̂`, which then carries their rounding (relative 1e-8 on rough signals).
    pub fn apply_quadrature(
        &self,
        a: &QuadratureCoefficients,
        b: &QuadratureCoefficients,
    ) -> So3PairKernel {
        let inv = 1.0 / a.re.nrows() as f64;
        let re = (a.re.tr_mul(&b.re) - a.im.tr_mul(&b.im)) * inv;
        let im = (a.re.tr_mul(&b.im) + a.im.tr_mul(&b.re)) * inv;
        self.apply_coefficients(&re.zip_map(&im, Complex64::new))
    }

    /// `A[K⁰]` from `K̂[lm_index(l,m), lm_index(l′,m′)]`.
    fn apply_coefficients(&self, khat: &DMatrix<Complex64>) -> So3PairKernel {
        let lo = self.bandlimit_out as i32;
        // Only n ≥ 0 is read by `evaluate` (the kernel is real), so n < 0 stays empty.
        let blocks: Vec<DMatrix<Complex64>> = (-(lo - 1)..lo)
            .map(|n| {
                if n < 0 {
                    return DMatrix::zeros(0, 0);
                }
                let rows = block_indices(self.bandlimit_out, n);
                let g = &self.support[(n + lo - 1) as usize];
                DMatrix::from_fn(rows.len(), rows.len(), |i, j| {
                    let ((l, m), (lp, mp)) = (rows[i], rows[j]);
                    khat[(lm_index(l, m), lm_index(lp, mp))] * g[(l, lp)]
                })
            })
            .collect();
        self.basis.evaluate(&blocks)
    }
}
