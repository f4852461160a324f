//! Lifting and group convolutions on `H ⋉ Z²`, written once for every [`PlanarPointGroup`].
//!
//! Slice convention: slice `s` holds `a_s = g_s⁻¹` ([`GroupInfo`]). The filter of slice `s` is
//! resampled by `M_s` (`(M_s w)[u] ≈ w(a_s⁻¹ u)`, [`entk_groups::PixelResampling`]), a
//! permutation for groups acting exactly on pixels (C4, D4, ...), bilinear otherwise.
//!
//! Finite layers (docs/conventions.md#slice-convention-of-group-features in element-labelled form):
//! ```text
//! lift:       y_o[s](t) = α Σ_c Σ_u (M_s W_oc)[u] x_c(t+u)                         + β b_o
//! group conv: y_o[s](t) = α Σ_c Σ_{j∈S} Σ_u (M_s W_ocj)[u] x_c[comp(j,s)](t+u)        + β b_o
//! ```
//! with `comp(j, s)` the slice of `a_s b_j` (filter slot `j` holds `b_j = g_j⁻¹`). For C4 this is
//! the paper's `x_c(t + Q^{−r}v)` and `x_c[(r+j) mod 4]`.
//!
//! Kernels (docs/theory.md#linear-layers-the-a-operator): `A[K][s,s′](t,t′) = (|S_G|q²)⁻¹ Σ_{j∈S} Σ_{u,u′}
//! (M_s M_{s′}ᵀ)[u,u′] K_in[comp(j,s), comp(j,s′)](t+u, t′+u′)` (lift: no `j`, `K_in = K⁰`).
//! Since the maps are linear, the group conv sums the input slices over `j` first and applies
//! one stencil per output slice pair (`|G|²` stencils of `nnz(M_s M_{s′}ᵀ)` taps: `q²` for exact
//! groups, up to `q⁴` otherwise).
//!
//! **Relative form.** For exact groups with a conjugation-invariant support (`all`,
//! `identity`), the kernel is right-invariant under the point group,
//! `K[s,s′] = K[e, rel(s,s′)]` (the filters' white-noise law is rotation invariant), so only the
//! `|G|` slices `R[c] = K[e, c]` are computed ([`Layout::GroupRelative`]):
//! `R_out[c] = q⁻² Σ_u R_in[c](t+u, t′+A_c u)` — a plain CNN stencil on each relative slice, the
//! same for every support. This is the relative-rotation trick of docs/theory.md#linear-layers-the-a-operator carried
//! through the whole network (|G|× cheaper than the full form, which remains available and is
//! tested against it).
//!
//! **Strides** (`(sh, sw)`, as [`super::Conv`]): the stride-1 layer followed by the spatial
//! subsampling of [`SpatialMap::strided`] on every slice. The relative layout stays exact
//! (right-invariance holds position by position), but equivariance to the point group, which
//! rotates the image about its centre, holds only when the kept positions are symmetric about
//! the centre: square strides on a square image and, per axis of length `n` with filter `q`,
//! VALID with `(n − q) mod s = 0`, or SAME/CIRCULAR with lax's padding symmetric
//! (`lo = hi`: e.g. 9 → 5 at `q = 3, s = 2` keeps it, 8 → 4 pads `(0, 1)` and breaks it).
//! Translations are kept only by multiples of the stride.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use nalgebra::DMatrix;
use rand::RngCore;

use entk_groups::{GroupStructure, PlanarPointGroup};

use super::conv::{
    restride, stride_note, strided_size, subsample_kernel, unstride_cotangent, ConvPass,
    FilterGrad, Strided,
};
use super::fused::{stencil_block, After, Output, Step};
use super::spatial::check_strides;
use super::{
    batch_per_sample, vjp_per_sample, Affine, Batch, BatchGrad, Feats, Features, GradMode, Layer,
    Params, SigMode, Signature,
};
use crate::error::{NtkError, Result};
use crate::layout::{GroupInfo, Kernel, KernelCtx, Layout, Stream};
use crate::param::{GroupSupport, Padding};
use crate::scratch;
use crate::stencil::{pair_taps, resampling, Geometry, Padded, RowPlan, Separable, Tap};

/// The most memory a layer's precomputed stencils may take (see `Stencils::check_size`).
const STENCIL_BUDGET: u128 = 2 << 30;

/// The most memory a layer's kept [`RowPlan`]s may take together: a few groups' worth (C4 at
/// 28×28 with 3×3 filters needs about 0.1 MiB for its 16 plans, counted by [`RowPlan::bytes`],
/// not measured), small against the Gram's own memory so that the
/// plan's peak-memory estimate, which does not count them, stays within its tolerance
/// (`tests/memory_estimate.rs`: D16 keeping all its 1024 plans measured 0.71× the estimate).
const PLAN_BUDGET: u128 = 1 << 20;

/// Precomputed resampling operators and stencils of a group on a `q×q` window.
#[derive(Debug, Clone)]
struct Stencils {
    info: Arc<GroupInfo>,
    q: usize,
    /// `M_s` as dense `q²×q²`.
    m: Vec<DMatrix<f64>>,
    /// Taps of `M_s M_{s′}ᵀ`, index `s·|G| + s′`.
    full: Vec<Vec<Tap>>,
    /// The factorised form of each `full` entry, where it exists (exact groups).
    separable: Vec<Option<Separable>>,
    /// The [`RowPlan`] of each `full` entry on the first geometry it ran on: a layer's kernel
    /// map runs on one input size pair after pair, and each of its blocks would otherwise build
    /// the same plan again (tables and allocations that cost as much as a small block's
    /// stencil). Made on first use, read-only after; other geometries build their own.
    /// Only plans of at most `plan_cap` bytes are kept, larger ones built per block.
    plans: Vec<OnceLock<(Geometry, RowPlan)>>,
    /// The most bytes a kept plan may take: [`PLAN_BUDGET`] (at most what [`STENCIL_BUDGET`]
    /// leaves after the tables) shared among the `|G|²` plans.
    plan_cap: u128,
}

impl Stencils {
    fn new(info: Arc<GroupInfo>, q: usize) -> Result<Self> {
        let tables = Self::check_size(&info, q)?;
        let m: Vec<DMatrix<f64>> = info
            .matrices
            .iter()
            .map(|a| resampling(a, q))
            .collect::<Result<_>>()?;
        let n = info.order;
        let mut full = Vec::with_capacity(n * n);
        for s in 0..n {
            for t in 0..n {
                full.push(pair_taps(&m[s], &m[t], q));
            }
        }
        let separable = full.iter().map(|t| Separable::detect(t, q, q)).collect();
        let plans = full.iter().map(|_| OnceLock::new()).collect();
        let plan_cap = PLAN_BUDGET.min(STENCIL_BUDGET - tables) / (n as u128 * n as u128);
        Ok(Stencils {
            info,
            q,
            m,
            full,
            separable,
            plans,
            plan_cap,
        })
    }
    /// Refuses groups and windows whose tables would not fit, before allocating them: the
    /// `|G|²` slice tables, `|G|` dense `q²×q²` resampling matrices and `|G|²` pair stencils
    /// (`q²` taps each for lattice-preserving groups, up to `q⁴` otherwise). Returns their
    /// estimated bytes (at most [`STENCIL_BUDGET`]); the kept plans get the rest (`plan_cap`).
    fn check_size(info: &GroupInfo, q: usize) -> Result<u128> {
        let n = info.order;
        if n > entk_groups::MAX_FINITE_ORDER {
            return Err(NtkError::spec(format!(
                "group {} has {n} elements, more than the {} entk handles",
                info.name,
                entk_groups::MAX_FINITE_ORDER
            )));
        }
        let (n, q2) = (n as u128, (q as u128) * (q as u128));
        let taps = if info.exact { q2 } else { q2 * q2 };
        let bytes =
            16 * n * n + 8 * n * q2 * q2 + n * n * taps * std::mem::size_of::<Tap>() as u128;
        if bytes > STENCIL_BUDGET {
            return Err(NtkError::spec(format!(
                "the stencils of group {} ({n} elements) with a {q}×{q} filter would need about \
                 {:.1} GiB (limit {} GiB); use a smaller filter or group",
                info.name,
                bytes as f64 / 1073741824.0,
                STENCIL_BUDGET >> 30
            )));
        }
        Ok(bytes)
    }
    /// The geometry of this `q×q` window on `h×w` inputs (`what` names them in the error when
    /// the window does not fit); refuses non-square inputs to groups that swap the axes.
    fn window(
        &self,
        padding: Padding,
        (h, w): (usize, usize),
        what: impl Fn(usize, usize) -> String,
    ) -> Result<Geometry> {
        check_square(&self.info, h, w)?;
        let q = self.q;
        Geometry::new(h, w, q, q, padding).ok_or_else(|| {
            NtkError::reject_as(
                crate::error::Rejection::Shape,
                format!(
                    "{q}×{q} filter does not fit {} with VALID padding",
                    what(h, w)
                ),
            )
        })
    }
    /// The linear step of slice pair `(s, t)`: `scale · A_{s,t}`, then `affine` ([`stencil_block`]).
    fn step<'a>(
        &'a self,
        (s, t): (usize, usize),
        g: &'a Geometry,
        scale: f64,
        affine: &'a Affine,
        fan_in: usize,
    ) -> Step<'a> {
        let i = s * self.info.order + t;
        let (taps, separable) = (&self.full[i], self.separable[i]);
        let kept = &self.plans[i];
        // A plan too large to keep is built per block (and a later geometry may be kept).
        let plan = if kept.get().is_none() && RowPlan::bytes(taps, separable, g) > self.plan_cap {
            None
        } else {
            let (made_on, plan) = kept.get_or_init(|| (*g, RowPlan::new(taps, separable, g)));
            (made_on == g).then_some(plan)
        };
        Step {
            taps,
            separable,
            g,
            scale,
            affine,
            fan_in,
            plan,
        }
    }
    /// The finite forward pass shared by `lift_conv` and `group_conv`: output slice `s` sums,
    /// over the filter slots `j` in `slots`, the convolution of input slice `src(j, s)` with
    /// slot `j`'s resampled filter `M_s W_j` (lift: one slot and the whole input as slice 0).
    /// `w` is `(q², |slots|, C, O)`; the output `(|G|, Ho, Wo, O)` before bias and strides.
    ///
    /// One resampled filter `(q², C, O)` at a time, in a buffer recycled through the thread's
    /// scratch pool: no `|G|·|slots|`-fold copy of the weights is built per call (at width 256
    /// that copy was 75 MB per pass, freshly mapped each time: most of the finite passes'
    /// system time). Same arithmetic, in the same order, as building the copy.
    fn forward(
        &self,
        g: &Geometry,
        w: &[f64],
        x: &[f64],
        (c, o): (usize, usize),
        alpha: f64,
        slots: &[usize],
        src: impl Fn(usize, usize) -> usize,
    ) -> Vec<f64> {
        let (n, q2) = (self.info.order, self.q * self.q);
        let (sin, sout) = (g.h_in * g.w_in * c, g.h_out * g.w_out * o);
        let mut y = vec![0.0; n * sout];
        let pass = ConvPass {
            g,
            channels: (c, o),
            alpha,
        };
        let mut f = scratch::take(q2 * c * o);
        for s in 0..n {
            for (ji, &j) in slots.iter().enumerate() {
                self.resample_slot(s, w, (ji, slots.len()), &mut f);
                let x = &x[src(j, s) * sin..][..sin];
                pass.forward(&mut y[s * sout..][..sout], x, &f);
            }
        }
        scratch::recycle(f);
        y
    }
    /// Reverse mode of [`Stencils::forward`]: accumulates the weight gradient into `gw` and
    /// returns the input cotangent. `dy` is the stride-1 output cotangent. Each slot's filter
    /// gradient is mapped back (`dW_j += M_sᵀ dF_{s,j}`) as soon as it is computed, in the order
    /// of the former whole-array version, so the sums are the same bit for bit.
    fn backward(
        &self,
        g: &Geometry,
        w: &[f64],
        (x, dy): (&[f64], &[f64]),
        (c, o): (usize, usize),
        alpha: f64,
        slots: &[usize],
        src: impl Fn(usize, usize) -> usize,
        gw: &mut [f64],
    ) -> Vec<f64> {
        let (n, q2) = (self.info.order, self.q * self.q);
        let (sin, sout) = (g.h_in * g.w_in * c, g.h_out * g.w_out * o);
        let mut dx = vec![0.0; x.len()];
        let pass = ConvPass {
            g,
            channels: (c, o),
            alpha,
        };
        let mut f = scratch::take(q2 * c * o);
        let mut df = scratch::take(q2 * c * o);
        for s in 0..n {
            for (ji, &j) in slots.iter().enumerate() {
                self.resample_slot(s, w, (ji, slots.len()), &mut f);
                df.iter_mut().for_each(|v| *v = 0.0);
                let src = src(j, s);
                let (x, dy) = (&x[src * sin..][..sin], &dy[s * sout..][..sout]);
                pass.backward((x, dy), &f, (&mut df, &mut dx[src * sin..][..sin]));
                // dW_j += M_sᵀ dF: the reverse of the resampling.
                for (a, f, wr) in self.slot_entries(s, (ji, slots.len()), c * o) {
                    axpy(a, &df[f], &mut gw[wr]);
                }
            }
        }
        scratch::recycle(f);
        scratch::recycle(df);
        dx
    }
    /// [`Stencils::forward`] of a batch of `n` samples of `xlen` values each: each resampled
    /// filter is made once and applied to all samples in one matrix product
    /// ([`ConvPass::forward_batch`]). The output `n × (|G|, Ho, Wo, O)`, sample-major.
    fn forward_batch(
        &self,
        g: &Geometry,
        w: &[f64],
        (x, xlen, n): (&[f64], usize, usize),
        (c, o): (usize, usize),
        alpha: f64,
        slots: &[usize],
        src: impl Fn(usize, usize) -> usize,
    ) -> Vec<f64> {
        let (ng, q2) = (self.info.order, self.q * self.q);
        let (sin, sout) = (g.h_in * g.w_in * c, g.h_out * g.w_out * o);
        let mut y = vec![0.0; n * ng * sout];
        let pass = ConvPass {
            g,
            channels: (c, o),
            alpha,
        };
        let mut f = scratch::take(q2 * c * o);
        for s in 0..ng {
            for (ji, &j) in slots.iter().enumerate() {
                self.resample_slot(s, w, (ji, slots.len()), &mut f);
                let (xat, yat) = slice_places((xlen, sin), (ng * sout, sout), src(j, s), s);
                pass.forward_batch(n, (&mut y, yat), (x, xat), &f);
            }
        }
        scratch::recycle(f);
        y
    }
    /// Reverse mode of [`Stencils::forward_batch`]: the weight gradients into `gw` as `mode`
    /// says (per sample: `gw` holds `n` blocks of `stride` values, the weights first in each),
    /// and the input cotangents.
    #[allow(clippy::too_many_arguments)]
    fn backward_batch(
        &self,
        g: &Geometry,
        w: &[f64],
        (x, xlen, n): (&[f64], usize, usize),
        dy: &[f64],
        (c, o): (usize, usize),
        alpha: f64,
        slots: &[usize],
        src: impl Fn(usize, usize) -> usize,
        (gw, mode, stride): (&mut [f64], GradMode, usize),
    ) -> Vec<f64> {
        let (ng, q2) = (self.info.order, self.q * self.q);
        let (sin, sout) = (g.h_in * g.w_in * c, g.h_out * g.w_out * o);
        let mut dx = vec![0.0; x.len()];
        let pass = ConvPass {
            g,
            channels: (c, o),
            alpha,
        };
        let per = q2 * c * o;
        let mut f = scratch::take(per);
        let mut df = scratch::take(per);
        for s in 0..ng {
            for (ji, &j) in slots.iter().enumerate() {
                self.resample_slot(s, w, (ji, slots.len()), &mut f);
                let (xat, yat) = slice_places((xlen, sin), (ng * sout, sout), src(j, s), s);
                let entries: Vec<_> = self.slot_entries(s, (ji, slots.len()), c * o).collect();
                // dW_j += M_sᵀ dF: the reverse of the resampling (of the sum, or per sample).
                let mut sink = |b: usize, df: &[f64]| {
                    let gw = &mut gw[b * stride..];
                    for (a, f, wr) in &entries {
                        axpy(*a, &df[f.clone()], &mut gw[wr.clone()]);
                    }
                };
                match mode {
                    GradMode::Sum => {
                        df.iter_mut().for_each(|v| *v = 0.0);
                        let dfilt = FilterGrad::Sum(&mut df);
                        pass.backward_batch(n, (x, xat), (dy, yat), &f, (dfilt, &mut dx));
                        sink(0, &df);
                    }
                    GradMode::Each => {
                        let dfilt = FilterGrad::Each(&mut sink);
                        pass.backward_batch(n, (x, xat), (dy, yat), &f, (dfilt, &mut dx));
                    }
                }
            }
        }
        scratch::recycle(f);
        scratch::recycle(df);
        dx
    }
    /// [`Layer::apply_batch`] of `lift_conv` and `group_conv` ([`Stencils::layer_apply`] of a
    /// batch); strided layers go sample by sample.
    fn layer_apply_batch(
        &self,
        (affine, slots): (&Affine, &[usize]),
        g: &Geometry,
        (params, x): (&Params, &Batch),
        src: impl Fn(usize, usize) -> usize,
    ) -> Result<Batch> {
        x.check()?;
        let (c, o) = (x.sig.channels, affine.width);
        let q2 = self.q * self.q;
        let fan_in = c * slots.len() * q2;
        let (w, b) = affine.split(&params.values, q2 * slots.len() * c * o)?;
        let alpha = affine.scales(fan_in).0;
        let xs = (&x.data[..], x.sig.feature_len(), x.n);
        let mut y = self.forward_batch(g, w, xs, (c, o), alpha, slots, src);
        affine.add_bias(fan_in, &mut y, b);
        let sig = self.features(g, o, Vec::new()).sig;
        Ok(Batch {
            sig,
            n: x.n,
            data: y,
        })
    }
    /// [`Layer::vjp_batch`] of `lift_conv` and `group_conv`, the reverse of
    /// [`Stencils::layer_apply_batch`].
    fn layer_vjp_batch(
        &self,
        (affine, slots): (&Affine, &[usize]),
        g: &Geometry,
        (params, x, dy): (&Params, &Batch, &Batch),
        mut out: BatchGrad,
        src: impl Fn(usize, usize) -> usize,
    ) -> Result<Batch> {
        x.check()?;
        let (c, o) = (x.sig.channels, affine.width);
        let q2 = self.q * self.q;
        let fan_in = c * slots.len() * q2;
        let nw = q2 * slots.len() * c * o;
        let (w, _) = affine.split(&params.values, nw)?;
        let alpha = affine.scales(fan_in).0;
        let sout = self.info.order * g.h_out * g.w_out * o;
        super::check_len("cotangents", dy.data.len(), x.n * sout)?;
        let plen = affine.param_len(nw);
        let xs = (&x.data[..], x.sig.feature_len(), x.n);
        let dx = match out.mode() {
            GradMode::Sum => {
                let (gw, gb) = affine.split_mut(out.summed(plen)?, nw)?;
                let dx = self.backward_batch(
                    g,
                    w,
                    xs,
                    &dy.data,
                    (c, o),
                    alpha,
                    slots,
                    src,
                    (gw, GradMode::Sum, 0),
                );
                affine.bias_grad(fan_in, &dy.data, gb);
                dx
            }
            GradMode::Each => {
                let (values, stride) = out.each(x.n, plen)?;
                let dx = self.backward_batch(
                    g,
                    w,
                    xs,
                    &dy.data,
                    (c, o),
                    alpha,
                    slots,
                    src,
                    (&mut *values, GradMode::Each, stride),
                );
                for b in 0..x.n {
                    let gb = &mut values[b * stride + nw..][..plen - nw];
                    affine.bias_grad(fan_in, &dy.data[b * sout..][..sout], gb);
                }
                dx
            }
        };
        Ok(Batch {
            sig: x.sig.clone(),
            n: x.n,
            data: dx,
        })
    }
    /// [`Layer::init`] of `lift_conv` and `group_conv`: weights `(q², slots, C, O)` and bias,
    /// `fan_in = C · slots · q²`.
    fn layer_init(&self, affine: &Affine, slots: usize, c: usize, rng: &mut dyn RngCore) -> Params {
        let q2 = self.q * self.q;
        affine.init_params(rng, q2 * slots * c * affine.width, c * slots * q2)
    }
    /// [`Layer::apply`] of `lift_conv` and `group_conv` (`layer`: their weights' settings,
    /// strides and filter slots; `src` as in [`Stencils::forward`]): the weights of `params`
    /// through [`Stencils::forward`], then the bias, then the strides.
    fn layer_apply(
        &self,
        (affine, strides, slots): (&Affine, (usize, usize), &[usize]),
        g: &Geometry,
        (params, x): (&Params, &Features),
        src: impl Fn(usize, usize) -> usize,
    ) -> Result<Feats> {
        let (c, o) = (x.sig.channels, affine.width);
        let q2 = self.q * self.q;
        let fan_in = c * slots.len() * q2;
        let (w, b) = affine.split(&params.values, q2 * slots.len() * c * o)?;
        let alpha = affine.scales(fan_in).0;
        let mut y = self.forward(g, w, &x.data, (c, o), alpha, slots, src);
        affine.add_bias(fan_in, &mut y, b);
        Ok(Stream::One(restride(g, strides, self.features(g, o, y))))
    }
    /// [`Layer::vjp`] of `lift_conv` and `group_conv`, the reverse of [`Stencils::layer_apply`].
    fn layer_vjp(
        &self,
        (affine, strides, slots): (&Affine, (usize, usize), &[usize]),
        g: &Geometry,
        (params, x, dy): (&Params, &Features, &Features),
        grad: &mut Params,
        src: impl Fn(usize, usize) -> usize,
    ) -> Result<Feats> {
        let dy = &unstride_cotangent(g, strides, dy);
        let (c, o) = (x.sig.channels, affine.width);
        let q2 = self.q * self.q;
        let fan_in = c * slots.len() * q2;
        let (w, _) = affine.split(&params.values, q2 * slots.len() * c * o)?;
        let (gw, gb) = affine.split_mut(&mut grad.values, q2 * slots.len() * c * o)?;
        let alpha = affine.scales(fan_in).0;
        let dx = self.backward(g, w, (&x.data, &dy.data), (c, o), alpha, slots, src, gw);
        affine.bias_grad(fan_in, &dy.data, gb);
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dx,
        }))
    }
    /// Stride-1 group features `(|G|, Ho, Wo, O)` of this group.
    fn features(&self, g: &Geometry, o: usize, data: Vec<f64>) -> Features {
        Features {
            sig: Signature {
                layout: Layout::Group {
                    group: self.info.clone(),
                    h: g.h_out,
                    w: g.w_out,
                },
                channels: o,
            },
            data,
        }
    }
    /// The nonzero entries of slice `s`'s resampling matrix for slot `j` (of `slots`), as
    /// `(M_s[u, v], filter range, weight range)`: the `rest` values of tap `u` in a slot's
    /// filter `(q², rest)` and those of tap `v`, slot `j` in the weights `(q², slots, rest)`.
    fn slot_entries(
        &self,
        s: usize,
        (j, slots): (usize, usize),
        rest: usize,
    ) -> impl Iterator<Item = (f64, Range<usize>, Range<usize>)> + '_ {
        let (q2, m) = (self.q * self.q, &self.m[s]);
        (0..q2)
            .flat_map(move |u| (0..q2).map(move |v| (u, v, m[(u, v)])))
            .filter(|&(_, _, a)| a != 0.0)
            .map(move |(u, v, a)| {
                let w = (v * slots + j) * rest;
                (a, u * rest..(u + 1) * rest, w..w + rest)
            })
    }
    /// The effective filter `M_s W_j` of slot `j` (of `slots`) for slice `s`, into `out`
    /// `(q², rest)`, from `w` `(q², slots, rest)`.
    fn resample_slot(&self, s: usize, w: &[f64], slot: (usize, usize), out: &mut [f64]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        for (a, f, wr) in self.slot_entries(s, slot, out.len() / (self.q * self.q)) {
            axpy(a, &w[wr], &mut out[f]);
        }
    }
}

/// Where input slice `from` and output slice `to` of every sample sit in a batch's buffers
/// (samples of `xlen` and `ylen` values, slices of `sin` and `sout`).
fn slice_places(
    (xlen, sin): (usize, usize),
    (ylen, sout): (usize, usize),
    from: usize,
    to: usize,
) -> (Strided, Strided) {
    let xat = Strided {
        stride: xlen,
        offset: from * sin,
    };
    let yat = Strided {
        stride: ylen,
        offset: to * sout,
    };
    (xat, yat)
}

/// `y += a·x`.
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(o, i)| *o += a * i);
}

/// The error for a planar layer given a group without a plane action.
fn not_planar(layer: &str, group: &str) -> NtkError {
    NtkError::spec(format!(
        "{layer}: group {group} does not act on the pixel plane (a group acting on the sphere \
         is lifted with s2_lift_conv and \"group\": \"{group}\")"
    ))
}

fn check_square(info: &GroupInfo, h: usize, w: usize) -> Result<()> {
    let swaps = info.matrices.iter().any(|m| m[1] != 0.0 || m[2] != 0.0);
    if swaps && h != w {
        return Err(NtkError::reject_as(
            crate::error::Rejection::Shape,
            format!(
                "group {} rotates the image, which must be square, got {h}×{w}",
                info.name
            ),
        ));
    }
    Ok(())
}

/// Lifting convolution `Z² → H ⋉ Z²` with a `q×q` window (q odd). See the module docs.
///
/// Parameters: `W` as HWIO `(q, q, C, O)`, then `b` (`O`). `fan_in = C q²`.
#[derive(Debug, Clone)]
pub struct LiftConv {
    st: Stencils,
    /// Window side.
    pub q: usize,
    /// Padding.
    pub padding: Padding,
    /// Weights, bias, width, parameterisation.
    pub affine: Affine,
    /// Use the relative (right-invariant) kernel form when the group acts exactly.
    pub relative: bool,
    /// Strides `(sh, sw)`, default `(1, 1)`.
    pub strides: (usize, usize),
}

impl LiftConv {
    /// A lifting layer over a planar point group; errors for even `q` or an unusable group
    /// (numbering or Cayley table, [`GroupStructure::planar`]).
    pub fn new<G: PlanarPointGroup>(
        group: G,
        q: usize,
        padding: Padding,
        affine: Affine,
    ) -> Result<Self> {
        Self::from_structure(
            Arc::new(GroupStructure::planar(&group)?),
            q,
            padding,
            affine,
        )
    }
    /// A lifting layer over a registered group; errors for even `q` and for groups that do not
    /// act on the pixel plane.
    pub fn from_structure(
        structure: Arc<GroupStructure>,
        q: usize,
        padding: Padding,
        affine: Affine,
    ) -> Result<Self> {
        if q.is_multiple_of(2) {
            return Err(NtkError::spec(format!("lift_conv: filter {q} must be odd")));
        }
        let info = Arc::new(GroupInfo::from_structure(structure));
        if !info.planar() {
            return Err(not_planar("lift_conv", &info.name));
        }
        let st = Stencils::new(info, q)?;
        let relative = st.info.exact;
        Ok(LiftConv {
            st,
            q,
            padding,
            affine,
            relative,
            strides: (1, 1),
        })
    }
    /// The same layer with strides `(sh, sw)`; errors for zero strides.
    pub fn with_strides(mut self, strides: (usize, usize)) -> Result<Self> {
        check_strides("lift_conv", strides)?;
        self.strides = strides;
        Ok(self)
    }
    /// Forces the full `(G1, G2, ...)` kernel form (for cross-checks); the relative form is
    /// only ever used when the group acts exactly on pixels.
    pub fn with_full_kernel(mut self) -> Self {
        self.relative = false;
        self
    }
    /// The slice bookkeeping.
    pub fn info(&self) -> &Arc<GroupInfo> {
        &self.st.info
    }
}

impl Layer for LiftConv {
    super::linear_layer_basics!("lift_conv");
    fn describe(&self) -> String {
        format!(
            "lift_conv({}, {q}×{q}, {}{}, w_std={}, b_std={}, width={})",
            self.st.info.name,
            self.padding.name(),
            stride_note(self.strides),
            self.affine.w_std,
            self.affine.b_std,
            self.affine.width,
            q = self.q
        )
    }
    super::fused::fused_stencil_layer!();
    group_linear_methods!();
}

/// Group convolution `H ⋉ Z² → H ⋉ Z²` with a `q×q` spatial window times a group support.
/// See the module docs.
///
/// Parameters: `W` as HWGIO `(q, q, |S_G|, C, O)` (slot order: the support's slices in
/// increasing index), then `b` (`O`). `fan_in = C |S_G| q²`.
#[derive(Debug, Clone)]
pub struct GroupConv {
    st: Stencils,
    /// Window side.
    pub q: usize,
    /// Padding.
    pub padding: Padding,
    /// Group part of the filter support.
    pub support: GroupSupport,
    /// Weights, bias, width, parameterisation.
    pub affine: Affine,
    /// Strides `(sh, sw)`, default `(1, 1)`.
    pub strides: (usize, usize),
    slots: Vec<usize>,
}

impl GroupConv {
    /// A group convolution over a planar point group with a `q×q` spatial window; errors for
    /// even `q` or an unusable group ([`GroupStructure::planar`]).
    pub fn new<G: PlanarPointGroup>(
        group: G,
        q: usize,
        padding: Padding,
        support: GroupSupport,
        affine: Affine,
    ) -> Result<Self> {
        let structure = Arc::new(GroupStructure::planar(&group)?);
        Self::from_structure(structure, q, padding, support, affine)
    }
    /// A group convolution over a registered group acting on the pixel plane, with a `q×q`
    /// spatial window; errors for even `q` and for groups without a plane action (use
    /// [`GroupConv::without_space`]).
    pub fn from_structure(
        structure: Arc<GroupStructure>,
        q: usize,
        padding: Padding,
        support: GroupSupport,
        affine: Affine,
    ) -> Result<Self> {
        if q.is_multiple_of(2) {
            return Err(NtkError::spec(format!(
                "group_conv: filter {q} must be odd"
            )));
        }
        let info = Arc::new(GroupInfo::from_structure(structure));
        if !info.planar() {
            return Err(NtkError::spec(format!(
                "group_conv: group {} has no spatial part (it does not act on the pixel plane): \
                 use it without `filter`, `padding` and `strides`",
                info.name
            )));
        }
        Self::build(info, q, padding, support, affine)
    }
    /// A group convolution on features that live on the group alone (after `s2_lift_conv`
    /// onto a finite rotation group): the same finite-group code with a 1×1 window,
    /// `f_out(g) = α Σ_c Σ_{j∈S} w_{cj} f_c(g·b_j) + β b`.
    pub fn without_space(
        structure: Arc<GroupStructure>,
        support: GroupSupport,
        affine: Affine,
    ) -> Result<Self> {
        Self::build(
            Arc::new(GroupInfo::from_structure(structure)),
            1,
            Padding::Valid,
            support,
            affine,
        )
    }
    fn build(
        info: Arc<GroupInfo>,
        q: usize,
        padding: Padding,
        support: GroupSupport,
        affine: Affine,
    ) -> Result<Self> {
        let st = Stencils::new(info, q)?;
        let slots = match support {
            GroupSupport::All => (0..st.info.order).collect(),
            GroupSupport::Identity => vec![st.info.identity],
        };
        Ok(GroupConv {
            st,
            q,
            padding,
            support,
            affine,
            strides: (1, 1),
            slots,
        })
    }
    /// The same layer with strides `(sh, sw)`; errors for zero strides.
    pub fn with_strides(mut self, strides: (usize, usize)) -> Result<Self> {
        check_strides("group_conv", strides)?;
        self.strides = strides;
        Ok(self)
    }
    /// The slice bookkeeping.
    pub fn info(&self) -> &Arc<GroupInfo> {
        &self.st.info
    }
    fn fan_in(&self, c: usize) -> usize {
        c * self.slots.len() * self.q * self.q
    }
}

impl Layer for GroupConv {
    super::linear_layer_basics!("group_conv");
    fn describe(&self) -> String {
        let window = if self.st.info.planar() {
            format!(
                "{q}×{q}, {}{}, ",
                self.padding.name(),
                stride_note(self.strides),
                q = self.q
            )
        } else {
            String::new()
        };
        format!(
            "group_conv({}, {window}support={:?}, w_std={}, b_std={}, width={})",
            self.st.info.name,
            self.support,
            self.affine.w_std,
            self.affine.b_std,
            self.affine.width,
        )
    }
    super::fused::fused_stencil_layer!();
    group_linear_methods!();
}

impl LiftConv {
    /// The kernel map of `k` (then `dual`, if given: [`super::fused`]): a block per slice (pair).
    fn kernel_fused(&self, k: Kernel, after: Option<After<'_>>) -> Result<Stream<Kernel>> {
        debug_assert!(
            after.is_none() || self.strides == (1, 1),
            "fused after a strided layer"
        );
        let (dual, pooled) = After::split(after);
        let g = self.geometry(&k.layout)?;
        let n = self.st.info.order;
        let blk = g.h_out * g.h_out * g.w_out * g.w_out;
        let scale = 1.0 / (self.q * self.q) as f64;
        let slices: Vec<(usize, usize)> = if self.relative {
            (0..n).map(|c| (self.st.info.identity, c)).collect()
        } else {
            (0..n).flat_map(|s| (0..n).map(move |t| (s, t))).collect()
        };
        let blocks = group_layout(&self.st.info, self.relative, g.h_out, g.w_out).row_blocks();
        let mut out = Output::new(slices.len() * blk, blk, pooled);
        // The input NTK of a first layer is zero: then no stencil runs on it.
        let tin = k.ntk.iter().any(|v| *v != 0.0).then_some(&k.ntk[..]);
        let fan_in = k.channels * self.q * self.q;
        // Every slice reads the same input: padded once.
        let pk = Padded::new(&k.nngp, &g);
        let pt = tin.map(|t| Padded::new(t, &g));
        for (i, &st) in slices.iter().enumerate() {
            let step = self.st.step(st, &g, scale, &self.affine, fan_in);
            out.block(i, |o| {
                stencil_block(&step, &pk, pt.as_ref(), o, dual.map(|d| (d, blocks[i])))
            });
        }
        drop((pk, pt));
        scratch::recycle(k.nngp);
        scratch::recycle(k.ntk);
        Ok(out.finish().kernel(self.affine.width, |ak, at| {
            self.output_kernel(&g, self.relative, ak, at)
        }))
    }
}

impl GroupConv {
    /// The kernel map of `k` (then `dual`, if given: [`super::fused`]), relative or full.
    fn kernel_fused(&self, k: Kernel, after: Option<After<'_>>) -> Result<Stream<Kernel>> {
        debug_assert!(
            after.is_none() || self.strides == (1, 1),
            "fused after a strided layer"
        );
        let (dual, pooled) = After::split(after);
        let g = self.geometry(&k.layout)?;
        let n = self.st.info.order;
        let (bin, blk) = (
            g.h_in * g.h_in * g.w_in * g.w_in,
            g.h_out * g.h_out * g.w_out * g.w_out,
        );
        let relative = matches!(k.layout, Layout::GroupRelative { .. });
        let fan_in = self.fan_in(k.channels);
        let layout = group_layout(&self.st.info, relative, g.h_out, g.w_out);
        let blocks = layout.row_blocks();
        // Every block of the output is overwritten below, so recycled buffers will do.
        let mut out = Output::new(layout.len(), blk, pooled);
        if relative {
            // R_out[c] = q⁻² Σ_u R_in[c](t+u, t′+A_c u): independent of the support.
            let scale = 1.0 / (self.q * self.q) as f64;
            let e = self.st.info.identity;
            for c in 0..n {
                let (kin, tin) = (&k.nngp[c * bin..][..bin], &k.ntk[c * bin..][..bin]);
                let step = self.st.step((e, c), &g, scale, &self.affine, fan_in);
                let (pk, pt) = (Padded::new(kin, &g), Padded::new(tin, &g));
                out.block(c, |o| {
                    stencil_block(&step, &pk, Some(&pt), o, dual.map(|d| (d, blocks[c])))
                });
            }
        } else {
            let scale = 1.0 / (self.slots.len() * self.q * self.q) as f64;
            let (mut sk, mut st) = (vec![0.0; bin], vec![0.0; bin]);
            let (mut from_k, mut from_t) = (Vec::new(), Vec::new());
            for (i, (s, t)) in (0..n).flat_map(|s| (0..n).map(move |t| (s, t))).enumerate() {
                from_k.clear();
                from_t.clear();
                for &j in &self.slots {
                    let (a, b) = (self.st.info.comp[j * n + s], self.st.info.comp[j * n + t]);
                    let off = (a * n + b) * bin;
                    from_k.push(&k.nngp[off..off + bin]);
                    from_t.push(&k.ntk[off..off + bin]);
                }
                sum_slices(&mut sk, &from_k);
                sum_slices(&mut st, &from_t);
                let step = self.st.step((s, t), &g, scale, &self.affine, fan_in);
                let rows = blocks[s * n + t];
                let (pk, pt) = (Padded::new(&sk, &g), Padded::new(&st, &g));
                out.block(i, |o| {
                    stencil_block(&step, &pk, Some(&pt), o, dual.map(|d| (d, rows)))
                });
            }
        }
        scratch::recycle(k.nngp);
        scratch::recycle(k.ntk);
        Ok(out.finish().kernel(self.affine.width, |ak, at| {
            self.output_kernel(&g, relative, ak, at)
        }))
    }
}

/// `out = Σ_k srcs[k]`, entry by entry, added left to right starting from `0.0`: bitwise the
/// running sum `out = 0; out += srcs[0]; out += srcs[1]; …`, in one sweep over `out` per four
/// sources instead of one per source plus the zeroing (the slot sums of
/// [`GroupConv::kernel_fused`], most of its time when its blocks are small). Every source
/// must be at least as long as `out`.
fn sum_slices(out: &mut [f64], srcs: &[&[f64]]) {
    if srcs.is_empty() {
        out.fill(0.0);
    }
    let len = out.len();
    for (g, group) in srcs.chunks(4).enumerate() {
        // The first sweep starts from +0.0 (not from the first source: `0.0 + (−0.0)` is +0.0).
        let fresh = g == 0;
        let start = |o: f64| if fresh { 0.0 } else { o };
        match *group {
            [a, b, c, d] => {
                let (a, b, c, d) = (&a[..len], &b[..len], &c[..len], &d[..len]);
                for (e, o) in out.iter_mut().enumerate() {
                    *o = (((start(*o) + a[e]) + b[e]) + c[e]) + d[e];
                }
            }
            [a, b, c] => {
                let (a, b, c) = (&a[..len], &b[..len], &c[..len]);
                for (e, o) in out.iter_mut().enumerate() {
                    *o = ((start(*o) + a[e]) + b[e]) + c[e];
                }
            }
            [a, b] => {
                let (a, b) = (&a[..len], &b[..len]);
                for (e, o) in out.iter_mut().enumerate() {
                    *o = (start(*o) + a[e]) + b[e];
                }
            }
            [a] => {
                for (o, v) in out.iter_mut().zip(&a[..len]) {
                    *o = start(*o) + v;
                }
            }
            _ => unreachable!("chunks of one to four"),
        }
    }
}

/// What `lift_conv` and `group_conv` share besides their [`Stencils`]: from it
/// [`group_linear_methods!`] writes their signature and finite passes, and
/// [`GroupLinear::output_kernel`] finishes their kernel maps.
trait GroupLinear: Layer {
    /// The stencils, the weights' settings and the strides.
    fn parts(&self) -> (&Stencils, &Affine, (usize, usize));
    /// The spatial geometry for an input layout; an error when the layer cannot take it.
    fn geometry(&self, layout: &Layout) -> Result<Geometry>;
    /// The filter slots (lift: the single slot 0).
    fn slots(&self) -> &[usize];
    /// The input slice that filter slot `j` reads for output slice `s` (lift: 0).
    fn source(&self, j: usize, s: usize) -> usize;
    /// Whether the kernel output for an input of `layout` takes the relative form.
    fn relative_output(&self, layout: &Layout) -> bool;

    /// [`Layer::signature`]: group features on the strided grid, relative kernels where
    /// [`GroupLinear::relative_output`] says so.
    fn group_signature(
        &self,
        input: Stream<Signature>,
        mode: SigMode,
    ) -> Result<Stream<Signature>> {
        let s = input.one()?;
        let g = self.geometry(&s.layout)?;
        let (st, affine, strides) = self.parts();
        let (h, w) = strided_size(&g, strides);
        let relative = mode == SigMode::Kernel && self.relative_output(&s.layout);
        Ok(Stream::One(Signature {
            layout: group_layout(&st.info, relative, h, w),
            channels: affine.width,
        }))
    }
    /// The stride-1 output kernel arrays `ak`, `at` as a kernel, subsampled by the strides.
    fn output_kernel(
        &self,
        g: &Geometry,
        relative: bool,
        ak: Vec<f64>,
        at: Vec<f64>,
    ) -> Stream<Kernel> {
        let (st, affine, strides) = self.parts();
        let k = Kernel {
            layout: group_layout(&st.info, relative, g.h_out, g.w_out),
            nngp: ak,
            ntk: at,
            channels: affine.width,
        };
        Stream::One(subsample_kernel(g, strides, k))
    }
}

/// [`Layout::GroupRelative`] or [`Layout::Group`] of `H×W` positions over `info`'s group.
fn group_layout(info: &Arc<GroupInfo>, relative: bool, h: usize, w: usize) -> Layout {
    let group = info.clone();
    if relative {
        Layout::GroupRelative { group, h, w }
    } else {
        Layout::Group { group, h, w }
    }
}

/// [`Layer::signature`], [`Layer::extra_values`], [`Layer::init`], [`Layer::apply`] and
/// [`Layer::vjp`] of a [`GroupLinear`] layer, inside its `impl Layer`.
macro_rules! group_linear_methods {
    () => {
        fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>> {
            self.group_signature(input, mode)
        }
        fn extra_values(&self, input: &Stream<Signature>) -> usize {
            stride_one_values(self, self.strides, input, |l| self.geometry(l))
        }
        fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
            let c = input.as_one()?.channels;
            Ok(self.st.layer_init(&self.affine, self.slots().len(), c, rng))
        }
        fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
            let x = x.as_one()?;
            let g = self.geometry(&x.sig.layout)?;
            let layer = (&self.affine, self.strides, self.slots());
            self.st
                .layer_apply(layer, &g, (params, x), |j, s| self.source(j, s))
        }
        fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats> {
            let x = x.as_one()?;
            let g = self.geometry(&x.sig.layout)?;
            let layer = (&self.affine, self.strides, self.slots());
            let pass = (params, x, dy.as_one()?);
            self.st
                .layer_vjp(layer, &g, pass, grad, |j, s| self.source(j, s))
        }
        fn apply_batch(&self, params: &Params, x: &Batch) -> Result<Batch> {
            let g = self.geometry(&x.sig.layout)?;
            if self.strides != (1, 1) {
                return batch_per_sample(self, params, x);
            }
            let layer = (&self.affine, self.slots());
            self.st
                .layer_apply_batch(layer, &g, (params, x), |j, s| self.source(j, s))
        }
        fn vjp_batch(
            &self,
            params: &Params,
            x: &Batch,
            dy: &Batch,
            out: BatchGrad,
        ) -> Result<Batch> {
            let g = self.geometry(&x.sig.layout)?;
            if self.strides != (1, 1) {
                return vjp_per_sample(self, params, (x, dy), out);
            }
            let layer = (&self.affine, self.slots());
            self.st
                .layer_vjp_batch(layer, &g, (params, x, dy), out, |j, s| self.source(j, s))
        }
    };
}
use group_linear_methods;

impl GroupLinear for LiftConv {
    fn parts(&self) -> (&Stencils, &Affine, (usize, usize)) {
        (&self.st, &self.affine, self.strides)
    }
    fn geometry(&self, layout: &Layout) -> Result<Geometry> {
        let Layout::Pixels { h, w } = layout else {
            return Err(NtkError::reject_as(
                crate::error::Rejection::Layout,
                format!("needs pixel features (images), got {}", layout.kind()),
            ));
        };
        self.st
            .window(self.padding, (*h, *w), |h, w| format!("a {h}×{w} image"))
    }
    fn slots(&self) -> &[usize] {
        &[0]
    }
    fn source(&self, _: usize, _: usize) -> usize {
        0
    }
    fn relative_output(&self, _: &Layout) -> bool {
        self.relative
    }
}

impl GroupLinear for GroupConv {
    fn parts(&self) -> (&Stencils, &Affine, (usize, usize)) {
        (&self.st, &self.affine, self.strides)
    }
    fn geometry(&self, layout: &Layout) -> Result<Geometry> {
        let (group, h, w) = match layout {
            Layout::Group { group, h, w } | Layout::GroupRelative { group, h, w } => (group, h, w),
            other => {
                return Err(NtkError::reject_as(crate::error::Rejection::Layout, format!(
                "needs group features but got {} features; put a lift_conv (or s2_lift_conv with a finite group) before any group_conv",
                other.kind()
            )))
            }
        };
        if !group.same_group(&self.st.info) {
            return Err(NtkError::reject_as(
                crate::error::Rejection::GroupMismatch,
                if group.name == self.st.info.name {
                    format!(
                        "input lives on a different group named {} than this layer's: {} against \
                     {} (layers compare groups by Cayley table and action, not by name)",
                        group.name,
                        group.describe(),
                        self.st.info.describe()
                    )
                } else {
                    format!(
                        "input lives on group {} but this layer uses {}",
                        group.name, self.st.info.name
                    )
                },
            ));
        }
        self.st
            .window(self.padding, (*h, *w), |h, w| format!("{h}×{w} features"))
    }
    fn slots(&self) -> &[usize] {
        &self.slots
    }
    fn source(&self, j: usize, s: usize) -> usize {
        self.st.info.comp[j * self.st.info.order + s]
    }
    fn relative_output(&self, layout: &Layout) -> bool {
        matches!(layout, Layout::GroupRelative { .. })
    }
}

/// [`Layer::extra_values`] of a stencil layer with `strides`: the stride-1 kernel it forms
/// before subsampling, `slices · Ho² · Wo²` values (none without strides).
fn stride_one_values(
    layer: &dyn Layer,
    strides: (usize, usize),
    input: &Stream<Signature>,
    geometry: impl Fn(&Layout) -> Result<Geometry>,
) -> usize {
    let sig = layer.signature(input.clone(), SigMode::Kernel);
    match (input.as_one(), sig) {
        (Ok(s), Ok(Stream::One(out))) if strides != (1, 1) => {
            let g = geometry(&s.layout).expect("checked by signature");
            let slices = out.layout.len() / strided_len(&out.layout);
            slices * g.h_out * g.h_out * g.w_out * g.w_out
        }
        _ => 0,
    }
}

/// Values of one spatial block `(H1, H2, W1, W2)` of a planar layout.
fn strided_len(layout: &Layout) -> usize {
    layout.spatial().map_or(1, |(h, w)| h * h * w * w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Network;
    use ndarray::Array3;

    /// The slot sums are bitwise the running sum from +0.0, for every number of sources (one
    /// to four per sweep, and several sweeps): entries whose sum depends on the order of the
    /// additions (1e16 + 1 − 1e16 + 1 is 1 left to right, 0 in pairs), and signed zeros
    /// (`0.0 + (−0.0)` is +0.0, not the first source's −0.0).
    #[test]
    fn slot_sums_are_bitwise_the_running_sum() {
        let value = |k: usize, e: usize| match e {
            0 => -0.0,
            1 => [1e16, 1.0, -1e16, 1.0][k % 4],
            _ => ((k * 31 + e * 17) % 23) as f64 * 0.37 - 4.1 + 1e-9 * k as f64,
        };
        for count in 0..=9 {
            let srcs: Vec<Vec<f64>> = (0..count)
                .map(|k| (0..13).map(|e| value(k, e)).collect())
                .collect();
            let refs: Vec<&[f64]> = srcs.iter().map(|v| &v[..]).collect();
            let mut want = vec![0.0; 13];
            for s in &srcs {
                for (w, v) in want.iter_mut().zip(s) {
                    *w += v;
                }
            }
            let mut got = vec![f64::NAN; 13];
            sum_slices(&mut got, &refs);
            for (e, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    w.to_bits(),
                    "{count} sources, entry {e}: {g} vs {w}"
                );
            }
        }
    }

    /// A layer keeps the stencil plans of the first geometry it ran on and builds its own for
    /// others: its kernels on images of one size after those of another are bitwise a fresh
    /// network's, both ways round.
    #[test]
    fn kept_stencil_plans_follow_the_geometry() {
        let spec = r#"{"layers": [
            {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
            {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"}, {"type": "relu"},
            {"type": "group_conv", "group": "c4", "filter": 3, "padding": "valid"}, {"type": "group_pool"}]}"#;
        let image = |size: usize, seed: usize| {
            Array3::from_shape_fn((size, size, 2), |(i, j, c)| {
                (((i * 7 + j * 13 + c * 5 + seed * 11) % 17) as f64 - 8.0) / 5.0
            })
        };
        let kernel = |net: &Network, size: usize| {
            let k = net
                .kernel_pair(image(size, 1).view(), image(size, 2).view())
                .unwrap();
            // Every entry, the border's included (where a wrongly kept plan would differ).
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (bits(&k.nngp), bits(&k.ntk))
        };
        for (first, second) in [(5, 7), (7, 5)] {
            let used = Network::from_json(spec).unwrap();
            let before = kernel(&used, first);
            let after = kernel(&used, second);
            assert_eq!(after, kernel(&Network::from_json(spec).unwrap(), second));
            assert_eq!(before, kernel(&used, first));
        }
        // The plans are kept for the first geometry only.
        let info = GroupInfo::new(&entk_groups::CyclicGroup::new(4).unwrap()).unwrap();
        let st = Stencils::new(Arc::new(info), 3).unwrap();
        let affine = Affine::default();
        let (g5, g7) = (
            Geometry::new(5, 5, 3, 3, Padding::Valid).unwrap(),
            Geometry::new(7, 7, 3, 3, Padding::Valid).unwrap(),
        );
        assert!(st.step((0, 1), &g5, 1.0, &affine, 1).plan.is_some());
        assert!(st.step((0, 1), &g7, 1.0, &affine, 1).plan.is_none());
        assert!(st.step((0, 1), &g5, 1.0, &affine, 1).plan.is_some());
        // Plans over the cap are not kept; a later geometry under it is.
        let mut st = Stencils::new(st.info.clone(), 3).unwrap();
        assert!(st.plan_cap >= RowPlan::bytes(&st.full[1], st.separable[1], &g7));
        st.plan_cap = RowPlan::bytes(&st.full[1], st.separable[1], &g5);
        assert!(st.step((0, 1), &g7, 1.0, &affine, 1).plan.is_none());
        assert!(st.step((0, 1), &g5, 1.0, &affine, 1).plan.is_some());
        assert!(st.step((0, 1), &g7, 1.0, &affine, 1).plan.is_none());
    }
}
