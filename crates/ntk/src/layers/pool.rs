//! Pooling and flattening (docs/theory.md#pools-reshapes-normalisation).

use super::spatial::{planar, SpatialMap};
use super::FixedMap;
use super::{Features, Layer, Params, SigMode, Signature};
use crate::error::{NtkError, Rejection, Result};
use crate::layout::{Kernel, KernelCtx, Layout, Stream};
use crate::param::Padding;
use crate::stencil::{AxisMap, WindowWeight};

pub(super) fn scalar_kernel(nngp: f64, ntk: f64, channels: usize) -> Kernel {
    Kernel {
        layout: Layout::Scalar,
        nngp: vec![nngp],
        ntk: vec![ntk],
        channels,
    }
}

/// The scalar kernel of the means of `k`'s NNGP and NTK arrays (its buffers are recycled).
pub(super) fn mean_kernel(k: Kernel) -> Kernel {
    let pooled = scalar_kernel(mean(&k.nngp), mean(&k.ntk), k.channels);
    crate::scratch::recycle(k.nngp);
    crate::scratch::recycle(k.ntk);
    pooled
}

/// The mean, summed in eight interleaved partial sums (a single running sum is bound by the
/// latency of one addition per value).
fn mean(v: &[f64]) -> f64 {
    let mut m = MeanSum::new(v.len());
    m.add(v);
    m.mean()
}

/// The mean of `len` values that arrive in pieces, in order: bitwise the [`mean`] of all of
/// them (value `i` goes to partial sum `i mod 8`, the last `len mod 8` values to the tail), so
/// a fused pass can pool its output block by block without keeping it
/// ([`super::fused::Output`]).
#[derive(Debug, Clone)]
pub(super) struct MeanSum {
    acc: [f64; 8],
    tail: [f64; 8],
    seen: usize,
    len: usize,
}

impl MeanSum {
    /// The sum of `len` values, none seen yet.
    pub(super) fn new(len: usize) -> Self {
        MeanSum {
            acc: [0.0; 8],
            tail: [0.0; 8],
            seen: 0,
            len,
        }
    }
    /// Adds the next `v.len()` values (at most the `len` of [`MeanSum::new`] in all).
    #[inline]
    pub(super) fn add(&mut self, mut v: &[f64]) {
        let full = self.len - self.len % 8;
        // Up to the next multiple of 8, then whole chunks, then what is left.
        while let Some((x, rest)) = v.split_first() {
            if self.seen.is_multiple_of(8) || self.seen >= full {
                break;
            }
            self.acc[self.seen % 8] += x;
            self.seen += 1;
            v = rest;
        }
        let n = full.saturating_sub(self.seen).min(v.len()) / 8 * 8;
        for c in v[..n].chunks_exact(8) {
            for (a, x) in self.acc.iter_mut().zip(c) {
                *a += x;
            }
        }
        self.seen += n;
        for x in &v[n..] {
            if self.seen < full {
                self.acc[self.seen % 8] += x;
            } else {
                self.tail[self.seen - full] = *x;
            }
            self.seen += 1;
        }
    }
    /// The mean of the values added.
    pub(super) fn mean(&self) -> f64 {
        debug_assert_eq!(self.seen, self.len, "MeanSum: values missing");
        let tail: f64 = self.tail[..self.len % 8].iter().sum();
        let a = &self.acc;
        let sum = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
        (sum + tail) / self.len as f64
    }
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
    super::pool_basics!("flatten");
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let s = input.one()?;
        super::scalar_signature(s.feature_len())
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
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
}

impl FixedMap for Flatten {
    fn forward(&self, x: &Features) -> Result<Features> {
        Ok(Features {
            sig: Signature {
                layout: Layout::Scalar,
                channels: x.data.len(),
            },
            data: x.data.clone(),
        })
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        Ok(Features {
            sig: x.sig.clone(),
            data: dy.data.clone(),
        })
    }
}

/// `global_avg_pool` (neural-tangents `GlobalAvgPool`): mean over space. Kernel: mean over all
/// position pairs `(p, p′)`. Pixel features only (use `group_pool` on group features).
#[derive(Debug, Clone, Default)]
pub struct GlobalAvgPool;

impl Layer for GlobalAvgPool {
    super::pool_basics!("global_avg_pool", pixels_only);
    fn pools_by_mean(&self, layout: &Layout) -> bool {
        pixels_only(layout).is_ok()
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        pixels_only(&k.layout)?;
        Ok(Stream::One(scalar_kernel(
            mean(&k.nngp),
            mean(&k.ntk),
            k.channels,
        )))
    }
}

impl FixedMap for GlobalAvgPool {
    fn forward(&self, x: &Features) -> Result<Features> {
        Ok(channel_mean(x))
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        Ok(channel_mean_vjp(x, dy))
    }
}

/// `group_pool`: mean over the group and space, `K_pool = |G|⁻² ∫∫ K(g, g′)` (docs/theory.md#pools-reshapes-normalisation);
/// invariant. Group features only.
#[derive(Debug, Clone, Default)]
pub struct GroupPool;

impl GroupPool {
    fn check(layout: &Layout) -> Result<()> {
        match layout {
            Layout::Group { .. } | Layout::GroupRelative { .. } => Ok(()),
            other => Err(NtkError::reject_as(
                Rejection::Layout,
                format!(
                    "needs group features but got {} features; put a lift_conv before group_pool",
                    other.kind()
                ),
            )),
        }
    }
}

impl Layer for GroupPool {
    super::pool_basics!("group_pool", Self::check);
    fn pools_by_mean(&self, layout: &Layout) -> bool {
        Self::check(layout).is_ok()
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        Self::check(&k.layout)?;
        // Relative layout: each R[c] stands for |G| equal slice pairs, so the plain mean is exact.
        let pooled = scalar_kernel(mean(&k.nngp), mean(&k.ntk), k.channels);
        crate::scratch::recycle(k.nngp);
        crate::scratch::recycle(k.ntk);
        Ok(Stream::One(pooled))
    }
}

impl FixedMap for GroupPool {
    fn forward(&self, x: &Features) -> Result<Features> {
        Self::check(&x.sig.layout)?;
        Ok(channel_mean(x))
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        Ok(channel_mean_vjp(x, dy))
    }
}

/// `global_sum_pool` (neural-tangents `GlobalSumPool`): sum over space, so the kernel is the
/// sum over all position pairs, `(H·W)²` times [`GlobalAvgPool`]'s. Pixel features only.
#[derive(Debug, Clone, Default)]
pub struct GlobalSumPool;

impl Layer for GlobalSumPool {
    super::pool_basics!("global_sum_pool");
    fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>> {
        GlobalAvgPool.signature(input, mode)
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        pixels_only(&k.layout)?;
        let n = k.nngp.len() as f64;
        Ok(Stream::One(scalar_kernel(
            mean(&k.nngp) * n,
            mean(&k.ntk) * n,
            k.channels,
        )))
    }
}

impl FixedMap for GlobalSumPool {
    fn forward(&self, x: &Features) -> Result<Features> {
        pixels_only(&x.sig.layout)?;
        let mut y = channel_mean(x);
        let p = x.sig.positions() as f64;
        y.data.iter_mut().for_each(|v| *v *= p);
        Ok(y)
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        let mut dx = channel_mean_vjp(x, dy);
        let p = x.sig.positions() as f64;
        dx.data.iter_mut().for_each(|v| *v *= p);
        Ok(dx)
    }
}

fn pixels_only(layout: &Layout) -> Result<()> {
    if matches!(layout, Layout::Pixels { .. }) {
        Ok(())
    } else {
        Err(NtkError::reject_as(
            Rejection::Layout,
            format!(
                "needs pixel features, got {} (use group_pool for group features)",
                layout.kind()
            ),
        ))
    }
}

/// Sum or mean over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// `avg_pool`: the mean over the window.
    Avg,
    /// `sum_pool`: the sum over the window.
    Sum,
}

/// `avg_pool` and `sum_pool` (neural-tangents `AvgPool` / `SumPool`): an `h×w` window moved by
/// `strides` under `padding`, with lax's output sizes (VALID `⌊(n − k)/s⌋ + 1`, SAME and
/// CIRCULAR `⌈n/s⌉` with the SAME padding of [`crate::stencil::same_padding`]; CIRCULAR wraps
/// around instead of reading zeros).
///
/// `avg_pool` divides by the window size, padding included (neural-tangents' default
/// `normalize_edges = false`), or by the number of entries inside the image with
/// `normalize_edges`; `sum_pool` = window size × `avg_pool` (kernels: squared). The layer is
/// the linear map `P ⊗ Q` of [`SpatialMap`]; kernel `K_out = (P⊗P⊗Q⊗Q) K_in`.
///
/// On group features it acts on the spatial axes of every slice alike, so the output is again a
/// group feature. Rotation/reflection equivariance is kept exactly when the map commutes with
/// reversing each axis and is the same on both axes: square windows and strides, and, per axis
/// of length `n`, VALID with `(n − k) mod s = 0`, or SAME/CIRCULAR with symmetric padding
/// (`lo = hi`, e.g. 9 → 5 at `k = 3, s = 2`; 8 → 4 pads `(0, 1)` and breaks it). Stride 1 with
/// VALID, or an odd window with SAME/CIRCULAR, always keeps it. Translations by multiples of
/// the stride are kept; others are not.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPool {
    /// Sum or mean.
    pub kind: PoolKind,
    /// Window `(h, w)`.
    pub window: (usize, usize),
    /// Strides `(sh, sw)`.
    pub strides: (usize, usize),
    /// Padding.
    pub padding: Padding,
    /// `avg_pool` only: divide by the entries inside the image instead of the window size.
    pub normalize_edges: bool,
}

impl WindowPool {
    /// A pool; errors for zero windows or strides.
    pub fn new(
        kind: PoolKind,
        window: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
        normalize_edges: bool,
    ) -> Result<Self> {
        let name = match kind {
            PoolKind::Avg => "avg_pool",
            PoolKind::Sum => "sum_pool",
        };
        if window.0 == 0 || window.1 == 0 || strides.0 == 0 || strides.1 == 0 {
            return Err(NtkError::spec(format!(
                "{name}: window {}×{} and strides {}×{} must be ≥ 1",
                window.0, window.1, strides.0, strides.1
            )));
        }
        if normalize_edges && kind == PoolKind::Sum {
            return Err(NtkError::spec(
                "sum_pool: normalize_edges exists only for avg_pool",
            ));
        }
        Ok(WindowPool {
            kind,
            window,
            strides,
            padding,
            normalize_edges,
        })
    }
    /// The spatial map on an `h×w` input, or an error naming the layer.
    pub fn map(&self, h: usize, w: usize) -> Result<SpatialMap> {
        let weight = match (self.kind, self.normalize_edges) {
            (PoolKind::Sum, _) => WindowWeight::Sum,
            (PoolKind::Avg, false) => WindowWeight::Mean,
            (PoolKind::Avg, true) => WindowWeight::MeanInside,
        };
        let rows = AxisMap::window(h, self.window.0, self.strides.0, self.padding, weight);
        let cols = AxisMap::window(w, self.window.1, self.strides.1, self.padding, weight);
        match (rows, cols) {
            (Some(rows), Some(cols)) => Ok(SpatialMap { rows, cols }),
            _ => Err(NtkError::reject_as(
                Rejection::Shape,
                format!(
                    "window {}×{} does not fit {h}×{w} features with VALID padding",
                    self.window.0, self.window.1
                ),
            )),
        }
    }
    fn input_map(&self, layout: &Layout) -> Result<SpatialMap> {
        let (h, w) = planar(layout)?;
        self.map(h, w)
    }
}

impl Layer for WindowPool {
    fn name(&self) -> String {
        match self.kind {
            PoolKind::Avg => "avg_pool".into(),
            PoolKind::Sum => "sum_pool".into(),
        }
    }
    fn homogeneous(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        format!(
            "{}(window={}×{}, strides={}×{}, {}{})",
            self.name(),
            self.window.0,
            self.window.1,
            self.strides.0,
            self.strides.1,
            self.padding.name(),
            if self.normalize_edges {
                ", normalize_edges"
            } else {
                ""
            }
        )
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let s = input.one()?;
        let (ho, wo) = self.input_map(&s.layout)?.out_size();
        Ok(Stream::One(Signature {
            layout: super::spatial::resized(&s.layout, ho, wo),
            channels: s.channels,
        }))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        let out = self.input_map(&k.layout)?.kernel(&k);
        crate::scratch::recycle(k.nngp);
        crate::scratch::recycle(k.ntk);
        Ok(Stream::One(out))
    }
    super::fixed_map_passes!();
}

impl FixedMap for WindowPool {
    fn forward(&self, x: &Features) -> Result<Features> {
        Ok(self.input_map(&x.sig.layout)?.features(x))
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        let map = self.input_map(&x.sig.layout)?;
        Ok(map.features_transpose(&x.sig, dy))
    }
}

#[cfg(test)]
mod tests {
    use super::MeanSum;
    use proptest::prelude::*;

    /// The mean summed independently: eight partial sums over whole chunks, then the tail.
    fn reference_mean(v: &[f64]) -> f64 {
        let full = v.len() - v.len() % 8;
        let mut acc = [0.0; 8];
        for (i, x) in v[..full].iter().enumerate() {
            acc[i % 8] += x;
        }
        let tail: f64 = v[full..].iter().sum();
        let sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        (sum + tail) / v.len() as f64
    }

    proptest! {
        #[test]
        fn running_sums_in_any_pieces_are_bitwise_the_mean(
            v in proptest::collection::vec(-1e3f64..1e3, 1..300),
            cuts in proptest::collection::vec(0usize..300, 0..12),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (v.len() + 1)).collect();
            cuts.push(0);
            cuts.push(v.len());
            cuts.sort_unstable();
            let mut m = MeanSum::new(v.len());
            for w in cuts.windows(2) {
                m.add(&v[w[0]..w[1]]);
            }
            prop_assert_eq!(m.mean().to_bits(), reference_mean(&v).to_bits());
            prop_assert_eq!(super::mean(&v).to_bits(), reference_mean(&v).to_bits());
        }
    }
}
