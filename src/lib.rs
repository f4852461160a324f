//! # entk: equivariant neural tangent kernels
//!
//! Umbrella crate re-exporting the workspace crates under short names, so downstream code can
//! depend on one crate:
//!
//! - [`groups`] (`entk-groups`): what a group is — traits, elements, actions, Haar quadrature.
//! - [`reps`] (`entk-reps`): how it acts on functions — irreps, Wigner matrices, harmonics,
//!   Fourier transforms.
//! - [`ntk`] (`entk-ntk`): kernels and networks.
//! - [`datasets`] (`entk-datasets`): real data.
//!
//! The cross-crate tests of the workspace live in `tests/` beside this crate.

pub use entk_datasets as datasets;
pub use entk_groups as groups;
pub use entk_ntk as ntk;
pub use entk_reps as reps;
