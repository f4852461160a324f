//! The Wigner transform on the Driscoll–Healy grid of SO(3) (docs/conventions.md#so3): the
//! coefficient container [`So3Coefficients`] (normalisation, coefficient order and signal
//! layout are stated there), the fast `O(L⁴)` [`So3Transform`]
//! (algorithm, cost and memory on its page) and the `O(L⁶)` direct-quadrature oracle
//! [`So3TransformNaive`].

use std::f64::consts::PI;
use std::fmt;
use std::sync::Arc;

use entk_groups::{EulerZyz, Rotation, So3Grid};
use nalgebra::DMatrix;
use num_complex::Complex64;
use rand::{Rng, RngCore};
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};

use crate::so3_validate::{
    check_finite_complex, check_length, check_nonzero_bandlimit, fft_bin, for_each_chunk,
    parallel_min_len,
};
use crate::transform::FourierTransform;
use crate::wigner::{FixedOrderRecursion, LogFactorials, WignerSmallDTable};
use crate::RepsError;

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// Memory budget for precomputed `d^l_{mn}(β_j)` tables in [`So3Transform::new`]: 64 MiB, which
/// admits `L ≤ 38`.
pub const DEFAULT_TABLE_BUDGET_BYTES: usize = 64 << 20;

/// `(2l+1)/(8π²)`, the inverse-transform weight of degree `l`.
fn degree_weight(l: usize) -> f64 {
    (2 * l + 1) as f64 / (8.0 * PI * PI)
}

/// Wigner coefficients `f̂^l_{mn}`, `l < L`, stored at `(n + L − 1, l, m + L − 1)` of a row-major
/// `(2L−1, L, 2L−1)` array; entries with `|m| > l` or `|n| > l` are zero and never read.
///
/// A real signal has `f̂^l_{−m,−n} = (−1)^{m−n} conj f̂^l_{mn}`. Viewed per degree,
/// [`So3Coefficients::block`] is the `(2l+1) × (2l+1)` matrix `f̂^l` indexed `[m + l, n + l]`.
///
/// **The transform** between signals on the Driscoll–Healy grid of SO(3) and these
/// coefficients (docs/conventions.md#so3).
///
/// **Normalisation.** Forward `f̂^l_{mn} = ∫_{SO(3)} f(R) D^l_{mn}(R) dR` (Haar measure of volume
/// `8π²`), computed as the DH quadrature `Σ_p w_p f(R_p) D^l_{mn}(R_p)`; inverse
/// `f(R) = Σ_{l<L} Σ_{|m|,|n|≤l} (2l+1)/(8π²) · f̂^l_{mn} · conj D^l_{mn}(R)`, with
/// `D^l_{mn}(α, β, γ) = e^{−imα} d^l_{mn}(β) e^{−inγ}` ([`crate::WignerD`]).
///
/// **Coefficient order.** `f̂^l_{mn}` at `(n + L − 1, l, m + L − 1)` of a row-major
/// `(2L−1, L, 2L−1)` array ([`So3Coefficients`]), zero where `|m| > l` or `|n| > l`.
///
/// **Signal layout.** Flat row-major `(γ, β, α)`, `α` fastest, length `(2L−1)·2L·(2L−1)`, on the
/// grid `α_k = γ_k = 2πk/(2L−1)`, `β_j = π(2j+1)/(4L)` of [`So3Grid`], the point being
/// `R = R_z(α) R_y(β) R_z(γ)` (weights from [`So3Grid::weight`]).
///
/// Exact inverse pair on bandlimited signals (Schur orthogonality holds exactly under the DH
/// quadrature for `l, l′ < L`). Transformed by [`So3Transform`] and the reference
/// [`So3TransformNaive`] ([`FourierTransform`]).
#[derive(Debug, Clone, PartialEq)]
pub struct So3Coefficients {
    bandlimit: usize,
    data: Vec<Complex64>,
}

impl So3Coefficients {
    /// All-zero coefficients of bandlimit `L ≥ 1`.
    pub fn zeros(bandlimit: usize) -> Result<Self, RepsError> {
        check_nonzero_bandlimit(bandlimit)?;
        let width = 2 * bandlimit - 1;
        Ok(Self {
            bandlimit,
            data: vec![ZERO; width * bandlimit * width],
        })
    }

    /// Wraps a flat `(2L−1, L, 2L−1)` array; errors for `L = 0`, a wrong length or non-finite
    /// values.
    pub fn from_vec(bandlimit: usize, data: Vec<Complex64>) -> Result<Self, RepsError> {
        check_nonzero_bandlimit(bandlimit)?;
        let width = 2 * bandlimit - 1;
        let expected = width * bandlimit * width;
        check_length("SO(3) coefficients", expected, data.len(), || {
            format!(
                "(2L−1)·L·(2L−1) = {expected} values in (n + L − 1, l, m + L − 1) order for L = \
                 {bandlimit}"
            )
        })?;
        check_finite_complex("SO(3) coefficients", &data)?;
        Ok(Self { bandlimit, data })
    }

    /// `f̂^l_{mn} = f(l, m, n)` for `l < L`, `|m|, |n| ≤ l`.
    pub fn from_fn(
        bandlimit: usize,
        mut f: impl FnMut(usize, i32, i32) -> Complex64,
    ) -> Result<Self, RepsError> {
        let mut out = Self::zeros(bandlimit)?;
        for l in 0..bandlimit {
            let li = l as i32;
            for n in -li..=li {
                for m in -li..=li {
                    out.set(l, m, n, f(l, m, n));
                }
            }
        }
        check_finite_complex("SO(3) coefficients", &out.data)?;
        Ok(out)
    }

    /// Coefficients of a random real bandlimit-`L` signal: real and imaginary parts uniform in
    /// `[−1, 1]`, `f̂^l_{00}` real, and `f̂^l_{−m,−n} = (−1)^{m−n} conj f̂^l_{mn}`.
    pub fn random_real(bandlimit: usize, rng: &mut dyn RngCore) -> Result<Self, RepsError> {
        let mut out = Self::zeros(bandlimit)?;
        for l in 0..bandlimit {
            let li = l as i32;
            out.set(l, 0, 0, Complex64::new(rng.random_range(-1.0..1.0), 0.0));
            for n in 0..=li {
                for m in -li..=li {
                    if n == 0 && m <= 0 {
                        continue;
                    }
                    let value =
                        Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
                    let sign = if (m - n) % 2 == 0 { 1.0 } else { -1.0 };
                    out.set(l, m, n, value);
                    out.set(l, -m, -n, value.conj() * sign);
                }
            }
        }
        Ok(out)
    }

    /// `(2L−1, L, 2L−1)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        let width = 2 * self.bandlimit - 1;
        (width, self.bandlimit, width)
    }

    /// The flat index `((n + L − 1)·L + l)·(2L−1) + m + L − 1` of `f̂^l_{mn}`.
    ///
    /// # Panics
    /// If `l ≥ L`, `|m| > l` or `|n| > l`.
    pub fn index(&self, l: usize, m: i32, n: i32) -> usize {
        assert!(
            l < self.bandlimit,
            "degree {l} out of range for bandlimit {}",
            self.bandlimit
        );
        assert!(
            m.unsigned_abs() as usize <= l && n.unsigned_abs() as usize <= l,
            "orders ({m}, {n}) out of range for degree {l}"
        );
        let centre = self.bandlimit as i32 - 1;
        (((n + centre) as usize) * self.bandlimit + l) * (2 * self.bandlimit - 1)
            + (m + centre) as usize
    }

    /// `f̂^l_{mn}`; zero when `|m| > l` or `|n| > l`.
    ///
    /// # Panics
    /// If `l ≥ L`.
    pub fn get(&self, l: usize, m: i32, n: i32) -> Complex64 {
        assert!(
            l < self.bandlimit,
            "degree {l} out of range for bandlimit {}",
            self.bandlimit
        );
        if m.unsigned_abs() as usize > l || n.unsigned_abs() as usize > l {
            return ZERO;
        }
        self.data[self.index(l, m, n)]
    }

    /// Sets `f̂^l_{mn}`.
    ///
    /// # Panics
    /// If `l ≥ L`, `|m| > l` or `|n| > l`.
    pub fn set(&mut self, l: usize, m: i32, n: i32, value: Complex64) {
        let index = self.index(l, m, n);
        self.data[index] = value;
    }

    /// The degree-`l` block `f̂^l` as a `(2l+1) × (2l+1)` matrix indexed `[m + l, n + l]`.
    ///
    /// # Panics
    /// If `l ≥ L`.
    pub fn block(&self, l: usize) -> DMatrix<Complex64> {
        let li = l as i32;
        DMatrix::from_fn(2 * l + 1, 2 * l + 1, |r, c| {
            self.get(l, r as i32 - li, c as i32 - li)
        })
    }

    /// Replaces the degree-`l` block by a `(2l+1) × (2l+1)` matrix indexed `[m + l, n + l]`;
    /// errors on a wrong degree or shape or non-finite entries.
    pub fn set_block(&mut self, l: usize, block: &DMatrix<Complex64>) -> Result<(), RepsError> {
        if l >= self.bandlimit || block.nrows() != 2 * l + 1 || block.ncols() != 2 * l + 1 {
            return Err(RepsError::ShapeMismatch {
                what: "SO(3) coefficient block",
                expected: format!(
                    "a (2l+1)×(2l+1) matrix for a degree l < L = {}",
                    self.bandlimit
                ),
                got: format!("degree {l}, {}×{}", block.nrows(), block.ncols()),
            });
        }
        check_finite_complex("SO(3) coefficient block", block.as_slice())?;
        let li = l as i32;
        for c in 0..2 * l + 1 {
            for r in 0..2 * l + 1 {
                self.set(l, r as i32 - li, c as i32 - li, block[(r, c)]);
            }
        }
        Ok(())
    }

    /// The same expansion at bandlimit `L_out`: degrees `l < min(L, L_out)` kept, the rest zero.
    fn resized(&self, bandlimit_out: usize) -> Result<Self, RepsError> {
        Self::from_fn(bandlimit_out, |l, m, n| {
            if l < self.bandlimit {
                self.get(l, m, n)
            } else {
                ZERO
            }
        })
    }

    /// The expansion `f(R) = Σ (2l+1)/(8π²) f̂^l_{mn} conj D^l_{mn}(R)` at ZYZ Euler angles,
    /// `O(L³)`; NaN for non-finite angles.
    pub fn evaluate_euler(&self, angles: EulerZyz) -> Complex64 {
        if !(angles.alpha.is_finite() && angles.beta.is_finite() && angles.gamma.is_finite()) {
            return Complex64::new(f64::NAN, f64::NAN);
        }
        let bandlimit = self.bandlimit;
        let width = 2 * bandlimit - 1;
        let centre = bandlimit as i32 - 1;
        let table = WignerSmallDTable::compute(bandlimit, angles.beta);
        let d = table.as_slice();
        let alpha_phases: Vec<Complex64> = (0..width)
            .map(|i| Complex64::cis((i as i32 - centre) as f64 * angles.alpha))
            .collect();
        let mut total = ZERO;
        for n_index in 0..width {
            let an = n_index.abs_diff(centre as usize);
            let gamma_phase = Complex64::cis((n_index as i32 - centre) as f64 * angles.gamma);
            let mut inner = ZERO;
            for l in an..bandlimit {
                let row = (n_index * bandlimit + l) * width;
                let partial: Complex64 = (centre as usize - l..=centre as usize + l)
                    .map(|mi| self.data[row + mi] * alpha_phases[mi] * d[row + mi])
                    .sum();
                inner += partial * degree_weight(l);
            }
            total += inner * gamma_phase;
        }
        total
    }

    /// The expansion at a rotation (through [`Rotation::to_euler_zyz`]).
    pub fn evaluate(&self, rotation: &Rotation) -> Complex64 {
        self.evaluate_euler(rotation.to_euler_zyz())
    }
}

crate::transform::spectrum_and_grid!(
    So3Coefficients,
    So3Grid,
    "SO(3)",
    "`|m| > l` or `|n| > l`",
    "(2L−1)·2L·(2L−1) = {} values on the (γ, β, α) Driscoll–Healy grid of L = {}"
);

/// `(−1)^{l−n}` for `n = n_index − centre`: the sign in `d^l_{mn}(π − β) = (−1)^{l−n} d^l_{−m,n}(β)`.
#[inline]
fn mirror_sign(l: usize, n_index: usize, centre: usize) -> f64 {
    if (l + n_index + centre) & 1 == 0 {
        1.0
    } else {
        -1.0
    }
}

/// In-place transpose of a square row-major `n × n` matrix.
fn transpose_square(matrix: &mut [Complex64], n: usize) {
    for r in 0..n {
        for c in r + 1..n {
            matrix.swap(r * n + c, c * n + r);
        }
    }
}

/// The fast SO(3) transform; normalisation, coefficient order and signal layout are those of
/// [`So3Coefficients`].
///
/// **Cost.** Separation of variables: a 2-D FFT over `(α, γ)` for each `β_j` (`O(L³ log L)`),
/// then for each `(l, m, n)` a sum over the `2L` angles `β_j` against `d^l_{mn}(β_j)`: `O(L⁴)`
/// for `N = O(L³)` samples, i.e. `O(N^{4/3})`. Asymptotically faster `O(L³ log² L)` algorithms
/// exist (Kostelec–Rockmore's fast polynomial transforms) but are intricate and numerically
/// delicate; at the bandlimits used here the `O(L⁴)` sums are fast and accurate to rounding.
/// Only the `L` angles `β_j < π/2` need `d` values, by `d^l_{mn}(π − β) = (−1)^{l−n} d^l_{−m,n}(β)`.
///
/// **Memory.** The `d^l_{mn}(β_j)` tables (`L²(2L−1)²` numbers) are precomputed when they fit a
/// budget ([`DEFAULT_TABLE_BUDGET_BYTES`]: `L ≤ 38`); otherwise they are recomputed per call by
/// the recursion (`O(L²)` memory per thread), so memory stays `O(L³)`. Built once per bandlimit;
/// thread-safe; rayon-parallel over `β` (FFTs) and orders `n` (sums) for `L ≥ 12`.
///
/// ```
/// use entk_reps::{FourierTransform, So3Coefficients, So3Transform};
/// let transform = So3Transform::new(4)?;
/// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
/// let coeffs = So3Coefficients::random_real(4, &mut rng)?;
/// let signal = transform.inverse_real(&coeffs)?; // 7 × 8 × 7 samples, (γ, β, α) row-major
/// let back = transform.forward(&signal)?;
/// assert!((back.get(3, -2, 1) - coeffs.get(3, -2, 1)).norm() < 1e-12);
/// # Ok::<(), entk_reps::RepsError>(())
/// ```
#[derive(Clone)]
pub struct So3Transform {
    grid: So3Grid,
    weights: Vec<f64>,
    betas: Vec<f64>,
    log_factorials: LogFactorials,
    /// `tables[((n_index·L + j)·L + l)·(2L−1) + m_index] = d^l_{mn}(β_j)` for `j < L`, when in
    /// budget.
    tables: Option<Vec<f64>>,
    fft_forward: Arc<dyn Fft<f64>>,
    fft_inverse: Arc<dyn Fft<f64>>,
}

impl fmt::Debug for So3Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("So3Transform")
            .field("bandlimit", &self.grid.bandlimit())
            .field("precomputed_tables", &self.tables.is_some())
            .finish()
    }
}

impl So3Transform {
    /// Plans the transform of bandlimit `L ≥ 1`, precomputing the `d` tables when they fit
    /// [`DEFAULT_TABLE_BUDGET_BYTES`].
    pub fn new(bandlimit: usize) -> Result<Self, RepsError> {
        Self::with_table_budget(bandlimit, DEFAULT_TABLE_BUDGET_BYTES)
    }

    /// Plans the transform, precomputing the `d` tables only if
    /// [`So3Transform::table_bytes`]`(L) ≤ budget_bytes` (`0` never precomputes). Results are the
    /// same either way up to rounding.
    pub fn with_table_budget(bandlimit: usize, budget_bytes: usize) -> Result<Self, RepsError> {
        let grid = So3Grid::new(bandlimit)?;
        let (n_beta, width) = (grid.n_beta(), grid.n_azimuth());
        let weights = (0..n_beta).map(|j| grid.weight(j)).collect();
        let betas: Vec<f64> = (0..n_beta).map(|j| grid.beta(j)).collect();
        let log_factorials = LogFactorials::new(2 * bandlimit);
        let tables = (Self::table_bytes(bandlimit) <= budget_bytes).then(|| {
            let block = bandlimit * width;
            let mut tables = vec![0.0; width * bandlimit * block];
            for_each_chunk(
                &mut tables,
                bandlimit * block,
                bandlimit,
                |n_index, per_n| {
                    let n = n_index as i64 - (bandlimit as i64 - 1);
                    let recursion = FixedOrderRecursion::new(bandlimit, n, &log_factorials);
                    for (beta, out) in betas[..bandlimit].iter().zip(per_n.chunks_mut(block)) {
                        recursion.fill(*beta, out);
                    }
                },
            );
            tables
        });
        let mut planner = FftPlanner::new();
        Ok(Self {
            grid,
            weights,
            betas,
            log_factorials,
            tables,
            fft_forward: planner.plan_fft_forward(width),
            fft_inverse: planner.plan_fft_inverse(width),
        })
    }

    /// Bytes of the precomputed tables at bandlimit `L`: `8·L²·(2L−1)²`.
    pub fn table_bytes(bandlimit: usize) -> usize {
        let width = (2 * bandlimit).saturating_sub(1);
        8 * bandlimit * bandlimit * width * width
    }

    /// Whether the `d` tables are held in memory (otherwise recomputed per call).
    pub fn has_precomputed_tables(&self) -> bool {
        self.tables.is_some()
    }

    /// Calls `visit(j, d)` for every `β_j < π/2` (`j < L`) with
    /// `d[l·(2L−1) + m_index] = d^l_{mn}(β_j)`, from the tables or the recursion. The mirrored
    /// angle `β_{2L−1−j} = π − β_j` has `d^l_{mn} = (−1)^{l−n} d^l_{−m,n}(β_j)`.
    fn for_each_beta_pair(&self, n_index: usize, mut visit: impl FnMut(usize, &[f64])) {
        let bandlimit = self.grid.bandlimit();
        let block = bandlimit * self.grid.n_azimuth();
        match &self.tables {
            Some(tables) => {
                let per_n = &tables[n_index * bandlimit * block..][..bandlimit * block];
                for (j, d) in per_n.chunks(block).enumerate() {
                    visit(j, d);
                }
            }
            None => {
                let n = n_index as i64 - (bandlimit as i64 - 1);
                let recursion = FixedOrderRecursion::new(bandlimit, n, &self.log_factorials);
                let mut d = vec![0.0; block];
                for (j, beta) in self.betas[..bandlimit].iter().enumerate() {
                    recursion.fill(*beta, &mut d);
                    visit(j, &d);
                }
            }
        }
    }

    /// One `(2L−1)²` slab per `β_j`, stored `[j][x][y]`: filled by `fill(j, slab)`, then
    /// 2-D transformed in place by `fft` (rows, transpose, rows, so `[x][y]` becomes `[ky][kx]`).
    fn fft_slabs(
        &self,
        fft: &dyn Fft<f64>,
        fill: impl Fn(usize, &mut [Complex64]) + Sync + Send,
    ) -> Vec<Complex64> {
        let (n_beta, width) = (self.grid.n_beta(), self.grid.n_azimuth());
        let scratch_len = fft.get_inplace_scratch_len();
        let mut work = vec![ZERO; n_beta * width * width];
        work.par_chunks_mut(width * width)
            .with_min_len(parallel_min_len(self.grid.bandlimit()))
            .enumerate()
            .for_each_init(
                || vec![ZERO; scratch_len],
                |scratch, (j, slab)| {
                    fill(j, slab);
                    fft.process_with_scratch(slab, scratch);
                    transpose_square(slab, width);
                    fft.process_with_scratch(slab, scratch);
                },
            );
        work
    }
}

impl FourierTransform for So3Transform {
    type Coefficients = So3Coefficients;

    fn grid(&self) -> So3Grid {
        self.grid
    }

    fn analyse(&self, signal: &[Complex64], coeffs: &mut So3Coefficients) {
        let bandlimit = self.grid.bandlimit();
        let (n_beta, width) = (self.grid.n_beta(), self.grid.n_azimuth());

        // 1. For each β_j, the 2-D DFT over (γ, α): work[j] = [c][a] → [ka][kc].
        let work = self.fft_slabs(self.fft_forward.as_ref(), |j, slab| {
            for (c, row) in slab.chunks_mut(width).enumerate() {
                row.copy_from_slice(&signal[(c * n_beta + j) * width..][..width]);
            }
        });

        // 2. Regroup as spectra[n_index][j][m_index] (γ-frequency n, α-frequency m).
        let mut spectra = vec![ZERO; width * n_beta * width];
        for_each_chunk(&mut spectra, n_beta * width, bandlimit, |n_index, block| {
            let kc = fft_bin(n_index, bandlimit);
            for (j, row) in block.chunks_mut(width).enumerate() {
                for (m_index, value) in row.iter_mut().enumerate() {
                    let ka = fft_bin(m_index, bandlimit);
                    *value = work[(j * width + ka) * width + kc];
                }
            }
        });

        // 3. f̂^l_{mn} = Σ_j w_j d^l_{mn}(β_j) F_j[m, n], one n-block per task.
        let centre = bandlimit - 1;
        for_each_chunk(
            &mut coeffs.data,
            bandlimit * width,
            bandlimit,
            |n_index, out| {
                out.fill(ZERO);
                let an = n_index.abs_diff(centre);
                let spectra = &spectra[n_index * n_beta * width..][..n_beta * width];
                self.for_each_beta_pair(n_index, |j, d| {
                    let mirror = n_beta - 1 - j;
                    let f = &spectra[j * width..][..width];
                    let f_mirror = &spectra[mirror * width..][..width];
                    for l in an..bandlimit {
                        let weight = self.weights[j];
                        let weight_mirror = mirror_sign(l, n_index, centre) * self.weights[mirror];
                        let out_row = &mut out[l * width..][..width];
                        let d_row = &d[l * width..][..width];
                        for mi in centre - l..=centre + l {
                            out_row[mi] += f[mi] * (weight * d_row[mi])
                                + f_mirror[mi] * (weight_mirror * d_row[2 * centre - mi]);
                        }
                    }
                });
            },
        );
    }

    fn synthesise(&self, coeffs: &So3Coefficients, signal: &mut [Complex64]) {
        let bandlimit = self.grid.bandlimit();
        let (n_beta, width) = (self.grid.n_beta(), self.grid.n_azimuth());
        let centre = bandlimit - 1;
        let degree_weights: Vec<f64> = (0..bandlimit).map(degree_weight).collect();

        // 1. G_j[m, n] = Σ_l (2l+1)/(8π²) f̂^l_{mn} d^l_{mn}(β_j), stored [n_index][j][m_index].
        let mut spectra = vec![ZERO; width * n_beta * width];
        for_each_chunk(&mut spectra, n_beta * width, bandlimit, |n_index, block| {
            let an = n_index.abs_diff(centre);
            let coefficients = &coeffs.data[n_index * bandlimit * width..][..bandlimit * width];
            self.for_each_beta_pair(n_index, |j, d| {
                let (near, far) = block.split_at_mut((j + 1) * width);
                let g = &mut near[j * width..];
                let mirror = n_beta - 1 - j;
                let g_mirror = &mut far[(mirror - j - 1) * width..][..width];
                for l in an..bandlimit {
                    let c_row = &coefficients[l * width..][..width];
                    let d_row = &d[l * width..][..width];
                    let weight = degree_weights[l];
                    let weight_mirror = mirror_sign(l, n_index, centre) * weight;
                    for mi in centre - l..=centre + l {
                        g[mi] += c_row[mi] * (weight * d_row[mi]);
                        g_mirror[mi] += c_row[mi] * (weight_mirror * d_row[2 * centre - mi]);
                    }
                }
            });
        });

        // 2. For each β_j the unnormalised inverse 2-D DFT: [kc][ka] → [a][c].
        let work = self.fft_slabs(self.fft_inverse.as_ref(), |j, slab| {
            for n_index in 0..width {
                let row = &mut slab[fft_bin(n_index, bandlimit) * width..][..width];
                let g = &spectra[(n_index * n_beta + j) * width..][..width];
                for (m_index, value) in g.iter().enumerate() {
                    row[fft_bin(m_index, bandlimit)] = *value;
                }
            }
        });

        // 3. signal[c][j][a] = work[j][a][c].
        for_each_chunk(signal, n_beta * width, bandlimit, |c, block| {
            for (j, row) in block.chunks_mut(width).enumerate() {
                for (a, value) in row.iter_mut().enumerate() {
                    *value = work[(j * width + a) * width + c];
                }
            }
        });
    }
}

/// The reference SO(3) transform: direct DH quadrature `f̂^l_{mn} = Σ_p w_p f(R_p) D^l_{mn}(R_p)`
/// and direct synthesis, `O(L⁶)`, no FFTs. A test oracle for [`So3Transform`] (use `L ≲ 10`);
/// the same normalisation and layouts.
#[derive(Debug, Clone)]
pub struct So3TransformNaive {
    grid: So3Grid,
    tables: Vec<WignerSmallDTable>,
}

impl So3TransformNaive {
    /// The reference transform of bandlimit `L ≥ 1`.
    pub fn new(bandlimit: usize) -> Result<Self, RepsError> {
        let grid = So3Grid::new(bandlimit)?;
        let tables = (0..grid.n_beta())
            .map(|j| WignerSmallDTable::new(bandlimit, grid.beta(j)))
            .collect::<Result<_, _>>()?;
        Ok(Self { grid, tables })
    }

    /// `D^l_{mn}` of grid point `(c, j, a)` for all `(n, l, m)` in coefficient order.
    fn wigner_values(&self, c: usize, j: usize, a: usize) -> Vec<Complex64> {
        let bandlimit = self.grid.bandlimit();
        let width = self.grid.n_azimuth();
        let centre = bandlimit as i32 - 1;
        let angles = self.grid.euler(c, j, a);
        let d = self.tables[j].as_slice();
        let mut values = vec![ZERO; d.len()];
        for n_index in 0..width {
            let n = n_index as i32 - centre;
            for l in 0..bandlimit {
                for m_index in 0..width {
                    let m = m_index as i32 - centre;
                    let index = (n_index * bandlimit + l) * width + m_index;
                    let phase = -(m as f64) * angles.alpha - n as f64 * angles.gamma;
                    values[index] = Complex64::cis(phase) * d[index];
                }
            }
        }
        values
    }
}

impl FourierTransform for So3TransformNaive {
    type Coefficients = So3Coefficients;

    fn grid(&self) -> So3Grid {
        self.grid
    }

    fn analyse(&self, signal: &[Complex64], coeffs: &mut So3Coefficients) {
        coeffs.data.fill(ZERO);
        let (n_beta, width) = (self.grid.n_beta(), self.grid.n_azimuth());
        for c in 0..width {
            for j in 0..n_beta {
                for a in 0..width {
                    let value = signal[(c * n_beta + j) * width + a] * self.grid.weight(j);
                    for (out, d) in coeffs.data.iter_mut().zip(self.wigner_values(c, j, a)) {
                        *out += value * d;
                    }
                }
            }
        }
    }

    fn synthesise(&self, coeffs: &So3Coefficients, signal: &mut [Complex64]) {
        let bandlimit = self.grid.bandlimit();
        let (n_beta, width) = (self.grid.n_beta(), self.grid.n_azimuth());
        let block = bandlimit * width;
        for c in 0..width {
            for j in 0..n_beta {
                for a in 0..width {
                    let d = self.wigner_values(c, j, a);
                    signal[(c * n_beta + j) * width + a] = d
                        .iter()
                        .zip(&coeffs.data)
                        .enumerate()
                        .map(|(index, (d, f))| {
                            f * d.conj() * degree_weight((index % block) / width)
                        })
                        .sum();
                }
            }
        }
    }
}
