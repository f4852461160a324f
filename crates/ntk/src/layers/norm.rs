//! `layer_norm` and `dropout` (neural-tangents `LayerNorm` and `Dropout`).

use rand::RngCore;

use super::FixedMap;
use super::{Feats, Features, Layer, Params, SigMode, Signature};
use crate::error::{NtkError, Rejection, Result};
use crate::layout::{DiagMode, Kernel, KernelCtx, Layout, Stream};

/// `layer_norm` (neural-tangents `LayerNorm(axis, eps)`): finite layer
/// `y = (x − mean) / √(var + ε)` over `axis` of the NHWC feature array (`N, H, W, C` for images
/// and group features, `N, C` for vectors; negative axes count from the end, as in numpy).
/// The channel axis must be among them (neural-tangents' condition for a limit kernel), the
/// batch axis must not. On group features `(N, G, H, W, C)` the axes keep their NHWC meaning
/// and every slice is normalised on its own.
///
/// Kernel (as neural-tangents): with `v(x, p) = ε + mean_{axis} K(x, x)(p, p)` (the mean over
/// the normalised spatial axes of the self-kernel diagonal; the channel mean gives `K(p, p)`
/// itself), `K_out(p, p′) = K(p, p′) / √(v(x, p) v(x′, p′))` and the same for `Θ`. The channel
/// mean that the finite layer subtracts vanishes at infinite width. Needs a Gaussian input
/// (refused otherwise, as neural-tangents does) and its output is treated as Gaussian, as
/// neural-tangents does.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// Axes as given (NHWC, negative from the end).
    pub axis: Vec<i64>,
    /// `ε`.
    pub eps: f64,
}

/// Which axes a [`LayerNorm`] averages over, resolved for one layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resolved {
    rows: bool,
    cols: bool,
}

impl LayerNorm {
    /// A layer norm; errors for a negative or non-finite `eps`, or an empty axis list.
    pub fn new(axis: Vec<i64>, eps: f64) -> Result<Self> {
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(NtkError::spec(format!(
                "layer_norm: eps must be a finite number ≥ 0, got {eps}"
            )));
        }
        if axis.is_empty() {
            return Err(NtkError::spec(
                "layer_norm: axis must name at least the channel axis (-1)",
            ));
        }
        Ok(LayerNorm { axis, eps })
    }
    fn resolve(&self, layout: &Layout) -> Result<Resolved> {
        let ndim: i64 = match layout {
            Layout::Scalar => 2,
            Layout::Pixels { .. } | Layout::Group { .. } | Layout::GroupRelative { .. } => 4,
            other => {
                return Err(NtkError::reject_as(
                    Rejection::Layout,
                    format!(
                        "needs vector, pixel or group features, got {}",
                        other.kind()
                    ),
                ))
            }
        };
        let mut axes = Vec::new();
        for &a in &self.axis {
            let r = if a < 0 { a + ndim } else { a };
            if !(0..ndim).contains(&r) {
                return Err(NtkError::reject(format!(
                    "axis {a} is out of range for {ndim}-d features (N…C)"
                )));
            }
            axes.push(r);
        }
        if axes.contains(&0) {
            return Err(NtkError::reject("normalising over the batch axis 0 has no per-sample kernel; use channel and spatial axes",
            ));
        }
        if !axes.contains(&(ndim - 1)) {
            return Err(NtkError::reject(format!(
                "axis {:?} must contain the channel axis ({} or -1): without it there is no \
                     infinite-width limit kernel",
                self.axis,
                ndim - 1
            )));
        }
        Ok(Resolved {
            rows: ndim == 4 && axes.contains(&1),
            cols: ndim == 4 && axes.contains(&2),
        })
    }
}

/// `1/√(ε + mean)` of a self-kernel diagonal over the normalised axes (`slices × h × w`).
fn inv_scales(d: &[f64], slices: usize, h: usize, w: usize, r: Resolved, eps: f64) -> Vec<f64> {
    let mut out = vec![0.0; d.len()];
    for s in 0..slices {
        let blk = &d[s * h * w..][..h * w];
        for i in 0..h {
            for j in 0..w {
                let (ri, rj) = (
                    if r.rows { 0..h } else { i..i + 1 },
                    if r.cols { 0..w } else { j..j + 1 },
                );
                let n = (ri.len() * rj.len()) as f64;
                let m: f64 = ri
                    .flat_map(|a| rj.clone().map(move |b| blk[a * w + b]))
                    .sum::<f64>()
                    / n;
                out[s * h * w + i * w + j] = 1.0 / (eps + m).sqrt();
            }
        }
    }
    out
}

/// `(slices, h, w)` of a layout's position diagonal.
fn diag_shape(layout: &Layout) -> (usize, usize, usize) {
    match layout {
        Layout::Pixels { h, w } | Layout::GroupRelative { h, w, .. } => (1, *h, *w),
        Layout::Group { group, h, w } => (group.order, *h, *w),
        _ => (1, 1, 1),
    }
}

/// The groups of feature indices that are normalised together.
fn groups(sig: &Signature, r: Resolved) -> Vec<Vec<usize>> {
    let c = sig.channels;
    let (slices, h, w) = diag_shape(&sig.layout);
    let mut out = Vec::new();
    for s in 0..slices {
        for i in 0..if r.rows { 1 } else { h } {
            for j in 0..if r.cols { 1 } else { w } {
                let rows: Vec<usize> = if r.rows { (0..h).collect() } else { vec![i] };
                let cols: Vec<usize> = if r.cols { (0..w).collect() } else { vec![j] };
                let mut g = Vec::with_capacity(rows.len() * cols.len() * c);
                for &a in &rows {
                    for &b in &cols {
                        let base = ((s * h + a) * w + b) * c;
                        g.extend(base..base + c);
                    }
                }
                out.push(g);
            }
        }
    }
    out
}

impl Layer for LayerNorm {
    fn name(&self) -> String {
        "layer_norm".into()
    }
    fn describe(&self) -> String {
        format!("layer_norm(axis={:?}, eps={})", self.axis, self.eps)
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        if !input.one()? {
            return Err(NtkError::reject_as(
                Rejection::NotGaussian,
                "its input is not Gaussian (the network input, or a nonlinearity's output); \
                 neural-tangents' layer-norm kernel needs Gaussian inputs: put a linear layer \
                 before it",
            ));
        }
        Ok(Stream::One(true))
    }
    fn records_diagonal(&self) -> bool {
        true
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let s = input.one()?;
        self.resolve(&s.layout)?;
        Ok(Stream::One(s))
    }
    fn kernel(&self, input: Stream<Kernel>, ctx: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let mut k = input.one()?;
        let r = self.resolve(&k.layout)?;
        let (slices, h, w) = diag_shape(&k.layout);
        let (n1, n2) = {
            let (d1, d2) = ctx.diagonals(&k);
            (
                inv_scales(&d1, slices, h, w, r, self.eps),
                inv_scales(&d2, slices, h, w, r, self.eps),
            )
        };
        let layout = k.layout.clone();
        layout.for_each_row(|row| {
            let a = n1[row.d1];
            let b = &n2[row.d2..row.d2 + row.len];
            for (t, bv) in b.iter().enumerate() {
                k.nngp[row.offset + t] *= a * bv;
                k.ntk[row.offset + t] *= a * bv;
            }
        });
        Ok(Stream::One(k))
    }
    super::fixed_map_passes!();
}

impl FixedMap for LayerNorm {
    fn forward(&self, x: &Features) -> Result<Features> {
        let r = self.resolve(&x.sig.layout)?;
        let mut y = x.clone();
        for g in groups(&x.sig, r) {
            let (mu, sigma) = moments(&x.data, &g, self.eps);
            for &i in &g {
                y.data[i] = (x.data[i] - mu) / sigma;
            }
        }
        Ok(y)
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        let r = self.resolve(&x.sig.layout)?;
        let mut dx = Features::zeros(x.sig.clone());
        for g in groups(&x.sig, r) {
            let (mu, sigma) = moments(&x.data, &g, self.eps);
            let n = g.len() as f64;
            let (mut m_dy, mut m_dyy) = (0.0, 0.0);
            for &i in &g {
                let y = (x.data[i] - mu) / sigma;
                m_dy += dy.data[i] / n;
                m_dyy += dy.data[i] * y / n;
            }
            for &i in &g {
                let y = (x.data[i] - mu) / sigma;
                dx.data[i] = (dy.data[i] - m_dy - y * m_dyy) / sigma;
            }
        }
        Ok(dx)
    }
}

/// Mean and `√(population variance + ε)` of `x` over the indices `g`.
fn moments(x: &[f64], g: &[usize], eps: f64) -> (f64, f64) {
    let n = g.len() as f64;
    let mu = g.iter().map(|&i| x[i]).sum::<f64>() / n;
    let var = g.iter().map(|&i| (x[i] - mu).powi(2)).sum::<f64>() / n;
    (mu, (var + eps).sqrt())
}

/// `dropout` (neural-tangents `Dropout(rate, mode)`). **`rate` is the probability of
/// *keeping* an entry** (neural-tangents' and `jax.example_libraries.stax`'s convention; the
/// opposite of PyTorch and Keras): in `train` mode the finite layer computes
/// `y = m·x / rate` with `m ~ Bernoulli(rate)` per entry; `rate = 1` keeps everything.
/// `test` mode is the identity.
///
/// Kernel in `train` mode (as neural-tangents): the same-sample, same-position entries
/// `K(x, x)(p, p)` and `Θ(x, x)(p, p)` of a sample's self kernel are multiplied by `1/rate`
/// (`E[m²]/rate² = 1/rate`); entries between different samples, or different positions, are
/// unchanged (independent masks). "Same sample" means the engine's self pass: the diagonal of a
/// symmetric Gram (`x2` absent), as neural-tangents' `x1_is_x2`; a Gram against a separate
/// `x2` is unscaled even where the two inputs coincide. The finite twin identifies samples by
/// their input values: its mask is a hash of the layer's seed (drawn by `init`, stored as the
/// layer's one parameter, whose gradient is always 0), of the input values and of the entry
/// index. The output of `train` dropout is not Gaussian (a Bernoulli–Gaussian mixture per
/// entry; neural-tangents marks it so), so a nonlinearity right after it is refused; a linear
/// layer restores Gaussianity. Dropout cannot be the first layer: the input has finitely many
/// channels, so the mask does not average out (neural-tangents refuses it too).
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout {
    /// Keep probability, in `(0, 1]`.
    pub rate: f64,
    /// `train` (true) or `test` (false).
    pub train: bool,
}

impl Dropout {
    /// A dropout layer; errors unless `0 < rate ≤ 1`.
    pub fn new(rate: f64, train: bool) -> Result<Self> {
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(NtkError::spec(format!(
                "dropout: rate is the keep probability and must lie in (0, 1], got {rate}"
            )));
        }
        Ok(Dropout { rate, train })
    }
    fn active(&self) -> bool {
        self.train && self.rate < 1.0
    }
    /// The finite mask of one sample's input `x`: `1/rate` where kept, 0 elsewhere.
    fn mask(&self, seed: f64, x: &Features) -> Vec<f64> {
        let mut h = splitmix(seed.to_bits() ^ 0x6472_6f70_6f75_7421);
        for v in &x.data {
            h = splitmix(h ^ v.to_bits());
        }
        (0..x.data.len())
            .map(|i| {
                let u = (splitmix(h ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 11) as f64
                    / (1u64 << 53) as f64;
                if u < self.rate {
                    1.0 / self.rate
                } else {
                    0.0
                }
            })
            .collect()
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Layer for Dropout {
    fn name(&self) -> String {
        "dropout".into()
    }
    fn describe(&self) -> String {
        format!(
            "dropout(keep rate={}, {})",
            self.rate,
            if self.train { "train" } else { "test" }
        )
    }
    fn homogeneous(&self) -> bool {
        true
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        let g = input.one()?;
        Ok(Stream::One(g && !self.active()))
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        Ok(Stream::One(input.one()?))
    }
    fn kernel(&self, input: Stream<Kernel>, ctx: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let mut k = input.one()?;
        if self.active() && matches!(ctx.diag, DiagMode::Record(_)) {
            let f = 1.0 / self.rate;
            for i in k.layout.same_position_entries() {
                k.nngp[i] *= f;
                k.ntk[i] *= f;
            }
        }
        Ok(Stream::One(k))
    }
    fn init(&self, _: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        Ok(Params {
            values: vec![f64::from(rng.next_u32())],
            children: vec![],
        })
    }
    fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
        let x = x.as_one()?;
        let mut y = x.clone();
        if self.active() {
            super::check_len("parameters", params.values.len(), 1)?;
            let m = self.mask(params.values[0], x);
            y.data.iter_mut().zip(&m).for_each(|(v, m)| *v *= m);
        }
        Ok(Stream::One(y))
    }
    fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, _: &mut Params) -> Result<Feats> {
        let x = x.as_one()?;
        let mut dx = dy.as_one()?.clone();
        if self.active() {
            super::check_len("parameters", params.values.len(), 1)?;
            let m = self.mask(params.values[0], x);
            dx.data.iter_mut().zip(&m).for_each(|(v, m)| *v *= m);
        }
        dx.sig = x.sig.clone();
        Ok(Stream::One(dx))
    }
}
