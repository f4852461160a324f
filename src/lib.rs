//! # entk: equivariant neural tangent kernels
//!
//! Exact infinite-width NNGP and NTK kernels of (group-)convolutional networks, their
//! finite-width twins, and kernel regression. The common job, a C4-equivariant CNN's kernels
//! and its kernel-regression predictions (neural-tangents' `stax.serial`, `kernel_fn`,
//! `predict_fn`):
//!
//! ```
//! use entk::prelude::*;
//!
//! let c4 = GroupName::Cyclic(4);
//! let net = Network::serial([
//!     stax::lift_conv(c4, 3, Padding::Same)?, stax::relu(),
//!     stax::group_conv(c4, 3, Padding::Same)?, stax::relu(),
//!     stax::group_pool(), stax::dense(1),
//! ])?;
//! let image = |n: usize| Array4::from_shape_fn((n, 5, 5, 1), |(i, h, w, _)| ((i * 25 + h * 5 + w) as f64 * 0.37).sin());
//! let (x_train, x_test) = (image(6), image(9).slice_move(s![6.., .., .., ..]));
//! let y_train = Array2::from_shape_fn((6, 1), |(i, _)| if i % 2 == 0 { 1.0 } else { -1.0 });
//! let gram = net.kernel(&x_test, Some(&x_train))?; // gram.nngp, gram.ntk: 3×6
//! let prediction = net.predict(&x_train, &y_train, &x_test)?; // prediction.ntk.test: 3×1
//! # assert_eq!(gram.ntk.dim(), (3, 6));
//! # assert_eq!(prediction.ntk.test.dim(), (3, 1));
//! # assert!((&prediction.ntk.train - &y_train).iter().all(|d| d.abs() < 1e-8));
//! # Ok::<(), NtkError>(())
//! ```
//!
//! The same program is `examples/c4_gcnn_regression.rs` (`cargo run --release --example
//! c4_gcnn_regression`). This umbrella crate re-exports the workspace crates under short names,
//! so downstream code depends on one crate:
//!
//! - [`groups`] (`entk-groups`): what a group is — traits, elements, actions, Haar quadrature.
//! - [`reps`] (`entk-reps`): how it acts on functions — irreps, Wigner matrices, harmonics,
//!   Fourier transforms.
//! - [`ntk`] (`entk-ntk`): kernels and networks; [`ntk::stax`] builds networks, JSON specs
//!   (`docs/spec.md`) are the other way in.
//! - [`datasets`] (`entk-datasets`): real data.
//!
//! and the foreign crates whose types appear in the API ([`ndarray`], [`nalgebra`],
//! [`num_complex`], [`rand`]), so downstream code needs no version pin of its own. [`prelude`]
//! carries the names of the common job. The cross-crate tests of the workspace live in
//! `tests/` beside this crate.

pub use entk_datasets as datasets;
pub use entk_groups as groups;
pub use entk_ntk as ntk;
pub use entk_reps as reps;
pub use {nalgebra, ndarray, num_complex, rand};

/// The names of the common job: build a network ([`stax`](entk_ntk::stax),
/// [`Network`](entk_ntk::Network)), compute its kernels and predict, with the array types they
/// take and return. `use entk::prelude::*;`
pub mod prelude {
    pub use entk_groups::GroupName;
    pub use entk_ntk::regression::{DiagReg, GradientFlow, GradientFlowOptions, TrainingTime};
    pub use entk_ntk::{
        stax, ArchSpec, Features, Gram, GramOptions, LayerSpec, Network, NtkError, Padding,
        Parameterization, Prediction,
    };
    pub use ndarray::{
        array, s, Array1, Array2, Array3, Array4, Array5, ArrayView2, ArrayView4, Axis,
    };
}
