//! SO(3) layers' kernels: S² lifting, SO(3) group convolution and Haar pooling
//! (docs/theory.md#the-so3-layers-in-fourier-space).
//!
//! Kernels between SO(3) feature maps live on the Driscoll–Healy grid in the Δγ-reduced form of
//! [`So3PairKernel`]. The linear layers are operators on such kernels computed in Fourier space
//! slot by slot, split by the γ-frequency `n` (which the z-symmetry of every layer keeps
//! diagonal): [`S2LiftOperator`] and [`So3ConvOperator`], with global or local filter support.

mod basis;
mod conv;
mod finite;
mod grid_kernel;
mod lift;
mod rotation_lift;
mod support;

pub use conv::{SignalCoefficients, So3ConvOperator};
pub use finite::{S2LiftFinite, So3Affine, So3ConvFinite, So3PoolFinite};
pub use grid_kernel::So3PairKernel;
pub use lift::{QuadratureCoefficients, S2LiftOperator};
pub use rotation_lift::S2RotationLiftOperator;

use std::f64::consts::PI;

/// Errors of the SO(3) layers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum So3Error {
    /// Bandlimits that cannot be used (zero, or an output larger than the input).
    #[error("invalid bandlimit: {0}")]
    Bandlimit(String),
    /// `max_beta` outside `(0, π]`.
    #[error("max_beta must lie in (0, π], got {0}")]
    MaxBeta(f64),
    /// Shapes that do not match the layer.
    #[error("{0}")]
    Shape(String),
    /// An error from the transforms.
    #[error(transparent)]
    Reps(#[from] entk_reps::RepsError),
}

pub(crate) fn check_bandlimits(bandlimit_in: usize, bandlimit_out: usize) -> Result<(), So3Error> {
    if bandlimit_out == 0 || bandlimit_in == 0 {
        return Err(So3Error::Bandlimit("bandlimits must be at least 1".into()));
    }
    if bandlimit_out > bandlimit_in {
        return Err(So3Error::Bandlimit(format!(
            "bandlimit_out {bandlimit_out} exceeds the input bandlimit {bandlimit_in} (no upsampling)"
        )));
    }
    Ok(())
}

pub(crate) fn check_max_beta(max_beta: f64) -> Result<(), So3Error> {
    if !(max_beta > 0.0 && max_beta <= PI + 1e-12) {
        return Err(So3Error::MaxBeta(max_beta));
    }
    Ok(())
}
