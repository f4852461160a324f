//! Two-slot spatial stencils: the A-operator of THEORY.md §2 on pixel kernels.
//!
//! A stencil is a list of [`Tap`]s; applied to a kernel block stored `(H1, H2, W1, W2)` it gives
//! `out(t, t′) += scale · Σ_taps w · in(t + u, t′ + u′)` with padding deciding what happens out
//! of range. A plain conv uses taps `(v, v, 1)`; a lifting/group conv for slice pair `(s, s′)` uses
//! the nonzeros of `M_s M_{s′}ᵀ` (THEORY.md §6.4), which for exact groups is `(a_s v, a_{s′} v, 1)`.

use nalgebra::{DMatrix, Matrix2};

use entk_groups::PixelResampling;

use crate::error::{NtkError, Result};
use crate::param::Padding;

/// One stencil term: offsets `u = (r1, c1)` in the first slot, `u′ = (r2, c2)` in the second
/// (row, col from the window centre) and a weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tap {
    /// Row offset, first slot.
    pub r1: isize,
    /// Row offset, second slot.
    pub r2: isize,
    /// Column offset, first slot.
    pub c1: isize,
    /// Column offset, second slot.
    pub c2: isize,
    /// Weight.
    pub w: f64,
}

/// The taps of an ordinary `h×w` convolution: `(v, v, 1)` for every window offset.
pub fn conv_taps(fh: usize, fw: usize) -> Vec<Tap> {
    let (kh, kw) = ((fh / 2) as isize, (fw / 2) as isize);
    let mut t = Vec::new();
    for r in -kh..=kh {
        for c in -kw..=kw {
            t.push(Tap {
                r1: r,
                r2: r,
                c1: c,
                c2: c,
                w: 1.0,
            });
        }
    }
    t
}

/// The resampling operator `M_a` of a `q×q` filter under the 2×2 matrix `m` (row-major).
pub fn resampling(m: &[f64; 4], q: usize) -> Result<DMatrix<f64>> {
    let mat = Matrix2::new(m[0], m[1], m[2], m[3]);
    Ok(PixelResampling::new(&mat, q)
        .map_err(NtkError::Group)?
        .to_dense())
}

/// The taps of `M_a M_bᵀ` on a `q×q` window: `Σ_{u,u′} (M_a M_bᵀ)[u,u′] K(t+u, t′+u′)`.
pub fn pair_taps(ma: &DMatrix<f64>, mb: &DMatrix<f64>, q: usize) -> Vec<Tap> {
    let p = ma * mb.transpose();
    let k = (q / 2) as isize;
    let mut taps = Vec::new();
    for u in 0..q * q {
        for v in 0..q * q {
            let w = p[(u, v)];
            if w != 0.0 {
                taps.push(Tap {
                    r1: (u / q) as isize - k,
                    c1: (u % q) as isize - k,
                    r2: (v / q) as isize - k,
                    c2: (v % q) as isize - k,
                    w,
                });
            }
        }
    }
    taps
}

/// Geometry of one stencil application.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Input rows and columns.
    pub h_in: usize,
    /// Input columns.
    pub w_in: usize,
    /// Output rows.
    pub h_out: usize,
    /// Output columns.
    pub w_out: usize,
    /// Half window height (for VALID offsets).
    pub kh: usize,
    /// Half window width.
    pub kw: usize,
    /// Padding.
    pub padding: Padding,
}

impl Geometry {
    /// The geometry of an `fh×fw` window on an `h×w` input.
    pub fn new(h: usize, w: usize, fh: usize, fw: usize, padding: Padding) -> Option<Self> {
        Some(Geometry {
            h_in: h,
            w_in: w,
            h_out: padding.out_len(h, fh)?,
            w_out: padding.out_len(w, fw)?,
            kh: fh / 2,
            kw: fw / 2,
            padding,
        })
    }
}

/// Contiguous runs `(out_start, in_start, len)` of the innermost axis for offset `off`.
fn segments(g: &Geometry, off: isize) -> Vec<(usize, usize, usize)> {
    let (n_out, n_in) = (g.w_out, g.w_in);
    match g.padding {
        Padding::Valid => vec![(0, (g.kw as isize + off) as usize, n_out)],
        Padding::Same => {
            let lo = (-off).max(0) as usize;
            let hi = ((n_in as isize - off).min(n_out as isize)).max(0) as usize;
            if hi > lo {
                vec![(lo, (lo as isize + off) as usize, hi - lo)]
            } else {
                vec![]
            }
        }
        Padding::Circular => {
            let mut v = Vec::new();
            let mut o = 0;
            while o < n_out {
                let i = (o as isize + off).rem_euclid(n_in as isize) as usize;
                let len = (n_in - i).min(n_out - o);
                v.push((o, i, len));
                o += len;
            }
            v
        }
    }
}

/// `out(t,t′) += scale · Σ_taps w · inp(t+u, t′+u′)` on `(H1,H2,W1,W2)` blocks.
///
/// `out` has `h_out²·w_out²` values, `inp` `h_in²·w_in²`. The innermost loop runs over
/// contiguous memory; no allocation happens inside the loops over positions.
pub fn apply_taps(out: &mut [f64], inp: &[f64], taps: &[Tap], g: &Geometry, scale: f64) {
    let (hi, wi, ho, wo) = (g.h_in, g.w_in, g.h_out, g.w_out);
    debug_assert_eq!(out.len(), ho * ho * wo * wo);
    debug_assert_eq!(inp.len(), hi * hi * wi * wi);
    let segs: Vec<Vec<(usize, usize, usize)>> = taps.iter().map(|t| segments(g, t.c2)).collect();
    for i1 in 0..ho {
        for i2 in 0..ho {
            let out_blk = &mut out[(i1 * ho + i2) * wo * wo..][..wo * wo];
            for (tap, seg) in taps.iter().zip(&segs) {
                let Some(s1) = g.padding.source(i1, tap.r1, g.kh, hi) else {
                    continue;
                };
                let Some(s2) = g.padding.source(i2, tap.r2, g.kh, hi) else {
                    continue;
                };
                let in_blk = &inp[(s1 * hi + s2) * wi * wi..][..wi * wi];
                let w = scale * tap.w;
                for j1 in 0..wo {
                    let Some(sj1) = g.padding.source(j1, tap.c1, g.kw, wi) else {
                        continue;
                    };
                    let in_row = &in_blk[sj1 * wi..][..wi];
                    let out_row = &mut out_blk[j1 * wo..][..wo];
                    for &(o0, i0, len) in seg {
                        let (dst, src) = (&mut out_row[o0..o0 + len], &in_row[i0..i0 + len]);
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += w * s;
                        }
                    }
                }
            }
        }
    }
}

/// A stencil whose taps are `(v, A v, 1)` for every offset `v = (r, c)` of the window, with `A`
/// a signed permutation matrix: plain convolutions (`A = 1`) and the slice pairs of groups that
/// act exactly on pixels (C4, D4 and subgroups, THEORY.md §6.3).
///
/// Each coordinate of `v` then moves exactly two of the four axes `(H1, H2, W1, W2)`, and the
/// zero padding is a product of per-axis indicators, so the `q²`-term sum factorises into two
/// `q`-term passes: `2q` instead of `q²` additions per entry (6 instead of 9 for 3×3). Only
/// the summation order differs from [`apply_taps`] (relative differences of order 1e-16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separable {
    /// `A` swaps the coordinates: `A v = (sign_r·c, sign_c·r)`; otherwise
    /// `A v = (sign_r·r, sign_c·c)`.
    swap: bool,
    sign_r: isize,
    sign_c: isize,
}

/// One factor of a [`Separable`] stencil: offsets `d ∈ [−k, k]` move `axes` (indices into
/// `(H1, H2, W1, W2)`, with signs).
struct Pass {
    axes: [(usize, isize); 2],
    k: usize,
}

impl Separable {
    /// Recognises the tap set of an `fh×fw` window, or `None` (interpolating groups, weights
    /// other than 1, swaps on non-square windows).
    pub fn detect(taps: &[Tap], fh: usize, fw: usize) -> Option<Self> {
        let (kh, kw) = ((fh / 2) as isize, (fw / 2) as isize);
        if taps.len() != fh * fw || taps.iter().any(|t| t.w != 1.0) {
            return None;
        }
        let candidates = [
            (false, 1, 1),
            (false, 1, -1),
            (false, -1, 1),
            (false, -1, -1),
            (true, 1, 1),
            (true, 1, -1),
            (true, -1, 1),
            (true, -1, -1),
        ];
        candidates
            .into_iter()
            .map(|(swap, sign_r, sign_c)| Separable {
                swap,
                sign_r,
                sign_c,
            })
            .find(|s| {
                if s.swap && kh != kw {
                    return false;
                }
                let mut seen = vec![false; fh * fw];
                taps.iter().all(|t| {
                    let (r2, c2) = s.image(t.r1, t.c1);
                    let inside = t.r1.abs() <= kh && t.c1.abs() <= kw;
                    let idx = ((t.r1 + kh) * fw as isize + t.c1 + kw) as usize;
                    let fresh = inside && !seen[idx];
                    if fresh {
                        seen[idx] = true;
                    }
                    fresh && (t.r2, t.c2) == (r2, c2)
                })
            })
    }

    /// `A v` for `v = (r, c)`.
    fn image(&self, r: isize, c: isize) -> (isize, isize) {
        if self.swap {
            (self.sign_r * c, self.sign_c * r)
        } else {
            (self.sign_r * r, self.sign_c * c)
        }
    }

    /// The two passes. The second is the one that moves `W2` (the innermost axis), so the
    /// first writes whole rows and the second reads rows of a padded intermediate.
    fn passes(&self, g: &Geometry) -> [Pass; 2] {
        if self.swap {
            // A v = (sign_r·c, sign_c·r): c moves (W1, H2), r moves (H1, W2).
            [
                Pass {
                    axes: [(2, 1), (1, self.sign_r)],
                    k: g.kw,
                },
                Pass {
                    axes: [(0, 1), (3, self.sign_c)],
                    k: g.kh,
                },
            ]
        } else {
            [
                Pass {
                    axes: [(0, 1), (1, self.sign_r)],
                    k: g.kh,
                },
                Pass {
                    axes: [(2, 1), (3, self.sign_c)],
                    k: g.kw,
                },
            ]
        }
    }

    /// `out(t,t′) = scale · Σ_v inp(t+v, t′+Av)` on `(H1,H2,W1,W2)` blocks (overwrites `out`).
    ///
    /// The intermediate stores each `W2` row with `k` extra entries on both sides holding the
    /// padding (zeros, or the wrapped values for CIRCULAR), so the second pass sums whole
    /// shifted rows without edge cases.
    pub fn apply(&self, out: &mut [f64], inp: &[f64], g: &Geometry, scale: f64) {
        let in_dims = [g.h_in, g.h_in, g.w_in, g.w_in];
        let out_dims = [g.h_out, g.h_out, g.w_out, g.w_out];
        debug_assert_eq!(out.len(), out_dims.iter().product::<usize>());
        debug_assert_eq!(inp.len(), in_dims.iter().product::<usize>());
        let [first, second] = self.passes(g);
        let mut mid_dims = in_dims;
        for (a, _) in first.axes {
            mid_dims[a] = out_dims[a];
        }
        let margin = match g.padding {
            Padding::Valid => 0,
            Padding::Same | Padding::Circular => second.k,
        };
        let mid_rows = Rows {
            dims: mid_dims,
            stride: mid_dims[3] + 2 * margin,
            margin,
        };
        let mut mid =
            crate::scratch::take(mid_dims[..3].iter().product::<usize>() * mid_rows.stride);
        let input = Rows {
            dims: in_dims,
            stride: in_dims[3],
            margin: 0,
        };
        let output = Rows {
            dims: out_dims,
            stride: out_dims[3],
            margin: 0,
        };
        run_pass(&mut mid, &mid_rows, inp, &input, &first, g.padding, 1.0);
        run_pass(out, &output, &mid, &mid_rows, &second, g.padding, scale);
        crate::scratch::recycle(mid);
    }
}

/// An `(H1, H2, W1, W2)` array whose `W2` rows are `stride` apart, the `dims[3]` values of a
/// row starting `margin` entries in.
struct Rows {
    dims: [usize; 4],
    stride: usize,
    margin: usize,
}

/// `out[o] = scale · Σ_{d=−k..k} inp[src(o, d)]` for one [`Pass`] (overwrites `out`'s rows and
/// fills their margins with the padding); axes not in the pass keep their index. A pass that
/// moves `W2` reads `inp`'s margins instead of the padding.
fn run_pass(
    out: &mut [f64],
    o: &Rows,
    inp: &[f64],
    i: &Rows,
    pass: &Pass,
    padding: Padding,
    scale: f64,
) {
    let taps = 2 * pass.k + 1;
    let k = pass.k as isize;
    let sign = |a: usize| pass.axes.iter().find(|(b, _)| *b == a).map(|(_, s)| *s);
    // sources[a][o·taps + d]: the input index of axis a read by output index o at offset d.
    let sources: [Vec<Option<usize>>; 3] = [0, 1, 2].map(|a| {
        (0..o.dims[a])
            .flat_map(|x| {
                (0..taps).map(move |d| match sign(a) {
                    Some(s) => padding.source(x, s * (d as isize - k), pass.k, i.dims[a]),
                    None => Some(x),
                })
            })
            .collect()
    });
    // Start of the W2 run read at offset d within a padded input row: output x reads position
    // `x + s·(d − k)` behind a margin of k (SAME/CIRCULAR) or `x + k + s·(d − k)` (VALID, no
    // margin), both `x + k + s·(d − k)` from the row start.
    let shift: Vec<usize> = (0..taps)
        .map(|d| match sign(3) {
            Some(s) => (k + s * (d as isize - k)) as usize,
            None => i.margin,
        })
        .collect();
    let n = o.dims[3];
    let mut rows: Vec<usize> = Vec::with_capacity(taps);
    let mut outer: Vec<Option<usize>> = vec![None; taps];
    let mut out_rows = out.chunks_exact_mut(o.stride);
    for o0 in 0..o.dims[0] {
        for o1 in 0..o.dims[1] {
            // The (H1, H2) part of each offset's source row, shared by the whole W1 loop.
            for (d, part) in outer.iter_mut().enumerate() {
                *part = match (sources[0][o0 * taps + d], sources[1][o1 * taps + d]) {
                    (Some(s0), Some(s1)) => Some((s0 * i.dims[1] + s1) * i.dims[2]),
                    _ => None,
                };
            }
            for o2 in 0..o.dims[2] {
                rows.clear();
                for (d, part) in outer.iter().enumerate() {
                    if let (Some(p), Some(s2)) = (part, sources[2][o2 * taps + d]) {
                        rows.push((p + s2) * i.stride + shift[d]);
                    }
                }
                let padded = out_rows.next().expect("output rows match the dimensions");
                let (left, rest) = padded.split_at_mut(o.margin);
                let (row, right) = rest.split_at_mut(n);
                sum_rows(row, inp, &rows, scale);
                match padding {
                    Padding::Circular => {
                        let m = o.margin as isize;
                        for (j, v) in left.iter_mut().enumerate() {
                            *v = row[(j as isize - m).rem_euclid(n as isize) as usize];
                        }
                        for (j, v) in right.iter_mut().enumerate() {
                            *v = row[j % n];
                        }
                    }
                    _ => {
                        left.fill(0.0);
                        right.fill(0.0);
                    }
                }
            }
        }
    }
}

/// `row = scale · Σ_r inp[r..r + len]` over the row starts `rows`, summed left to right in one
/// sweep for up to three rows (the 3×3 case).
fn sum_rows(row: &mut [f64], inp: &[f64], rows: &[usize], scale: f64) {
    let n = row.len();
    let src = |r: usize| &inp[r..r + n];
    match *rows {
        [] => row.fill(0.0),
        [a] => {
            for (o, a) in row.iter_mut().zip(src(a)) {
                *o = scale * a;
            }
        }
        [a, b] => {
            for ((o, a), b) in row.iter_mut().zip(src(a)).zip(src(b)) {
                *o = scale * (a + b);
            }
        }
        [a, b, c] => {
            for (((o, a), b), c) in row.iter_mut().zip(src(a)).zip(src(b)).zip(src(c)) {
                *o = scale * ((a + b) + c);
            }
        }
        [a, ref more @ ..] => {
            row.copy_from_slice(src(a));
            for &b in more {
                for (o, b) in row.iter_mut().zip(src(b)) {
                    *o += b;
                }
            }
            if scale != 1.0 {
                row.iter_mut().for_each(|v| *v *= scale);
            }
        }
    }
}

/// `out = scale · A[inp]` (overwriting `out`) through the factorised form when there is one.
pub fn apply_stencil(
    out: &mut [f64],
    inp: &[f64],
    taps: &[Tap],
    separable: Option<Separable>,
    g: &Geometry,
    scale: f64,
) {
    match separable {
        Some(s) => s.apply(out, inp, g, scale),
        None => {
            out.fill(0.0);
            apply_taps(out, inp, taps, g, scale);
        }
    }
}

/// How a pooling window weighs the entries it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowWeight {
    /// Every entry weighs 1 (`sum_pool`).
    Sum,
    /// Every entry weighs `1/k` per axis, padding included (`avg_pool`, neural-tangents'
    /// default `normalize_edges=False`).
    Mean,
    /// `1/(entries inside the image)` per axis (`avg_pool` with `normalize_edges`).
    MeanInside,
}

/// A linear map along one spatial axis: output `o` is `Σ_{(i, w) ∈ rows[o]} w · input[i]`.
///
/// Windowed pools and the subsampling of strided convolutions are such maps, applied to both
/// slots of a kernel: `K_out = (P ⊗ P ⊗ Q ⊗ Q) K_in` on `(H1, H2, W1, W2)` for `P` on rows and
/// `Q` on columns (`map_pair_block`), and `y = (P ⊗ Q) x` on `(H, W, C)` features.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisMap {
    /// Input length.
    pub n_in: usize,
    /// Per output index, the `(input index, weight)` terms.
    pub rows: Vec<Vec<(usize, f64)>>,
}

/// The SAME padding of lax (and neural-tangents) for an axis of length `n`, window `k` and
/// stride `s`: output length `⌈n/s⌉` and `(lo, hi)` padding with
/// `lo + hi = max((out − 1)·s + k − n, 0)`, `lo = ⌊(lo + hi)/2⌋` (so 8 → 4 at `k = 3, s = 2`
/// pads `(0, 1)`).
pub fn same_padding(n: usize, k: usize, s: usize) -> (usize, usize, usize) {
    let out = n.div_ceil(s);
    let total = ((out - 1) * s + k).saturating_sub(n);
    (out, total / 2, total - total / 2)
}

impl AxisMap {
    /// Output length.
    pub fn n_out(&self) -> usize {
        self.rows.len()
    }

    /// A pooling window of length `k` moved by `stride` under `padding` (lax semantics:
    /// VALID `⌊(n − k)/s⌋ + 1` outputs; SAME and CIRCULAR `⌈n/s⌉` outputs with
    /// [`same_padding`], CIRCULAR wrapping where SAME reads zeros). `None` when VALID does not
    /// fit or `k`/`stride` is 0.
    pub fn window(
        n: usize,
        k: usize,
        stride: usize,
        padding: Padding,
        weight: WindowWeight,
    ) -> Option<AxisMap> {
        if k == 0 || stride == 0 || n == 0 {
            return None;
        }
        let (n_out, lo) = match padding {
            Padding::Valid => (n.checked_sub(k)? / stride + 1, 0),
            Padding::Same | Padding::Circular => {
                let (o, lo, _) = same_padding(n, k, stride);
                (o, lo)
            }
        };
        let rows = (0..n_out)
            .map(|o| {
                let start = (o * stride) as isize - lo as isize;
                let idx: Vec<usize> = (0..k as isize)
                    .filter_map(|j| {
                        let i = start + j;
                        match padding {
                            Padding::Circular => Some(i.rem_euclid(n as isize) as usize),
                            _ => (i >= 0 && (i as usize) < n).then_some(i as usize),
                        }
                    })
                    .collect();
                let w = match weight {
                    WindowWeight::Sum => 1.0,
                    WindowWeight::Mean => 1.0 / k as f64,
                    WindowWeight::MeanInside => 1.0 / idx.len() as f64,
                };
                idx.into_iter().map(|i| (i, w)).collect()
            })
            .collect();
        Some(AxisMap { n_in: n, rows })
    }

    /// Picks inputs `start, start + stride, …` (`n_out` of them).
    pub fn subsample(n_in: usize, start: usize, stride: usize, n_out: usize) -> AxisMap {
        AxisMap {
            n_in,
            rows: (0..n_out)
                .map(|o| vec![(start + o * stride, 1.0)])
                .collect(),
        }
    }

    /// True when the map commutes with reversing the axis (`J P J = P`): then a pool or
    /// strided convolution with this map on both axes of a square image commutes with the
    /// rotations and reflections of the square, and equivariance is kept.
    pub fn is_reversal_symmetric(&self) -> bool {
        let (n_in, n_out) = (self.n_in, self.n_out());
        let sorted = |mut v: Vec<(usize, f64)>| {
            v.sort_by_key(|a| a.0);
            v
        };
        (0..n_out).all(|o| {
            let mirrored: Vec<(usize, f64)> = self.rows[n_out - 1 - o]
                .iter()
                .map(|&(i, w)| (n_in - 1 - i, w))
                .collect();
            sorted(mirrored) == sorted(self.rows[o].clone())
        })
    }

    /// One pass of this map along `axis` of a row-major array of shape `dims`; returns the new
    /// array (the axis now has `n_out` entries).
    fn pass(&self, inp: &[f64], dims: &mut [usize], axis: usize) -> Vec<f64> {
        debug_assert_eq!(dims[axis], self.n_in);
        let outer: usize = dims[..axis].iter().product();
        let inner: usize = dims[axis + 1..].iter().product();
        let (ni, no) = (self.n_in, self.n_out());
        let mut out = vec![0.0; outer * no * inner];
        for p in 0..outer {
            for (o, row) in self.rows.iter().enumerate() {
                let dst = &mut out[(p * no + o) * inner..][..inner];
                for &(i, w) in row {
                    let src = &inp[(p * ni + i) * inner..][..inner];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += w * s;
                    }
                }
            }
        }
        dims[axis] = no;
        out
    }

    /// The transpose pass (for reverse mode): `axis` goes from `n_out` back to `n_in` entries.
    fn pass_transpose(&self, inp: &[f64], dims: &mut [usize], axis: usize) -> Vec<f64> {
        debug_assert_eq!(dims[axis], self.n_out());
        let outer: usize = dims[..axis].iter().product();
        let inner: usize = dims[axis + 1..].iter().product();
        let (ni, no) = (self.n_in, self.n_out());
        let mut out = vec![0.0; outer * ni * inner];
        for p in 0..outer {
            for (o, row) in self.rows.iter().enumerate() {
                let src = &inp[(p * no + o) * inner..][..inner];
                for &(i, w) in row {
                    let dst = &mut out[(p * ni + i) * inner..][..inner];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += w * s;
                    }
                }
            }
        }
        dims[axis] = ni;
        out
    }
}

/// `(P ⊗ P ⊗ Q ⊗ Q) K` for one `(H1, H2, W1, W2)` kernel block: `rows` = `P` acts on both row
/// slots, `cols` = `Q` on both column slots (four one-axis passes, cost linear in the window).
pub fn map_pair_block(inp: &[f64], rows: &AxisMap, cols: &AxisMap) -> Vec<f64> {
    let mut dims = [rows.n_in, rows.n_in, cols.n_in, cols.n_in];
    debug_assert_eq!(inp.len(), dims.iter().product::<usize>());
    let a = rows.pass(inp, &mut dims, 0);
    let b = rows.pass(&a, &mut dims, 1);
    let c = cols.pass(&b, &mut dims, 2);
    cols.pass(&c, &mut dims, 3)
}

/// `y = (P ⊗ Q ⊗ 1) x` on `(H, W, C)` features (`P` on rows, `Q` on columns).
pub fn map_features(x: &[f64], c: usize, rows: &AxisMap, cols: &AxisMap) -> Vec<f64> {
    let mut dims = [rows.n_in, cols.n_in, c];
    let a = rows.pass(x, &mut dims, 0);
    cols.pass(&a, &mut dims, 1)
}

/// The transpose of [`map_features`]: `dx = (Pᵀ ⊗ Qᵀ ⊗ 1) dy`.
pub fn map_features_transpose(dy: &[f64], c: usize, rows: &AxisMap, cols: &AxisMap) -> Vec<f64> {
    let mut dims = [rows.n_out(), cols.n_out(), c];
    let a = cols.pass_transpose(dy, &mut dims, 1);
    rows.pass_transpose(&a, &mut dims, 0)
}

#[cfg(test)]
mod tests;
