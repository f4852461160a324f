//! The complex Wigner D-matrices `D^l(R)` (docs/conventions.md#so3).

use entk_groups::{EulerZyz, GroupError, Rotation};
use nalgebra::DMatrix;
use num_complex::Complex64;

use super::small_d::{wigner_small_d, WignerSmallDTable};
use crate::RepsError;

/// `D^l_{mn}(α, β, γ) = e^{−imα} d^l_{mn}(β) e^{−inγ}` as a `(2l+1) × (2l+1)` matrix indexed
/// `[m + l, n + l]`, for ZYZ Euler angles `R = R_z(α) R_y(β) R_z(γ)` (γ about z first, then β
/// about y, then α about z, fixed axes; see [`EulerZyz`]).
///
/// This is `⟨l m| e^{−iαJ_z} e^{−iβJ_y} e^{−iγJ_z} |l n⟩`, so the laws of [`WignerD`] hold.
/// Non-finite angles give NaN entries.
pub fn wigner_d_from_euler(l: usize, angles: EulerZyz) -> DMatrix<Complex64> {
    let d = wigner_small_d(l, angles.beta);
    let li = l as f64;
    DMatrix::from_fn(2 * l + 1, 2 * l + 1, |r, c| {
        let (m, n) = (r as f64 - li, c as f64 - li);
        Complex64::cis(-m * angles.alpha - n * angles.gamma) * d[(r, c)]
    })
}

/// `D^l(R)` of a rotation, through its ZYZ Euler angles ([`Rotation::to_euler_zyz`]); the
/// result does not depend on the angle choice at the gimbal locks. See [`WignerD`] for the laws.
pub fn wigner_d(l: usize, rotation: &Rotation) -> DMatrix<Complex64> {
    wigner_d_from_euler(l, rotation.to_euler_zyz())
}

/// The Wigner D-matrices `D^l(R)` of one rotation for all degrees `l < L`.
///
/// Convention (docs/conventions.md#so3): `D^l_{mn}(α, β, γ) = e^{−imα} d^l_{mn}(β) e^{−inγ}` with
/// `R = R_z(α) R_y(β) R_z(γ)` on column vectors and the standard (Wigner-formula) `d` of
/// [`super::wigner_small_d`]; block `l` is indexed `[m + l, n + l]`.
///
/// Laws (each has a test in `tests/wigner_laws.rs`):
/// - identity: `D^l(I) = I`;
/// - homomorphism: `D^l(R₁R₂) = D^l(R₁) D^l(R₂)`;
/// - inverse: `D^l(R⁻¹) = D^l(R)†`;
/// - unitarity: `D^l(R) D^l(R)† = I`;
/// - harmonics: `Y_lm(Ru) = Σ_n conj D^l_{mn}(R) Y_ln(u)`, equivalently
///   `Y_lm(R⁻¹u) = Σ_n D^l_{nm}(R) Y_ln(u)`;
/// - Schur orthogonality: `∫ D^l_{mn} conj D^{l′}_{m′n′} dR = 8π²/(2l+1) δ_{ll′}δ_{mm′}δ_{nn′}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WignerD {
    angles: EulerZyz,
    blocks: Vec<DMatrix<Complex64>>,
}

impl WignerD {
    /// `D^l(R)` for `l < L` (`L ≥ 1`); `O(L³)`.
    pub fn new(bandlimit: usize, rotation: &Rotation) -> Result<Self, RepsError> {
        Self::from_euler(bandlimit, rotation.to_euler_zyz())
    }

    /// `D^l(α, β, γ)` for `l < L` from finite ZYZ Euler angles.
    pub fn from_euler(bandlimit: usize, angles: EulerZyz) -> Result<Self, RepsError> {
        if bandlimit == 0 {
            return Err(GroupError::ZeroBandlimit.into());
        }
        let angles = EulerZyz::new(angles.alpha, angles.beta, angles.gamma)?;
        let table = WignerSmallDTable::new(bandlimit, angles.beta)?;
        let blocks = (0..bandlimit)
            .map(|l| {
                let li = l as i32;
                DMatrix::from_fn(2 * l + 1, 2 * l + 1, |r, c| {
                    let (m, n) = (r as i32 - li, c as i32 - li);
                    let phase = -(m as f64) * angles.alpha - n as f64 * angles.gamma;
                    Complex64::cis(phase) * table.get(l, m, n)
                })
            })
            .collect();
        Ok(Self { angles, blocks })
    }

    /// The bandlimit `L`.
    pub fn bandlimit(&self) -> usize {
        self.blocks.len()
    }

    /// The Euler angles used.
    pub fn angles(&self) -> EulerZyz {
        self.angles
    }

    /// The block `D^l(R)`, indexed `[m + l, n + l]`.
    ///
    /// # Panics
    /// If `l ≥ L`.
    pub fn degree(&self, l: usize) -> &DMatrix<Complex64> {
        &self.blocks[l]
    }

    /// `D^l_{mn}(R)`; zero when `|m| > l` or `|n| > l`.
    ///
    /// # Panics
    /// If `l ≥ L`.
    pub fn get(&self, l: usize, m: i32, n: i32) -> Complex64 {
        let li = l as i32;
        if m.abs() > li || n.abs() > li {
            return Complex64::new(0.0, 0.0);
        }
        self.blocks[l][((m + li) as usize, (n + li) as usize)]
    }
}
