//! Images with class labels, the common currency of the image data sets.

use ndarray::{Array2, Array4, ArrayView3, Axis};

use crate::labels::{centred_one_hot, one_hot};
use crate::split::train_test_indices;
use crate::DatasetError;

/// A batch of labelled images.
///
/// - `images`: `(N, H, W, C)` (docs/conventions.md#arrays-and-index-order), `f64`, intensities in `[0, 1]` for every
///   loader in this crate; row 0 is the top of the image, column 0 the left.
/// - `labels[n]`: class index in `0..K`.
/// - `class_names[k]`: the name of class `k` (`"0"`…`"9"` for MNIST, `ADI`…`TUM` for histology).
///
/// Invariant (checked by [`LabelledImages::new`]): one label per image, every label `< K`,
/// `K ≥ 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledImages {
    images: Array4<f64>,
    labels: Vec<usize>,
    class_names: Vec<String>,
}

impl LabelledImages {
    /// Checks the invariant and builds the batch.
    pub fn new(
        images: Array4<f64>,
        labels: Vec<usize>,
        class_names: Vec<String>,
    ) -> Result<Self, DatasetError> {
        if class_names.is_empty() {
            return Err(DatasetError::invalid(
                "class names",
                "need at least one class",
            ));
        }
        if images.len_of(Axis(0)) != labels.len() {
            return Err(DatasetError::invalid(
                "labelled images",
                format!(
                    "{} images but {} labels",
                    images.len_of(Axis(0)),
                    labels.len()
                ),
            ));
        }
        if let Some((i, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l >= class_names.len())
        {
            return Err(DatasetError::invalid(
                "label",
                format!(
                    "label {label} of image {i} is not below the number of classes {}",
                    class_names.len()
                ),
            ));
        }
        Ok(Self {
            images,
            labels,
            class_names,
        })
    }

    /// The images `(N, H, W, C)`.
    pub fn images(&self) -> &Array4<f64> {
        &self.images
    }
    /// Image `n` as `(H, W, C)`.
    pub fn image(&self, n: usize) -> ArrayView3<'_, f64> {
        self.images.index_axis(Axis(0), n)
    }
    /// Class indices, one per image.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
    /// Class names, indexed by class.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }
    /// The number of classes `K`.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
    /// The number of images `N`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// `(H, W, C)`.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        let s = self.images.shape();
        (s[1], s[2], s[3])
    }
    /// One-hot labels `(N, K)`.
    pub fn one_hot(&self) -> Array2<f64> {
        one_hot(&self.labels, self.num_classes()).expect("labels checked at construction")
    }
    /// Centred one-hot labels `(N, K)`, one-hot minus `1/K` (docs/theory.md#histology).
    pub fn centred_one_hot(&self) -> Array2<f64> {
        centred_one_hot(&self.labels, self.num_classes()).expect("labels checked at construction")
    }
    /// The images at `indices`, in that order (repeats allowed).
    pub fn select(&self, indices: &[usize]) -> Result<Self, DatasetError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DatasetError::NotEnoughData {
                what: format!("image index {bad}"),
                requested: bad + 1,
                available: self.len(),
            });
        }
        Ok(Self {
            images: self.images.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
        })
    }
    /// Seeded disjoint training and test subsets ([`crate::train_test_indices`]).
    pub fn train_test_split(
        &self,
        n_train: usize,
        n_test: usize,
        seed: u64,
    ) -> Result<(Self, Self), DatasetError> {
        let split = train_test_indices(self.len(), n_train, n_test, seed)?;
        Ok((self.select(&split.train)?, self.select(&split.test)?))
    }
    /// Takes the batch apart: `(images, labels, class_names)`.
    pub fn into_parts(self) -> (Array4<f64>, Vec<usize>, Vec<String>) {
        (self.images, self.labels, self.class_names)
    }
}

/// Images built with random rotations, each with the angle applied to it.
#[derive(Debug, Clone, PartialEq)]
pub struct RotatedImages {
    /// The rotated images.
    pub images: LabelledImages,
    /// `angles[i]`: the rotation applied to image `i` (radians, counter-clockwise in the
    /// `(row, col)` convention of docs/conventions.md#pixel-grid-and-planar-groups; 0 when not
    /// rotated).
    pub angles: Vec<f64>,
}

/// A training and a test set built with random rotations.
#[derive(Debug, Clone, PartialEq)]
pub struct RotatedSplit {
    /// Training images and their angles.
    pub train: RotatedImages,
    /// Test images and their angles.
    pub test: RotatedImages,
}
