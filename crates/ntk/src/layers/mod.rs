//! The [`Layer`] trait and its implementations.
//!
//! A layer is one object carrying, side by side (neural-tangents `stax` style, docs/theory.md):
//!
//! - its **signature map** ([`Layer::signature`]): what layout/size/channel count it produces,
//!   used for planning and validation before any number is computed;
//! - its **kernel map** ([`Layer::kernel`]): NNGP and NTK of one input pair, with the self-kernel
//!   diagonals coming from [`KernelCtx`];
//! - its **finite-width twin**: [`Layer::init`] (parameters in the same parameterisation),
//!   [`Layer::apply`] (forward pass) and [`Layer::vjp`] (reverse-mode derivative, used for the
//!   exact empirical NTK).
//!
//! Composites ([`Serial`], [`Parallel`], [`FanOut`], [`FanInSum`], [`FanInConcat`]) are layers
//! too. New layer types (e.g. SO(3) layers) implement the trait and, if their kernels live on a
//! new domain, add a [`Layout`] variant.

mod combinators;
mod conv;
mod conv_direct;
mod dense;
mod fused;
mod group;
mod nonlinear;
mod norm;
mod pool;
mod set;
mod so3;
mod spatial;
mod sphere_group;

use std::fmt;
use std::sync::Arc;

use rand::RngCore;

pub use crate::stencil::{same_padding, AxisMap, Geometry, WindowWeight};
pub use combinators::{FanInConcat, FanInProd, FanInSum, FanOut, Parallel, Serial};
pub use conv::Conv;
pub use dense::Dense;
pub use group::{GroupConv, LiftConv};
pub use nonlinear::{Elementwise, ExpNormalized};
pub use norm::{Dropout, LayerNorm};
pub use pool::{Flatten, GlobalAvgPool, GlobalSumPool, GroupPool, PoolKind, WindowPool};
pub use set::{sets_from_padded, DeepSet, SetReduce};
pub use so3::{S2LiftConv, So3Conv, So3Filter, So3Pool};
pub use spatial::SpatialMap;
pub use sphere_group::S2GroupLiftConv;

use crate::error::InputProblem;
use crate::error::{NtkError, Result};
use crate::layout::{GroupInfo, Kernel, KernelCtx, Layout, Stream};
use crate::nonlin::Nonlinearity;
use crate::param::Parameterization;

/// What flows between layers, without numbers: a layout and a nominal channel count.
///
/// For finite networks the layout describes the feature array: [`Layout::Scalar`] = a vector of
/// `channels` values, [`Layout::Pixels`] = `(H, W, C)`, [`Layout::Group`] = `(G, H, W, C)` with
/// the slice convention of [`GroupInfo`]. Kernel signatures may use [`Layout::GroupRelative`].
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// Layout of the kernel (or of the finite feature array).
    pub layout: Layout,
    /// Nominal channel count.
    pub channels: usize,
}

impl Signature {
    /// Values per sample of the finite feature array.
    pub fn feature_len(&self) -> usize {
        self.positions() * self.channels
    }
    /// Number of positions (1 for scalars, `H·W`, or `|G|·H·W`).
    pub fn positions(&self) -> usize {
        match &self.layout {
            Layout::Pixels { h, w } => h * w,
            Layout::Group { group, h, w } | Layout::GroupRelative { group, h, w } => {
                group.order * h * w
            }
            Layout::So3 { bandlimit } => (2 * bandlimit - 1) * (2 * bandlimit - 1) * 2 * bandlimit,
            _ => 1,
        }
    }
}

/// One sample's finite features: `data` in the order of [`Signature`] (channels last).
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Shape.
    pub sig: Signature,
    /// Values.
    pub data: Vec<f64>,
}

impl Features {
    /// Zeros of the given shape.
    pub fn zeros(sig: Signature) -> Self {
        let n = sig.feature_len();
        Features {
            sig,
            data: vec![0.0; n],
        }
    }
    /// Features of signature `sig`; refuses data of another length than
    /// [`Signature::feature_len`].
    pub fn new(sig: Signature, data: Vec<f64>) -> Result<Self> {
        let f = Features { sig, data };
        f.check()?;
        Ok(f)
    }
    /// An `H×W×C` image (HWC, row-major); refuses data of another length than `H·W·C`.
    pub fn image(h: usize, w: usize, c: usize, data: Vec<f64>) -> Result<Self> {
        Self::new(
            Signature {
                layout: Layout::Pixels { h, w },
                channels: c,
            },
            data,
        )
    }
    /// A signal on `H ⋉ Z²` stored `(G, H, W, C)`; refuses data of another length than
    /// `|G|·H·W·C`.
    pub fn group_signal(
        group: Arc<GroupInfo>,
        h: usize,
        w: usize,
        c: usize,
        data: Vec<f64>,
    ) -> Result<Self> {
        Self::new(
            Signature {
                layout: Layout::Group { group, h, w },
                channels: c,
            },
            data,
        )
    }
    /// Checks that the data length matches the signature ([`NtkError::Input`] otherwise).
    pub fn check(&self) -> Result<()> {
        let want = self.sig.feature_len();
        if self.data.len() != want {
            return Err(NtkError::input(
                InputProblem::Shape,
                format!(
                    "features of shape {} × {} channels need {want} values, got {}",
                    self.sig.layout,
                    self.sig.channels,
                    self.data.len()
                ),
            ));
        }
        Ok(())
    }
}

/// `n` samples of one signature, stored one after another (sample-major): sample `b`'s
/// features are `data[b·L..(b+1)·L]`, `L = sig.feature_len()`, each in the order of
/// [`Features`]. What the batched finite passes ([`Layer::apply_batch`],
/// [`crate::Network::apply_batch`]) take and give.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The signature of each sample.
    pub sig: Signature,
    /// Number of samples.
    pub n: usize,
    /// Values, sample-major.
    pub data: Vec<f64>,
}

impl Batch {
    /// The samples `xs`, one after another; refuses samples of different signatures or of
    /// the wrong length, and an empty list (it has no signature).
    pub fn from_samples(xs: &[Features]) -> Result<Self> {
        let Some(first) = xs.first() else {
            return Err(NtkError::input(
                InputProblem::Empty,
                "a batch needs at least one sample",
            ));
        };
        let mut data = Vec::with_capacity(xs.len() * first.data.len());
        for (i, x) in xs.iter().enumerate() {
            x.check()?;
            if x.sig != first.sig {
                return Err(NtkError::input(
                    InputProblem::Mismatch,
                    format!(
                        "sample {i} has shape {} × {}, sample 0 {} × {}",
                        x.sig.layout, x.sig.channels, first.sig.layout, first.sig.channels
                    ),
                ));
            }
            data.extend_from_slice(&x.data);
        }
        Ok(Batch {
            sig: first.sig.clone(),
            n: xs.len(),
            data,
        })
    }
    /// The values of sample `b`.
    pub fn sample(&self, b: usize) -> &[f64] {
        let l = self.sig.feature_len();
        &self.data[b * l..][..l]
    }
    /// Sample `b` as [`Features`].
    pub fn features(&self, b: usize) -> Features {
        Features {
            sig: self.sig.clone(),
            data: self.sample(b).to_vec(),
        }
    }
    /// Checks that the data holds `n` samples of the signature.
    pub fn check(&self) -> Result<()> {
        let want = self.sig.feature_len().saturating_mul(self.n);
        if self.data.len() != want {
            return Err(NtkError::input(
                InputProblem::Shape,
                format!(
                    "a batch of {} samples of shape {} × {} channels needs {want} values, got {}",
                    self.n,
                    self.sig.layout,
                    self.sig.channels,
                    self.data.len()
                ),
            ));
        }
        Ok(())
    }
}

/// What a batched reverse pass ([`Layer::vjp_batch`]) does with the parameter gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradMode {
    /// Adds the sum over the samples to a tree shaped like the parameters: the gradient of a
    /// loss summed over the batch.
    Sum,
    /// Adds each sample's own gradient to its row of an `n × P` matrix (the rows of a
    /// Jacobian, [`crate::BatchPullback::gradients`]): a node's `len` values of sample `b` at
    /// [`BatchGrad::each`]'s `block[b·stride..][..len]`.
    Each,
}

/// Where a batched reverse pass ([`Layer::vjp_batch`]) adds the parameter gradients, and how
/// ([`GradMode`]): into a tree shaped like the parameters ([`BatchGrad::sum`]), or into the
/// rows of a row-major `n × P` matrix, each row one sample's gradient flattened as
/// [`Params::flatten`] orders the parameters (depth first: a node's own values, then its
/// children's), so a node's values sit at one offset in every row.
#[derive(Debug)]
pub struct BatchGrad<'a> {
    target: GradTarget<'a>,
}

#[derive(Debug)]
enum GradTarget<'a> {
    Sum(&'a mut Params),
    Each {
        /// The rows from this node's offset in row 0 on.
        rows: &'a mut [f64],
        /// The row length `P`.
        stride: usize,
        /// The parameters of this node (for the children's offsets).
        shape: &'a Params,
    },
}

impl<'a> BatchGrad<'a> {
    /// Sums over the samples, added to `grad` (shaped like the parameters).
    pub fn sum(grad: &'a mut Params) -> Self {
        BatchGrad {
            target: GradTarget::Sum(grad),
        }
    }
    /// One gradient per sample, added to row `b` of `rows` (row-major, rows of `params.count()`
    /// values, [`Params::flatten`]'s order); `params` gives the tree's shape.
    pub fn rows(rows: &'a mut [f64], params: &'a Params) -> Self {
        BatchGrad {
            target: GradTarget::Each {
                rows,
                stride: params.count(),
                shape: params,
            },
        }
    }
    /// Summed or one gradient per sample.
    pub fn mode(&self) -> GradMode {
        match self.target {
            GradTarget::Sum(_) => GradMode::Sum,
            GradTarget::Each { .. } => GradMode::Each,
        }
    }
    /// The same target for child `i` of this node (a composite's layer `i`).
    pub fn child(&mut self, i: usize) -> BatchGrad<'_> {
        let target = match &mut self.target {
            GradTarget::Sum(g) => GradTarget::Sum(&mut g.children[i]),
            GradTarget::Each {
                rows,
                stride,
                shape,
            } => {
                let before = shape.values.len()
                    + shape.children[..i].iter().map(Params::count).sum::<usize>();
                GradTarget::Each {
                    rows: rows.get_mut(before..).unwrap_or_default(),
                    stride: *stride,
                    shape: &shape.children[i],
                }
            }
        };
        BatchGrad { target }
    }
    /// The number of children of this node of the gradient tree.
    pub(crate) fn children(&self) -> usize {
        match &self.target {
            GradTarget::Sum(g) => g.children.len(),
            GradTarget::Each { shape, .. } => shape.children.len(),
        }
    }
    /// [`GradMode::Sum`]: this node's accumulator, refused unless it holds `len` values.
    pub fn summed(&mut self, len: usize) -> Result<&mut [f64]> {
        match &mut self.target {
            GradTarget::Sum(g) => {
                check_len("gradients", g.values.len(), len)?;
                Ok(&mut g.values[..])
            }
            GradTarget::Each { .. } => Err(NtkError::reject("per-sample gradients, not a sum")),
        }
    }
    /// [`GradMode::Each`] for `n` samples: `(block, stride)`, sample `b`'s `len` values of this
    /// node at `block[b·stride..][..len]`; refused unless the node has `len` values and the
    /// rows hold `n` samples.
    pub fn each(&mut self, n: usize, len: usize) -> Result<(&mut [f64], usize)> {
        match &mut self.target {
            GradTarget::Each {
                rows,
                stride,
                shape,
            } => {
                check_len("gradients", shape.values.len(), len)?;
                let need = if n == 0 { 0 } else { (n - 1) * *stride + len };
                if rows.len() < need {
                    return Err(NtkError::reject(
                        "per-sample gradient rows of the wrong size",
                    ));
                }
                Ok((&mut rows[..], *stride))
            }
            GradTarget::Sum(_) => Err(NtkError::reject("a summed gradient, not per sample")),
        }
    }
    /// [`GradMode::Each`]: adds `g` (one sample's gradient, shaped like this node's
    /// parameters) to row `b`.
    fn add_sample(&mut self, g: &Params, b: usize) -> Result<()> {
        let GradTarget::Each { rows, stride, .. } = &mut self.target else {
            return Err(NtkError::reject("a summed gradient, not per sample"));
        };
        let len = g.count();
        let dst = rows
            .get_mut(b * *stride..)
            .and_then(|r| r.get_mut(..len))
            .ok_or_else(|| NtkError::reject("per-sample gradient rows of the wrong size"))?;
        g.add_flat(dst);
        Ok(())
    }
}

/// One sample's finite features on each of a layer's streams ([`Stream::One`] for most layers,
/// [`Stream::Many`] between a fan-out and a fan-in): what [`Layer::apply`] and [`Layer::vjp`]
/// take and give.
pub type Feats = Stream<Features>;

/// Parameters of a layer as a tree: its own values plus its children's (composites).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    /// This layer's parameters (layer-specific order, documented on each layer).
    pub values: Vec<f64>,
    /// Children's parameters (composites).
    pub children: Vec<Params>,
}

impl Params {
    /// Zeros with the same structure.
    pub fn zeros_like(&self) -> Params {
        Params {
            values: vec![0.0; self.values.len()],
            children: self.children.iter().map(Params::zeros_like).collect(),
        }
    }
    /// All values, depth first.
    pub fn flatten(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        for c in &self.children {
            v.extend(c.flatten());
        }
        v
    }
    /// Total number of parameters.
    pub fn count(&self) -> usize {
        self.values.len() + self.children.iter().map(Params::count).sum::<usize>()
    }
    /// Sets every value to `v`.
    pub(crate) fn fill(&mut self, v: f64) {
        self.values.iter_mut().for_each(|x| *x = v);
        self.children.iter_mut().for_each(|c| c.fill(v));
    }
    /// Adds these values, flattened depth first as [`Params::flatten`] orders them, to `out`
    /// (`out.len() == self.count()`).
    pub(crate) fn add_flat(&self, out: &mut [f64]) {
        let (head, mut rest) = out.split_at_mut(self.values.len());
        head.iter_mut().zip(&self.values).for_each(|(d, v)| *d += v);
        for c in &self.children {
            let (h, r) = rest.split_at_mut(c.count());
            c.add_flat(h);
            rest = r;
        }
    }
}

/// Whether a signature is wanted for the kernel engine or for the finite network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigMode {
    /// Kernel layouts (may be [`Layout::GroupRelative`]).
    Kernel,
    /// Finite feature arrays (always full layouts).
    Finite,
}

/// A layer: kernel map and finite twin side by side. See the module docs.
///
/// **Errors.** A layer does not know where it sits in a network. When its input or parameters
/// are unsuitable, a method returns [`NtkError::Rejected`] with the reason (build it with
/// [`NtkError::reject`]); the walker that called it ([`Serial`], [`Parallel`],
/// [`crate::Network`]) knows the position and the layer's [`Layer::name`] and turns it into
/// [`NtkError::Layer`], read as "layer 3 (`group_conv`): needs group features ...". Composites
/// locate their children's errors the same way ([`locate`]), so the innermost position is the one
/// reported.
pub trait Layer: Send + Sync + fmt::Debug {
    /// The spec type name (`dense`, `lift_conv`, ...).
    fn name(&self) -> String;
    /// A one-line description with the settings.
    fn describe(&self) -> String {
        self.name()
    }
    /// The output signature for `input`; an error when the input is unsuitable.
    fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>>;
    /// The kernel map for one input pair.
    fn kernel(&self, input: Stream<Kernel>, ctx: &mut KernelCtx<'_>) -> Result<Stream<Kernel>>;
    /// Draws parameters for a finite network whose input has signature `input`. Default: none
    /// (a parameter-free layer), drawing nothing from `rng`.
    fn init(&self, _input: &Stream<Signature>, _rng: &mut dyn RngCore) -> Result<Params> {
        Ok(Params::default())
    }
    /// The finite forward pass of one sample.
    fn apply(&self, params: &Params, x: &Feats) -> Result<Feats>;
    /// Reverse mode: given the input `x` and the output cotangent `dy`, accumulates parameter
    /// gradients into `grad` (same structure as the parameters) and returns the input cotangent.
    fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats>;
    /// The forward pass of a batch ([`Batch`], one stream in and out): sample `b` of the output
    /// is [`Layer::apply`] of sample `b`. Default: [`Layer::apply`] sample by sample; layers
    /// with weights override it with one pass over the whole batch (matrix products over all
    /// samples), equal up to rounding.
    fn apply_batch(&self, params: &Params, x: &Batch) -> Result<Batch> {
        batch_per_sample(self, params, x)
    }
    /// Reverse mode of [`Layer::apply_batch`]: given the inputs `x` and the output cotangents
    /// `dy` (sample by sample), adds the parameter gradients to `g` ([`BatchGrad`]) and
    /// returns the input cotangents. Default: [`Layer::vjp`] sample by sample.
    fn vjp_batch(&self, params: &Params, x: &Batch, dy: &Batch, g: BatchGrad) -> Result<Batch> {
        vjp_per_sample(self, params, (x, dy), g)
    }
    /// Gaussianity of the output, given that of the input (neural-tangents' `is_gaussian`).
    ///
    /// Dual activations (docs/theory.md#nonlinearities-dual-activations) assume the pre-activation is a centred Gaussian
    /// process. Linear layers with random weights output one whatever their input; pools and
    /// other fixed linear maps of Gaussian inputs stay Gaussian; nonlinearities end it; fan-ins
    /// are Gaussian when all their inputs are. The network input counts as non-Gaussian. A
    /// layer that needs a Gaussian input and gets none returns an error.
    ///
    /// Default: a linear layer with random weights (one whose [`Layer::affine`] is `Some`)
    /// outputs a Gaussian from any single input; any other layer keeps its single input's
    /// Gaussianity, which is right for fixed linear maps (pools, reshapes). Nonlinearities,
    /// fan-ins and composites override it.
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        let g = input.one()?;
        Ok(Stream::One(self.affine().is_some() || g))
    }
    /// True when the kernel map is positively homogeneous of degree one in each input:
    /// `K(a·x, b·x′) = a·b·K(x, x′)` for `a, b > 0`, and the same for `Θ` (bias-free linear
    /// layers, pools, and ReLU-like nonlinearities). The Gram engine then computes extreme-scale
    /// inputs at a power-of-two rescaled size and scales back, exactly. Default: true for a
    /// bias-free linear layer (its [`Layer::affine`] has no bias), false for every other layer.
    fn homogeneous(&self) -> bool {
        self.affine().is_some_and(|a| !a.has_bias())
    }
    /// True when the kernel map records/reads a self-kernel diagonal (nonlinearities).
    fn records_diagonal(&self) -> bool {
        false
    }
    /// Kernel values per pair the kernel map holds besides its input and output (the stride-1
    /// kernel of a strided convolution, say), for the plan's memory estimate; `input` is the
    /// kernel signature it receives. Default 0.
    fn extra_values(&self, _input: &Stream<Signature>) -> usize {
        0
    }
    /// The weights' settings of a linear layer (`dense`, `conv`, the group and SO(3)
    /// convolutions); `None` for every other layer. [`crate::Network::new`] reads the
    /// parameterisation from here.
    fn affine(&self) -> Option<&Affine> {
        None
    }
    /// The nested layers of a composite (for plans).
    fn children(&self) -> Vec<&dyn Layer> {
        Vec::new()
    }
    /// Optional shortcut for a network's first layer: a summary of one input from which
    /// [`Layer::kernel_from_prepared`] builds this layer's output kernel for any pair without
    /// forming the input kernel `K⁰` (which can cost more than the layer itself). The engine
    /// computes it once per input. `None` (the default): not offered.
    fn prepare_input(&self, _x: &Features) -> Option<Result<Prepared>> {
        None
    }
    /// This layer's output kernel for two inputs summarised by [`Layer::prepare_input`]; equals
    /// [`Layer::kernel`] applied to `K⁰` of the pair, up to rounding.
    fn kernel_from_prepared(&self, _a: &Prepared, _b: &Prepared) -> Result<Stream<Kernel>> {
        Err(NtkError::reject("offers no prepared-input kernel"))
    }
    /// `Some` for the set layer [`DeepSet`], which reads the network's set inputs and must be
    /// its first layer (the engine then sums element kernels over the sets). Default `None`.
    fn as_deep_set(&self) -> Option<&DeepSet> {
        None
    }
    /// `Some(φ)` for a pointwise nonlinearity layer ([`Elementwise`], not the identity), which
    /// [`Serial`] may fuse into the layer before it ([`Layer::kernel_dual`]). Default `None`.
    fn as_nonlinearity(&self) -> Option<&Nonlinearity> {
        None
    }
    /// True when [`Layer::kernel_dual`] runs this layer and the dual activation after it in one
    /// pass (stride-1 `conv`, `lift_conv`, `group_conv`). Default false.
    fn fuses_dual(&self) -> bool {
        false
    }
    /// This layer's kernel map followed by the pointwise nonlinearity `then.phi` (the next
    /// layer, whose diagonals `ctx` gives) and, when `then.pooled`, by the pool after it (one
    /// that [`Layer::pools_by_mean`]): what [`Layer::kernel`] and then the nonlinearity's (and
    /// the pool's) [`Layer::kernel`] give, bitwise. Layers that [`Layer::fuses_dual`] do it in
    /// one sweep where the diagonals are known beforehand (cross pairs), keeping only running
    /// sums of the output when pooled. Default: the maps in turn.
    fn kernel_dual(
        &self,
        input: Stream<Kernel>,
        ctx: &mut KernelCtx<'_>,
        then: DualThen<'_>,
    ) -> Result<Stream<Kernel>> {
        let k = fused::kernel_then_dual(self.kernel(input, ctx)?, ctx, then.phi)?;
        fused::pooled_if(k, then.pooled)
    }
    /// True when this layer's kernel map of a kernel in `layout` is the scalar kernel of the
    /// means of its NNGP and NTK arrays (`global_avg_pool` of pixels, `group_pool` of group
    /// features), which [`Layer::kernel_dual`] of the layer two before may fold in.
    /// Default false.
    fn pools_by_mean(&self, _layout: &Layout) -> bool {
        false
    }
}

/// What [`Layer::kernel_dual`] runs after a layer's kernel map: the dual activation of the
/// nonlinearity that follows it and, when `pooled`, the mean pool after that.
#[derive(Debug, Clone, Copy)]
pub struct DualThen<'a> {
    /// The nonlinearity after the layer.
    pub phi: &'a Nonlinearity,
    /// Whether a mean pool ([`Layer::pools_by_mean`]) follows the nonlinearity.
    pub pooled: bool,
}

/// A first layer's per-input summary (see [`Layer::prepare_input`]); its type is private to
/// the layer that made it.
pub type Prepared = Arc<dyn std::any::Any + Send + Sync>;

/// [`Layer::apply`] sample by sample: the default [`Layer::apply_batch`] (and its fallback for
/// settings a layer does not batch).
pub(crate) fn batch_per_sample<L: Layer + ?Sized>(
    l: &L,
    params: &Params,
    x: &Batch,
) -> Result<Batch> {
    let sig = l
        .signature(Stream::One(x.sig.clone()), SigMode::Finite)?
        .one()?;
    let mut data = Vec::with_capacity(x.n * sig.feature_len());
    for b in 0..x.n {
        data.extend_from_slice(&l.apply(params, &Stream::One(x.features(b)))?.one()?.data);
    }
    Ok(Batch { sig, n: x.n, data })
}

/// [`Layer::vjp`] sample by sample: the default [`Layer::vjp_batch`] (and its fallback).
pub(crate) fn vjp_per_sample<L: Layer + ?Sized>(
    l: &L,
    params: &Params,
    (x, dy): (&Batch, &Batch),
    mut grad: BatchGrad,
) -> Result<Batch> {
    let mut data = Vec::with_capacity(x.data.len());
    let mut one: Option<Params> = None;
    for b in 0..x.n {
        let (xb, dyb) = (Stream::One(x.features(b)), Stream::One(dy.features(b)));
        let dx = match &mut grad.target {
            GradTarget::Sum(tree) => l.vjp(params, &xb, &dyb, tree)?,
            GradTarget::Each { .. } => {
                let g = one.get_or_insert_with(|| params.zeros_like());
                g.fill(0.0);
                let dx = l.vjp(params, &xb, &dyb, g)?;
                grad.add_sample(g, b)?;
                dx
            }
        };
        data.extend_from_slice(&dx.one()?.data);
    }
    Ok(Batch {
        sig: x.sig.clone(),
        n: x.n,
        data,
    })
}

/// Weight and bias settings shared by all linear layers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// `σ_w`.
    pub w_std: f64,
    /// `σ_b` (0 means no bias).
    pub b_std: f64,
    /// Output channels of the finite layer (also the nominal width in standard
    /// parameterisation).
    pub width: usize,
    /// Parameterisation.
    pub param: Parameterization,
}

impl Default for Affine {
    fn default() -> Self {
        Affine {
            w_std: 1.0,
            b_std: 0.0,
            width: 1,
            param: Parameterization::Ntk,
        }
    }
}

impl Affine {
    /// True when the layer has a bias.
    pub fn has_bias(&self) -> bool {
        self.b_std != 0.0
    }
    /// `(weight multiplier α, weight init std, bias multiplier, bias init std)` for a fan-in:
    /// NTK `y = σ_w/√fan_in Σ ω x + σ_b β` with ω, β ~ N(0,1); standard
    /// `y = Σ W x + b` with `W ~ N(0, σ_w²/fan_in)`, `b ~ N(0, σ_b²)` (s = 1).
    pub fn scales(&self, fan_in: usize) -> (f64, f64, f64, f64) {
        let f = fan_in as f64;
        match self.param {
            Parameterization::Ntk => (self.w_std / f.sqrt(), 1.0, self.b_std, 1.0),
            Parameterization::Standard => (1.0, self.w_std / f.sqrt(), 1.0, self.b_std),
        }
    }
    /// Combines `A[K_in]` and `A[Θ_in]` (already normalised by the filter volume) into
    /// `(K_out, Θ_out)` entries: docs/theory.md#linear-layers-the-a-operator, both parameterisations.
    #[inline]
    pub fn combine(&self, fan_in: usize, ak: f64, at: f64) -> (f64, f64) {
        let (w2, b2) = (self.w_std * self.w_std, self.b_std * self.b_std);
        let k = w2 * ak + b2;
        match self.param {
            Parameterization::Ntk => (k, k + w2 * at),
            Parameterization::Standard => {
                let bias = if self.has_bias() { 1.0 } else { 0.0 };
                (k, fan_in as f64 * ak + w2 * at + bias)
            }
        }
    }
}

impl Affine {
    /// Parameter count of a linear layer with `n_weights` weights: the weights, then `width`
    /// biases when it has a bias.
    pub(crate) fn param_len(&self, n_weights: usize) -> usize {
        n_weights + if self.has_bias() { self.width } else { 0 }
    }
    /// Draws a linear layer's parameters: `n_weights` weights, then the biases, each
    /// `N(0, s²)` with the standard deviations of [`Affine::scales`] for `fan_in`.
    pub(crate) fn init_params(
        &self,
        rng: &mut dyn RngCore,
        n_weights: usize,
        fan_in: usize,
    ) -> Params {
        let (_, wstd, _, bstd) = self.scales(fan_in);
        let mut values = normals(rng, n_weights, wstd);
        if self.has_bias() {
            values.extend(normals(rng, self.width, bstd));
        }
        Params {
            values,
            children: vec![],
        }
    }
    /// `(weights, biases)` of a linear layer's parameter values; refuses values of another
    /// size (parameters drawn for another network or another input shape).
    pub(crate) fn split<'a>(
        &self,
        values: &'a [f64],
        n_weights: usize,
    ) -> Result<(&'a [f64], &'a [f64])> {
        check_len("parameters", values.len(), self.param_len(n_weights))?;
        Ok(values.split_at(n_weights))
    }
    /// [`Affine::split`] of a gradient accumulator.
    pub(crate) fn split_mut<'a>(
        &self,
        values: &'a mut [f64],
        n_weights: usize,
    ) -> Result<(&'a mut [f64], &'a mut [f64])> {
        check_len("gradients", values.len(), self.param_len(n_weights))?;
        Ok(values.split_at_mut(n_weights))
    }
    /// Adds the bias term `β b_o` to channel-last outputs `y` (`o = i mod width`).
    pub(crate) fn add_bias(&self, fan_in: usize, y: &mut [f64], bias: &[f64]) {
        if self.has_bias() {
            let beta = self.scales(fan_in).2;
            for (i, v) in y.iter_mut().enumerate() {
                *v += beta * bias[i % self.width];
            }
        }
    }
    /// Accumulates the bias gradient `β Σ dy` over positions of channel-last cotangents.
    pub(crate) fn bias_grad(&self, fan_in: usize, dy: &[f64], grad: &mut [f64]) {
        if self.has_bias() {
            let beta = self.scales(fan_in).2;
            for (i, v) in dy.iter().enumerate() {
                grad[i % self.width] += beta * v;
            }
        }
    }
}

/// The [`Layer`] methods that every linear layer with random weights writes alike: its spec
/// name, and [`Layer::affine`] from its field `affine`, or the field path given after the name
/// (the weights' settings, which also decide
/// [`Layer::gaussian`] and [`Layer::homogeneous`] through their defaults). Used inside
/// `impl Layer for ...`.
macro_rules! linear_layer_basics {
    ($name:literal) => {
        $crate::layers::linear_layer_basics!($name, affine);
    };
    ($name:literal, $($affine:tt)+) => {
        fn name(&self) -> String {
            $name.into()
        }
        fn affine(&self) -> Option<&Affine> {
            Some(&self.$($affine)+)
        }
    };
}
pub(crate) use linear_layer_basics;

/// The finite pass of a parameter-free layer with one input and one output stream
/// (nonlinearities, pools, normalisations): the forward map of one sample's features and its
/// transpose, from which [`fixed_map_passes!`] writes [`Layer::apply`] and [`Layer::vjp`].
pub(crate) trait FixedMap {
    /// The output features for the input `x`.
    fn forward(&self, x: &Features) -> Result<Features>;
    /// The input cotangent for the input `x` and the output cotangent `dy`.
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features>;
}

/// [`Layer::apply`] and [`Layer::vjp`] of a [`FixedMap`] layer (one stream in, one out, no
/// parameters). Used inside `impl Layer for ...`.
macro_rules! fixed_map_passes {
    () => {
        fn apply(&self, _: &Params, x: &$crate::layers::Feats) -> Result<$crate::layers::Feats> {
            Ok(Stream::One(super::FixedMap::forward(self, x.as_one()?)?))
        }
        fn vjp(
            &self,
            _: &Params,
            x: &$crate::layers::Feats,
            dy: &$crate::layers::Feats,
            _: &mut Params,
        ) -> Result<$crate::layers::Feats> {
            Ok(Stream::One(super::FixedMap::backward(
                self,
                x.as_one()?,
                dy.as_one()?,
            )?))
        }
    };
}
pub(crate) use fixed_map_passes;

/// [`Layer::name`] and [`Layer::homogeneous`] (true) of a positively homogeneous layer without
/// weights (pools, reshapes, fan-ins). Used inside `impl Layer for ...`.
macro_rules! homogeneous_named {
    ($name:literal) => {
        fn name(&self) -> String {
            $name.into()
        }
        fn homogeneous(&self) -> bool {
            true
        }
    };
}
pub(crate) use homogeneous_named;

/// [`homogeneous_named!`] and the [`fixed_map_passes!`] of a pool or reshape (a [`FixedMap`]
/// layer); with a layout check, also the [`Layer::signature`] of a pool of every channel to
/// one scalar ([`pooled_signature`]). Used inside `impl Layer for ...`.
macro_rules! pool_basics {
    ($name:literal) => {
        $crate::layers::homogeneous_named!($name);
        $crate::layers::fixed_map_passes!();
    };
    ($name:literal, $check:expr) => {
        $crate::layers::pool_basics!($name);
        fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
            $crate::layers::pooled_signature(input, $check)
        }
    };
}
pub(crate) use pool_basics;

/// The signature of a pool to `channels` scalars.
pub(crate) fn scalar_signature(channels: usize) -> Result<Stream<Signature>> {
    Ok(Stream::One(Signature {
        layout: Layout::Scalar,
        channels,
    }))
}

/// [`Layer::signature`] of a pool of every channel to one scalar, for inputs whose layout
/// `check` accepts.
pub(crate) fn pooled_signature<T>(
    input: Stream<Signature>,
    check: impl FnOnce(&Layout) -> Result<T>,
) -> Result<Stream<Signature>> {
    let s = input.one()?;
    check(&s.layout)?;
    scalar_signature(s.channels)
}

/// Refuses parameter (or gradient) values of the wrong count.
pub(crate) fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(NtkError::reject_as(
            crate::error::Rejection::ForeignParameters,
            format!(
                "{what} have {got} values but the layer needs {want} for its input (drawn for \
             another network or another input shape?)"
            ),
        ));
    }
    Ok(())
}

/// Attaches the position of the layer at `index` to an error it raised
/// ([`NtkError::at_layer`]): how walkers report "layer i (`name`): reason".
pub fn locate<T>(index: usize, layer: &dyn Layer, r: Result<T>) -> Result<T> {
    r.map_err(|e| e.at_layer(index, || layer.name()))
}

/// Draws `n` standard normal values times `std`.
pub(crate) fn normals(rng: &mut dyn RngCore, n: usize, std: f64) -> Vec<f64> {
    use rand_distr::{Distribution, StandardNormal};
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            std * z
        })
        .collect()
}
