//! Training time of gradient flow.

use super::RegressionError;

/// How long gradient flow runs: a finite time `t >= 0` or the limit `t → ∞`.
///
/// The flow evolves in `η·t` (learning rate times time), docs/theory.md#prediction. `Infinite` is kernel
/// regression, solved by Cholesky; finite times use the eigendecomposition of the Gram matrix.
/// Build one from an `f64` with [`TrainingTime::try_from`] (or [`TrainingTime::from_f64`]):
/// `f64::INFINITY` maps to `Infinite`, NaN and negative values are errors. The default is
/// `Infinite`, the default of `entk predict`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum TrainingTime {
    /// A finite time `t >= 0`; `t = 0` gives the zero prediction.
    Finite(f64),
    /// The end point `t = ∞` (kernel regression).
    #[default]
    Infinite,
}

impl TrainingTime {
    /// `+∞ → Infinite`, finite `t >= 0 → Finite(t)`, anything else is
    /// [`RegressionError::InvalidParameter`].
    pub fn from_f64(t: f64) -> Result<Self, RegressionError> {
        if t == f64::INFINITY {
            Ok(TrainingTime::Infinite)
        } else if t.is_finite() && t >= 0.0 {
            Ok(TrainingTime::Finite(t))
        } else {
            Err(RegressionError::InvalidParameter {
                what: "time",
                value: t,
                reason: "must be >= 0 (finite) or +infinity",
            })
        }
    }

    /// The time as an `f64` (`f64::INFINITY` for `Infinite`).
    pub fn as_f64(self) -> f64 {
        match self {
            TrainingTime::Finite(t) => t,
            TrainingTime::Infinite => f64::INFINITY,
        }
    }

    /// Re-validates a possibly hand-built `Finite(t)`.
    pub(crate) fn validate(self) -> Result<Self, RegressionError> {
        Self::from_f64(self.as_f64())
    }
}

impl TryFrom<f64> for TrainingTime {
    type Error = RegressionError;

    fn try_from(t: f64) -> Result<Self, Self::Error> {
        Self::from_f64(t)
    }
}
