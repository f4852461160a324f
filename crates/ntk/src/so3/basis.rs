//! Wigner bases on the SO(3) grid, split by the γ-frequency `n`.

use entk_groups::So3Grid;
use entk_reps::WignerSmallDTable;
use nalgebra::DMatrix;
use num_complex::Complex64;

use super::So3PairKernel;

/// The `(l, m)` pairs with `|n| ≤ l < L_c`, in order `l` then `m`: the coefficients that
/// multiply `e^{inγ}` in a bandlimit-`L_c` expansion.
pub(crate) fn block_indices(coeff_bandlimit: usize, n: i32) -> Vec<(usize, i32)> {
    (n.unsigned_abs() as usize..coeff_bandlimit)
        .flat_map(|l| (-(l as i32)..=l as i32).map(move |m| (l, m)))
        .collect()
}

/// A complex matrix as two real ones, so products run on real GEMMs.
#[derive(Debug, Clone)]
struct Split {
    re: DMatrix<f64>,
    im: DMatrix<f64>,
}

impl Split {
    fn new(m: &DMatrix<Complex64>) -> Self {
        Self {
            re: m.map(|v| v.re),
            im: m.map(|v| v.im),
        }
    }
    /// `self · other` for complex matrices.
    fn mul(&self, other: &Split) -> Split {
        Split {
            re: &self.re * &other.re - &self.im * &other.im,
            im: &self.re * &other.im + &self.im * &other.re,
        }
    }
    fn transpose(&self) -> Split {
        Split {
            re: self.re.transpose(),
            im: self.im.transpose(),
        }
    }
    fn to_complex(&self) -> DMatrix<Complex64> {
        self.re.zip_map(&self.im, Complex64::new)
    }
}

/// The tables of one γ-frequency `n`.
#[derive(Debug, Clone)]
struct Block {
    /// `E_n` (`P × s_n`).
    e: Split,
    /// `E_{−n}` (`P × s_n`).
    e_minus: Split,
    /// `(w ⊙ conj E_{−n})ᵀ · (2L_g − 1)` (`s_n × P`): right factor of the projection, transposed.
    project_right_t: Split,
    /// `(w ⊙ conj E_n)` (`P × s_n`): left factor of the projection, transposed.
    project_left_t: Split,
}

/// For every `n` with `|n| < L_c`, the matrix `E_n[p, (l, m)] = e^{imα} d^l_{mn}(β)` over the
/// in-plane points `p = (β, α)` of the SO(3) grid of bandlimit `L_g`, so that
/// `conj D^l_{mn}(α, β, γ) = E_n[p, (l, m)] · e^{inγ}` (THEORY.md §7.1 Wigner convention).
///
/// Kernels are real, so only `n ≥ 0` is computed; negative `n` follow from
/// `conj D^l_{mn} = (−1)^{m−n} D^l_{−m,−n}`.
#[derive(Debug, Clone)]
pub(crate) struct NBlockBasis {
    grid_bandlimit: usize,
    coeff_bandlimit: usize,
    /// `blocks[n]` for `n = 0..L_c`.
    blocks: Vec<Block>,
}

impl NBlockBasis {
    pub(crate) fn new(grid_bandlimit: usize, coeff_bandlimit: usize) -> Self {
        let grid = So3Grid::new(grid_bandlimit).expect("grid bandlimit ≥ 1");
        let a = grid.n_azimuth();
        let points = grid.n_beta() * a;
        let tables: Vec<WignerSmallDTable> = (0..grid.n_beta())
            .map(|j| WignerSmallDTable::new(coeff_bandlimit, grid.beta(j)).expect("valid table"))
            .collect();
        let weights: Vec<f64> = (0..points).map(|p| grid.weight(p / a)).collect();
        let e = |n: i32| {
            let indices = block_indices(coeff_bandlimit, n);
            DMatrix::from_fn(points, indices.len(), |p, c| {
                let (l, m) = indices[c];
                let alpha = grid.azimuth(p % a);
                Complex64::from_polar(tables[p / a].get(l, m, n), m as f64 * alpha)
            })
        };
        let weighted_conj = |m: &DMatrix<Complex64>, scale: f64| {
            DMatrix::from_fn(m.nrows(), m.ncols(), |p, c| {
                m[(p, c)].conj() * weights[p] * scale
            })
        };
        let blocks = (0..coeff_bandlimit as i32)
            .map(|n| {
                let (plus, minus) = (e(n), e(-n));
                Block {
                    project_right_t: Split::new(&weighted_conj(&minus, a as f64).transpose()),
                    project_left_t: Split::new(&weighted_conj(&plus, 1.0)),
                    e: Split::new(&plus),
                    e_minus: Split::new(&minus),
                }
            })
            .collect();
        Self {
            grid_bandlimit,
            coeff_bandlimit,
            blocks,
        }
    }

    /// Evaluates `K(R, R′) = Re Σ_n Σ B_n[(l,m),(l′,m′)] conj D^l_{mn}(R) conj D^{l′}_{m′,−n}(R′)`
    /// on the grid, given `b[n + L_c − 1] = B_n` (a `|block n| × |block −n|` matrix) for a real
    /// kernel (`B_{−n}` is then implied by `B_n`; only `n ≥ 0` is read).
    pub(crate) fn evaluate(&self, b: &[DMatrix<Complex64>]) -> So3PairKernel {
        let lg = self.grid_bandlimit;
        let (d, p) = So3PairKernel::dims(lg);
        let lc = self.coeff_bandlimit;
        let mut out = So3PairKernel::zeros(lg);
        let values = out.values_mut();
        for (n, block) in self.blocks.iter().enumerate() {
            // Hᵀ = E_{−n} (E_n B_n)ᵀ, whose column-major storage is H row-major, like `values`.
            let m = block.e.mul(&Split::new(&b[n + lc - 1]));
            let h_t = block.e_minus.mul(&m.transpose());
            let weight = if n == 0 { 1.0 } else { 2.0 };
            for delta in 0..d {
                let gamma = std::f64::consts::TAU * delta as f64 / d as f64;
                let (sin, cos) = (n as f64 * gamma).sin_cos();
                let (c, s) = (weight * cos, weight * sin);
                let slab = &mut values[delta * p * p..(delta + 1) * p * p];
                for ((v, hr), hi) in slab.iter_mut().zip(h_t.re.iter()).zip(h_t.im.iter()) {
                    *v += c * hr - s * hi;
                }
            }
        }
        out
    }

    /// Projects a grid kernel onto `K̂_n[(l,m),(l′,m′)] = Σ_{R,R′} w w K(R,R′) D^l_{mn}(R)
    /// D^{l′}_{m′,−n}(R′)` for every `|n| < L_c` (degrees `l, l′ < L_c`), using the quadrature of
    /// the kernel's own grid. Returned as `[n + L_c − 1]`.
    pub(crate) fn project(&self, kernel: &So3PairKernel) -> Vec<DMatrix<Complex64>> {
        let lg = self.grid_bandlimit;
        assert_eq!(
            kernel.bandlimit(),
            lg,
            "kernel grid must match the basis grid"
        );
        let (d, p) = So3PairKernel::dims(lg);
        let lc = self.coeff_bandlimit;
        let values = kernel.values();
        let mut positive: Vec<DMatrix<Complex64>> = Vec::with_capacity(lc);
        let (mut cos_part, mut sin_part) =
            (DMatrix::<f64>::zeros(p, p), DMatrix::<f64>::zeros(p, p));
        for (n, block) in self.blocks.iter().enumerate() {
            // Ǩ_nᵀ = Σ_Δ e^{−inγ_Δ} K[Δ]ᵀ: the row-major slabs read column-major are K[Δ]ᵀ.
            cos_part.fill(0.0);
            sin_part.fill(0.0);
            for delta in 0..d {
                let gamma = std::f64::consts::TAU * delta as f64 / d as f64;
                let (sin, cos) = (n as f64 * gamma).sin_cos();
                let slab = &values[delta * p * p..(delta + 1) * p * p];
                for ((c, s), k) in cos_part.iter_mut().zip(sin_part.iter_mut()).zip(slab) {
                    *c += cos * k;
                    *s -= sin * k;
                }
            }
            // K̂_nᵀ = Rᵀ Ǩ_nᵀ Lᵀ with R = w conj(E_{−n}) (2L−1), L = conj(E_n)ᵀ w.
            let r = &block.project_right_t;
            let u = Split {
                re: &r.re * &cos_part - &r.im * &sin_part,
                im: &r.re * &sin_part + &r.im * &cos_part,
            };
            let khat_t = u.mul(&block.project_left_t);
            positive.push(khat_t.transpose().to_complex());
        }
        // K̂_{−n}[(l,m),(l′,m′)] = (−1)^{m+m′} conj K̂_n[(l,−m),(l′,−m′)] for real kernels.
        let mut out: Vec<DMatrix<Complex64>> = Vec::with_capacity(2 * lc - 1);
        for n in (1..lc).rev() {
            let plus = &positive[n];
            let indices = block_indices(lc, n as i32);
            let mirror: Vec<usize> = indices
                .iter()
                .map(|&(l, m)| {
                    indices
                        .iter()
                        .position(|&(l2, m2)| l2 == l && m2 == -m)
                        .expect("mirror")
                })
                .collect();
            out.push(DMatrix::from_fn(plus.nrows(), plus.ncols(), |i, j| {
                let sign = if (indices[i].1 + indices[j].1).rem_euclid(2) == 0 {
                    1.0
                } else {
                    -1.0
                };
                plus[(mirror[i], mirror[j])].conj() * sign
            }));
        }
        out.extend(positive);
        out
    }
}
