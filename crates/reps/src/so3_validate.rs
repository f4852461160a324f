//! Input checks shared by the S² and SO(3) transforms: lengths, bandlimits and finiteness.

use num_complex::Complex64;

use crate::RepsError;

/// Errors unless `got == expected`; `describe` spells out the expected shape.
pub(crate) fn check_length(
    what: &'static str,
    expected: usize,
    got: usize,
    describe: impl FnOnce() -> String,
) -> Result<(), RepsError> {
    if got == expected {
        Ok(())
    } else {
        Err(RepsError::ShapeMismatch {
            what,
            expected: describe(),
            got: format!("{got} values"),
        })
    }
}

/// Errors unless two bandlimits agree.
pub(crate) fn check_bandlimit(
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), RepsError> {
    if got == expected {
        Ok(())
    } else {
        Err(RepsError::ShapeMismatch {
            what,
            expected: format!("bandlimit L = {expected}"),
            got: format!("bandlimit L = {got}"),
        })
    }
}

/// Errors at the first NaN or infinite value.
pub(crate) fn check_finite_real(what: &'static str, values: &[f64]) -> Result<(), RepsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(RepsError::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Errors at the first value with a NaN or infinite part.
pub(crate) fn check_finite_complex(
    what: &'static str,
    values: &[Complex64],
) -> Result<(), RepsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(RepsError::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Errors for `L = 0`.
pub(crate) fn check_nonzero_bandlimit(bandlimit: usize) -> Result<(), RepsError> {
    if bandlimit == 0 {
        Err(entk_groups::GroupError::ZeroBandlimit.into())
    } else {
        Ok(())
    }
}

/// `(m + L) mod (2L−1)`: the FFT bin of order `m` stored at index `m_index = m + L − 1`.
#[inline]
pub(crate) fn fft_bin(m_index: usize, bandlimit: usize) -> usize {
    (m_index + bandlimit) % (2 * bandlimit - 1)
}

/// Bandlimits below this run the transforms on the calling thread (rayon's overhead would
/// dominate; callers such as kernel engines parallelise over many small transforms instead).
pub(crate) const PARALLEL_MIN_BANDLIMIT: usize = 12;

/// `with_min_len` argument: no splitting below [`PARALLEL_MIN_BANDLIMIT`].
pub(crate) fn parallel_min_len(bandlimit: usize) -> usize {
    if bandlimit >= PARALLEL_MIN_BANDLIMIT {
        1
    } else {
        usize::MAX
    }
}

/// The methods that both transform traits ([`crate::S2FourierTransform`],
/// [`crate::So3FourierTransform`]) derive from their two required ones, for coefficients of type
/// `$coeffs` and signals called `$what` in errors. One copy, expanded inside each trait.
macro_rules! derived_transform_methods {
    ($coeffs:ty, $what:literal) => {
        /// The bandlimit `L`.
        fn bandlimit(&self) -> usize {
            self.grid().bandlimit()
        }

        /// Forward transform of a real signal into `coeffs`.
        fn forward_into(&self, signal: &[f64], coeffs: &mut $coeffs) -> Result<(), RepsError> {
            $crate::so3_validate::check_finite_real($what, signal)?;
            let complex: Vec<Complex64> = signal.iter().map(|&v| Complex64::new(v, 0.0)).collect();
            self.forward_complex_into(&complex, coeffs)
        }

        /// Forward transform of a real signal.
        fn forward(&self, signal: &[f64]) -> Result<$coeffs, RepsError> {
            let mut coeffs = <$coeffs>::zeros(self.bandlimit())?;
            self.forward_into(signal, &mut coeffs)?;
            Ok(coeffs)
        }

        /// Forward transform of a complex signal.
        fn forward_complex(&self, signal: &[Complex64]) -> Result<$coeffs, RepsError> {
            let mut coeffs = <$coeffs>::zeros(self.bandlimit())?;
            self.forward_complex_into(signal, &mut coeffs)?;
            Ok(coeffs)
        }

        /// Inverse transform (complex grid values).
        fn inverse(&self, coeffs: &$coeffs) -> Result<Vec<Complex64>, RepsError> {
            let mut signal = vec![Complex64::new(0.0, 0.0); self.grid().len()];
            self.inverse_into(coeffs, &mut signal)?;
            Ok(signal)
        }

        /// Real part of the inverse transform: exact for the coefficients of a real signal
        /// (`f̂_{l,−m} = (−1)^m conj f̂_lm` on S², `f̂^l_{−m,−n} = (−1)^{m−n} conj f̂^l_{mn}` on
        /// SO(3)), otherwise the real part of the complex expansion.
        fn inverse_real(&self, coeffs: &$coeffs) -> Result<Vec<f64>, RepsError> {
            Ok(self.inverse(coeffs)?.into_iter().map(|z| z.re).collect())
        }
    };
}
pub(crate) use derived_transform_methods;
