//! `conv`: ordinary 2-D convolution on pixel grids (odd `h×w` filters, any strides).

use rand::RngCore;

use super::spatial::{check_strides, SpatialMap};
use super::{normals, Affine, Features, Layer, Params, SigMode, Signature};
use crate::error::{NtkError, Result};
use crate::layout::{Kernel, KernelCtx, Layout, Stream};
use crate::param::Padding;
use crate::scratch;
use crate::stencil::{apply_stencil, conv_taps, Geometry, Separable, Tap};

/// Convolution `y_o(t) = α Σ_c Σ_v W[v, c, o] x_c(t + v) + β b_o` (a cross-correlation, as in
/// neural-tangents' `Conv`), `v` over the `h×w` window centred at 0.
///
/// Kernel: `A[K](t,t′) = (hw)⁻¹ Σ_v K(t+v, t′+v)` (same offset in both slots), combined per
/// THEORY.md §2 with `fan_in = C·h·w`. Input and output layout [`Layout::Pixels`].
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
            return Err(NtkError::Spec(format!(
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
            return Err(NtkError::reject(format!(
                "needs pixel features, got {}",
                layout.kind()
            )));
        };
        Geometry::new(*h, *w, self.fh, self.fw, self.padding).ok_or_else(|| {
            NtkError::reject(format!(
                "{}×{} filter does not fit a {h}×{w} image with VALID padding",
                self.fh, self.fw
            ))
        })
    }
}

impl Layer for Conv {
    fn name(&self) -> String {
        "conv".into()
    }
    fn homogeneous(&self) -> bool {
        !self.affine.has_bias()
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        super::gaussian_linear(input)
    }
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
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        let g = self.geometry(&k.layout)?;
        let n = g.h_out * g.h_out * g.w_out * g.w_out;
        let scale = 1.0 / (self.fh * self.fw) as f64;
        let (mut ak, mut at) = (scratch::take(n), scratch::take(n));
        apply_stencil(&mut ak, &k.nngp, &self.taps, self.separable, &g, scale);
        apply_stencil(&mut at, &k.ntk, &self.taps, self.separable, &g, scale);
        scratch::recycle(k.nngp);
        scratch::recycle(k.ntk);
        let fan_in = k.channels * self.fh * self.fw;
        for (a, t) in ak.iter_mut().zip(at.iter_mut()) {
            let (x, y) = self.affine.combine(fan_in, *a, *t);
            *a = x;
            *t = y;
        }
        let k = Kernel {
            layout: Layout::Pixels {
                h: g.h_out,
                w: g.w_out,
            },
            nngp: ak,
            ntk: at,
            channels: self.affine.width,
        };
        Ok(Stream::One(subsample_kernel(&g, self.strides, k)))
    }
    fn extra_values(&self, input: &Stream<Signature>) -> usize {
        match input.as_one().map(|s| self.geometry(&s.layout)) {
            Ok(Ok(g)) if self.strides != (1, 1) => g.h_out * g.h_out * g.w_out * g.w_out,
            _ => 0,
        }
    }
    fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        let c = input.as_one()?.channels;
        let (_, wstd, _, bstd) = self.affine.scales(c * self.fh * self.fw);
        let o = self.affine.width;
        let mut values = normals(rng, self.fh * self.fw * c * o, wstd);
        if self.affine.has_bias() {
            values.extend(normals(rng, o, bstd));
        }
        Ok(Params {
            values,
            children: vec![],
        })
    }
    fn apply(&self, params: &Params, x: &Stream<Features>) -> Result<Stream<Features>> {
        let x = x.as_one()?;
        let g = self.geometry(&x.sig.layout)?;
        let (c, o) = (x.sig.channels, self.affine.width);
        let (alpha, _, beta, _) = self.affine.scales(c * self.fh * self.fw);
        let mut y = vec![0.0; g.h_out * g.w_out * o];
        conv_forward(
            &mut y,
            &x.data,
            &params.values[..self.fh * self.fw * c * o],
            &g,
            c,
            o,
            alpha,
        );
        if self.affine.has_bias() {
            let b = &params.values[self.fh * self.fw * c * o..];
            for (i, v) in y.iter_mut().enumerate() {
                *v += beta * b[i % o];
            }
        }
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
    fn vjp(
        &self,
        params: &Params,
        x: &Stream<Features>,
        dy: &Stream<Features>,
        grad: &mut Params,
    ) -> Result<Stream<Features>> {
        let x = x.as_one()?;
        let g = self.geometry(&x.sig.layout)?;
        let dy = &unstride_cotangent(&g, self.strides, dy.as_one()?);
        let (c, o) = (x.sig.channels, self.affine.width);
        let (alpha, _, beta, _) = self.affine.scales(c * self.fh * self.fw);
        let nw = self.fh * self.fw * c * o;
        let mut dx = vec![0.0; x.data.len()];
        conv_backward(
            &dy.data,
            &x.data,
            &params.values[..nw],
            &g,
            c,
            o,
            alpha,
            &mut grad.values[..nw],
            &mut dx,
        );
        if self.affine.has_bias() {
            for (i, v) in dy.data.iter().enumerate() {
                grad.values[nw + i % o] += beta * v;
            }
        }
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dx,
        }))
    }
}

/// `y[t][o] += α Σ_{u,c} filt[u][c][o] · x[t+u][c]` with `x` `(H,W,C)`, `y` `(Ho,Wo,O)` and
/// `filt` `(fh, fw, C, O)` (window of half sizes `g.kh`, `g.kw`).
pub(crate) fn conv_forward(
    y: &mut [f64],
    x: &[f64],
    filt: &[f64],
    g: &Geometry,
    c: usize,
    o: usize,
    alpha: f64,
) {
    let fw = 2 * g.kw + 1;
    for i in 0..g.h_out {
        for j in 0..g.w_out {
            let yo = &mut y[(i * g.w_out + j) * o..][..o];
            for (ur, dr) in (-(g.kh as isize)..=g.kh as isize).enumerate() {
                let Some(si) = g.padding.source(i, dr, g.kh, g.h_in) else {
                    continue;
                };
                for (uc, dc) in (-(g.kw as isize)..=g.kw as isize).enumerate() {
                    let Some(sj) = g.padding.source(j, dc, g.kw, g.w_in) else {
                        continue;
                    };
                    let xin = &x[(si * g.w_in + sj) * c..][..c];
                    let f = &filt[(ur * fw + uc) * c * o..][..c * o];
                    for (cc, xv) in xin.iter().enumerate() {
                        let a = alpha * xv;
                        for (yv, fv) in yo.iter_mut().zip(&f[cc * o..][..o]) {
                            *yv += a * fv;
                        }
                    }
                }
            }
        }
    }
}

/// Reverse of [`conv_forward`]: accumulates `dfilt` and `dx`.
pub(crate) fn conv_backward(
    dy: &[f64],
    x: &[f64],
    filt: &[f64],
    g: &Geometry,
    c: usize,
    o: usize,
    alpha: f64,
    dfilt: &mut [f64],
    dx: &mut [f64],
) {
    let fw = 2 * g.kw + 1;
    for i in 0..g.h_out {
        for j in 0..g.w_out {
            let gy = &dy[(i * g.w_out + j) * o..][..o];
            if gy.iter().all(|v| *v == 0.0) {
                continue;
            }
            for (ur, dr) in (-(g.kh as isize)..=g.kh as isize).enumerate() {
                let Some(si) = g.padding.source(i, dr, g.kh, g.h_in) else {
                    continue;
                };
                for (uc, dc) in (-(g.kw as isize)..=g.kw as isize).enumerate() {
                    let Some(sj) = g.padding.source(j, dc, g.kw, g.w_in) else {
                        continue;
                    };
                    let base = (si * g.w_in + sj) * c;
                    let fbase = (ur * fw + uc) * c * o;
                    for cc in 0..c {
                        let xv = x[base + cc];
                        let mut acc = 0.0;
                        for oo in 0..o {
                            dfilt[fbase + cc * o + oo] += alpha * gy[oo] * xv;
                            acc += gy[oo] * filt[fbase + cc * o + oo];
                        }
                        dx[base + cc] += alpha * acc;
                    }
                }
            }
        }
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
