//! Wigner bases on the SO(3) grid, split by the γ-frequency `n`.

use entk_groups::So3Grid;
use entk_reps::WignerSmallDTable;
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use nalgebra::DMatrix;
use num_complex::Complex64;

use super::So3PairKernel;
use crate::scratch;

/// The `(l, m)` pairs with `|n| ≤ l < L_c`, in order `l` then `m`: the coefficients that
/// multiply `e^{inγ}` in a bandlimit-`L_c` expansion.
pub(crate) fn block_indices(coeff_bandlimit: usize, n: i32) -> Vec<(usize, i32)> {
    (n.unsigned_abs() as usize..coeff_bandlimit)
        .flat_map(|l| (-(l as i32)..=l as i32).map(move |m| (l, m)))
        .collect()
}

/// A complex matrix as two real row-major arrays (`rows × cols`), the operands of the real
/// GEMMs below (a complex product is four real ones).
#[derive(Debug, Clone)]
struct Split {
    cols: usize,
    re: Vec<f64>,
    im: Vec<f64>,
}

impl Split {
    fn new(m: &DMatrix<Complex64>) -> Self {
        let (rows, cols) = m.shape();
        let (mut re, mut im) = (
            Vec::with_capacity(rows * cols),
            Vec::with_capacity(rows * cols),
        );
        for r in 0..rows {
            for c in 0..cols {
                re.push(m[(r, c)].re);
                im.push(m[(r, c)].im);
            }
        }
        Self { cols, re, im }
    }
    fn rows(&self) -> usize {
        self.re.len().checked_div(self.cols).unwrap_or(0)
    }
    fn re(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.re, self.rows(), self.cols)
    }
    fn im(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.im, self.rows(), self.cols)
    }
}

/// `dst (+)= Σ_i sign_i · lhs_i · rhs_i` (real GEMMs, one thread: the Gram engine runs pairs in
/// parallel).
fn gemm_sum(mut dst: MatMut<'_, f64>, terms: &[(f64, MatRef<'_, f64>, MatRef<'_, f64>)]) {
    for (i, &(sign, lhs, rhs)) in terms.iter().enumerate() {
        let accum = if i == 0 { Accum::Replace } else { Accum::Add };
        matmul(dst.as_mut(), accum, lhs, rhs, sign, Par::Seq);
    }
}

/// A row-major `rows × cols` view of a scratch array.
fn view_mut(v: &mut [f64], rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_row_major_slice_mut(&mut v[..rows * cols], rows, cols)
}

fn view(v: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(&v[..rows * cols], rows, cols)
}

/// The tables of one γ-frequency `n` (`P` in-plane points, `s_n` coefficients).
#[derive(Debug, Clone)]
struct Block {
    /// `E_n` (`P × s_n`).
    e: Split,
    /// `E_{−n}ᵀ` (`s_n × P`).
    e_minus_t: Split,
    /// `(w ⊙ conj E_n)ᵀ` (`s_n × P`): left factor of the projection.
    project_left_t: Split,
    /// `(w ⊙ conj E_{−n})ᵀ · (2L_g − 1)` (`s_n × P`): right factor of the projection.
    project_right_t: Split,
    /// `(cos, sin)(n γ_Δ)` for every `Δ`.
    phases: Vec<(f64, f64)>,
    /// For `n > 0`: `mirror[i]` is the position of `(l, −m)` when position `i` holds `(l, m)`,
    /// and `sign[i] = (−1)^m`; they give `K̂_{−n}` from `K̂_n`.
    mirror: Vec<usize>,
    sign: Vec<f64>,
}

/// For every `n` with `|n| < L_c`, the matrix `E_n[p, (l, m)] = e^{imα} d^l_{mn}(β)` over the
/// in-plane points `p = (β, α)` of the SO(3) grid of bandlimit `L_g`, so that
/// `conj D^l_{mn}(α, β, γ) = E_n[p, (l, m)] · e^{inγ}` (docs/conventions.md#so3 Wigner convention).
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
        let (d, _) = So3PairKernel::dims(grid_bandlimit);
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
                let indices = block_indices(coeff_bandlimit, n);
                let mirror = indices
                    .iter()
                    .map(|&(l, m)| {
                        indices
                            .iter()
                            .position(|&(l2, m2)| l2 == l && m2 == -m)
                            .expect("mirror")
                    })
                    .collect();
                let sign = indices
                    .iter()
                    .map(|&(_, m)| if m.rem_euclid(2) == 0 { 1.0 } else { -1.0 })
                    .collect();
                let phases = (0..d)
                    .map(|delta| {
                        let gamma = std::f64::consts::TAU * delta as f64 / d as f64;
                        let (sin, cos) = (n as f64 * gamma).sin_cos();
                        (cos, sin)
                    })
                    .collect();
                Block {
                    project_right_t: Split::new(&weighted_conj(&minus, a as f64).transpose()),
                    project_left_t: Split::new(&weighted_conj(&plus, 1.0).transpose()),
                    e: Split::new(&plus),
                    e_minus_t: Split::new(&minus.transpose()),
                    phases,
                    mirror,
                    sign,
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
    ///
    /// Per `n`: `H_n = E_n B_n E_{−n}ᵀ` (`P × P`, complex GEMMs as real ones); then every `Δ`
    /// slab at once as one real GEMM, `K[Δ] = Σ_n w_n (cos(nγ_Δ) Re H_n − sin(nγ_Δ) Im H_n)`
    /// (`w_0 = 1`, `w_n = 2` for the implied `−n`). Buffers come from the thread's scratch pool.
    pub(crate) fn evaluate(&self, b: &[DMatrix<Complex64>]) -> So3PairKernel {
        let lg = self.grid_bandlimit;
        let (d, p) = So3PairKernel::dims(lg);
        let lc = self.coeff_bandlimit;
        let pp = p * p;
        // Rows of the stacked H: Re H_0, then Re H_n and Im H_n for n ≥ 1.
        let stacked = 2 * lc - 1;
        let mut h = scratch::take(stacked * pp);
        let mut phases = vec![0.0; d * stacked];
        let max_s = self.blocks.first().map_or(0, |b| b.e.cols);
        let mut m = scratch::take(2 * p * max_s);
        let (mut br, mut bi) = (vec![0.0; max_s * max_s], vec![0.0; max_s * max_s]);
        for (n, block) in self.blocks.iter().enumerate() {
            let bn = &b[n + lc - 1];
            let s = bn.ncols();
            for r in 0..s {
                for c in 0..s {
                    br[r * s + c] = bn[(r, c)].re;
                    bi[r * s + c] = bn[(r, c)].im;
                }
            }
            let (bre, bim) = (view(&br, s, s), view(&bi, s, s));
            let (m_re, m_im) = m.split_at_mut(p * max_s);
            // M = E_n B_n (P × s).
            gemm_sum(
                view_mut(m_re, p, s),
                &[(1.0, block.e.re(), bre), (-1.0, block.e.im(), bim)],
            );
            gemm_sum(
                view_mut(m_im, p, s),
                &[(1.0, block.e.re(), bim), (1.0, block.e.im(), bre)],
            );
            let (mre, mim) = (view(m_re, p, s), view(m_im, p, s));
            let (tre, tim) = (block.e_minus_t.re(), block.e_minus_t.im());
            // H = M E_{−n}ᵀ (P × P); only Re H enters at n = 0 (sin 0 = 0).
            let row = if n == 0 { 0 } else { 2 * n - 1 };
            let (hn, rest) = h[row * pp..].split_at_mut(pp);
            gemm_sum(view_mut(hn, p, p), &[(1.0, mre, tre), (-1.0, mim, tim)]);
            let weight = if n == 0 { 1.0 } else { 2.0 };
            for (delta, &(cos, sin)) in block.phases.iter().enumerate() {
                phases[delta * stacked + row] = weight * cos;
                if n > 0 {
                    phases[delta * stacked + row + 1] = -weight * sin;
                }
            }
            if n > 0 {
                gemm_sum(view_mut(rest, p, p), &[(1.0, mre, tim), (1.0, mim, tre)]);
            }
        }
        // Every entry is written by the GEMM (`Accum::Replace`), so a recycled array will do.
        let mut out = So3PairKernel::from_values(lg, scratch::take(d * pp)).expect("d·P² values");
        gemm_sum(
            view_mut(out.values_mut(), d, pp),
            &[(1.0, view(&phases, d, stacked), view(&h, stacked, pp))],
        );
        scratch::recycle(h);
        scratch::recycle(m);
        out
    }

    /// Projects a grid kernel onto `K̂_n[(l,m),(l′,m′)] = Σ_{R,R′} w w K(R,R′) D^l_{mn}(R)
    /// D^{l′}_{m′,−n}(R′)` for every `|n| < L_c` (degrees `l, l′ < L_c`), using the quadrature of
    /// the kernel's own grid. Returned as `[n + L_c − 1]`.
    ///
    /// `X_n = Σ_Δ e^{−inγ_Δ} K[Δ]` (`P × P`) for every `n ≥ 0` at once as one real GEMM, then per
    /// `n` `V = Lᵀ X_n` with `L = w conj E_n`, and `K̂_n = V Rᵀ` with `Rᵀ = (2L−1) w conj E_{−n}`
    /// (complex GEMMs as real ones). Buffers come from the thread's scratch pool.
    pub(crate) fn project(&self, kernel: &So3PairKernel) -> Vec<DMatrix<Complex64>> {
        let lg = self.grid_bandlimit;
        assert_eq!(
            kernel.bandlimit(),
            lg,
            "kernel grid must match the basis grid"
        );
        let (d, p) = So3PairKernel::dims(lg);
        let lc = self.coeff_bandlimit;
        let pp = p * p;
        // Rows of the stacked X: Re X_0, then Re X_n and Im X_n for n ≥ 1.
        let stacked = 2 * lc - 1;
        let mut phases = vec![0.0; stacked * d];
        for (n, block) in self.blocks.iter().enumerate() {
            let row = if n == 0 { 0 } else { 2 * n - 1 };
            for (delta, &(cos, sin)) in block.phases.iter().enumerate() {
                phases[row * d + delta] = cos;
                if n > 0 {
                    phases[(row + 1) * d + delta] = -sin;
                }
            }
        }
        let mut x = scratch::take(stacked * pp);
        gemm_sum(
            view_mut(&mut x, stacked, pp),
            &[(1.0, view(&phases, stacked, d), view(kernel.values(), d, pp))],
        );
        let max_s = self.blocks.first().map_or(0, |b| b.e.cols);
        let mut v = scratch::take(2 * max_s * p);
        let (mut kr, mut ki) = (vec![0.0; max_s * max_s], vec![0.0; max_s * max_s]);
        let mut positive: Vec<DMatrix<Complex64>> = Vec::with_capacity(lc);
        for (n, block) in self.blocks.iter().enumerate() {
            let s = block.project_left_t.rows();
            let row = if n == 0 { 0 } else { 2 * n - 1 };
            let xre = view(&x[row * pp..], p, p);
            let (lre, lim) = (block.project_left_t.re(), block.project_left_t.im());
            let (v_re, v_im) = v.split_at_mut(max_s * p);
            // V = Lᵀ X (s × P).
            if n == 0 {
                gemm_sum(view_mut(v_re, s, p), &[(1.0, lre, xre)]);
                gemm_sum(view_mut(v_im, s, p), &[(1.0, lim, xre)]);
            } else {
                let xim = view(&x[(row + 1) * pp..], p, p);
                gemm_sum(view_mut(v_re, s, p), &[(1.0, lre, xre), (-1.0, lim, xim)]);
                gemm_sum(view_mut(v_im, s, p), &[(1.0, lre, xim), (1.0, lim, xre)]);
            }
            let (vre, vim) = (view(v_re, s, p), view(v_im, s, p));
            // K̂_n = V R (s × s), R = (Rᵀ)ᵀ.
            let (rre, rim) = (
                block.project_right_t.re().transpose(),
                block.project_right_t.im().transpose(),
            );
            gemm_sum(
                view_mut(&mut kr, s, s),
                &[(1.0, vre, rre), (-1.0, vim, rim)],
            );
            gemm_sum(view_mut(&mut ki, s, s), &[(1.0, vre, rim), (1.0, vim, rre)]);
            positive.push(DMatrix::from_fn(s, s, |a, b| {
                Complex64::new(kr[a * s + b], ki[a * s + b])
            }));
        }
        scratch::recycle(x);
        scratch::recycle(v);
        // K̂_{−n}[(l,m),(l′,m′)] = (−1)^{m+m′} conj K̂_n[(l,−m),(l′,−m′)] for real kernels.
        let mut out: Vec<DMatrix<Complex64>> = Vec::with_capacity(2 * lc - 1);
        for n in (1..lc).rev() {
            let (plus, block) = (&positive[n], &self.blocks[n]);
            out.push(DMatrix::from_fn(plus.nrows(), plus.ncols(), |i, j| {
                plus[(block.mirror[i], block.mirror[j])].conj() * (block.sign[i] * block.sign[j])
            }));
        }
        out.extend(positive);
        out
    }
}
