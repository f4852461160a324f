//! The embedded rotated-MNIST sample (entk-datasets), sampled as `entk experiment rotmnist`
//! samples its candidate digits (the experiment then divides them into independent draws and
//! re-splits each draw, which this helper does not do).

use numpy::{PyArray1, PyArray4, ToPyArray};
use pyo3::prelude::*;

use entk_cli::experiments::common::resize_labelled;
use entk_datasets::mnist::{embedded_mnist_sample, rotated_mnist as draw, RotatedMnistConfig};
use entk_datasets::RotationMode;

use crate::convert::value_error;

type Split<'py> = (
    Bound<'py, PyArray4<f64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray4<f64>>,
    Bound<'py, PyArray1<i64>>,
);

/// rotated_mnist(n_train=200, n_test=500, *, seed=0, image_size=10, rotation="continuous")
/// --
///
/// Rotated MNIST from the embedded 2,000-digit MNIST sample (CC BY-SA 3.0): disjoint seeded
/// train/test draws, each digit rotated about its centre (`rotation`: "continuous" = uniform
/// angle with bilinear resampling at 28×28, "quarter_turns" = exact multiples of 90°, "none"),
/// then area-downsampled to image_size×image_size (28 keeps the original size). This is the
/// sampling `entk experiment rotmnist` uses for its candidates: with n_train = draws·train,
/// n_test = draws·test (6·200 and 6·100 by default) and the experiment's seed it returns the
/// digits that experiment loads, before the experiment cuts them into its independent draws
/// and re-splits each draw's digits at random; no single call is one of its draws' train/test
/// split. Returns (x_train, y_train, x_test, y_test): images
/// (N, S, S, 1) float64 in [0, 1] and int64 labels 0–9.
#[pyfunction]
#[pyo3(signature = (n_train=200, n_test=500, *, seed=0, image_size=10, rotation="continuous"))]
pub fn rotated_mnist<'py>(
    py: Python<'py>,
    n_train: usize,
    n_test: usize,
    seed: u64,
    image_size: usize,
    rotation: &str,
) -> PyResult<Split<'py>> {
    let mode = match rotation {
        "continuous" => RotationMode::Continuous,
        "quarter_turns" => RotationMode::QuarterTurns,
        "none" => RotationMode::None,
        other => {
            return Err(value_error(format!(
                "unknown rotation `{other}` (continuous, quarter_turns, none)"
            )))
        }
    };
    if !(1..=28).contains(&image_size) {
        return Err(value_error(format!(
            "image_size must lie in 1..=28, got {image_size}"
        )));
    }
    let (train, test) = py
        .detach(|| -> Result<_, String> {
            let digits = embedded_mnist_sample().map_err(|e| e.to_string())?;
            let split = draw(
                &digits,
                &RotatedMnistConfig {
                    n_train,
                    n_test,
                    train_rotation: mode,
                    test_rotation: mode,
                    seed,
                },
            )
            .map_err(|e| e.to_string())?;
            let train =
                resize_labelled(&split.train.images, image_size).map_err(|e| e.to_string())?;
            let test =
                resize_labelled(&split.test.images, image_size).map_err(|e| e.to_string())?;
            Ok((train, test))
        })
        .map_err(value_error)?;
    let labels = |l: &[usize]| -> Vec<i64> { l.iter().map(|&v| v as i64).collect() };
    Ok((
        train.images().to_pyarray(py),
        PyArray1::from_vec(py, labels(train.labels())),
        test.images().to_pyarray(py),
        PyArray1::from_vec(py, labels(test.labels())),
    ))
}
