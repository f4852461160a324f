//! Linear maps of the spatial axes (windowed pools, the subsampling of strided convolutions)
//! applied to kernels and features of every planar layout.
//!
//! A [`SpatialMap`] is `P ⊗ Q` (`P` on rows, `Q` on columns). It acts on each `(H1, H2, W1,
//! W2)` block of a kernel as `P ⊗ P ⊗ Q ⊗ Q` and on each `(H, W, C)` slice of a feature array
//! as `P ⊗ Q`. On group layouts every slice (pair) gets the same map, so the group axis is
//! untouched: the relative layout stays exact (right-invariance is a statement about the slice
//! indices at fixed positions), while rotation equivariance survives only when the map
//! commutes with the square's symmetries ([`SpatialMap::keeps_rotations`]).

use crate::error::{NtkError, Rejection, Result};
use crate::layers::{Features, Signature};
use crate::layout::{Kernel, Layout};
use crate::stencil::{map_features, map_features_transpose, map_pair_block, AxisMap};

/// `P ⊗ Q` on the spatial axes.
#[derive(Debug, Clone, PartialEq)]
pub struct SpatialMap {
    /// `P`, on rows.
    pub rows: AxisMap,
    /// `Q`, on columns.
    pub cols: AxisMap,
}

/// The number of spatial blocks of a layout (`1`, `|G|²` or `|G|` kernel blocks) and its size.
fn spatial_of(layout: &Layout) -> Option<(usize, usize, usize)> {
    match layout {
        Layout::Pixels { h, w } => Some((1, *h, *w)),
        Layout::Group { group, h, w } => Some((group.order * group.order, *h, *w)),
        Layout::GroupRelative { group, h, w } => Some((group.order, *h, *w)),
        _ => None,
    }
}

/// The same layout with a new spatial size.
pub(crate) fn resized(layout: &Layout, h: usize, w: usize) -> Layout {
    match layout {
        Layout::Pixels { .. } => Layout::Pixels { h, w },
        Layout::Group { group, .. } => Layout::Group {
            group: group.clone(),
            h,
            w,
        },
        Layout::GroupRelative { group, .. } => Layout::GroupRelative {
            group: group.clone(),
            h,
            w,
        },
        other => other.clone(),
    }
}

/// `(h, w)` of a planar layout, or an error naming the layer.
pub(crate) fn planar(layout: &Layout) -> Result<(usize, usize)> {
    spatial_of(layout).map(|(_, h, w)| (h, w)).ok_or_else(|| {
        NtkError::reject_as(
            Rejection::Layout,
            format!(
                "needs pixel or group features on a grid, got {}",
                layout.kind()
            ),
        )
    })
}

/// `map` of every `size`-value slice of `data` (the `(H, W, C)` slices of a feature array),
/// concatenated.
fn per_slice(data: &[f64], size: usize, map: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
    (0..data.len() / size.max(1))
        .flat_map(|s| map(&data[s * size..][..size]))
        .collect()
}

impl SpatialMap {
    /// Output size `(h, w)`.
    pub fn out_size(&self) -> (usize, usize) {
        (self.rows.n_out(), self.cols.n_out())
    }
    /// True when the map commutes with the rotations and reflections of a square grid: square
    /// input, the same map on both axes, and that map commuting with reversal.
    pub fn keeps_rotations(&self) -> bool {
        self.rows == self.cols && self.rows.is_reversal_symmetric()
    }
    /// The kernel map: every spatial block of `k` (any planar layout) is mapped.
    pub fn kernel(&self, k: &Kernel) -> Kernel {
        let (blocks, h, w) = spatial_of(&k.layout).expect("planar layout");
        debug_assert_eq!((h, w), (self.rows.n_in, self.cols.n_in));
        let (ho, wo) = self.out_size();
        let (bi, bo) = (h * h * w * w, ho * ho * wo * wo);
        let map = |src: &[f64]| {
            let mut out = Vec::with_capacity(blocks * bo);
            for b in 0..blocks {
                out.extend(map_pair_block(&src[b * bi..][..bi], &self.rows, &self.cols));
            }
            out
        };
        Kernel {
            layout: resized(&k.layout, ho, wo),
            nngp: map(&k.nngp),
            ntk: map(&k.ntk),
            channels: k.channels,
        }
    }
    /// The finite map of one sample's features (pixels or group signals).
    pub fn features(&self, x: &Features) -> Features {
        let c = x.sig.channels;
        let (h, w) = (self.rows.n_in, self.cols.n_in);
        let (ho, wo) = self.out_size();
        let data = per_slice(&x.data, h * w * c, |slice| {
            map_features(slice, c, &self.rows, &self.cols)
        });
        Features {
            sig: Signature {
                layout: resized(&x.sig.layout, ho, wo),
                channels: c,
            },
            data,
        }
    }
    /// Reverse mode of [`SpatialMap::features`]: the input cotangent for output cotangent
    /// `dy`, with the input signature `sig`.
    pub fn features_transpose(&self, sig: &Signature, dy: &Features) -> Features {
        let c = sig.channels;
        let (ho, wo) = self.out_size();
        let data = per_slice(&dy.data, ho * wo * c, |slice| {
            map_features_transpose(slice, c, &self.rows, &self.cols)
        });
        Features {
            sig: sig.clone(),
            data,
        }
    }
}

impl SpatialMap {
    /// The subsampling that turns a stride-1 convolution of geometry `g` into one with
    /// `strides` (lax semantics): VALID keeps stride-1 outputs `0, s, 2s, …`
    /// (`⌊(n − k)/s⌋ + 1` of them); SAME and CIRCULAR keep the window centres
    /// `s·o − lo + k/2` with lax's SAME padding `lo` ([`crate::stencil::same_padding`]),
    /// `⌈n/s⌉` of them. `None` for strides `(1, 1)`.
    pub fn strided(g: &crate::stencil::Geometry, strides: (usize, usize)) -> Option<SpatialMap> {
        if strides == (1, 1) {
            return None;
        }
        let axis = |n_in: usize, n1: usize, k: usize, s: usize| match g.padding {
            crate::param::Padding::Valid => AxisMap::subsample(n1, 0, s, (n1 - 1) / s + 1),
            _ => {
                let (n_out, lo, _) = crate::stencil::same_padding(n_in, 2 * k + 1, s);
                AxisMap::subsample(n1, k - lo, s, n_out)
            }
        };
        Some(SpatialMap {
            rows: axis(g.h_in, g.h_out, g.kh, strides.0),
            cols: axis(g.w_in, g.w_out, g.kw, strides.1),
        })
    }
}

/// Errors unless both strides of a convolution are ≥ 1.
pub(crate) fn check_strides(layer: &str, strides: (usize, usize)) -> Result<()> {
    if strides.0 == 0 || strides.1 == 0 {
        return Err(NtkError::spec(format!(
            "{layer}: strides {}×{} must be ≥ 1",
            strides.0, strides.1
        )));
    }
    Ok(())
}
