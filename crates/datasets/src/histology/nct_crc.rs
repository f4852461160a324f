//! NCT-CRC-HE-100K (Kather et al. 2018): 100,000 H&E tiles of 224×224 px in nine class folders.

use std::path::{Path, PathBuf};

use ndarray::{Array4, Axis};

use super::{read_tiff_rgb, HISTOLOGY_CLASSES};
use crate::image_resize::resize_area;
use crate::split::seeded_rng;
use crate::{DatasetError, LabelledImages};

const DOWNLOAD_HINT: &str = "download NCT-CRC-HE-100K.zip from Zenodo record 1214456 \
                             (https://zenodo.org/record/1214456), unzip it, and pass the folder \
                             NCT-CRC-HE-100K that holds the class folders ADI, BACK, DEB, LYM, \
                             MUC, MUS, NORM, STR, TUM";

/// Options of [`read_nct_crc_he`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NctCrcOptions {
    /// Output side in pixels: tiles are resized to `image_size × image_size` by area averaging.
    /// Default 32 (docs/theory.md#histology).
    pub image_size: usize,
    /// Read at most this many tiles per class, chosen at random with `seed` (all tiles if
    /// `None`). Default `None`.
    pub per_class_limit: Option<usize>,
    /// Seed of the per-class choice.
    pub seed: u64,
}

impl Default for NctCrcOptions {
    fn default() -> Self {
        Self {
            image_size: 32,
            per_class_limit: None,
            seed: 0,
        }
    }
}

/// Reads NCT-CRC-HE-100K from its unpacked folder: `root/ADI/*.tif`, …, `root/TUM/*.tif` (a
/// `root/NCT-CRC-HE-100K/` level is also accepted). Labels follow [`HISTOLOGY_CLASSES`]
/// (alphabetical); tiles are read class by class in file-name order, resized to RGB
/// `(image_size, image_size, 3)` in `[0, 1]`. Split with
/// [`LabelledImages::train_test_split`].
///
/// Errors with [`DatasetError::MissingData`] (saying what to download) when the folder or a
/// class folder is missing, and with the file's path when a tile cannot be decoded.
pub fn read_nct_crc_he(
    root: &Path,
    options: &NctCrcOptions,
) -> Result<LabelledImages, DatasetError> {
    DatasetError::at_least_one("image size", options.image_size)?;
    let root = dataset_root(root)?;
    let mut files_per_class = Vec::with_capacity(HISTOLOGY_CLASSES.len());
    for class in HISTOLOGY_CLASSES {
        let mut files = tiles_of_class(&root.join(class))?;
        if let Some(limit) = options.per_class_limit {
            if files.len() > limit {
                let mut rng = seeded_rng(options.seed);
                let mut chosen = rand::seq::index::sample(&mut rng, files.len(), limit).into_vec();
                chosen.sort_unstable();
                files = chosen.into_iter().map(|i| files[i].clone()).collect();
            }
        }
        files_per_class.push(files);
    }
    let total: usize = files_per_class.iter().map(Vec::len).sum();
    let size = options.image_size;
    let mut images = Array4::zeros((total, size, size, 3));
    let mut labels = Vec::with_capacity(total);
    let mut row = 0;
    for (label, files) in files_per_class.iter().enumerate() {
        for path in files {
            let tile = read_tiff_rgb(path)?;
            images
                .index_axis_mut(Axis(0), row)
                .assign(&resize_area(tile.view(), size, size)?);
            labels.push(label);
            row += 1;
        }
    }
    LabelledImages::new(
        images,
        labels,
        HISTOLOGY_CLASSES.iter().map(|c| c.to_string()).collect(),
    )
}

/// `root` itself when it holds the class folders, else `root/NCT-CRC-HE-100K`.
fn dataset_root(root: &Path) -> Result<PathBuf, DatasetError> {
    if !root.is_dir() {
        return Err(DatasetError::MissingData {
            dataset: "NCT-CRC-HE-100K",
            path: root.to_path_buf(),
            hint: DOWNLOAD_HINT.into(),
        });
    }
    let nested = root.join("NCT-CRC-HE-100K");
    if !root.join(HISTOLOGY_CLASSES[0]).is_dir() && nested.join(HISTOLOGY_CLASSES[0]).is_dir() {
        return Ok(nested);
    }
    Ok(root.to_path_buf())
}

/// The `.tif`/`.tiff` files of one class folder, sorted by name.
fn tiles_of_class(dir: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    if !dir.is_dir() {
        return Err(DatasetError::MissingData {
            dataset: "NCT-CRC-HE-100K",
            path: dir.to_path_buf(),
            hint: format!("class folder missing; {DOWNLOAD_HINT}"),
        });
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
        let path = entry.map_err(|e| DatasetError::io(dir, e))?.path();
        let is_tiff = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tif") || e.eq_ignore_ascii_case("tiff"));
        if is_tiff && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
