//! MedMNIST PathMNIST (`pathmnist.npz`): NCT-CRC-HE tiles at 28×28 RGB, pre-split.
//!
//! The `.npz` holds `train_images (N, H, W, 3) u8`, `train_labels (N, 1)` and the same for
//! `val_` and `test_`. Labels are the nine classes of [`HISTOLOGY_CLASSES`] in the same order.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use ndarray::{Array4, ArrayD, IxDyn};
use ndarray_npy::{NpzReader, ReadNpyError, ReadNpzError};

use super::HISTOLOGY_CLASSES;
use crate::{DatasetError, LabelledImages};

const DOWNLOAD_HINT: &str = "download pathmnist.npz from MedMNIST (https://medmnist.com; file \
                             https://zenodo.org/records/10519652/files/pathmnist.npz, or `pip \
                             install medmnist` then `python -c \"import medmnist; \
                             medmnist.PathMNIST(split='test', download=True)\"`, which saves it \
                             in ~/.medmnist/) and pass the path of the .npz file";

/// One of the three MedMNIST splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MedMnistSplit {
    /// `train_images`, `train_labels`.
    Train,
    /// `val_images`, `val_labels`.
    Val,
    /// `test_images`, `test_labels`.
    Test,
}

impl MedMnistSplit {
    /// The array-name prefix (`train`, `val`, `test`).
    pub fn prefix(self) -> &'static str {
        match self {
            MedMnistSplit::Train => "train",
            MedMnistSplit::Val => "val",
            MedMnistSplit::Test => "test",
        }
    }
}

/// Reads one split of `pathmnist.npz` as labelled RGB images `(N, H, W, 3)` in `[0, 1]`
/// (H = W = 28 for the classic file). Errors with [`DatasetError::MissingData`] (saying what
/// to download) when the file is missing.
pub fn read_pathmnist(path: &Path, split: MedMnistSplit) -> Result<LabelledImages, DatasetError> {
    if !path.is_file() {
        return Err(DatasetError::MissingData {
            dataset: "PathMNIST",
            path: path.to_path_buf(),
            hint: DOWNLOAD_HINT.into(),
        });
    }
    let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    read_pathmnist_from(BufReader::new(file), &path.display().to_string(), split)
}

/// [`read_pathmnist`] from any seekable reader of `.npz` bytes.
pub fn read_pathmnist_from<R: Read + Seek>(
    reader: R,
    source_name: &str,
    split: MedMnistSplit,
) -> Result<LabelledImages, DatasetError> {
    let mut npz = NpzReader::new(reader).map_err(|e| npz_error(source_name, "(archive)", e))?;
    let images_name = format!("{}_images", split.prefix());
    let labels_name = format!("{}_labels", split.prefix());

    let images: Array4<u8> = npz
        .by_name(&images_name)
        .map_err(|e| npz_error(source_name, &images_name, e))?;
    let (n, h, w, c) = images.dim();
    if c != 3 {
        return Err(DatasetError::Shape {
            what: format!("{source_name}: {images_name}"),
            expected: "(N, H, W, 3) RGB".into(),
            got: vec![n, h, w, c],
        });
    }
    let labels = read_labels(&mut npz, &labels_name, source_name)?;
    if labels.len() != n {
        return Err(DatasetError::Shape {
            what: format!("{source_name}: {labels_name}"),
            expected: format!("({n}, 1), one label per image"),
            got: vec![labels.len()],
        });
    }
    if let Some((i, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l < 0 || l as usize >= HISTOLOGY_CLASSES.len())
    {
        return Err(DatasetError::parse(
            source_name,
            None,
            format!("{labels_name}[{i}] = {label} is not a class index 0-8"),
        ));
    }
    LabelledImages::new(
        images.mapv(|v| f64::from(v) / 255.0),
        labels.into_iter().map(|l| l as usize).collect(),
        HISTOLOGY_CLASSES.iter().map(|c| c.to_string()).collect(),
    )
}

/// Labels `(N, 1)` or `(N,)` stored as u8 (MedMNIST's choice) or any of i64, i32, u16.
fn read_labels<R: Read + Seek>(
    npz: &mut NpzReader<R>,
    name: &str,
    source_name: &str,
) -> Result<Vec<i64>, DatasetError> {
    fn attempt<R: Read + Seek, T: ndarray_npy::ReadableElement + Copy + Into<i64>>(
        npz: &mut NpzReader<R>,
        name: &str,
    ) -> Result<ArrayD<i64>, ReadNpzError> {
        npz.by_name::<_, IxDyn>(name)
            .map(|a: ArrayD<T>| a.mapv(Into::into))
    }
    let is_wrong_type =
        |e: &ReadNpzError| matches!(e, ReadNpzError::Npy(ReadNpyError::WrongDescriptor(_)));
    let mut result = attempt::<R, u8>(npz, name);
    if result.as_ref().is_err_and(is_wrong_type) {
        result = attempt::<R, i64>(npz, name);
    }
    if result.as_ref().is_err_and(is_wrong_type) {
        result = attempt::<R, i32>(npz, name);
    }
    if result.as_ref().is_err_and(is_wrong_type) {
        result = attempt::<R, u16>(npz, name);
    }
    let labels = result.map_err(|e| npz_error(source_name, name, e))?;
    match labels.shape() {
        [_] | [_, 1] => Ok(labels.iter().copied().collect()),
        shape => Err(DatasetError::Shape {
            what: format!("{source_name}: {name}"),
            expected: "(N, 1) or (N,)".into(),
            got: shape.to_vec(),
        }),
    }
}

fn npz_error(source_name: &str, array: &str, error: ReadNpzError) -> DatasetError {
    match error {
        ReadNpzError::Zip(zip::result::ZipError::FileNotFound) => DatasetError::MissingMember {
            source_name: source_name.to_string(),
            member: format!("{array}.npy"),
            hint: "a MedMNIST .npz holds train_/val_/test_ images and labels",
        },
        ReadNpzError::Zip(source) => DatasetError::Zip {
            source_name: source_name.to_string(),
            source,
        },
        other => DatasetError::Npy {
            source_name: source_name.to_string(),
            array: array.to_string(),
            reason: other.to_string(),
        },
    }
}
