//! Finite-width SO(3) layers whose empirical kernels equal the analytic ones (docs/theory.md#finite-width-networks).
//!
//! Both layers work in the **real** bases (real spherical harmonics `Y^real_{lm}` and real Wigner
//! matrices `D^l_real`, `Y^real_l(Ru) = D^l_real(R) Y^real_l(u)`; see `entk_reps`), where every
//! quantity is real and the Fourier forms carry no stray factors:
//!
//! - lifting `y(R) = σ_w/√(C|S|) Σ_c ∫_S κ_c(u) f_c(Ru) du + σ_b b`
//!   `= σ_w/√(C|S|) Σ_c Σ_{l<L_out} Σ_{m,n} f̂_{c,lm} D^l_{mn}(R) κ̂_{c,ln} + σ_b b`;
//! - group convolution `y(R) = σ_w/√(C|S|) Σ_c ∫_S κ_c(Q) f_c(RQ) dQ + σ_b b`, i.e.
//!   `ŷ^l = Σ_c f̂^l_c (κ̂^l_c)ᵀ` and `y(R) = Σ_{l<L_out} (2l+1)/(8π²) Σ_{ik} ŷ^l_{ik} D^l_{ik}(R)`.
//!
//! `f̂` are quadrature coefficients on the input grid (the same projection the kernels use).
//! The filter coefficients are exactly those of unit white noise on the support `S` projected to
//! degrees `< L_out`: `κ̂ = M^{1/2} z` with `z ~ N(0, I)` (the trainable parameters) and `M` the
//! Gram matrix of the basis functions over `S` (`M = I` on the sphere, `8π²/(2l+1)·I` on SO(3)).
//! Hence the single-layer empirical NNGP equals the analytic kernel exactly (docs/theory.md#tested-properties, property 7).
//! Only the NTK parameterisation exists for these layers.

use std::marker::PhantomData;

use entk_groups::{DriscollHealyGrid, EulerZyz, Rotation, So3Grid};
use entk_reps::{real_spherical_harmonic, real_wigner_d_from_euler};
use nalgebra::DMatrix;
use std::f64::consts::PI;

use super::support::gauss_legendre;
use super::{check_bandlimits, check_max_beta, So3Error};

/// `Σ_{l′<l} (2l′+1)²`: offset of degree `l` in a flattened list of Wigner blocks.
fn wigner_offset(l: usize) -> usize {
    (4 * l * l * l - l) / 3
}

/// Writes `D^l_real(euler)` for `l < L` into `out` (`Q = Σ_l (2l+1)²` values, block `l` at
/// `wigner_offset(l)`, row-major in `(i, j)`).
fn write_real_wigner(euler: EulerZyz, bandlimit: usize, out: &mut [f64]) {
    for l in 0..bandlimit {
        let d = real_wigner_d_from_euler(l, euler);
        let w = 2 * l + 1;
        for i in 0..w {
            for j in 0..w {
                out[wigner_offset(l) + i * w + j] = d[(i, j)];
            }
        }
    }
}

/// Writes `Y^real_{lm}(θ, φ)` for `l < L` into `out` (`L²` values, `(l, m)` at `l² + l + m`).
fn write_real_harmonics(theta: f64, phi: f64, bandlimit: usize, out: &mut [f64]) {
    for l in 0..bandlimit {
        for m in -(l as i32)..=l as i32 {
            out[(l * l + l).wrapping_add_signed(m as isize)] =
                real_spherical_harmonic(l, m, theta, phi);
        }
    }
}

/// Real Wigner matrices `D^l_real(R_p)` for `l < L_c` at every point of an SO(3) grid, as a
/// `P × Q` matrix (`Q = Σ_l (2l+1)²`, column `(l, i, j)` at `wigner_offset(l) + i(2l+1) + j`).
fn real_wigner_table(grid_bandlimit: usize, coeff_bandlimit: usize) -> DMatrix<f64> {
    let grid = So3Grid::new(grid_bandlimit).expect("bandlimit ≥ 1");
    let (a, b) = (grid.n_azimuth(), grid.n_beta());
    let points = (0..a * b * a).map(|p| grid.euler(p / (a * b), (p / a) % b, p % a));
    real_wigner_rows(points, coeff_bandlimit)
}

/// [`real_wigner_table`] at a list of rotations given by their Euler angles (row `p` for the
/// `p`-th).
fn real_wigner_rows(
    points: impl ExactSizeIterator<Item = EulerZyz>,
    coeff_bandlimit: usize,
) -> DMatrix<f64> {
    let (n, q) = (points.len(), wigner_offset(coeff_bandlimit));
    let mut values = vec![0.0; n * q];
    for (row, euler) in values.chunks_exact_mut(q.max(1)).zip(points) {
        write_real_wigner(euler, coeff_bandlimit, row);
    }
    DMatrix::from_row_slice(n, q, &values)
}

/// `w_p Y^real_{lm}(u_p)` on the points of `grid` for `l < L`: `P × L²`, column `l² + l + m`
/// (the real quadrature analysis of S² signals).
pub(crate) fn weighted_real_harmonics(grid: &DriscollHealyGrid, bandlimit: usize) -> DMatrix<f64> {
    let l2 = bandlimit * bandlimit;
    let mut values = vec![0.0; grid.len() * l2];
    for (p, row) in values.chunks_exact_mut(l2.max(1)).enumerate() {
        let (j, k) = (p / grid.n_phi(), p % grid.n_phi());
        write_real_harmonics(grid.theta(j), grid.phi(k), bandlimit, row);
        row.iter_mut().for_each(|y| *y *= grid.weight(j));
    }
    DMatrix::from_row_slice(grid.len(), l2, &values)
}

/// The symmetric square root of a PSD matrix (negative rounding eigenvalues clipped to 0).
fn psd_sqrt(m: DMatrix<f64>) -> DMatrix<f64> {
    let eig = m.symmetric_eigen();
    let roots = eig.eigenvalues.map(|v| v.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&roots) * eig.eigenvectors.transpose()
}

/// Weight and bias scales shared by the finite SO(3) layers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct So3Affine {
    /// `σ_w`.
    pub w_std: f64,
    /// `σ_b` (0: no bias parameters).
    pub b_std: f64,
}

/// The input domain of a [`FiniteSo3Layer`]: [`FromS2`] (S² signals, the lifting) or
/// [`FromSo3`] (SO(3) signals, the group convolution). Sealed: these two are all there are.
pub trait FiniteDomain: sealed::Domain {}

/// S² signals on the Driscoll–Healy grid, `(θ, φ, C)`: the input of [`S2LiftFinite`].
#[derive(Debug, Clone, Copy)]
pub enum FromS2 {}

/// SO(3) signals on the SO(3) grid, `(γ, β, α, C)`: the input of [`So3ConvFinite`].
#[derive(Debug, Clone, Copy)]
pub enum FromSo3 {}

impl FiniteDomain for FromS2 {}
impl FiniteDomain for FromSo3 {}

mod sealed {
    use super::*;

    /// What a finite layer's input domain decides (the layers themselves are written once).
    pub trait Domain {
        /// The coefficient blocks are `(2l+1) × (2l+1)` (SO(3) inputs) rather than vectors
        /// (S² inputs); see [`WignerSynthesis`].
        const SQUARE: bool;
        /// The weighted input basis (`P_in × X`) for inputs of bandlimit `L_in`, and the
        /// output table `T_l(R_p)` (`P_out × Q`) on the SO(3) grid of `L_out`.
        fn bases(l_in: usize, l_out: usize) -> Result<(DMatrix<f64>, DMatrix<f64>), So3Error>;
        /// The Gram matrix `M` of the basis over the support of `max_beta < π`.
        fn support_gram(l_out: usize, max_beta: f64) -> DMatrix<f64>;
        /// `M^{1/2}` for the whole domain (`max_beta = π`).
        fn whole_sqrt(l_out: usize) -> DMatrix<f64>;
        /// The support's measure `|S|`.
        fn support_measure(max_beta: f64) -> f64;
    }

    /// The cap `θ ≤ max_beta` on S²: `M` the Gram matrix of the real harmonics over the cap.
    impl Domain for FromS2 {
        const SQUARE: bool = false;
        fn bases(l_in: usize, lo: usize) -> Result<(DMatrix<f64>, DMatrix<f64>), So3Error> {
            let grid = DriscollHealyGrid::new(l_in).map_err(entk_reps::RepsError::from)?;
            Ok((
                weighted_real_harmonics(&grid, lo),
                real_wigner_table(lo, lo),
            ))
        }
        fn support_gram(lo: usize, max_beta: f64) -> DMatrix<f64> {
            cap_gram(lo, max_beta)
        }
        fn whole_sqrt(lo: usize) -> DMatrix<f64> {
            DMatrix::identity(lo * lo, lo * lo)
        }
        fn support_measure(max_beta: f64) -> f64 {
            2.0 * PI * (1.0 - max_beta.cos())
        }
    }

    /// The region `β ≤ max_beta` of SO(3): `M` the Gram matrix of the real Wigner functions
    /// over it; the output table carries the synthesis factor `(2l+1)/(8π²)`.
    impl Domain for FromSo3 {
        const SQUARE: bool = true;
        fn bases(l_in: usize, lo: usize) -> Result<(DMatrix<f64>, DMatrix<f64>), So3Error> {
            let grid_in = So3Grid::new(l_in).map_err(entk_reps::RepsError::from)?;
            let mut analysis = real_wigner_table(l_in, lo);
            let (a, b) = (grid_in.n_azimuth(), grid_in.n_beta());
            for (p, mut row) in analysis.row_iter_mut().enumerate() {
                row *= grid_in.weight((p / a) % b);
            }
            let mut table = real_wigner_table(lo, lo);
            for l in 0..lo {
                let factor = (2 * l + 1) as f64 / (8.0 * PI * PI);
                for col in wigner_offset(l)..wigner_offset(l + 1) {
                    table.column_mut(col).scale_mut(factor);
                }
            }
            Ok((analysis, table))
        }
        fn support_gram(lo: usize, max_beta: f64) -> DMatrix<f64> {
            region_gram(lo, max_beta)
        }
        /// `8π²/(2l+1)·I`.
        fn whole_sqrt(lo: usize) -> DMatrix<f64> {
            DMatrix::from_diagonal(&nalgebra::DVector::from_fn(wigner_offset(lo), |i, _| {
                let l = (0..lo)
                    .find(|&l| i < wigner_offset(l + 1))
                    .expect("in range");
                (8.0 * PI * PI / (2 * l + 1) as f64).sqrt()
            }))
        }
        fn support_measure(max_beta: f64) -> f64 {
            4.0 * PI * PI * (1.0 - max_beta.cos())
        }
    }
}

/// A finite SO(3)-engine linear layer whose input lives on `D` ([`FromS2`]: the lifting
/// [`S2LiftFinite`]; [`FromSo3`]: the group convolution [`So3ConvFinite`]), with output
/// `(γ, β, α, C_out)` on the SO(3) grid of `L_out`, channels last.
#[derive(Debug, Clone)]
pub struct FiniteSo3Layer<D> {
    /// The filters `M^{1/2}` of the support, `σ_w/√(C_in |S|)`.
    bank: FilterBank,
    synthesis: WignerSynthesis,
    domain: PhantomData<D>,
}

/// The finite S² → SO(3) lifting layer. Features: input `(θ, φ, C_in)` on the DH grid of `L_in`,
/// output `(γ, β, α, C_out)` on the SO(3) grid of `L_out`, channels last; filter support the
/// cap `θ ≤ max_beta`.
///
/// Parameters, in order: `z[o][c][(l, n)]` (`C_out·C_in·L_out²` values, `(l, n)` flattened as
/// `l² + l + n`), then the biases `b[o]` when `σ_b > 0`.
pub type S2LiftFinite = FiniteSo3Layer<FromS2>;

/// The finite SO(3) → SO(3) group convolution. Features `(γ, β, α, C)` on the SO(3) grids of
/// `L_in` (input) and `L_out ≤ L_in` (output), channels last; filter support `β ≤ max_beta`.
///
/// Parameters, in order: `z[o][c][(l, k, j)]` (`C_out·C_in·Q` values, `Q = Σ_{l<L_out} (2l+1)²`,
/// block `l` flattened row-major in `(k, j)`), then the biases `b[o]` when `σ_b > 0`.
pub type So3ConvFinite = FiniteSo3Layer<FromSo3>;

impl<D: FiniteDomain> FiniteSo3Layer<D> {
    /// A layer from `channels_in` channels of bandlimit `L_in` to `channels_out` SO(3) channels
    /// of bandlimit `L_out ≤ L_in`, filter support `max_beta` (the cap `θ ≤ max_beta` on S²,
    /// the region `β ≤ max_beta` on SO(3)).
    pub fn new(
        bandlimit_in: usize,
        bandlimit_out: usize,
        max_beta: f64,
        channels_in: usize,
        channels_out: usize,
        affine: So3Affine,
    ) -> Result<Self, So3Error> {
        check_bandlimits(bandlimit_in, bandlimit_out)?;
        check_max_beta(max_beta)?;
        let (analysis, table) = D::bases(bandlimit_in, bandlimit_out)?;
        let filter_sqrt = if max_beta >= PI {
            D::whole_sqrt(bandlimit_out)
        } else {
            psd_sqrt(D::support_gram(bandlimit_out, max_beta))
        };
        let support = D::support_measure(max_beta);
        Ok(Self {
            bank: FilterBank::new((channels_in, channels_out), affine, filter_sqrt, support),
            synthesis: WignerSynthesis {
                bandlimit: bandlimit_out,
                square: D::SQUARE,
                analysis,
                table,
            },
            domain: PhantomData,
        })
    }

    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.bank.parameter_count()
    }

    /// Forward pass of one sample: input on `D`'s grid of `L_in` → output `(γ, β, α, C_out)`.
    pub fn apply(&self, params: &[f64], input: &[f64]) -> Vec<f64> {
        let features = self.synthesis.features(input, self.bank.channels_in);
        self.bank.forward(&features, params)
    }

    /// Reverse mode for one sample: given the output cotangent `dy` (same layout as the
    /// output), returns `(d params, d input)`.
    pub fn vjp(&self, params: &[f64], input: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let ci = self.bank.channels_in;
        let features = self.synthesis.features(input, ci);
        let (d_params, d_features) = self.bank.backward(&features, params, dy);
        (d_params, self.synthesis.transpose(&d_features, ci))
    }
}

impl S2LiftFinite {
    /// The same layer sampled at `rotations` instead of the SO(3) grid: the output is
    /// `(R, C_out)` with one row per rotation, in order (the lifting onto a finite rotation
    /// group). Parameters are unchanged.
    pub fn with_output_rotations(mut self, rotations: &[Rotation]) -> Self {
        self.synthesis.table = real_wigner_rows(
            rotations.iter().map(Rotation::to_euler_zyz),
            self.synthesis.bandlimit,
        );
        self
    }
}

/// The linear map from an input sample to the features the filters act on, shared by both
/// finite layers. The input's coefficients `F = fᵀ·analysis` hold, per channel and degree
/// `l < L_out`, a `(2l+1) × r` block `F_l` (`r = 1`: the S² coefficients `f̂_{lm}`; `r = 2l+1`:
/// the SO(3) coefficients `f̂^l`); the features at output point `p` are the blocks
/// `H_l = T_l(R_p)ᵀ F_l`, with `T_l` the degree-`l` block of `table` (`D^l_real`, times
/// `(2l+1)/(8π²)` for the group convolution), stored like `F`.
#[derive(Debug, Clone)]
pub struct WignerSynthesis {
    bandlimit: usize,
    /// `r = 2l+1` (SO(3) inputs) rather than `r = 1` (S² inputs).
    square: bool,
    /// The weighted input basis, `P_in × X` (`X` coefficients per channel).
    analysis: DMatrix<f64>,
    /// `T_l(R_p)` for every output point: `P_out × Q`.
    table: DMatrix<f64>,
}

impl WignerSynthesis {
    /// `(r, offset of block l)` for degree `l` (`l` = `L_out`: the coefficient count `X`).
    fn block(&self, l: usize) -> (usize, usize) {
        if self.square {
            (2 * l + 1, wigner_offset(l))
        } else {
            (1, l * l)
        }
    }

    /// `H[p, c·X + off_l + k·r + j] = Σ_i T_l(R_p)[i, k] F_{c,l}[i, j]`.
    fn features(&self, input: &[f64], ci: usize) -> DMatrix<f64> {
        let x = self.block(self.bandlimit).1;
        let f = DMatrix::from_row_slice(self.analysis.nrows(), ci, input);
        let coefficients = f.transpose() * &self.analysis; // C_in × X
        let points = self.table.nrows();
        let mut h = DMatrix::zeros(points, ci * x);
        for p in 0..points {
            let input = |c, i| coefficients[(c, i)];
            self.mix_blocks(p, ci, false, input, |c, i, v| h[(p, c * x + i)] = v);
        }
        h
    }

    /// The transpose of [`WignerSynthesis::features`]: the input cotangent (row-major, like the
    /// input) of the features' cotangent `d_h`, via `dF_l = Σ_p T_l(R_p) dH_l`.
    fn transpose(&self, d_h: &DMatrix<f64>, ci: usize) -> Vec<f64> {
        let x = self.block(self.bandlimit).1;
        let mut d_coefficients = DMatrix::zeros(ci, x);
        for p in 0..d_h.nrows() {
            let input = |c, i| d_h[(p, c * x + i)];
            self.mix_blocks(p, ci, true, input, |c, i, v| d_coefficients[(c, i)] += v);
        }
        row_major(&(&self.analysis * d_coefficients.transpose()))
    }

    /// For every channel `c < ci` and degree `l`: `out_l = T_l(R_p)ᵀ in_l`, or `T_l(R_p) in_l`
    /// when `transposed`, with blocks laid out like the coefficients: `input(c, i)` reads entry
    /// `i` of channel `c`'s `X` values and `out(c, i, v)` receives one.
    fn mix_blocks(
        &self,
        p: usize,
        ci: usize,
        transposed: bool,
        input: impl Fn(usize, usize) -> f64,
        mut out: impl FnMut(usize, usize, f64),
    ) {
        for c in 0..ci {
            for l in 0..self.bandlimit {
                let (w, t, (r, off)) = (2 * l + 1, wigner_offset(l), self.block(l));
                for a in 0..w {
                    for j in 0..r {
                        let mut sum = 0.0;
                        for b in 0..w {
                            let d = if transposed {
                                self.table[(p, t + a * w + b)]
                            } else {
                                self.table[(p, t + b * w + a)]
                            };
                            sum += d * input(c, off + b * r + j);
                        }
                        out(c, off + a * r + j, sum);
                    }
                }
            }
        }
    }
}

/// `Σ_nodes weight · v vᵀ` over a product rule on a support `θ ≤ max_beta`: Gauss–Legendre in
/// `cos θ` times, for each of `angles` (1 or 2) azimuthal angles, the uniform rule of `4L + 1`
/// points; `values(θ, [φ₁, φ₂], v)` writes the `n` basis functions at a node (`φ₁ = 0` when
/// `angles = 1`).
fn support_gram(
    (bandlimit, max_beta): (usize, f64),
    angles: u32,
    n: usize,
    mut values: impl FnMut(f64, [f64; 2], &mut [f64]),
) -> DMatrix<f64> {
    let (xs, ws) = gauss_legendre(bandlimit + 1, max_beta.cos(), 1.0);
    let n_az = 4 * bandlimit + 1;
    let angle = |i: usize| 2.0 * PI * i as f64 / n_az as f64;
    // The azimuthal weight `w·2π/n` (one angle) or `w·(2π/n)²` (two), each rounded in the order
    // the cap and region rules have always used, so both Grams keep their exact values.
    let node_weight = |w: f64| match angles {
        1 => w * 2.0 * PI / n_az as f64,
        _ => w * (2.0 * PI / n_az as f64).powi(2),
    };
    let mut m = DMatrix::zeros(n, n);
    let mut v = vec![0.0; n];
    for (x, w) in xs.iter().zip(&ws) {
        let polar = x.clamp(-1.0, 1.0).acos();
        let weight = node_weight(*w);
        for node in 0..n_az.pow(angles) {
            values(polar, [angle(node / n_az), angle(node % n_az)], &mut v);
            for i in 0..n {
                for j in 0..n {
                    m[(i, j)] += weight * v[i] * v[j];
                }
            }
        }
    }
    m
}

/// `N[(l,k,j),(l′,k′,j′)] = ∫_{β≤β_max} D^l_real,kj(Q) D^{l′}_real,k′j′(Q) dQ` by Gauss–Legendre in
/// `cos β` times uniform rules in `α` and `γ` (exact for degrees `< L`).
fn region_gram(bandlimit: usize, max_beta: f64) -> DMatrix<f64> {
    let q = wigner_offset(bandlimit);
    support_gram((bandlimit, max_beta), 2, q, |beta, [alpha, gamma], v| {
        write_real_wigner(EulerZyz { alpha, beta, gamma }, bandlimit, v)
    })
}

/// `M[(l,n),(l′,n′)] = ∫_{θ≤β} Y^real_{ln} Y^real_{l′n′} du` by Gauss–Legendre in `cos θ` times
/// a uniform φ rule (exact: polynomial of degree `≤ 2L−2` in `cos θ` after the φ integral).
pub(crate) fn cap_gram(bandlimit: usize, max_beta: f64) -> DMatrix<f64> {
    let l2 = bandlimit * bandlimit;
    support_gram((bandlimit, max_beta), 1, l2, |theta, [_, phi], v| {
        write_real_harmonics(theta, phi, bandlimit, v)
    })
}

/// `dz_{o,c} = M^{1/2} dκ̂_{o,c}` (the square root is symmetric), flattened like the parameters.
fn filter_gradient(
    d_filters: &DMatrix<f64>,
    sqrt: &DMatrix<f64>,
    ci: usize,
    co: usize,
    width: usize,
) -> Vec<f64> {
    let mut out = vec![0.0; co * ci * width];
    for o in 0..co {
        for c in 0..ci {
            let dk = nalgebra::DVector::from_fn(width, |i, _| d_filters[(c * width + i, o)]);
            let dz = sqrt.transpose() * dk;
            out[(o * ci + c) * width..(o * ci + c + 1) * width].copy_from_slice(dz.as_slice());
        }
    }
    out
}

/// The filters and biases of both finite layers: `C_out × C_in` filters `κ̂_{o,c} = M^{1/2} z_{o,c}`
/// of `Q` coefficients (`Q` = the side of `M^{1/2}`), scaled by `σ_w/√(C_in |S|)` (`|S|` the
/// support's measure), then the biases `σ_b b_o` when `σ_b > 0`.
#[derive(Debug, Clone)]
struct FilterBank {
    channels_in: usize,
    channels_out: usize,
    affine: So3Affine,
    /// `M^{1/2}` (`Q × Q`).
    filter_sqrt: DMatrix<f64>,
    /// `σ_w/√(C_in |S|)`.
    scale: f64,
}

impl FilterBank {
    fn new(
        (channels_in, channels_out): (usize, usize),
        affine: So3Affine,
        filter_sqrt: DMatrix<f64>,
        support: f64,
    ) -> Self {
        FilterBank {
            channels_in,
            channels_out,
            affine,
            filter_sqrt,
            scale: affine.w_std / (channels_in as f64 * support).sqrt(),
        }
    }

    /// `C_out·C_in·Q` filter coefficients, then `C_out` biases when `σ_b > 0`.
    fn parameter_count(&self) -> usize {
        let bias = if self.affine.b_std > 0.0 {
            self.channels_out
        } else {
            0
        };
        self.channels_out * self.channels_in * self.filter_sqrt.nrows() + bias
    }

    /// The filter matrix `(C_in·Q) × C_out`: column `o`, block `c` is `κ̂_{o,c} = M^{1/2} z_{o,c}`
    /// with `z_{o,c}` the `Q` parameters at `(o·C_in + c)·Q`.
    fn filters(&self, params: &[f64]) -> DMatrix<f64> {
        let (ci, co, sqrt) = (self.channels_in, self.channels_out, &self.filter_sqrt);
        let q = sqrt.nrows();
        let mut k = DMatrix::zeros(ci * q, co);
        for o in 0..co {
            for c in 0..ci {
                let z = nalgebra::DVector::from_column_slice(
                    &params[(o * ci + c) * q..(o * ci + c + 1) * q],
                );
                let kappa = sqrt * z;
                for i in 0..q {
                    k[(c * q + i, o)] = kappa[i];
                }
            }
        }
        k
    }

    /// `features · K · scale` plus the biases `σ_b b_o` (the parameters after the filters,
    /// unread when `σ_b = 0`), as row-major `(points, C_out)` values.
    fn forward(&self, features: &DMatrix<f64>, params: &[f64]) -> Vec<f64> {
        let filters = self.filters(params);
        let bias = &params[self.filter_sqrt.nrows() * self.channels_in * self.channels_out..];
        let b_std = self.affine.b_std;
        let y = features * &filters * self.scale;
        let mut out = Vec::with_capacity(y.len());
        for p in 0..y.nrows() {
            for o in 0..filters.ncols() {
                let b = if b_std > 0.0 { b_std * bias[o] } else { 0.0 };
                out.push(y[(p, o)] + b);
            }
        }
        out
    }

    /// The reverse mode of [`FilterBank::forward`] for the output cotangent `dy`: the parameter
    /// gradient (filters through `M^{1/2}`, then the biases when `σ_b > 0`) and the cotangent of
    /// `features`.
    fn backward(
        &self,
        features: &DMatrix<f64>,
        params: &[f64],
        dy: &[f64],
    ) -> (Vec<f64>, DMatrix<f64>) {
        let filters = self.filters(params);
        let (sqrt, scale) = (&self.filter_sqrt, self.scale);
        let co = filters.ncols();
        let ci = filters.nrows() / sqrt.nrows();
        let dy_m = DMatrix::from_row_slice(features.nrows(), co, dy);
        let d_filters = features.transpose() * &dy_m * scale;
        let mut d_params = filter_gradient(&d_filters, sqrt, ci, co, sqrt.nrows());
        if self.affine.b_std > 0.0 {
            d_params.extend((0..co).map(|o| self.affine.b_std * dy_m.column(o).sum()));
        }
        (d_params, &dy_m * filters.transpose() * scale)
    }
}

/// A matrix's entries in row-major order (the feature layout: points, then channels).
fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    m.transpose().as_slice().to_vec()
}

/// The finite Haar pool `y_c = (8π²)⁻¹ Σ_R w_R f_c(R)` over the SO(3) grid of bandlimit `L`,
/// features `(γ, β, α, C)` → `C` scalars, and its adjoint.
#[derive(Debug, Clone)]
pub struct So3PoolFinite {
    weights: Vec<f64>,
}

impl So3PoolFinite {
    /// The pool on the grid of bandlimit `L`.
    pub fn new(bandlimit: usize) -> Result<Self, So3Error> {
        let grid = So3Grid::new(bandlimit).map_err(entk_reps::RepsError::from)?;
        let (a, b) = (grid.n_azimuth(), grid.n_beta());
        let volume = 8.0 * PI * PI;
        Ok(Self {
            weights: (0..a * b * a)
                .map(|p| grid.weight((p / a) % b) / volume)
                .collect(),
        })
    }
    /// Pools one sample with `channels` channels.
    pub fn apply(&self, input: &[f64], channels: usize) -> Vec<f64> {
        let mut out = vec![0.0; channels];
        for (p, w) in self.weights.iter().enumerate() {
            for c in 0..channels {
                out[c] += w * input[p * channels + c];
            }
        }
        out
    }
    /// The input cotangent for output cotangent `dy` (`channels` values).
    pub fn vjp(&self, dy: &[f64]) -> Vec<f64> {
        self.weights
            .iter()
            .flat_map(|w| dy.iter().map(move |d| w * d))
            .collect()
    }
}
