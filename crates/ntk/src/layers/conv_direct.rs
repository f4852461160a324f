//! Direct batched convolution passes: the finite networks' stride-1 convolutions of many small
//! samples ([`super::conv::ConvPass::forward_batch`] and `backward_batch`) without the im2col
//! matrix and without a general matrix product.
//!
//! At the widths of the finite-network experiments (2–32 channels, 9×9 images, batches of 16
//! and 64) the im2col route spent most of its time copying: the im2col matrix (copies of 1–6
//! values at a time), matrixmultiply's packing of it (a second copy), and the col2im scatter
//! (`perf` of `entk experiment augmentation`: 31 % in copies and packing, 10 % building the
//! im2col matrix, 26 % in the product). At a few channels the products are too thin to
//! pay for that. Here each pass reads the samples in place through a table of the window's taps
//! (built once per thread, geometry and channels) and accumulates `acc[0..N] += s · row[0..N]`
//! into a short accumulator kept in registers (`N` the output channels for the forward pass and
//! the filter gradient, the input channels for the input cotangent; compiled for `N` = 1 to 4
//! and a loop over any other `N`):
//!
//! - forward: `y_b[p] += α Σ_{(u,q)} Σ_c x_b[q][c] F[u][c][·]`, taps `(u, q)` of output `p`;
//! - filter gradient: `dF[u][c][·] += α Σ_b Σ_{(p,q)} x_b[q][c] dy_b[p][·]` (or per sample);
//! - input cotangent: `dx_b[q][·] += α Σ_{(u,p)} Σ_o dy_b[p][o] F[u][·][o]`, the taps `(u, p)`
//!   that read input position `q`.
//!
//! Batches of two or more samples go `LANES` (8) samples at a time, one per vector lane (the
//! *lane route*): the samples' blocks are transposed so that each value of the 8 samples is
//! one contiguous vector, and each lane does its sample's operations in the order below, so the
//! numbers are bitwise those of the samples one by one (tested). Measured on the augmentation
//! experiment's shapes (9×9 and 7×7 images, 64 samples, 1–4 channels; this 2-core Intel Xeon,
//! AVX-512): the forward pass and input cotangent 1.2–3.9× faster, the filter gradients 1.5–1.7×
//! at up to 2 output channels and 0.93× at 4 (so filter gradients at 3 and 4 output channels
//! go sample by sample); a trained width-2 unit of `entk experiment augmentation` 0.037 →
//! 0.023 s of one thread. The whole experiment showed no net gain (seed 0, `work_budget`
//! 1.6e11, 2 threads: 299.6 s wall with the lane route against 296.0 s without, within the
//! noise of such runs): most of its time is at widths where these passes are a small part.
//!
//! The sums run in a fixed order (the terms round-robin into a few partial sums, so that
//! consecutive additions need not wait on each other, added up at the end), with separate
//! rounding of each product and sum (Rust never contracts them into a fused multiply–add), so
//! every [`SimdLevel`] gives bitwise the same numbers. They differ from the matrix-product route
//! (matrixmultiply's fused multiply–adds, its blocking of long sums) by rounding only: tested
//! against the direct loops in `conv.rs` to 1e-12. [`super::conv::ConvPass`] takes this route
//! at small channel counts only, where it is faster (`DIRECT_CHANNELS` there).

use crate::simd::{SimdLevel, SimdOp};
use crate::stencil::Geometry;

use super::conv::{window_taps, FilterGrad, Strided};

/// Items grouped by a key (CSR): group `k` is `items[start[k]..start[k + 1]]`.
struct Groups<T> {
    items: Vec<T>,
    start: Vec<usize>,
}

impl<T: Copy> Groups<T> {
    /// The groups of keys `0..keys` in turn: `each(k, items)` appends group `k`.
    fn build(keys: usize, mut each: impl FnMut(usize, &mut Vec<T>)) -> Self {
        let mut items = Vec::new();
        let mut start = Vec::with_capacity(keys + 1);
        start.push(0);
        for k in 0..keys {
            each(k, &mut items);
            start.push(items.len());
        }
        Groups { items, start }
    }

    /// `(key, item)` pairs (keys below `keys`) grouped by key, each group in the pairs' order.
    fn by_key(keys: usize, pairs: &[(usize, T)]) -> Self {
        let mut sorted = pairs.to_vec();
        // Stable: each group keeps the pairs' order.
        sorted.sort_by_key(|&(k, _)| k);
        let mut rest = &sorted[..];
        Self::build(keys, |k, v| {
            let len = rest.iter().take_while(|&&(key, _)| key == k).count();
            v.extend(rest[..len].iter().map(|&(_, item)| item));
            rest = &rest[len..];
        })
    }

    fn get(&self, k: usize) -> &[T] {
        &self.items[self.start[k]..self.start[k + 1]]
    }
}

/// The taps of a stride-1 window over a geometry: for every output position `p`, the pairs
/// `(u, q)` of a tap `u` (row-major over the `fh×fw` window) and the input position `q` it
/// reads (taps reading the zero padding left out), in the window's order; and the same pairs
/// grouped by tap (`(p, q)`, increasing `p`) and by input position (`(u, p)`, increasing `p`).
/// Only [`Plan::new`] reads them.
struct Taps {
    sizes: Sizes,
    by_out: Groups<(usize, usize)>,
    by_tap: Groups<(usize, usize)>,
    by_in: Groups<(usize, usize)>,
}

/// The sizes of a window over a geometry: taps of the window, output and input positions.
#[derive(Clone, Copy)]
struct Sizes {
    taps: usize,
    positions: usize,
    inputs: usize,
}

/// What a [`Plan`] depends on: the geometry, input and output channels.
type PlanKey = (Geometry, (usize, usize));

thread_local! {
    /// The plans this thread used last (a training run reuses a handful).
    static PLANS: std::cell::RefCell<Vec<(PlanKey, std::rc::Rc<Plan>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The index lists of the three passes of one convolution (geometry and channels), built once
/// per thread: per output position the (input value, filter row) pairs of the forward pass, per
/// filter row the (input value, output position) pairs of its gradient, per input position the
/// (cotangent value, transposed filter row) pairs of the input cotangent.
///
/// The index pairs are `u32` (half the memory of `usize` pairs): every index is below
/// `positions·o`, `inputs·c` or `taps·c·o`, the sizes of one sample's arrays and of the filter,
/// far below 2³² at any size that fits in memory (`index` checks).
pub(crate) struct Plan {
    sizes: Sizes,
    forward: Lists,
    filter: Lists,
    input: Lists,
}

/// A plan's index pairs: `(a, b)` of a value `s[a]` and a row `r[b·n..][..n]`.
type Lists = Groups<(u32, u32)>;

/// An index of a [`Plan`]'s pairs as `u32`.
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("a convolution's array of over 2^32 values")
}

impl Plan {
    /// The plan of `g` with `(c, o)` channels (cached per thread).
    pub(crate) fn of(g: &Geometry, (c, o): (usize, usize)) -> std::rc::Rc<Plan> {
        let key = (*g, (c, o));
        PLANS.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some((_, t)) = cache.iter().find(|(k, _)| *k == key) {
                return t.clone();
            }
            let t = std::rc::Rc::new(Plan::new(Taps::new(g), (c, o)));
            if cache.len() >= 16 {
                cache.remove(0);
            }
            cache.push((key, t.clone()));
            t
        })
    }

    fn new(t: Taps, (c, o): (usize, usize)) -> Self {
        let sizes = t.sizes;
        let forward = Lists::build(sizes.positions, |p, v| {
            for &(u, q) in t.by_out.get(p) {
                v.extend((0..c).map(|cc| (index(q * c + cc), index(u * c + cc))));
            }
        });
        let filter = Lists::build(sizes.taps * c, |k, v| {
            let (u, cc) = (k / c, k % c);
            v.extend(
                t.by_tap
                    .get(u)
                    .iter()
                    .map(|&(p, q)| (index(q * c + cc), index(p))),
            );
        });
        let input = Lists::build(sizes.inputs, |q, v| {
            for &(u, p) in t.by_in.get(q) {
                v.extend((0..o).map(|oo| (index(p * o + oo), index(u * o + oo))));
            }
        });
        Plan {
            sizes,
            forward,
            filter,
            input,
        }
    }
}

impl Taps {
    fn new(g: &Geometry) -> Self {
        let (fh, fw) = (2 * g.kh + 1, 2 * g.kw + 1);
        let positions = g.h_out * g.w_out;
        let inputs = g.h_in * g.w_in;
        let mut out = Vec::new();
        let mut tap = Vec::new();
        let mut input = Vec::new();
        for i in 0..g.h_out {
            for j in 0..g.w_out {
                let p = i * g.w_out + j;
                window_taps(g, (i, j), |u, q| {
                    out.push((p, (u, q)));
                    tap.push((u, (p, q)));
                    input.push((q, (u, p)));
                });
            }
        }
        Taps {
            sizes: Sizes {
                taps: fh * fw,
                positions,
                inputs,
            },
            by_out: Groups::by_key(positions, &out),
            by_tap: Groups::by_key(fh * fw, &tap),
            by_in: Groups::by_key(inputs, &input),
        }
    }
}

/// Independent partial sums per accumulator, so that consecutive additions do not wait on each
/// other (8 for the compiled widths of up to 4 values).
const fn partials(n: usize) -> usize {
    if n <= 4 {
        8
    } else {
        1
    }
}

/// `dst[..n] += α Σ_i s[a_i] · r[b_i·n..][..n]` over `items = [(a_i, b_i)]` (`N = n` when
/// `N > 0`). The terms go round-robin into `K` partial sums, added up at the end in a fixed
/// order.
#[inline(always)]
fn scaled_sum<const N: usize, const K: usize>(
    dst: &mut [f64],
    alpha: f64,
    items: &[(u32, u32)],
    s: &[f64],
    r: &[f64],
    n: usize,
) {
    if N == 0 {
        // One value at a time (no accumulator array to allocate): a fallback that `ConvPass`
        // (direct at up to 4 channels) never reaches.
        for (l, d) in dst[..n].iter_mut().enumerate() {
            let mut acc = 0.0;
            for &(a, b) in items {
                acc += s[a as usize] * r[b as usize * n + l];
            }
            *d += alpha * acc;
        }
        return;
    }
    let mut part = [[0.0f64; N]; K];
    let mut chunks = items.chunks_exact(K);
    for chunk in &mut chunks {
        for k in 0..K {
            let (a, b) = chunk[k];
            let sv = s[a as usize];
            let row: &[f64; N] = r[b as usize * N..][..N].try_into().expect("N values");
            for l in 0..N {
                part[k][l] += sv * row[l];
            }
        }
    }
    for (k, &(a, b)) in chunks.remainder().iter().enumerate() {
        let sv = s[a as usize];
        let row: &[f64; N] = r[b as usize * N..][..N].try_into().expect("N values");
        for l in 0..N {
            part[k][l] += sv * row[l];
        }
    }
    for k in 1..K {
        for l in 0..N {
            part[0][l] += part[k][l];
        }
    }
    let dst: &mut [f64; N] = (&mut dst[..N]).try_into().expect("N values");
    for l in 0..N {
        dst[l] += alpha * part[0][l];
    }
}

/// Runs `$f::<N, K>(args)` with `N = $n` when it is one of the compiled widths (`K` its
/// [`partials`]), `N = 0` (a loop over any `n`) otherwise.
macro_rules! by_width {
    ($n:expr, $f:ident($($arg:expr),*)) => {
        match $n {
            1 => $f::<1, { partials(1) }>($($arg),*),
            2 => $f::<2, { partials(2) }>($($arg),*),
            3 => $f::<3, { partials(3) }>($($arg),*),
            4 => $f::<4, { partials(4) }>($($arg),*),
            _ => $f::<0, 1>($($arg),*),
        }
    };
}

/// Samples per vector of the lane route ([`Direct`]'s batched passes): 8 `f64`, one AVX-512
/// register (two AVX2 ones), the width the nonlinearities' lane duals use too.
use crate::nonlin::batch::LANES;

/// `out[a·LANES + i] = v_{b0+i}[a]` for the `m ≤ LANES` samples from `b0` of `v` (blocks of
/// `len` at `at`), lanes `m..` zero.
#[inline(always)]
fn transpose_in(out: &mut [f64], v: &[f64], at: Strided, b0: usize, m: usize, len: usize) {
    let out = &mut out[..len * LANES];
    if m < LANES {
        out.fill(0.0);
    }
    for i in 0..m {
        let vb = &v[(b0 + i) * at.stride + at.offset..][..len];
        for (a, &x) in vb.iter().enumerate() {
            out[a * LANES + i] = x;
        }
    }
}

/// One lane per sample: `Σ_i st[a_i] · r[b_i·n + l]` over `items = [(a_i, b_i)]`, the rows
/// shared (`SHARED_ROWS`: one value for all lanes) or transposed like `st`; the terms go
/// round-robin into `K` partial sums, added up in order ([`scaled_sum`]'s order per lane).
#[inline(always)]
fn lane_sum<const K: usize, const SHARED_ROWS: bool>(
    items: &[(u32, u32)],
    st: &[f64],
    r: &[f64],
    n: usize,
    l: usize,
) -> [f64; LANES] {
    #[inline(always)]
    fn term<const SHARED_ROWS: bool>(
        part: &mut [f64; LANES],
        (a, b): (u32, u32),
        st: &[f64],
        r: &[f64],
        n: usize,
        l: usize,
    ) {
        let sv: &[f64; LANES] = st[a as usize * LANES..][..LANES]
            .try_into()
            .expect("LANES values");
        if SHARED_ROWS {
            let rv = r[b as usize * n + l];
            for i in 0..LANES {
                part[i] += sv[i] * rv;
            }
        } else {
            let rv: &[f64; LANES] = r[(b as usize * n + l) * LANES..][..LANES]
                .try_into()
                .expect("LANES values");
            for i in 0..LANES {
                part[i] += sv[i] * rv[i];
            }
        }
    }
    let mut part = [[0.0f64; LANES]; K];
    let mut chunks = items.chunks_exact(K);
    for chunk in &mut chunks {
        for k in 0..K {
            term::<SHARED_ROWS>(&mut part[k], chunk[k], st, r, n, l);
        }
    }
    for (k, &item) in chunks.remainder().iter().enumerate() {
        term::<SHARED_ROWS>(&mut part[k], item, st, r, n, l);
    }
    for k in 1..K {
        for i in 0..LANES {
            part[0][i] += part[k][i];
        }
    }
    part[0]
}

/// The places of a block shared by every sample (a filter, a summed filter gradient).
const SHARED: Strided = Strided {
    stride: 0,
    offset: 0,
};

/// A stride-1 convolution pass of `n` samples: `c` input and `o` output channels, scale `alpha`.
pub(crate) struct Direct<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) n: usize,
    pub(crate) channels: (usize, usize),
    pub(crate) alpha: f64,
}

impl Direct<'_> {
    /// `y_b += α conv(x_b, filt)` for every sample (`x`, `y` at their places), filter
    /// `(fh·fw, C, O)`.
    pub(crate) fn forward(
        &self,
        (y, yat): (&mut [f64], Strided),
        (x, xat): (&[f64], Strided),
        filt: &[f64],
    ) {
        let (c, o) = self.channels;
        let t = self.plan.sizes;
        let sizes = (t.positions, o, t.inputs * c, t.taps * c * o);
        let filt = (filt, SHARED);
        self.gather(
            &self.plan.forward,
            0..self.n,
            sizes,
            (y, yat),
            (x, xat),
            filt,
        );
    }

    /// For every sample `b` in `samples` and key `k < keys`:
    /// `dst_b[k·n..][..n] += α Σ s_b[a] · rows_b[r·n..][..n]` over the pairs `(a, r)` of list `k`
    /// (`sizes = (keys, n, len of s_b, len of rows_b)`; a block at [`SHARED`] places is the same
    /// for every sample): the forward pass (keys the output positions, `s` the inputs, rows the
    /// filter's), the filter gradient (keys the filter rows, `s` the inputs, rows the output
    /// cotangents) and the input cotangent (keys the input positions, `s` the output
    /// cotangents, rows the transposed filter's).
    fn gather(
        &self,
        lists: &Lists,
        samples: std::ops::Range<usize>,
        sizes: (usize, usize, usize, usize),
        dst: (&mut [f64], Strided),
        src: (&[f64], Strided),
        rows: (&[f64], Strided),
    ) {
        struct Op<'a> {
            alpha: f64,
            lists: &'a Lists,
            samples: std::ops::Range<usize>,
            sizes: (usize, usize, usize, usize),
            dst: (&'a mut [f64], Strided),
            src: (&'a [f64], Strided),
            rows: (&'a [f64], Strided),
            /// Scratch for the lane route: `LANES` samples' `src` and `rows` blocks, transposed.
            lanes: Option<(&'a mut [f64], &'a mut [f64])>,
        }
        impl SimdOp for Op<'_> {
            type Output = ();
            #[inline(always)]
            fn call(self) {
                if self.lanes.is_some() {
                    by_width!(self.sizes.1, gather_lanes(self));
                } else {
                    by_width!(self.sizes.1, gather_n(self));
                }
            }
        }
        #[inline(always)]
        fn gather_n<const N: usize, const K: usize>(op: Op<'_>) {
            let ((dst, dat), (src, sat), (rows, rat)) = (op.dst, op.src, op.rows);
            let (keys, n, slen, rlen) = op.sizes;
            for b in op.samples {
                let sb = &src[b * sat.stride + sat.offset..][..slen];
                let rb = &rows[b * rat.stride + rat.offset..][..rlen];
                let db = &mut dst[b * dat.stride + dat.offset..][..keys * n];
                for k in 0..keys {
                    scaled_sum::<N, K>(&mut db[k * n..], op.alpha, op.lists.get(k), sb, rb, n);
                }
            }
        }
        /// [`gather_n`] for `LANES` samples at a time, one per vector lane: the blocks of
        /// `src` (and of `rows` unless shared) transposed so that each value of the `LANES`
        /// samples is one contiguous vector, and every lane does exactly [`scaled_sum`]'s
        /// operations for its sample in the same order (the same `K` partial sums, added up
        /// the same way, then `dst += α·sum`; a shared `dst` gets the samples' terms in
        /// sample order), so the numbers are bitwise the same as sample by sample.
        #[inline(always)]
        fn gather_lanes<const N: usize, const K: usize>(op: Op<'_>) {
            if N == 0 {
                return gather_n::<N, K>(Op { lanes: None, ..op });
            }
            let ((dst, dat), (src, sat), (rows, rat)) = (op.dst, op.src, op.rows);
            let (keys, n, slen, rlen) = op.sizes;
            let (st, rt) = op.lanes.expect("lane scratch");
            let shared_rows = rat.stride == 0;
            let shared_dst = dat.stride == 0;
            let rows_shared = &rows[rat.offset..];
            let mut b0 = op.samples.start;
            while b0 < op.samples.end {
                let m = LANES.min(op.samples.end - b0);
                transpose_in(st, src, sat, b0, m, slen);
                if !shared_rows {
                    transpose_in(rt, rows, rat, b0, m, rlen);
                }
                for k in 0..keys {
                    let items = op.lists.get(k);
                    for l in 0..N {
                        let sum = if shared_rows {
                            lane_sum::<K, true>(items, st, rows_shared, N, l)
                        } else {
                            lane_sum::<K, false>(items, st, rt, N, l)
                        };
                        let at = k * n + l;
                        for i in 0..m {
                            let t = op.alpha * sum[i];
                            if shared_dst {
                                dst[dat.offset + at] += t;
                            } else {
                                dst[(b0 + i) * dat.stride + dat.offset + at] += t;
                            }
                        }
                    }
                }
                count_lane_batch();
                b0 += m;
            }
        }
        // The lane route where it measured faster (module docs): always for shared rows
        // (forward, input cotangent), for per-sample rows (filter gradients) at up to 2 values
        // per row.
        let n = sizes.1;
        let lanes_pay = (1..=4).contains(&n) && (rows.1.stride == 0 || n <= 2);
        let lanes = samples.len() >= 2 && lanes_pay && !scalar_only();
        let (_, _, slen, rlen) = sizes;
        let take = |len: usize| {
            if lanes {
                crate::scratch::take(len)
            } else {
                Vec::new()
            }
        };
        let mut st = take(slen * LANES);
        let mut rt = take(if rows.1.stride == 0 { 0 } else { rlen * LANES });
        SimdLevel::current().run(Op {
            alpha: self.alpha,
            lists,
            samples,
            sizes,
            dst,
            src,
            rows,
            lanes: lanes.then_some((&mut st[..], &mut rt[..])),
        });
        crate::scratch::recycle(st);
        crate::scratch::recycle(rt);
    }

    /// The filter gradient `α Σ_p x_b[q(p,u)][c] dy_b[p][·]`: summed over the samples and added
    /// to the `(fh·fw, C, O)` array, or per sample through the sink (`FilterGrad`).
    pub(crate) fn filter_grad(
        &self,
        (x, xat): (&[f64], Strided),
        (dy, yat): (&[f64], Strided),
        dfilt: FilterGrad<'_>,
    ) {
        let (c, o) = self.channels;
        let t = self.plan.sizes;
        let rows = t.taps * c * o;
        let sizes = (t.taps * c, o, t.inputs * c, t.positions * o);
        let lists = &self.plan.filter;
        match dfilt {
            FilterGrad::Sum(df) => {
                self.gather(lists, 0..self.n, sizes, (df, SHARED), (x, xat), (dy, yat))
            }
            FilterGrad::Each(sink) => {
                // Every sample's gradient from 0 in its own block (all in one gather, so that
                // the lane route takes them `LANES` at a time), then handed on in order.
                let mut buf = crate::scratch::take(rows * self.n);
                buf.fill(0.0);
                let df = (
                    &mut buf[..],
                    Strided {
                        stride: rows,
                        offset: 0,
                    },
                );
                self.gather(lists, 0..self.n, sizes, df, (x, xat), (dy, yat));
                // Every sample, in order, even when its gradient is empty (`rows` = 0).
                for b in 0..self.n {
                    sink(b, &buf[b * rows..][..rows]);
                }
                crate::scratch::recycle(buf);
            }
        }
    }

    /// `dx_b += α convᵀ(dy_b, filt)` for every sample (the input cotangents).
    pub(crate) fn input_grad(
        &self,
        (dx, xat): (&mut [f64], Strided),
        (dy, yat): (&[f64], Strided),
        filt: &[f64],
    ) {
        let (c, o) = self.channels;
        let t = self.plan.sizes;
        // The filter as (fh·fw, O, C): the rows `F[u][·][o]` the input cotangent accumulates.
        let mut ft = crate::scratch::take(t.taps * o * c);
        for u in 0..t.taps {
            for cc in 0..c {
                for oo in 0..o {
                    ft[(u * o + oo) * c + cc] = filt[(u * c + cc) * o + oo];
                }
            }
        }
        let sizes = (t.inputs, c, t.positions * o, t.taps * o * c);
        let rows = (&ft[..], SHARED);
        self.gather(
            &self.plan.input,
            0..self.n,
            sizes,
            (dx, xat),
            (dy, yat),
            rows,
        );
        crate::scratch::recycle(ft);
    }
}

/// Whether the lane route is switched off: never outside tests (the tests switch it off for
/// the sample-by-sample reference).
#[cfg(not(test))]
#[inline(always)]
fn scalar_only() -> bool {
    false
}

#[cfg(test)]
use tests::scalar_only;

/// Counts the lane route's batches of `LANES` samples (tests only: they check that the route
/// ran).
#[cfg(not(test))]
#[inline(always)]
fn count_lane_batch() {}

#[cfg(test)]
use tests::count_lane_batch;

#[cfg(test)]
mod tests {
    use super::super::conv::{FilterGrad, Strided};
    use super::{Direct, Plan};
    use crate::param::Padding;
    use crate::stencil::Geometry;
    use std::cell::Cell;

    thread_local! {
        /// Forces the sample-by-sample route (the reference of the lane route).
        static SCALAR_ONLY: Cell<bool> = const { Cell::new(false) };
    }

    thread_local! {
        /// Batches the lane route has run on this thread.
        static LANE_BATCHES: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn scalar_only() -> bool {
        SCALAR_ONLY.with(Cell::get)
    }

    pub(super) fn count_lane_batch() {
        LANE_BATCHES.with(|c| c.set(c.get() + 1));
    }

    /// Output, summed and per-sample filter gradients and input cotangent of one pass, bits,
    /// and the lane route's batches they ran. The per-sample sink must see the samples `0..n`
    /// in order.
    fn passes(
        g: &Geometry,
        (c, o): (usize, usize),
        n: usize,
        scalar: bool,
    ) -> (Vec<Vec<u64>>, usize) {
        SCALAR_ONLY.with(|f| f.set(scalar));
        LANE_BATCHES.with(|c| c.set(0));
        let val = |len: usize, s: f64| -> Vec<f64> {
            (0..len)
                .map(|i| (i as f64 * s).sin() * (1.0 + (i % 7) as f64 * 1e3))
                .collect()
        };
        let (sin, sout) = (g.h_in * g.w_in * c, g.h_out * g.w_out * o);
        // Each sample's block a little way into a longer stride.
        let at = |len: usize, offset: usize| Strided {
            stride: len + offset + 1,
            offset,
        };
        let (xat, yat) = (at(sin, 2), at(sout, 1));
        let x = val(n * xat.stride, 0.37);
        let dy = val(n * yat.stride, 0.91);
        let taps = (2 * g.kh + 1) * (2 * g.kw + 1);
        let filt = val(taps * c * o, 0.53);
        let plan = Plan::of(g, (c, o));
        let pass = Direct {
            plan: &plan,
            n,
            channels: (c, o),
            alpha: 0.7,
        };
        let mut y = val(n * yat.stride, 0.11);
        pass.forward((&mut y, yat), (&x, xat), &filt);
        let mut df = val(filt.len(), 0.29);
        pass.filter_grad((&x, xat), (&dy, yat), FilterGrad::Sum(&mut df));
        let mut each = Vec::new();
        let mut order = Vec::new();
        let mut sink = |b: usize, d: &[f64]| {
            order.push(b);
            each.extend_from_slice(d)
        };
        pass.filter_grad((&x, xat), (&dy, yat), FilterGrad::Each(&mut sink));
        assert_eq!(order, (0..n).collect::<Vec<_>>(), "per-sample sink order");
        let mut dx = val(n * xat.stride, 0.17);
        pass.input_grad((&mut dx, xat), (&dy, yat), &filt);
        SCALAR_ONLY.with(|f| f.set(false));
        let bits = [y, df, each, dx]
            .iter()
            .map(|v| v.iter().map(|x| x.to_bits()).collect())
            .collect();
        (bits, LANE_BATCHES.with(Cell::get))
    }

    /// The lane route (`LANES` samples per vector) gives bitwise the numbers of the route sample
    /// by sample, at every compiled channel count, batch sizes below, at and above a multiple
    /// of the lanes, every padding, at strided places.
    #[test]
    fn lanes_are_bitwise_the_sample_by_sample_route() {
        for padding in [Padding::Valid, Padding::Same, Padding::Circular] {
            for (h, w, fh, fw) in [(7, 7, 3, 3), (5, 6, 3, 1), (2, 3, 3, 3), (6, 5, 5, 3)] {
                let Some(g) = Geometry::new(h, w, fh, fw, padding) else {
                    continue;
                };
                for (c, o) in [
                    (1, 1),
                    (1, 2),
                    (2, 1),
                    (2, 4),
                    (3, 3),
                    (4, 4),
                    (4, 2),
                    (1, 4),
                ] {
                    for n in [2, 3, 8, 9, 17] {
                        let (lanes, batches) = passes(&g, (c, o), n, false);
                        let (scalar, none) = passes(&g, (c, o), n, true);
                        // Forward and input cotangent take the lane route here (1–4
                        // channels), the two filter gradients at ≤ 2 output channels, each in
                        // ⌈n/LANES⌉ batches; the reference never does.
                        let lane_passes = if o <= 2 { 4 } else { 2 };
                        assert_eq!(
                            (batches, none),
                            (lane_passes * n.div_ceil(super::LANES), 0),
                            "{c}→{o} n = {n}: lane batches (route, reference)"
                        );
                        for (k, (a, b)) in lanes.iter().zip(&scalar).enumerate() {
                            assert!(
                                a == b,
                                "{padding:?} {h}×{w} {fh}×{fw} {c}→{o} n = {n}: pass {k} differs"
                            );
                        }
                    }
                }
            }
        }
    }
}
