//! Pooling and flattening (THEORY.md §4).

use rand::RngCore;

use super::{Features, Layer, Params, SigMode, Signature};
use crate::error::{NtkError, Result};
use crate::layout::{Kernel, KernelCtx, Layout, Stream};

fn scalar_kernel(nngp: f64, ntk: f64, channels: usize) -> Kernel {
    Kernel {
        layout: Layout::Scalar,
        nngp: vec![nngp],
        ntk: vec![ntk],
        channels,
    }
}

/// The mean, summed in eight interleaved partial sums (a single running sum is bound by the
/// latency of one addition per value).
fn mean(v: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let chunks = v.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    let sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    (sum + tail) / v.len() as f64
}

/// Per-channel mean over all positions (finite pools), and its reverse.
fn channel_mean(x: &Features) -> Features {
    let c = x.sig.channels;
    let p = x.sig.positions();
    let mut y = vec![0.0; c];
    for q in 0..p {
        for (yy, xx) in y.iter_mut().zip(&x.data[q * c..][..c]) {
            *yy += xx;
        }
    }
    y.iter_mut().for_each(|v| *v /= p as f64);
    Features {
        sig: Signature {
            layout: Layout::Scalar,
            channels: c,
        },
        data: y,
    }
}

fn channel_mean_vjp(x: &Features, dy: &Features) -> Features {
    let c = x.sig.channels;
    let p = x.sig.positions();
    let mut dx = vec![0.0; p * c];
    for q in 0..p {
        for (d, g) in dx[q * c..][..c].iter_mut().zip(&dy.data) {
            *d = g / p as f64;
        }
    }
    Features {
        sig: x.sig.clone(),
        data: dx,
    }
}

/// `flatten`: the kernel becomes the mean over the position diagonal, `P⁻¹ Σ_p K(p,p)`; the finite
/// features become one vector of `P·C` values (so a following dense layer has fan-in `C·P`).
#[derive(Debug, Clone, Default)]
pub struct Flatten;

impl Layer for Flatten {
    fn name(&self) -> String {
        "flatten".into()
    }
    fn homogeneous(&self) -> bool {
        true
    }
    fn gaussian(&self, index: usize, input: Stream<bool>) -> Result<Stream<bool>> {
        super::gaussian_kept(index, &self.name(), input)
    }
    fn signature(
        &self,
        index: usize,
        input: Stream<Signature>,
        _: SigMode,
    ) -> Result<Stream<Signature>> {
        let s = input.one(index, "flatten")?;
        Ok(Stream::One(Signature {
            layout: Layout::Scalar,
            channels: s.feature_len(),
        }))
    }
    fn kernel(
        &self,
        index: usize,
        input: Stream<Kernel>,
        _: &mut KernelCtx<'_>,
    ) -> Result<Stream<Kernel>> {
        let k = input.one(index, "flatten")?;
        let p = Signature {
            layout: k.layout.clone(),
            channels: k.channels,
        }
        .positions();
        let (a, b) = (
            mean(&k.layout.diagonal(&k.nngp)),
            mean(&k.layout.diagonal(&k.ntk)),
        );
        Ok(Stream::One(scalar_kernel(a, b, k.channels * p)))
    }
    fn init(&self, _: usize, _: &Stream<Signature>, _: &mut dyn RngCore) -> Result<Params> {
        Ok(Params::default())
    }
    fn apply(&self, index: usize, _: &Params, x: &Stream<Features>) -> Result<Stream<Features>> {
        let x = x.as_one(index, "flatten")?;
        Ok(Stream::One(Features {
            sig: Signature {
                layout: Layout::Scalar,
                channels: x.data.len(),
            },
            data: x.data.clone(),
        }))
    }
    fn vjp(
        &self,
        index: usize,
        _: &Params,
        x: &Stream<Features>,
        dy: &Stream<Features>,
        _: &mut Params,
    ) -> Result<Stream<Features>> {
        let x = x.as_one(index, "flatten")?;
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dy.as_one(index, "flatten")?.data.clone(),
        }))
    }
}

/// `global_avg_pool` (neural-tangents `GlobalAvgPool`): mean over space. Kernel: mean over all
/// position pairs `(p, p′)`. Pixel features only (use `group_pool` on group features).
#[derive(Debug, Clone, Default)]
pub struct GlobalAvgPool;

impl Layer for GlobalAvgPool {
    fn name(&self) -> String {
        "global_avg_pool".into()
    }
    fn homogeneous(&self) -> bool {
        true
    }
    fn gaussian(&self, index: usize, input: Stream<bool>) -> Result<Stream<bool>> {
        super::gaussian_kept(index, &self.name(), input)
    }
    fn signature(
        &self,
        index: usize,
        input: Stream<Signature>,
        _: SigMode,
    ) -> Result<Stream<Signature>> {
        let s = input.one(index, "global_avg_pool")?;
        if !matches!(s.layout, Layout::Pixels { .. }) {
            return Err(NtkError::layer(
                index,
                "global_avg_pool",
                format!(
                    "needs pixel features, got {} (use group_pool for group features)",
                    s.layout.kind()
                ),
            ));
        }
        Ok(Stream::One(Signature {
            layout: Layout::Scalar,
            channels: s.channels,
        }))
    }
    fn kernel(
        &self,
        index: usize,
        input: Stream<Kernel>,
        _: &mut KernelCtx<'_>,
    ) -> Result<Stream<Kernel>> {
        let k = input.one(index, "global_avg_pool")?;
        if !matches!(k.layout, Layout::Pixels { .. }) {
            return Err(NtkError::layer(
                index,
                "global_avg_pool",
                format!("needs pixel features, got {}", k.layout.kind()),
            ));
        }
        Ok(Stream::One(scalar_kernel(
            mean(&k.nngp),
            mean(&k.ntk),
            k.channels,
        )))
    }
    fn init(&self, _: usize, _: &Stream<Signature>, _: &mut dyn RngCore) -> Result<Params> {
        Ok(Params::default())
    }
    fn apply(&self, index: usize, _: &Params, x: &Stream<Features>) -> Result<Stream<Features>> {
        Ok(Stream::One(channel_mean(
            x.as_one(index, "global_avg_pool")?,
        )))
    }
    fn vjp(
        &self,
        index: usize,
        _: &Params,
        x: &Stream<Features>,
        dy: &Stream<Features>,
        _: &mut Params,
    ) -> Result<Stream<Features>> {
        Ok(Stream::One(channel_mean_vjp(
            x.as_one(index, "global_avg_pool")?,
            dy.as_one(index, "global_avg_pool")?,
        )))
    }
}

/// `group_pool`: mean over the group and space, `K_pool = |G|⁻² ∫∫ K(g, g′)` (THEORY.md §4);
/// invariant. Group features only.
#[derive(Debug, Clone, Default)]
pub struct GroupPool;

impl GroupPool {
    fn check(index: usize, layout: &Layout) -> Result<()> {
        match layout {
            Layout::Group { .. } | Layout::GroupRelative { .. } => Ok(()),
            other => Err(NtkError::layer(
                index,
                "group_pool",
                format!(
                    "needs group features but got {} features; put a lift_conv before group_pool",
                    other.kind()
                ),
            )),
        }
    }
}

impl Layer for GroupPool {
    fn name(&self) -> String {
        "group_pool".into()
    }
    fn homogeneous(&self) -> bool {
        true
    }
    fn gaussian(&self, index: usize, input: Stream<bool>) -> Result<Stream<bool>> {
        super::gaussian_kept(index, &self.name(), input)
    }
    fn signature(
        &self,
        index: usize,
        input: Stream<Signature>,
        _: SigMode,
    ) -> Result<Stream<Signature>> {
        let s = input.one(index, "group_pool")?;
        Self::check(index, &s.layout)?;
        Ok(Stream::One(Signature {
            layout: Layout::Scalar,
            channels: s.channels,
        }))
    }
    fn kernel(
        &self,
        index: usize,
        input: Stream<Kernel>,
        _: &mut KernelCtx<'_>,
    ) -> Result<Stream<Kernel>> {
        let k = input.one(index, "group_pool")?;
        Self::check(index, &k.layout)?;
        // Relative layout: each R[c] stands for |G| equal slice pairs, so the plain mean is exact.
        let pooled = scalar_kernel(mean(&k.nngp), mean(&k.ntk), k.channels);
        crate::scratch::recycle(k.nngp);
        crate::scratch::recycle(k.ntk);
        Ok(Stream::One(pooled))
    }
    fn init(&self, _: usize, _: &Stream<Signature>, _: &mut dyn RngCore) -> Result<Params> {
        Ok(Params::default())
    }
    fn apply(&self, index: usize, _: &Params, x: &Stream<Features>) -> Result<Stream<Features>> {
        let x = x.as_one(index, "group_pool")?;
        Self::check(index, &x.sig.layout)?;
        Ok(Stream::One(channel_mean(x)))
    }
    fn vjp(
        &self,
        index: usize,
        _: &Params,
        x: &Stream<Features>,
        dy: &Stream<Features>,
        _: &mut Params,
    ) -> Result<Stream<Features>> {
        Ok(Stream::One(channel_mean_vjp(
            x.as_one(index, "group_pool")?,
            dy.as_one(index, "group_pool")?,
        )))
    }
}

/// `avg_pool`: mean over a `k×k` window with stride `s` (VALID; neural-tangents' `AvgPool`
/// defaults to stride 1). Output side `(N − k)/s + 1`. Kernel:
/// `K_out(t,t′) = k⁻⁴ Σ_{v,v′} K(s·t + v, s·t′ + v′)`. Pixel features only.
#[derive(Debug, Clone)]
pub struct AvgPool {
    /// Window side.
    pub window: usize,
    /// Stride.
    pub stride: usize,
}

impl AvgPool {
    fn out(&self, index: usize, layout: &Layout) -> Result<(usize, usize, usize, usize)> {
        let Layout::Pixels { h, w } = layout else {
            return Err(NtkError::layer(
                index,
                "avg_pool",
                format!("needs pixel features, got {}", layout.kind()),
            ));
        };
        if self.window == 0 || self.stride == 0 || self.window > *h || self.window > *w {
            return Err(NtkError::layer(
                index,
                "avg_pool",
                format!(
                    "window {} / stride {} do not fit {h}×{w}",
                    self.window, self.stride
                ),
            ));
        }
        Ok((
            *h,
            *w,
            (h - self.window) / self.stride + 1,
            (w - self.window) / self.stride + 1,
        ))
    }
}

impl Layer for AvgPool {
    fn name(&self) -> String {
        "avg_pool".into()
    }
    fn homogeneous(&self) -> bool {
        true
    }
    fn gaussian(&self, index: usize, input: Stream<bool>) -> Result<Stream<bool>> {
        super::gaussian_kept(index, &self.name(), input)
    }
    fn describe(&self) -> String {
        format!("avg_pool(window={}, stride={})", self.window, self.stride)
    }
    fn signature(
        &self,
        index: usize,
        input: Stream<Signature>,
        _: SigMode,
    ) -> Result<Stream<Signature>> {
        let s = input.one(index, "avg_pool")?;
        let (_, _, ho, wo) = self.out(index, &s.layout)?;
        Ok(Stream::One(Signature {
            layout: Layout::Pixels { h: ho, w: wo },
            channels: s.channels,
        }))
    }
    fn kernel(
        &self,
        index: usize,
        input: Stream<Kernel>,
        _: &mut KernelCtx<'_>,
    ) -> Result<Stream<Kernel>> {
        let k = input.one(index, "avg_pool")?;
        let (h, w, ho, wo) = self.out(index, &k.layout)?;
        let (kw, s) = (self.window, self.stride);
        let norm = 1.0 / (kw * kw * kw * kw) as f64;
        let pool = |src: &[f64]| {
            let mut out = vec![0.0; ho * ho * wo * wo];
            for i1 in 0..ho {
                for i2 in 0..ho {
                    for j1 in 0..wo {
                        for j2 in 0..wo {
                            let mut acc = 0.0;
                            for a1 in 0..kw {
                                for a2 in 0..kw {
                                    let base = ((s * i1 + a1) * h + s * i2 + a2) * w * w;
                                    for b1 in 0..kw {
                                        let row = &src[base + (s * j1 + b1) * w..][..w];
                                        acc += row[s * j2..s * j2 + kw].iter().sum::<f64>();
                                    }
                                }
                            }
                            out[((i1 * ho + i2) * wo + j1) * wo + j2] = norm * acc;
                        }
                    }
                }
            }
            out
        };
        let (nngp, ntk) = (pool(&k.nngp), pool(&k.ntk));
        Ok(Stream::One(Kernel {
            layout: Layout::Pixels { h: ho, w: wo },
            nngp,
            ntk,
            channels: k.channels,
        }))
    }
    fn init(&self, _: usize, _: &Stream<Signature>, _: &mut dyn RngCore) -> Result<Params> {
        Ok(Params::default())
    }
    fn apply(&self, index: usize, _: &Params, x: &Stream<Features>) -> Result<Stream<Features>> {
        let x = x.as_one(index, "avg_pool")?;
        let (_, w, ho, wo) = self.out(index, &x.sig.layout)?;
        let c = x.sig.channels;
        let mut y = vec![0.0; ho * wo * c];
        let norm = 1.0 / (self.window * self.window) as f64;
        for i in 0..ho {
            for j in 0..wo {
                for a in 0..self.window {
                    for b in 0..self.window {
                        let src = ((self.stride * i + a) * w + self.stride * j + b) * c;
                        for cc in 0..c {
                            y[(i * wo + j) * c + cc] += norm * x.data[src + cc];
                        }
                    }
                }
            }
        }
        Ok(Stream::One(Features {
            sig: Signature {
                layout: Layout::Pixels { h: ho, w: wo },
                channels: c,
            },
            data: y,
        }))
    }
    fn vjp(
        &self,
        index: usize,
        _: &Params,
        x: &Stream<Features>,
        dy: &Stream<Features>,
        _: &mut Params,
    ) -> Result<Stream<Features>> {
        let x = x.as_one(index, "avg_pool")?;
        let dy = dy.as_one(index, "avg_pool")?;
        let (_, w, ho, wo) = self.out(index, &x.sig.layout)?;
        let c = x.sig.channels;
        let mut dx = vec![0.0; x.data.len()];
        let norm = 1.0 / (self.window * self.window) as f64;
        for i in 0..ho {
            for j in 0..wo {
                for a in 0..self.window {
                    for b in 0..self.window {
                        let src = ((self.stride * i + a) * w + self.stride * j + b) * c;
                        for cc in 0..c {
                            dx[src + cc] += norm * dy.data[(i * wo + j) * c + cc];
                        }
                    }
                }
            }
        }
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dx,
        }))
    }
}
