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

/// `[Re; Im]` of a complex `r × c` matrix: a real row-major `2r × c` array.
fn stacked(m: &DMatrix<Complex64>) -> Vec<f64> {
    let (rows, cols) = m.shape();
    let part = |f: fn(&Complex64) -> f64| {
        (0..rows).flat_map(move |r| (0..cols).map(move |c| f(&m[(r, c)])))
    };
    part(|z| z.re).chain(part(|z| z.im)).collect()
}

/// `[[Re, −Im], [Im, Re]]` of a complex `r × c` matrix: a real row-major `2r × 2c` array, the
/// real form of a complex left factor (`[[Re, −Im], [Im, Re]] · [Re Y; Im Y] = [Re XY; Im XY]`).
fn real_block(m: &DMatrix<Complex64>) -> Vec<f64> {
    let (rows, cols) = m.shape();
    let mut out = Vec::with_capacity(4 * rows * cols);
    for r in 0..rows {
        out.extend((0..cols).map(|c| m[(r, c)].re));
        out.extend((0..cols).map(|c| -m[(r, c)].im));
    }
    for r in 0..rows {
        out.extend((0..cols).map(|c| m[(r, c)].im));
        out.extend((0..cols).map(|c| m[(r, c)].re));
    }
    out
}

/// Fills the right half of a row-major `2r × 2c` array (row stride `2c`) whose left half holds
/// `[Re; Im]` of a complex `r × c` matrix, so that it is that matrix's [`real_block`].
fn complete_block(m: &mut [f64], rows: usize, cols: usize) {
    let w = 2 * cols;
    for r in 0..rows {
        for c in 0..cols {
            let (re, im) = (m[r * w + c], m[(rows + r) * w + c]);
            m[r * w + cols + c] = -im;
            m[(rows + r) * w + cols + c] = re;
        }
    }
}

/// `dst = lhs · rhs` (a real GEMM, one thread: the Gram engine runs pairs in parallel).
fn gemm(dst: MatMut<'_, f64>, lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>) {
    matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
}

/// One product large enough for faer's blocked kernels: the first such product in a process
/// reads the machine's cache sizes (about fifty sysfs files, a millisecond), and every thread
/// that needs a GEMM meanwhile waits for it ([`super::warm_up_gemm`]).
pub(super) fn warm_up() {
    const N: usize = 17;
    let (a, mut c) = (vec![0.0; N * N], vec![0.0; N * N]);
    gemm(view_mut(&mut c, N, N), view(&a, N, N), view(&a, N, N));
}

/// A row-major `rows × cols` view of a scratch array.
fn view_mut(v: &mut [f64], rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_row_major_slice_mut(&mut v[..rows * cols], rows, cols)
}

fn view(v: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(&v[..rows * cols], rows, cols)
}

/// The left `rows × cols` part of a row-major array of row stride `stride`.
///
/// Built as the transpose of a column-major view: faer 0.24's
/// `MatMut::from_row_major_slice_with_stride_mut` swaps the two strides (it writes outside the
/// slice), while its column-major twin is right.
fn left_mut(v: &mut [f64], rows: usize, cols: usize, stride: usize) -> MatMut<'_, f64> {
    let len = (rows - 1) * stride + cols;
    MatMut::from_column_major_slice_with_stride_mut(&mut v[..len], cols, rows, stride)
        .transpose_mut()
}

fn left(v: &[f64], rows: usize, cols: usize, stride: usize) -> MatRef<'_, f64> {
    let len = (rows - 1) * stride + cols;
    MatRef::from_row_major_slice_with_stride(&v[..len], rows, cols, stride)
}

/// The tables of one γ-frequency `n` (`P` in-plane points, `s_n` coefficients), as the real
/// forms of complex factors: each complex product below is one real GEMM.
#[derive(Debug, Clone)]
struct Block {
    /// `s_n`.
    s: usize,
    /// `E_n` (`P × s_n`) as [`real_block`] (`2P × 2s_n`).
    e: Vec<f64>,
    /// `E_{−n}ᵀ` (`s_n × P`) as [`stacked`] (`2s_n × P`).
    e_minus_t: Vec<f64>,
    /// `(w ⊙ conj E_n)ᵀ` (`s_n × P`), the left factor of the projection, as [`real_block`]
    /// (`2s_n × 2P`; its left half is the [`stacked`] form).
    project_left_t: Vec<f64>,
    /// `w ⊙ conj E_{−n} · (2L_g − 1)` (`P × s_n`), the right factor of the projection, as
    /// [`stacked`] (`2P × s_n`).
    project_right: Vec<f64>,
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
                    s: indices.len(),
                    project_right: stacked(&weighted_conj(&minus, a as f64)),
                    project_left_t: real_block(&weighted_conj(&plus, 1.0).transpose()),
                    e: real_block(&plus),
                    e_minus_t: stacked(&minus.transpose()),
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
    /// Per `n`: `H_n = E_n B_n E_{−n}ᵀ` (`P × P`; each complex product is one real GEMM of the
    /// factors' real forms, two GEMM calls per `n` instead of six to eight: at these sizes a
    /// call's overhead rivals its arithmetic); then every `Δ` slab at once as one real GEMM,
    /// `K[Δ] = Σ_n w_n (cos(nγ_Δ) Re H_n − sin(nγ_Δ) Im H_n)` (`w_0 = 1`, `w_n = 2` for the
    /// implied `−n`). Buffers come from the thread's scratch pool.
    pub(crate) fn evaluate(&self, b: &[DMatrix<Complex64>]) -> So3PairKernel {
        let lg = self.grid_bandlimit;
        let (d, p) = So3PairKernel::dims(lg);
        let lc = self.coeff_bandlimit;
        let pp = p * p;
        // Rows of the stacked H: Re H_0, then Re H_n and Im H_n for n ≥ 1.
        let stacked = 2 * lc - 1;
        let mut h = scratch::take(stacked * pp);
        let mut phases = vec![0.0; d * stacked];
        let max_s = self.blocks.first().map_or(0, |b| b.s);
        // The real form of M = E_n B_n (`2P × 2s`).
        let mut m = scratch::take(4 * p * max_s);
        let mut bs = vec![0.0; 2 * max_s * max_s];
        for (n, block) in self.blocks.iter().enumerate() {
            let bn = &b[n + lc - 1];
            let s = bn.ncols();
            for r in 0..s {
                for c in 0..s {
                    bs[r * s + c] = bn[(r, c)].re;
                    bs[(s + r) * s + c] = bn[(r, c)].im;
                }
            }
            // [Re M; Im M] = E_n B_n (2P × s), then the rest of M's real form.
            gemm(
                left_mut(&mut m, 2 * p, s, 2 * s),
                view(&block.e, 2 * p, 2 * s),
                view(&bs, 2 * s, s),
            );
            complete_block(&mut m, p, s);
            // [Re H; Im H] = M E_{−n}ᵀ (2P × P); only Re H enters at n = 0 (sin 0 = 0).
            let row = if n == 0 { 0 } else { 2 * n - 1 };
            let rows = if n == 0 { p } else { 2 * p };
            gemm(
                view_mut(&mut h[row * pp..], rows, p),
                view(&m, rows, 2 * s),
                view(&block.e_minus_t, 2 * s, p),
            );
            let weight = if n == 0 { 1.0 } else { 2.0 };
            for (delta, &(cos, sin)) in block.phases.iter().enumerate() {
                phases[delta * stacked + row] = weight * cos;
                if n > 0 {
                    phases[delta * stacked + row + 1] = -weight * sin;
                }
            }
        }
        // Every entry is written by the GEMM (`Accum::Replace`), so a recycled array will do.
        let mut out = So3PairKernel::from_values(lg, scratch::take(d * pp)).expect("d·P² values");
        gemm(
            view_mut(out.values_mut(), d, pp),
            view(&phases, d, stacked),
            view(&h, stacked, pp),
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
    /// (each complex product one real GEMM). Buffers come from the thread's scratch pool.
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
        gemm(
            view_mut(&mut x, stacked, pp),
            view(&phases, stacked, d),
            view(kernel.values(), d, pp),
        );
        let max_s = self.blocks.first().map_or(0, |b| b.s);
        // The real form of V = Lᵀ X_n (`2s × 2P`).
        let mut v = scratch::take(4 * max_s * p);
        let mut ks = vec![0.0; 2 * max_s * max_s];
        let mut positive: Vec<DMatrix<Complex64>> = Vec::with_capacity(lc);
        for (n, block) in self.blocks.iter().enumerate() {
            let s = block.s;
            let row = if n == 0 { 0 } else { 2 * n - 1 };
            // [Re V; Im V] = Lᵀ X (2s × P): X_0 is real, so only the stacked half of Lᵀ's real
            // form enters at n = 0.
            let (lt, inner) = if n == 0 {
                (left(&block.project_left_t, 2 * s, p, 2 * p), p)
            } else {
                (view(&block.project_left_t, 2 * s, 2 * p), 2 * p)
            };
            gemm(
                left_mut(&mut v, 2 * s, p, 2 * p),
                lt,
                view(&x[row * pp..], inner, p),
            );
            complete_block(&mut v, s, p);
            // [Re K̂_n; Im K̂_n] = V R (2s × s).
            gemm(
                view_mut(&mut ks, 2 * s, s),
                view(&v, 2 * s, 2 * p),
                view(&block.project_right, 2 * p, s),
            );
            positive.push(DMatrix::from_fn(s, s, |a, b| {
                Complex64::new(ks[a * s + b], ks[(s + a) * s + b])
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
