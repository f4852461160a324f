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

use super::classification::{Classification, Pool, DEFAULT_DRAWS};
use super::common::{
    check_memory, cnn_classifier, concat, curve_sizes, gcnn_classifier, resize_labelled, run_bytes,
    ModelSpec, CODE_VERSION,
};
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
    /// Code version.
    pub code_version: &'static str,
    /// The data path.
    pub data: PathBuf,
    /// Training tiles.
    pub train: usize,
    /// Test tiles.
    pub test: usize,
    /// Seed of the selection.
    pub seed: u64,
    /// Random train/test draws from the candidates (`⌈4/3 · train⌉` training and `⌈4/3 ·
    /// test⌉` test tiles are read once).
    pub draws: usize,
    /// Side after downsampling.
    pub image_size: usize,
    /// Learning-curve sizes.
    pub curve: Vec<usize>,
    /// Relative diagonal regularisation (docs/theory.md#histology: 1e-4).
    pub diag_reg: f64,
    /// The models.
    pub models: Vec<ModelSpec>,
}

impl HistologyConfig {
    /// The settings; errors without `--data`, saying what to download.
    pub fn from_options(o: &ExperimentOptions) -> Result<Self, ExperimentError> {
        let data = o
            .data
            .clone()
            .ok_or_else(|| ExperimentError::Usage(DOWNLOAD_HELP.into()))?;
        let train = o.train.unwrap_or(DEFAULT_TRAIN);
        Ok(HistologyConfig {
            code_version: CODE_VERSION,
            data,
            train,
            test: o.test.unwrap_or(DEFAULT_TEST),
            seed: o.seed,
            draws: DEFAULT_DRAWS,
            image_size: 16,
            curve: curve_sizes(train, 9),
            diag_reg: 1e-4,
            models: vec![
                ModelSpec::new("cnn", cnn_classifier()),
                ModelSpec::new("c4_gcnn", gcnn_classifier("c4")),
            ],
        })
    }

    /// Candidates read for `n` drawn tiles.
    fn candidates(n: usize) -> usize {
        (4 * n).div_ceil(3)
    }

    fn load(&self) -> Result<(LabelledImages, LabelledImages, String), ExperimentError> {
        let (ntr, nte) = (Self::candidates(self.train), Self::candidates(self.test));
        let path: &Path = &self.data;
        let is_npz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
        if is_npz {
            let train_all = read_pathmnist(path, MedMnistSplit::Train)?;
            let test_all = read_pathmnist(path, MedMnistSplit::Test)?;
            let (train, _) = train_all.train_test_split(ntr, 0, self.seed)?;
            let (test, _) = test_all.train_test_split(nte, 0, self.seed.wrapping_add(1))?;
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
                    seed: self.seed,
                },
            )?;
            let (train, test) = all.train_test_split(ntr, nte, self.seed)?;
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
        check_memory(
            run_bytes(
                Self::candidates(self.train),
                Self::candidates(self.test),
                32 * 32 * 3,
            ),
            &format!("histology --train {} --test {}", self.train, self.test),
        )?;
        let (train, test, source) = self.load()?;
        let u = train.len();
        let pool = resize_labelled(&concat(&train, &test)?, self.image_size)?;
        let mut report =
            ExperimentReport::new("histology", self.train, self.test, self.seed, json!(self));
        Classification {
            pool: Pool {
                images: &pool,
                train_candidates: u,
                shared: false,
            },
            train: self.train,
            test: self.test,
            draws: self.draws,
            seed: self.seed,
            models: &self.models,
            curve: &self.curve,
            diag_reg: self.diag_reg,
            threads,
            comparisons: &[("c4_gcnn", "cnn")],
        }
        .run_into(&mut report)?;
        report.notes.insert(
            0,
            format!(
                "{source}; tiles area-downsampled to {s}×{s} RGB.",
                s = self.image_size
            ),
        );
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}
