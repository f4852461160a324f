//! `entk experiment histology --data PATH`: CNN vs C4-GCNN NTK on H&E tissue tiles
//! (docs/theory.md#histology), from data the user downloads.
//!
//! `PATH` is either the unpacked NCT-CRC-HE-100K folder (class folders `ADI` … `TUM`; tiles are
//! read 32×32 by area averaging, at most enough per class for the request, then split with the
//! seed) or MedMNIST's `pathmnist.npz` (training tiles from its `train` split, test tiles from
//! its `test` split). Tiles are then area-downsampled to `image_size` (default 16) for the
//! kernel budget; the paper uses 32×32, which costs ≈25× more per kernel pair.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use entk_datasets::histology::{
    read_nct_crc_he, read_pathmnist, MedMnistSplit, NctCrcOptions, HISTOLOGY_CLASSES,
};
use entk_datasets::LabelledImages;

use super::classification::{Candidates, ImageClassification};
use super::{ExperimentError, ExperimentOptions};
use crate::report::ExperimentReport;

/// Default training tiles.
pub const DEFAULT_TRAIN: usize = 100;
/// Default test tiles.
pub const DEFAULT_TEST: usize = 200;

/// What to download, for the error without `--data`.
pub const DOWNLOAD_HELP: &str = "needs downloaded data: pass --data PATH with either the unpacked NCT-CRC-HE-100K folder \
(download NCT-CRC-HE-100K.zip from Zenodo record 1214456, https://zenodo.org/record/1214456, unzip it and pass the folder holding ADI, BACK, DEB, LYM, MUC, MUS, NORM, STR, TUM) \
or MedMNIST's pathmnist.npz (https://zenodo.org/records/10519652/files/pathmnist.npz)";

/// Settings of the histology comparison.
#[derive(Debug, Clone, Serialize)]
pub struct HistologyConfig {
    /// The settings of every image-classification experiment (candidates: `draws · train`
    /// training and `draws · test` test tiles, distinct, drawn at random; each draw takes its
    /// own block).
    #[serde(flatten)]
    pub run: ImageClassification,
    /// The data path.
    pub data: PathBuf,
}

impl HistologyConfig {
    /// The settings; errors without `--data`, saying what to download.
    pub fn from_options(o: &ExperimentOptions) -> Result<Self, ExperimentError> {
        let data = o
            .data
            .clone()
            .ok_or_else(|| ExperimentError::Usage(DOWNLOAD_HELP.into()))?;
        Ok(HistologyConfig {
            run: ImageClassification::from_options(
                o,
                (DEFAULT_TRAIN, DEFAULT_TEST),
                16,
                9,
                &["c4"],
            )
            .unsplit(),
            data,
        })
    }

    /// Reads the candidates of every draw ([`ImageClassification::candidates`]).
    fn load(&self) -> Result<(LabelledImages, LabelledImages, String), ExperimentError> {
        let (ntr, nte) = self.run.candidates();
        let path: &Path = &self.data;
        let is_npz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
        if is_npz {
            let train_all = read_pathmnist(path, MedMnistSplit::Train)?;
            let test_all = read_pathmnist(path, MedMnistSplit::Test)?;
            let (train, _) = train_all.train_test_split(ntr, 0, self.run.seed)?;
            let (test, _) = test_all.train_test_split(nte, 0, self.run.seed.wrapping_add(1))?;
            Ok((
                train,
                test,
                format!(
                    "PathMNIST {} (train split → training tiles, test split → test tiles)",
                    path.display()
                ),
            ))
        } else {
            let per_class = (ntr + nte).div_ceil(HISTOLOGY_CLASSES.len()) * 2;
            let all = read_nct_crc_he(
                path,
                &NctCrcOptions {
                    image_size: 32,
                    per_class_limit: Some(per_class),
                    seed: self.run.seed,
                },
            )?;
            let (train, test) = all.train_test_split(ntr, nte, self.run.seed)?;
            Ok((
                train,
                test,
                format!(
                    "NCT-CRC-HE-100K {} (≤{per_class} tiles per class read at 32×32, random split)",
                    path.display()
                ),
            ))
        }
    }

    /// Runs the comparison.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        self.run.check_memory("histology", 32 * 32 * 3)?;
        let (train, test, source) = self.load()?;
        self.run.run(
            ("histology", json!(self)),
            Candidates {
                train: &train,
                test: &test,
                shared: false,
                note: format!(
                    "{source}; tiles area-downsampled to {s}×{s} RGB.",
                    s = self.run.image_size
                ),
            },
            threads,
            start,
        )
    }
}
