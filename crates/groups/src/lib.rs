//! # entk-groups: what a group is
//!
//! The symmetry layer of entk. Core types:
//!
//! - [`Group`]: identity, composition `a·b`, inverse, a metric. [`FiniteGroup`] adds the
//!   numbering `0..|G|`; [`CompactGroup`] adds the Haar measure (volume, Haar sampling, a
//!   quadrature rule `∫_G f ≈ Σ_i w_i f(g_i)` exact at a bandlimit). Finite groups are compact
//!   for free (counting measure).
//! - [`Action`] of a group on a [`Space`]: `g·(h·p) = (gh)·p`. [`PlanarPointGroup`] is the hook
//!   for pixel grids: the orthogonal 2×2 matrix of each element on `(row, col)` offsets.
//! - Implementations: [`CyclicGroup`] `C_n`, [`DihedralGroup`] `D_n`, [`RotoTranslation`]
//!   `H ⋉ Z_N²`, [`SO3`] with [`Rotation`] / [`EulerZyz`] and the Driscoll–Healy grids
//!   [`DriscollHealyGrid`] (S²) and [`So3Grid`].
//! - [`laws`]: measuring checkers for the group, numbering, action and quadrature laws.
//!
//! Conventions follow docs/conventions.md#pixel-grid-and-planar-groups (pixel coordinates,
//! rotation direction) and docs/conventions.md#so3 (ZYZ Euler angles, grids).
//!
//! ```
//! use entk_groups::{laws, CyclicGroup, FiniteGroupExt};
//! let c4 = CyclicGroup::new(4).unwrap();
//! assert!(laws::check_finite_group_all(&c4).iter().all(|c| c.passed()));
//! assert_eq!(c4.compose_indices(3, 1), 0);
//! ```
//!
//! ## Adding a group
//! Implement [`Group`] and [`FiniteGroup`] (or [`CompactGroup`]) for a new type; all of
//! [`GroupExt`], [`FiniteGroupExt`] and [`laws`] then apply. `tests/new_group.rs` at the
//! workspace root does this for the quaternion group Q8 without touching any crate.

mod action;
mod cyclic;
mod dihedral;
mod error;
mod group;
pub mod laws;
pub mod plane;
mod registry;
mod roto_translation;
mod so3;
mod sphere;
mod structure;

pub use action::{Action, Circle, PixelTorus, Plane, Space, Sphere};
pub use cyclic::CyclicGroup;
pub use dihedral::{DihedralElement, DihedralGroup};
pub use error::GroupError;
pub use group::{CompactGroup, FiniteGroup, FiniteGroupExt, Group, GroupExt, Quadrature};
pub use plane::{PixelResampling, PlanarPointGroup};
pub use registry::{
    cyclic_family, dihedral_family, CheckOptions, Checker, FamilyParser, GroupEntry, GroupFamily,
    GroupKind, GroupName, GroupRegistry, KNOWN_GROUPS, MAX_FINITE_ORDER,
};
pub use roto_translation::{RotoTranslation, RotoTranslationElement};
pub use so3::{DriscollHealyGrid, EulerZyz, Rotation, So3Grid, SO3};
pub use sphere::{FiniteRotationGroup, SphericalPointGroup, GOLDEN_RATIO};
pub use structure::{GroupStructure, PlaneAction};
