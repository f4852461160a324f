//! `conv`: ordinary 2-D convolution on pixel grids (odd `h×w` filters, any strides).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand::RngCore;

use super::conv_direct::{Direct, Plan};
use super::fused::{stencil_block, After, Output, Step};
use super::spatial::{check_strides, SpatialMap};
use super::{
    batch_per_sample, check_len, vjp_per_sample, Affine, Batch, BatchGrad, Feats, Features,
    GradMode, Layer, Params, SigMode, Signature,
};
use crate::error::{NtkError, Rejection, Result};
use crate::layout::{Kernel, KernelCtx, Layout, Stream};
use crate::param::Padding;
use crate::scratch;
use crate::stencil::{conv_taps, Geometry, Padded, Separable, Tap};

/// Convolution `y_o(t) = α Σ_c Σ_v W[v, c, o] x_c(t + v) + β b_o` (a cross-correlation, as in
/// neural-tangents' `Conv`), `v` over the `h×w` window centred at 0.
///
/// Kernel: `A[K](t,t′) = (hw)⁻¹ Σ_v K(t+v, t′+v)` (same offset in both slots), combined per
/// docs/theory.md#linear-layers-the-a-operator with `fan_in = C·h·w`. Input and output layout [`Layout::Pixels`].
/// Parameters: `W` as HWIO `(h, w, C, O)` row-major, then `b` (`O`) if biased.
///
/// **Strides** (`(sh, sw)`, lax/neural-tangents semantics): the layer is the stride-1
/// convolution followed by the subsampling of [`SpatialMap::strided`] (VALID keeps outputs
/// `0, s, 2s, …`; SAME/CIRCULAR keep `⌈n/s⌉` window centres with lax's SAME padding), and so is
/// its kernel: both slots are subsampled. Stride 1 runs the plain (separable) stencil only.
/// A strided convolution is equivariant only to translations by multiples of the stride.
#[derive(Debug, Clone)]
pub struct Conv {
    /// Filter rows (odd).
    pub fh: usize,
    /// Filter columns (odd).
    pub fw: usize,
    /// Padding.
    pub padding: Padding,
    /// Weights, bias, width, parameterisation.
    pub affine: Affine,
    /// Strides `(sh, sw)`, default `(1, 1)`.
    pub strides: (usize, usize),
    taps: Vec<Tap>,
    separable: Option<Separable>,
}

impl Conv {
    /// A convolution; errors for even filter sizes.
    pub fn new(fh: usize, fw: usize, padding: Padding, affine: Affine) -> Result<Self> {
        if fh.is_multiple_of(2) || fw.is_multiple_of(2) || fh == 0 || fw == 0 {
            return Err(NtkError::spec(format!(
                "conv: filter {fh}×{fw} must be odd in both directions"
            )));
        }
        Ok(Conv {
            fh,
            fw,
            padding,
            affine,
            strides: (1, 1),
            taps: conv_taps(fh, fw),
            separable: Separable::detect(&conv_taps(fh, fw), fh, fw),
        })
    }
    /// The same convolution with strides `(sh, sw)`; errors for zero strides.
    pub fn with_strides(mut self, strides: (usize, usize)) -> Result<Self> {
        check_strides("conv", strides)?;
        self.strides = strides;
        Ok(self)
    }
    fn geometry(&self, layout: &Layout) -> Result<Geometry> {
        let Layout::Pixels { h, w } = layout else {
            return Err(NtkError::reject_as(
                Rejection::Layout,
                format!("needs pixel features, got {}", layout.kind()),
            ));
        };
        Geometry::new(*h, *w, self.fh, self.fw, self.padding).ok_or_else(|| {
            NtkError::reject_as(
                Rejection::Shape,
                format!(
                    "{}×{} filter does not fit a {h}×{w} image with VALID padding",
                    self.fh, self.fw
                ),
            )
        })
    }
}

impl Conv {
    /// The kernel map of `k` (then `dual`, if given: [`super::fused`]): one stencil block.
    fn kernel_fused(&self, k: Kernel, after: Option<After<'_>>) -> Result<Stream<Kernel>> {
        debug_assert!(
            after.is_none() || self.strides == (1, 1),
            "fused after a strided conv"
        );
        let (dual, pooled) = After::split(after);
        let g = self.geometry(&k.layout)?;
        let layout = Layout::Pixels {
            h: g.h_out,
            w: g.w_out,
        };
        let mut out = Output::new(layout.len(), layout.len(), pooled);
        let step = Step {
            taps: &self.taps,
            separable: self.separable,
            g: &g,
            scale: 1.0 / (self.fh * self.fw) as f64,
            affine: &self.affine,
            fan_in: k.channels * self.fh * self.fw,
            plan: None,
        };
        let rows = layout.row_blocks()[0];
        let (pk, pt) = (Padded::new(&k.nngp, &g), Padded::new(&k.ntk, &g));
        out.block(0, |o| {
            stencil_block(&step, &pk, Some(&pt), o, dual.map(|d| (d, rows)))
        });
        drop((pk, pt));
        scratch::recycle(k.nngp);
        scratch::recycle(k.ntk);
        let channels = self.affine.width;
        Ok(out.finish().kernel(channels, |nngp, ntk| {
            let k = Kernel {
                layout,
                nngp,
                ntk,
                channels,
            };
            Stream::One(subsample_kernel(&g, self.strides, k))
        }))
    }
}

impl Layer for Conv {
    super::linear_layer_basics!("conv");
    fn describe(&self) -> String {
        format!(
            "conv({}×{}, {}{}, w_std={}, b_std={}, width={})",
            self.fh,
            self.fw,
            self.padding.name(),
            stride_note(self.strides),
            self.affine.w_std,
            self.affine.b_std,
            self.affine.width
        )
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let s = input.one()?;
        let g = self.geometry(&s.layout)?;
        let (h, w) = strided_size(&g, self.strides);
        Ok(Stream::One(Signature {
            layout: Layout::Pixels { h, w },
            channels: self.affine.width,
        }))
    }
    super::fused::fused_stencil_layer!();
    fn extra_values(&self, input: &Stream<Signature>) -> usize {
        match input.as_one().map(|s| self.geometry(&s.layout)) {
            Ok(Ok(g)) if self.strides != (1, 1) => g.h_out * g.h_out * g.w_out * g.w_out,
            _ => 0,
        }
    }
    fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        let c = input.as_one()?.channels;
        let taps = self.fh * self.fw;
        Ok(self
            .affine
            .init_params(rng, taps * c * self.affine.width, taps * c))
    }
    fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
        let x = x.as_one()?;
        let g = self.geometry(&x.sig.layout)?;
        let (c, o) = (x.sig.channels, self.affine.width);
        let fan_in = c * self.fh * self.fw;
        let (w, b) = self.affine.split(&params.values, fan_in * o)?;
        let mut y = vec![0.0; g.h_out * g.w_out * o];
        let alpha = self.affine.scales(fan_in).0;
        ConvPass {
            g: &g,
            channels: (c, o),
            alpha,
        }
        .forward(&mut y, &x.data, w);
        self.affine.add_bias(fan_in, &mut y, b);
        let y = Features {
            sig: Signature {
                layout: Layout::Pixels {
                    h: g.h_out,
                    w: g.w_out,
                },
                channels: o,
            },
            data: y,
        };
        Ok(Stream::One(restride(&g, self.strides, y)))
    }
    fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats> {
        let x = x.as_one()?;
        let g = self.geometry(&x.sig.layout)?;
        let dy = &unstride_cotangent(&g, self.strides, dy.as_one()?);
        let (c, o) = (x.sig.channels, self.affine.width);
        let fan_in = c * self.fh * self.fw;
        let (w, _) = self.affine.split(&params.values, fan_in * o)?;
        let (gw, gb) = self.affine.split_mut(&mut grad.values, fan_in * o)?;
        let mut dx = vec![0.0; x.data.len()];
        let alpha = self.affine.scales(fan_in).0;
        let pass = ConvPass {
            g: &g,
            channels: (c, o),
            alpha,
        };
        pass.backward((&x.data, &dy.data), w, (gw, &mut dx));
        self.affine.bias_grad(fan_in, &dy.data, gb);
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dx,
        }))
    }
    fn apply_batch(&self, params: &Params, x: &Batch) -> Result<Batch> {
        x.check()?;
        let g = self.geometry(&x.sig.layout)?;
        if self.strides != (1, 1) {
            return batch_per_sample(self, params, x);
        }
        let (c, o) = (x.sig.channels, self.affine.width);
        let fan_in = c * self.fh * self.fw;
        let (w, b) = self.affine.split(&params.values, fan_in * o)?;
        let (sin, sout) = (g.h_in * g.w_in * c, g.h_out * g.w_out * o);
        let mut y = vec![0.0; x.n * sout];
        ConvPass {
            g: &g,
            channels: (c, o),
            alpha: self.affine.scales(fan_in).0,
        }
        .forward_batch(x.n, (&mut y, whole(sout)), (&x.data, whole(sin)), w);
        self.affine.add_bias(fan_in, &mut y, b);
        Ok(Batch {
            sig: Signature {
                layout: Layout::Pixels {
                    h: g.h_out,
                    w: g.w_out,
                },
                channels: o,
            },
            n: x.n,
            data: y,
        })
    }
    fn vjp_batch(&self, params: &Params, x: &Batch, dy: &Batch, out: BatchGrad) -> Result<Batch> {
        x.check()?;
        let g = self.geometry(&x.sig.layout)?;
        if self.strides != (1, 1) {
            return vjp_per_sample(self, params, (x, dy), out);
        }
        let mut out = out;
        let (c, o) = (x.sig.channels, self.affine.width);
        let fan_in = c * self.fh * self.fw;
        let (w, _) = self.affine.split(&params.values, fan_in * o)?;
        let (sin, sout) = (g.h_in * g.w_in * c, g.h_out * g.w_out * o);
        check_len("cotangents", dy.data.len(), x.n * sout)?;
        let mut dx = vec![0.0; x.data.len()];
        let pass = ConvPass {
            g: &g,
            channels: (c, o),
            alpha: self.affine.scales(fan_in).0,
        };
        let nw = fan_in * o;
        let plen = self.affine.param_len(nw);
        match out.mode() {
            GradMode::Sum => {
                let values = out.summed(plen)?;
                let (gw, gb) = self.affine.split_mut(values, nw)?;
                let xs = (&x.data[..], whole(sin));
                pass.backward_batch(
                    x.n,
                    xs,
                    (&dy.data, whole(sout)),
                    w,
                    (FilterGrad::Sum(gw), &mut dx),
                );
                self.affine.bias_grad(fan_in, &dy.data, gb);
            }
            GradMode::Each => {
                let (values, stride) = out.each(x.n, plen)?;
                let mut sink = |b: usize, df: &[f64]| {
                    let gw = &mut values[b * stride..][..nw];
                    gw.iter_mut().zip(df).for_each(|(d, v)| *d += v);
                };
                let xs = (&x.data[..], whole(sin));
                let dfilt = FilterGrad::Each(&mut sink);
                pass.backward_batch(x.n, xs, (&dy.data, whole(sout)), w, (dfilt, &mut dx));
                for b in 0..x.n {
                    let gb = &mut values[b * stride + nw..][..plen - nw];
                    self.affine
                        .bias_grad(fan_in, &dy.data[b * sout..][..sout], gb);
                }
            }
        }
        Ok(Batch {
            sig: x.sig.clone(),
            n: x.n,
            data: dx,
        })
    }
}

/// Whole samples of `len` values one after another ([`Strided`]).
pub(crate) fn whole(len: usize) -> Strided {
    Strided {
        stride: len,
        offset: 0,
    }
}

/// The im2col matrix of `x` `(H, W, C)` for geometry `g`: one row per output position
/// `p = i·W_out + j`, one column per window tap and input channel `(u, c)` (taps row-major over
/// the `fh×fw` window, as in the filters), holding `x[p + u][c]`, or 0 where the window reads
/// the zero padding: `(P, fh·fw·C)`.
fn im2col(x: &[f64], g: &Geometry, c: usize) -> Array2<f64> {
    let cols = (2 * g.kh + 1) * (2 * g.kw + 1) * c;
    let mut m = Array2::zeros((g.h_out * g.w_out, cols));
    for i in 0..g.h_out {
        for j in 0..g.w_out {
            let mut row = m.row_mut(i * g.w_out + j);
            let row = row.as_slice_mut().expect("standard layout");
            window_taps(g, (i, j), |u, q| {
                row[u * c..][..c].copy_from_slice(&x[q * c..][..c]);
            });
        }
    }
    m
}

/// Where the samples of a batch sit in a buffer: sample `b`'s block starts at
/// `b·stride + offset` (a slice of each sample's group features, or whole samples).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strided {
    pub(crate) stride: usize,
    pub(crate) offset: usize,
}

/// A `rows × cols` matrix of unspecified values (stale ones of an earlier array) whose storage
/// comes from the scratch pool (the batched passes' matrices reach megabytes; fresh ones would
/// be mapped and faulted in every call), for a caller that overwrites every entry (a matrix
/// product with `β = 0`, which never reads its output). Hand it back with [`recycle_matrix`].
fn pooled(rows: usize, cols: usize) -> Array2<f64> {
    let v = crate::scratch::take(rows * cols);
    Array2::from_shape_vec((rows, cols), v).expect("rows × cols values")
}

/// Returns a [`pooled`] matrix's storage to the pool.
fn recycle_matrix(m: Array2<f64>) {
    let (v, _) = m.into_raw_vec_and_offset();
    crate::scratch::recycle(v);
}

/// [`im2col`] of `n` samples at `at` in `x`, stacked: row `b·P + p` holds sample `b`'s row `p`:
/// `(n·P, fh·fw·C)` ([`pooled`] storage). Only the rows whose window reaches into the zero
/// padding are zeroed first; the others are overwritten by the copies.
fn im2col_batch(x: &[f64], n: usize, at: Strided, g: &Geometry, c: usize) -> Array2<f64> {
    let taps = (2 * g.kh + 1) * (2 * g.kw + 1);
    let cols = taps * c;
    let p = g.h_out * g.w_out;
    let mut m = pooled(n * p, cols);
    let sin = g.h_in * g.w_in * c;
    for i in 0..g.h_out {
        for j in 0..g.w_out {
            let mut inside = 0;
            window_runs(g, (i, j), |_, _, len| inside += len);
            for b in 0..n {
                let x = &x[b * at.stride + at.offset..][..sin];
                let mut row = m.row_mut(b * p + i * g.w_out + j);
                let row = row.as_slice_mut().expect("standard layout");
                if inside < taps {
                    row.fill(0.0);
                }
                window_runs(g, (i, j), |u, q, len| {
                    row[u * c..][..len * c].copy_from_slice(&x[q * c..][..len * c]);
                });
            }
        }
    }
    m
}

/// [`window_taps`] in runs: calls `run(u, q, len)` for the taps `u..u + len` of the window at
/// output position `(i, j)` that read the input positions `q..q + len` (one call per window
/// row where that row lies inside the image without wrapping, one per tap elsewhere), so the
/// batched passes move `len·C` contiguous values at a time.
fn window_runs(g: &Geometry, (i, j): (usize, usize), mut run: impl FnMut(usize, usize, usize)) {
    let (kw, fw) = (g.kw as isize, 2 * g.kw + 1);
    let first = g.padding.source(j, -kw, g.kw, g.w_in);
    let last = g.padding.source(j, kw, g.kw, g.w_in);
    let whole = match (first, last) {
        (Some(a), Some(b)) if b >= a && b - a == fw - 1 => Some(a),
        _ => None,
    };
    for (ur, dr) in (-(g.kh as isize)..=g.kh as isize).enumerate() {
        let Some(si) = g.padding.source(i, dr, g.kh, g.h_in) else {
            continue;
        };
        match whole {
            Some(a) => run(ur * fw, si * g.w_in + a, fw),
            None => {
                for (uc, dc) in (-kw..=kw).enumerate() {
                    if let Some(sj) = g.padding.source(j, dc, g.kw, g.w_in) {
                        run(ur * fw + uc, si * g.w_in + sj, 1);
                    }
                }
            }
        }
    }
}

/// Calls `tap(u, q)` for every tap of the window at output position `(i, j)` that reads the
/// image rather than the zero padding: `u` the tap's index, row-major over the `fh×fw` window,
/// and `q = si·W_in + sj` the input position it reads.
pub(crate) fn window_taps(g: &Geometry, (i, j): (usize, usize), mut tap: impl FnMut(usize, usize)) {
    let fw = 2 * g.kw + 1;
    for (ur, dr) in (-(g.kh as isize)..=g.kh as isize).enumerate() {
        let Some(si) = g.padding.source(i, dr, g.kh, g.h_in) else {
            continue;
        };
        for (uc, dc) in (-(g.kw as isize)..=g.kw as isize).enumerate() {
            if let Some(sj) = g.padding.source(j, dc, g.kw, g.w_in) {
                tap(ur * fw + uc, si * g.w_in + sj);
            }
        }
    }
}

/// The most input and output channels at which the batched passes run directly
/// ([`super::conv_direct`]) instead of as matrix products: measured on the augmentation
/// experiment's networks (9×9 images, batches of 16 and 64, 2-core Intel Xeon with AVX-512),
/// 40 training steps of the CNN and the GCNN took 0.020 s against 0.029 s at width 2, 0.042
/// against 0.048 s at width 4, but 0.18 against 0.055 s at width 8 (the matrix products'
/// fused, register-blocked kernel wins once the inner dimensions reach 8).
const DIRECT_CHANNELS: usize = 4;

/// One stride-1 convolution from `c` to `o` channels (`channels = (c, o)`) over geometry `g`,
/// scaled by `alpha`: [`Conv`]'s finite pass, and each slice pair's of the group convolutions.
/// One sample's passes are matrix products with the [`im2col`] matrix; the batched passes run
/// directly ([`super::conv_direct`]) at up to [`DIRECT_CHANNELS`] input and output channels,
/// as matrix products above.
pub(crate) struct ConvPass<'a> {
    pub(crate) g: &'a Geometry,
    pub(crate) channels: (usize, usize),
    pub(crate) alpha: f64,
}

impl ConvPass<'_> {
    /// `y[t][o] += α Σ_{u,c} filt[u][c][o] · x[t+u][c]` with `x` `(H,W,C)`, `y` `(Ho,Wo,O)` and
    /// `filt` `(fh, fw, C, O)` (window of half sizes `g.kh`, `g.kw`): one matrix product of the
    /// [`im2col`] matrix `(P, fh·fw·C)` with the filter `(fh·fw·C, O)` (matrixmultiply's blocked
    /// kernel through ndarray).
    pub(crate) fn forward(&self, y: &mut [f64], x: &[f64], filt: &[f64]) {
        let (c, o) = self.channels;
        let a = im2col(x, self.g, c);
        let (p, k) = a.dim();
        let b = ArrayView2::from_shape((k, o), &filt[..k * o]).expect("filter shape");
        let mut out = ArrayViewMut2::from_shape((p, o), &mut y[..p * o]).expect("output shape");
        general_mat_mul(self.alpha, &a, &b, 1.0, &mut out);
    }

    /// Reverse of [`ConvPass::forward`] for the output cotangent `dy`: accumulates
    /// `dfilt += α colsᵀ·dy` and `dx` (the transpose of im2col applied to `α dy·filtᵀ`).
    pub(crate) fn backward(
        &self,
        (x, dy): (&[f64], &[f64]),
        filt: &[f64],
        (dfilt, dx): (&mut [f64], &mut [f64]),
    ) {
        let (g, (c, o)) = (self.g, self.channels);
        let a = im2col(x, g, c);
        let (p, k) = a.dim();
        let gy = ArrayView2::from_shape((p, o), &dy[..p * o]).expect("cotangent shape");
        let f = ArrayView2::from_shape((k, o), &filt[..k * o]).expect("filter shape");
        let mut df = ArrayViewMut2::from_shape((k, o), &mut dfilt[..k * o]).expect("filter shape");
        general_mat_mul(self.alpha, &a.t(), &gy, 1.0, &mut df);
        let mut dcols = Array2::<f64>::zeros((p, k));
        general_mat_mul(self.alpha, &gy, &f.t(), 0.0, &mut dcols);
        for i in 0..g.h_out {
            for j in 0..g.w_out {
                let row = dcols.row(i * g.w_out + j);
                let row = row.as_slice().expect("standard layout");
                window_taps(g, (i, j), |u, q| {
                    for (d, v) in dx[q * c..][..c].iter_mut().zip(&row[u * c..][..c]) {
                        *d += v;
                    }
                });
            }
        }
    }
}

/// Where a batched reverse pass puts the filter gradient: summed over the samples into one
/// `(fh·fw·C, O)` array, or per sample: `sink(b, dF_b)` with sample `b`'s own gradient.
pub(crate) enum FilterGrad<'a> {
    Sum(&'a mut [f64]),
    Each(&'a mut dyn FnMut(usize, &[f64])),
}

impl ConvPass<'_> {
    /// [`ConvPass::forward`] of `n` samples at once: `y` at `yat` gets `α` times sample `b`'s
    /// convolution of `x` at `xat` with `filt` added: at up to [`DIRECT_CHANNELS`] input and
    /// output channels directly ([`super::conv_direct`]: read in place, no im2col matrix),
    /// above as one matrix product of the stacked im2col matrices.
    pub(crate) fn forward_batch(
        &self,
        n: usize,
        y: (&mut [f64], Strided),
        x: (&[f64], Strided),
        filt: &[f64],
    ) {
        if !self.direct_pays() {
            return self.forward_batch_gemm(n, y, x, filt);
        }
        let plan = Plan::of(self.g, self.channels);
        self.direct(&plan, n).forward(y, x, filt);
    }

    /// Reverse of [`ConvPass::forward_batch`]: the filter gradient `α colsᵀ·dy` as `dfilt`
    /// says (summed over the samples, or per sample), and the input cotangents added to `dx`
    /// (at `x`'s places `xat`).
    pub(crate) fn backward_batch(
        &self,
        n: usize,
        (x, xat): (&[f64], Strided),
        dy: (&[f64], Strided),
        filt: &[f64],
        (dfilt, dx): (FilterGrad<'_>, &mut [f64]),
    ) {
        if !self.direct_pays() {
            return self.backward_batch_gemm(n, (x, xat), dy, filt, (dfilt, dx));
        }
        let plan = Plan::of(self.g, self.channels);
        let pass = self.direct(&plan, n);
        pass.filter_grad((x, xat), dy, dfilt);
        pass.input_grad((dx, xat), dy, filt);
    }

    /// Whether the direct passes ([`super::conv_direct`]) beat the matrix products: at up to
    /// [`DIRECT_CHANNELS`] input and output channels.
    fn direct_pays(&self) -> bool {
        self.channels.0 <= DIRECT_CHANNELS && self.channels.1 <= DIRECT_CHANNELS
    }

    fn direct<'t>(&self, plan: &'t Plan, n: usize) -> Direct<'t> {
        Direct {
            plan,
            n,
            channels: self.channels,
            alpha: self.alpha,
        }
    }
}

impl ConvPass<'_> {
    /// [`ConvPass::forward_batch`] as one matrix product of the stacked [`im2col`] matrices
    /// `(n·P, fh·fw·C)` with the filter.
    fn forward_batch_gemm(
        &self,
        n: usize,
        (y, yat): (&mut [f64], Strided),
        (x, xat): (&[f64], Strided),
        filt: &[f64],
    ) {
        let (c, o) = self.channels;
        let a = im2col_batch(x, n, xat, self.g, c);
        let (rows, k) = a.dim();
        let b = ArrayView2::from_shape((k, o), &filt[..k * o]).expect("filter shape");
        let sout = rows / n.max(1) * o;
        if yat.stride == sout && yat.offset == 0 {
            let mut out =
                ArrayViewMut2::from_shape((rows, o), &mut y[..rows * o]).expect("output shape");
            general_mat_mul(self.alpha, &a, &b, 1.0, &mut out);
        } else {
            let mut t = pooled(rows, o);
            general_mat_mul(self.alpha, &a, &b, 0.0, &mut t);
            let ts = t.as_slice().expect("standard layout");
            for bi in 0..n {
                let dst = &mut y[bi * yat.stride + yat.offset..][..sout];
                dst.iter_mut()
                    .zip(&ts[bi * sout..][..sout])
                    .for_each(|(d, v)| *d += v);
            }
            recycle_matrix(t);
        }
        recycle_matrix(a);
    }

    /// [`ConvPass::backward_batch`] as matrix products: the filter gradient `α colsᵀ·dy`
    /// (summed: one product over all samples; per sample: one product each), the input
    /// cotangents from `α dy·filtᵀ` scattered back (col2im).
    fn backward_batch_gemm(
        &self,
        n: usize,
        (x, xat): (&[f64], Strided),
        (dy, yat): (&[f64], Strided),
        filt: &[f64],
        (dfilt, dx): (FilterGrad<'_>, &mut [f64]),
    ) {
        let (g, (c, o)) = (self.g, self.channels);
        let a = im2col_batch(x, n, xat, g, c);
        let (rows, k) = a.dim();
        let p = g.h_out * g.w_out;
        let sout = p * o;
        let gathered;
        let gy = if yat.stride == sout && yat.offset == 0 {
            ArrayView2::from_shape((rows, o), &dy[..rows * o]).expect("cotangent shape")
        } else {
            let mut t = Vec::with_capacity(rows * o);
            for b in 0..n {
                t.extend_from_slice(&dy[b * yat.stride + yat.offset..][..sout]);
            }
            gathered = t;
            ArrayView2::from_shape((rows, o), &gathered[..]).expect("cotangent shape")
        };
        let f = ArrayView2::from_shape((k, o), &filt[..k * o]).expect("filter shape");
        match dfilt {
            FilterGrad::Sum(df) => {
                let mut df =
                    ArrayViewMut2::from_shape((k, o), &mut df[..k * o]).expect("filter shape");
                general_mat_mul(self.alpha, &a.t(), &gy, 1.0, &mut df);
            }
            FilterGrad::Each(sink) => {
                let mut buf = crate::scratch::take(k * o);
                for b in 0..n {
                    let rows = ndarray::s![b * p..(b + 1) * p, ..];
                    let mut df =
                        ArrayViewMut2::from_shape((k, o), &mut buf[..]).expect("filter shape");
                    general_mat_mul(
                        self.alpha,
                        &a.slice(rows).t(),
                        &gy.slice(rows),
                        0.0,
                        &mut df,
                    );
                    sink(b, &buf);
                }
                crate::scratch::recycle(buf);
            }
        }
        recycle_matrix(a);
        let mut dcols = pooled(rows, k);
        general_mat_mul(self.alpha, &gy, &f.t(), 0.0, &mut dcols);
        let sin = g.h_in * g.w_in * c;
        for b in 0..n {
            let dx = &mut dx[b * xat.stride + xat.offset..][..sin];
            for i in 0..g.h_out {
                for j in 0..g.w_out {
                    let row = dcols.row(b * p + i * g.w_out + j);
                    let row = row.as_slice().expect("standard layout");
                    window_runs(g, (i, j), |u, q, len| {
                        let (d, v) = (&mut dx[q * c..][..len * c], &row[u * c..][..len * c]);
                        d.iter_mut().zip(v).for_each(|(d, v)| *d += v);
                    });
                }
            }
        }
        recycle_matrix(dcols);
    }
}

/// `", strides a×b"` for strided layers, empty for stride 1 (descriptions).
pub(crate) fn stride_note(strides: (usize, usize)) -> String {
    if strides == (1, 1) {
        String::new()
    } else {
        format!(", strides {}×{}", strides.0, strides.1)
    }
}

/// A stride-1 kernel of geometry `g`, subsampled to `strides` (unchanged for stride 1).
pub(crate) fn subsample_kernel(g: &Geometry, strides: (usize, usize), k: Kernel) -> Kernel {
    match SpatialMap::strided(g, strides) {
        Some(m) => {
            let out = m.kernel(&k);
            scratch::recycle(k.nngp);
            scratch::recycle(k.ntk);
            out
        }
        None => k,
    }
}

/// The cotangent of the stride-1 output (zeros where the subsampling drops outputs) from that
/// of the strided output; a copy for stride 1.
pub(crate) fn unstride_cotangent(g: &Geometry, strides: (usize, usize), dy: &Features) -> Features {
    match SpatialMap::strided(g, strides) {
        Some(m) => {
            let sig = Signature {
                layout: super::spatial::resized(&dy.sig.layout, g.h_out, g.w_out),
                channels: dy.sig.channels,
            };
            m.features_transpose(&sig, dy)
        }
        None => dy.clone(),
    }
}

/// Output size of a convolution of stride-1 geometry `g` with `strides`.
pub(crate) fn strided_size(g: &Geometry, strides: (usize, usize)) -> (usize, usize) {
    SpatialMap::strided(g, strides).map_or((g.h_out, g.w_out), |m| m.out_size())
}

/// Subsamples stride-1 output features to `strides` (unchanged for stride 1).
pub(crate) fn restride(g: &Geometry, strides: (usize, usize), y: Features) -> Features {
    match SpatialMap::strided(g, strides) {
        Some(m) => m.features(&y),
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct loops the matrix-product version replaced, as an independent reference.
    fn direct(
        x: &[f64],
        filt: &[f64],
        dy: &[f64],
        g: &Geometry,
        c: usize,
        o: usize,
    ) -> [Vec<f64>; 3] {
        let fw = 2 * g.kw + 1;
        let mut y = vec![0.0; g.h_out * g.w_out * o];
        let mut df = vec![0.0; filt.len()];
        let mut dx = vec![0.0; x.len()];
        for i in 0..g.h_out {
            for j in 0..g.w_out {
                let t = i * g.w_out + j;
                for (ur, dr) in (-(g.kh as isize)..=g.kh as isize).enumerate() {
                    let Some(si) = g.padding.source(i, dr, g.kh, g.h_in) else {
                        continue;
                    };
                    for (uc, dc) in (-(g.kw as isize)..=g.kw as isize).enumerate() {
                        let Some(sj) = g.padding.source(j, dc, g.kw, g.w_in) else {
                            continue;
                        };
                        for cc in 0..c {
                            let xi = (si * g.w_in + sj) * c + cc;
                            for oo in 0..o {
                                let fi = ((ur * fw + uc) * c + cc) * o + oo;
                                y[t * o + oo] += 0.7 * filt[fi] * x[xi];
                                df[fi] += 0.7 * dy[t * o + oo] * x[xi];
                                dx[xi] += 0.7 * dy[t * o + oo] * filt[fi];
                            }
                        }
                    }
                }
            }
        }
        [y, df, dx]
    }

    #[test]
    fn matrix_product_convolution_equals_the_direct_sum() {
        for padding in [Padding::Valid, Padding::Same, Padding::Circular] {
            for (h, w, fh, fwid, c, o) in
                [(5, 6, 3, 3, 2, 3), (4, 4, 1, 3, 1, 5), (6, 5, 5, 3, 3, 1)]
            {
                let g = Geometry::new(h, w, fh, fwid, padding).unwrap();
                let val = |n: usize, s: f64| -> Vec<f64> {
                    (0..n).map(|i| (i as f64 * s).sin()).collect()
                };
                let x = val(h * w * c, 0.37);
                let filt = val(fh * fwid * c * o, 0.53);
                let dy = val(g.h_out * g.w_out * o, 0.91);
                let [y0, df0, dx0] = direct(&x, &filt, &dy, &g, c, o);
                let mut y = vec![0.0; y0.len()];
                let pass = ConvPass {
                    g: &g,
                    channels: (c, o),
                    alpha: 0.7,
                };
                pass.forward(&mut y, &x, &filt);
                let (mut df, mut dx) = (vec![0.0; df0.len()], vec![0.0; dx0.len()]);
                pass.backward((&x, &dy), &filt, (&mut df, &mut dx));
                for (a, b) in y
                    .iter()
                    .zip(&y0)
                    .chain(df.iter().zip(&df0))
                    .chain(dx.iter().zip(&dx0))
                {
                    assert!(
                        (a - b).abs() < 1e-12,
                        "{padding:?} {h}×{w} {fh}×{fwid}: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// The batched passes of `n` samples at strided places (as the group convolutions use
    /// them), on both routes (direct at up to `DIRECT_CHANNELS` channels, matrix products
    /// above), equal the direct loops sample by sample: outputs, summed and per-sample filter
    /// gradients, input cotangents.
    #[test]
    fn batched_passes_equal_the_direct_sum_sample_by_sample() {
        let val = |n: usize, s: f64| -> Vec<f64> { (0..n).map(|i| (i as f64 * s).sin()).collect() };
        for padding in [Padding::Valid, Padding::Same, Padding::Circular] {
            for (h, w, fh, fwid, c, o) in [
                (5, 6, 3, 3, 1, 2),
                (4, 4, 1, 3, 2, 4),
                (6, 5, 5, 3, 3, 1),
                (5, 5, 3, 3, 4, 4),
                (5, 4, 3, 1, 3, 3),
                (5, 5, 3, 3, 5, 6),
                (6, 6, 3, 3, 1, 8),
                // Smaller than the window: circular padding reads input positions repeatedly.
                (2, 3, 3, 3, 2, 2),
            ] {
                let Some(g) = Geometry::new(h, w, fh, fwid, padding) else {
                    assert!(padding == Padding::Valid && h < fh, "{padding:?} {h}×{w}");
                    continue;
                };
                let n = 3;
                let (sin, sout) = (h * w * c, g.h_out * g.w_out * o);
                // Each sample's block sits at offset 2 of a stride one block longer.
                let (xat, yat) = (
                    Strided {
                        stride: sin + 3,
                        offset: 2,
                    },
                    Strided {
                        stride: sout + 3,
                        offset: 2,
                    },
                );
                let x = val(n * xat.stride, 0.37);
                let dy = val(n * yat.stride, 0.91);
                let filt = val(fh * fwid * c * o, 0.53);
                let pass = ConvPass {
                    g: &g,
                    channels: (c, o),
                    alpha: 0.7,
                };
                let mut y = val(n * yat.stride, 0.11);
                let y_start = y.clone();
                pass.forward_batch(n, (&mut y, yat), (&x, xat), &filt);
                let mut df_sum = val(filt.len(), 0.29);
                let df_start = df_sum.clone();
                let mut dx = val(n * xat.stride, 0.17);
                let dx_start = dx.clone();
                pass.backward_batch(
                    n,
                    (&x, xat),
                    (&dy, yat),
                    &filt,
                    (FilterGrad::Sum(&mut df_sum), &mut dx),
                );
                let mut each = vec![Vec::new(); n];
                let mut sink = |b: usize, d: &[f64]| each[b] = d.to_vec();
                let mut dx_each = vec![0.0; dx.len()];
                pass.backward_batch(
                    n,
                    (&x, xat),
                    (&dy, yat),
                    &filt,
                    (FilterGrad::Each(&mut sink), &mut dx_each),
                );
                let close = |a: f64, b: f64, what: &str| {
                    assert!(
                        (a - b).abs() < 1e-12,
                        "{padding:?} {h}×{w} {fh}×{fwid} {c}→{o} {what}: {a} vs {b}"
                    )
                };
                let mut df_total = df_start.clone();
                for b in 0..n {
                    let xb = &x[b * xat.stride + 2..][..sin];
                    let dyb = &dy[b * yat.stride + 2..][..sout];
                    let [y0, df0, dx0] = direct(xb, &filt, dyb, &g, c, o);
                    for (k, v) in y0.iter().enumerate() {
                        let at = b * yat.stride + 2 + k;
                        close(y[at], y_start[at] + v, "output");
                    }
                    for (k, v) in dx0.iter().enumerate() {
                        let at = b * xat.stride + 2 + k;
                        close(dx[at], dx_start[at] + v, "input cotangent");
                        close(dx_each[at], *v, "input cotangent (per-sample mode)");
                    }
                    for (k, v) in df0.iter().enumerate() {
                        close(each[b][k], *v, "per-sample filter gradient");
                        df_total[k] += v;
                    }
                }
                for (a, b) in df_sum.iter().zip(&df_total) {
                    close(*a, *b, "summed filter gradient");
                }
                // Untouched outside the samples' blocks.
                let outside =
                    |at: Strided, len: usize, k: usize| !(2..2 + len).contains(&(k % at.stride));
                for k in (0..y.len()).filter(|&k| outside(yat, sout, k)) {
                    assert_eq!(y[k], y_start[k], "output outside the blocks at {k}");
                }
                for k in (0..dx.len()).filter(|&k| outside(xat, sin, k)) {
                    assert_eq!(
                        dx[k], dx_start[k],
                        "input cotangent outside the blocks at {k}"
                    );
                    assert_eq!(dx_each[k], 0.0, "input cotangent outside the blocks at {k}");
                }
            }
        }
    }
}
