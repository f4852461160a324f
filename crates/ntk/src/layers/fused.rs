//! Fused kernel passes of the stencil layers (`conv`, `lift_conv`, `group_conv`).
//!
//! A stencil layer's kernel map is `scale·A[K]`, `scale·A[Θ]` per output block, then the affine
//! step ([`Affine::combine`]), and, when the next layer is a pointwise nonlinearity, its dual
//! activation. [`stencil_block`] does all three in one sweep: each output plane of the stencil
//! (the `W1 × W2` values of one `(H1, H2)` position pair, [`RowPlan`]) is finished while it
//! is in L1 and stored once, so the layer writes its output
//! arrays once and the nonlinearity reads nothing back. The operations are those of the
//! separate passes, in the same order, so the results are bitwise theirs.
//!
//! The dual needs the diagonals of the layer's output, which are known before the layer runs
//! only for cross pairs (they were recorded by the inputs' self pairs, [`KernelCtx`]); self pairs
//! read them off the output, so they run the nonlinearity as its own pass.
//!
//! When a mean pool follows the nonlinearity (`conv → φ → global_avg_pool`,
//! `group_conv → φ → group_pool`: [`Layer::pools_by_mean`]), each output plane of a cross
//! pair goes through one reused buffer into running sums while it is in L1 ([`Output`],
//! [`Dest`]), so the layer's output is never materialised; the sums take the values in the
//! pool's order, so the result is bitwise the pool's.
//!
//! [`KernelCtx`]: crate::layout::KernelCtx

use super::pool::{scalar_kernel, MeanSum};
use super::{Affine, DualThen, Elementwise, Layer};
use crate::error::Result;
use crate::layout::RowBlock;
use crate::layout::{Kernel, KernelCtx, Stream};
use crate::nonlin::batch::{DualOp, RowDual};
use crate::nonlin::Nonlinearity;
use crate::scratch;
use crate::simd::SimdLevel;
use crate::stencil::{Geometry, Padded, RowPlan, RowSink, Separable, Tap};

/// The dual activation of the layer after a stencil layer, with the self-kernel diagonals of
/// the stencil layer's output (`d1` of the first input, `d2` of the second, as
/// [`crate::layout::KernelCtx::diagonals`] gives them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dual<'a> {
    /// The nonlinearity.
    pub phi: &'a Nonlinearity,
    /// Diagonal of the first input's self-kernel.
    pub d1: &'a [f64],
    /// Diagonal of the second input's self-kernel.
    pub d2: &'a [f64],
}

/// What a stencil layer's kernel map runs after it: the dual, and the mean pool when `pooled`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct After<'a> {
    /// The dual activation.
    pub dual: Dual<'a>,
    /// Whether a mean pool follows the dual ([`Output`]).
    pub pooled: bool,
}

impl<'a> After<'a> {
    /// `(dual, pooled)` of an optional `after`.
    pub(crate) fn split(after: Option<Self>) -> (Option<Dual<'a>>, bool) {
        (after.map(|a| a.dual), after.is_some_and(|a| a.pooled))
    }
}

/// The linear step of a stencil layer: stencil, scale and affine parameters.
pub(crate) struct Step<'a> {
    /// The taps of the block's slice pair.
    pub taps: &'a [Tap],
    /// Their factorised form, if any.
    pub separable: Option<Separable>,
    /// Geometry (stride 1).
    pub g: &'a Geometry,
    /// `1/(window size)` (times `1/|support|` for group convolutions).
    pub scale: f64,
    /// The layer's weights' settings.
    pub affine: &'a Affine,
    /// The layer's fan-in.
    pub fan_in: usize,
    /// The [`RowPlan`] of `taps`, `separable` and `g`, when the layer keeps one; otherwise
    /// [`stencil_block`] makes it.
    pub plan: Option<&'a RowPlan>,
}

/// `(k, t) ← affine(scale·A[k_in], scale·A[t_in])` for one output block (`t_in = None`: an NTK
/// input of zeros), followed by `dual` over the block's rows `rows` of the output layout when
/// given, into `dest` ([`Dest`]: the block's `h_out²·w_out²` values of each array, every entry
/// overwritten, or running sums). The inputs come padded for `step.g` ([`Padded::new`]), so
/// that blocks reading the same input pad it once.
pub(crate) fn stencil_block(
    step: &Step<'_>,
    k_in: &Padded<'_>,
    t_in: Option<&Padded<'_>>,
    dest: Dest<'_>,
    dual: Option<(Dual<'_>, RowBlock)>,
) {
    let made;
    let plan = match step.plan {
        Some(p) => p,
        None => {
            made = RowPlan::new(step.taps, step.separable, step.g);
            &made
        }
    };
    let inputs: Vec<&Padded<'_>> = std::iter::once(k_in).chain(t_in).collect();
    let run = Run {
        plan,
        inputs: &inputs,
        step,
        dest,
    };
    match dual {
        Some((d, rows)) => d.phi.visit_dual(WithDual { run, d, rows }),
        None => run.finish(None::<(NoDual, &[f64], &[f64], RowBlock)>),
    }
}

/// The arguments of [`stencil_block`] but the dual.
struct Run<'a, 'b> {
    plan: &'a RowPlan,
    inputs: &'a [&'a Padded<'a>],
    step: &'a Step<'b>,
    dest: Dest<'a>,
}

impl Run<'_, '_> {
    fn finish<D: RowDual>(self, dual: Option<(D, &[f64], &[f64], RowBlock)>) {
        let g = self.step.g;
        self.plan.run(
            SimdLevel::current(),
            self.inputs,
            g,
            self.step.scale,
            &mut Finish {
                affine: self.step.affine,
                fan_in: self.step.fan_in,
                dest: self.dest,
                h: g.h_out,
                w: g.w_out,
                dual: dual.map(|(dual, d1, d2, block)| PlaneDual::new(dual, d1, d2, block)),
            },
        );
    }
}

/// [`stencil_block`] with the dual of a nonlinearity ([`Nonlinearity::visit_dual`]).
struct WithDual<'a, 'b, 'c> {
    run: Run<'a, 'b>,
    d: Dual<'c>,
    rows: RowBlock,
}

impl DualOp for WithDual<'_, '_, '_> {
    type Output = ();
    fn call<D: RowDual + Copy>(self, dual: D) {
        self.run
            .finish(Some((dual, self.d.d1, self.d.d2, self.rows)))
    }
}

/// The type of "no dual" in [`Finish`].
type NoDual = fn(f64, f64, f64) -> (f64, f64);

/// The plane sink of [`stencil_block`].
struct Finish<'a, D> {
    affine: &'a Affine,
    fan_in: usize,
    dest: Dest<'a>,
    h: usize,
    w: usize,
    dual: Option<PlaneDual<'a, D>>,
}

/// The dual of [`Finish`] with its variances laid out plane by plane, so that a whole output
/// plane (`w²` entries) goes through the dual at once: `k11` is the first input's variances
/// of plane row `i1` (`d1[row(i1, ·, j1).d1]` at `j1·w + j2`), refilled when `i1` changes;
/// `k22` the second input's of every `i2` (`d2[row(·, i2, ·).d2 + j2]` at `(i2·w + j1)·w + j2`),
/// filled once per block.
struct PlaneDual<'a, D> {
    dual: D,
    d1: &'a [f64],
    block: RowBlock,
    k11: Vec<f64>,
    k22: Vec<f64>,
}

impl<'a, D> PlaneDual<'a, D> {
    fn new(dual: D, d1: &'a [f64], d2: &[f64], block: RowBlock) -> Self {
        let (h, w) = (block.h, block.w);
        let mut k22 = scratch::take(h * w * w);
        for (i2, plane) in k22.chunks_exact_mut(w * w).enumerate() {
            let row = &d2[block.row(0, i2, 0).d2..][..w];
            for r in plane.chunks_exact_mut(w) {
                r.copy_from_slice(row);
            }
        }
        PlaneDual {
            dual,
            d1,
            block,
            k11: scratch::take(w * w),
            k22,
        }
    }
}

impl<D> Drop for PlaneDual<'_, D> {
    fn drop(&mut self) {
        scratch::recycle(std::mem::take(&mut self.k11));
        scratch::recycle(std::mem::take(&mut self.k22));
    }
}

impl<D: RowDual> RowSink for Finish<'_, D> {
    #[inline(always)]
    fn plane(&mut self, p: usize, runs: &mut [Vec<f64>], stride: usize) {
        let (w, ww) = (self.w, self.w * self.w);
        // Running sums take each plane as soon as it is finished: one plane's buffer will do.
        let at = if self.dest.sums.is_some() { 0 } else { p * ww };
        let k = &mut self.dest.k[at..][..ww];
        let t = &mut self.dest.t[at..][..ww];
        let (affine, fan_in) = (self.affine, self.fan_in);
        // Row o2 of the plane is entry o2·stride of the runs.
        match runs {
            [a] => {
                for (o2, (k, t)) in k.chunks_exact_mut(w).zip(t.chunks_exact_mut(w)).enumerate() {
                    for ((kv, tv), a) in k.iter_mut().zip(t.iter_mut()).zip(&a[o2 * stride..][..w])
                    {
                        (*kv, *tv) = affine.combine(fan_in, *a, 0.0);
                    }
                }
            }
            [a, b, ..] => {
                for (o2, (k, t)) in k.chunks_exact_mut(w).zip(t.chunks_exact_mut(w)).enumerate() {
                    let (a, b) = (&a[o2 * stride..][..w], &b[o2 * stride..][..w]);
                    for ((kv, tv), (a, b)) in k.iter_mut().zip(t.iter_mut()).zip(a.iter().zip(b)) {
                        (*kv, *tv) = affine.combine(fan_in, *a, *b);
                    }
                }
            }
            [] => {}
        }
        if let Some(pd) = &mut self.dual {
            // Plane p = i1·h + i2 of the stencil is plane (i1, i2) of the block.
            let (i1, i2) = (p / self.h, p % self.h);
            if i2 == 0 {
                let d1 = &pd.d1[pd.block.row(i1, 0, 0).d1..][..w];
                for (r, v) in pd.k11.chunks_exact_mut(w).zip(d1) {
                    r.fill(*v);
                }
            }
            pd.dual
                .entries(&pd.k11[..ww], &pd.k22[i2 * ww..][..ww], k, t);
        }
        if let Some((sk, st)) = &mut self.dest.sums {
            sk.add(k);
            st.add(t);
        }
    }
}

/// Where [`stencil_block`] writes one block: into `k` and `t` (the block's values), or, with
/// `sums`, each output plane into the start of `k` and `t` and from there into the running
/// sums of the pool ([`Output`]), in the block's order.
pub(crate) struct Dest<'a> {
    k: &'a mut [f64],
    t: &'a mut [f64],
    sums: Option<(&'a mut MeanSum, &'a mut MeanSum)>,
}

/// Where a stencil layer's kernel map writes its output blocks (each `blk` values of the
/// NNGP and of the NTK, in the output layout's order): the whole output arrays, or, when a mean
/// pool follows, one buffer reused for every output plane and running sums of each.
pub(crate) struct Output {
    k: Vec<f64>,
    t: Vec<f64>,
    blk: usize,
    sums: Option<(MeanSum, MeanSum)>,
}

/// The end of a stencil layer's kernel map: the output arrays, or the pooled means.
pub(crate) enum Finished {
    /// The NNGP and NTK arrays of the whole output.
    Full(Vec<f64>, Vec<f64>),
    /// The means of the NNGP and NTK over the output (the pool's scalar kernel).
    Pooled(f64, f64),
}

impl Output {
    /// The output of `len` values per array, in blocks of `blk`; `pooled`: keep only the means.
    pub(crate) fn new(len: usize, blk: usize, pooled: bool) -> Self {
        let n = if pooled { blk } else { len };
        Output {
            k: scratch::take(n),
            t: scratch::take(n),
            blk,
            sums: pooled.then(|| (MeanSum::new(len), MeanSum::new(len))),
        }
    }
    /// Runs `write` on block `i`, which must write all of it ([`Dest`]); blocks come in order.
    #[inline]
    pub(crate) fn block(&mut self, i: usize, write: impl FnOnce(Dest<'_>)) {
        let blk = self.blk;
        match &mut self.sums {
            None => write(Dest {
                k: &mut self.k[i * blk..][..blk],
                t: &mut self.t[i * blk..][..blk],
                sums: None,
            }),
            Some((sk, st)) => write(Dest {
                k: &mut self.k[..],
                t: &mut self.t[..],
                sums: Some((sk, st)),
            }),
        }
    }
    /// The output arrays, or the means.
    pub(crate) fn finish(self) -> Finished {
        match self.sums {
            None => Finished::Full(self.k, self.t),
            Some((sk, st)) => {
                scratch::recycle(self.k);
                scratch::recycle(self.t);
                Finished::Pooled(sk.mean(), st.mean())
            }
        }
    }
}

impl Finished {
    /// The pooled scalar kernel of `channels` channels, or `full` of the arrays.
    pub(crate) fn kernel(
        self,
        channels: usize,
        full: impl FnOnce(Vec<f64>, Vec<f64>) -> Stream<Kernel>,
    ) -> Stream<Kernel> {
        match self {
            Finished::Full(k, t) => full(k, t),
            Finished::Pooled(a, b) => Stream::One(scalar_kernel(a, b, channels)),
        }
    }
}

/// The kernel methods of a stencil layer whose inherent `kernel_fused(k, after)` runs its
/// kernel map, followed by [`After`]'s dual when given (stride 1 only), and by the mean pool
/// when it says so, and which has `strides`.
macro_rules! fused_stencil_layer {
    () => {
        fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
            self.kernel_fused(input.one()?, None)
        }
        fn fuses_dual(&self) -> bool {
            self.strides == (1, 1)
        }
        fn kernel_dual(
            &self,
            input: Stream<Kernel>,
            ctx: &mut KernelCtx<'_>,
            then: super::DualThen<'_>,
        ) -> Result<Stream<Kernel>> {
            let fuses = self.fuses_dual();
            super::fused::then(input.one()?, ctx, (then, fuses), |k, a| {
                self.kernel_fused(k, a)
            })
        }
    };
}
pub(crate) use fused_stencil_layer;

/// A stencil layer's kernel map `run` of `k`, then the dual of `phi` and, when `pooled`, the
/// mean pool ([`DualThen`]): in one sweep (`run` with an [`After`]) for cross pairs of a layer
/// that `fuses`, as separate passes otherwise.
pub(crate) fn then(
    k: Kernel,
    ctx: &mut KernelCtx<'_>,
    (DualThen { phi, pooled }, fuses): (DualThen<'_>, bool),
    run: impl FnOnce(Kernel, Option<After<'_>>) -> Result<Stream<Kernel>>,
) -> Result<Stream<Kernel>> {
    match ctx.replay_next() {
        Some((d1, d2)) if fuses => {
            let dual = Dual { phi, d1, d2 };
            run(k, Some(After { dual, pooled }))
        }
        _ => pooled_if(kernel_then_dual(run(k, None)?, ctx, phi)?, pooled),
    }
}

/// The mean pool of `k` when `pooled`, else `k`.
pub(crate) fn pooled_if(k: Stream<Kernel>, pooled: bool) -> Result<Stream<Kernel>> {
    if pooled {
        Ok(Stream::One(super::pool::mean_kernel(k.one()?)))
    } else {
        Ok(k)
    }
}

/// A layer's output kernel `k` through the nonlinearity `phi` as its own layer.
pub(crate) fn kernel_then_dual(
    k: Stream<Kernel>,
    ctx: &mut KernelCtx<'_>,
    phi: &Nonlinearity,
) -> Result<Stream<Kernel>> {
    Elementwise::new(phi.clone()).kernel(k, ctx)
}
