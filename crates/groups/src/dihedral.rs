//! The dihedral group `D_n` of rotations and reflections of the plane.

use nalgebra::Matrix2;

use crate::{CyclicGroup, FiniteGroup, Group, GroupError, PlanarPointGroup};

/// An element `r^k s^f` of `D_n`: first reflect (if `reflected`), then rotate by `2πk/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DihedralElement {
    /// The rotation exponent `k ∈ 0..n`.
    pub rotation: usize,
    /// Whether the reflection `s` is applied (before the rotation).
    pub reflected: bool,
}

/// `D_n`, order `2n`: rotations by multiples of `2π/n` and the `n` reflections.
///
/// The reflection `s` flips the column coordinate of `(row, col)` pixel offsets,
/// `s(a, b) = (a, −b)` (`numpy.fliplr`), and `s r s = r⁻¹`. Element index: `k + n·f` where
/// `f ∈ {0, 1}` says whether the element is reflected, so indices `0..n` are the rotation
/// subgroup `C_n` in [`crate::CyclicGroup`]'s numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DihedralGroup {
    /// The rotation subgroup `C_n`.
    rotations: CyclicGroup,
}

impl DihedralGroup {
    /// `D_n`; errors for `n = 0`.
    pub fn new(n: usize) -> Result<Self, GroupError> {
        let rotations =
            CyclicGroup::new(n).map_err(|_| GroupError::ZeroOrder { group: "dihedral" })?;
        Ok(Self { rotations })
    }
    /// The rotation order `n` (the group has `2n` elements).
    pub fn n(&self) -> usize {
        self.rotations.n()
    }
    /// The rotation `r^k`.
    pub fn rotation(&self, k: usize) -> DihedralElement {
        DihedralElement {
            rotation: k % self.n(),
            reflected: false,
        }
    }
    /// The reflection `r^k s`.
    pub fn reflection(&self, k: usize) -> DihedralElement {
        DihedralElement {
            rotation: k % self.n(),
            reflected: true,
        }
    }
}

impl Group for DihedralGroup {
    type Element = DihedralElement;
    fn name(&self) -> String {
        format!("d{}", self.n())
    }
    fn identity(&self) -> DihedralElement {
        self.rotation(0)
    }
    fn compose(&self, a: &DihedralElement, b: &DihedralElement) -> DihedralElement {
        // r^k1 s^f1 r^k2 s^f2 = r^(k1 ± k2) s^(f1+f2), since s r s = r⁻¹.
        let r = &self.rotations;
        let k2 = if a.reflected {
            r.inverse(&b.rotation)
        } else {
            b.rotation
        };
        DihedralElement {
            rotation: r.compose(&a.rotation, &k2),
            reflected: a.reflected ^ b.reflected,
        }
    }
    fn inverse(&self, a: &DihedralElement) -> DihedralElement {
        if a.reflected {
            *a // reflections are involutions
        } else {
            self.rotation(self.rotations.inverse(&a.rotation))
        }
    }
    fn distance(&self, a: &DihedralElement, b: &DihedralElement) -> f64 {
        if self.index_of(a) == self.index_of(b) {
            0.0
        } else {
            1.0
        }
    }
    fn testing_elements(&self) -> Vec<DihedralElement> {
        (0..2 * self.n()).map(|i| self.element(i)).collect()
    }
}

impl FiniteGroup for DihedralGroup {
    fn order(&self) -> usize {
        2 * self.n()
    }
    fn element(&self, index: usize) -> DihedralElement {
        assert!(
            index < 2 * self.n(),
            "element index {index} out of range for d{}",
            self.n()
        );
        DihedralElement {
            rotation: index % self.n(),
            reflected: index >= self.n(),
        }
    }
    fn index_of(&self, element: &DihedralElement) -> usize {
        element.rotation % self.n() + if element.reflected { self.n() } else { 0 }
    }
}

impl PlanarPointGroup for DihedralGroup {
    fn plane_matrix(&self, g: &DihedralElement) -> Matrix2<f64> {
        let rotation = crate::plane::rotation_matrix(g.rotation, self.n());
        if g.reflected {
            rotation * Matrix2::new(1.0, 0.0, 0.0, -1.0)
        } else {
            rotation
        }
    }
}
