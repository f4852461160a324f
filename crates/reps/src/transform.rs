//! The one Fourier-transform trait of S² and SO(3) harmonic analysis: [`FourierTransform`],
//! implemented by [`crate::S2Transform`], [`crate::S2TransformNaive`] (coefficients
//! [`crate::S2Coefficients`]) and [`crate::So3Transform`], [`crate::So3TransformNaive`]
//! (coefficients [`crate::So3Coefficients`]). Each transform states its normalisation,
//! coefficient order and signal layout on its coefficient type's page.

use num_complex::Complex64;

use crate::so3_validate::{check_bandlimit, check_finite_complex, check_finite_real, check_length};
use crate::RepsError;

/// A sampling grid of a [`FourierTransform`] (the Driscoll–Healy grids of S² and SO(3)).
pub trait SampleGrid: Copy {
    /// The bandlimit `L`.
    fn bandlimit(&self) -> usize;
    /// The number of samples of a signal.
    fn samples(&self) -> usize;
    /// The expected signal, in words, for length errors ("2L(2L−1) = 240 values on ...").
    fn describe(&self) -> String;
}

/// The coefficients of a bandlimited expansion, as a [`FourierTransform`] needs them.
pub trait Spectrum: Sized {
    /// The grid of the signals these coefficients expand.
    type Grid: SampleGrid;
    /// The coefficients' name in errors (`"S² coefficients"`).
    const NAME: &'static str;
    /// The signals' name in errors (`"S² signal"`).
    const SIGNAL: &'static str;
    /// All-zero coefficients of bandlimit `L ≥ 1`.
    fn zeros(bandlimit: usize) -> Result<Self, RepsError>;
    /// The bandlimit `L`.
    fn bandlimit(&self) -> usize;
    /// The flat array in storage order.
    fn as_slice(&self) -> &[Complex64];
}

/// A transform between signals on a Driscoll–Healy grid and their coefficients: the S² transform
/// of [`crate::S2Coefficients`] and the Wigner transform of [`crate::So3Coefficients`] (their
/// pages state the normalisation, coefficient order and signal layout).
///
/// Three required methods: the grid and the two unchecked passes; every public pass is derived
/// and checks its arguments first (a signal of the grid's length, coefficients of the
/// transform's bandlimit, finite values), returning [`RepsError`] otherwise.
pub trait FourierTransform {
    /// The coefficient type.
    type Coefficients: Spectrum;

    /// The grid (its bandlimit is the transform's).
    fn grid(&self) -> <Self::Coefficients as Spectrum>::Grid;

    /// The forward transform of a checked complex signal into `coeffs` (checked bandlimit;
    /// every entry is overwritten).
    fn analyse(&self, signal: &[Complex64], coeffs: &mut Self::Coefficients);

    /// The inverse transform of checked coefficients into `signal` (checked length; every
    /// sample is overwritten).
    fn synthesise(&self, coeffs: &Self::Coefficients, signal: &mut [Complex64]);

    /// The bandlimit `L`.
    fn bandlimit(&self) -> usize {
        self.grid().bandlimit()
    }

    /// Forward transform of a complex signal into `coeffs`. Errors on a wrong length or
    /// bandlimit or a non-finite value.
    fn forward_complex_into(
        &self,
        signal: &[Complex64],
        coeffs: &mut Self::Coefficients,
    ) -> Result<(), RepsError> {
        check_forward(self, signal.len(), coeffs)?;
        check_finite_complex(<Self::Coefficients as Spectrum>::SIGNAL, signal)?;
        self.analyse(signal, coeffs);
        Ok(())
    }

    /// Forward transform of a real signal into `out`. Errors as
    /// [`FourierTransform::forward_complex_into`].
    fn forward_into(&self, signal: &[f64], out: &mut Self::Coefficients) -> Result<(), RepsError> {
        check_finite_real(<Self::Coefficients as Spectrum>::SIGNAL, signal)?;
        let complex: Vec<Complex64> = signal.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        self.forward_complex_into(&complex, out)
    }

    /// Forward transform of a real signal.
    fn forward(&self, signal: &[f64]) -> Result<Self::Coefficients, RepsError> {
        let mut coeffs = Self::Coefficients::zeros(self.bandlimit())?;
        self.forward_into(signal, &mut coeffs)?;
        Ok(coeffs)
    }

    /// Forward transform of a complex signal.
    fn forward_complex(&self, signal: &[Complex64]) -> Result<Self::Coefficients, RepsError> {
        let mut coeffs = Self::Coefficients::zeros(self.bandlimit())?;
        self.forward_complex_into(signal, &mut coeffs)?;
        Ok(coeffs)
    }

    /// Inverse transform into `signal` (complex grid values). Errors on a wrong length or
    /// bandlimit or non-finite coefficients.
    fn inverse_into(
        &self,
        coeffs: &Self::Coefficients,
        signal: &mut [Complex64],
    ) -> Result<(), RepsError> {
        let name = <Self::Coefficients as Spectrum>::NAME;
        check_bandlimit(name, self.bandlimit(), coeffs.bandlimit())?;
        check_signal(self, signal.len())?;
        check_finite_complex(name, coeffs.as_slice())?;
        self.synthesise(coeffs, signal);
        Ok(())
    }

    /// Inverse transform (complex grid values).
    fn inverse(&self, coeffs: &Self::Coefficients) -> Result<Vec<Complex64>, RepsError> {
        let mut signal = vec![Complex64::new(0.0, 0.0); self.grid().samples()];
        self.inverse_into(coeffs, &mut signal)?;
        Ok(signal)
    }

    /// Real part of the inverse transform: exact for the coefficients of a real signal
    /// (`f̂_{l,−m} = (−1)^m conj f̂_lm` on S², `f̂^l_{−m,−n} = (−1)^{m−n} conj f̂^l_{mn}` on
    /// SO(3)), otherwise the real part of the complex expansion.
    fn inverse_real(&self, coeffs: &Self::Coefficients) -> Result<Vec<f64>, RepsError> {
        Ok(self.inverse(coeffs)?.into_iter().map(|z| z.re).collect())
    }
}

/// Errors unless a signal has `got` samples, the grid's count.
fn check_signal<T: FourierTransform + ?Sized>(transform: &T, got: usize) -> Result<(), RepsError> {
    let grid = transform.grid();
    let what = <T::Coefficients as Spectrum>::SIGNAL;
    check_length(what, grid.samples(), got, || grid.describe())
}

/// The shape checks of a forward pass: a signal of `len` samples into `coeffs`.
fn check_forward<T: FourierTransform + ?Sized>(
    transform: &T,
    len: usize,
    coeffs: &T::Coefficients,
) -> Result<(), RepsError> {
    check_signal(transform, len)?;
    let name = <T::Coefficients as Spectrum>::NAME;
    check_bandlimit(name, transform.bandlimit(), coeffs.bandlimit())
}

/// For a coefficient type `$coeffs` (fields `bandlimit`, `data`, and a private
/// `resized(&self, L_out) -> Result<Self, RepsError>` keeping the degrees below both bandlimits):
/// its storage accessors and bandlimit changes, [`Spectrum`], and [`SampleGrid`] for its grid
/// `$grid`. `$kind` names both in errors (`"S²"`: "S² coefficients", "S² signal"), `$unread`
/// says which stored entries are never read, and `$layout` describes a signal (a format string
/// of the grid's length and bandlimit).
macro_rules! spectrum_and_grid {
    ($coeffs:ty, $grid:ty, $kind:literal, $unread:literal, $layout:literal) => {
        impl $coeffs {
            /// The bandlimit `L`.
            pub fn bandlimit(&self) -> usize {
                self.bandlimit
            }

            /// The flat array.
            pub fn as_slice(&self) -> &[Complex64] {
                &self.data
            }

            #[doc = concat!("The flat array, mutable (entries with ", $unread, " stay unread).")]
            pub fn as_mut_slice(&mut self) -> &mut [Complex64] {
                &mut self.data
            }

            /// The flat array, by value.
            pub fn into_vec(self) -> Vec<Complex64> {
                self.data
            }

            /// Bandlimit reduction `L → L_out ≤ L`
            /// (docs/theory.md#the-so3-layers-in-fourier-space): keeps `l < L_out`.
            pub fn truncate(&self, bandlimit_out: usize) -> Result<Self, RepsError> {
                self.rebandlimit(concat!($kind, " bandlimit reduction"), true, bandlimit_out)
            }

            /// Zero padding `L → L_out ≥ L` (the same function on a finer grid).
            pub fn zero_pad(&self, bandlimit_out: usize) -> Result<Self, RepsError> {
                self.rebandlimit(concat!($kind, " zero padding"), false, bandlimit_out)
            }

            /// [`Self::truncate`] (`reduction`) or [`Self::zero_pad`], named `what` in errors.
            fn rebandlimit(
                &self,
                what: &'static str,
                reduction: bool,
                bandlimit_out: usize,
            ) -> Result<Self, RepsError> {
                let (from, to) = (self.bandlimit, bandlimit_out);
                $crate::so3_validate::check_bandlimit_change(what, reduction, from, to)?;
                self.resized(bandlimit_out)
            }
        }

        impl $crate::transform::Spectrum for $coeffs {
            type Grid = $grid;
            const NAME: &'static str = concat!($kind, " coefficients");
            const SIGNAL: &'static str = concat!($kind, " signal");
            fn zeros(bandlimit: usize) -> Result<Self, RepsError> {
                <$coeffs>::zeros(bandlimit)
            }
            fn bandlimit(&self) -> usize {
                self.bandlimit
            }
            fn as_slice(&self) -> &[Complex64] {
                &self.data
            }
        }

        impl $crate::transform::SampleGrid for $grid {
            fn bandlimit(&self) -> usize {
                <$grid>::bandlimit(self)
            }
            fn samples(&self) -> usize {
                <$grid>::len(self)
            }
            fn describe(&self) -> String {
                format!($layout, <$grid>::len(self), <$grid>::bandlimit(self))
            }
        }
    };
}
pub(crate) use spectrum_and_grid;
