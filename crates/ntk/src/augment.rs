//! Orbit-averaged (augmented) kernels and group actions on inputs (docs/theory.md#data-augmentation-and-group-convolution).
//!
//! `Θ̄(x, x′) = |G|⁻¹ Σ_{g∈G} Θ(x, ρ(g)x′)` (same for the NNGP) for any base network and any
//! finite group acting on images. For a base kernel invariant under simultaneous
//! transformation, training on the augmented orbit equals kernel regression with `Θ̄`.

use ndarray::{Array3, Array4, ArrayView3, ArrayView4, Axis};

use entk_groups::{
    FiniteGroup, FiniteGroupExt, PixelResampling, PlanarPointGroup, RotoTranslation,
    RotoTranslationElement,
};

use crate::error::InputProblem;
use crate::error::{NtkError, Result};
use crate::gram::{Gram, GramOptions};
use crate::layers::Features;
use crate::layout::{GroupInfo, Layout};
use crate::network::Network;

/// A finite group acting on `H×W×C` images, elements numbered `0..order()`.
pub trait ImageAction: Sync {
    /// `|G|`.
    fn order(&self) -> usize;
    /// `ρ(g)x`.
    fn act(&self, g: usize, image: ArrayView3<f64>) -> Result<Array3<f64>>;
}

/// A planar point group acting on square images by rotating/reflecting about the centre,
/// `(ρ(h)x)(p) = x(h⁻¹p)` (C4: `numpy.rot90(x, k)`). Exact groups permute pixels; others
/// interpolate bilinearly ([`PixelResampling`]).
#[derive(Debug, Clone)]
pub struct PointGroupAction<G: PlanarPointGroup> {
    /// The group.
    pub group: G,
}

impl<G: PlanarPointGroup + Clone> ImageAction for PointGroupAction<G> {
    fn order(&self) -> usize {
        self.group.order()
    }
    fn act(&self, g: usize, image: ArrayView3<f64>) -> Result<Array3<f64>> {
        let f = crate::image_features(image);
        let out = act_on_image(&self.group, g, &f)?;
        Ok(Array3::from_shape_vec(image.dim(), out.data).expect("same shape"))
    }
}

/// `H ⋉ Z_N²` on `N×N` images: rotations/reflections about the centre and all cyclic shifts
/// ([`RotoTranslation::transform_image`]); element index `index(a)·N² + row·N + col`.
#[derive(Debug, Clone)]
pub struct RotoTranslationAction<H: PlanarPointGroup> {
    /// The group.
    pub group: RotoTranslation<H>,
}

impl<H: PlanarPointGroup> ImageAction for RotoTranslationAction<H> {
    fn order(&self) -> usize {
        self.group.order()
    }
    fn act(&self, g: usize, image: ArrayView3<f64>) -> Result<Array3<f64>> {
        let (h, w, c) = image.dim();
        if h != w || h != self.group.size() {
            return Err(NtkError::input(
                InputProblem::Shape,
                format!(
                    "roto-translations of a {n}×{n} grid need {n}×{n} images, got {h}×{w}",
                    n = self.group.size()
                ),
            ));
        }
        let data: Vec<f64> = image.iter().copied().collect();
        let e: RotoTranslationElement<H::Element> = self.group.element(g);
        let out = self.group.transform_image(&e, &data, c)?;
        Ok(Array3::from_shape_vec((h, w, c), out).expect("same shape"))
    }
}

/// `(ρ(h)x)(p) = x(A_h⁻¹ p)` for an image (about the centre; bilinear for inexact groups).
/// `h` is an element index of `group`.
pub fn act_on_image<G: PlanarPointGroup>(group: &G, h: usize, x: &Features) -> Result<Features> {
    let Layout::Pixels { h: rows, w: cols } = x.sig.layout else {
        return Err(NtkError::input(
            InputProblem::Shape,
            "act_on_image needs an image",
        ));
    };
    if rows != cols {
        return Err(NtkError::input(
            InputProblem::Shape,
            format!("rotating an image needs a square image, got {rows}×{cols}"),
        ));
    }
    let m = PixelResampling::for_element(group, &group.element(h), rows)?;
    Ok(Features {
        sig: x.sig.clone(),
        data: resample_channels(&m, &x.data, rows * rows, x.sig.channels),
    })
}

fn resample_channels(m: &PixelResampling, data: &[f64], npix: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; npix * c];
    for p in 0..npix {
        for &(q, w) in m.row(p) {
            for ch in 0..c {
                out[p * c + ch] += w * data[q * c + ch];
            }
        }
    }
    out
}

/// `(ρ(h)y)[a](t) = y[h⁻¹a](A_h⁻¹ t)` for a group signal in the slice convention of
/// [`GroupInfo`]: output slice `s` reads slice `index(g_s·h)`. C4: `rot90(roll(y, −k, G), k)`.
pub fn act_on_group_signal<G: PlanarPointGroup>(
    group: &G,
    h: usize,
    y: &Features,
) -> Result<Features> {
    let Layout::Group {
        group: info,
        h: rows,
        w: cols,
    } = &y.sig.layout
    else {
        return Err(NtkError::input(
            InputProblem::Shape,
            "act_on_group_signal needs a group signal",
        ));
    };
    let info: &GroupInfo = info;
    if rows != cols {
        return Err(NtkError::input(
            InputProblem::Shape,
            format!("rotating a signal needs a square grid, got {rows}×{cols}"),
        ));
    }
    let m = PixelResampling::for_element(group, &group.element(h), *rows)?;
    let (npix, c) = (rows * rows, y.sig.channels);
    let mut out = Vec::with_capacity(y.data.len());
    for s in 0..info.order {
        let src = group.compose_indices(s, h);
        out.extend(resample_channels(
            &m,
            &y.data[src * npix * c..][..npix * c],
            npix,
            c,
        ));
    }
    Ok(Features {
        sig: y.sig.clone(),
        data: out,
    })
}

/// All transformed copies: `out[j·|G| + g] = ρ(g) x[j]`.
pub fn orbit(x: ArrayView4<f64>, action: &dyn ImageAction) -> Result<Array4<f64>> {
    let (n, h, w, c) = x.dim();
    let k = action.order();
    let mut out = Array4::zeros((n * k, h, w, c));
    for j in 0..n {
        for g in 0..k {
            let img = action.act(g, x.index_axis(Axis(0), j))?;
            out.index_axis_mut(Axis(0), j * k + g).assign(&img);
        }
    }
    Ok(out)
}

/// The augmented Gram matrices `K̄(x1_i, x2_j) = |G|⁻¹ Σ_g K(x1_i, ρ(g) x2_j)` (and `Θ̄`).
/// With `x2 = None` (`x2 = x1`) the result is symmetrised, `(A + Aᵀ)/2`, which is exact in exact
/// arithmetic and makes it bitwise symmetric.
pub fn augmented_gram(
    net: &Network,
    x1: ArrayView4<f64>,
    x2: Option<ArrayView4<f64>>,
    action: &dyn ImageAction,
    opts: &GramOptions<'_>,
) -> Result<Gram> {
    let base = x2.unwrap_or(x1.view());
    let aug = orbit(base, action)?;
    let g = net.gram(x1, Some(aug.view()), opts)?;
    Ok(orbit_average(&g, action.order(), x2.is_none()))
}

/// The augmented Gram matrices from the Gram matrices `g` of `x1` against the [`orbit`] of
/// `x2` (`n1 × n2·order`): `K̄_ij = order⁻¹ Σ_g g_{i, j·order + g}`, symmetrised as
/// `(A + Aᵀ)/2` when `symmetric` (`x2 = x1`). [`augmented_gram`] is this on the engine's cross
/// Gram; a caller that computes the cross Gram elsewhere (a durable tile store) gets the same
/// bits.
pub fn orbit_average(g: &Gram, order: usize, symmetric: bool) -> Gram {
    let (n1, k) = (g.nngp.nrows(), order.max(1));
    let n2 = g.nngp.ncols() / k;
    let avg = |m: &ndarray::Array2<f64>| {
        ndarray::Array2::from_shape_fn((n1, n2), |(i, j)| {
            (0..k).map(|g| m[[i, j * k + g]]).sum::<f64>() / k as f64
        })
    };
    let (mut nngp, mut ntk) = (avg(&g.nngp), avg(&g.ntk));
    if symmetric {
        nngp = (&nngp + &nngp.t()) * 0.5;
        ntk = (&ntk + &ntk.t()) * 0.5;
    }
    Gram { nngp, ntk }
}
