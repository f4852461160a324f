//! `s2_lift_conv` onto a finite rotation group: S² signals lifted to functions on a finite group
//! `G ⊂ SO(3)` ([`entk_groups::SphericalPointGroup`], e.g. `octahedral`, `icosahedral`).
//!
//! The lifted feature is the SO(3) lifting sampled at the group's rotations,
//! `f(g) = σ_w/√(C|S|) Σ_c ∫_S κ_c(u) x_c(R_g u) du + σ_b b`, with the filter bandlimited to
//! `bandlimit_out`. Slice `s` holds `a_s = g_s⁻¹` ([`GroupInfo`]), i.e. `f(R_s⁻¹)`, so the
//! following `group_conv` / `group_pool` are the planar groups' finite-group layers on a 1×1
//! "image". Kernel: docs/theory.md "Lifting onto a finite rotation group"
//! ([`crate::so3::S2RotationLiftOperator`]); on the whole sphere it is right-invariant and is
//! stored in [`Layout::GroupRelative`] form. The finite twin is [`crate::so3::S2LiftFinite`]
//! sampled at the same rotations.

use std::sync::Arc;

use entk_groups::{GroupStructure, Rotation};
use rand::RngCore;

use super::so3::{
    finite_twin_methods, pixels_to_pairs, prepare_sphere_input, prepared_pair, so3_error,
    sphere_bandlimit, FiniteTwin, S2LiftTwin, So3Linear, SphereInput,
};
use super::{Affine, Feats, Features, Layer, Params, Prepared, SigMode, Signature};
use crate::error::{NtkError, Result};
use crate::layout::{GroupInfo, Kernel, KernelCtx, Layout, Stream};
use crate::so3::{FromS2, S2RotationLiftOperator};

/// `s2_lift_conv` with a finite `group`. See the module documentation.
///
/// Parameters: as [`crate::so3::S2LiftFinite`] (`C_out·C_in·L_out²` filter coefficients, then
/// the biases when `σ_b > 0`).
#[derive(Debug)]
pub struct S2GroupLiftConv {
    info: Arc<GroupInfo>,
    /// `R(a_s) = R_{g_s}⁻¹` for every slice `s`.
    rotations: Vec<Rotation>,
    lift: So3Linear<S2RotationLiftOperator, FromS2>,
}

impl S2GroupLiftConv {
    /// The layer over `group`; errors when the group declares no sphere action, for
    /// `bandlimit_out = 0` and for `max_beta ∉ (0, π]`.
    pub fn new(
        group: Arc<GroupStructure>,
        bandlimit_out: usize,
        max_beta: f64,
        affine: Affine,
    ) -> Result<Self> {
        let lift = So3Linear::new("s2_lift_conv", bandlimit_out, max_beta, affine)?;
        let Some(sphere) = group.sphere() else {
            return Err(NtkError::spec(format!(
                "s2_lift_conv: group {} does not act on the sphere",
                group.group_name()
            )));
        };
        let rotations = (0..sphere.len())
            .map(|s| sphere[group.inverse_of(s)])
            .collect();
        Ok(Self {
            info: Arc::new(GroupInfo::from_structure(group)),
            rotations,
            lift,
        })
    }
    /// The slice bookkeeping.
    pub fn info(&self) -> &Arc<GroupInfo> {
        &self.info
    }
    fn operator(&self, l_in: usize) -> Result<Arc<S2RotationLiftOperator>> {
        self.lift.operator(l_in, |l_in, l_out, max_beta| {
            S2RotationLiftOperator::new(l_in, l_out, max_beta, &self.rotations)
        })
    }
    /// The kernel layout: right-invariant (relative) on the whole sphere.
    fn layout(&self, mode: SigMode) -> Layout {
        let group = self.info.clone();
        if self.lift.filter.max_beta >= std::f64::consts::PI && mode == SigMode::Kernel {
            Layout::GroupRelative { group, h: 1, w: 1 }
        } else {
            Layout::Group { group, h: 1, w: 1 }
        }
    }
    /// The slice pairs a kernel in [`Self::layout`] stores, in storage order.
    fn pairs(&self) -> Vec<(usize, usize)> {
        let (n, e) = (self.info.order, self.info.identity);
        match self.layout(SigMode::Kernel) {
            Layout::GroupRelative { .. } => (0..n).map(|c| (e, c)).collect(),
            _ => (0..n).flat_map(|s| (0..n).map(move |t| (s, t))).collect(),
        }
    }
    /// `K = σ_w² A + σ_b²`, `Θ = K + σ_w² A_Θ` from the linear parts.
    fn kernel_from_linear(&self, nngp: Vec<f64>, earlier_ntk: Option<Vec<f64>>) -> Kernel {
        let affine = &self.lift.filter.affine;
        let (w2, b2) = (affine.w_std * affine.w_std, affine.b_std * affine.b_std);
        let nngp: Vec<f64> = nngp.iter().map(|a| w2 * a + b2).collect();
        let ntk = match earlier_ntk {
            Some(t) => nngp.iter().zip(&t).map(|(k, a)| k + w2 * a).collect(),
            None => nngp.clone(),
        };
        Kernel {
            layout: self.layout(SigMode::Kernel),
            nngp,
            ntk,
            channels: affine.width,
        }
    }
    /// The layer's settings: output bandlimit, filter support and affine.
    pub fn filter(&self) -> &super::So3Filter {
        &self.lift.filter
    }
}

impl Layer for S2GroupLiftConv {
    super::linear_layer_basics!("s2_lift_conv", lift.filter.affine);
    fn describe(&self) -> String {
        format!(
            "s2_lift_conv(group={}, {})",
            self.info.name, self.lift.filter
        )
    }
    fn signature(&self, input: Stream<Signature>, mode: SigMode) -> Result<Stream<Signature>> {
        self.input_bandlimit(&input.one()?)?;
        Ok(Stream::One(Signature {
            layout: self.layout(mode),
            channels: self.lift.filter.affine.width,
        }))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let k = input.one()?;
        let l_in = sphere_bandlimit(&k.layout)?;
        let (h, w) = (2 * l_in, 2 * l_in - 1);
        let op = self.operator(l_in)?;
        let pairs = self.pairs();
        let linear = |values: &[f64]| -> Result<Vec<f64>> {
            let khat = op
                .khat_from_input_kernel(&pixels_to_pairs(values, h, w))
                .map_err(so3_error)?;
            Ok(op.apply(&khat, &pairs))
        };
        let nngp = linear(&k.nngp)?;
        let earlier = if k.ntk.iter().any(|v| *v != 0.0) {
            Some(linear(&k.ntk)?)
        } else {
            None
        };
        Ok(Stream::One(self.kernel_from_linear(nngp, earlier)))
    }
    /// The summary: the real quadrature coefficients of the signal.
    fn prepare_input(&self, x: &Features) -> Option<Result<Prepared>> {
        prepare_sphere_input(x, |l_in, signal, channels| {
            (self.operator(l_in)?)
                .coefficients(signal, channels)
                .map_err(so3_error)
        })
    }
    fn kernel_from_prepared(&self, a: &Prepared, b: &Prepared) -> Result<Stream<Kernel>> {
        type Input = SphereInput<nalgebra::DMatrix<f64>>;
        let (a, b) = prepared_pair((a, b), |x: &Input| x.bandlimit_in)?;
        let op = self.operator(a.bandlimit_in)?;
        let khat = S2RotationLiftOperator::khat_from_coefficients(&a.coefficients, &b.coefficients);
        Ok(Stream::One(
            self.kernel_from_linear(op.apply(&khat, &self.pairs()), None),
        ))
    }
    finite_twin_methods!();
}

impl S2LiftTwin for S2GroupLiftConv {
    type Operator = S2RotationLiftOperator;
    fn lift(&self) -> &So3Linear<S2RotationLiftOperator, FromS2> {
        &self.lift
    }
    fn output_rotations(&self) -> Option<&[Rotation]> {
        Some(&self.rotations)
    }
    fn output_layout(&self) -> Layout {
        self.layout(SigMode::Finite)
    }
}
