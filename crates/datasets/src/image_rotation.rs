//! Rotating images about their centre: exact quarter turns and bilinear resampling.
//!
//! Convention (docs/conventions.md#pixel-grid-and-planar-groups): pixel offsets `(row, col)` from the centre `((S−1)/2, (S−1)/2)`;
//! rotating an image by `g` gives `(ρ(g)x)(p) = x(g⁻¹p)`. A quarter turn is `numpy.rot90(x, 1)`
//! on the `(H, W)` axes (counter-clockwise as displayed); a rotation by angle `α` uses the
//! matrix `[[cos α, −sin α], [sin α, cos α]]` on `(row, col)`, so `α = π/2` is one quarter turn.

use std::f64::consts::{FRAC_PI_2, TAU};

use entk_groups::PixelResampling;
use nalgebra::Matrix2;
use ndarray::{Array3, ArrayView3, Axis};
use rand::Rng;

use crate::DatasetError;

/// How images are rotated when a data set is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RotationMode {
    /// No rotation.
    #[default]
    None,
    /// A uniformly random multiple of 90°: an exact pixel permutation.
    QuarterTurns,
    /// A uniformly random angle in `[0, 2π)`, applied by bilinear resampling about the centre
    /// (pixels that come from outside the image read 0).
    Continuous,
}

/// One drawn rotation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageRotation {
    /// `k` counter-clockwise quarter turns, applied exactly.
    QuarterTurns(u8),
    /// A rotation by this angle (radians), applied by bilinear resampling.
    Angle(f64),
}

impl RotationMode {
    /// Draws a rotation of this kind.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> ImageRotation {
        match self {
            RotationMode::None => ImageRotation::QuarterTurns(0),
            RotationMode::QuarterTurns => ImageRotation::QuarterTurns(rng.random_range(0..4)),
            RotationMode::Continuous => ImageRotation::Angle(rng.random_range(0.0..TAU)),
        }
    }
}

impl ImageRotation {
    /// The rotation angle in radians.
    pub fn angle(&self) -> f64 {
        match *self {
            ImageRotation::QuarterTurns(k) => FRAC_PI_2 * f64::from(k),
            ImageRotation::Angle(a) => a,
        }
    }
    /// Rotates an image `(H, W, C)`. Quarter turns accept any shape (and swap `H`, `W` when
    /// odd); angles need a square image.
    pub fn apply(&self, image: ArrayView3<'_, f64>) -> Result<Array3<f64>, DatasetError> {
        match *self {
            ImageRotation::QuarterTurns(k) => Ok(rot90(image, i64::from(k))),
            ImageRotation::Angle(a) => rotate_bilinear(image, a),
        }
    }
}

/// `numpy.rot90(image, turns)` on the `(H, W)` axes of an `(H, W, C)` image: `turns`
/// counter-clockwise quarter turns (negative turns go clockwise), exact.
pub fn rot90(image: ArrayView3<'_, f64>, turns: i64) -> Array3<f64> {
    let (h, w, c) = image.dim();
    match turns.rem_euclid(4) {
        0 => image.to_owned(),
        1 => Array3::from_shape_fn((w, h, c), |(i, j, ch)| image[(j, w - 1 - i, ch)]),
        2 => Array3::from_shape_fn((h, w, c), |(i, j, ch)| image[(h - 1 - i, w - 1 - j, ch)]),
        _ => Array3::from_shape_fn((w, h, c), |(i, j, ch)| image[(h - 1 - j, i, ch)]),
    }
}

/// Rotates a square `(S, S, C)` image by `angle` radians about its centre with bilinear
/// interpolation ([`entk_groups::PixelResampling`]); samples from outside the image read 0.
/// At multiples of 90° the result equals [`rot90`] exactly.
pub fn rotate_bilinear(
    image: ArrayView3<'_, f64>,
    angle: f64,
) -> Result<Array3<f64>, DatasetError> {
    let (h, w, channels) = image.dim();
    if h != w {
        return Err(DatasetError::Shape {
            what: "image to rotate".into(),
            expected: "a square image (S, S, C)".into(),
            got: vec![h, w, channels],
        });
    }
    if !angle.is_finite() {
        return Err(DatasetError::invalid(
            "rotation angle",
            format!("{angle} is not finite"),
        ));
    }
    let (s, c) = angle.sin_cos();
    let resampling = PixelResampling::new(&Matrix2::new(c, -s, s, c), h)?;
    let mut out = Array3::zeros((h, w, channels));
    for ch in 0..channels {
        let plane: Vec<f64> = image.index_axis(Axis(2), ch).iter().copied().collect();
        let rotated = resampling.apply(&plane)?;
        for (value, target) in rotated
            .into_iter()
            .zip(out.index_axis_mut(Axis(2), ch).iter_mut())
        {
            *target = value;
        }
    }
    Ok(out)
}
