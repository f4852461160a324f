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
pub use finite::{
    FiniteDomain, FiniteSo3Layer, FromS2, FromSo3, S2LiftFinite, So3Affine, So3ConvFinite,
    So3PoolFinite,
};
pub use grid_kernel::{So3Operand, So3PairKernel};
pub use lift::{QuadratureCoefficients, S2LiftOperator};
pub use rotation_lift::S2RotationLiftOperator;

use std::f64::consts::PI;
use std::sync::OnceLock;

/// Does now, on the calling thread, the one-time set-up of the matrix products the SO(3)
/// layers use (faer reads the machine's cache sizes from sysfs on its first large product,
/// about a millisecond, while every other thread that needs one waits). A program that will
/// compute SO(3) kernels can call it on a spare thread at start-up, beside its own reading of
/// specs and inputs; the numbers do not depend on it.
pub fn warm_up_gemm() {
    basis::warm_up();
}

/// Errors of the SO(3) layers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum So3Error {
    /// Bandlimits that cannot be used (zero, or an output larger than the input).
    #[error("invalid bandlimit: {0}")]
    Bandlimit(String),
    /// `max_beta` outside `(0, π]`.
    #[error("max_beta must lie in (0, π], got {0}")]
    MaxBeta(f64),
    /// A signal whose length is not its grid's point count times its channel count (or no
    /// channels at all).
    #[error(
        "{space} signal of bandlimit {bandlimit} with {channels} channel(s) needs {expected} values, got {got}"
    )]
    SignalLength {
        /// `S²` or `SO(3)`.
        space: &'static str,
        /// The bandlimit of the grid.
        bandlimit: usize,
        /// The channel count given.
        channels: usize,
        /// Grid points times channels (at least one channel).
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// An input kernel on the S² grid that is not `points × points`.
    #[error(
        "s2_lift_conv: input kernel needs {points}² values for bandlimit {bandlimit}, got {got}"
    )]
    KernelLength {
        /// Grid points of the input bandlimit.
        points: usize,
        /// The input bandlimit.
        bandlimit: usize,
        /// The length given.
        got: usize,
    },
    /// SO(3) features or signals of another bandlimit than the layer's input (`what`:
    /// `features` or `signals`).
    #[error("so3_conv expects SO(3) {what} of bandlimit {expected}, got {got}")]
    BandlimitMismatch {
        /// `features` or `signals`.
        what: &'static str,
        /// The layer's input bandlimit.
        expected: usize,
        /// The bandlimit given.
        got: usize,
    },
    /// Two SO(3) signals of a pair with different channel counts.
    #[error("the two SO(3) signals have {0} and {1} channels")]
    Channels(usize, usize),
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

/// Refuses a signal of `got` values that is not `points` grid values per channel of `channels`
/// (at least one) on the grid of `bandlimit` in `space` (`S²` or `SO(3)`).
pub(crate) fn check_signal_len(
    (space, bandlimit, points): (&'static str, usize, usize),
    channels: usize,
    got: usize,
) -> Result<(), So3Error> {
    if channels == 0 || got != points * channels {
        return Err(So3Error::SignalLength {
            space,
            bandlimit,
            channels,
            expected: points * channels.max(1),
            got,
        });
    }
    Ok(())
}

/// Refuses an input kernel of `got` values that is not `points × points` (bandlimit `bandlimit`).
pub(crate) fn check_kernel_len(
    points: usize,
    bandlimit: usize,
    got: usize,
) -> Result<(), So3Error> {
    if got != points * points {
        return Err(So3Error::KernelLength {
            points,
            bandlimit,
            got,
        });
    }
    Ok(())
}

pub(crate) fn check_max_beta(max_beta: f64) -> Result<(), So3Error> {
    if !(max_beta > 0.0 && max_beta <= PI + 1e-12) {
        return Err(So3Error::MaxBeta(max_beta));
    }
    Ok(())
}

/// `cell`'s value, made by `make` on first use (the operators' transforms, built only when a
/// raw signal is projected). An error of `make` is returned and not kept: a later call tries
/// again. Two threads may both run `make`; one result is kept.
pub(crate) fn get_or_try_init<T, E>(
    cell: &OnceLock<T>,
    make: impl FnOnce() -> Result<T, E>,
) -> Result<&T, E> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = make()?;
    Ok(cell.get_or_init(|| value))
}
