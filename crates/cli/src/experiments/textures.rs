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
use entk_datasets::{LabelledImages, RotationMode};

use super::classification::{draw_seed, stack, Candidates, ImageClassification};
use super::{ExperimentError, ExperimentOptions};
use crate::report::ExperimentReport;

/// Default training patches.
pub const DEFAULT_TRAIN: usize = 150;
/// Default test patches (per draw).
pub const DEFAULT_TEST: usize = 100;

/// Settings of the texture comparison.
#[derive(Debug, Clone, Serialize)]
pub struct TexturesConfig {
    /// The settings of every image-classification experiment.
    #[serde(flatten)]
    pub run: ImageClassification,
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
            )
            .unsplit(),
            patch_size: 20,
            rotation: "uniform random angle in [0, 2π), bilinear, train and test",
        }
    }

    /// Runs the comparison.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        let ImageClassification { train, test, .. } = self.run;
        self.run
            .check_memory("textures", self.patch_size * self.patch_size)?;
        let (train_images, test_images) = self.candidates(train, test)?;
        let note = format!(
            "Embedded brick/grass/gravel textures: randomly rotated {p}×{p} patches at random positions (training patches from the upper, test patches from the lower image halves, so no pixel is shared; every draw cuts its own), area-downsampled to {s}×{s}.",
            p = self.patch_size,
            s = self.run.image_size
        );
        self.run.run(
            ("textures", json!(self)),
            Candidates {
                train: &train_images,
                test: &test_images,
                shared: false,
                note,
            },
            threads,
            start,
        )
    }

    /// The training and test candidates of every draw, `train` and `test` patches per draw, one
    /// draw after another. Each draw cuts its own patches (positions, angles and class order
    /// from its own seed), so the draws are independent and each is class-balanced.
    fn candidates(
        &self,
        train: usize,
        test: usize,
    ) -> Result<(LabelledImages, LabelledImages), ExperimentError> {
        let mut parts = (Vec::new(), Vec::new());
        for d in 0..self.run.draws {
            let split = embedded_texture_patches(&TexturePatchConfig {
                patch_size: self.patch_size,
                n_train: train,
                n_test: test,
                train_rotation: RotationMode::Continuous,
                test_rotation: RotationMode::Continuous,
                seed: draw_seed(self.run.seed, d),
            })?;
            parts.0.push(split.train.images);
            parts.1.push(split.test.images);
        }
        Ok((stack(&parts.0)?, stack(&parts.1)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::ExperimentOptions;
    use ndarray::s;

    /// Every draw cuts its own patches: draws 0 and 1 share no training or test image (a
    /// per-draw seed that ignored the draw would repeat them), and the same seed repeats them.
    #[test]
    fn draws_cut_their_own_patches() {
        let c = TexturesConfig::from_options(&ExperimentOptions::default());
        let (n, m) = (6, 9);
        let (tr, te) = c.candidates(n, m).unwrap();
        assert_eq!(tr.images().shape()[0], c.run.draws * n);
        assert_eq!(te.images().shape()[0], c.run.draws * m);
        for (x, k) in [(tr.images(), n), (te.images(), m)] {
            for i in 0..k {
                for j in k..2 * k {
                    assert_ne!(x.slice(s![i, .., .., ..]), x.slice(s![j, .., .., ..]));
                }
            }
        }
        assert_eq!(c.candidates(n, m).unwrap().0.images(), tr.images());
    }
}
