//! The spherical-harmonic transform on the Driscoll–Healy grid of S² (docs/conventions.md#so3): the
//! coefficient container [`S2Coefficients`] (normalisation, coefficient order and signal layout
//! are stated there), the fast `O(L³)` [`S2Transform`] and the
//! `O(L⁴)` direct-quadrature oracle [`S2TransformNaive`].

use std::fmt;
use std::sync::Arc;

use entk_groups::DriscollHealyGrid;
use nalgebra::Vector3;
use num_complex::Complex64;
use rand::{Rng, RngCore};
use rustfft::{Fft, FftPlanner};

use crate::harmonics::{sphere_angles, SphericalHarmonics};
use crate::so3_validate::{
    check_finite_complex, check_length, check_nonzero_bandlimit, fft_bin, for_each_chunk,
};
use crate::transform::FourierTransform;
use crate::RepsError;

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// Spherical-harmonic coefficients `f̂_lm`, `l < L`, stored at `(l, m + L − 1)` of a row-major
/// `(L, 2L−1)` array; entries with `|m| > l` are zero and never read.
///
/// A real signal has `f̂_{l,−m} = (−1)^m conj f̂_lm`.
///
/// **The transform** between signals on the Driscoll–Healy grid of S² and these coefficients
/// (docs/conventions.md#so3).
///
/// **Normalisation.** Forward `f̂_lm = ∫_{S²} f(u) conj Y_lm(u) du`, computed as the DH quadrature
/// `Σ_{j,k} w_j f(θ_j, φ_k) conj Y_lm(θ_j, φ_k)`; inverse `f(u) = Σ_{l<L, |m|≤l} f̂_lm Y_lm(u)`,
/// with the orthonormal Condon–Shortley harmonics of [`crate::spherical_harmonic`]. No other
/// factors: Parseval reads `∫|f|² = Σ|f̂_lm|²`.
///
/// **Coefficient order.** `f̂_lm` at `(l, m + L − 1)` of a row-major `(L, 2L−1)` array
/// ([`S2Coefficients`]), zero where `|m| > l`.
///
/// **Signal layout.** Flat row-major `(θ, φ)`, `φ` fastest, length `2L(2L−1)`, on the grid
/// `θ_j = π(2j+1)/(4L)`, `φ_k = 2πk/(2L−1)` of [`DriscollHealyGrid`] (weights `w_j` from
/// [`DriscollHealyGrid::weight`]).
///
/// The quadrature is exact for products of two bandlimit-`L` functions, so forward ∘ inverse is
/// the identity on coefficients, and inverse ∘ forward is the identity on bandlimited signals;
/// for other signals the forward transform is the DH projection the kernels use.
///
/// Transformed by [`S2Transform`] and the reference [`S2TransformNaive`] ([`FourierTransform`]).
#[derive(Debug, Clone, PartialEq)]
pub struct S2Coefficients {
    bandlimit: usize,
    data: Vec<Complex64>,
}

impl S2Coefficients {
    /// All-zero coefficients of bandlimit `L ≥ 1`.
    pub fn zeros(bandlimit: usize) -> Result<Self, RepsError> {
        check_nonzero_bandlimit(bandlimit)?;
        Ok(Self {
            bandlimit,
            data: vec![ZERO; bandlimit * (2 * bandlimit - 1)],
        })
    }

    /// Wraps a flat `(L, 2L−1)` array; errors for `L = 0`, a wrong length or non-finite values.
    pub fn from_vec(bandlimit: usize, data: Vec<Complex64>) -> Result<Self, RepsError> {
        check_nonzero_bandlimit(bandlimit)?;
        let expected = bandlimit * (2 * bandlimit - 1);
        check_length("S² coefficients", expected, data.len(), || {
            format!("L(2L−1) = {expected} values in (l, m + L − 1) order for L = {bandlimit}")
        })?;
        check_finite_complex("S² coefficients", &data)?;
        Ok(Self { bandlimit, data })
    }

    /// `f̂_lm = f(l, m)` for `l < L`, `|m| ≤ l`.
    pub fn from_fn(
        bandlimit: usize,
        mut f: impl FnMut(usize, i32) -> Complex64,
    ) -> Result<Self, RepsError> {
        let mut out = Self::zeros(bandlimit)?;
        for l in 0..bandlimit {
            for m in -(l as i32)..=l as i32 {
                out.set(l, m, f(l, m));
            }
        }
        check_finite_complex("S² coefficients", &out.data)?;
        Ok(out)
    }

    /// Coefficients of a random real bandlimit-`L` signal: real and imaginary parts uniform in
    /// `[−1, 1]` for `m > 0`, `f̂_l0` real, and `f̂_{l,−m} = (−1)^m conj f̂_lm`.
    pub fn random_real(bandlimit: usize, rng: &mut dyn RngCore) -> Result<Self, RepsError> {
        let mut out = Self::zeros(bandlimit)?;
        for l in 0..bandlimit {
            out.set(l, 0, Complex64::new(rng.random_range(-1.0..1.0), 0.0));
            for m in 1..=l as i32 {
                let value =
                    Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
                let sign = if m % 2 == 0 { 1.0 } else { -1.0 };
                out.set(l, m, value);
                out.set(l, -m, value.conj() * sign);
            }
        }
        Ok(out)
    }

    /// `(L, 2L−1)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.bandlimit, 2 * self.bandlimit - 1)
    }

    /// The flat index `l·(2L−1) + m + L − 1` of `f̂_lm`.
    ///
    /// # Panics
    /// If `l ≥ L` or `|m| > l`.
    pub fn index(&self, l: usize, m: i32) -> usize {
        assert!(
            l < self.bandlimit,
            "degree {l} out of range for bandlimit {}",
            self.bandlimit
        );
        assert!(
            m.unsigned_abs() as usize <= l,
            "order {m} out of range for degree {l}"
        );
        l * (2 * self.bandlimit - 1) + (m + self.bandlimit as i32 - 1) as usize
    }

    /// `f̂_lm`; zero when `|m| > l`.
    ///
    /// # Panics
    /// If `l ≥ L`.
    pub fn get(&self, l: usize, m: i32) -> Complex64 {
        assert!(
            l < self.bandlimit,
            "degree {l} out of range for bandlimit {}",
            self.bandlimit
        );
        if m.unsigned_abs() as usize > l {
            return ZERO;
        }
        self.data[self.index(l, m)]
    }

    /// Sets `f̂_lm`.
    ///
    /// # Panics
    /// If `l ≥ L` or `|m| > l`.
    pub fn set(&mut self, l: usize, m: i32, value: Complex64) {
        let index = self.index(l, m);
        self.data[index] = value;
    }

    /// The same expansion at bandlimit `L_out`: degrees `l < min(L, L_out)` kept, the rest zero.
    fn resized(&self, bandlimit_out: usize) -> Result<Self, RepsError> {
        Self::from_fn(bandlimit_out, |l, m| {
            if l < self.bandlimit {
                self.get(l, m)
            } else {
                ZERO
            }
        })
    }

    /// The expansion `f(θ, φ) = Σ f̂_lm Y_lm(θ, φ)` at any angles, `O(L²)`; NaN for non-finite
    /// angles.
    pub fn evaluate_angles(&self, theta: f64, phi: f64) -> Complex64 {
        if !theta.is_finite() || !phi.is_finite() {
            return Complex64::new(f64::NAN, f64::NAN);
        }
        let harmonics = SphericalHarmonics::new(self.bandlimit).expect("bandlimit is at least 1");
        let values = harmonics.evaluate(theta, phi);
        values.iter().zip(&self.data).map(|(y, c)| y * c).sum()
    }

    /// The expansion `f(u) = Σ f̂_lm Y_lm(u)` at the direction of a non-zero vector `u`.
    pub fn evaluate(&self, u: &Vector3<f64>) -> Complex64 {
        let (theta, phi) = sphere_angles(u);
        self.evaluate_angles(theta, phi)
    }
}

crate::transform::spectrum_and_grid!(
    S2Coefficients,
    DriscollHealyGrid,
    "S²",
    "`|m| > l`",
    "2L(2L−1) = {} values on the (θ, φ) Driscoll–Healy grid of L = {}"
);

/// The fast S² transform; normalisation, coefficient order and signal layout are those of
/// [`S2Coefficients`].
///
/// Separation of variables: an FFT of length `2L−1` along each θ-row, then for each `(l, m)` a
/// sum over the `2L` rows against the precomputed `λ_lm(θ_j) = √((2l+1)/4π) d^l_{m0}(θ_j)`:
/// `O(L³)`. The grid is symmetric, `θ_{2L−1−j} = π − θ_j`, and `λ_lm(π − θ) = (−1)^{l+m} λ_lm(θ)`,
/// so only `j < L` is stored (`L²(2L−1)` numbers) and rows are processed in mirror pairs. Built
/// once per bandlimit; thread-safe; rayon-parallel over orders `m` for `L ≥ 12`.
///
/// ```
/// use entk_reps::{FourierTransform, S2Coefficients, S2Transform};
/// let transform = S2Transform::new(8)?;
/// // f = Y_2^1 + conj-symmetric partner, a real bandlimited signal.
/// let mut coeffs = S2Coefficients::zeros(8)?;
/// coeffs.set(2, 1, num_complex::Complex64::new(1.0, 0.5));
/// coeffs.set(2, -1, num_complex::Complex64::new(-1.0, 0.5));
/// let signal = transform.inverse_real(&coeffs)?; // 16 × 15 samples, (θ, φ) row-major
/// assert_eq!(signal.len(), 16 * 15);
/// let back = transform.forward(&signal)?;
/// assert!((back.get(2, 1) - coeffs.get(2, 1)).norm() < 1e-12);
/// # Ok::<(), entk_reps::RepsError>(())
/// ```
#[derive(Clone)]
pub struct S2Transform {
    grid: DriscollHealyGrid,
    weights: Vec<f64>,
    /// `polar[(m_index·L + j)·L + l] = √((2l+1)/4π) d^l_{m0}(θ_j)` for `j < L` (zero for
    /// `l < |m|`).
    polar: Vec<f64>,
    fft_forward: Arc<dyn Fft<f64>>,
    fft_inverse: Arc<dyn Fft<f64>>,
}

impl fmt::Debug for S2Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S2Transform")
            .field("bandlimit", &self.grid.bandlimit())
            .finish()
    }
}

impl S2Transform {
    /// Plans the transform of bandlimit `L ≥ 1`.
    pub fn new(bandlimit: usize) -> Result<Self, RepsError> {
        let grid = DriscollHealyGrid::new(bandlimit)?;
        let (n_theta, width) = (grid.n_theta(), grid.n_phi());
        let weights = (0..n_theta).map(|j| grid.weight(j)).collect();
        let harmonics = SphericalHarmonics::new(bandlimit)?;
        let mut polar = vec![0.0; width * bandlimit * bandlimit];
        let mut row = vec![0.0; bandlimit * width];
        for j in 0..bandlimit {
            harmonics.fill_polar(grid.theta(j), &mut row);
            for m_index in 0..width {
                for l in 0..bandlimit {
                    polar[(m_index * bandlimit + j) * bandlimit + l] = row[l * width + m_index];
                }
            }
        }
        let mut planner = FftPlanner::new();
        Ok(Self {
            grid,
            weights,
            polar,
            fft_forward: planner.plan_fft_forward(width),
            fft_inverse: planner.plan_fft_inverse(width),
        })
    }

    /// Sums over θ of the φ-spectra in `work` (layout `(θ, bin)`) into `coeffs`.
    fn sum_rows(&self, work: &[Complex64], coeffs: &mut S2Coefficients) {
        let bandlimit = self.grid.bandlimit();
        let (n_theta, width) = (self.grid.n_theta(), self.grid.n_phi());
        let mut by_order = vec![ZERO; width * bandlimit];
        for_each_chunk(&mut by_order, bandlimit, bandlimit, |m_index, acc| {
            // Rows j and 2L−1−j share λ up to the sign (−1)^{l+m}, which is +1 at l = |m|.
            let lowest = m_index.abs_diff(bandlimit - 1);
            let bin = fft_bin(m_index, bandlimit);
            for j in 0..bandlimit {
                let mirror = n_theta - 1 - j;
                let near = work[j * width + bin] * self.weights[j];
                let far = work[mirror * width + bin] * self.weights[mirror];
                let (even, odd) = (near + far, near - far);
                let polar = &self.polar[(m_index * bandlimit + j) * bandlimit..][..bandlimit];
                for l in (lowest..bandlimit).step_by(2) {
                    acc[l] += even * polar[l];
                }
                for l in (lowest + 1..bandlimit).step_by(2) {
                    acc[l] += odd * polar[l];
                }
            }
        });
        for (m_index, acc) in by_order.chunks(bandlimit).enumerate() {
            for (l, value) in acc.iter().enumerate() {
                coeffs.data[l * width + m_index] = *value;
            }
        }
    }
}

impl FourierTransform for S2Transform {
    type Coefficients = S2Coefficients;

    fn grid(&self) -> DriscollHealyGrid {
        self.grid
    }

    fn analyse(&self, signal: &[Complex64], coeffs: &mut S2Coefficients) {
        let mut work = signal.to_vec();
        let mut scratch = vec![ZERO; self.fft_forward.get_inplace_scratch_len()];
        self.fft_forward
            .process_with_scratch(&mut work, &mut scratch);
        self.sum_rows(&work, coeffs);
    }

    fn synthesise(&self, coeffs: &S2Coefficients, signal: &mut [Complex64]) {
        let bandlimit = self.grid.bandlimit();
        let (n_theta, width) = (self.grid.n_theta(), self.grid.n_phi());
        // columns[m_index·L + l] = f̂_lm, then by_order[m_index·2L + j] = Σ_l f̂_lm λ_lm(θ_j)
        // with λ_lm(θ) = √((2l+1)/4π) d^l_{m0}(θ).
        let mut columns = vec![ZERO; width * bandlimit];
        for (l, row) in coeffs.data.chunks(width).enumerate() {
            for (m_index, value) in row.iter().enumerate() {
                columns[m_index * bandlimit + l] = *value;
            }
        }
        let mut by_order = vec![ZERO; width * n_theta];
        for_each_chunk(&mut by_order, n_theta, bandlimit, |m_index, out| {
            // Mirror rows: λ_lm(π − θ) = (−1)^{l+m} λ_lm(θ), and l + m is even at l = |m|.
            let lowest = m_index.abs_diff(bandlimit - 1);
            let column = &columns[m_index * bandlimit..][lowest..bandlimit];
            for j in 0..bandlimit {
                let polar = &self.polar[(m_index * bandlimit + j) * bandlimit..][lowest..bandlimit];
                let (mut even, mut odd) = (ZERO, ZERO);
                for (k, (c, p)) in column.iter().zip(polar).enumerate() {
                    if k % 2 == 0 {
                        even += c * p;
                    } else {
                        odd += c * p;
                    }
                }
                out[j] = even + odd;
                out[n_theta - 1 - j] = even - odd;
            }
        });
        for (m_index, column) in by_order.chunks(n_theta).enumerate() {
            let bin = fft_bin(m_index, bandlimit);
            for (j, value) in column.iter().enumerate() {
                signal[j * width + bin] = *value;
            }
        }
        let mut scratch = vec![ZERO; self.fft_inverse.get_inplace_scratch_len()];
        self.fft_inverse.process_with_scratch(signal, &mut scratch);
    }
}

/// The reference S² transform: direct DH quadrature `f̂_lm = Σ_p w_p f(u_p) conj Y_lm(u_p)` and
/// direct synthesis `f(u_p) = Σ f̂_lm Y_lm(u_p)`, `O(L⁴)`, no FFTs. A test oracle for
/// [`S2Transform`]; the same normalisation and layouts.
#[derive(Debug, Clone)]
pub struct S2TransformNaive {
    grid: DriscollHealyGrid,
    harmonics: SphericalHarmonics,
}

impl S2TransformNaive {
    /// The reference transform of bandlimit `L ≥ 1`.
    pub fn new(bandlimit: usize) -> Result<Self, RepsError> {
        Ok(Self {
            grid: DriscollHealyGrid::new(bandlimit)?,
            harmonics: SphericalHarmonics::new(bandlimit)?,
        })
    }
}

impl FourierTransform for S2TransformNaive {
    type Coefficients = S2Coefficients;

    fn grid(&self) -> DriscollHealyGrid {
        self.grid
    }

    fn analyse(&self, signal: &[Complex64], coeffs: &mut S2Coefficients) {
        coeffs.data.fill(ZERO);
        let width = self.grid.n_phi();
        for j in 0..self.grid.n_theta() {
            for k in 0..width {
                let value = signal[j * width + k] * self.grid.weight(j);
                let y = self
                    .harmonics
                    .evaluate(self.grid.theta(j), self.grid.phi(k));
                for (c, y) in coeffs.data.iter_mut().zip(&y) {
                    *c += value * y.conj();
                }
            }
        }
    }

    fn synthesise(&self, coeffs: &S2Coefficients, signal: &mut [Complex64]) {
        let width = self.grid.n_phi();
        for j in 0..self.grid.n_theta() {
            for k in 0..width {
                let y = self
                    .harmonics
                    .evaluate(self.grid.theta(j), self.grid.phi(k));
                signal[j * width + k] = y.iter().zip(&coeffs.data).map(|(y, c)| y * c).sum();
            }
        }
    }
}
