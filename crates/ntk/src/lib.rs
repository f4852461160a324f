//! # entk-ntk: kernels and networks
//!
//! Exact infinite-width NNGP `K` and NTK `Θ` of (group-)convolutional networks, their
//! finite-width twins and empirical / Monte-Carlo kernels (docs/theory.md).
//!
//! - [`stax`] and [`Network::serial`] build a network from layer functions (neural-tangents'
//!   `stax.serial`); [`Network::kernel`] gives both Gram matrices and [`Network::predict`]
//!   kernel-regression predictions in one call.
//! - [`ArchSpec`] parses the architecture JSON of docs/spec.md; [`Network::from_spec`] builds a
//!   [`Network`] of [`Layer`] objects (neural-tangents `stax` style: every layer carries its
//!   kernel map *and* its finite `init`/`apply`/`vjp`).
//! - [`Network::plan`] gives a [`KernelPlan`] (layers, [`Layout`]s, values per pair, peak bytes)
//!   without computing anything.
//! - [`Network::gram`] computes `N1×N2` NNGP/NTK Gram matrices of invariant scalar-output
//!   networks, in parallel over pairs with [`GramOptions`] (threads, memory budget, progress).
//! - [`augment::augmented_gram`] is the orbit-averaged kernel `Θ̄(x,x′) = |G|⁻¹ Σ_g Θ(x, g·x′)`.
//! - [`finite`]: exact empirical NNGP/NTK from the parameter Jacobian and Monte-Carlo kernels.
//!
//! Kernel recursions (docs/theory.md): with the A-operator `A_S[K](g,g′) = |S|⁻¹ Σ_{h∈S} K(gh, g′h)`,
//! `K_out = σ_w² A[K_in] + σ_b²` and `Θ_out = K_out + σ_w² A[Θ_in]`; the first layer has
//! `Θ_in = 0`, hence `Θ¹ = K¹`.
//!
//! ```
//! use entk_ntk::{GramOptions, Network};
//! use ndarray::Array4;
//! let net = Network::from_json(r#"{"layers": [
//!     {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
//!     {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
//!     {"type": "group_pool"}, {"type": "dense"}]}"#).unwrap();
//! let x = Array4::from_shape_fn((2, 5, 5, 1), |(b, h, w, _)| ((0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin() + 0.1 * (h * w) as f64));
//! let g = net.gram(x.view(), None, &GramOptions::default()).unwrap();
//! assert!((g.nngp[[0, 1]] - 0.0542393893).abs() < 1e-10);
//! ```

pub mod augment;
mod error;
pub mod finite;
mod gram;
pub mod layers;
mod layout;
mod network;
pub mod nonlin;
mod param;
pub mod regression;
mod scratch;
mod short;
pub mod simd;
pub mod so3;
mod spec;
pub mod stax;
mod stencil;

pub use error::{InputProblem, NtkError, Rejection, Result, SpecError, SpecErrorKind};
pub use gram::{available_memory, Gram, GramBlocks, GramOptions, Progress};
pub use layers::{
    Affine, Batch, BatchGrad, DualThen, Feats, Features, GradMode, Layer, Params, SigMode,
    Signature,
};
pub use layout::{DiagMode, GroupInfo, Kernel, KernelCtx, Layout, Stream};
pub use network::{
    image_features, so3_features, so3_signal_bandlimit, BatchPullback, KernelPlan, Network,
    PlanStep, PreparedInput, Pullback,
};
pub use nonlin::Nonlinearity;
pub use param::{GroupSupport, Padding, Parameterization};
pub use scratch::release_buffers;
pub use short::Prediction;
pub use simd::SimdLevel;
pub use spec::{ArchSpec, LayerSpec, NonlinearSpec};

// Foreign crates whose types appear in the API, so downstream code needs no version pin.
pub use entk_groups::GroupName;
pub use ndarray;
pub use rand;
