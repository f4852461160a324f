//! Two-slot spatial stencils: the A-operator of docs/theory.md#linear-layers-the-a-operator on pixel kernels.
//!
//! A stencil is a list of [`Tap`]s; applied to a kernel block stored `(H1, H2, W1, W2)` it gives
//! `out(t, t′) += scale · Σ_taps w · in(t + u, t′ + u′)` with padding deciding what happens out
//! of range. A plain conv uses taps `(v, v, 1)`; a lifting/group conv for slice pair `(s, s′)` uses
//! the nonzeros of `M_s M_{s′}ᵀ` (docs/theory.md#other-point-groups-resampled-filters), which for exact groups is `(a_s v, a_{s′} v, 1)`.

use nalgebra::{DMatrix, Matrix2};

use entk_groups::PixelResampling;

use crate::error::{NtkError, Result};
use crate::param::Padding;
use crate::simd::{SimdLevel, SimdOp};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A stencil whose taps are `(v, A v, 1)` for every offset `v = (r, c)` of the window, with `A`
/// a signed permutation matrix: plain convolutions (`A = 1`) and the slice pairs of groups that
/// act exactly on pixels (C4, D4 and subgroups, docs/theory.md#linear-layers-the-a-operator).
///
/// Each coordinate of `v` then moves exactly two of the four axes `(H1, H2, W1, W2)`, and the
/// zero padding is a product of per-axis indicators, so the `q²`-term sum factorises into two
/// `q`-term passes. [`RowPlan`] sums the `q²` input runs of each output plane in one sweep, in
/// the grouped order of that factorisation (first along one pass, then along the other), which
/// is bitwise what the two-pass evaluation gives, without its intermediate array. Only the
/// summation order differs from the tap-by-tap reference (relative differences of order 1e-16).
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

    /// The two passes. The second is the one that moves `W2` (the innermost axis).
    fn passes(&self, g: &Geometry) -> [Pass; 2] {
        // Unswapped, r moves (H1, H2) and c moves (W1, W2); swapped, A v = (sign_r·c, sign_c·r):
        // c moves (W1, H2) and r moves (H1, W2). `(axis, half-width)` of the first input axis
        // moved by each pass:
        let [(first, k_first), (second, k_second)] = if self.swap {
            [(2, g.kw), (0, g.kh)]
        } else {
            [(0, g.kh), (2, g.kw)]
        };
        [
            Pass {
                axes: [(first, 1), (1, self.sign_r)],
                k: k_first,
            },
            Pass {
                axes: [(second, 1), (3, self.sign_c)],
                k: k_second,
            },
        ]
    }
}

/// `out = scale · A[inp]` (overwriting `out`), plane by plane ([`RowPlan`]).
#[cfg(test)]
pub fn apply_stencil(
    out: &mut [f64],
    inp: &[f64],
    taps: &[Tap],
    separable: Option<Separable>,
    g: &Geometry,
    scale: f64,
) {
    let plan = RowPlan::new(taps, separable, g);
    let padded = Padded::new(inp, g);
    plan.run(
        SimdLevel::current(),
        &[&padded],
        g,
        scale,
        &mut Store(vec![out], g.w_out),
    );
}

/// One tap of a [`RowPlan`]: its offsets on `(H1, H2)` and where its run starts in a padded
/// `(W1, W2)` plane ([`Padded`]).
#[derive(Debug, Clone, Copy)]
struct PlannedTap {
    off: [isize; 2],
    start: usize,
    w: f64,
}

/// How a [`RowPlan`] sums its taps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Summation {
    /// `scale · Σ_e (Σ_d row[e][d])`, unit weights, `inner` taps per group summed left to
    /// right, then the groups left to right: the order of the two passes of a [`Separable`]
    /// stencil (the first pass sums along `d`, the second along `e`), the order in which entk
    /// has always summed them.
    Grouped { inner: usize },
    /// `Σ_t (scale·w_t)·row[t]` from 0, taps in order: the order of the tap-by-tap reference.
    Weighted,
}

/// A stencil prepared to run one output plane `(o0, o1)` (the `W1 × W2` values of one
/// `(H1, H2)` position pair) at a time. Each input plane is read from a copy padded by `k_w`
/// values on both sides of both `W` axes (zeros, or the wrapped values for CIRCULAR;
/// [`Padded`]), so that a tap's `(W1, W2)` offset is one shift of the flattened plane: the
/// output plane, stored with the padded plane's row stride, is a sum of whole runs of the
/// input planes, one per tap, and the inner loop has no edge cases and runs `w_out` rows at
/// once (16×16 images: runs of 286 values instead of 16 rows of 16). Taps that fall into the
/// padding on `H1` or `H2` read a plane of zeros. The entries between the rows of a run (the
/// stride's last `stride − w_out` columns) are not output: for SAME and CIRCULAR they are sums
/// of padding, wrapped and input values, for VALID (stride `w_in`) sums of in-range values. The
/// summation order of every output entry is that of the two-pass separable form or of the
/// tap-by-tap reference, so the results are bitwise theirs (adding a zero is exact; at most
/// the sign of a zero differs).
///
/// Every output plane is computed in one sweep over its taps with the sum held in registers,
/// and handed to a sink while it is in L1: the layers fold the affine step and the dual
/// activation into that sink ([`RowPlan::run`]).
#[derive(Debug, Clone)]
pub(crate) struct RowPlan {
    taps: Vec<PlannedTap>,
    summation: Summation,
    /// Per axis `a < 2` (`H1`, `H2`), `sources[a][x · taps + t]`: the input index read by
    /// output index `x` for tap `t`, or `usize::MAX` in the padding.
    sources: [Vec<usize>; 2],
}

impl RowPlan {
    /// The heap bytes of [`RowPlan::new`]'s plan of the same arguments, without building it.
    pub(crate) fn bytes(taps: &[Tap], separable: Option<Separable>, g: &Geometry) -> u128 {
        let n = match separable {
            Some(sep) => {
                let [first, second] = sep.passes(g);
                (2 * first.k + 1) * (2 * second.k + 1)
            }
            None => taps.len(),
        } as u128;
        let per_tap = std::mem::size_of::<PlannedTap>() + 2 * g.h_out * 8;
        n * per_tap as u128
    }

    /// The plan of `taps` (or of `separable`, which must describe the same taps) on `g`.
    pub(crate) fn new(taps: &[Tap], separable: Option<Separable>, g: &Geometry) -> Self {
        let (kh, kw) = (g.kh as isize, g.kw as isize);
        let stride = Padded::stride(g) as isize;
        // Where the run of `(W1, W2)` offset `(c1, c2)` starts in a padded plane: output
        // `(o2, o3)` reads padded `(o2 + k_w + c1, o3 + k_w + c2)` (for VALID, which is not
        // padded, the unpadded input index is the same).
        let start = |c1: isize, c2: isize| {
            debug_assert!(
                c1.abs() <= kw && c2.abs() <= kw,
                "tap ({c1}, {c2}) outside the ±{kw} padding"
            );
            ((kw + c1) * stride + kw + c2) as usize
        };
        let planned: Vec<PlannedTap> = match separable {
            Some(sep) => {
                let [first, second] = sep.passes(g);
                let (k1, k2) = (first.k as isize, second.k as isize);
                let mut v = Vec::new();
                for e in -k2..=k2 {
                    for d in -k1..=k1 {
                        let mut off = [0isize; 4];
                        for (a, s) in first.axes {
                            off[a] += s * d;
                        }
                        for (a, s) in second.axes {
                            off[a] += s * e;
                        }
                        v.push(PlannedTap {
                            off: [off[0], off[1]],
                            start: start(off[2], off[3]),
                            w: 1.0,
                        });
                    }
                }
                v
            }
            None => taps
                .iter()
                .map(|t| PlannedTap {
                    off: [t.r1, t.r2],
                    start: start(t.c1, t.c2),
                    w: t.w,
                })
                .collect(),
        };
        let summation = match separable {
            Some(sep) => Summation::Grouped {
                inner: 2 * sep.passes(g)[0].k + 1,
            },
            None => Summation::Weighted,
        };
        let axis = |a: usize| -> Vec<usize> {
            let (n_out, n_in, k) = (g.h_out, g.h_in, kh as usize);
            (0..n_out)
                .flat_map(|x| {
                    planned
                        .iter()
                        .map(move |t| g.padding.source(x, t.off[a], k, n_in).unwrap_or(usize::MAX))
                })
                .collect()
        };
        RowPlan {
            sources: [axis(0), axis(1)],
            taps: planned,
            summation,
        }
    }

    /// Computes `scale · A[inp]` for each of the `padded` inputs ([`Padded::new`] of `g`) plane
    /// by plane at `level`, handing output plane `p = o0·h_out + o1` of every input to `sink`
    /// at once ([`RowSink::plane`]: its `w_out²` values belong at `p · w_out²` in the output
    /// array). Planes come in increasing order.
    pub(crate) fn run<S: RowSink>(
        &self,
        level: SimdLevel,
        padded: &[&Padded<'_>],
        g: &Geometry,
        scale: f64,
        sink: &mut S,
    ) {
        // The buffers are taken here, outside the dispatch: `level.run` must reach the row loop
        // through inlined calls only (no closure such as `LocalKey::with`'s in between), or the
        // loop is compiled once, without the wide instructions (see `simd`). A run started from
        // inside another's sink finds the cell empty and starts with fresh buffers.
        debug_assert!(
            padded.iter().all(|p| p.stride == Padded::stride(g)
                && p.plane == Padded::plane(g)
                && p.zero == padded[0].zero),
            "inputs padded for another geometry or of different sizes"
        );
        let mut scratch = ROW_SCRATCH.take();
        level.run(RunRows {
            plan: self,
            padded,
            g,
            scale,
            sink,
            scratch: &mut scratch,
        });
        ROW_SCRATCH.set(scratch);
    }
}

/// Receives the output planes of a [`RowPlan`] (one per input), mutable so that a sink may
/// finish them in place; `plane` is inlined into the vectorised loop.
pub(crate) trait RowSink {
    /// Output plane `p = o0·h_out + o1` of every input: its row `o2` (`w_out` values) starts
    /// at `o2 · stride` of each run, and `runs[i][o2 · stride + w_out .. (o2 + 1) · stride]`
    /// (the stride's padding) holds no output.
    fn plane(&mut self, p: usize, runs: &mut [Vec<f64>], stride: usize);
}

/// Stores each plane at its place in the output arrays (`w_out` values a row).
#[cfg(test)]
pub(crate) struct Store<'a>(pub Vec<&'a mut [f64]>, pub usize);

#[cfg(test)]
impl RowSink for Store<'_> {
    #[inline(always)]
    fn plane(&mut self, p: usize, runs: &mut [Vec<f64>], stride: usize) {
        let w = self.1;
        for (out, run) in self.0.iter_mut().zip(runs.iter()) {
            for (o2, row) in out[p * w * w..][..w * w].chunks_exact_mut(w).enumerate() {
                row.copy_from_slice(&run[o2 * stride..][..w]);
            }
        }
    }
}

/// The row loop of [`RowPlan::run`].
struct RunRows<'a, S> {
    plan: &'a RowPlan,
    padded: &'a [&'a Padded<'a>],
    g: &'a Geometry,
    scale: f64,
    sink: &'a mut S,
    /// This thread's kept buffers ([`ROW_SCRATCH`]; fresh ones in a nested run).
    scratch: &'a mut RowScratch,
}

impl<S: RowSink> SimdOp for RunRows<'_, S> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let RunRows {
            plan,
            padded,
            g,
            scale,
            sink,
            scratch,
        } = self;
        let n = plan.taps.len();
        let hi = g.h_in;
        let stride = Padded::stride(g);
        let plane = Padded::plane(g);
        let zero = padded.first().map_or(0, |p| p.zero);
        // Output (o2, o3) of a plane is entry o2·stride + o3 of the run.
        let len = (g.w_out - 1) * stride + g.w_out;
        scratch.fit(padded.len(), len, n);
        let RowScratch { rows, part, starts } = scratch;
        for o0 in 0..g.h_out {
            for o1 in 0..g.h_out {
                for (t, st) in starts.iter_mut().enumerate() {
                    let (s0, s1) = (plan.sources[0][o0 * n + t], plan.sources[1][o1 * n + t]);
                    *st = plan.taps[t].start
                        + if s0 == usize::MAX || s1 == usize::MAX {
                            zero
                        } else {
                            (s0 * hi + s1) * plane
                        };
                }
                for (row, p) in rows.iter_mut().zip(padded) {
                    sum_taps(
                        row,
                        part,
                        p.data(),
                        starts,
                        &plan.taps,
                        plan.summation,
                        scale,
                    );
                }
                sink.plane(o0 * g.h_out + o1, rows, stride);
            }
        }
    }
}

/// The buffers of [`RunRows`], kept per thread ([`ROW_SCRATCH`]): a kernel map runs one small
/// block after another, and allocating them per block cost as much as a block's stencil.
/// Every value is written before it is read; only the lengths matter ([`RowScratch::fit`]).
#[derive(Default)]
struct RowScratch {
    /// One output run per input.
    rows: Vec<Vec<f64>>,
    /// A group's partial sum (the [`Summation::Grouped`] order).
    part: Vec<f64>,
    /// Per tap, where its run starts in the padded input.
    starts: Vec<usize>,
}

impl RowScratch {
    /// Sizes the buffers for `inputs` inputs, runs of `len` values and `taps` taps.
    fn fit(&mut self, inputs: usize, len: usize, taps: usize) {
        self.rows.resize_with(inputs, Vec::new);
        self.rows.iter_mut().for_each(|r| r.resize(len, 0.0));
        self.part.resize(len, 0.0);
        self.starts.resize(taps, 0);
    }
}

thread_local! {
    /// The row buffers of [`RunRows`] on this thread.
    /// Empty while a run holds them (a nested run takes fresh ones, and the outer run's
    /// replace those it leaves).
    static ROW_SCRATCH: std::cell::Cell<RowScratch> = std::cell::Cell::new(RowScratch::default());
}

/// `row = Σ over the taps of the runs data[start..start + len]`, in `summation`'s order.
#[inline(always)]
fn sum_taps(
    row: &mut [f64],
    part: &mut [f64],
    data: &[f64],
    starts: &[usize],
    taps: &[PlannedTap],
    summation: Summation,
    scale: f64,
) {
    let n = row.len();
    let src = |t: usize| &data[starts[t]..starts[t] + n];
    match summation {
        Summation::Grouped { inner: 3 } if starts.len() == 9 => {
            let (a0, a1, a2, b0, b1, b2, c0, c1, c2) = (
                src(0),
                src(1),
                src(2),
                src(3),
                src(4),
                src(5),
                src(6),
                src(7),
                src(8),
            );
            for j in 0..n {
                let a = (a0[j] + a1[j]) + a2[j];
                let b = (b0[j] + b1[j]) + b2[j];
                let c = (c0[j] + c1[j]) + c2[j];
                row[j] = scale * ((a + b) + c);
            }
        }
        Summation::Grouped { inner } => {
            // Group sums left to right, then the groups left to right (`row` holds the running
            // total), then the scale.
            let groups = starts.len() / inner;
            for e in 0..groups {
                part.copy_from_slice(src(e * inner));
                for d in 1..inner {
                    for (p, v) in part.iter_mut().zip(src(e * inner + d)) {
                        *p += v;
                    }
                }
                if e == 0 {
                    row.copy_from_slice(part);
                } else {
                    for (t, p) in row.iter_mut().zip(part.iter()) {
                        *t += p;
                    }
                }
            }
            for r in row.iter_mut() {
                *r *= scale;
            }
        }
        Summation::Weighted => {
            row.fill(0.0);
            for (t, tap) in taps.iter().enumerate() {
                let w = scale * tap.w;
                for (r, v) in row.iter_mut().zip(src(t)) {
                    *r += w * v;
                }
            }
        }
    }
}

/// The input with every `(W1, W2)` plane padded by `k_w` values on both sides of both axes
/// (zeros for SAME, the wrapped values for CIRCULAR; VALID reads the input as it is), followed
/// by a plane of zeros for taps that fall into the padding on `H1` or `H2`: a stencil input
/// of [`RowPlan::run`], made once for every plan that reads it. A padded copy goes back to the
/// scratch pool when dropped.
pub(crate) struct Padded<'a> {
    data: PaddedData<'a>,
    /// Start of the zero plane (`start + run length ≤ plane` for every tap).
    zero: usize,
    /// The row stride and plane size it was padded with ([`Padded::stride`], [`Padded::plane`]),
    /// checked against the geometry of every run.
    stride: usize,
    plane: usize,
}

enum PaddedData<'a> {
    Borrowed(&'a [f64]),
    Owned(Vec<f64>),
}

impl<'a> Padded<'a> {
    /// The row stride of a padded plane.
    fn stride(g: &Geometry) -> usize {
        match g.padding {
            Padding::Valid => g.w_in,
            Padding::Same | Padding::Circular => g.w_in + 2 * g.kw,
        }
    }
    /// The values of a padded plane.
    fn plane(g: &Geometry) -> usize {
        let s = Self::stride(g);
        s * s
    }
    /// `inp` (a kernel block on `g`'s input, `H1·H2` planes of `w_in²` values) padded for
    /// the stencils of geometry `g`; borrowed for VALID.
    pub(crate) fn new(inp: &'a [f64], g: &Geometry) -> Self {
        let wi = g.w_in;
        debug_assert_eq!(
            inp.len(),
            g.h_in * g.h_in * wi * wi,
            "not a kernel block of g"
        );
        let planes = inp.len() / (wi * wi).max(1);
        let (stride, plane) = (Self::stride(g), Self::plane(g));
        match g.padding {
            Padding::Valid => Padded {
                // Every tap is inside the input: the zero plane is never read.
                data: PaddedData::Borrowed(inp),
                zero: 0,
                stride,
                plane,
            },
            Padding::Same | Padding::Circular => {
                let m = g.kw;
                let mut data = crate::scratch::take((planes + 1) * plane);
                let circular = g.padding == Padding::Circular;
                // The input row read by padded row `i`, or `None` in the zero padding.
                let source = |i: usize| -> Option<usize> {
                    let i = i as isize - m as isize;
                    if circular {
                        Some(i.rem_euclid(wi as isize) as usize)
                    } else {
                        (i >= 0 && (i as usize) < wi).then_some(i as usize)
                    }
                };
                for (dst, src) in data.chunks_exact_mut(plane).zip(inp.chunks_exact(wi * wi)) {
                    for (i, dst) in dst.chunks_exact_mut(stride).enumerate() {
                        let Some(r) = source(i) else {
                            zero_row(dst);
                            continue;
                        };
                        let src = &src[r * wi..][..wi];
                        let (left, rest) = dst.split_at_mut(m);
                        let (mid, right) = rest.split_at_mut(wi);
                        copy_row(mid, src);
                        if circular {
                            for (j, v) in left.iter_mut().enumerate() {
                                *v =
                                    src[(j as isize - m as isize).rem_euclid(wi as isize) as usize];
                            }
                            for (j, v) in right.iter_mut().enumerate() {
                                *v = src[j % wi];
                            }
                        } else {
                            left.fill(0.0);
                            right.fill(0.0);
                        }
                    }
                }
                data[planes * plane..].fill(0.0);
                Padded {
                    data: PaddedData::Owned(data),
                    zero: planes * plane,
                    stride,
                    plane,
                }
            }
        }
    }
    fn data(&self) -> &[f64] {
        match &self.data {
            PaddedData::Borrowed(d) => d,
            PaddedData::Owned(d) => d,
        }
    }
}

impl Drop for Padded<'_> {
    /// Returns the padded copy to the scratch pool.
    fn drop(&mut self) {
        if let PaddedData::Owned(d) = &mut self.data {
            crate::scratch::recycle(std::mem::take(d));
        }
    }
}

/// `dst.copy_from_slice(src)` for the short rows of [`Padded::new`] (16 values at 16×16),
/// in fixed chunks of 8 (the last one overlapping the one before) that compile to inlined
/// moves rather than a call to `memcpy` per row (`memmove`, traced to `Padded::new`, was
/// 14.5 % of a C4 16×16 profile before).
#[inline(always)]
fn copy_row(dst: &mut [f64], src: &[f64]) {
    let n = dst.len();
    if n < 8 {
        dst.copy_from_slice(src);
        return;
    }
    let src = &src[..n];
    let mut i = 0;
    while i + 8 <= n {
        let s: &[f64; 8] = src[i..i + 8].try_into().expect("8 values");
        dst[i..i + 8].copy_from_slice(s);
        i += 8;
    }
    if i < n {
        let s: &[f64; 8] = src[n - 8..].try_into().expect("8 values");
        dst[n - 8..].copy_from_slice(s);
    }
}

/// `dst.fill(0.0)` for the short rows of [`Padded::new`], like [`copy_row`].
#[inline(always)]
fn zero_row(dst: &mut [f64]) {
    const ZEROS: [f64; 8] = [0.0; 8];
    let n = dst.len();
    if n < 8 {
        dst.fill(0.0);
        return;
    }
    let mut i = 0;
    while i + 8 <= n {
        dst[i..i + 8].copy_from_slice(&ZEROS);
        i += 8;
    }
    if i < n {
        dst[n - 8..].copy_from_slice(&ZEROS);
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
