//! SO(3): the rotation group of R³, its Haar measure and the sphere S² as its homogeneous space.

mod grid;
mod rotation;

pub use grid::{DriscollHealyGrid, So3Grid};
pub use rotation::{EulerZyz, Rotation};

use nalgebra::{Quaternion, UnitQuaternion, Vector3};
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};
use std::f64::consts::{FRAC_PI_2, PI};

use crate::{Action, CompactGroup, Group, GroupError, Quadrature, Sphere};

/// SO(3) with elements [`Rotation`], Haar volume `8π²` (`dR = sin β dα dβ dγ` in ZYZ angles) and
/// the Driscoll–Healy quadrature of [`So3Grid`]. It acts on the sphere S² ([`Sphere`]) by
/// `R·u = R u`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SO3;

impl Group for SO3 {
    type Element = Rotation;
    fn name(&self) -> String {
        "so3".into()
    }
    fn identity(&self) -> Rotation {
        Rotation::identity()
    }
    fn compose(&self, a: &Rotation, b: &Rotation) -> Rotation {
        a.compose(b)
    }
    fn inverse(&self, a: &Rotation) -> Rotation {
        a.inverse()
    }
    fn distance(&self, a: &Rotation, b: &Rotation) -> f64 {
        a.angle_to(b)
    }
    /// Axis rotations, both gimbal locks (`β = 0`, `β = π`), near-lock angles and generic ones.
    fn testing_elements(&self) -> Vec<Rotation> {
        let angles = [
            (0.0, 0.0, 0.0),
            (0.3, 0.0, 1.1),
            (2.0, PI, 0.4),
            (0.7, 1e-9, 5.0),
            (1.9, PI - 1e-9, 0.2),
            (FRAC_PI_2, FRAC_PI_2, FRAC_PI_2),
            (0.1, 0.2, 0.3),
            (4.0, 2.5, 6.0),
            (PI, 1.0, -PI),
        ];
        angles
            .iter()
            .map(|&(alpha, beta, gamma)| Rotation::from_euler_zyz(EulerZyz { alpha, beta, gamma }))
            .collect()
    }
}

impl CompactGroup for SO3 {
    fn volume(&self) -> f64 {
        8.0 * PI * PI
    }
    /// A uniformly random unit quaternion (four standard normals, normalised) is Haar-distributed.
    fn sample_haar(&self, rng: &mut dyn RngCore) -> Rotation {
        loop {
            let mut draw = || -> f64 { StandardNormal.sample(rng) };
            let q = Quaternion::new(draw(), draw(), draw(), draw());
            if q.norm() > 1e-6 {
                return Rotation::from_quaternion(&UnitQuaternion::from_quaternion(q));
            }
        }
    }
    fn haar_quadrature(&self, bandlimit: usize) -> Result<Quadrature<Rotation>, GroupError> {
        Ok(So3Grid::new(bandlimit)?.quadrature())
    }
}

impl Action<Sphere> for SO3 {
    fn act(&self, g: &Rotation, p: &Vector3<f64>) -> Vector3<f64> {
        g.apply(p)
    }
}
