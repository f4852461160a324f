//! The IDX format of the MNIST files (unsigned-byte data only).
//!
//! ```text
//! bytes 0-1   0x00 0x00
//! byte  2     data type: 0x08 = unsigned byte (the only type MNIST uses)
//! byte  3     number of dimensions d
//! 4·d bytes   dimension sizes, big-endian u32
//! rest        the data, row-major (last index fastest)
//! ```
//!
//! So MNIST images have magic `0x00000803` and shape `(N, 28, 28)`, labels `0x00000801` and
//! shape `(N,)`.

use std::path::Path;

use crate::compressed::{gunzip_if_needed, read_file_maybe_gzip};
use crate::DatasetError;

/// The IDX data-type code of unsigned bytes.
pub const IDX_UNSIGNED_BYTE: u8 = 0x08;

/// An IDX array of unsigned bytes: its shape and row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimension sizes, outermost first.
    pub dims: Vec<usize>,
    /// `dims.iter().product()` bytes, row-major.
    pub data: Vec<u8>,
}

/// Parses IDX bytes (plain or gzip-compressed). Errors on a bad magic number, a data type other
/// than unsigned byte, a truncated header or data, or trailing bytes.
pub fn parse_idx(bytes: &[u8], source_name: &str) -> Result<IdxArray, DatasetError> {
    let bytes = gunzip_if_needed(bytes.to_vec(), source_name)?;
    let error = |reason: String| DatasetError::parse(source_name, None, reason);
    if bytes.len() < 4 {
        return Err(error(format!(
            "{} bytes is too short for an IDX header",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(error(format!(
            "bad IDX magic number {:02x}{:02x}{:02x}{:02x} (expected 000008dd)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    if bytes[2] != IDX_UNSIGNED_BYTE {
        return Err(error(format!(
            "IDX data type 0x{:02x} is not supported; only unsigned bytes (0x08) are",
            bytes[2]
        )));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(error("IDX header declares 0 dimensions".into()));
    }
    let header_len = 4 + 4 * ndim;
    if bytes.len() < header_len {
        return Err(DatasetError::Truncated {
            source_name: source_name.to_string(),
            expected: header_len as u64,
            found: bytes.len() as u64,
        });
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| error(format!("IDX shape {dims:?} overflows")))?;
    let found = bytes.len() - header_len;
    if found < expected {
        return Err(DatasetError::Truncated {
            source_name: source_name.to_string(),
            expected: expected as u64,
            found: found as u64,
        });
    }
    if found > expected {
        return Err(error(format!(
            "{} bytes after the {expected} data bytes of shape {dims:?}",
            found - expected
        )));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// Reads an IDX file (plain or `.gz`).
pub fn read_idx_file(path: &Path) -> Result<IdxArray, DatasetError> {
    let bytes = read_file_maybe_gzip(path)?;
    parse_idx(&bytes, &path.display().to_string())
}
