//! Rotating bandlimited signals exactly, through Wigner D (docs/conventions.md#so3).
//!
//! - **S².** `(Λ_R f)(u) = f(R⁻¹u)`. From `Y_lm(R⁻¹u) = Σ_n D^l_{nm}(R) Y_ln(u)` the coefficients
//!   are `ĝ_ln = Σ_m D^l_{nm}(R) f̂_lm`, i.e. `ĝ_l = D^l(R) f̂_l` per degree.
//! - **SO(3), left translation.** `(Λ_Q f)(R) = f(Q⁻¹R)`. From
//!   `conj D^l(Q⁻¹R) = D^l(Q)ᵀ conj D^l(R)`, `ĝ^l = D^l(Q) f̂^l` with `f̂^l` the matrix
//!   `[m + l, n + l]` of [`So3Coefficients::block`].
//! - **SO(3), right translation.** `(ρ_Q f)(R) = f(RQ)`. From
//!   `conj D^l(RQ) = conj D^l(R) conj D^l(Q)`, `ĝ^l = f̂^l D^l(Q)†`.
//!
//! All three are exact on coefficients (`O(L³)`); on grid signals they go through the transform,
//! so they are exact for bandlimited signals and otherwise rotate the DH projection.

use entk_groups::Rotation;
use nalgebra::DVector;

use crate::{FourierTransform, RepsError, S2Coefficients, So3Coefficients, WignerD};

impl S2Coefficients {
    /// The coefficients of `Λ_R f`, `(Λ_R f)(u) = f(R⁻¹u)`: `ĝ_ln = Σ_m D^l_{nm}(R) f̂_lm`.
    /// Errors only for a rotation with non-finite entries.
    pub fn rotated(&self, rotation: &Rotation) -> Result<S2Coefficients, RepsError> {
        let bandlimit = self.bandlimit();
        let wigner = WignerD::new(bandlimit, rotation)?;
        let mut out = S2Coefficients::zeros(bandlimit)?;
        for l in 0..bandlimit {
            let li = l as i32;
            let f = DVector::from_fn(2 * l + 1, |i, _| self.get(l, i as i32 - li));
            let g = wigner.degree(l) * f;
            for (i, value) in g.iter().enumerate() {
                out.set(l, i as i32 - li, *value);
            }
        }
        Ok(out)
    }
}

impl So3Coefficients {
    /// The coefficients of the left translate `(Λ_Q f)(R) = f(Q⁻¹R)`: `ĝ^l = D^l(Q) f̂^l`.
    /// Errors only for a rotation with non-finite entries.
    pub fn left_translated(&self, q: &Rotation) -> Result<So3Coefficients, RepsError> {
        let wigner = WignerD::new(self.bandlimit(), q)?;
        let mut out = So3Coefficients::zeros(self.bandlimit())?;
        for l in 0..self.bandlimit() {
            out.set_block(l, &(wigner.degree(l) * self.block(l)))?;
        }
        Ok(out)
    }

    /// The coefficients of the right translate `(ρ_Q f)(R) = f(RQ)`: `ĝ^l = f̂^l D^l(Q)†`.
    /// Errors only for a rotation with non-finite entries.
    pub fn right_translated(&self, q: &Rotation) -> Result<So3Coefficients, RepsError> {
        let wigner = WignerD::new(self.bandlimit(), q)?;
        let mut out = So3Coefficients::zeros(self.bandlimit())?;
        for l in 0..self.bandlimit() {
            out.set_block(l, &(self.block(l) * wigner.degree(l).adjoint()))?;
        }
        Ok(out)
    }
}

/// `Λ_R f` on the DH grid of S², `(Λ_R f)(u) = f(R⁻¹u)` (`R = r`), for a real signal `f` (flat
/// `(θ, φ)`) and a transform `t`:
/// forward transform, [`S2Coefficients::rotated`], real inverse. Exact for bandlimited signals.
pub fn rotate_s2_signal<T>(t: &T, f: &[f64], r: &Rotation) -> Result<Vec<f64>, RepsError>
where
    T: FourierTransform<Coefficients = S2Coefficients> + ?Sized,
{
    through_coefficients(t, f, |c| c.rotated(r))
}

/// The left translate `(Λ_Q f)(R) = f(Q⁻¹R)` (`Q = r`) on the DH grid of SO(3), for a real
/// signal `f` (flat `(γ, β, α)`) and a transform `t`. Exact for bandlimited signals.
pub fn left_translate_so3_signal<T>(t: &T, f: &[f64], r: &Rotation) -> Result<Vec<f64>, RepsError>
where
    T: FourierTransform<Coefficients = So3Coefficients> + ?Sized,
{
    through_coefficients(t, f, |c| c.left_translated(r))
}

/// The right translate `(ρ_Q f)(R) = f(RQ)` (`Q = r`) on the DH grid of SO(3), for a real
/// signal `f` (flat `(γ, β, α)`) and a transform `t`. Exact for bandlimited signals.
pub fn right_translate_so3_signal<T>(t: &T, f: &[f64], r: &Rotation) -> Result<Vec<f64>, RepsError>
where
    T: FourierTransform<Coefficients = So3Coefficients> + ?Sized,
{
    through_coefficients(t, f, |c| c.right_translated(r))
}

/// A real signal mapped through its coefficients: forward transform, `map`, real inverse.
fn through_coefficients<T: FourierTransform + ?Sized>(
    transform: &T,
    signal: &[f64],
    map: impl FnOnce(&T::Coefficients) -> Result<T::Coefficients, RepsError>,
) -> Result<Vec<f64>, RepsError> {
    transform.inverse_real(&map(&transform.forward(signal)?)?)
}
