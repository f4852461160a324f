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

/// Reads labels `(N, K)` (float or integer); a 1-D `(N,)` array is accepted as `(N, 1)`.
pub fn read_labels(path: &Path) -> Result<Array2<f64>, CliError> {
    let a = match read_array(path) {
        Ok(a) => a,
        // Only a wrong (float) dtype falls back to the integer readers.
        Err(CliError::Npy { reason, .. }) if reason.contains("dtype") => read_integer_labels(path)
            .ok_or_else(|| CliError::Npy {
                path: path.to_path_buf(),
                reason,
            })?,
        Err(e) => return Err(e),
    };
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

/// Integer label arrays (`<i8`, `<i4`, `<i2`, `|i1`, `<u8`, `<u4`, `<u2`, `|u1`), as f64;
/// `None` when the file is not one (the caller reports its float error). Values beyond 2⁵³ are
/// refused rather than rounded.
fn read_integer_labels(path: &Path) -> Option<ArrayD<f64>> {
    fn read<T: ndarray_npy::ReadableElement + Copy + TryInto<i64> + TryInto<u64>>(
        path: &Path,
    ) -> Option<ArrayD<f64>> {
        let a = ArrayD::<T>::read_npy(BufReader::new(File::open(path).ok()?)).ok()?;
        let exact = |v: T| -> Option<f64> {
            let limit = 1u64 << 53;
            if let Ok(i) = TryInto::<i64>::try_into(v) {
                (i.unsigned_abs() <= limit).then_some(i as f64)
            } else {
                let u: u64 = v.try_into().ok()?;
                (u <= limit).then_some(u as f64)
            }
        };
        let values: Option<Vec<f64>> = a.iter().map(|&v| exact(v)).collect();
        ArrayD::from_shape_vec(a.raw_dim(), values?).ok()
    }
    read::<i64>(path)
        .or_else(|| read::<i32>(path))
        .or_else(|| read::<i16>(path))
        .or_else(|| read::<i8>(path))
        .or_else(|| read::<u64>(path))
        .or_else(|| read::<u32>(path))
        .or_else(|| read::<u16>(path))
        .or_else(|| read::<u8>(path))
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
