//! # entk-reps: how a group acts on functions
//!
//! Placeholder tour; filled in below.

mod error;
pub use error::RepsError;

// ---- finite groups: representations, irreps, Fourier transform (owner: finite-reps work) ----
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

// ---- SO(3) harmonic analysis (owner: so3 harmonic-analysis work) ----
// BEGIN SO3 MODULES
mod harmonics;
mod rotate;
mod s2_transform;
pub mod so3_laws;
mod so3_transform;
mod so3_validate;
mod wigner;
pub use harmonics::{
    real_spherical_harmonic, sphere_angles, spherical_harmonic, SphericalHarmonics,
};
pub use rotate::{left_translate_so3_signal, right_translate_so3_signal, rotate_s2_signal};
pub use s2_transform::{S2Coefficients, S2FourierTransform, S2Transform, S2TransformNaive};
pub use so3_transform::{
    So3Coefficients, So3FourierTransform, So3Transform, So3TransformNaive,
    DEFAULT_TABLE_BUDGET_BYTES,
};
pub use wigner::{
    complex_to_real_basis, real_wigner_d, real_wigner_d_from_euler, wigner_d, wigner_d_from_euler,
    wigner_small_d, wigner_small_d_entry, RealWignerIrrep, WignerD, WignerIrrep, WignerSmallDTable,
};
// END SO3 MODULES
