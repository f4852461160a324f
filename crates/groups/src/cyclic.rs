//! The cyclic group `C_n` of rotations of the plane.

use nalgebra::Matrix2;

use crate::{FiniteGroup, Group, GroupError, PlanarPointGroup};

/// `C_n`, the rotations of the plane by multiples of `2π/n`.
///
/// Element `k ∈ 0..n` is the counter-clockwise rotation by `2πk/n`; its index is `k`. On
/// `(row, col)` pixel offsets it acts by `[[cos, −sin], [sin, cos]]`, so for `n = 4`, `k = 1` it is
/// `Q(a, b) = (−b, a)` and rotating an image by `k` is `numpy.rot90(x, k)`.
///
/// ```
/// use entk_groups::{CyclicGroup, Group, FiniteGroup};
/// let c4 = CyclicGroup::new(4).unwrap();
/// assert_eq!(c4.compose(&3, &2), 1);
/// assert_eq!(c4.inverse(&1), 3);
/// assert_eq!(c4.order(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CyclicGroup {
    n: usize,
}

impl CyclicGroup {
    /// `C_n`; errors for `n = 0`.
    pub fn new(n: usize) -> Result<Self, GroupError> {
        if n == 0 {
            return Err(GroupError::ZeroOrder { group: "cyclic" });
        }
        Ok(Self { n })
    }
    /// The order `n`.
    pub fn n(&self) -> usize {
        self.n
    }
}

impl Group for CyclicGroup {
    type Element = usize;
    fn name(&self) -> String {
        format!("c{}", self.n)
    }
    fn identity(&self) -> usize {
        0
    }
    fn compose(&self, a: &usize, b: &usize) -> usize {
        (a + b) % self.n
    }
    fn inverse(&self, a: &usize) -> usize {
        (self.n - a % self.n) % self.n
    }
    fn distance(&self, a: &usize, b: &usize) -> f64 {
        if a % self.n == b % self.n {
            0.0
        } else {
            1.0
        }
    }
    fn testing_elements(&self) -> Vec<usize> {
        (0..self.n).collect()
    }
}

impl FiniteGroup for CyclicGroup {
    fn order(&self) -> usize {
        self.n
    }
    fn element(&self, index: usize) -> usize {
        assert!(
            index < self.n,
            "element index {index} out of range for c{}",
            self.n
        );
        index
    }
    fn index_of(&self, element: &usize) -> usize {
        element % self.n
    }
}

impl PlanarPointGroup for CyclicGroup {
    fn plane_matrix(&self, g: &usize) -> Matrix2<f64> {
        crate::plane::rotation_matrix(*g, self.n)
    }
}
