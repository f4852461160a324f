//! MedMNIST PathMNIST (`pathmnist.npz`): NCT-CRC-HE tiles at 28×28 RGB, pre-split.
//!
//! The `.npz` holds `train_images (N, H, W, 3) u8`, `train_labels (N, 1)` and the same for
//! `val_` and `test_`. Labels are the nine classes of [`HISTOLOGY_CLASSES`] in the same order.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use ndarray::{ArrayD, Axis, Ix4};

use crate::npy::{
    read_npy_data, read_npy_header, Accept, DtypeKind, NpyDtype, NpyError, SourceLength,
};

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
///
/// Every member's npy header is checked against the member's declared size, and against
/// [`crate::npy::MAX_DECODED_BYTES`] of `f64` output, before anything is decompressed; a
/// member is never decompressed past its declared end. So a zip bomb is refused in
/// milliseconds with a one-line error.
pub fn read_pathmnist_from<R: Read + Seek>(
    reader: R,
    source_name: &str,
    split: MedMnistSplit,
) -> Result<LabelledImages, DatasetError> {
    let mut zip =
        zip::ZipArchive::new(reader).map_err(|source| DatasetError::zip(source_name, source))?;
    let images_name = format!("{}_images", split.prefix());
    let labels_name = format!("{}_labels", split.prefix());

    let images = read_member(&mut zip, &images_name, source_name, |dtype| {
        (dtype.kind == DtypeKind::Unsigned && dtype.size == 1)
            .then_some(())
            .ok_or_else(|| format!("{dtype}; MedMNIST images are uint8"))
    })?;
    if !matches!(images.shape(), [_, _, _, 3]) {
        return Err(DatasetError::Shape {
            what: format!("{source_name}: {images_name}"),
            expected: "(N, H, W, 3) RGB".into(),
            got: images.shape().to_vec(),
        });
    }
    let images = images
        .into_dimensionality::<Ix4>()
        .expect("four dimensions checked");
    let n = images.len_of(Axis(0));
    let labels = read_member(&mut zip, &labels_name, source_name, |_| Ok(()))?;
    let labels: Vec<f64> = match labels.shape() {
        [_] | [_, 1] => labels.iter().copied().collect(),
        shape => {
            return Err(DatasetError::Shape {
                what: format!("{source_name}: {labels_name}"),
                expected: "(N, 1) or (N,)".into(),
                got: shape.to_vec(),
            })
        }
    };
    if labels.len() != n {
        return Err(DatasetError::Shape {
            what: format!("{source_name}: {labels_name}"),
            expected: format!("({n}, 1), one label per image"),
            got: vec![labels.len()],
        });
    }
    let classes = HISTOLOGY_CLASSES.len();
    if let Some((i, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| !(l >= 0.0 && l < classes as f64))
    {
        return Err(DatasetError::parse(
            source_name,
            None,
            format!("{labels_name}[{i}] = {label} is not a class index 0-8"),
        ));
    }
    LabelledImages::new(
        images.mapv(|v| v / 255.0),
        labels.into_iter().map(|l| l as usize).collect(),
        HISTOLOGY_CLASSES.iter().map(|c| c.to_string()).collect(),
    )
}

/// Reads the integer array `name` (or `name.npy`) of an `.npz`, as `f64`; `check_dtype`
/// may refuse the dtype before any data is decompressed.
fn read_member<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    source_name: &str,
    check_dtype: impl Fn(NpyDtype) -> Result<(), String>,
) -> Result<ArrayD<f64>, DatasetError> {
    let npy_error = |e: NpyError| DatasetError::Npy {
        source_name: source_name.to_string(),
        array: name.to_string(),
        reason: e.to_string(),
    };
    let member_name = [name.to_string(), format!("{name}.npy")]
        .into_iter()
        .find(|n| zip.index_for_name(n).is_some())
        .ok_or_else(|| DatasetError::MissingMember {
            source_name: source_name.to_string(),
            member: format!("{name}.npy"),
            hint: "a MedMNIST .npz holds train_/val_/test_ images and labels",
        })?;
    let mut member = zip
        .by_name(&member_name)
        .map_err(|source| DatasetError::zip(source_name, source))?;
    let length = SourceLength::Declared(member.size());
    let header = read_npy_header(&mut member, length, Accept::Integers).map_err(npy_error)?;
    check_dtype(header.dtype).map_err(|found| {
        npy_error(NpyError::Dtype {
            found,
            expected: "uint8",
        })
    })?;
    read_npy_data(&mut member, &header).map_err(npy_error)
}
