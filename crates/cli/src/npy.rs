//! Reading and writing the `.npy` arrays of docs/spec.md#input-arrays: f64 (f32 accepted
//! on input; integer and bool dtypes too for labels), with one-line errors that name the file
//! and the problem.

use std::fs::File;
use std::path::Path;

use entk_datasets::npy::{read_npy_file, Accept, NpyFileError};
use ndarray::{Array2, ArrayD};
use ndarray_npy::WriteNpyExt;

use crate::tiles::store::{partial_path, write_durably};
use crate::CliError;

/// Reads an `.npy` file of f64 or f32 values (either byte order, C or Fortran order) as an
/// f64 array of any dimension. The header is checked against the file's length before
/// anything is allocated (`entk_datasets::npy`), and every error is one line.
pub fn read_array(path: &Path) -> Result<ArrayD<f64>, CliError> {
    read_accepting(path, Accept::Floats)
}

fn read_accepting(path: &Path, accept: Accept) -> Result<ArrayD<f64>, CliError> {
    read_npy_file(path, accept).map_err(|e| match e {
        NpyFileError::Io(source) => CliError::io(path)(source),
        NpyFileError::Npy(e) => CliError::npy(path)(e.to_string()),
    })
}

/// Reads an `.npy` file that must have `ndim` dimensions.
pub fn read_array_ndim(path: &Path, ndim: usize, what: &str) -> Result<ArrayD<f64>, CliError> {
    read_array_ranks(path, &[ndim], what, &format!("{ndim} dimensions"))
}

/// Reads an `.npy` file of finite values whose number of dimensions is one of `ranks`;
/// `expected` says which in the error (e.g. "4 dimensions (N, H, W, C)").
pub fn read_array_ranks(
    path: &Path,
    ranks: &[usize],
    what: &str,
    expected: &str,
) -> Result<ArrayD<f64>, CliError> {
    let a = read_array(path)?;
    if !ranks.contains(&a.ndim()) {
        let shape = a.shape();
        let why = format!("{what} must have {expected}, got shape {shape:?}");
        return Err(CliError::npy(path)(why));
    }
    all_finite(a, path, |i| {
        format!("{what} contains a non-finite value (NaN or Inf) at flat index {i}")
    })
}

/// Reads labels `(N, K)`; a 1-D `(N,)` array is accepted as `(N, 1)`. Besides f64 and f32,
/// integer and bool dtypes are accepted (class indices, ±1 labels) and converted exactly;
/// an integer beyond ±2⁵³, which f64 cannot hold, is an error.
pub fn read_labels(path: &Path) -> Result<Array2<f64>, CliError> {
    let a = read_accepting(path, Accept::FloatsOrIntegers)?;
    let a = match a.ndim() {
        1 => {
            let n = a.len();
            a.into_shape_with_order((n, 1)).expect("same length")
        }
        2 => a.into_dimensionality().expect("two dimensions"),
        _ => {
            let why = format!("labels must have shape (N, K) or (N,), got {:?}", a.shape());
            return Err(CliError::npy(path)(why));
        }
    };
    all_finite(a, path, |i| {
        format!("labels contain a non-finite value at flat index {i}")
    })
}

/// `a` when every value is finite; else the error of `path` that `says` words for the flat
/// index of the first NaN or infinity.
fn all_finite<D: ndarray::Dimension>(
    a: ndarray::Array<f64, D>,
    path: &Path,
    says: impl Fn(usize) -> String,
) -> Result<ndarray::Array<f64, D>, CliError> {
    match a.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(CliError::npy(path)(says(i))),
        None => Ok(a),
    }
}

/// Reads the element counts of padded sets (`deep_set` inputs): a 1-D array `(N,)` of
/// non-negative integers, integer or float dtype (floats must hold whole numbers). `what` names
/// the sets (`x1`, `train`, ...) in errors.
pub fn read_counts(path: &Path, what: &str) -> Result<Vec<usize>, CliError> {
    let a = read_accepting(path, Accept::FloatsOrIntegers)?;
    let bad = CliError::npy(path);
    if a.ndim() != 1 {
        return Err(bad(format!(
            "{what} counts must be a 1-D array (N,) with one count per set, got shape {:?}",
            a.shape()
        )));
    }
    a.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 {
                Ok(v as usize)
            } else {
                Err(bad(format!(
                    "{what} counts must be non-negative integers (the real elements of each set), \
                     but entry {i} is {v}"
                )))
            }
        })
        .collect()
}

/// Writes an f64 array atomically (temporary file, then rename).
pub fn write_array<D: ndarray::Dimension>(
    path: &Path,
    a: &ndarray::Array<f64, D>,
) -> Result<(), CliError> {
    let tmp = partial_path(path);
    let file = File::create(&tmp).map_err(CliError::io(&tmp))?;
    a.write_npy(std::io::BufWriter::new(file))
        .map_err(|e| CliError::npy(&tmp)(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(CliError::io(path))
}

/// Writes a text file atomically and durably: to `NAME.partial`, fsynced, renamed, and the
/// folder fsynced (a crash leaves the old file or the whole new one, never an empty one).
pub fn write_text(path: &Path, text: &str) -> Result<(), CliError> {
    write_durably(path, text.as_bytes())
}
