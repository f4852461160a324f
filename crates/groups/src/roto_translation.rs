//! `H ⋉ Z_N²`: a planar point group together with the cyclic shifts of an `N×N` pixel grid.

use nalgebra::Vector2;

use crate::plane::acts_exactly_on_pixels;
use crate::{Action, FiniteGroup, Group, GroupError, PixelTorus, PlanarPointGroup};

/// An element `g = (t, a)` of `H ⋉ Z_N²`: first the point-group element `a` (about the grid
/// centre), then the cyclic shift `t = (rows, cols)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotoTranslationElement<E> {
    /// The shift `t`, each component in `0..N`.
    pub shift: [usize; 2],
    /// The point-group part `a`.
    pub point: E,
}

/// The roto-translation group `H ⋉ Z_N²` of an `N×N` periodic pixel grid (docs/conventions.md#slice-convention-of-group-features,
/// "element-labelled form"): `g·p = a·(p − c) + c + t (mod N)` with `c = ((N−1)/2, (N−1)/2)`, and
/// `(t₁, a₁)(t₂, a₂) = (t₁ + a₁t₂, a₁a₂)`.
///
/// Only point groups that map the pixel lattice to itself (C1, C2, C4, D1, D2, D4) give a group
/// of pixel permutations; [`RotoTranslation::new`] refuses the others. For `C_n`/`D_n` with other
/// `n` the pixel action is approximate: see [`crate::PixelResampling`].
///
/// Element index: `index(a)·N² + row·N + col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotoTranslation<H> {
    point_group: H,
    size: usize,
}

impl<H: PlanarPointGroup> RotoTranslation<H> {
    /// `H ⋉ Z_N²` on an `N×N` grid. Errors when `N = 0` or `H` does not act exactly on pixels.
    pub fn new(point_group: H, size: usize) -> Result<Self, GroupError> {
        if size == 0 {
            return Err(GroupError::InvalidSize {
                reason: "pixel grid size N must be ≥ 1".into(),
            });
        }
        if !acts_exactly_on_pixels(&point_group) {
            return Err(GroupError::InvalidSize {
                reason: format!(
                    "{} does not map the pixel lattice to itself; only subgroups of D4 give an \
                     exact roto-translation group (use PixelResampling for other angles)",
                    point_group.name()
                ),
            });
        }
        Ok(Self { point_group, size })
    }
    /// The point group `H`.
    pub fn point_group(&self) -> &H {
        &self.point_group
    }
    /// The grid side `N`.
    pub fn size(&self) -> usize {
        self.size
    }
    fn rotate_shift(&self, a: &H::Element, t: [usize; 2]) -> [usize; 2] {
        let m = self.point_group.plane_matrix(a);
        let v = m * Vector2::new(t[0] as f64, t[1] as f64);
        [self.wrap(v.x), self.wrap(v.y)]
    }
    fn wrap(&self, v: f64) -> usize {
        (v.round() as i64).rem_euclid(self.size as i64) as usize
    }

    /// `(ρ(g)x)(p) = x(g⁻¹p)` for one `N×N×C` image stored row-major with channels last (HWC).
    /// For C4, `g = (0, 1)` is `numpy.rot90(x, 1)` on the (H, W) axes.
    pub fn transform_image(
        &self,
        g: &RotoTranslationElement<H::Element>,
        image: &[f64],
        channels: usize,
    ) -> Result<Vec<f64>, GroupError> {
        let n = self.size;
        if image.len() != n * n * channels {
            return Err(GroupError::InvalidSize {
                reason: format!(
                    "image has {} values, expected N·N·C = {}·{}·{}",
                    image.len(),
                    n,
                    n,
                    channels
                ),
            });
        }
        let inverse = self.inverse(g);
        let mut out = vec![0.0; image.len()];
        for row in 0..n {
            for col in 0..n {
                let [sr, sc] = self.act(&inverse, &[row, col]);
                let (dst, src) = ((row * n + col) * channels, (sr * n + sc) * channels);
                out[dst..dst + channels].copy_from_slice(&image[src..src + channels]);
            }
        }
        Ok(out)
    }
}

impl<H: PlanarPointGroup> Group for RotoTranslation<H> {
    type Element = RotoTranslationElement<H::Element>;
    fn name(&self) -> String {
        format!("{}⋉Z{}²", self.point_group.name(), self.size)
    }
    fn identity(&self) -> Self::Element {
        RotoTranslationElement {
            shift: [0, 0],
            point: self.point_group.identity(),
        }
    }
    fn compose(&self, a: &Self::Element, b: &Self::Element) -> Self::Element {
        let rotated = self.rotate_shift(&a.point, b.shift);
        RotoTranslationElement {
            shift: [
                (a.shift[0] + rotated[0]) % self.size,
                (a.shift[1] + rotated[1]) % self.size,
            ],
            point: self.point_group.compose(&a.point, &b.point),
        }
    }
    fn inverse(&self, a: &Self::Element) -> Self::Element {
        let point = self.point_group.inverse(&a.point);
        let rotated = self.rotate_shift(&point, a.shift);
        let n = self.size;
        RotoTranslationElement {
            shift: [(n - rotated[0]) % n, (n - rotated[1]) % n],
            point,
        }
    }
    fn distance(&self, a: &Self::Element, b: &Self::Element) -> f64 {
        if self.index_of(a) == self.index_of(b) {
            0.0
        } else {
            1.0
        }
    }
    fn testing_elements(&self) -> Vec<Self::Element> {
        let n = self.size;
        let mut out = Vec::new();
        for a in self.point_group.testing_elements() {
            for shift in [[0, 0], [1 % n, 0], [0, 1 % n], [n / 2, (n + 1) / 3]] {
                out.push(RotoTranslationElement {
                    shift,
                    point: a.clone(),
                });
            }
        }
        out
    }
}

impl<H: PlanarPointGroup> FiniteGroup for RotoTranslation<H> {
    fn order(&self) -> usize {
        self.point_group.order() * self.size * self.size
    }
    fn element(&self, index: usize) -> Self::Element {
        let n2 = self.size * self.size;
        RotoTranslationElement {
            shift: [(index % n2) / self.size, index % self.size],
            point: self.point_group.element(index / n2),
        }
    }
    fn index_of(&self, element: &Self::Element) -> usize {
        self.point_group.index_of(&element.point) * self.size * self.size
            + (element.shift[0] % self.size) * self.size
            + element.shift[1] % self.size
    }
}

impl<H: PlanarPointGroup> Action<PixelTorus> for RotoTranslation<H> {
    fn act(&self, g: &Self::Element, p: &[usize; 2]) -> [usize; 2] {
        let centre = (self.size as f64 - 1.0) / 2.0;
        let offset = Vector2::new(p[0] as f64 - centre, p[1] as f64 - centre);
        let moved = self.point_group.plane_matrix(&g.point) * offset;
        [
            self.wrap(moved.x + centre + g.shift[0] as f64),
            self.wrap(moved.y + centre + g.shift[1] as f64),
        ]
    }
}
