//! SO(3) layers (docs/theory.md#the-so3-layers-in-fourier-space): `s2_lift_conv` (S² → SO(3)), `so3_conv` (SO(3) → SO(3)) and
//! `so3_pool` (Haar mean). Kernels come from [`crate::so3`] (Fourier space, Δγ-reduced
//! [`Layout::So3`]); the finite twins from [`crate::so3`]'s real-basis layers, whose
//! single-layer empirical NNGP equals the analytic kernel exactly.
//!
//! Inputs of `s2_lift_conv` are S² signals on the Driscoll–Healy grid, stored like images
//! `(2L, 2L−1, C)` = `(θ, φ, C)` (docs/spec.md#input-arrays), i.e. [`Layout::Pixels`] with `h = 2L`,
//! `w = 2L − 1`. A network may also start with `so3_conv` on raw SO(3) signals `(γ, β, α, C)`
//! ([`Layout::So3`] features; docs/theory.md "Raw SO(3) inputs"). Only the NTK
//! parameterisation exists for these layers.

use std::sync::{Arc, Mutex};

use rand::RngCore;

use super::FixedMap;
use super::{normals, Affine, Feats, Features, Layer, Params, Prepared, SigMode, Signature};
use crate::error::{NtkError, Rejection, Result};
use crate::layout::{Kernel, KernelCtx, Layout, Stream};
use crate::param::Parameterization;
use crate::scratch;
use crate::so3::{
    FiniteDomain, FiniteSo3Layer, FromS2, FromSo3, QuadratureCoefficients, S2LiftOperator,
    SignalCoefficients, So3Affine, So3ConvOperator, So3Error, So3PairKernel, So3PoolFinite,
};

/// An SO(3)/S² layer's refusal with its kind: mismatched shapes, bandlimits and transform
/// errors are [`Rejection::Shape`], an unusable `max_beta` is [`Rejection::Other`].
pub(super) fn so3_error(e: So3Error) -> NtkError {
    let kind = match e {
        So3Error::MaxBeta(_) => Rejection::Other,
        _ => Rejection::Shape,
    };
    NtkError::reject_as(kind, e.to_string())
}

/// A small cache of objects keyed by their construction parameters (operators are built on
/// first use, when the input bandlimit and channel count are known).
#[derive(Debug)]
pub(super) struct Cache<K, V> {
    entries: Mutex<Vec<(K, Arc<V>)>>,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl<K: PartialEq + Copy, V> Cache<K, V> {
    /// The object for `key`, made by `build` on first use (its error becomes the layer's).
    pub(super) fn get(
        &self,
        key: K,
        build: impl FnOnce() -> std::result::Result<V, So3Error>,
    ) -> Result<Arc<V>> {
        let mut entries = self.entries.lock().expect("cache lock");
        if let Some((_, v)) = entries.iter().find(|(k, _)| *k == key) {
            return Ok(v.clone());
        }
        let v = Arc::new(build().map_err(so3_error)?);
        entries.push((key, v.clone()));
        Ok(v)
    }
}

pub(super) fn check_ntk_param(affine: &Affine) -> Result<()> {
    if affine.param != Parameterization::Ntk {
        return Err(NtkError::reject_as(
            crate::error::Rejection::Placement,
            "SO(3) layers exist only in the NTK parameterisation",
        ));
    }
    Ok(())
}

/// The S² bandlimit of a `(2L, 2L−1)` grid, or an error naming the shape.
pub(super) fn sphere_bandlimit(layout: &Layout) -> Result<usize> {
    match layout {
        Layout::Pixels { h, w } if *h >= 2 && h % 2 == 0 && w + 1 == *h => Ok(h / 2),
        Layout::Pixels { h, w } => Err(NtkError::reject_as(crate::error::Rejection::Shape, format!(
                "input of shape ({h}, {w}) is not a Driscoll–Healy grid: S² signals have shape (2L, 2L−1) \
                 in (θ, φ), e.g. (12, 11) for L = 6"
            ),
        )),
        Layout::So3 { .. } => Err(NtkError::reject_as(crate::error::Rejection::Layout, "input is already an SO(3) signal; use so3_conv")),
        other => Err(NtkError::reject_as(crate::error::Rejection::Layout, format!("needs S² signals, got {}", other.kind()))),
    }
}

fn so3_bandlimit(layout: &Layout) -> Result<usize> {
    match layout {
        Layout::So3 { bandlimit } => Ok(*bandlimit),
        Layout::Pixels { .. } => Err(NtkError::reject_as(
            crate::error::Rejection::Layout,
            "needs SO(3) features but got S² or image features; put an s2_lift_conv first, or \
             give SO(3) signals (N, 2L−1, 2L, 2L−1, C)",
        )),
        other => Err(NtkError::reject_as(
            crate::error::Rejection::Layout,
            format!("needs SO(3) features, got {}", other.kind()),
        )),
    }
}

/// Checks the settings shared by `s2_lift_conv` and `so3_conv`.
pub(super) fn check_settings(name: &str, bandlimit_out: usize, max_beta: f64) -> Result<()> {
    use crate::spec::{MAX_BANDLIMIT, MIN_MAX_BETA};
    if bandlimit_out > MAX_BANDLIMIT {
        return Err(NtkError::spec(format!(
            "{name}: bandlimit_out {bandlimit_out} is too large (at most {MAX_BANDLIMIT})"
        )));
    }
    if max_beta < MIN_MAX_BETA {
        return Err(NtkError::spec(format!(
            "{name}: max_beta {max_beta} is below the smallest resolvable support {MIN_MAX_BETA}"
        )));
    }
    crate::so3::check_bandlimits(bandlimit_out, bandlimit_out)
        .map_err(|e| NtkError::spec(format!("{name}: {e}")))?;
    crate::so3::check_max_beta(max_beta).map_err(|e| NtkError::spec(format!("{name}: {e}")))
}

/// The settings of a linear layer of the SO(3) engine (`s2_lift_conv` onto SO(3) or onto a
/// finite rotation group, `so3_conv`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct So3Filter {
    /// Output bandlimit (at most the input's): the filter's bandlimit.
    pub bandlimit_out: usize,
    /// Filter support, `(0, π]`: the polar angle of the cap `θ ≤ max_beta` on S², the region
    /// `β ≤ max_beta` on SO(3).
    pub max_beta: f64,
    /// Weights, bias and finite width.
    pub affine: Affine,
}

/// `bandlimit_out=…, max_beta=…, w_std=…, b_std=…, width=…` (the layers' descriptions).
impl std::fmt::Display for So3Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.affine;
        write!(
            f,
            "bandlimit_out={}, max_beta={:.4}, w_std={}, b_std={}, width={}",
            self.bandlimit_out, self.max_beta, a.w_std, a.b_std, a.width
        )
    }
}

/// A linear layer of the SO(3) engine: its [`So3Filter`], the kernel operators `Op` (one per
/// input bandlimit) and the finite twins on domain `D` (one per input bandlimit and channel
/// count), built on first use.
#[derive(Debug)]
pub(super) struct So3Linear<Op, D> {
    pub(super) filter: So3Filter,
    operators: Cache<usize, Op>,
    finite: Cache<(usize, usize), FiniteSo3Layer<D>>,
}

impl<Op, D: FiniteDomain> So3Linear<Op, D> {
    /// The layer `name` with checked settings.
    pub(super) fn new(
        name: &str,
        bandlimit_out: usize,
        max_beta: f64,
        affine: Affine,
    ) -> Result<Self> {
        check_settings(name, bandlimit_out, max_beta)?;
        Ok(Self {
            filter: So3Filter {
                bandlimit_out,
                max_beta,
                affine,
            },
            operators: Cache::default(),
            finite: Cache::default(),
        })
    }
    /// The kernel operator for inputs of bandlimit `l_in`: `build(L_in, L_out, max_beta)`.
    pub(super) fn operator(
        &self,
        l_in: usize,
        build: impl FnOnce(usize, usize, f64) -> std::result::Result<Op, So3Error>,
    ) -> Result<Arc<Op>> {
        let f = &self.filter;
        self.operators
            .get(l_in, || build(l_in, f.bandlimit_out, f.max_beta))
    }
    /// The finite twin for inputs of bandlimit `l_in` with `c_in` channels, passed through
    /// `adapt` when first made.
    pub(super) fn finite_layer(
        &self,
        (l_in, c_in): (usize, usize),
        adapt: impl FnOnce(FiniteSo3Layer<D>) -> FiniteSo3Layer<D>,
    ) -> Result<Arc<FiniteSo3Layer<D>>> {
        let f = &self.filter;
        self.finite.get((l_in, c_in), || {
            let affine = So3Affine {
                w_std: f.affine.w_std,
                b_std: f.affine.b_std,
            };
            let layer = FiniteSo3Layer::new(
                l_in,
                f.bandlimit_out,
                f.max_beta,
                c_in,
                f.affine.width,
                affine,
            )?;
            Ok(adapt(layer))
        })
    }
}

/// Fresh N(0, 1) parameters of a finite layer.
pub(super) fn finite_init<D: FiniteDomain>(
    layer: &FiniteSo3Layer<D>,
    rng: &mut dyn RngCore,
) -> Params {
    Params {
        values: normals(rng, layer.parameter_count(), 1.0),
        children: vec![],
    }
}

/// The finite forward pass: features in `layout` (SO(3) features of the output bandlimit, or
/// functions on a finite rotation group) with `width` channels.
pub(super) fn finite_apply<D: FiniteDomain>(
    layer: &FiniteSo3Layer<D>,
    params: &Params,
    x: &Features,
    layout: Layout,
    width: usize,
) -> Result<Feats> {
    super::check_len("parameters", params.values.len(), layer.parameter_count())?;
    Ok(Stream::One(Features {
        sig: Signature {
            layout,
            channels: width,
        },
        data: layer.apply(&params.values, &x.data),
    }))
}

/// The finite reverse pass: accumulates the parameter gradient, returns the input cotangent.
pub(super) fn finite_vjp<D: FiniteDomain>(
    layer: &FiniteSo3Layer<D>,
    params: &Params,
    x: &Features,
    dy: &Features,
    grad: &mut Params,
) -> Result<Feats> {
    super::check_len("parameters", params.values.len(), layer.parameter_count())?;
    super::check_len("gradients", grad.values.len(), layer.parameter_count())?;
    let (dp, dx) = layer.vjp(&params.values, &x.data, &dy.data);
    grad.values.iter_mut().zip(&dp).for_each(|(g, d)| *g += d);
    Ok(Stream::One(Features {
        sig: x.sig.clone(),
        data: dx,
    }))
}

/// The two per-input summaries of a pair, made by `layer`'s [`Layer::prepare_input`], which
/// must come from grids of one bandlimit (`bandlimit` reads it).
pub(super) fn prepared_pair<'a, T: 'static>(
    (a, b): (&'a Prepared, &'a Prepared),
    bandlimit: impl Fn(&T) -> usize,
) -> Result<(&'a T, &'a T)> {
    let (Some(a), Some(b)) = (a.downcast_ref::<T>(), b.downcast_ref::<T>()) else {
        return Err(NtkError::reject_as(
            crate::error::Rejection::ForeignParameters,
            "prepared inputs come from another layer",
        ));
    };
    if bandlimit(a) != bandlimit(b) {
        return Err(NtkError::reject_as(
            crate::error::Rejection::Shape,
            "the two inputs have different bandlimits",
        ));
    }
    Ok((a, b))
}

/// A first layer's kernels from its linear part `A[K⁰]`: `K¹ = σ_w² A[K⁰] + σ_b²` and, since
/// inputs carry no NTK (`Θ⁰ = 0`), `Θ¹ = K¹`.
fn first_layer_kernel(
    mut linear: So3PairKernel,
    affine: &Affine,
    bandlimit_out: usize,
) -> Stream<Kernel> {
    linear.scale_shift(affine.w_std * affine.w_std, affine.b_std * affine.b_std);
    let values = linear.into_values();
    // The copy comes from the scratch pool (a fresh array each pair faulted its pages in anew).
    let mut ntk = scratch::take(values.len());
    ntk.copy_from_slice(&values);
    Stream::One(Kernel {
        layout: Layout::So3 {
            bandlimit: bandlimit_out,
        },
        ntk,
        nngp: values,
        channels: affine.width,
    })
}

/// `s2_lift_conv`: `y(R) = σ_w/√(C|S|) Σ_c ∫_S κ_c(u) f_c(Ru) du + σ_b b` with the filter
/// supported on the cap `θ ≤ max_beta`; output bandlimit `bandlimit_out ≤` input bandlimit.
/// Kernel `K¹ = σ_w² A[K⁰] + σ_b²`, `Θ¹ = K¹ + σ_w² A[Θ⁰]` (`Θ⁰ = 0` for inputs).
#[derive(Debug)]
pub struct S2LiftConv(So3Linear<S2LiftOperator, FromS2>);

impl S2LiftConv {
    /// The layer; errors for `bandlimit_out = 0` or `max_beta ∉ (0, π]`.
    pub fn new(bandlimit_out: usize, max_beta: f64, affine: Affine) -> Result<Self> {
        So3Linear::new("s2_lift_conv", bandlimit_out, max_beta, affine).map(Self)
    }
    /// The layer's settings: output bandlimit, filter support and affine.
    pub fn filter(&self) -> &So3Filter {
        &self.0.filter
    }
}

/// An S² lift's per-input summary (its [`Layer::prepare_input`]): the input bandlimit and the
/// coefficients its operator made of the signal ([`S2LiftConv`]: complex quadrature
/// coefficients; the lift onto a finite rotation group: real ones).
pub(super) struct SphereInput<C> {
    pub(super) bandlimit_in: usize,
    pub(super) coefficients: C,
}

/// [`Layer::prepare_input`] of an S² lift: the input bandlimit, and `coefficients(L_in,
/// signal, channels)` of the signal.
pub(super) fn prepare_sphere_input<C: Send + Sync + 'static>(
    x: &Features,
    coefficients: impl FnOnce(usize, &[f64], usize) -> Result<C>,
) -> Option<Result<Prepared>> {
    let prepare = || -> Result<Prepared> {
        let bandlimit_in = sphere_bandlimit(&x.sig.layout)?;
        let coefficients = coefficients(bandlimit_in, &x.data, x.sig.channels)?;
        Ok(Arc::new(SphereInput {
            bandlimit_in,
            coefficients,
        }))
    };
    Some(prepare())
}

/// `K` in the pixel layout `(H1, H2, W1, W2)` → `k0[p₁·P + p₂]` with `p = θ·W + φ`.
pub(super) fn pixels_to_pairs(k: &[f64], h: usize, w: usize) -> Vec<f64> {
    let p = h * w;
    let mut out = vec![0.0; p * p];
    for i1 in 0..h {
        for i2 in 0..h {
            for j1 in 0..w {
                for j2 in 0..w {
                    out[(i1 * w + j1) * p + i2 * w + j2] = k[((i1 * h + i2) * w + j1) * w + j2];
                }
            }
        }
    }
    out
}

/// The finite twin of a linear layer of the SO(3) engine, one [`FiniteSo3Layer`] per input
/// bandlimit and channel count: [`Layer::init`], [`Layer::apply`] and [`Layer::vjp`] for
/// `s2_lift_conv` (both forms) and `so3_conv`, written once ([`finite_twin_methods`]).
pub(super) trait FiniteTwin {
    /// The finite layer's input domain.
    type Domain: FiniteDomain;
    /// The input bandlimit of features in `layout` (or why they are not this layer's input).
    fn bandlimit_of(layout: &Layout) -> Result<usize>;
    /// The finite layer for inputs of bandlimit `l_in` with `c_in` channels.
    fn finite_layer(&self, l_in: usize, c_in: usize) -> Result<Arc<FiniteSo3Layer<Self::Domain>>>;
    /// The layout of the finite layer's output.
    fn finite_layout(&self) -> Layout;
    /// The output channels.
    fn finite_width(&self) -> usize;

    /// The finite layer for `s`'s inputs.
    fn finite_for(&self, s: &Signature) -> Result<Arc<FiniteSo3Layer<Self::Domain>>> {
        self.finite_layer(Self::bandlimit_of(&s.layout)?, s.channels)
    }
    /// [`Layer::init`].
    fn twin_init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        Ok(finite_init(self.finite_for(input.as_one()?)?.as_ref(), rng))
    }
    /// [`Layer::apply`].
    fn twin_apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
        let x = x.as_one()?;
        let layer = self.finite_for(&x.sig)?;
        finite_apply(
            layer.as_ref(),
            params,
            x,
            self.finite_layout(),
            self.finite_width(),
        )
    }
    /// [`Layer::vjp`].
    fn twin_backward(
        &self,
        params: &Params,
        (x, dy): (&Feats, &Feats),
        grad: &mut Params,
    ) -> Result<Feats> {
        let (x, dy) = (x.as_one()?, dy.as_one()?);
        finite_vjp(self.finite_for(&x.sig)?.as_ref(), params, x, dy, grad)
    }
}

/// [`Layer::init`], [`Layer::apply`] and [`Layer::vjp`] of a [`FiniteTwin`], inside its
/// `impl Layer`.
macro_rules! finite_twin_methods {
    () => {
        fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
            FiniteTwin::twin_init(self, input, rng)
        }
        fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
            FiniteTwin::twin_apply(self, params, x)
        }
        fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats> {
            FiniteTwin::twin_backward(self, params, (x, dy), grad)
        }
    };
}
pub(super) use finite_twin_methods;

/// What both forms of `s2_lift_conv` share (onto SO(3): [`S2LiftConv`]; onto a finite rotation
/// group: [`super::S2GroupLiftConv`]): the input check and the finite twin, an
/// [`crate::so3::S2LiftFinite`] sampled at [`Self::output_rotations`] when there are any.
pub(super) trait S2LiftTwin {
    /// The kernel operator.
    type Operator;
    /// The settings and what was built from them.
    fn lift(&self) -> &So3Linear<Self::Operator, FromS2>;
    /// The rotations the finite twin's output is sampled at (`None`: the SO(3) grid).
    fn output_rotations(&self) -> Option<&[entk_groups::Rotation]>;
    /// The output layout of the finite twin.
    fn output_layout(&self) -> Layout;

    /// The input's S² bandlimit, after the checks of [`Layer::signature`].
    fn input_bandlimit(&self, s: &Signature) -> Result<usize> {
        let filter = &self.lift().filter;
        check_ntk_param(&filter.affine)?;
        let l_in = sphere_bandlimit(&s.layout)?;
        crate::so3::check_bandlimits(l_in, filter.bandlimit_out).map_err(so3_error)?;
        Ok(l_in)
    }
}

impl<T: S2LiftTwin> FiniteTwin for T {
    type Domain = FromS2;
    fn bandlimit_of(layout: &Layout) -> Result<usize> {
        sphere_bandlimit(layout)
    }
    fn finite_layer(&self, l_in: usize, c_in: usize) -> Result<Arc<FiniteSo3Layer<FromS2>>> {
        self.lift()
            .finite_layer((l_in, c_in), |layer| match self.output_rotations() {
                Some(rotations) => layer.with_output_rotations(rotations),
                None => layer,
            })
    }
    fn finite_layout(&self) -> Layout {
        self.output_layout()
    }
    fn finite_width(&self) -> usize {
        self.lift().filter.affine.width
    }
}

impl S2LiftTwin for S2LiftConv {
    type Operator = S2LiftOperator;
    fn lift(&self) -> &So3Linear<S2LiftOperator, FromS2> {
        &self.0
    }
    fn output_rotations(&self) -> Option<&[entk_groups::Rotation]> {
        None
    }
    fn output_layout(&self) -> Layout {
        Layout::So3 {
            bandlimit: self.0.filter.bandlimit_out,
        }
    }
}

impl Layer for S2LiftConv {
    super::linear_layer_basics!("s2_lift_conv", 0.filter.affine);
    fn describe(&self) -> String {
        format!("s2_lift_conv({})", self.0.filter)
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        self.input_bandlimit(&input.one()?)?;
        Ok(Stream::One(Signature {
            layout: self.output_layout(),
            channels: self.0.filter.affine.width,
        }))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        let l_in = sphere_bandlimit(&k.layout)?;
        let (h, w) = (2 * l_in, 2 * l_in - 1);
        let op = self.0.operator(l_in, S2LiftOperator::new)?;
        let lift = |values: &[f64]| {
            op.apply_input_kernel(&pixels_to_pairs(values, h, w))
                .map_err(so3_error)
        };
        let w2 = self.0.filter.affine.w_std * self.0.filter.affine.w_std;
        let mut nngp = lift(&k.nngp)?;
        nngp.scale_shift(w2, self.0.filter.affine.b_std * self.0.filter.affine.b_std);
        let mut ntk = nngp.clone();
        if k.ntk.iter().any(|v| *v != 0.0) {
            let earlier = lift(&k.ntk)?;
            for (t, e) in ntk.values_mut().iter_mut().zip(earlier.values()) {
                *t += w2 * e;
            }
        }
        Ok(Stream::One(Kernel {
            layout: Layout::So3 {
                bandlimit: self.0.filter.bandlimit_out,
            },
            nngp: nngp.values().to_vec(),
            ntk: ntk.values().to_vec(),
            channels: self.0.filter.affine.width,
        }))
    }
    fn prepare_input(&self, x: &Features) -> Option<Result<Prepared>> {
        prepare_sphere_input(x, |l_in, signal, channels| {
            (self.0.operator(l_in, S2LiftOperator::new)?)
                .quadrature_coefficients(signal, channels)
                .map_err(so3_error)
        })
    }
    fn kernel_from_prepared(&self, a: &Prepared, b: &Prepared) -> Result<Stream<Kernel>> {
        type Input = SphereInput<QuadratureCoefficients>;
        let (a, b) = prepared_pair((a, b), |x: &Input| x.bandlimit_in)?;
        let op = self.0.operator(a.bandlimit_in, S2LiftOperator::new)?;
        let linear = op.apply_quadrature(&a.coefficients, &b.coefficients);
        Ok(first_layer_kernel(
            linear,
            &self.0.filter.affine,
            self.0.filter.bandlimit_out,
        ))
    }
    finite_twin_methods!();
}

/// `so3_conv`: `y(R) = σ_w/√(C|S|) Σ_c ∫_S κ_c(Q) f_c(RQ) dQ + σ_b b` with the filter supported
/// on `β ≤ max_beta`; `K = σ_w² A[K_in] + σ_b²`, `Θ = K + σ_w² A[Θ_in]`.
#[derive(Debug)]
pub struct So3Conv(So3Linear<So3ConvOperator, FromSo3>);

impl So3Conv {
    /// The layer; errors for `bandlimit_out = 0` or `max_beta ∉ (0, π]`.
    pub fn new(bandlimit_out: usize, max_beta: f64, affine: Affine) -> Result<Self> {
        So3Linear::new("so3_conv", bandlimit_out, max_beta, affine).map(Self)
    }
    /// The layer's settings: output bandlimit, filter support and affine.
    pub fn filter(&self) -> &So3Filter {
        &self.0.filter
    }
}

impl FiniteTwin for So3Conv {
    type Domain = FromSo3;
    fn bandlimit_of(layout: &Layout) -> Result<usize> {
        so3_bandlimit(layout)
    }
    fn finite_layer(&self, l_in: usize, c_in: usize) -> Result<Arc<FiniteSo3Layer<FromSo3>>> {
        self.0.finite_layer((l_in, c_in), |layer| layer)
    }
    fn finite_layout(&self) -> Layout {
        Layout::So3 {
            bandlimit: self.0.filter.bandlimit_out,
        }
    }
    fn finite_width(&self) -> usize {
        self.0.filter.affine.width
    }
}

impl Layer for So3Conv {
    super::linear_layer_basics!("so3_conv", 0.filter.affine);
    fn describe(&self) -> String {
        format!("so3_conv({})", self.0.filter)
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let s = input.one()?;
        check_ntk_param(&self.0.filter.affine)?;
        let l_in = so3_bandlimit(&s.layout)?;
        crate::so3::check_bandlimits(l_in, self.0.filter.bandlimit_out).map_err(so3_error)?;
        Ok(Stream::One(Signature {
            layout: Layout::So3 {
                bandlimit: self.0.filter.bandlimit_out,
            },
            channels: self.0.filter.affine.width,
        }))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        let l_in = so3_bandlimit(&k.layout)?;
        let op = self.0.operator(l_in, So3ConvOperator::new)?;
        let apply = |values: Vec<f64>| -> Result<So3PairKernel> {
            let kernel = So3PairKernel::from_values(l_in, values).ok_or_else(|| {
                NtkError::reject_as(
                    crate::error::Rejection::Shape,
                    "kernel has the wrong length for its bandlimit",
                )
            })?;
            let out = op.apply(&kernel).map_err(so3_error);
            scratch::recycle(kernel.into_values());
            out
        };
        let w2 = self.0.filter.affine.w_std * self.0.filter.affine.w_std;
        let mut nngp = apply(k.nngp)?;
        nngp.scale_shift(w2, self.0.filter.affine.b_std * self.0.filter.affine.b_std);
        // Θ = K + σ_w² A[Θ_in], written over A[Θ_in].
        let mut ntk = apply(k.ntk)?.into_values();
        for (e, a) in ntk.iter_mut().zip(nngp.values()) {
            *e = a + w2 * *e;
        }
        Ok(Stream::One(Kernel {
            layout: Layout::So3 {
                bandlimit: self.0.filter.bandlimit_out,
            },
            nngp: nngp.into_values(),
            ntk,
            channels: self.0.filter.affine.width,
        }))
    }
    /// As the first layer on raw SO(3) signals: their per-channel Wigner coefficients, from
    /// which [`So3Conv::kernel_from_prepared`] gives the output kernel of any pair without the
    /// full `(γ, β, α)²` input kernel (which is not γ-shift invariant). Not offered for other
    /// inputs (the kernel map then refuses them).
    fn prepare_input(&self, x: &Features) -> Option<Result<Prepared>> {
        let Layout::So3 { bandlimit: l_in } = x.sig.layout else {
            return None;
        };
        let prepare = || -> Result<Prepared> {
            let coefficients = self
                .0
                .operator(l_in, So3ConvOperator::new)?
                .signal_coefficients(&x.data, x.sig.channels)
                .map_err(so3_error)?;
            Ok(Arc::new(coefficients))
        };
        Some(prepare())
    }
    fn kernel_from_prepared(&self, a: &Prepared, b: &Prepared) -> Result<Stream<Kernel>> {
        let (a, b) = prepared_pair((a, b), SignalCoefficients::bandlimit_in)?;
        let linear = self
            .0
            .operator(a.bandlimit_in(), So3ConvOperator::new)?
            .apply_signals(a, b)
            .map_err(so3_error)?;
        Ok(first_layer_kernel(
            linear,
            &self.0.filter.affine,
            self.0.filter.bandlimit_out,
        ))
    }
    finite_twin_methods!();
}

/// `so3_pool`: the Haar mean `(8π²)⁻¹ ∫ f(R) dR` by the DH quadrature; kernel
/// `(8π²)⁻² Σ_{R,R′} w_R w_{R′} K(R, R′)` (docs/theory.md#the-so3-layers-in-fourier-space).
#[derive(Debug, Default)]
pub struct So3Pool {
    finite: Cache<usize, So3PoolFinite>,
}

impl Layer for So3Pool {
    super::pool_basics!("so3_pool", so3_bandlimit);
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        let l = so3_bandlimit(&k.layout)?;
        let pool = |values: Vec<f64>| -> Result<f64> {
            So3PairKernel::from_values(l, values)
                .map(|k| {
                    let pooled = k.pool();
                    scratch::recycle(k.into_values());
                    pooled
                })
                .ok_or_else(|| {
                    NtkError::reject_as(
                        crate::error::Rejection::Shape,
                        "kernel has the wrong length for its bandlimit",
                    )
                })
        };
        Ok(Stream::One(Kernel {
            layout: Layout::Scalar,
            nngp: vec![pool(k.nngp)?],
            ntk: vec![pool(k.ntk)?],
            channels: k.channels,
        }))
    }
}

impl FixedMap for So3Pool {
    fn forward(&self, x: &Features) -> Result<Features> {
        let l = so3_bandlimit(&x.sig.layout)?;
        let pool = self.finite.get(l, || So3PoolFinite::new(l))?;
        Ok(Features {
            sig: Signature {
                layout: Layout::Scalar,
                channels: x.sig.channels,
            },
            data: pool.apply(&x.data, x.sig.channels),
        })
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        let l = so3_bandlimit(&x.sig.layout)?;
        let pool = self.finite.get(l, || So3PoolFinite::new(l))?;
        Ok(Features {
            sig: x.sig.clone(),
            data: pool.vjp(&dy.data),
        })
    }
}
