//! A network: a serial stack of layers with its spec, plan and kernel entry points.

use std::fmt;

use ndarray::{ArrayView3, ArrayView4};

use crate::error::InputProblem;
use crate::error::{NtkError, Rejection, Result};
use crate::layers::{
    locate, Batch, BatchGrad, Feats, Features, Layer, Params, Prepared, Serial, SigMode, Signature,
};
use crate::layout::{DiagMode, Kernel, KernelCtx, Layout, Stream};
use crate::param::Parameterization;
use crate::spec::ArchSpec;

/// A network: the layers of a spec (or built by hand) as one [`Serial`].
#[derive(Debug)]
pub struct Network {
    /// The layers.
    pub(crate) root: Serial,
    /// The parameterisation (informational; every linear layer carries its own).
    parameterization: Parameterization,
}

/// One row of a [`KernelPlan`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlanStep {
    /// Index of the top-level layer.
    pub index: usize,
    /// The layer's description.
    pub layer: String,
    /// Kernel layouts and nominal channel counts after the layer (several for branching
    /// layers).
    pub outputs: Vec<Signature>,
    /// Kernel values per pair after the layer (NNGP only; NTK doubles it).
    pub values_per_pair: usize,
}

/// What a kernel computation will do, before doing it: layers, layouts, sizes and memory.
///
/// Memory model: each worker thread holds one pair's NNGP and NTK as input and output of its
/// largest layer (`4 × max values × 8` bytes, the maximum including what a layer holds in
/// between, [`Layer::extra_values`]: the stride-1 kernel of a strided convolution, the layers
/// inside a `serial`/`repeat`) plus the input kernel `K⁰` (`2 × input values × 8`); every input
/// keeps its recorded self-kernel diagonals; the outputs are two `N1×N2` matrices. Measured
/// against peak RSS (tests/memory_estimate.rs) for C4, C8 and D16 GCNNs: within 15 %.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelPlan {
    /// Parameterisation.
    pub parameterization: Parameterization,
    /// Input signature (`H×W×C` images).
    pub input: Signature,
    /// One step per top-level layer.
    pub steps: Vec<PlanStep>,
    /// The output layout.
    pub output: Layout,
    /// Peak working bytes of one pair.
    pub bytes_per_pair: u64,
    /// Recorded self-kernel diagonal values per input.
    pub diag_values_per_input: usize,
}

impl KernelPlan {
    /// Estimated peak bytes of a Gram computation of `n1 × n2` inputs (`n2 = None`: symmetric)
    /// on `threads` threads.
    pub fn peak_bytes(&self, n1: usize, n2: Option<usize>, threads: usize) -> u64 {
        let n_inputs = (n1 as u64).saturating_add(n2.unwrap_or(0) as u64);
        let out = 16u64.saturating_mul((n1 as u64).saturating_mul(n2.unwrap_or(n1) as u64));
        (threads.max(1) as u64)
            .saturating_mul(self.bytes_per_pair)
            .saturating_add(n_inputs.saturating_mul(self.diag_values_per_input as u64 * 8))
            .saturating_add(out)
    }
    /// True when the output is one number per pair (an invariant scalar-output network).
    pub fn is_pooled(&self) -> bool {
        self.output == Layout::Scalar
    }
}

impl fmt::Display for KernelPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kernel plan ({} parameterisation)",
            self.parameterization
        )?;
        writeln!(
            f,
            "  input: {} × {} channels",
            self.input.layout, self.input.channels
        )?;
        for s in &self.steps {
            let ls: Vec<String> = s.outputs.iter().map(|o| o.layout.to_string()).collect();
            writeln!(
                f,
                "  {:>2} {:<60} -> {} [{} values/pair]",
                s.index,
                s.layer,
                ls.join(" | "),
                s.values_per_pair
            )?;
        }
        writeln!(f, "  output: {}", self.output)?;
        write!(
            f,
            "  peak bytes per pair: {}; self-kernel values per input: {}",
            self.bytes_per_pair, self.diag_values_per_input
        )
    }
}

fn stream_vec<T: Clone>(s: &Stream<T>) -> Vec<T> {
    match s {
        Stream::One(t) => vec![t.clone()],
        Stream::Many(v) => v.clone(),
    }
}

/// Checks an image batch for NaN/Inf.
pub(crate) fn check_finite(name: &str, x: &ArrayView4<f64>) -> Result<()> {
    if let Some((idx, v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(NtkError::input(
            InputProblem::NonFinite,
            format!(
                "{name}[{},{},{},{}] is {v} (inputs must be finite)",
                idx.0, idx.1, idx.2, idx.3
            ),
        ));
    }
    Ok(())
}

impl Network {
    /// The network of a spec.
    pub fn from_spec(spec: &ArchSpec) -> Result<Self> {
        let layers = spec
            .layers
            .iter()
            .map(|l| l.build())
            .collect::<Result<Vec<_>>>()?;
        Ok(Network {
            root: Serial::new(layers),
            parameterization: spec.parameterization,
        })
    }
    /// Parses and builds a JSON spec.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_spec(&ArchSpec::from_json(text)?)
    }
    /// Parses and builds a JSON spec whose group names are looked up in `registry` (a
    /// downstream crate's groups next to the built-in ones, `entk_reps::default_registry`).
    pub fn from_json_in(text: &str, registry: &entk_groups::GroupRegistry) -> Result<Self> {
        Self::from_spec(&ArchSpec::from_json_in(text, registry)?)
    }
    /// A network from layer objects. Its [`Network::parameterization`] is that of the first
    /// linear layer (nested ones included), NTK when there is none.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Self {
        fn first(l: &dyn Layer) -> Option<Parameterization> {
            l.affine()
                .map(|a| a.param)
                .or_else(|| l.children().into_iter().find_map(first))
        }
        let parameterization = layers.iter().find_map(|l| first(&**l)).unwrap_or_default();
        Network {
            root: Serial::new(layers),
            parameterization,
        }
    }

    /// The top-level layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.root.layers
    }
    /// The parameterisation the network was built with (informational: every linear layer
    /// carries its own).
    pub fn parameterization(&self) -> Parameterization {
        self.parameterization
    }

    /// The signature of `H×W×C` images.
    pub fn image_signature(h: usize, w: usize, c: usize) -> Signature {
        Signature {
            layout: Layout::Pixels { h, w },
            channels: c,
        }
    }

    /// The signature of raw SO(3) signals of bandlimit `L` with `C` channels: features stored
    /// `(γ, β, α, C)` = `(2L−1, 2L, 2L−1, C)` on the Driscoll–Healy grid (docs/conventions.md#so3).
    pub fn so3_signature(bandlimit: usize, c: usize) -> Signature {
        Signature {
            layout: Layout::So3 { bandlimit },
            channels: c,
        }
    }

    /// The plan for inputs of signature `input` (validates the whole network).
    pub fn plan(&self, input: &Signature) -> Result<KernelPlan> {
        self.check_set_position()?;
        self.check_gaussian()?;
        self.check_input_layout(&input.layout)?;
        let sigs = self
            .root
            .signatures(Stream::One(input.clone()), SigMode::Kernel)?;
        let mut steps = Vec::new();
        let mut max_vals = input.layout.len();
        let mut diag = 0usize;
        for (i, (layer, s)) in self.root.layers.iter().zip(&sigs[1..]).enumerate() {
            let v = stream_vec(s);
            let values = v
                .iter()
                .fold(0usize, |a, s| a.saturating_add(s.layout.len()));
            max_vals = max_vals.max(values).max(layer.extra_values(&sigs[i]));
            let d_in: usize = stream_vec(&sigs[i])
                .iter()
                .map(|s| s.layout.diag_len())
                .max()
                .unwrap_or(1);
            diag = diag.saturating_add(count_recorders(&**layer).saturating_mul(d_in));
            steps.push(PlanStep {
                index: i,
                layer: layer.describe(),
                outputs: v,
                values_per_pair: values,
            });
        }
        let output = match sigs.last().expect("nonempty") {
            Stream::One(s) => s.layout.clone(),
            Stream::Many(_) => {
                return Err(NtkError::spec(
                    "network ends with several branches; add fan_in_sum or fan_in_concat",
                ))
            }
        };
        Ok(KernelPlan {
            parameterization: self.parameterization,
            input: input.clone(),
            steps,
            output,
            bytes_per_pair: (max_vals as u64)
                .saturating_mul(4 * 8)
                .saturating_add((input.layout.len() as u64).saturating_mul(2 * 8)),
            diag_values_per_input: diag,
        })
    }

    /// True when the network reads sets: its first layer is `deep_set`
    /// ([`crate::layers::DeepSet`]), and each input is one set ([`Features::set`]).
    pub fn takes_sets(&self) -> bool {
        self.root
            .layers
            .first()
            .is_some_and(|l| l.as_deep_set().is_some())
    }

    /// Refuses a `deep_set` anywhere but first: only the first layer sees the network's sets.
    fn check_set_position(&self) -> Result<()> {
        fn nested(l: &dyn Layer) -> bool {
            l.children()
                .iter()
                .any(|c| c.as_deep_set().is_some() || nested(*c))
        }
        for (i, l) in self.root.layers.iter().enumerate() {
            if (i > 0 && l.as_deep_set().is_some()) || nested(&**l) {
                return Err(NtkError::reject_as(
                    Rejection::Placement,
                    "a deep_set must be the network's first layer and cannot be nested: only \
                     the first layer reads the network's set inputs (put per-element layers \
                     inside its `layers`)",
                )
                .at_layer(i, || l.name()));
            }
        }
        Ok(())
    }

    /// Refuses networks whose dual activations would see a non-Gaussian input
    /// ([`Layer::gaussian`]): their "kernel" would be silently wrong (relu∘relu ≠ relu's dual
    /// applied twice). Every kernel entry point checks this.
    fn check_gaussian(&self) -> Result<()> {
        self.root
            .gaussian(Stream::One(false))
            .map(|_| ())
            .map_err(|e| self.at_root(e))
    }

    /// Refuses raw SO(3)-signal inputs for networks that do not start with `so3_conv` or
    /// `so3_pool`. Their input kernel `K⁰(R, R′)` is not invariant under a common γ-shift, which
    /// every SO(3) kernel layout assumes; these two layers are the ones whose output is the same
    /// for `K⁰` and its γ-shift average (docs/theory.md), and `so3_conv`'s output is again
    /// γ-shift invariant, so everything after it is exact. (Nonlinearities on the raw input are
    /// refused anyway: it is not Gaussian.)
    fn check_input_layout(&self, input: &Layout) -> Result<()> {
        if !matches!(input, Layout::So3 { .. }) {
            return Ok(());
        }
        let reason = "SO(3)-signal inputs (N, 2L−1, 2L, 2L−1, C) must go straight into so3_conv \
                      (or so3_pool): their input kernel is not invariant under a common γ-shift, \
                      which every later SO(3) layer assumes";
        match self.root.layers.first() {
            Some(l) if matches!(l.name().as_str(), "so3_conv" | "so3_pool") => Ok(()),
            // Sets of SO(3) signals: the element network must start right.
            Some(l) if l.as_deep_set().is_some() => l
                .as_deep_set()
                .expect("checked")
                .element_network()
                .check_input_layout(input),
            Some(l) => Err(NtkError::reject_as(Rejection::Layout, reason).at_layer(0, || l.name())),
            None => Err(NtkError::spec(format!(
                "the network has no layers; {reason}"
            ))),
        }
    }

    /// Runs the kernel map of an input against itself, recording its self-kernel diagonals.
    pub fn self_kernel(&self, k0: Kernel) -> Result<(Kernel, Vec<Vec<f64>>)> {
        self.self_kernel_from(0, Stream::One(k0))
    }
    /// Runs the kernel map of a cross pair given both inputs' recordings.
    pub fn cross_kernel(&self, k0: Kernel, rec1: &[Vec<f64>], rec2: &[Vec<f64>]) -> Result<Kernel> {
        self.cross_kernel_from(0, Stream::One(k0), rec1, rec2)
    }

    /// Makes an input ready for [`Network::self_kernel_prepared`] and
    /// [`Network::cross_kernel_prepared`]: when the first layer offers a per-input summary
    /// ([`Layer::prepare_input`]) it is computed here, once.
    pub fn prepare_input<'a>(&self, x: &'a Features) -> Result<PreparedInput<'a>> {
        self.check_input_layout(&x.sig.layout)?;
        Ok(PreparedInput {
            features: x,
            first: self.first_layer_summary(x)?,
        })
    }
    /// The first layer's per-input summary of `x`, if it offers one.
    pub(crate) fn first_layer_summary(&self, x: &Features) -> Result<Option<Prepared>> {
        match self.root.layers.first() {
            Some(l) => locate(0, &**l, l.prepare_input(x).transpose()),
            None => Ok(None),
        }
    }
    /// The kernel a pair's computation starts from and the index of the first layer still to
    /// run: the first layer's output from the prepared summaries, or `K⁰` and layer 0.
    fn start_pair(&self, a: &PreparedInput, b: &PreparedInput) -> Result<(usize, Stream<Kernel>)> {
        match (&a.first, &b.first) {
            (Some(pa), Some(pb)) => {
                let first = &*self.root.layers[0];
                Ok((1, locate(0, first, first.kernel_from_prepared(pa, pb))?))
            }
            _ => Ok((
                0,
                Stream::One(Kernel::from_features(a.features, b.features)?),
            )),
        }
    }
    /// [`Network::self_kernel`] of a prepared input.
    pub fn self_kernel_prepared(&self, x: &PreparedInput) -> Result<(Kernel, Vec<Vec<f64>>)> {
        let (start, k) = self.start_pair(x, x)?;
        self.self_kernel_from(start, k)
    }
    /// [`Network::cross_kernel`] of two prepared inputs.
    pub fn cross_kernel_prepared(
        &self,
        a: &PreparedInput,
        b: &PreparedInput,
        rec1: &[Vec<f64>],
        rec2: &[Vec<f64>],
    ) -> Result<Kernel> {
        let (start, k) = self.start_pair(a, b)?;
        self.cross_kernel_from(start, k, rec1, rec2)
    }
    pub(crate) fn self_kernel_from(
        &self,
        start: usize,
        k: Stream<Kernel>,
    ) -> Result<(Kernel, Vec<Vec<f64>>)> {
        self.check_gaussian()?;
        let mut rec = Vec::new();
        let mut ctx = KernelCtx {
            diag: DiagMode::Record(&mut rec),
        };
        let k = self
            .root
            .kernel_from(start, k, &mut ctx)
            .and_then(|k| self.output(k))?;
        Ok((k, rec))
    }
    pub(crate) fn cross_kernel_from(
        &self,
        start: usize,
        k: Stream<Kernel>,
        rec1: &[Vec<f64>],
        rec2: &[Vec<f64>],
    ) -> Result<Kernel> {
        self.check_gaussian()?;
        let mut ctx = KernelCtx {
            diag: DiagMode::Replay {
                first: rec1,
                second: rec2,
                pos: 0,
            },
        };
        self.root
            .kernel_from(start, k, &mut ctx)
            .and_then(|k| self.output(k))
    }

    /// The (unpooled, if the network does not pool) output kernel of one pair of inputs given as
    /// features (images or group signals). Self-kernels are computed internally. Its
    /// kernel-sized work arrays stay in the process's pool for the next call, as a Gram
    /// computation's do ([`crate::release_buffers`] frees them).
    pub fn kernel_pair_features(&self, x1: &Features, x2: &Features) -> Result<Kernel> {
        if x1.sig != x2.sig {
            return Err(NtkError::input(
                InputProblem::Mismatch,
                format!(
                    "the two inputs have different shapes: {} × {} vs {} × {}",
                    x1.sig.layout, x1.sig.channels, x2.sig.layout, x2.sig.channels
                ),
            ));
        }
        if x1.data.iter().chain(&x2.data).any(|v| !v.is_finite()) {
            return Err(NtkError::input(
                InputProblem::NonFinite,
                "inputs contain NaN or Inf",
            ));
        }
        let _buffers = crate::scratch::session(1);
        let (p1, p2) = (self.prepare_input(x1)?, self.prepare_input(x2)?);
        let (_, r1) = self.self_kernel_prepared(&p1)?;
        let (_, r2) = self.self_kernel_prepared(&p2)?;
        self.cross_kernel_prepared(&p1, &p2, &r1, &r2)
    }

    /// [`Network::kernel_pair_features`] for two `H×W×C` images.
    pub fn kernel_pair(&self, x1: ArrayView3<f64>, x2: ArrayView3<f64>) -> Result<Kernel> {
        self.kernel_pair_features(&image_features(x1), &image_features(x2))
    }
}

/// An input made ready for the kernel engine ([`Network::prepare_input`]): its features and,
/// when the network's first layer offers one, that layer's per-input summary.
#[derive(Clone)]
pub struct PreparedInput<'a> {
    features: &'a Features,
    first: Option<Prepared>,
}

impl<'a> PreparedInput<'a> {
    /// An input with a first-layer summary made elsewhere (e.g. kept by `deep_set`).
    pub(crate) fn from_parts(features: &'a Features, first: Option<Prepared>) -> Self {
        PreparedInput { features, first }
    }
}

impl fmt::Debug for PreparedInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedInput")
            .field("features", &self.features.sig)
            .field("summarised", &self.first.is_some())
            .finish()
    }
}

/// The bandlimit `L` of raw SO(3) signals whose per-sample grid axes are `(γ, β, α)` =
/// `(2L−1, 2L, 2L−1)` (docs/spec.md#input-arrays), or a one-line error naming the shape.
pub fn so3_signal_bandlimit(gamma: usize, beta: usize, alpha: usize) -> Result<usize> {
    let problem = if gamma != alpha {
        Some(format!("the γ and α axes differ ({gamma} vs {alpha})"))
    } else if gamma.is_multiple_of(2) {
        Some(format!(
            "the γ and α axes have {gamma} points, but need an odd number 2L−1"
        ))
    } else if beta != gamma + 1 {
        Some(format!(
            "the β axis has {beta} points, but γ and α with 2L−1 = {gamma} need 2L = {}",
            gamma + 1
        ))
    } else {
        None
    };
    match problem {
        None => Ok(beta / 2),
        Some(p) => Err(NtkError::input(InputProblem::Shape, format!(
            "SO(3) signals have shape (N, 2L−1, 2L, 2L−1, C) over (γ, β, α), e.g. (N, 11, 12, 11, C) \
             for L = 6; got (N, {gamma}, {beta}, {alpha}, C): {p}"
        ))),
    }
}

/// One raw SO(3) signal `(γ, β, α, C)` = `(2L−1, 2L, 2L−1, C)` as [`Features`] of
/// [`Layout::So3`]; errors for a shape that is not such a grid
/// ([`so3_signal_bandlimit`]) or for zero channels.
pub fn so3_features(x: ArrayView4<f64>) -> Result<Features> {
    let (g, b, a, c) = x.dim();
    let bandlimit = so3_signal_bandlimit(g, b, a)?;
    if c == 0 {
        return Err(NtkError::input(
            InputProblem::Empty,
            "SO(3) signals need at least one channel",
        ));
    }
    Ok(Features {
        sig: Network::so3_signature(bandlimit, c),
        data: x.iter().copied().collect(),
    })
}

/// An `H×W×C` image as [`Features`].
pub fn image_features(x: ArrayView3<f64>) -> Features {
    let (h, w, c) = x.dim();
    Features {
        sig: Network::image_signature(h, w, c),
        data: x.iter().copied().collect(),
    }
}

/// Number of diagonal recordings a layer makes per input (nonlinearities, nested included).
pub(crate) fn count_recorders(l: &dyn Layer) -> usize {
    usize::from(l.records_diagonal())
        + l.children()
            .iter()
            .map(|k| count_recorders(*k))
            .sum::<usize>()
}

impl Network {
    /// Locates an error that the root [`Serial`] raised itself (not one of its layers): it
    /// concerns the network's parameters, so it is reported as bad input.
    fn at_root(&self, e: NtkError) -> NtkError {
        match e {
            NtkError::Rejected { reason, .. } => NtkError::input(InputProblem::Mismatch, reason),
            other => other,
        }
    }
    /// The single output of the last layer, or an error naming the position after it.
    fn output<T>(&self, s: Stream<T>) -> Result<T> {
        s.one()
            .map_err(|e| e.at_layer(self.root.layers.len(), || "output".into()))
    }

    /// The signature of the finite network's output for inputs of signature `input`
    /// (validates the network as [`Network::init`] does).
    pub fn output_signature(&self, input: &Signature) -> Result<Signature> {
        let sigs = self
            .root
            .signatures(Stream::One(input.clone()), SigMode::Finite)
            .map_err(|e| self.at_root(e))?;
        match sigs.into_iter().last().expect("input signature") {
            Stream::One(s) => Ok(s),
            Stream::Many(_) => Err(NtkError::spec(
                "network ends with several branches; add fan_in_sum or fan_in_concat",
            )),
        }
    }
    /// Draws the parameters of a finite network for inputs of signature `input`.
    ///
    /// Weights and biases are independent `N(0, s²)` draws in the order documented on each
    /// layer, with `s` from the layer's parameterisation ([`crate::Affine::scales`]).
    pub fn init(&self, input: &Signature, rng: &mut dyn rand::RngCore) -> Result<Params> {
        self.root
            .init(&Stream::One(input.clone()), rng)
            .map_err(|e| self.at_root(e))
    }
    /// [`Network::init`] from a seed (ChaCha8).
    pub fn init_seeded(&self, input: &Signature, seed: u64) -> Result<Params> {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        self.init(input, &mut rng)
    }
    /// The finite forward pass of one sample.
    pub fn apply(&self, params: &Params, x: &Features) -> Result<Features> {
        self.check_sample(x)?;
        self.root
            .apply(params, &Stream::One(x.clone()))
            .map_err(|e| self.at_root(e))
            .and_then(|y| self.output(y))
    }
    /// The forward pass of one sample, keeping what the reverse pass needs: the output
    /// ([`Pullback::output`]) and a [`Pullback`] that maps output cotangents to parameter
    /// gradients (jax's `vjp`). One forward pass serves any number of cotangents.
    pub fn vjp<'a>(&'a self, params: &'a Params, x: &Features) -> Result<Pullback<'a>> {
        self.check_sample(x)?;
        let acts = self
            .root
            .forward_all(params, &Stream::One(x.clone()))
            .map_err(|e| self.at_root(e))?;
        let output = self.output(acts.last().expect("nonempty").clone())?;
        Ok(Pullback {
            net: self,
            params,
            acts,
            output,
        })
    }
    /// The finite forward pass of a batch ([`Batch`]: `n` samples one after another, the
    /// output likewise, sample `b` of the output from sample `b` of the input). Equal to
    /// [`Network::apply`] sample by sample up to rounding (the linear layers run one matrix
    /// product over all samples). Networks that start with `deep_set` are refused (their
    /// inputs are sets of different sizes), as are networks whose top-level layers pass several
    /// branches between them (wrap branches in a `serial`).
    pub fn apply_batch(&self, params: &Params, x: &Batch) -> Result<Batch> {
        self.check_batch(x)?;
        // Not `Layer::apply_batch` of the root, which would run a branching network sample by
        // sample rather than refuse it.
        self.root
            .forward_all_batch(params, x.clone())
            .map(|mut acts| acts.pop().expect("nonempty"))
            .map_err(|e| self.at_root(e))
    }
    /// [`Network::vjp`] of a batch: the forward pass of every sample, kept for
    /// [`BatchPullback::accumulate`] (summed gradients) and [`BatchPullback::gradients`]
    /// (one gradient per sample). Refuses what [`Network::apply_batch`] refuses.
    pub fn vjp_batch<'a>(&'a self, params: &'a Params, x: &Batch) -> Result<BatchPullback<'a>> {
        self.check_batch(x)?;
        let acts = self
            .root
            .forward_all_batch(params, x.clone())
            .map_err(|e| self.at_root(e))?;
        Ok(BatchPullback {
            net: self,
            params,
            acts,
        })
    }
    /// Checks a batch's length and that the network can take it.
    fn check_batch(&self, x: &Batch) -> Result<()> {
        if self.takes_sets() {
            return Err(NtkError::input(
                InputProblem::Argument,
                "batched passes take samples of one shape; a deep_set network's inputs are sets \
                 of different sizes (run it sample by sample)",
            ));
        }
        x.check()
    }
    /// Checks a sample's data length: whole elements of the element signature for a network
    /// that starts with `deep_set` (a set, [`Features::set`]), the signature's length otherwise.
    fn check_sample(&self, x: &Features) -> Result<()> {
        match self.root.layers.first().and_then(|l| l.as_deep_set()) {
            Some(_) => x.set_len().map(|_| ()),
            None => x.check(),
        }
    }
    /// The gradient of `⟨cotangent, f(x)⟩` with respect to the parameters.
    pub fn gradient(&self, params: &Params, x: &Features, cotangent: &Features) -> Result<Params> {
        let mut g = params.zeros_like();
        self.vjp(params, x)?.accumulate(cotangent, &mut g)?;
        Ok(g)
    }
}

/// The saved forward pass of one sample ([`Network::vjp`]).
#[derive(Debug)]
pub struct Pullback<'a> {
    net: &'a Network,
    params: &'a Params,
    acts: Vec<Feats>,
    output: Features,
}

impl Pullback<'_> {
    /// The network's output `f(x)`.
    pub fn output(&self) -> &Features {
        &self.output
    }
    /// The features entering top-level layer `i` as this forward pass computed them (`i = 0`:
    /// the input; `i = 5` of a six-layer network: what its last layer, e.g. a readout, sees),
    /// so a caller needing them besides the output does not run the layers before `i` again.
    /// `None` when `i` is past the last layer or the point carries several branches.
    pub fn layer_input(&self, i: usize) -> Option<&Features> {
        match self.acts.get(i)? {
            Stream::One(f) if i < self.acts.len() - 1 => Some(f),
            _ => None,
        }
    }
    /// Adds the gradient of `⟨cotangent, f(x)⟩` with respect to the parameters to `grad`
    /// (shaped like the parameters, e.g. [`Params::zeros_like`]) and returns the input
    /// cotangent. Summing over samples this way gives the gradient of a loss.
    pub fn accumulate(&self, cotangent: &Features, grad: &mut Params) -> Result<Features> {
        if cotangent.sig != self.output.sig {
            return Err(NtkError::input(
                InputProblem::Mismatch,
                format!(
                    "the cotangent has shape {} × {} but the output is {} × {}",
                    cotangent.sig.layout,
                    cotangent.sig.channels,
                    self.output.sig.layout,
                    self.output.sig.channels
                ),
            ));
        }
        cotangent.check()?;
        let root = &self.net.root;
        let dx = root
            .backward(
                self.params,
                &self.acts,
                &Stream::One(cotangent.clone()),
                grad,
            )
            .map_err(|e| self.net.at_root(e))?;
        dx.one().map_err(|e| e.at_layer(0, || "input".into()))
    }
}

/// The saved forward pass of a batch ([`Network::vjp_batch`]).
#[derive(Debug)]
pub struct BatchPullback<'a> {
    net: &'a Network,
    params: &'a Params,
    /// `acts[i]`: the input batch of top-level layer `i`; the last: the output.
    acts: Vec<Batch>,
}

impl BatchPullback<'_> {
    /// The network's outputs, sample by sample.
    pub fn output(&self) -> &Batch {
        self.acts.last().expect("nonempty")
    }
    /// The batch entering top-level layer `i` ([`Pullback::layer_input`]); `None` past the last
    /// layer.
    pub fn layer_input(&self, i: usize) -> Option<&Batch> {
        (i + 1 < self.acts.len()).then(|| &self.acts[i])
    }
    fn check_cotangent(&self, cotangent: &Batch) -> Result<()> {
        let out = self.output();
        if cotangent.sig != out.sig || cotangent.n != out.n {
            return Err(NtkError::input(
                InputProblem::Mismatch,
                format!(
                    "the cotangents are {} samples of {} × {} but the outputs {} samples of {} × {}",
                    cotangent.n,
                    cotangent.sig.layout,
                    cotangent.sig.channels,
                    out.n,
                    out.sig.layout,
                    out.sig.channels
                ),
            ));
        }
        cotangent.check()
    }
    /// Adds `Σ_b ∇_θ ⟨cotangent_b, f(x_b)⟩` to `grad` (shaped like the parameters) and returns
    /// the input cotangents: with `cotangent_b = ∂L/∂f(x_b)`, the gradient of a loss summed
    /// over the batch, from one reverse pass over all samples.
    pub fn accumulate(&self, cotangent: &Batch, grad: &mut Params) -> Result<Batch> {
        self.check_cotangent(cotangent)?;
        let out = BatchGrad::sum(grad);
        self.net
            .root
            .backward_batch(self.params, &self.acts, cotangent, out)
            .map_err(|e| self.net.at_root(e))
    }
    /// Each sample's gradient `∇_θ ⟨cotangent_b, f(x_b)⟩`, flattened as [`Params::flatten`]
    /// orders the parameters, into row `b` of `rows` (`n × P` row-major, `P` the parameter
    /// count; overwritten): the Jacobian of a scalar-output network when every cotangent is 1.
    /// When it returns an error, the contents of `rows` are unspecified (a shape error leaves
    /// them untouched; an error from a layer may leave them partly written).
    pub fn gradients(&self, cotangent: &Batch, rows: &mut [f64]) -> Result<()> {
        self.check_cotangent(cotangent)?;
        let (n, count) = (cotangent.n, self.params.count());
        if rows.len() != n * count {
            return Err(NtkError::input(
                InputProblem::Shape,
                format!(
                    "{n} gradient rows of {count} parameters need {} values, got {}",
                    n * count,
                    rows.len()
                ),
            ));
        }
        // Each layer adds its share of sample `b`'s gradient straight into row `b`.
        rows.fill(0.0);
        self.net
            .root
            .backward_batch(
                self.params,
                &self.acts,
                cotangent,
                BatchGrad::rows(rows, self.params),
            )
            .map_err(|e| self.net.at_root(e))?;
        Ok(())
    }
}
