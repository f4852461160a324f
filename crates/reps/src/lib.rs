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

// ---- SO(3) harmonic analysis (owner: so3 harmonic-analysis work) ----
// BEGIN SO3 MODULES
// END SO3 MODULES
