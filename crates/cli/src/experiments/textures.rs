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

use super::classification::{Candidates, ImageClassification};
use super::{ExperimentError, ExperimentOptions};
use crate::report::ExperimentReport;

/// Default training patches.
pub const DEFAULT_TRAIN: usize = 150;
/// Default test patches (per draw).
pub const DEFAULT_TEST: usize = 200;

/// Settings of the texture comparison.
#[derive(Debug, Clone, Serialize)]
pub struct TexturesConfig {
    /// The settings of every image-classification experiment.
    #[serde(flatten)]
    pub run: ImageClassification,
    /// Candidates per drawn image: `⌈pool_factor · train⌉` training patches (upper halves) and
    /// `⌈pool_factor · test⌉` test patches (lower halves) are cut once; each draw picks its sets
    /// from them.
    pub pool_factor: f64,
    /// Side of the cut patches.
    pub patch_size: usize,
    /// How patches are rotated.
    pub rotation: &'static str,
}

impl TexturesConfig {
    /// The settings for command-line options.
    pub fn from_options(o: &ExperimentOptions) -> Self {
        TexturesConfig {
            run: ImageClassification::from_options(
                o,
                (DEFAULT_TRAIN, DEFAULT_TEST),
                10,
                6,
                &["c4", "d4"],
            ),
            pool_factor: 4.0 / 3.0,
            patch_size: 20,
            rotation: "uniform random angle in [0, 2π), bilinear, train and test",
        }
    }

    /// Candidates cut for `n` drawn images.
    fn candidates(&self, n: usize) -> usize {
        ((n as f64) * self.pool_factor).ceil() as usize
    }

    /// Runs the comparison.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        let ImageClassification { train, test, .. } = self.run;
        let (u, l) = (self.candidates(train), self.candidates(test));
        let pixels = self.patch_size * self.patch_size;
        self.run.check_memory("textures", (u, l), pixels)?;
        let split = embedded_texture_patches(&TexturePatchConfig {
            patch_size: self.patch_size,
            n_train: u,
            n_test: l,
            train_rotation: RotationMode::Continuous,
            test_rotation: RotationMode::Continuous,
            seed: self.run.seed,
        })?;
        let note = format!(
            "Embedded brick/grass/gravel textures: randomly rotated {p}×{p} patches (training candidates from the upper, test candidates from the lower image halves, so no pixel is shared), area-downsampled to {s}×{s}.",
            p = self.patch_size,
            s = self.run.image_size
        );
        self.run.run(
            ("textures", json!(self)),
            Candidates {
                train: &split.train.images,
                test: &split.test.images,
                train_rows: Some(u),
                note,
            },
            threads,
            start,
        )
    }
}
