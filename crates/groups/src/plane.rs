//! Point groups acting on the plane of pixel offsets, and the pixel resampling operator.
//!
//! Coordinates are `(row, col)` offsets from the centre of a window or image,
//! `((S−1)/2, (S−1)/2)` for an `S×S` grid (docs/conventions.md#pixel-grid-and-planar-groups). Rotations by multiples of 90° and the
//! reflections of the square (D4 and its subgroups) map pixel centres to pixel centres: there the
//! resampling operator is an exact permutation. Any other angle is approximated by bilinear
//! interpolation; [`resampling_homomorphism_error`] measures how far that is from a group action.

use nalgebra::{DMatrix, Matrix2, Vector2};

use crate::{Action, FiniteGroup, FiniteGroupExt, GroupError, Plane};

/// A finite group acting linearly (orthogonally) on the plane of `(row, col)` pixel offsets.
///
/// This is the one hook the kernel engine needs to build lifting and group convolutions on pixel
/// grids: together with the group law it fixes the filter resampling `M_a` of docs/theory.md#other-point-groups-resampled-filters.
pub trait PlanarPointGroup: FiniteGroup {
    /// The 2×2 orthogonal matrix of `g` acting on `(row, col)` column vectors. Entries that are
    /// integers in exact arithmetic must be returned exactly (0, ±1), so that exactness can be
    /// detected.
    fn plane_matrix(&self, g: &Self::Element) -> Matrix2<f64>;
    /// Whether every element maps the pixel lattice to itself, so that filters are resampled by
    /// exact permutations and the layers may use the relative (right-invariant) kernel form.
    /// Default: detected, true when every entry of every [`PlanarPointGroup::plane_matrix`] is
    /// an exact integer ([`acts_exactly_on_pixels`]). A group may state it; the checker
    /// ([`crate::laws::check_plane_action`]) then verifies the claim.
    fn preserves_pixel_lattice(&self) -> bool {
        acts_exactly_on_pixels(self)
    }
}

impl<G: PlanarPointGroup> Action<Plane> for G {
    fn act(&self, g: &Self::Element, p: &Vector2<f64>) -> Vector2<f64> {
        self.plane_matrix(g) * p
    }
}

/// The counter-clockwise rotation by `2πk/n` on `(row, col)` vectors, `[[c, −s], [s, c]]`, with
/// entries snapped to exact 0 and ±1 at multiples of 90°.
pub fn rotation_matrix(k: usize, n: usize) -> Matrix2<f64> {
    let angle = std::f64::consts::TAU * (k % n) as f64 / n as f64;
    let snap = |v: f64| {
        if (v - v.round()).abs() < 1e-12 {
            v.round()
        } else {
            v
        }
    };
    let (s, c) = angle.sin_cos();
    Matrix2::new(snap(c), snap(-s), snap(s), snap(c))
}

/// True when every element of the group maps the pixel lattice to itself (integer matrices), so
/// that resampling is an exact permutation on every odd window and every square image.
pub fn acts_exactly_on_pixels<G: PlanarPointGroup + ?Sized>(group: &G) -> bool {
    group.elements().iter().all(|g| {
        let m = group.plane_matrix(g);
        m.iter().all(|v| *v == v.round())
    })
}

/// The linear map `(M w)[u] = w(A⁻¹u)` on an `S×S` grid, with bilinear interpolation, for an
/// orthogonal 2×2 matrix `A`. Row-major pixel index `row·S + col`; samples that fall outside the
/// grid read zero. Exact (a permutation) when `A` has integer entries.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelResampling {
    size: usize,
    /// For each output pixel, the (input pixel, weight) pairs.
    rows: Vec<Vec<(usize, f64)>>,
    exact: bool,
}

impl PixelResampling {
    /// The resampling by `matrix` on a `size × size` grid. Errors for `size = 0` or a non-finite
    /// or non-orthogonal matrix.
    pub fn new(matrix: &Matrix2<f64>, size: usize) -> Result<Self, GroupError> {
        if size == 0 {
            return Err(GroupError::InvalidSize {
                reason: "a pixel grid needs size ≥ 1".into(),
            });
        }
        if matrix.iter().any(|v| !v.is_finite()) {
            return Err(GroupError::NotARotation {
                reason: "non-finite entry".into(),
            });
        }
        let orthogonality = (matrix.transpose() * matrix - Matrix2::identity()).amax();
        if orthogonality > 1e-9 {
            return Err(GroupError::NotARotation {
                reason: format!("AᵀA differs from I by {orthogonality:e}"),
            });
        }
        let inverse = matrix.transpose();
        let centre = (size as f64 - 1.0) / 2.0;
        let mut exact = true;
        let mut rows = Vec::with_capacity(size * size);
        for row in 0..size {
            for col in 0..size {
                let offset = Vector2::new(row as f64 - centre, col as f64 - centre);
                let source = inverse * offset + Vector2::new(centre, centre);
                let (entries, is_exact) = bilinear_weights(source, size);
                exact &= is_exact;
                rows.push(entries);
            }
        }
        Ok(Self { size, rows, exact })
    }

    /// The resampling operator of a group element on a `size × size` grid.
    pub fn for_element<G: PlanarPointGroup>(
        group: &G,
        g: &G::Element,
        size: usize,
    ) -> Result<Self, GroupError> {
        Self::new(&group.plane_matrix(g), size)
    }

    /// The grid side `S`.
    pub fn size(&self) -> usize {
        self.size
    }
    /// True when the map is a permutation of pixels.
    pub fn is_exact(&self) -> bool {
        self.exact
    }
    /// The (input pixel, weight) pairs of one output pixel.
    pub fn row(&self, output_pixel: usize) -> &[(usize, f64)] {
        &self.rows[output_pixel]
    }
    /// Applies the map to one `S×S` channel stored row-major; errors unless it has `S²` values.
    pub fn apply(&self, image: &[f64]) -> Result<Vec<f64>, GroupError> {
        if image.len() != self.size * self.size {
            return Err(GroupError::InvalidSize {
                reason: format!(
                    "resampling a {s}×{s} grid needs {} pixels, got {}",
                    self.size * self.size,
                    image.len(),
                    s = self.size
                ),
            });
        }
        Ok(self
            .rows
            .iter()
            .map(|r| r.iter().map(|(i, w)| w * image[*i]).sum())
            .collect())
    }
    /// The dense `S²×S²` matrix.
    pub fn to_dense(&self) -> DMatrix<f64> {
        let n = self.size * self.size;
        let mut m = DMatrix::zeros(n, n);
        for (out, row) in self.rows.iter().enumerate() {
            for (inp, w) in row {
                m[(out, *inp)] += w;
            }
        }
        m
    }
}

/// Bilinear weights of the point `p` (array coordinates) on an `S×S` grid; exact when `p` is a
/// lattice point.
fn bilinear_weights(p: Vector2<f64>, size: usize) -> (Vec<(usize, f64)>, bool) {
    let snap = |v: f64| {
        if (v - v.round()).abs() < 1e-9 {
            v.round()
        } else {
            v
        }
    };
    let (r, c) = (snap(p.x), snap(p.y));
    let exact = r == r.round() && c == c.round();
    let (r0, c0) = (r.floor(), c.floor());
    let (fr, fc) = (r - r0, c - c0);
    let mut entries = Vec::with_capacity(4);
    for (dr, wr) in [(0.0, 1.0 - fr), (1.0, fr)] {
        for (dc, wc) in [(0.0, 1.0 - fc), (1.0, fc)] {
            let w = wr * wc;
            let (rr, cc) = (r0 + dr, c0 + dc);
            if w != 0.0 && rr >= 0.0 && cc >= 0.0 && rr < size as f64 && cc < size as f64 {
                entries.push((rr as usize * size + cc as usize, w));
            }
        }
    }
    (entries, exact)
}

/// How far bilinear resampling on an `S×S` grid is from a group action:
/// `max_{a,b} max_{ij} |(M_a M_b − M_{ab})_{ij}|`. Zero for groups acting exactly on pixels
/// (C4, D4 and their subgroups); of order 0.1–1 for other angles, mostly from pixels near the
/// corners that rotate out of the grid.
pub fn resampling_homomorphism_error<G: PlanarPointGroup>(
    group: &G,
    size: usize,
) -> Result<f64, GroupError> {
    let elements = group.elements();
    let dense: Vec<DMatrix<f64>> = elements
        .iter()
        .map(|g| PixelResampling::for_element(group, g, size).map(|m| m.to_dense()))
        .collect::<Result<_, _>>()?;
    let mut worst: f64 = 0.0;
    for a in 0..elements.len() {
        for b in 0..elements.len() {
            let ab = group.compose_indices(a, b);
            worst = worst.max((&dense[a] * &dense[b] - &dense[ab]).amax());
        }
    }
    Ok(worst)
}
