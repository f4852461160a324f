//! `deep_set`: one shared element network applied to every element of a set, then a sum or a
//! mean over the elements (DeepSets, Zaheer et al. 2017). The output does not depend on the
//! order of the elements.
//!
//! **Kernels** (docs/theory.md, "Sets"). With the element network's kernels `K_g`, `Θ_g` and the
//! weight `w_A = 1` (sum) or `1/|A|` (mean) of a set `A`,
//!
//! ```text
//! K(A, B) = w_A w_B Σ_{i∈A} Σ_{j∈B} K_g(A_i, B_j)
//! Θ(A, B) = w_A w_B Σ_{i∈A} Σ_{j∈B} Θ_g(A_i, B_j)
//! ```
//!
//! over the real elements of each set. The NTK is a double sum too because the weights are shared:
//! the gradient of `Σ_i g(A_i)` is `Σ_i ∂g(A_i)`, and every parameter sees every element. (The
//! per-slot model of the paper's QM9 network, one independent network per slot, has
//! `Σ_i K_g(A_i, B_i)` instead.) The pooled output is a sum of jointly Gaussian values, so it is
//! Gaussian whenever the element network's output is, and the layers after `deep_set` (dense,
//! nonlinearities, ...) act on it as on any pooled kernel.
//!
//! **Input.** A set is one [`Features`] value whose signature is the *element* signature and
//! whose data holds its elements back to back: `data.len() = n · sig.feature_len()` for `n ≥ 0`
//! real elements, no padding ([`Features::set`], [`sets_from_padded`] for padded arrays with
//! counts). `deep_set` must be a network's first layer: it is the only layer that reads sets.
//!
//! **Cost.** Per pair of sets the kernel is a sum over `|A|·|B|` element pairs. The Gram engine
//! does better for many sets ([`crate::Network::gram_features`]): when the element network ends
//! in one scalar per element it computes one element-level Gram matrix over the unique elements
//! (the engine's own parallel Gram) and assembles every set sum from it.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::{ArrayViewD, Axis};
use rand::RngCore;

use super::{Feats, Features, Layer, Params, Prepared, SigMode, Signature};
use crate::error::InputProblem;
use crate::error::{NtkError, Rejection, Result};
use crate::layout::{Kernel, KernelCtx, Layout, Stream};
use crate::network::{Network, PreparedInput};

/// How `deep_set` combines the outputs of a set's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetReduce {
    /// `Σ_i g(A_i)`: size-extensive (an empty set gives 0).
    #[default]
    Sum,
    /// `|A|⁻¹ Σ_i g(A_i)`: needs at least one element.
    Mean,
}

impl SetReduce {
    /// The weight `w_A` of a set of `n` elements: 1 for a sum, `1/n` for a mean.
    pub fn weight(self, n: usize) -> f64 {
        match self {
            SetReduce::Sum => 1.0,
            SetReduce::Mean => 1.0 / n as f64,
        }
    }
    /// The spec name, `sum` or `mean`.
    pub fn name(self) -> &'static str {
        match self {
            SetReduce::Sum => "sum",
            SetReduce::Mean => "mean",
        }
    }
}

/// `deep_set`: the element network `inner` on every element of a set, reduced by `reduce`.
/// See the module docs for the kernels and the input format.
#[derive(Debug)]
pub struct DeepSet {
    inner: Network,
    reduce: SetReduce,
}

impl DeepSet {
    /// A set layer over the element network `layers`.
    pub fn new(layers: Vec<Box<dyn Layer>>, reduce: SetReduce) -> Result<Self> {
        if layers.is_empty() {
            return Err(NtkError::spec(
                "deep_set needs at least one element layer in `layers`",
            ));
        }
        Ok(DeepSet {
            inner: Network::new(layers),
            reduce,
        })
    }
    /// The element network.
    pub fn element_network(&self) -> &Network {
        &self.inner
    }
    /// The reduction.
    pub fn reduce(&self) -> SetReduce {
        self.reduce
    }

    /// The number of elements of a set, checking that its data is whole elements and that a
    /// mean has at least one.
    pub fn set_len(&self, x: &Features) -> Result<usize> {
        let n = x.set_len()?;
        if n == 0 && self.reduce == SetReduce::Mean {
            return Err(NtkError::input(
                InputProblem::Empty,
                "a set is empty, and the mean over no elements is undefined: give every set at \
                 least one element, or use \"reduce\": \"sum\" (an empty set then gives 0)",
            ));
        }
        Ok(n)
    }

    /// The kernel signature of the pooled output for elements of signature `element`.
    fn output_signature(&self, element: &Signature) -> Result<Signature> {
        self.inner
            .root
            .signature(Stream::One(element.clone()), SigMode::Kernel)?
            .one()
    }

    /// The per-set summary of [`Layer::prepare_input`].
    fn prepare(&self, x: &Features) -> Result<SetPrepared> {
        self.set_len(x)?;
        let out = self.output_signature(&x.sig)?;
        let items = x
            .set_elements()?
            .into_iter()
            .map(|features| {
                let first = self.inner.first_layer_summary(&features)?;
                let view = PreparedInput::from_parts(&features, first.clone());
                let (self_kernel, rec) = self.inner.self_kernel_prepared(&view)?;
                Ok(PreparedElement {
                    features,
                    first,
                    self_kernel,
                    rec,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SetPrepared { items, out })
    }
}

/// One element of a prepared set: its features, the element network's first-layer summary,
/// its self-kernel (the element network's output) and its recorded self-kernel diagonals.
#[derive(Debug)]
struct PreparedElement {
    features: Features,
    first: Option<Prepared>,
    self_kernel: Kernel,
    rec: Vec<Vec<f64>>,
}

impl PreparedElement {
    fn view(&self) -> PreparedInput<'_> {
        PreparedInput::from_parts(&self.features, self.first.clone())
    }
}

/// [`DeepSet`]'s per-set summary: every element prepared, plus the pooled output signature.
#[derive(Debug)]
struct SetPrepared {
    items: Vec<PreparedElement>,
    out: Signature,
}

fn prepared_set(p: &Prepared) -> Result<&SetPrepared> {
    p.downcast_ref::<SetPrepared>().ok_or_else(|| {
        NtkError::input(
            InputProblem::Shape,
            "deep_set was given an input prepared by another layer",
        )
    })
}

/// Adds `w · k` into `acc`.
fn add_scaled(acc: &mut Kernel, k: &Kernel, w: f64) -> Result<()> {
    if acc.layout != k.layout || acc.nngp.len() != k.nngp.len() {
        return Err(NtkError::input(
            InputProblem::Mismatch,
            format!(
                "deep_set: element kernels have different layouts ({} vs {})",
                acc.layout, k.layout
            ),
        ));
    }
    acc.add_scaled(k, w);
    Ok(())
}

impl Layer for DeepSet {
    fn name(&self) -> String {
        "deep_set".into()
    }
    fn describe(&self) -> String {
        let layers = super::combinators::describe_all(&self.inner.root.layers, ", ");
        format!("deep_set({})[{}]", self.reduce.name(), layers)
    }
    fn homogeneous(&self) -> bool {
        self.inner.root.homogeneous()
    }
    /// The network input (the sets) is not Gaussian; the pooled output is Gaussian when the
    /// element network's is (a sum of jointly Gaussian values).
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        let g = input.one()?;
        self.inner.root.gaussian(Stream::One(g))
    }
    fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>> {
        let s = input.one()?;
        self.inner.root.signature(Stream::One(s), mode)
    }
    fn kernel(&self, _: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        Err(NtkError::reject_as(
            Rejection::Placement,
            "reads the network's set inputs, so it must be the network's first layer (put \
             per-element layers inside its `layers`)",
        ))
    }
    fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        let s = input.as_one()?;
        Ok(Params {
            values: vec![],
            children: vec![self.inner.root.init(&Stream::One(s.clone()), rng)?],
        })
    }
    fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
        let x = x.as_one()?;
        let n = self.set_len(x)?;
        let p = &params.children[0];
        let out_sig = self
            .inner
            .root
            .signature(Stream::One(x.sig.clone()), SigMode::Finite)?
            .one()?;
        let mut sum = Features::zeros(out_sig);
        for e in x.set_elements()? {
            let y = self.inner.root.apply(p, &Stream::One(e))?.one()?;
            sum.data.iter_mut().zip(&y.data).for_each(|(a, b)| *a += b);
        }
        let w = self.reduce.weight(n);
        sum.data.iter_mut().for_each(|v| *v *= w);
        Ok(Stream::One(sum))
    }
    fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats> {
        let x = x.as_one()?;
        let n = self.set_len(x)?;
        let w = self.reduce.weight(n);
        let mut dy = dy.as_one()?.clone();
        dy.data.iter_mut().for_each(|v| *v *= w);
        let dy = Stream::One(dy);
        let mut dx = Vec::with_capacity(x.data.len());
        for e in x.set_elements()? {
            let d = self
                .inner
                .root
                .vjp(
                    &params.children[0],
                    &Stream::One(e),
                    &dy,
                    &mut grad.children[0],
                )?
                .one()?;
            dx.extend(d.data);
        }
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dx,
        }))
    }
    fn extra_values(&self, input: &Stream<Signature>) -> usize {
        self.inner.root.extra_values(input)
    }
    fn children(&self) -> Vec<&dyn Layer> {
        self.inner.root.children()
    }
    fn prepare_input(&self, x: &Features) -> Option<Result<Prepared>> {
        Some(self.prepare(x).map(|p| Arc::new(p) as Prepared))
    }
    /// The double sum over the two sets' elements; for a set with itself (the same prepared
    /// value) the diagonal terms reuse the elements' self-kernels.
    fn kernel_from_prepared(&self, a: &Prepared, b: &Prepared) -> Result<Stream<Kernel>> {
        let same = Arc::ptr_eq(a, b);
        let (a, b) = (prepared_set(a)?, prepared_set(b)?);
        let w = self.reduce.weight(a.items.len()) * self.reduce.weight(b.items.len());
        let mut acc = Kernel {
            layout: a.out.layout.clone(),
            nngp: vec![0.0; a.out.layout.len()],
            ntk: vec![0.0; a.out.layout.len()],
            channels: a.out.channels,
        };
        for (i, ea) in a.items.iter().enumerate() {
            for (j, eb) in b.items.iter().enumerate() {
                if same && i == j {
                    add_scaled(&mut acc, &ea.self_kernel, w)?;
                } else {
                    let k = self.inner.cross_kernel_prepared(
                        &ea.view(),
                        &eb.view(),
                        &ea.rec,
                        &eb.rec,
                    )?;
                    add_scaled(&mut acc, &k, w)?;
                }
            }
        }
        Ok(Stream::One(acc))
    }
    fn as_deep_set(&self) -> Option<&DeepSet> {
        Some(self)
    }
}

impl Features {
    /// A set of elements of one signature, for networks that start with `deep_set`: the
    /// elements' data back to back under the element signature (`n = 0` gives an empty set).
    pub fn set(element: Signature, elements: &[Features]) -> Result<Features> {
        if element.feature_len() == 0 {
            return Err(NtkError::input(
                InputProblem::Empty,
                format!(
                    "set elements of signature {} × {} channels hold no values",
                    element.layout, element.channels
                ),
            ));
        }
        let mut data = Vec::with_capacity(elements.len() * element.feature_len());
        for (i, e) in elements.iter().enumerate() {
            if e.sig != element || e.data.len() != element.feature_len() {
                return Err(NtkError::input(
                    InputProblem::Mismatch,
                    format!(
                    "set element {i} has signature {} × {} channels ({} values), not the set's {} \
                     × {} channels ({} values)",
                    e.sig.layout,
                    e.sig.channels,
                    e.data.len(),
                    element.layout,
                    element.channels,
                    element.feature_len()
                ),
                ));
            }
            data.extend_from_slice(&e.data);
        }
        Ok(Features { sig: element, data })
    }
    /// The number of elements of a set ([`Features::set`]): `data.len() / sig.feature_len()`,
    /// an error when that is not whole.
    pub fn set_len(&self) -> Result<usize> {
        let len = self.sig.feature_len();
        if len == 0 || !self.data.len().is_multiple_of(len) {
            return Err(NtkError::input(
                InputProblem::Shape,
                format!(
                "a set holds {} values, not a whole number of elements of {} × {} channels ({} \
                 values each)",
                self.data.len(),
                self.sig.layout,
                self.sig.channels,
                len
            ),
            ));
        }
        Ok(self.data.len() / len)
    }
    /// The elements of a set, in order.
    pub fn set_elements(&self) -> Result<Vec<Features>> {
        let n = self.set_len()?;
        let len = self.sig.feature_len();
        Ok((0..n)
            .map(|i| Features {
                sig: self.sig.clone(),
                data: self.data[i * len..][..len].to_vec(),
            })
            .collect())
    }
}

/// Sets from a padded array and element counts, the input format of `entk kernel` for networks
/// that start with `deep_set`.
///
/// `x` is `(N, n_max, D)` (vector elements, `K⁰ = a·b/D`) or `(N, n_max, H, W, C)` (images or
/// S² signals); set `s` consists of its first `counts[s]` elements, and the remaining
/// `n_max − counts[s]` slots are padding, which must be zero (a non-zero padding slot almost
/// always means a count is wrong). `name` (`x1`, `train`, ...) labels the errors: counts and
/// sets of different number, a count above `n_max`, non-zero padding, non-finite values.
pub fn sets_from_padded(name: &str, x: ArrayViewD<f64>, counts: &[usize]) -> Result<Vec<Features>> {
    let shape = x.shape().to_vec();
    let element = match shape.len() {
        3 => Signature {
            layout: Layout::Scalar,
            channels: shape[2],
        },
        5 => Signature {
            layout: Layout::Pixels {
                h: shape[2],
                w: shape[3],
            },
            channels: shape[4],
        },
        _ => {
            return Err(NtkError::input(
                InputProblem::Shape,
                format!(
                "{name}: sets must be a padded array (N, n_max, D) of vectors or (N, n_max, H, W, \
                 C) of images or S² signals, got shape {shape:?}"
            ),
            ))
        }
    };
    if element.feature_len() == 0 {
        return Err(NtkError::input(
            InputProblem::Empty,
            format!(
                "{name}: set elements of shape {:?} hold no values",
                &shape[2..]
            ),
        ));
    }
    let (n, slots) = (shape[0], shape[1]);
    if counts.len() != n {
        return Err(NtkError::input(
            InputProblem::Mismatch,
            format!("{name} has {n} sets but {} counts", counts.len()),
        ));
    }
    let mut out = Vec::with_capacity(n);
    for (s, (set, &count)) in x.axis_iter(Axis(0)).zip(counts).enumerate() {
        if count > slots {
            return Err(NtkError::input(
                InputProblem::Shape,
                format!(
                    "{name} set {s} has count {count} but only {slots} element slots (the array's \
                 second axis)"
                ),
            ));
        }
        let mut data = Vec::with_capacity(count * element.feature_len());
        for (slot, e) in set.axis_iter(Axis(0)).enumerate() {
            if slot < count {
                if let Some(v) = e.iter().find(|v| !v.is_finite()) {
                    return Err(NtkError::input(
                        InputProblem::NonFinite,
                        format!(
                            "{name} set {s} element {slot} contains {v} (inputs must be finite)"
                        ),
                    ));
                }
                data.extend(e.iter().copied());
            } else if e.iter().any(|v| *v != 0.0) {
                return Err(NtkError::input(
                    InputProblem::Shape,
                    format!(
                        "{name} set {s} has count {count} but padding slot {slot} is \
                     not zero; padding must be zero (is the count right?)"
                    ),
                ));
            }
        }
        out.push(Features {
            sig: element.clone(),
            data,
        });
    }
    Ok(out)
}

/// The sets of a Gram computation in element form: the unique elements (equal bits, first
/// appearance first) and, per set, the indices of its elements among them.
struct SetIndex {
    unique: Vec<Features>,
    members: Vec<Vec<usize>>,
}

impl SetIndex {
    fn new(ds: &DeepSet, xs: &[Features]) -> Result<Self> {
        let mut seen: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut unique = Vec::new();
        let mut members = Vec::with_capacity(xs.len());
        for x in xs {
            ds.set_len(x)?;
            let idx = x
                .set_elements()?
                .into_iter()
                .map(|e| {
                    let key: Vec<u64> = e.data.iter().map(|v| v.to_bits()).collect();
                    *seen.entry(key).or_insert_with(|| {
                        unique.push(e);
                        unique.len() - 1
                    })
                })
                .collect();
            members.push(idx);
        }
        Ok(SetIndex { unique, members })
    }
}

/// Progress of the element Gram, reported in the units of the set Gram (`total` set-level
/// units), so a caller's progress bar advances evenly across both.
struct Scaled<'a> {
    outer: &'a dyn crate::gram::Progress,
    total: usize,
}

impl crate::gram::Progress for Scaled<'_> {
    fn update(&self, done: usize, total: usize) {
        let f = done as f64 / total.max(1) as f64;
        self.outer.update(
            ((f * self.total as f64) as usize).min(self.total),
            self.total,
        );
    }
    fn cancelled(&self) -> bool {
        self.outer.cancelled()
    }
}

/// `Σ_{i∈a} Σ_{j∈b} g[a_i, b_j]`.
fn double_sum(g: &ndarray::Array2<f64>, a: &[usize], b: &[usize]) -> f64 {
    a.iter()
        .map(|&i| {
            let row = g.row(i);
            b.iter().map(|&j| row[j]).sum::<f64>()
        })
        .sum()
}

/// `(K(A, A), Θ(A, A))` of each set.
pub(crate) type SelfKernels = Vec<(f64, f64)>;

/// The set-level kernels `(K, Θ)` after `deep_set` from element Gram matrices.
pub(crate) struct PooledSets {
    /// `K(A, B)` and `Θ(A, B)`, `N1×N2`.
    pub cross: (ndarray::Array2<f64>, ndarray::Array2<f64>),
    /// `K(A, A)` and `Θ(A, A)` of the x1 sets and of the x2 sets, when asked for.
    pub selves: Option<(SelfKernels, SelfKernels)>,
    /// Channels of the pooled output.
    pub channels: usize,
}

impl DeepSet {
    /// The pooled set kernels of `x1` against `x2` (`None`: itself) through one element-level
    /// Gram matrix over the unique elements, or `None` when the element network does not end in
    /// one scalar per element (the caller then sums per pair of sets). `selves`: also return
    /// each set's kernel with itself (for a cross computation; a symmetric one has them on the
    /// diagonal).
    pub(crate) fn pooled_grams(
        &self,
        x1: &[Features],
        x2: Option<&[Features]>,
        selves: bool,
        units: usize,
        opts: &crate::gram::GramOptions<'_>,
    ) -> Result<Option<PooledSets>> {
        let element = &x1[0].sig;
        let out = self.output_signature(element)?;
        if out.layout != Layout::Scalar {
            return Ok(None);
        }
        let scaled = opts.progress.map(|p| Scaled {
            outer: p,
            total: units,
        });
        let inner_opts = crate::gram::GramOptions {
            threads: opts.threads,
            memory_budget: opts.memory_budget,
            progress: scaled.as_ref().map(|s| s as &dyn crate::gram::Progress),
        };
        let s1 = SetIndex::new(self, x1)?;
        let s2 = x2.map(|x| SetIndex::new(self, x)).transpose()?;
        let element_gram = |a: &[Features], b: Option<&[Features]>| -> Result<_> {
            if a.is_empty() || b.is_some_and(|b| b.is_empty()) {
                let n2 = b.map_or(a.len(), <[Features]>::len);
                let z = ndarray::Array2::zeros((a.len(), n2));
                return Ok((z.clone(), z));
            }
            let g = self
                .inner
                .gram_features(a, b, &inner_opts)
                .map_err(element_error)?;
            Ok((g.nngp, g.ntk))
        };
        let (gk, gt) = element_gram(&s1.unique, s2.as_ref().map(|s| &s.unique[..]))?;
        let m2 = s2.as_ref().map_or(&s1.members, |s| &s.members);
        let (n1, n2) = (s1.members.len(), m2.len());
        let mut k = ndarray::Array2::zeros((n1, n2));
        let mut t = ndarray::Array2::zeros((n1, n2));
        for (i, a) in s1.members.iter().enumerate() {
            let j0 = if s2.is_none() { i } else { 0 };
            for (j, b) in m2.iter().enumerate().skip(j0) {
                let w = self.reduce.weight(a.len()) * self.reduce.weight(b.len());
                k[[i, j]] = w * double_sum(&gk, a, b);
                t[[i, j]] = w * double_sum(&gt, a, b);
                if s2.is_none() {
                    k[[j, i]] = k[[i, j]];
                    t[[j, i]] = t[[i, j]];
                }
            }
        }
        let selves = match (&s2, selves) {
            (Some(s2), true) => {
                let quiet = crate::gram::GramOptions {
                    progress: None,
                    ..inner_opts
                };
                let set_selves = |s: &SetIndex| -> Result<Vec<(f64, f64)>> {
                    s.members
                        .iter()
                        .map(|m| {
                            if opts.progress.is_some_and(|p| p.cancelled()) {
                                return Err(NtkError::Interrupted);
                            }
                            self.self_from_elements(&s.unique, m, &quiet)
                        })
                        .collect()
                };
                Some((set_selves(&s1)?, set_selves(s2)?))
            }
            _ => None,
        };
        Ok(Some(PooledSets {
            cross: (k, t),
            selves,
            channels: out.channels,
        }))
    }

    /// `K(A, A)` and `Θ(A, A)` of one set from the symmetric element Gram of its unique
    /// elements, summed in the set's element order (as the symmetric set Gram sums them).
    fn self_from_elements(
        &self,
        unique: &[Features],
        members: &[usize],
        opts: &crate::gram::GramOptions<'_>,
    ) -> Result<(f64, f64)> {
        if members.is_empty() {
            return Ok((0.0, 0.0));
        }
        let mut local: Vec<usize> = members.to_vec();
        local.sort_unstable();
        local.dedup();
        // Keep first-appearance order, as the whole computation numbers elements.
        let pos: HashMap<usize, usize> = local.iter().enumerate().map(|(p, &u)| (u, p)).collect();
        let elems: Vec<Features> = local.iter().map(|&u| unique[u].clone()).collect();
        let g = self
            .inner
            .gram_features(&elems, None, opts)
            .map_err(element_error)?;
        let idx: Vec<usize> = members.iter().map(|u| pos[u]).collect();
        let w = self.reduce.weight(members.len()).powi(2);
        Ok((
            w * double_sum(&g.nngp, &idx, &idx),
            w * double_sum(&g.ntk, &idx, &idx),
        ))
    }
}

/// Says that an element-level error happened inside `deep_set` (its input indices number the
/// unique elements of all sets in order, not the sets).
fn element_error(e: NtkError) -> NtkError {
    match e {
        NtkError::Numerical(m) => NtkError::Numerical(format!(
            "inside deep_set, at the element level (elements numbered across all sets): {m}"
        )),
        other => other,
    }
}
