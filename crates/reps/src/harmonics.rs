//! Spherical harmonics on S²: complex (Condon–Shortley) and real, orthonormal.
//!
//! Convention (docs/conventions.md#so3): `u = (sin θ cos φ, sin θ sin φ, cos θ)`,
//! `Y_lm(θ, φ) = √((2l+1)/4π) d^l_{m0}(θ) e^{imφ}`, which is the orthonormal harmonic with the
//! Condon–Shortley phase, equal to `scipy.special.sph_harm_y(l, m, θ, φ)`; for example
//! `Y₁¹ = −√(3/8π) sin θ e^{iφ}`. Then `Y_{l,−m} = (−1)^m conj Y_lm` and
//! `∫ Y_lm conj Y_l′m′ du = δ_{ll′}δ_{mm′}`. The real harmonics are defined in
//! [`crate::complex_to_real_basis`].

use nalgebra::Vector3;
use num_complex::Complex64;
use std::f64::consts::{PI, SQRT_2};

use crate::wigner::{wigner_small_d_entry, FixedOrderRecursion, LogFactorials};
use crate::RepsError;

/// Polar and azimuthal angles `(θ, φ)` of a non-zero vector: `θ = atan2(√(x²+y²), z) ∈ [0, π]`,
/// `φ = atan2(y, x) ∈ (−π, π]`. The vector need not be normalised.
pub fn sphere_angles(u: &Vector3<f64>) -> (f64, f64) {
    (u.x.hypot(u.y).atan2(u.z), u.y.atan2(u.x))
}

/// `√((2l+1)/4π)`, the normalisation of degree `l`.
pub(crate) fn harmonic_norm(l: usize) -> f64 {
    ((2 * l + 1) as f64 / (4.0 * PI)).sqrt()
}

/// The complex orthonormal harmonic `Y_lm(θ, φ)` with Condon–Shortley phase
/// (= `scipy.special.sph_harm_y(l, m, θ, φ)`); zero when `|m| > l`. `O(l)` flops.
pub fn spherical_harmonic(l: usize, m: i32, theta: f64, phi: f64) -> Complex64 {
    if m.unsigned_abs() as usize > l {
        return Complex64::new(0.0, 0.0);
    }
    Complex64::cis(m as f64 * phi) * (harmonic_norm(l) * wigner_small_d_entry(l, m, 0, theta))
}

/// The real orthonormal harmonic `Y^real_{lm}(θ, φ)`: `√2 (−1)^m Re Y_lm` for `m > 0`, `Y_l0`
/// for `m = 0`, `√2 (−1)^m Im Y_{l|m|}` for `m < 0` (so `√(3/4π)·(y, z, x)` for `l = 1`,
/// `m = −1, 0, 1`; see [`crate::complex_to_real_basis`]); zero when `|m| > l`.
pub fn real_spherical_harmonic(l: usize, m: i32, theta: f64, phi: f64) -> f64 {
    if m.unsigned_abs() as usize > l {
        return 0.0;
    }
    let am = m.abs();
    let radial = harmonic_norm(l) * wigner_small_d_entry(l, am, 0, theta);
    real_from_radial(m, radial, phi)
}

/// `Y^real_{lm}` from `√((2l+1)/4π) d^l_{|m|0}(θ)`.
fn real_from_radial(m: i32, radial: f64, phi: f64) -> f64 {
    let sign = if m % 2 == 0 { 1.0 } else { -1.0 };
    match m.cmp(&0) {
        std::cmp::Ordering::Equal => radial,
        std::cmp::Ordering::Greater => SQRT_2 * sign * radial * (m as f64 * phi).cos(),
        std::cmp::Ordering::Less => SQRT_2 * sign * radial * (-(m as f64) * phi).sin(),
    }
}

/// All harmonics `Y_lm`, `l < L`, at one point, in `O(L²)`: built once per bandlimit and
/// evaluated at many points.
///
/// Output layout: `(l, m + L − 1)`, shape `(L, 2L−1)` row-major (the layout of
/// [`crate::S2Coefficients`]), zero where `|m| > l`. So `Σ f̂_lm Y_lm(u)` is a plain dot product.
#[derive(Debug, Clone)]
pub struct SphericalHarmonics {
    bandlimit: usize,
    recursion: FixedOrderRecursion,
}

impl SphericalHarmonics {
    /// Harmonics of degrees `l < L`, `L ≥ 1`.
    pub fn new(bandlimit: usize) -> Result<Self, RepsError> {
        if bandlimit == 0 {
            return Err(entk_groups::GroupError::ZeroBandlimit.into());
        }
        let log_factorials = LogFactorials::new(2 * bandlimit);
        Ok(Self {
            bandlimit,
            recursion: FixedOrderRecursion::new(bandlimit, 0, &log_factorials),
        })
    }

    /// The bandlimit `L`.
    pub fn bandlimit(&self) -> usize {
        self.bandlimit
    }

    /// `L(2L−1)`, the length of an output.
    pub fn len(&self) -> usize {
        self.bandlimit * (2 * self.bandlimit - 1)
    }

    /// Never true (`L ≥ 1`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `out[l·(2L−1) + m + L − 1] = √((2l+1)/4π) d^l_{m0}(θ)`, the θ part of `Y_lm`.
    pub(crate) fn fill_polar(&self, theta: f64, out: &mut [f64]) {
        self.recursion.fill(theta, out);
        let width = 2 * self.bandlimit - 1;
        for (l, row) in out.chunks_mut(width).enumerate() {
            let norm = harmonic_norm(l);
            row.iter_mut().for_each(|v| *v *= norm);
        }
    }

    /// Writes `Y_lm(θ, φ)` into `out` (layout `(l, m + L − 1)`).
    pub fn evaluate_into(
        &self,
        theta: f64,
        phi: f64,
        out: &mut [Complex64],
    ) -> Result<(), RepsError> {
        if out.len() != self.len() {
            return Err(RepsError::ShapeMismatch {
                what: "spherical harmonics output",
                expected: format!("L(2L−1) = {} values for L = {}", self.len(), self.bandlimit),
                got: format!("{} values", out.len()),
            });
        }
        self.write(theta, phi, out);
        Ok(())
    }

    /// [`SphericalHarmonics::evaluate_into`] for an `out` of the right length.
    fn write(&self, theta: f64, phi: f64, out: &mut [Complex64]) {
        let mut polar = vec![0.0; self.len()];
        self.fill_polar(theta, &mut polar);
        let width = 2 * self.bandlimit - 1;
        let centre = self.bandlimit as i32 - 1;
        let phases: Vec<Complex64> = (0..width)
            .map(|i| Complex64::cis((i as i32 - centre) as f64 * phi))
            .collect();
        for (o, (p, phase)) in out.iter_mut().zip(polar.iter().zip(phases.iter().cycle())) {
            *o = phase * *p;
        }
    }

    /// `Y_lm(θ, φ)` for all `l < L`, layout `(l, m + L − 1)`.
    pub fn evaluate(&self, theta: f64, phi: f64) -> Vec<Complex64> {
        let mut out = vec![Complex64::new(0.0, 0.0); self.len()];
        self.write(theta, phi, &mut out);
        out
    }

    /// `Y_lm(u)` for all `l < L` at the direction of a non-zero vector `u`.
    pub fn evaluate_at(&self, u: &Vector3<f64>) -> Vec<Complex64> {
        let (theta, phi) = sphere_angles(u);
        self.evaluate(theta, phi)
    }

    /// The real harmonics `Y^real_{lm}(θ, φ)` ([`real_spherical_harmonic`]) for all `l < L`,
    /// layout `(l, m + L − 1)`.
    pub fn evaluate_real(&self, theta: f64, phi: f64) -> Vec<f64> {
        let mut polar = vec![0.0; self.len()];
        self.fill_polar(theta, &mut polar);
        let width = 2 * self.bandlimit - 1;
        let centre = self.bandlimit as i32 - 1;
        let mut out = vec![0.0; self.len()];
        for l in 0..self.bandlimit {
            for m in -(l as i32)..=l as i32 {
                let radial = polar[l * width + (m.abs() + centre) as usize];
                out[l * width + (m + centre) as usize] = real_from_radial(m, radial, phi);
            }
        }
        out
    }
}
