//! Diagonal regularisation of a train–train Gram matrix (docs/theory.md#prediction).

use ndarray::{Array2, ArrayView2};

use super::validate::{check_nonnegative, check_symmetric_gram};
use super::RegressionError;

/// Diagonal added to a train–train Gram matrix `Θ` (n×n) before it is inverted or
/// diagonalised:
///
/// `Θ_reg = Θ + (relative · tr(Θ)/n + absolute) · I`.
///
/// `relative` is neural-tangents' `diag_reg` (with `diag_reg_absolute_scale=False`): a fraction
/// of the mean diagonal, so it is invariant to rescaling the kernel. docs/theory.md#experiments uses
/// `relative = 5e-5` (QM9) and `1e-4` (histology). `absolute` is a fixed amount in kernel
/// units; for GP inference ([`super::gp_posterior`]) it is the observation-noise variance `σ²`.
/// Both default to 0 (no regularisation) and must be finite and `>= 0`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DiagReg {
    /// Multiple of the mean diagonal `tr(Θ)/n` to add.
    pub relative: f64,
    /// Absolute amount to add (kernel units; the noise variance in GP inference).
    pub absolute: f64,
}

impl DiagReg {
    /// No regularisation.
    pub const NONE: DiagReg = DiagReg {
        relative: 0.0,
        absolute: 0.0,
    };

    /// Relative regularisation only: adds `lambda · tr(Θ)/n · I`.
    pub fn relative(lambda: f64) -> Self {
        DiagReg {
            relative: lambda,
            absolute: 0.0,
        }
    }

    /// Absolute regularisation only: adds `value · I` (e.g. a noise variance `σ²`).
    pub fn absolute(value: f64) -> Self {
        DiagReg {
            relative: 0.0,
            absolute: value,
        }
    }

    /// Rejects negative or non-finite parts.
    pub(crate) fn validate(&self) -> Result<(), RegressionError> {
        check_nonnegative("diag_reg.relative", self.relative, false)?;
        check_nonnegative("diag_reg.absolute", self.absolute, false)
    }

    /// The amount `relative · tr(Θ)/n + absolute` this adds to every diagonal entry of `gram`
    /// (0 for an empty matrix's relative part). Does not validate `gram`.
    pub fn jitter(&self, gram: &ArrayView2<'_, f64>) -> f64 {
        let n = gram.nrows().min(gram.ncols());
        let mean_diag = if n == 0 {
            0.0
        } else {
            gram.diag().sum() / n as f64
        };
        self.relative * mean_diag + self.absolute
    }
}

/// `Θ + (λ·tr(Θ)/n + c)·I` for `reg = DiagReg { relative: λ, absolute: c }`, together with the
/// jitter `λ·tr(Θ)/n + c` that was added.
///
/// Validates that `gram` is square, finite and symmetric (see [`super::SYMMETRY_TOL`]) and that
/// `reg` is finite and non-negative.
pub fn regularized_gram(
    gram: ArrayView2<'_, f64>,
    reg: DiagReg,
) -> Result<(Array2<f64>, f64), RegressionError> {
    check_symmetric_gram("train_train Gram", &gram)?;
    reg.validate()?;
    let jitter = reg.jitter(&gram);
    let mut out = gram.to_owned();
    out.diag_mut().mapv_inplace(|d| d + jitter);
    Ok((out, jitter))
}
