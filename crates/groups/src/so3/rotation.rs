//! Rotations of R³ and their parametrisations.

use nalgebra::{Matrix3, Rotation3, Unit, UnitQuaternion, Vector3};
use std::f64::consts::{PI, TAU};

use crate::GroupError;

/// ZYZ Euler angles (docs/conventions.md#so3): `R(α, β, γ) = R_z(α) R_y(β) R_z(γ)` acting on column
/// vectors, so `γ` (about z) is applied first, then `β` (about y), then `α` (about z), all about
/// the fixed axes. Angles are in radians. Ranges produced by [`Rotation::to_euler_zyz`]:
/// `α, γ ∈ [0, 2π)`, `β ∈ [0, π]`; at the gimbal locks `β = 0` and `β = π` only `α ± γ` is
/// determined and `γ = 0` is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EulerZyz {
    /// Third rotation, about z.
    pub alpha: f64,
    /// Second rotation, about y.
    pub beta: f64,
    /// First rotation, about z.
    pub gamma: f64,
}

impl EulerZyz {
    /// Checked constructor: all three angles must be finite.
    pub fn new(alpha: f64, beta: f64, gamma: f64) -> Result<Self, GroupError> {
        for (what, value) in [
            ("euler angle alpha", alpha),
            ("euler angle beta", beta),
            ("euler angle gamma", gamma),
        ] {
            if !value.is_finite() {
                return Err(GroupError::NonFinite { what, value });
            }
        }
        Ok(Self { alpha, beta, gamma })
    }
}

/// A rotation of R³, stored as its 3×3 orthogonal matrix acting on column vectors.
///
/// Conversions: [`Rotation::from_euler_zyz`]/[`Rotation::to_euler_zyz`] (docs/conventions.md#so3: ZYZ
/// convention, see [`EulerZyz`]), [`Rotation::from_quaternion`]/[`Rotation::to_quaternion`] and
/// [`Rotation::from_axis_angle`]. Composition is matrix multiplication: `(a·b)(v) = a(b(v))`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation {
    matrix: Matrix3<f64>,
}

impl Rotation {
    /// The identity rotation.
    pub fn identity() -> Self {
        Self {
            matrix: Matrix3::identity(),
        }
    }

    /// `R_z(angle)`: counter-clockwise about +z.
    pub fn about_z(angle: f64) -> Self {
        let (s, c) = angle.sin_cos();
        Self {
            matrix: Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0),
        }
    }

    /// `R_y(angle)`: counter-clockwise about +y, `[[c, 0, s], [0, 1, 0], [−s, 0, c]]`.
    pub fn about_y(angle: f64) -> Self {
        let (s, c) = angle.sin_cos();
        Self {
            matrix: Matrix3::new(c, 0.0, s, 0.0, 1.0, 0.0, -s, 0.0, c),
        }
    }

    /// `R_z(α) R_y(β) R_z(γ)`.
    pub fn from_euler_zyz(e: EulerZyz) -> Self {
        Self {
            matrix: Self::about_z(e.alpha).matrix
                * Self::about_y(e.beta).matrix
                * Self::about_z(e.gamma).matrix,
        }
    }

    /// Checked version of [`Rotation::from_euler_zyz`] from bare angles.
    pub fn try_from_euler_zyz(alpha: f64, beta: f64, gamma: f64) -> Result<Self, GroupError> {
        Ok(Self::from_euler_zyz(EulerZyz::new(alpha, beta, gamma)?))
    }

    /// A rotation from a matrix; errors unless it is finite, orthogonal to 1e-9 and has
    /// determinant +1.
    pub fn from_matrix(matrix: Matrix3<f64>) -> Result<Self, GroupError> {
        if let Some(v) = matrix.iter().find(|v| !v.is_finite()) {
            return Err(GroupError::NonFinite {
                what: "rotation matrix entry",
                value: *v,
            });
        }
        let defect = (matrix.transpose() * matrix - Matrix3::identity()).amax();
        if defect > 1e-9 {
            return Err(GroupError::NotARotation {
                reason: format!("RᵀR differs from I by {defect:e}"),
            });
        }
        let det = matrix.determinant();
        if (det - 1.0).abs() > 1e-9 {
            return Err(GroupError::NotARotation {
                reason: format!("determinant {det} ≠ 1"),
            });
        }
        Ok(Self { matrix })
    }

    /// The rotation by `angle` about `axis` (right-hand rule). Errors for a zero or non-finite
    /// axis or a non-finite angle.
    pub fn from_axis_angle(axis: Vector3<f64>, angle: f64) -> Result<Self, GroupError> {
        if !angle.is_finite() {
            return Err(GroupError::NonFinite {
                what: "rotation angle",
                value: angle,
            });
        }
        let norm = axis.norm();
        if !norm.is_finite() || norm == 0.0 {
            return Err(GroupError::NotARotation {
                reason: "axis must be non-zero and finite".into(),
            });
        }
        let rotation = Rotation3::from_axis_angle(&Unit::new_normalize(axis), angle);
        Ok(Self {
            matrix: *rotation.matrix(),
        })
    }

    /// From a unit quaternion (nalgebra's `UnitQuaternion`, Hamilton convention).
    pub fn from_quaternion(q: &UnitQuaternion<f64>) -> Self {
        Self {
            matrix: *q.to_rotation_matrix().matrix(),
        }
    }

    /// The unit quaternion of this rotation.
    pub fn to_quaternion(&self) -> UnitQuaternion<f64> {
        UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(self.matrix))
    }

    /// The rotation matrix (acting on column vectors).
    pub fn matrix(&self) -> &Matrix3<f64> {
        &self.matrix
    }

    /// `a·b`: apply `b`, then `a`.
    pub fn compose(&self, other: &Rotation) -> Rotation {
        Rotation {
            matrix: self.matrix * other.matrix,
        }
    }

    /// The inverse (transpose).
    pub fn inverse(&self) -> Rotation {
        Rotation {
            matrix: self.matrix.transpose(),
        }
    }

    /// Rotates a vector: `R v`.
    pub fn apply(&self, v: &Vector3<f64>) -> Vector3<f64> {
        self.matrix * v
    }

    /// The rotation angle in `[0, π]`, `2·atan2(|q_v|, |q_w|)` from the unit quaternion
    /// (accurate near both 0 and π, unlike `acos((tr R − 1)/2)`).
    pub fn angle(&self) -> f64 {
        let q = self.to_quaternion();
        2.0 * q.imag().norm().atan2(q.w.abs())
    }

    /// The angle of `self⁻¹·other`, a bi-invariant metric on SO(3).
    pub fn angle_to(&self, other: &Rotation) -> f64 {
        self.inverse().compose(other).angle()
    }

    /// ZYZ Euler angles with `α, γ ∈ [0, 2π)`, `β ∈ [0, π]`; robust at and near the gimbal locks.
    ///
    /// From `R = R_z(α)R_y(β)R_z(γ)`: `R₀₀ + R₁₁ = (1 + cos β) cos(α+γ)`,
    /// `R₁₀ − R₀₁ = (1 + cos β) sin(α+γ)`, `R₀₀ − R₁₁ = (cos β − 1) cos(α−γ)`,
    /// `R₁₀ + R₀₁ = (cos β − 1) sin(α−γ)`. The better-conditioned of `α ± γ` is taken from the
    /// upper-left block; `α` alone from `(R₀₂, R₁₂) = sin β (cos α, sin α)`. Errors in `α` then only
    /// move the matrix in directions scaled by `sin β`, so the round trip matrix → angles →
    /// matrix is accurate to rounding everywhere.
    pub fn to_euler_zyz(&self) -> EulerZyz {
        let r = &self.matrix;
        let sin_beta = (r[(0, 2)].hypot(r[(1, 2)]) + r[(2, 0)].hypot(r[(2, 1)])) / 2.0;
        let beta = sin_beta.atan2(r[(2, 2)]);
        let (alpha, gamma) = if r[(2, 2)] >= 0.0 {
            let sum = (r[(1, 0)] - r[(0, 1)]).atan2(r[(0, 0)] + r[(1, 1)]);
            let alpha = if sin_beta > 0.0 {
                r[(1, 2)].atan2(r[(0, 2)])
            } else {
                sum
            };
            (alpha, sum - alpha)
        } else {
            let difference = (-(r[(1, 0)] + r[(0, 1)])).atan2(-(r[(0, 0)] - r[(1, 1)]));
            let alpha = if sin_beta > 0.0 {
                r[(1, 2)].atan2(r[(0, 2)])
            } else {
                difference
            };
            (alpha, alpha - difference)
        };
        EulerZyz {
            alpha: wrap_angle(alpha),
            beta: beta.clamp(0.0, PI),
            gamma: wrap_angle(gamma),
        }
    }
}

/// Maps an angle to `[0, 2π)`.
fn wrap_angle(angle: f64) -> f64 {
    let wrapped = angle.rem_euclid(TAU);
    if wrapped >= TAU {
        0.0
    } else {
        wrapped
    }
}

impl From<EulerZyz> for Rotation {
    fn from(e: EulerZyz) -> Self {
        Rotation::from_euler_zyz(e)
    }
}

impl From<Rotation> for EulerZyz {
    fn from(r: Rotation) -> Self {
        r.to_euler_zyz()
    }
}

impl From<UnitQuaternion<f64>> for Rotation {
    fn from(q: UnitQuaternion<f64>) -> Self {
        Rotation::from_quaternion(&q)
    }
}

impl From<Rotation> for UnitQuaternion<f64> {
    fn from(r: Rotation) -> Self {
        r.to_quaternion()
    }
}
