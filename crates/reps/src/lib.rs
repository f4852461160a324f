//! # entk-reps: how a group acts on functions
//!
//! Representations of the groups of `entk-groups` and harmonic analysis on them:
//!
//! - finite groups: [`Representation`]s, irreps ([`FiniteIrreps`]), the regular
//!   representation and the group Fourier transform ([`FiniteFourier`]), with checkers in
//!   [`laws`] and the registry hooks ([`default_registry`], [`irrep_checks`]);
//! - SO(3) and S²: Wigner `D` and `d` matrices (complex and real bases), spherical harmonics,
//!   the Driscoll–Healy Fourier transforms on S² ([`S2Transform`]) and SO(3)
//!   ([`So3Transform`]) with naive references, rotations of signals, and checkers in
//!   [`so3_laws`].
//!
//! Conventions (ZYZ Euler angles, grids, rotation directions) are those of
//! `docs/conventions.md`; each function restates the ones it uses.
//!
//! ```
//! use entk_groups::Rotation;
//! use entk_reps::wigner_d;
//! // D^l is a representation: D^l(R1 R2) = D^l(R1) D^l(R2).
//! let r1 = Rotation::try_from_euler_zyz(0.3, 1.1, -0.4)?;
//! let r2 = Rotation::try_from_euler_zyz(-1.2, 0.5, 2.0)?;
//! let product = wigner_d(2, &r1) * wigner_d(2, &r2);
//! assert!((wigner_d(2, &r1.compose(&r2)) - product).norm() < 1e-12);
//! # Ok::<(), entk_groups::GroupError>(())
//! ```

mod error;
pub use error::RepsError;

// Finite groups: representations, irreps, Fourier transform.
pub mod laws;
mod representation;
pub use representation::{
    FiniteFourier, FiniteIrreps, Irrep, IrrepInfo, RegularRepresentation, Representation,
};
mod registry;
mod rotation_irreps;
pub use registry::{
    default_registry, irrep_checks, planar_entry, so3_checks, so3_entry, spherical_entry,
};

// SO(3) and S² harmonic analysis.
mod harmonics;
mod rotate;
mod s2_transform;
pub mod so3_laws;
mod so3_transform;
mod so3_validate;
mod transform;
mod wigner;
pub use harmonics::{
    real_spherical_harmonic, sphere_angles, spherical_harmonic, SphericalHarmonics,
};
pub use rotate::{left_translate_so3_signal, right_translate_so3_signal, rotate_s2_signal};
pub use s2_transform::{S2Coefficients, S2Transform, S2TransformNaive};
pub use so3_transform::{
    So3Coefficients, So3Transform, So3TransformNaive, DEFAULT_TABLE_BUDGET_BYTES,
};
pub use transform::{FourierTransform, SampleGrid, Spectrum};
pub use wigner::{
    complex_to_real_basis, real_wigner_d, real_wigner_d_from_euler, wigner_d, wigner_d_from_euler,
    wigner_small_d, wigner_small_d_entry, RealWignerIrrep, WignerD, WignerIrrep, WignerSmallDTable,
};
