//! `entk experiment textures`: the same three NTKs on the embedded texture task (brick, grass,
//! gravel; 3 classes).
//!
//! Patches of `patch_size × patch_size` (default 20) are cut from the three embedded 256×256
//! CC0 textures (training patches from the upper halves, test patches from the lower halves, so
//! no pixel is shared), rotated by a uniform random angle (the crop is taken larger so that no
//! rotated pixel reads outside the texture), and area-downsampled to `image_size` (default 10)
//! for the kernel budget. Protocol as docs/theory.md#histology.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use entk_datasets::textures::{embedded_texture_patches, TexturePatchConfig};
use entk_datasets::RotationMode;

use super::classification::{Classification, Pool, DEFAULT_DRAWS};
use super::common::{
    check_memory, cnn_classifier, concat, curve_sizes, gcnn_classifier, resize_labelled, run_bytes,
    ModelSpec, CODE_VERSION,
};
use super::{ExperimentError, ExperimentOptions};
use crate::report::ExperimentReport;

/// Default training patches.
pub const DEFAULT_TRAIN: usize = 150;
/// Default test patches (per draw).
pub const DEFAULT_TEST: usize = 200;

/// Settings of the texture comparison.
#[derive(Debug, Clone, Serialize)]
pub struct TexturesConfig {
    /// Code version (cache key).
    pub code_version: &'static str,
    /// Training patches.
    pub train: usize,
    /// Test patches.
    pub test: usize,
    /// Seed of crops, angles, order and draws.
    pub seed: u64,
    /// Random train/test draws.
    pub draws: usize,
    /// Candidates per drawn image: `⌈pool_factor · train⌉` training patches (upper halves) and
    /// `⌈pool_factor · test⌉` test patches (lower halves) are cut once; each draw picks its sets
    /// from them.
    pub pool_factor: f64,
    /// Side of the cut patches.
    pub patch_size: usize,
    /// Side after area downsampling.
    pub image_size: usize,
    /// How patches are rotated.
    pub rotation: &'static str,
    /// Learning-curve sizes.
    pub curve: Vec<usize>,
    /// Relative diagonal regularisation.
    pub diag_reg: f64,
    /// The models.
    pub models: Vec<ModelSpec>,
}

impl TexturesConfig {
    /// The settings for command-line options.
    pub fn from_options(o: &ExperimentOptions) -> Self {
        let train = o.train.unwrap_or(DEFAULT_TRAIN);
        TexturesConfig {
            code_version: CODE_VERSION,
            train,
            test: o.test.unwrap_or(DEFAULT_TEST),
            seed: o.seed,
            draws: DEFAULT_DRAWS,
            pool_factor: 4.0 / 3.0,
            patch_size: 20,
            image_size: 10,
            rotation: "uniform random angle in [0, 2π), bilinear, train and test",
            curve: curve_sizes(train, 6),
            diag_reg: 1e-4,
            models: vec![
                ModelSpec::new("cnn", cnn_classifier()),
                ModelSpec::new("c4_gcnn", gcnn_classifier("c4")),
                ModelSpec::new("d4_gcnn", gcnn_classifier("d4")),
            ],
        }
    }

    /// Candidates cut for `n` drawn images.
    fn candidates(&self, n: usize) -> usize {
        ((n as f64) * self.pool_factor).ceil() as usize
    }

    /// Runs the comparison.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        check_memory(
            run_bytes(
                self.candidates(self.train),
                self.candidates(self.test),
                self.patch_size * self.patch_size,
            ),
            &format!("textures --train {} --test {}", self.train, self.test),
        )?;
        let (u, l) = (self.candidates(self.train), self.candidates(self.test));
        let split = embedded_texture_patches(&TexturePatchConfig {
            patch_size: self.patch_size,
            n_train: u,
            n_test: l,
            train_rotation: RotationMode::Continuous,
            test_rotation: RotationMode::Continuous,
            seed: self.seed,
        })?;
        let pool = resize_labelled(&concat(&split.train, &split.test)?, self.image_size)?;
        let mut report =
            ExperimentReport::new("textures", self.train, self.test, self.seed, json!(self));
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
            comparisons: &[
                ("c4_gcnn", "cnn"),
                ("d4_gcnn", "cnn"),
                ("d4_gcnn", "c4_gcnn"),
            ],
        }
        .run_into(&mut report)?;
        report.notes.insert(
            0,
            format!(
                "Embedded brick/grass/gravel textures: randomly rotated {p}×{p} patches (training candidates from the upper, test candidates from the lower image halves, so no pixel is shared), area-downsampled to {s}×{s}.",
                p = self.patch_size,
                s = self.image_size
            ),
        );
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}
