//! Rotated MNIST: seeded train/test draws with exact quarter turns or continuous rotations.

use ndarray::{Array4, Axis};

use crate::image_rotation::RotationMode;
use crate::split::{seeded_rng, train_test_indices};
use crate::{DatasetError, LabelledImages, RotatedImages, RotatedSplit};

/// Added to the seed for the rotation draws, so that angles and the index split use independent
/// streams.
const ROTATION_STREAM: u64 = 0x9e37_79b9_7f4a_7c15;

/// Parameters of [`rotated_mnist`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotatedMnistConfig {
    /// Training digits.
    pub n_train: usize,
    /// Test digits.
    pub n_test: usize,
    /// Rotation of training digits.
    pub train_rotation: RotationMode,
    /// Rotation of test digits.
    pub test_rotation: RotationMode,
    /// Seed of the index split and the rotation angles.
    pub seed: u64,
}

impl Default for RotatedMnistConfig {
    /// 1,000 training and 500 test digits, both continuously rotated, seed 0.
    fn default() -> Self {
        Self {
            n_train: 1000,
            n_test: 500,
            train_rotation: RotationMode::Continuous,
            test_rotation: RotationMode::Continuous,
            seed: 0,
        }
    }
}

/// Rotated MNIST from any digits (e.g. [`super::embedded_mnist_sample`]): see
/// [`rotated_split`].
pub fn rotated_mnist(
    digits: &LabelledImages,
    config: &RotatedMnistConfig,
) -> Result<RotatedSplit, DatasetError> {
    rotated_split(
        digits,
        config.n_train,
        config.n_test,
        config.train_rotation,
        config.test_rotation,
        config.seed,
    )
}

/// Draws disjoint training and test images ([`crate::train_test_indices`] with `seed`), then
/// rotates each about its centre by an angle drawn from its mode (ChaCha8 stream seeded with
/// `seed + 0x9e3779b97f4a7c15`, training images first). Images must be square for continuous
/// rotations.
pub fn rotated_split(
    data: &LabelledImages,
    n_train: usize,
    n_test: usize,
    train_rotation: RotationMode,
    test_rotation: RotationMode,
    seed: u64,
) -> Result<RotatedSplit, DatasetError> {
    let split = train_test_indices(data.len(), n_train, n_test, seed)?;
    let mut rng = seeded_rng(seed.wrapping_add(ROTATION_STREAM));
    let mut build =
        |indices: &[usize], mode: RotationMode| -> Result<RotatedImages, DatasetError> {
            let (h, w, c) = data.image_shape();
            let mut images = Array4::zeros((indices.len(), h, w, c));
            let mut angles = Vec::with_capacity(indices.len());
            for (row, &i) in indices.iter().enumerate() {
                let rotation = mode.draw(&mut rng);
                let rotated = rotation.apply(data.image(i))?;
                if rotated.dim() != (h, w, c) {
                    return Err(DatasetError::Shape {
                        what: "rotated image".into(),
                        expected: "square images, so that quarter turns keep the shape".into(),
                        got: vec![h, w, c],
                    });
                }
                images.index_axis_mut(Axis(0), row).assign(&rotated);
                angles.push(rotation.angle());
            }
            let labels = indices.iter().map(|&i| data.labels()[i]).collect();
            Ok(RotatedImages {
                images: LabelledImages::new(images, labels, data.class_names().to_vec())?,
                angles,
            })
        };
    Ok(RotatedSplit {
        train: build(&split.train, train_rotation)?,
        test: build(&split.test, test_rotation)?,
    })
}
