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

/// A complex matrix as two real row-major arrays (`rows × cols`): the products below are
/// loops over contiguous real rows, which vectorise; for these small sizes (`P = 30` points,
/// at most `L²` coefficients) that beats general GEMMs with their per-call allocation and
/// packing.
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
    fn row(&self, r: usize) -> (&[f64], &[f64]) {
        let c = self.cols;
        (&self.re[r * c..][..c], &self.im[r * c..][..c])
    }
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
    /// Per `n`: `M = E_n B_n`, then row by row `H[p₁, ·] = Σ_b M[p₁, b] E_{−n}[·, b]`, added to
    /// every `Δ` slab as `w_n Re(e^{inγ_Δ} H)` (`w_0 = 1`, `w_n = 2` for the implied `−n`).
    pub(crate) fn evaluate(&self, b: &[DMatrix<Complex64>]) -> So3PairKernel {
        let lg = self.grid_bandlimit;
        let (_, p) = So3PairKernel::dims(lg);
        let lc = self.coeff_bandlimit;
        let mut out = So3PairKernel::zeros(lg);
        let values = out.values_mut();
        let (mut m_re, mut m_im) = (Vec::new(), Vec::new());
        let (mut h_re, mut h_im) = (vec![0.0; p], vec![0.0; p]);
        for (n, block) in self.blocks.iter().enumerate() {
            let bn = Split::new(&b[n + lc - 1]);
            let s = bn.cols;
            // M = E_n B_n, row by row (P × s).
            m_re.clear();
            m_re.resize(p * s, 0.0);
            m_im.clear();
            m_im.resize(p * s, 0.0);
            for q in 0..p {
                let (er, ei) = block.e.row(q);
                let (mr, mi) = (&mut m_re[q * s..][..s], &mut m_im[q * s..][..s]);
                for a in 0..s {
                    let (br, bi) = bn.row(a);
                    let (x, y) = (er[a], ei[a]);
                    for c in 0..s {
                        mr[c] += x * br[c] - y * bi[c];
                        mi[c] += x * bi[c] + y * br[c];
                    }
                }
            }
            let weight = if n == 0 { 1.0 } else { 2.0 };
            for p1 in 0..p {
                h_re.fill(0.0);
                h_im.fill(0.0);
                for a in 0..s {
                    let (x, y) = (m_re[p1 * s + a], m_im[p1 * s + a]);
                    let (er, ei) = block.e_minus_t.row(a);
                    if n == 0 {
                        // Only Re H enters at n = 0 (sin 0 = 0).
                        for ((h, r), i) in h_re.iter_mut().zip(er).zip(ei) {
                            *h += x * r - y * i;
                        }
                    } else {
                        for (((hr, hi), r), i) in
                            h_re.iter_mut().zip(h_im.iter_mut()).zip(er).zip(ei)
                        {
                            *hr += x * r - y * i;
                            *hi += x * i + y * r;
                        }
                    }
                }
                for (delta, &(cos, sin)) in block.phases.iter().enumerate() {
                    let (c, sn) = (weight * cos, weight * sin);
                    let row = &mut values[(delta * p + p1) * p..][..p];
                    if n == 0 {
                        for (v, hr) in row.iter_mut().zip(&h_re) {
                            *v += c * hr;
                        }
                    } else {
                        for ((v, hr), hi) in row.iter_mut().zip(&h_re).zip(&h_im) {
                            *v += c * hr - sn * hi;
                        }
                    }
                }
            }
        }
        out
    }

    /// Projects a grid kernel onto `K̂_n[(l,m),(l′,m′)] = Σ_{R,R′} w w K(R,R′) D^l_{mn}(R)
    /// D^{l′}_{m′,−n}(R′)` for every `|n| < L_c` (degrees `l, l′ < L_c`), using the quadrature of
    /// the kernel's own grid. Returned as `[n + L_c − 1]`.
    ///
    /// Per `n ≥ 0`: `X = Σ_Δ e^{−inγ_Δ} K[Δ]` (`P × P`), `V = Lᵀ X` with `L = w conj E_n`, and
    /// `K̂_n = V Rᵀ` with `Rᵀ = (2L−1) w conj E_{−n}`.
    pub(crate) fn project(&self, kernel: &So3PairKernel) -> Vec<DMatrix<Complex64>> {
        let lg = self.grid_bandlimit;
        assert_eq!(
            kernel.bandlimit(),
            lg,
            "kernel grid must match the basis grid"
        );
        let (_, p) = So3PairKernel::dims(lg);
        let lc = self.coeff_bandlimit;
        let values = kernel.values();
        let mut positive: Vec<DMatrix<Complex64>> = Vec::with_capacity(lc);
        let (mut x_re, mut x_im) = (vec![0.0; p * p], vec![0.0; p * p]);
        let (mut v_re, mut v_im) = (Vec::new(), Vec::new());
        for (n, block) in self.blocks.iter().enumerate() {
            x_re.fill(0.0);
            x_im.fill(0.0);
            for (delta, &(cos, sin)) in block.phases.iter().enumerate() {
                let slab = &values[delta * p * p..][..p * p];
                if n == 0 {
                    for (x, k) in x_re.iter_mut().zip(slab) {
                        *x += k;
                    }
                } else {
                    for ((xr, xi), k) in x_re.iter_mut().zip(x_im.iter_mut()).zip(slab) {
                        *xr += cos * k;
                        *xi -= sin * k;
                    }
                }
            }
            // V[a, ·] = Σ_{p₁} Lᵀ[a, p₁] X[p₁, ·]  (s × P).
            let s = block.project_left_t.rows();
            v_re.clear();
            v_re.resize(s * p, 0.0);
            v_im.clear();
            v_im.resize(s * p, 0.0);
            for a in 0..s {
                let (lr, li) = block.project_left_t.row(a);
                let (vr, vi) = (&mut v_re[a * p..][..p], &mut v_im[a * p..][..p]);
                for p1 in 0..p {
                    let (xr, xi) = (&x_re[p1 * p..][..p], &x_im[p1 * p..][..p]);
                    let (u, w) = (lr[p1], li[p1]);
                    if n == 0 {
                        for ((or, oi), x) in vr.iter_mut().zip(vi.iter_mut()).zip(xr) {
                            *or += u * x;
                            *oi += w * x;
                        }
                    } else {
                        for (((or, oi), x), y) in vr.iter_mut().zip(vi.iter_mut()).zip(xr).zip(xi) {
                            *or += u * x - w * y;
                            *oi += u * y + w * x;
                        }
                    }
                }
            }
            // K̂_n[a, b] = Σ_{p₂} V[a, p₂] Rᵀ[b, p₂].
            let khat = DMatrix::from_fn(s, s, |a, b| {
                let (vr, vi) = (&v_re[a * p..][..p], &v_im[a * p..][..p]);
                let (rr, ri) = block.project_right_t.row(b);
                let (mut re, mut im) = (0.0, 0.0);
                for q in 0..p {
                    re += vr[q] * rr[q] - vi[q] * ri[q];
                    im += vr[q] * ri[q] + vi[q] * rr[q];
                }
                Complex64::new(re, im)
            });
            positive.push(khat);
        }
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
