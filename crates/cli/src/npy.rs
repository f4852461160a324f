//! Reading and writing the `.npy` arrays of DESIGN.md ("Arrays on disk"): little-endian f64
//! (f32 accepted on input), with errors that name the file and the problem.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayD, IxDyn};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};

use crate::CliError;

/// Reads an `.npy` file of f64 or f32 values as an f64 array of any dimension.
pub fn read_array(path: &Path) -> Result<ArrayD<f64>, CliError> {
    let open = || -> Result<BufReader<File>, CliError> {
        File::open(path)
            .map(BufReader::new)
            .map_err(|e| CliError::Io {
                path: path.to_path_buf(),
                source: e,
            })
    };
    match ArrayD::<f64>::read_npy(open()?) {
        Ok(a) => Ok(a),
        Err(ReadNpyError::WrongDescriptor(_)) => match ArrayD::<f32>::read_npy(open()?) {
            Ok(a) => Ok(a.mapv(f64::from)),
            Err(ReadNpyError::WrongDescriptor(d)) => Err(CliError::Npy {
                path: path.to_path_buf(),
                reason: format!(
                    "unsupported dtype {d:?}; expected little-endian float64 or float32"
                ),
            }),
            Err(e) => Err(npy_error(path, e)),
        },
        Err(e) => Err(npy_error(path, e)),
    }
}

fn npy_error(path: &Path, e: ReadNpyError) -> CliError {
    let reason = match e {
        ReadNpyError::MissingData => {
            "the file is truncated (fewer values than its header says)".to_string()
        }
        ReadNpyError::ExtraBytes(n) => format!("{n} unexpected bytes after the data"),
        other => other.to_string(),
    };
    CliError::Npy {
        path: path.to_path_buf(),
        reason,
    }
}

/// Reads an `.npy` file that must have `ndim` dimensions.
pub fn read_array_ndim(path: &Path, ndim: usize, what: &str) -> Result<ArrayD<f64>, CliError> {
    let a = read_array(path)?;
    if a.ndim() != ndim {
        return Err(CliError::Npy {
            path: path.to_path_buf(),
            reason: format!(
                "{what} must have {ndim} dimensions, got shape {:?}",
                a.shape()
            ),
        });
    }
    if let Some(i) = a.iter().position(|v| !v.is_finite()) {
        return Err(CliError::Npy {
            path: path.to_path_buf(),
            reason: format!("{what} contains a non-finite value (NaN or Inf) at flat index {i}"),
        });
    }
    Ok(a)
}

/// Reads labels `(N, K)`; a 1-D `(N,)` array is accepted as `(N, 1)`.
pub fn read_labels(path: &Path) -> Result<Array2<f64>, CliError> {
    let a = read_array(path)?;
    let a = match a.ndim() {
        1 => {
            let n = a.len();
            a.into_shape_with_order(IxDyn(&[n, 1]))
                .expect("same length")
        }
        2 => a,
        _ => {
            return Err(CliError::Npy {
                path: path.to_path_buf(),
                reason: format!("labels must have shape (N, K) or (N,), got {:?}", a.shape()),
            })
        }
    };
    if let Some(i) = a.iter().position(|v| !v.is_finite()) {
        return Err(CliError::Npy {
            path: path.to_path_buf(),
            reason: format!("labels contain a non-finite value at flat index {i}"),
        });
    }
    Ok(a.into_dimensionality().expect("two dimensions"))
}

/// Writes an f64 array atomically (temporary file, then rename).
pub fn write_array<D: ndarray::Dimension>(
    path: &Path,
    a: &ndarray::Array<f64, D>,
) -> Result<(), CliError> {
    let tmp = temporary_path(path);
    let file = File::create(&tmp).map_err(|e| CliError::Io {
        path: tmp.clone(),
        source: e,
    })?;
    a.write_npy(std::io::BufWriter::new(file))
        .map_err(|e| CliError::Npy {
            path: tmp.clone(),
            reason: e.to_string(),
        })?;
    std::fs::rename(&tmp, path).map_err(|e| CliError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Writes a text file atomically.
pub fn write_text(path: &Path, text: &str) -> Result<(), CliError> {
    let tmp = temporary_path(path);
    std::fs::write(&tmp, text).map_err(|e| CliError::Io {
        path: tmp.clone(),
        source: e,
    })?;
    std::fs::rename(&tmp, path).map_err(|e| CliError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}
