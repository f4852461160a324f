//! A composable constructor in the spirit of neural-tangents' `stax`: each function returns
//! one [`LayerSpec`] with the spec's defaults (docs/spec.md), and [`crate::Network::serial`] builds a
//! network from a list of them.
//!
//! ```
//! use entk_ntk::{stax, GroupName, Network, Padding};
//!
//! let c4 = GroupName::Cyclic(4);
//! let net = Network::serial([
//!     stax::lift_conv(c4, 3, Padding::Same)?,
//!     stax::relu(),
//!     stax::group_conv(c4, 3, Padding::Same)?,
//!     stax::relu(),
//!     stax::group_pool(),
//!     stax::dense(1),
//! ])?;
//! // The same network as the JSON spec of its layers.
//! let json = Network::from_json(r#"{"layers": [
//!     {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
//!     {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
//!     {"type": "group_pool"}, {"type": "dense"}]}"#)?;
//! let input = Network::image_signature(5, 5, 1);
//! assert_eq!(net.plan(&input)?, json.plan(&input)?);
//! // so3 is not a group of the pixel plane: an error, not a panic.
//! assert!(stax::lift_conv(GroupName::So3, 3, Padding::Same).is_err());
//! # Ok::<(), entk_ntk::NtkError>(())
//! ```
//!
//! Linear layers start with `w_std` 1, `b_std` 0 (no bias), strides 1 and the NTK
//! parameterisation; [`LayerSpec::with_weights`] sets `w_std`/`b_std` of a layer (or of every
//! linear layer inside a combinator), and [`crate::ArchSpec::new`] applies another
//! parameterisation. Every other setting is a public field of [`LayerSpec`].

use std::sync::Arc;

use entk_groups::{GroupKind, GroupName, GroupStructure};

use crate::layers::{Affine, PoolKind};
use crate::param::{GroupSupport, Padding};
use crate::spec::{LayerSpec, NonlinearSpec};
use crate::{NtkError, Result};

/// `dense` with `width` output channels.
pub fn dense(width: usize) -> LayerSpec {
    LayerSpec::Dense(Affine {
        width,
        ..Affine::default()
    })
}

/// `conv` with a `filter×filter` window (odd) and one output channel.
pub fn conv(filter: usize, padding: Padding) -> LayerSpec {
    LayerSpec::Conv {
        filter: (filter, filter),
        padding,
        strides: (1, 1),
        affine: Affine::default(),
    }
}

/// The planar point group `group` names, from the built-in registry; an error for `so3`
/// (not a group of the pixel plane) and for `cN`/`dN` outside the built-in limits (a
/// `GroupName` built by hand, not parsed, may be).
fn planar(layer: &str, group: GroupName) -> Result<Arc<GroupStructure>> {
    let entry = entk_reps::default_registry()
        .get(&group.to_string())
        .map_err(|e| NtkError::spec(format!("stax::{layer}({group}): {e}")))?;
    match entry.kind() {
        GroupKind::Finite(structure) if structure.plane().is_some() => Ok(structure.clone()),
        _ => Err(NtkError::spec(format!(
            "stax::{layer}({group}): not a point group of the pixel plane (cN or dN); SO(3) \
             networks start with s2_lift_conv"
        ))),
    }
}

/// `lift_conv`: images → signals on `group ⋉ Z²`, a `filter×filter` window (odd). An error
/// when `group` is not a built-in planar point group (`so3`, or `cN`/`dN` past the limits).
pub fn lift_conv(group: GroupName, filter: usize, padding: Padding) -> Result<LayerSpec> {
    Ok(LayerSpec::LiftConv {
        group: planar("lift_conv", group)?,
        filter,
        padding,
        strides: (1, 1),
        affine: Affine::default(),
    })
}

/// `group_conv` over all of `group` (`group_support: all`), a `filter×filter` window (odd).
/// An error when `group` is not a built-in planar point group, as for [`lift_conv`].
pub fn group_conv(group: GroupName, filter: usize, padding: Padding) -> Result<LayerSpec> {
    Ok(LayerSpec::GroupConv {
        group: planar("group_conv", group)?,
        filter,
        padding,
        strides: (1, 1),
        support: GroupSupport::All,
        affine: Affine::default(),
    })
}

/// `group_pool`: the mean over group elements and positions (an invariant output).
pub fn group_pool() -> LayerSpec {
    LayerSpec::GroupPool
}

/// `global_avg_pool`: the mean over positions.
pub fn global_avg_pool() -> LayerSpec {
    LayerSpec::GlobalAvgPool
}

/// `avg_pool` with a `window×window` window, strides equal to the window, `valid` padding.
pub fn avg_pool(window: usize) -> LayerSpec {
    LayerSpec::Pool {
        kind: PoolKind::Avg,
        window: (window, window),
        strides: (window, window),
        padding: Padding::Valid,
        normalize_edges: false,
    }
}

/// `flatten`.
pub fn flatten() -> LayerSpec {
    LayerSpec::Flatten
}

/// `relu`.
pub fn relu() -> LayerSpec {
    LayerSpec::Nonlinear(NonlinearSpec::Relu)
}

/// `gelu` (closed-form dual).
pub fn gelu() -> LayerSpec {
    LayerSpec::Nonlinear(NonlinearSpec::Gelu(None))
}

/// `erf`: `a·erf(b·u) + c`.
pub fn erf(a: f64, b: f64, c: f64) -> LayerSpec {
    LayerSpec::Nonlinear(NonlinearSpec::Erf(a, b, c))
}

/// `leaky_relu` with negative slope `slope`.
pub fn leaky_relu(slope: f64) -> LayerSpec {
    LayerSpec::Nonlinear(NonlinearSpec::LeakyRelu(slope))
}

/// `identity`.
pub fn identity() -> LayerSpec {
    LayerSpec::Nonlinear(NonlinearSpec::Identity)
}

/// `serial`: the layers one after another (neural-tangents' `stax.serial`).
pub fn serial(layers: impl IntoIterator<Item = LayerSpec>) -> LayerSpec {
    LayerSpec::Serial(layers.into_iter().collect())
}

/// `fan_out`: `n` copies of the input, for [`parallel`].
pub fn fan_out(n: usize) -> LayerSpec {
    LayerSpec::FanOut(n)
}

/// `parallel`: one branch (a list of layers) per stream of a [`fan_out`].
pub fn parallel(branches: impl IntoIterator<Item = Vec<LayerSpec>>) -> LayerSpec {
    LayerSpec::Parallel(branches.into_iter().collect())
}

/// `fan_in_sum`: the sum of the branches.
pub fn fan_in_sum() -> LayerSpec {
    LayerSpec::FanInSum
}

/// `fan_in_concat`: the branches concatenated along channels.
pub fn fan_in_concat() -> LayerSpec {
    LayerSpec::FanInConcat
}

/// `repeat`: the block applied `n` times, each copy with its own parameters.
pub fn repeat(n: usize, layers: impl IntoIterator<Item = LayerSpec>) -> LayerSpec {
    LayerSpec::Repeat {
        n,
        layers: layers.into_iter().collect(),
    }
}
