//! `entk experiment rotmnist`: C4- and D4-GCNN NTKs against the CNN NTK on rotated MNIST.
//!
//! Data: the embedded 2,000-digit MNIST sample; independent draws of disjoint digits (each draw
//! its own `train` + `test` digits, no digit in two draws), every digit
//! (train and test) rotated about its centre by a uniform random angle in `[0, 2π)` with
//! bilinear resampling at 28×28 (the rotated-MNIST protocol: no orientation is privileged in
//! either set), then area-downsampled to `image_size × image_size` (default 10). Why 10×10: on
//! this 2-core machine one C4 kernel pair of the docs/theory.md#histology architecture costs ≈90 ms at 28×28,
//! ≈3 ms at 14×14 and ≈0.3 ms at 10×10 (CNN ≈0.08 ms, D4 ≈0.6 ms), and the default run (6 draws,
//! each one Gram matrix over its 200 + 100 digits: 6 × 45,150) needs 270,900 pairs per model. Protocol and architectures: docs/theory.md#histology.

use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use entk_datasets::mnist::{embedded_mnist_sample, rotated_mnist, RotatedMnistConfig};
use entk_datasets::RotationMode;

use super::classification::{Candidates, ImageClassification};
use super::{ExperimentError, ExperimentOptions};
use crate::report::ExperimentReport;

/// Default training digits.
pub const DEFAULT_TRAIN: usize = 200;
/// Default test digits (per draw).
pub const DEFAULT_TEST: usize = 100;
/// Default image side after downsampling.
pub const DEFAULT_IMAGE_SIZE: usize = 10;

/// Settings of the rotated-MNIST comparison (serialised into the report).
#[derive(Debug, Clone, Serialize)]
pub struct RotmnistConfig {
    /// The settings of every image-classification experiment.
    #[serde(flatten)]
    pub run: ImageClassification,
    /// How train and test digits are rotated.
    pub rotation: &'static str,
}

impl RotmnistConfig {
    /// The settings for command-line options.
    pub fn from_options(o: &ExperimentOptions) -> Self {
        RotmnistConfig {
            run: ImageClassification::from_options(
                o,
                (DEFAULT_TRAIN, DEFAULT_TEST),
                DEFAULT_IMAGE_SIZE,
                10,
                &["c4", "d4"],
            ),
            rotation: "uniform random angle in [0, 2π), bilinear at 28×28, train and test; then area-downsampled",
        }
    }

    /// Runs the comparison.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        let (train, test) = self.run.candidates();
        self.run.check_memory("rotmnist", 28 * 28)?;
        let digits = embedded_mnist_sample()?;
        if train + test > digits.len() {
            return Err(ExperimentError::Usage(format!(
                "{} independent draws of {} training + {} test digits need {} distinct digits, but the embedded sample has only {}",
                self.run.draws,
                self.run.train,
                self.run.test,
                train + test,
                digits.len()
            )));
        }
        let split = rotated_mnist(
            &digits,
            &RotatedMnistConfig {
                n_train: train,
                n_test: test,
                train_rotation: RotationMode::Continuous,
                test_rotation: RotationMode::Continuous,
                seed: self.run.seed,
            },
        )?;
        let note = format!(
            "Embedded MNIST sample: {p} distinct random digits ({d} draws of {n} training and {m} test digits), each rotated by its own uniform random angle (bilinear, 28×28), then area-downsampled to {s}×{s} to fit the time budget (a C4 kernel pair costs ≈90 ms at 28×28, ≈0.3 ms at 10×10 on 2 cores).",
            p = train + test,
            d = self.run.draws,
            n = self.run.train,
            m = self.run.test,
            s = self.run.image_size
        );
        self.run.run(
            ("rotmnist", json!(self)),
            Candidates {
                train: &split.train.images,
                test: &split.test.images,
                shared: true,
                note,
            },
            threads,
            start,
        )
    }
}
