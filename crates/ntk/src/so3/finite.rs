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
    let mut table = DMatrix::zeros(points.len(), wigner_offset(coeff_bandlimit));
    for (p, euler) in points.enumerate() {
        for l in 0..coeff_bandlimit {
            let d = real_wigner_d_from_euler(l, euler);
            let w = 2 * l + 1;
            for i in 0..w {
                for jj in 0..w {
                    table[(p, wigner_offset(l) + i * w + jj)] = d[(i, jj)];
                }
            }
        }
    }
    table
}

/// `w_p Y^real_{lm}(u_p)` on the points of `grid` for `l < L`: `P × L²`, column `l² + l + m`
/// (the real quadrature analysis of S² signals).
pub(crate) fn weighted_real_harmonics(grid: &DriscollHealyGrid, bandlimit: usize) -> DMatrix<f64> {
    let mut h = DMatrix::zeros(grid.len(), bandlimit * bandlimit);
    for j in 0..grid.n_theta() {
        for k in 0..grid.n_phi() {
            let p = j * grid.n_phi() + k;
            for l in 0..bandlimit {
                for m in -(l as i32)..=l as i32 {
                    let y = real_spherical_harmonic(l, m, grid.theta(j), grid.phi(k));
                    h[(p, (l * l + l).wrapping_add_signed(m as isize))] = grid.weight(j) * y;
                }
            }
        }
    }
    h
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

/// The finite S² → SO(3) lifting layer. Features: input `(θ, φ, C_in)` on the DH grid of `L_in`,
/// output `(γ, β, α, C_out)` on the SO(3) grid of `L_out`, channels last.
///
/// Parameters, in order: `z[o][c][(l, n)]` (`C_out·C_in·L_out²` values, `(l, n)` flattened as
/// `l² + l + n`), then the biases `b[o]` when `σ_b > 0`.
#[derive(Debug, Clone)]
pub struct S2LiftFinite {
    /// The filters `M^{1/2}` of the cap (`L_out² × L_out²`), `σ_w/√(C_in |S|)`.
    bank: FilterBank,
    bandlimit_out: usize,
    /// `w_u Y^real_{lm}(u_p)`: `P_in × L_out²`.
    weighted_harmonics: DMatrix<f64>,
    /// `D^l_real(R_p)`: `P_out × Q`.
    wigner_out: DMatrix<f64>,
}

impl S2LiftFinite {
    /// A lifting layer from `channels_in` S² channels of bandlimit `L_in` to `channels_out` SO(3)
    /// channels of bandlimit `L_out ≤ L_in`, filter support the cap `θ ≤ max_beta`.
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
        let grid = DriscollHealyGrid::new(bandlimit_in).map_err(entk_reps::RepsError::from)?;
        let lo = bandlimit_out;
        let weighted_harmonics = weighted_real_harmonics(&grid, lo);
        let area = 2.0 * PI * (1.0 - max_beta.cos());
        let filter_sqrt = if max_beta >= PI {
            DMatrix::identity(lo * lo, lo * lo)
        } else {
            psd_sqrt(cap_gram(lo, max_beta))
        };
        Ok(Self {
            bank: FilterBank::new((channels_in, channels_out), affine, filter_sqrt, area),
            bandlimit_out,
            weighted_harmonics,
            wigner_out: real_wigner_table(bandlimit_out, bandlimit_out),
        })
    }

    /// The same layer sampled at `rotations` instead of the SO(3) grid: the output is
    /// `(R, C_out)` with one row per rotation, in order (the lifting onto a finite rotation
    /// group). Parameters are unchanged.
    pub fn with_output_rotations(mut self, rotations: &[Rotation]) -> Self {
        self.wigner_out = real_wigner_rows(
            rotations.iter().map(Rotation::to_euler_zyz),
            self.bandlimit_out,
        );
        self
    }

    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.bank.parameter_count()
    }

    /// `Σ_c Σ_m F_c[(l,m)] D^l_{mn}(R)` for every point: `P_out × (C_in·L_out²)`, column
    /// `c·L_out² + (l, n)`.
    fn rotated_coefficients(&self, input: &[f64]) -> DMatrix<f64> {
        let (ci, lo) = (self.bank.channels_in, self.bandlimit_out);
        let points_in = self.weighted_harmonics.nrows();
        let f = DMatrix::from_row_slice(points_in, ci, input);
        let coefficients = f.transpose() * &self.weighted_harmonics; // C_in × L²
        let points_out = self.wigner_out.nrows();
        let mut g = DMatrix::zeros(points_out, ci * lo * lo);
        for p in 0..points_out {
            for c in 0..ci {
                for l in 0..lo {
                    let w = 2 * l + 1;
                    for n in 0..w {
                        let mut sum = 0.0;
                        for m in 0..w {
                            sum += coefficients[(c, l * l + m)]
                                * self.wigner_out[(p, wigner_offset(l) + m * w + n)];
                        }
                        g[(p, c * lo * lo + l * l + n)] = sum;
                    }
                }
            }
        }
        g
    }

    /// Forward pass of one sample: input `(θ, φ, C_in)` → output `(γ, β, α, C_out)`.
    pub fn apply(&self, params: &[f64], input: &[f64]) -> Vec<f64> {
        self.bank.forward(&self.rotated_coefficients(input), params)
    }
    /// Reverse mode for one sample: given the output cotangent `dy` (same layout as the
    /// output), returns `(d params, d input)`.
    pub fn vjp(&self, params: &[f64], input: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (ci, lo) = (self.bank.channels_in, self.bandlimit_out);
        let l2 = lo * lo;
        let (d_params, d_g) = self
            .bank
            .backward(&self.rotated_coefficients(input), params, dy);
        let mut d_coefficients = DMatrix::zeros(ci, l2);
        for p in 0..d_g.nrows() {
            for c in 0..ci {
                for l in 0..lo {
                    let w = 2 * l + 1;
                    for m in 0..w {
                        let mut sum = 0.0;
                        for n in 0..w {
                            sum += d_g[(p, c * l2 + l * l + n)]
                                * self.wigner_out[(p, wigner_offset(l) + m * w + n)];
                        }
                        d_coefficients[(c, l * l + m)] += sum;
                    }
                }
            }
        }
        let d_input = &self.weighted_harmonics * d_coefficients.transpose();
        (d_params, row_major(&d_input))
    }
}

/// The finite SO(3) → SO(3) group convolution. Features `(γ, β, α, C)` on the SO(3) grids of
/// `L_in` (input) and `L_out ≤ L_in` (output), channels last.
///
/// Parameters, in order: `z[o][c][(l, k, j)]` (`C_out·C_in·Q` values, `Q = Σ_{l<L_out} (2l+1)²`,
/// block `l` flattened row-major in `(k, j)`), then the biases `b[o]` when `σ_b > 0`.
#[derive(Debug, Clone)]
pub struct So3ConvFinite {
    /// The filters `N^{1/2}` of the region (`Q × Q`), `σ_w/√(C_in |S|)`.
    bank: FilterBank,
    bandlimit_out: usize,
    /// `w_R D^l_real(R)` on the input grid: `P_in × Q`.
    weighted_wigner_in: DMatrix<f64>,
    /// `(2l+1)/(8π²) D^l_real(R)` on the output grid: `P_out × Q`.
    synthesis_out: DMatrix<f64>,
}

impl So3ConvFinite {
    /// A group convolution from `channels_in` channels at bandlimit `L_in` to `channels_out` at
    /// `L_out ≤ L_in`, filter support `β ≤ max_beta`.
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
        let lo = bandlimit_out;
        let grid_in = So3Grid::new(bandlimit_in).map_err(entk_reps::RepsError::from)?;
        let mut weighted_wigner_in = real_wigner_table(bandlimit_in, lo);
        let (a, b) = (grid_in.n_azimuth(), grid_in.n_beta());
        for (p, mut row) in weighted_wigner_in.row_iter_mut().enumerate() {
            row *= grid_in.weight((p / a) % b);
        }
        let mut synthesis_out = real_wigner_table(lo, lo);
        for l in 0..lo {
            let w = 2 * l + 1;
            let factor = w as f64 / (8.0 * PI * PI);
            for col in wigner_offset(l)..wigner_offset(l + 1) {
                synthesis_out.column_mut(col).scale_mut(factor);
            }
        }
        let volume = 4.0 * PI * PI * (1.0 - max_beta.cos());
        let filter_sqrt = if max_beta >= PI {
            DMatrix::from_diagonal(&nalgebra::DVector::from_fn(wigner_offset(lo), |i, _| {
                let l = (0..lo)
                    .find(|&l| i < wigner_offset(l + 1))
                    .expect("in range");
                (8.0 * PI * PI / (2 * l + 1) as f64).sqrt()
            }))
        } else {
            psd_sqrt(region_gram(lo, max_beta))
        };
        Ok(Self {
            bank: FilterBank::new((channels_in, channels_out), affine, filter_sqrt, volume),
            bandlimit_out,
            weighted_wigner_in,
            synthesis_out,
        })
    }

    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.bank.parameter_count()
    }

    /// `H[p, c·Q + (l,k,j)] = Σ_i (2l+1)/(8π²) D^l_{ik}(R_p) f̂^l_c[i, j]`.
    fn synthesis_features(&self, input: &[f64]) -> DMatrix<f64> {
        let (ci, lo) = (self.bank.channels_in, self.bandlimit_out);
        let q = wigner_offset(lo);
        let f = DMatrix::from_row_slice(self.weighted_wigner_in.nrows(), ci, input);
        let coefficients = f.transpose() * &self.weighted_wigner_in; // C_in × Q
        let points = self.synthesis_out.nrows();
        let mut h = DMatrix::zeros(points, ci * q);
        for p in 0..points {
            for c in 0..ci {
                for l in 0..lo {
                    let (w, off) = (2 * l + 1, wigner_offset(l));
                    for k in 0..w {
                        for j in 0..w {
                            let mut sum = 0.0;
                            for i in 0..w {
                                sum += self.synthesis_out[(p, off + i * w + k)]
                                    * coefficients[(c, off + i * w + j)];
                            }
                            h[(p, c * q + off + k * w + j)] = sum;
                        }
                    }
                }
            }
        }
        h
    }

    /// Forward pass of one sample: `(γ, β, α, C_in)` on the `L_in` grid → `(γ, β, α, C_out)` on
    /// the `L_out` grid.
    pub fn apply(&self, params: &[f64], input: &[f64]) -> Vec<f64> {
        self.bank.forward(&self.synthesis_features(input), params)
    }
    /// Reverse mode for one sample: given the output cotangent `dy`, returns
    /// `(d params, d input)`.
    pub fn vjp(&self, params: &[f64], input: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (ci, lo) = (self.bank.channels_in, self.bandlimit_out);
        let q = wigner_offset(lo);
        let (d_params, d_h) = self
            .bank
            .backward(&self.synthesis_features(input), params, dy);
        let mut d_coefficients = DMatrix::zeros(ci, q);
        for p in 0..d_h.nrows() {
            for c in 0..ci {
                for l in 0..lo {
                    let (w, off) = (2 * l + 1, wigner_offset(l));
                    for i in 0..w {
                        for j in 0..w {
                            let mut sum = 0.0;
                            for k in 0..w {
                                sum += d_h[(p, c * q + off + k * w + j)]
                                    * self.synthesis_out[(p, off + i * w + k)];
                            }
                            d_coefficients[(c, off + i * w + j)] += sum;
                        }
                    }
                }
            }
        }
        let d_input = &self.weighted_wigner_in * d_coefficients.transpose();
        (d_params, row_major(&d_input))
    }
}

/// `N[(l,k,j),(l′,k′,j′)] = ∫_{β≤β_max} D^l_real,kj(Q) D^{l′}_real,k′j′(Q) dQ` by Gauss–Legendre in
/// `cos β` times uniform rules in `α` and `γ` (exact for degrees `< L`).
fn region_gram(bandlimit: usize, max_beta: f64) -> DMatrix<f64> {
    let q = wigner_offset(bandlimit);
    let (xs, ws) = gauss_legendre(bandlimit + 1, max_beta.cos(), 1.0);
    let n_az = 4 * bandlimit + 1;
    let mut m = DMatrix::zeros(q, q);
    let mut values = vec![0.0; q];
    for (x, w) in xs.iter().zip(&ws) {
        let beta = x.clamp(-1.0, 1.0).acos();
        for ia in 0..n_az {
            for ig in 0..n_az {
                let euler = entk_groups::EulerZyz {
                    alpha: 2.0 * PI * ia as f64 / n_az as f64,
                    beta,
                    gamma: 2.0 * PI * ig as f64 / n_az as f64,
                };
                for l in 0..bandlimit {
                    let d = real_wigner_d_from_euler(l, euler);
                    let width = 2 * l + 1;
                    for i in 0..width {
                        for j in 0..width {
                            values[wigner_offset(l) + i * width + j] = d[(i, j)];
                        }
                    }
                }
                let weight = w * (2.0 * PI / n_az as f64).powi(2);
                for i in 0..q {
                    for j in 0..q {
                        m[(i, j)] += weight * values[i] * values[j];
                    }
                }
            }
        }
    }
    m
}

/// `M[(l,n),(l′,n′)] = ∫_{θ≤β} Y^real_{ln} Y^real_{l′n′} du` by Gauss–Legendre in `cos θ` times
/// a uniform φ rule (exact: polynomial of degree `≤ 2L−2` in `cos θ` after the φ integral).
pub(crate) fn cap_gram(bandlimit: usize, max_beta: f64) -> DMatrix<f64> {
    let l2 = bandlimit * bandlimit;
    let (xs, ws) = gauss_legendre(bandlimit + 1, max_beta.cos(), 1.0);
    let n_phi = 4 * bandlimit + 1;
    let mut m = DMatrix::zeros(l2, l2);
    let mut values = vec![0.0; l2];
    for (x, w) in xs.iter().zip(&ws) {
        let theta = x.clamp(-1.0, 1.0).acos();
        for k in 0..n_phi {
            let phi = 2.0 * PI * k as f64 / n_phi as f64;
            for l in 0..bandlimit {
                for n in -(l as i32)..=l as i32 {
                    values[(l * l + l).wrapping_add_signed(n as isize)] =
                        real_spherical_harmonic(l, n, theta, phi);
                }
            }
            let weight = w * 2.0 * PI / n_phi as f64;
            for i in 0..l2 {
                for j in 0..l2 {
                    m[(i, j)] += weight * values[i] * values[j];
                }
            }
        }
    }
    m
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
