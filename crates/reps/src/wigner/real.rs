//! Real Wigner D-matrices: the representation on real spherical harmonics.

use entk_groups::{EulerZyz, Rotation};
use nalgebra::DMatrix;
use num_complex::Complex64;
use std::f64::consts::FRAC_1_SQRT_2;

use super::big_d::wigner_d_from_euler;

/// The unitary `U` with `Y^real_l = U · Y_l` (vectors of the `2l+1` harmonics of degree `l`),
/// indexed `[μ + l, m + l]` (real order `μ`, complex order `m`).
///
/// Convention (the usual one, e.g. Wikipedia "Spherical harmonics", real form), with `Y_lm` the
/// Condon–Shortley complex harmonics:
/// - `μ > 0`: `Y^real_{lμ} = (Y_{l,−μ} + (−1)^μ Y_{lμ})/√2 = √2 (−1)^μ Re Y_{lμ}`;
/// - `μ = 0`: `Y^real_{l0} = Y_{l0}`;
/// - `μ < 0`: `Y^real_{lμ} = i (Y_{lμ} − (−1)^μ Y_{l,−μ})/√2 = √2 (−1)^μ Im Y_{l|μ|}`.
///
/// So for `l = 1` the real harmonics are `√(3/4π)·(y, z, x)` for `μ = −1, 0, 1`.
pub fn complex_to_real_basis(l: usize) -> DMatrix<Complex64> {
    let width = 2 * l + 1;
    let li = l as i64;
    let mut u = DMatrix::zeros(width, width);
    let r = Complex64::new(FRAC_1_SQRT_2, 0.0);
    let i = Complex64::new(0.0, FRAC_1_SQRT_2);
    for mu in -li..=li {
        let row = (mu + li) as usize;
        let (same, mirror) = ((mu + li) as usize, (-mu + li) as usize);
        let sign = if mu.rem_euclid(2) == 0 { 1.0 } else { -1.0 };
        match mu.cmp(&0) {
            std::cmp::Ordering::Greater => {
                u[(row, same)] = r * sign;
                u[(row, mirror)] = r;
            }
            std::cmp::Ordering::Equal => u[(row, same)] = Complex64::new(1.0, 0.0),
            std::cmp::Ordering::Less => {
                u[(row, same)] = i;
                u[(row, mirror)] = -i * sign;
            }
        }
    }
    u
}

/// The real Wigner matrix `D^l_real(R) = U conj(D^l(R)) U†` ([`complex_to_real_basis`]), indexed
/// `[μ + l, ν + l]` in real orders.
///
/// Laws (tested): `Y^real_l(Ru) = D^l_real(R) Y^real_l(u)` for the real harmonics of
/// [`crate::real_spherical_harmonic`]; `D^l_real(R)` is real orthogonal; it is a homomorphism,
/// `D^l_real(R₁R₂) = D^l_real(R₁) D^l_real(R₂)`; `D^l_real(R⁻¹) = D^l_real(R)ᵀ`. For `l = 1` it
/// is the rotation matrix itself in the basis `(y, z, x)`.
pub fn real_wigner_d(l: usize, rotation: &Rotation) -> DMatrix<f64> {
    real_wigner_d_from_euler(l, rotation.to_euler_zyz())
}

/// [`real_wigner_d`] from ZYZ Euler angles `R = R_z(α) R_y(β) R_z(γ)`.
pub fn real_wigner_d_from_euler(l: usize, angles: EulerZyz) -> DMatrix<f64> {
    let u = complex_to_real_basis(l);
    let d = wigner_d_from_euler(l, angles);
    (&u * d.conjugate() * u.adjoint()).map(|z| z.re)
}
