//! Composition: `serial`, `fan_out`, `parallel`, `fan_in_sum`, `fan_in_concat` (neural-tangents
//! `stax` combinators; a composite is again a [`Layer`]).

use rand::RngCore;

use super::{
    locate, Batch, BatchGrad, DualThen, Feats, Features, Layer, Params, SigMode, Signature,
};
use crate::error::{NtkError, Rejection, Result};
use crate::layout::{Kernel, KernelCtx, Layout, Stream};

/// Layers applied one after the other. Error messages name a child by its index here
/// ([`super::locate`]).
#[derive(Debug, Default)]
pub struct Serial {
    /// The layers in order.
    pub layers: Vec<Box<dyn Layer>>,
}

/// The layers' descriptions, joined by `sep`.
pub(crate) fn describe_all(layers: &[Box<dyn Layer>], sep: &str) -> String {
    let parts: Vec<String> = layers.iter().map(|l| l.describe()).collect();
    parts.join(sep)
}

/// Checks that a composite's parameters (and gradient) have one child per layer: parameters
/// of another network are refused instead of being zipped short or indexed out of range.
pub(crate) fn check_children(params: &Params, layers: usize, what: &str) -> Result<()> {
    check_count(params.children.len(), layers, what)
}

/// Refuses a tree node with `children` entries for `layers` layers.
fn check_count(children: usize, layers: usize, what: &str) -> Result<()> {
    if children != layers {
        return Err(NtkError::reject_as(
            Rejection::ForeignParameters,
            format!(
                "{what} have {children} entries for {layers} layers (drawn for another network?)"
            ),
        ));
    }
    Ok(())
}

impl Serial {
    /// A serial composite.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Self {
        Serial { layers }
    }
    /// The kernel map of the layers from index `start` on (`input` is the kernel after layer
    /// `start − 1`).
    pub(crate) fn kernel_from(
        &self,
        start: usize,
        input: Stream<Kernel>,
        ctx: &mut KernelCtx<'_>,
    ) -> Result<Stream<Kernel>> {
        let mut k = input;
        let mut i = start;
        while let Some(l) = self.layers.get(i) {
            // A stencil layer and the nonlinearity after it in one pass where the nonlinearity's
            // diagonals are known beforehand (cross pairs); its variance check stays its own.
            let next = self.layers.get(i + 1).filter(|_| l.fuses_dual());
            if let Some((next, phi)) = next.and_then(|n| Some((n, n.as_nonlinearity()?))) {
                if let Some((d1, d2)) = ctx.peek_replay() {
                    locate(
                        i + 1,
                        &**next,
                        super::nonlinear::check_diagonals(phi, d1, d2),
                    )?;
                    // A mean pool after the nonlinearity: only running sums of the output.
                    if self.pools_after(i, &k) {
                        k = locate(
                            i,
                            &**l,
                            l.kernel_dual(k, ctx, DualThen { phi, pooled: true }),
                        )?;
                        i += 3;
                        continue;
                    }
                    k = locate(
                        i,
                        &**l,
                        l.kernel_dual(k, ctx, DualThen { phi, pooled: false }),
                    )?;
                    i += 2;
                    continue;
                }
            }
            k = locate(i, &**l, l.kernel(k, ctx))?;
            i += 1;
        }
        Ok(k)
    }
    /// True when layer `i + 2` pools the output of layer `i` (whose input is `k`) by its mean
    /// ([`Layer::pools_by_mean`]; the nonlinearity `i + 1` keeps the layout).
    fn pools_after(&self, i: usize, k: &Stream<Kernel>) -> bool {
        let (Some(l), Some(pool), Ok(k)) = (self.layers.get(i), self.layers.get(i + 2), k.as_one())
        else {
            return false;
        };
        let sig = Signature {
            layout: k.layout.clone(),
            channels: k.channels,
        };
        l.signature(Stream::One(sig), SigMode::Kernel)
            .and_then(|s| s.one())
            .is_ok_and(|s| pool.pools_by_mean(&s.layout))
    }
    /// The forward activations: `acts[i]` is the input of layer `i`, the last the output.
    pub(crate) fn forward_all(&self, params: &Params, x: &Feats) -> Result<Vec<Feats>> {
        check_children(params, self.layers.len(), "parameters")?;
        let mut acts = vec![x.clone()];
        for (i, (l, p)) in self.layers.iter().zip(&params.children).enumerate() {
            let y = locate(i, &**l, l.apply(p, acts.last().expect("nonempty")))?;
            acts.push(y);
        }
        Ok(acts)
    }
    /// Reverse mode over the activations of [`Serial::forward_all`]: accumulates parameter
    /// gradients into `grad` and returns the input cotangent.
    pub(crate) fn backward(
        &self,
        params: &Params,
        acts: &[Feats],
        dy: &Feats,
        grad: &mut Params,
    ) -> Result<Feats> {
        check_children(params, self.layers.len(), "parameters")?;
        check_children(grad, self.layers.len(), "gradients")?;
        self.check_acts(acts.len())?;
        let mut g = dy.clone();
        for (i, l) in self.layers.iter().enumerate().rev() {
            let r = l.vjp(&params.children[i], &acts[i], &g, &mut grad.children[i]);
            g = locate(i, &**l, r)?;
        }
        Ok(g)
    }
    /// [`Serial::forward_all`] of a batch: `acts[i]` is the input batch of layer `i`, the last
    /// the output.
    pub(crate) fn forward_all_batch(&self, params: &Params, x: Batch) -> Result<Vec<Batch>> {
        check_children(params, self.layers.len(), "parameters")?;
        let mut acts = vec![x];
        for (i, (l, p)) in self.layers.iter().zip(&params.children).enumerate() {
            let y = locate(i, &**l, l.apply_batch(p, acts.last().expect("nonempty")))?;
            acts.push(y);
        }
        Ok(acts)
    }
    /// [`Serial::backward`] over the activations of [`Serial::forward_all_batch`].
    pub(crate) fn backward_batch(
        &self,
        params: &Params,
        acts: &[Batch],
        dy: &Batch,
        mut out: BatchGrad,
    ) -> Result<Batch> {
        check_children(params, self.layers.len(), "parameters")?;
        check_count(out.children(), self.layers.len(), "gradients")?;
        self.check_acts(acts.len())?;
        let mut g: Option<Batch> = None;
        for (i, l) in self.layers.iter().enumerate().rev() {
            let dyi = g.as_ref().unwrap_or(dy);
            let r = l.vjp_batch(&params.children[i], &acts[i], dyi, out.child(i));
            g = Some(locate(i, &**l, r)?);
        }
        Ok(g.unwrap_or_else(|| dy.clone()))
    }
    /// True when some layer passes several branches to the next (`fan_out` … `fan_in_*`): a
    /// [`Batch`] carries one stream, so such a composite runs sample by sample inside a batch
    /// (its layers then take their per-sample passes).
    fn passes_branches(&self, x: &Batch) -> bool {
        self.signatures(Stream::One(x.sig.clone()), SigMode::Finite)
            .is_ok_and(|s| s.iter().any(|s| matches!(s, Stream::Many(_))))
    }
    /// Refuses a forward pass's activations of another length than this network's.
    fn check_acts(&self, len: usize) -> Result<()> {
        if len != self.layers.len() + 1 {
            return Err(NtkError::reject_as(
                Rejection::ForeignParameters,
                format!("{len} activations for {} layers", self.layers.len()),
            ));
        }
        Ok(())
    }
    /// The signatures after every layer (`sigs[0]` is the input).
    pub(crate) fn signatures(
        &self,
        input: Stream<Signature>,
        mode: SigMode,
    ) -> Result<Vec<Stream<Signature>>> {
        let mut sigs = vec![input];
        for (i, l) in self.layers.iter().enumerate() {
            let s = locate(
                i,
                &**l,
                l.signature(sigs.last().expect("nonempty").clone(), mode),
            )?;
            sigs.push(s);
        }
        Ok(sigs)
    }
}

fn stream_len(s: &Stream<Signature>) -> usize {
    match s {
        Stream::One(s) => s.layout.len(),
        Stream::Many(v) => v.iter().map(|s| s.layout.len()).sum(),
    }
}

impl Layer for Serial {
    fn name(&self) -> String {
        "serial".into()
    }
    fn homogeneous(&self) -> bool {
        self.layers.iter().all(|l| l.homogeneous())
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        self.layers
            .iter()
            .enumerate()
            .try_fold(input, |g, (i, l)| locate(i, &**l, l.gaussian(g)))
    }
    fn describe(&self) -> String {
        format!("serial[{}]", describe_all(&self.layers, ", "))
    }
    fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>> {
        Ok(self.signatures(input, mode)?.pop().expect("nonempty"))
    }
    fn kernel(&self, input: Stream<Kernel>, ctx: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        self.kernel_from(0, input, ctx)
    }
    fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        let mut sig = input.clone();
        let mut children = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            children.push(locate(i, &**l, l.init(&sig, rng))?);
            sig = locate(i, &**l, l.signature(sig, SigMode::Finite))?;
        }
        Ok(Params {
            values: vec![],
            children,
        })
    }
    fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
        Ok(self.forward_all(params, x)?.pop().expect("nonempty"))
    }
    fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats> {
        let acts = self.forward_all(params, x)?;
        self.backward(params, &acts, dy, grad)
    }
    fn apply_batch(&self, params: &Params, x: &Batch) -> Result<Batch> {
        if self.passes_branches(x) {
            return super::batch_per_sample(self, params, x);
        }
        Ok(self
            .forward_all_batch(params, x.clone())?
            .pop()
            .expect("nonempty"))
    }
    fn vjp_batch(&self, params: &Params, x: &Batch, dy: &Batch, out: BatchGrad) -> Result<Batch> {
        if self.passes_branches(x) {
            return super::vjp_per_sample(self, params, (x, dy), out);
        }
        let acts = self.forward_all_batch(params, x.clone())?;
        self.backward_batch(params, &acts, dy, out)
    }
    fn extra_values(&self, input: &Stream<Signature>) -> usize {
        let Ok(sigs) = self.signatures(input.clone(), SigMode::Kernel) else {
            return 0;
        };
        self.layers
            .iter()
            .zip(sigs.windows(2))
            .map(|(l, s)| {
                l.extra_values(&s[0])
                    .max(stream_len(&s[0]))
                    .max(stream_len(&s[1]))
            })
            .max()
            .unwrap_or(0)
    }
    fn children(&self) -> Vec<&dyn Layer> {
        self.layers.iter().map(|l| &**l).collect()
    }
}

/// `fan_out(n)`: copies one input into `n` branches.
#[derive(Debug, Clone)]
pub struct FanOut(pub usize);

impl Layer for FanOut {
    fn name(&self) -> String {
        "fan_out".into()
    }
    fn homogeneous(&self) -> bool {
        true
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        Ok(Stream::Many(vec![input.one()?; self.0]))
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        Ok(Stream::Many(vec![input.one()?; self.0]))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        Ok(Stream::Many(vec![input.one()?; self.0]))
    }
    fn apply(&self, _: &Params, x: &Feats) -> Result<Feats> {
        Ok(Stream::Many(vec![x.as_one()?.clone(); self.0]))
    }
    fn vjp(&self, _: &Params, x: &Feats, dy: &Feats, _: &mut Params) -> Result<Feats> {
        let x = x.as_one()?;
        let mut dx = vec![0.0; x.data.len()];
        if let Stream::Many(v) = dy {
            for b in v {
                dx.iter_mut().zip(&b.data).for_each(|(d, g)| *d += g);
            }
        }
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dx,
        }))
    }
}

/// `parallel`: branch `i` goes through layer `i` (input must have as many branches).
#[derive(Debug, Default)]
pub struct Parallel {
    /// One layer per branch.
    pub branches: Vec<Box<dyn Layer>>,
}

impl Parallel {
    fn split<'a, T>(&self, s: &'a Stream<T>) -> Result<&'a [T]> {
        match s {
            Stream::Many(v) if v.len() == self.branches.len() => Ok(v),
            Stream::Many(v) => Err(NtkError::reject_as(
                Rejection::Branches,
                format!(
                    "has {} branches but got {} inputs",
                    self.branches.len(),
                    v.len()
                ),
            )),
            Stream::One(_) => Err(NtkError::reject_as(
                Rejection::Branches,
                "needs several inputs; put fan_out before it",
            )),
        }
    }
}

impl Layer for Parallel {
    fn name(&self) -> String {
        "parallel".into()
    }
    fn homogeneous(&self) -> bool {
        self.branches.iter().all(|l| l.homogeneous())
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        let v = self.split(&input)?;
        let mut out = Vec::new();
        for (i, (b, &g)) in self.branches.iter().zip(v).enumerate() {
            out.push(locate(i, &**b, b.gaussian(Stream::One(g)))?.one()?);
        }
        Ok(Stream::Many(out))
    }
    fn describe(&self) -> String {
        format!("parallel[{}]", describe_all(&self.branches, " | "))
    }
    fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>> {
        let v = self.split(&input)?;
        let mut out = Vec::new();
        for (i, (b, s)) in self.branches.iter().zip(v).enumerate() {
            out.push(locate(i, &**b, b.signature(Stream::One(s.clone()), mode))?.one()?);
        }
        Ok(Stream::Many(out))
    }
    fn kernel(&self, input: Stream<Kernel>, ctx: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        self.split(&input)?;
        let Stream::Many(v) = input else {
            unreachable!("checked by split")
        };
        let mut out = Vec::new();
        for (i, (b, k)) in self.branches.iter().zip(v).enumerate() {
            out.push(locate(i, &**b, b.kernel(Stream::One(k), ctx))?.one()?);
        }
        Ok(Stream::Many(out))
    }
    fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        let v = self.split(input)?;
        let mut children = Vec::new();
        for (i, (b, s)) in self.branches.iter().zip(v).enumerate() {
            children.push(locate(i, &**b, b.init(&Stream::One(s.clone()), rng))?);
        }
        Ok(Params {
            values: vec![],
            children,
        })
    }
    fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
        let v = self.split(x)?;
        check_children(params, self.branches.len(), "parameters")?;
        let mut out = Vec::new();
        for (i, (b, f)) in self.branches.iter().zip(v).enumerate() {
            let y = b.apply(&params.children[i], &Stream::One(f.clone()));
            out.push(locate(i, &**b, y)?.one()?);
        }
        Ok(Stream::Many(out))
    }
    fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats> {
        let v = self.split(x)?;
        let d = self.split(dy)?;
        check_children(params, self.branches.len(), "parameters")?;
        check_children(grad, self.branches.len(), "gradients")?;
        let mut out = Vec::new();
        for (i, b) in self.branches.iter().enumerate() {
            let r = b.vjp(
                &params.children[i],
                &Stream::One(v[i].clone()),
                &Stream::One(d[i].clone()),
                &mut grad.children[i],
            );
            out.push(locate(i, &**b, r)?.one()?);
        }
        Ok(Stream::Many(out))
    }
    fn children(&self) -> Vec<&dyn Layer> {
        self.branches.iter().map(|l| &**l).collect()
    }
}

fn many<T: Clone>(s: &Stream<T>) -> Result<Vec<T>> {
    match s {
        Stream::Many(v) if !v.is_empty() => Ok(v.clone()),
        _ => Err(NtkError::reject_as(
            Rejection::Branches,
            "needs several branches (fan_out + parallel before it)",
        )),
    }
}

/// The branches' features combined entry by entry by `op` (`a ← a ∘ b`, branch by branch into
/// the first); refuses branches of different shapes.
fn entrywise(x: &Feats, op: impl Fn(&mut f64, f64)) -> Result<Feats> {
    let v = many(x)?;
    let mut out = v[0].clone();
    for f in &v[1..] {
        if f.data.len() != out.data.len() {
            return Err(NtkError::reject_as(
                Rejection::Branches,
                "branches have different shapes",
            ));
        }
        out.data
            .iter_mut()
            .zip(&f.data)
            .for_each(|(a, b)| op(a, *b));
    }
    Ok(Stream::One(out))
}

/// Brings branch kernels to a common layout (expanding relative group kernels if mixed).
fn common(ks: Vec<Kernel>) -> Result<Vec<Kernel>> {
    let same = ks.iter().all(|k| k.layout == ks[0].layout);
    let ks: Vec<Kernel> = if same {
        ks
    } else {
        ks.iter().map(Kernel::to_full).collect()
    };
    if ks.iter().any(|k| k.layout != ks[0].layout) {
        return Err(different_layouts(ks.iter().map(|k| &k.layout)));
    }
    Ok(ks)
}

/// The refusal of branches whose layouts differ, naming them all.
fn different_layouts<'a>(layouts: impl Iterator<Item = &'a Layout>) -> NtkError {
    let names: Vec<String> = layouts.map(Layout::to_string).collect();
    NtkError::reject_as(
        Rejection::Branches,
        format!("branches have different layouts: {}", names.join(" vs ")),
    )
}

fn common_sig(v: &[Signature]) -> Result<Layout> {
    let strip = |l: &Layout| match l {
        Layout::GroupRelative { group, h, w }
            if v.iter()
                .any(|s| !matches!(s.layout, Layout::GroupRelative { .. })) =>
        {
            Layout::Group {
                group: group.clone(),
                h: *h,
                w: *w,
            }
        }
        other => other.clone(),
    };
    let l0 = strip(&v[0].layout);
    if v.iter().any(|s| strip(&s.layout) != l0) {
        return Err(different_layouts(v.iter().map(|s| &s.layout)));
    }
    Ok(l0)
}

/// `fan_in_sum`: sums the branches. Kernels add (branches with independent parameters).
#[derive(Debug, Clone, Default)]
pub struct FanInSum;

/// [`Layer::name`], [`Layer::homogeneous`] and [`Layer::gaussian`] of a fan-in that is linear
/// in each branch (sum, concatenation): Gaussian when all branches are. Used inside
/// `impl Layer for ...`.
macro_rules! linear_fan_in_basics {
    ($name:literal) => {
        super::homogeneous_named!($name);
        fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
            Ok(Stream::One(many(&input)?.iter().all(|&g| g)))
        }
    };
}

impl Layer for FanInSum {
    linear_fan_in_basics!("fan_in_sum");
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let v = many(&input)?;
        let layout = common_sig(&v)?;
        if v.iter().any(|s| s.channels != v[0].channels) {
            return Err(NtkError::reject_as(
                Rejection::Branches,
                "branches have different channel counts",
            ));
        }
        Ok(Stream::One(Signature {
            layout,
            channels: v[0].channels,
        }))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let ks = common(many(&input)?)?;
        let mut out = ks[0].clone();
        for k in &ks[1..] {
            out.add_scaled(k, 1.0);
        }
        Ok(Stream::One(out))
    }
    fn apply(&self, _: &Params, x: &Feats) -> Result<Feats> {
        entrywise(x, |a, b| *a += b)
    }
    fn vjp(&self, _: &Params, x: &Feats, dy: &Feats, _: &mut Params) -> Result<Feats> {
        let v = many(x)?;
        let d = dy.as_one()?;
        Ok(Stream::Many(
            v.iter()
                .map(|f| Features {
                    sig: f.sig.clone(),
                    data: d.data.clone(),
                })
                .collect(),
        ))
    }
}

/// `fan_in_concat`: concatenates the branches along channels. Kernel: the channel-weighted mean
/// `Σ_i (C_i / Σ C) K_i` (neural-tangents `FanInConcat` on the channel axis).
#[derive(Debug, Clone, Default)]
pub struct FanInConcat;

impl Layer for FanInConcat {
    linear_fan_in_basics!("fan_in_concat");
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let v = many(&input)?;
        let layout = common_sig(&v)?;
        Ok(Stream::One(Signature {
            layout,
            channels: v.iter().map(|s| s.channels).sum(),
        }))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let ks = common(many(&input)?)?;
        let total: usize = ks.iter().map(|k| k.channels).sum();
        let mut out = ks[0].clone();
        out.nngp.iter_mut().for_each(|v| *v = 0.0);
        out.ntk.iter_mut().for_each(|v| *v = 0.0);
        for k in &ks {
            out.add_scaled(k, k.channels as f64 / total as f64);
        }
        out.channels = total;
        Ok(Stream::One(out))
    }
    fn apply(&self, _: &Params, x: &Feats) -> Result<Feats> {
        let v = many(x)?;
        let p = v[0].sig.positions();
        let total: usize = v.iter().map(|f| f.sig.channels).sum();
        let mut data = Vec::with_capacity(p * total);
        for q in 0..p {
            for f in &v {
                let c = f.sig.channels;
                data.extend_from_slice(&f.data[q * c..][..c]);
            }
        }
        Ok(Stream::One(Features {
            sig: Signature {
                layout: v[0].sig.layout.clone(),
                channels: total,
            },
            data,
        }))
    }
    fn vjp(&self, _: &Params, x: &Feats, dy: &Feats, _: &mut Params) -> Result<Feats> {
        let v = many(x)?;
        let d = dy.as_one()?;
        let p = v[0].sig.positions();
        let total: usize = v.iter().map(|f| f.sig.channels).sum();
        let mut out: Vec<Features> = v.iter().map(|f| Features::zeros(f.sig.clone())).collect();
        for q in 0..p {
            let mut off = 0;
            for f in out.iter_mut() {
                let c = f.sig.channels;
                f.data[q * c..][..c].copy_from_slice(&d.data[q * total + off..][..c]);
                off += c;
            }
        }
        Ok(Stream::Many(out))
    }
}

/// `fan_in_prod` (neural-tangents `FanInProd`): the entrywise product of the branches.
///
/// Kernels (as neural-tangents): `K = Π_i K_i` and `Θ = Σ_i Θ_i Π_{j≠i} K_j`, entry by entry.
/// This is exact when the branches are independent Gaussian processes, i.e. each branch has
/// its own random linear layer after the `fan_out` (then, at infinite width,
/// `E[Π_i f_i(x) Π_i f_i(x′)] = Π_i E[f_i(x) f_i(x′)]`); branches sharing all their
/// randomness (e.g. two `identity` branches) are not independent and the formula does not
/// apply. The output is not Gaussian (a product of Gaussians; neural-tangents marks it so) for
/// two or more branches, so a nonlinearity right after it is refused.
#[derive(Debug, Clone, Default)]
pub struct FanInProd;

impl Layer for FanInProd {
    fn name(&self) -> String {
        "fan_in_prod".into()
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        let v = many(&input)?;
        Ok(Stream::One(v.len() == 1 && v[0]))
    }
    fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>> {
        FanInSum.signature(input, mode)
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let ks = common(many(&input)?)?;
        let mut out = ks[0].clone();
        for k in &ks[1..] {
            // Θ ← Θ·K_k + K·Θ_k before K ← K·K_k (neural-tangents' running product).
            for ((t, a), (b, tb)) in out
                .ntk
                .iter_mut()
                .zip(out.nngp.iter_mut())
                .zip(k.nngp.iter().zip(&k.ntk))
            {
                *t = *t * b + *a * tb;
                *a *= b;
            }
        }
        Ok(Stream::One(out))
    }
    fn apply(&self, _: &Params, x: &Feats) -> Result<Feats> {
        entrywise(x, |a, b| *a *= b)
    }
    fn vjp(&self, _: &Params, x: &Feats, dy: &Feats, _: &mut Params) -> Result<Feats> {
        let v = many(x)?;
        let d = dy.as_one()?;
        Ok(Stream::Many(
            (0..v.len())
                .map(|i| {
                    let mut g = d.data.clone();
                    for (j, f) in v.iter().enumerate() {
                        if j != i {
                            g.iter_mut().zip(&f.data).for_each(|(a, b)| *a *= b);
                        }
                    }
                    Features {
                        sig: v[i].sig.clone(),
                        data: g,
                    }
                })
                .collect(),
        ))
    }
}
