//! `entk experiment rotmnist`: C4- and D4-GCNN NTKs against the CNN NTK on rotated MNIST.
//!
//! Data: the embedded 2,000-digit MNIST sample; disjoint seeded train/test draws, every digit
//! (train and test) rotated about its centre by a uniform random angle in `[0, 2π)` with
//! bilinear resampling at 28×28 (the rotated-MNIST protocol: no orientation is privileged in
//! either set), then area-downsampled to `image_size × image_size` (default 10). Why 10×10: on
//! this 2-core machine one C4 kernel pair of the docs/theory.md#histology architecture costs ≈90 ms at 28×28,
//! ≈3 ms at 14×14 and ≈0.3 ms at 10×10 (CNN ≈0.08 ms, D4 ≈0.6 ms), and the default 200×500
//! comparison needs 120,100 pairs per model. Protocol and architectures: docs/theory.md#histology.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use entk_datasets::mnist::{embedded_mnist_sample, rotated_mnist, RotatedMnistConfig};
use entk_datasets::RotationMode;

use super::classification::{Classification, Pool, DEFAULT_DRAWS};
use super::common::{
    check_memory, cnn_classifier, concat, curve_sizes, gcnn_classifier, resize_labelled, run_bytes,
    ModelSpec, CODE_VERSION,
};
use super::{ExperimentError, ExperimentOptions};
use crate::report::ExperimentReport;

/// Default training digits.
pub const DEFAULT_TRAIN: usize = 200;
/// Default test digits (per draw; the pool holds training + test digits).
pub const DEFAULT_TEST: usize = 300;
/// Default image side after downsampling.
pub const DEFAULT_IMAGE_SIZE: usize = 10;

/// Settings of the rotated-MNIST comparison (serialised into the report).
#[derive(Debug, Clone, Serialize)]
pub struct RotmnistConfig {
    /// Code version (cache key).
    pub code_version: &'static str,
    /// Training digits.
    pub train: usize,
    /// Test digits.
    pub test: usize,
    /// Seed of the pool, the angles and the draws.
    pub seed: u64,
    /// Random train/test draws from the pool of `train + test` digits.
    pub draws: usize,
    /// Side of the downsampled images.
    pub image_size: usize,
    /// How train and test digits are rotated.
    pub rotation: &'static str,
    /// Learning-curve training sizes.
    pub curve: Vec<usize>,
    /// Relative diagonal regularisation.
    pub diag_reg: f64,
    /// The models.
    pub models: Vec<ModelSpec>,
}

impl RotmnistConfig {
    /// The settings for command-line options.
    pub fn from_options(o: &ExperimentOptions) -> Self {
        let train = o.train.unwrap_or(DEFAULT_TRAIN);
        RotmnistConfig {
            code_version: CODE_VERSION,
            train,
            test: o.test.unwrap_or(DEFAULT_TEST),
            seed: o.seed,
            draws: DEFAULT_DRAWS,
            image_size: DEFAULT_IMAGE_SIZE,
            rotation: "uniform random angle in [0, 2π), bilinear at 28×28, train and test; then area-downsampled",
            curve: curve_sizes(train, 10),
            diag_reg: 1e-4,
            models: vec![
                ModelSpec::new("cnn", cnn_classifier()),
                ModelSpec::new("c4_gcnn", gcnn_classifier("c4")),
                ModelSpec::new("d4_gcnn", gcnn_classifier("d4")),
            ],
        }
    }

    /// Runs the comparison.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        check_memory(
            run_bytes(self.train + self.test, self.train + self.test, 28 * 28),
            &format!("rotmnist --train {} --test {}", self.train, self.test),
        )?;
        let digits = embedded_mnist_sample()?;
        let split = rotated_mnist(
            &digits,
            &RotatedMnistConfig {
                n_train: self.train,
                n_test: self.test,
                train_rotation: RotationMode::Continuous,
                test_rotation: RotationMode::Continuous,
                seed: self.seed,
            },
        )?;
        let pool = resize_labelled(&concat(&split.train, &split.test)?, self.image_size)?;
        let mut report =
            ExperimentReport::new("rotmnist", self.train, self.test, self.seed, json!(self));
        Classification {
            pool: Pool {
                images: &pool,
                train_candidates: pool.len(),
                shared: true,
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
                "Embedded MNIST sample: a pool of {p} digits, each rotated by a uniform random angle (bilinear, 28×28), then area-downsampled to {s}×{s} to fit the time budget (a C4 kernel pair costs ≈90 ms at 28×28, ≈0.3 ms at 10×10 on 2 cores).",
                p = self.train + self.test,
                s = self.image_size
            ),
        );
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}
