//! Group actions on spaces: `act(g, act(h, p)) = act(g·h, p)` and `act(e, p) = p`.
//!
//! A [`Space`] names a set of points with a distance; [`Action`] is implemented once per
//! (group, space) pair. The kernel engine builds lifting and group convolutions from these
//! actions alone (plus [`crate::PlanarPointGroup`] for pixel grids), without knowing which
//! group it is handling.

use nalgebra::{Vector2, Vector3};

use crate::Group;

/// A space a group can act on.
pub trait Space {
    /// A point of the space.
    type Point: Clone + std::fmt::Debug;
    /// A metric used by the law checks.
    fn distance(a: &Self::Point, b: &Self::Point) -> f64;
}

/// A (left) action of a group on a space.
pub trait Action<S: Space>: Group {
    /// `g·p`.
    fn act(&self, g: &Self::Element, p: &S::Point) -> S::Point;
}

/// A unit struct `$name`: a [`Space`] of vectors `$point` at Euclidean distance.
macro_rules! euclidean_space {
    ($(#[$doc:meta])* $name:ident, $point:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Space for $name {
            type Point = $point;
            fn distance(a: &Self::Point, b: &Self::Point) -> f64 {
                (a - b).norm()
            }
        }
    };
}

euclidean_space!(
    /// The Euclidean plane of pixel offsets, in `(row, col)` coordinates measured from the image
    /// centre `((N−1)/2, (N−1)/2)` (docs/conventions.md#pixel-grid-and-planar-groups).
    Plane,
    Vector2<f64>
);

/// The unit circle, points given by their angle in radians (compared modulo 2π).
#[derive(Debug, Clone, Copy)]
pub struct Circle;

impl Space for Circle {
    type Point = f64;
    fn distance(a: &f64, b: &f64) -> f64 {
        let d = (a - b).rem_euclid(std::f64::consts::TAU);
        d.min(std::f64::consts::TAU - d)
    }
}

euclidean_space!(
    /// The unit sphere S² ⊂ R³, points as unit column vectors `(x, y, z)` with
    /// `(sin θ cos φ, sin θ sin φ, cos θ)`.
    Sphere,
    Vector3<f64>
);

/// The sites of an `N×N` periodic pixel grid, as `(row, col)` array indices in `0..N`.
#[derive(Debug, Clone, Copy)]
pub struct PixelTorus;

impl Space for PixelTorus {
    type Point = [usize; 2];
    fn distance(a: &Self::Point, b: &Self::Point) -> f64 {
        if a == b {
            0.0
        } else {
            1.0
        }
    }
}
