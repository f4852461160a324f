//! Label encodings: class indices to `(N, K)` target matrices (docs/spec.md#input-arrays).

use ndarray::{Array2, ArrayView2};

use crate::DatasetError;

/// One-hot targets: `Y[i, k] = 1` if `labels[i] == k`, else 0; shape `(N, K)`.
///
/// Errors when `num_classes` is 0 or a label is `≥ num_classes`.
pub fn one_hot(labels: &[usize], num_classes: usize) -> Result<Array2<f64>, DatasetError> {
    DatasetError::at_least_one("number of classes", num_classes)?;
    let mut out = Array2::zeros((labels.len(), num_classes));
    for (i, &label) in labels.iter().enumerate() {
        if label >= num_classes {
            return Err(DatasetError::invalid(
                "label",
                format!("label {label} at position {i} is not below the number of classes {num_classes}"),
            ));
        }
        out[(i, label)] = 1.0;
    }
    Ok(out)
}

/// Centred one-hot targets (docs/theory.md#histology): one-hot minus `1/K`, so every row sums to 0;
/// the true class gets `1 − 1/K`, the others `−1/K`. Shape `(N, K)`.
pub fn centred_one_hot(labels: &[usize], num_classes: usize) -> Result<Array2<f64>, DatasetError> {
    let shift = 1.0 / num_classes.max(1) as f64;
    Ok(one_hot(labels, num_classes)? - shift)
}

/// The predicted class of each row of a score matrix `(N, K)`: the index of its largest entry
/// (the first one on ties; NaN entries never win).
pub fn argmax_rows(scores: ArrayView2<'_, f64>) -> Vec<usize> {
    scores
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (k, &v) in row.iter().enumerate() {
                if v > row[best] || row[best].is_nan() {
                    best = k;
                }
            }
            best
        })
        .collect()
}

/// The fraction of positions `n < truth.len()` with `predicted[n] == truth[n]` (0 for empty
/// `truth`; missing predictions count as wrong).
pub fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let hits = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    hits as f64 / truth.len() as f64
}
