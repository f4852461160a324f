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

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::compressed::{self, is_gzip};
use crate::npy::MAX_DECODED_BYTES;
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
///
/// Sizes are checked before anything is allocated: plain data against the bytes present, gzip
/// data against [`crate::npy::MAX_DECODED_BYTES`] of `f64` output (the images become `f64`),
/// and gzip data is never decompressed past the size its header declares.
pub fn parse_idx(bytes: &[u8], source_name: &str) -> Result<IdxArray, DatasetError> {
    if is_gzip(bytes) {
        parse_idx_stream(GzDecoder::new(bytes), None, source_name)
    } else {
        parse_idx_stream(bytes, Some(bytes.len() as u64), source_name)
    }
}

/// Reads up to `buf.len()` bytes; returns how many there were.
fn read_up_to<R: Read>(
    reader: &mut R,
    buf: &mut [u8],
    source_name: &str,
) -> Result<usize, DatasetError> {
    compressed::read_up_to(reader, buf).map_err(|e| {
        DatasetError::parse(
            source_name,
            None,
            format!("invalid or truncated gzip data: {e}"),
        )
    })
}

/// `real_len`: the length of plain data; `None` for decompressed data, whose size is only
/// declared by the header.
fn parse_idx_stream<R: Read>(
    mut reader: R,
    real_len: Option<u64>,
    source_name: &str,
) -> Result<IdxArray, DatasetError> {
    let error = |reason: String| DatasetError::parse(source_name, None, reason);
    let truncated = |expected: u64, found: u64| DatasetError::Truncated {
        source_name: source_name.to_string(),
        expected,
        found,
    };
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic, source_name)?;
    if got < 4 {
        return Err(error(format!("{got} bytes is too short for an IDX header")));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return Err(error(format!(
            "bad IDX magic number {:02x}{:02x}{:02x}{:02x} (expected 000008dd)",
            magic[0], magic[1], magic[2], magic[3]
        )));
    }
    if magic[2] != IDX_UNSIGNED_BYTE {
        return Err(error(format!(
            "IDX data type 0x{:02x} is not supported; only unsigned bytes (0x08) are",
            magic[2]
        )));
    }
    let ndim = magic[3] as usize;
    if ndim == 0 {
        return Err(error("IDX header declares 0 dimensions".into()));
    }
    let header_len = 4 + 4 * ndim;
    let mut sizes = vec![0u8; 4 * ndim];
    let got = read_up_to(&mut reader, &mut sizes, source_name)?;
    if got < sizes.len() {
        return Err(DatasetError::Truncated {
            source_name: source_name.to_string(),
            expected: header_len as u64,
            found: (4 + got) as u64,
        });
    }
    let dims: Vec<usize> = sizes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    // ndarray needs the product of the non-zero axes to fit in isize, even for empty arrays.
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|_| {
            dims.iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
                .is_some_and(|n| n <= isize::MAX as usize)
        })
        .ok_or_else(|| error(format!("IDX shape {dims:?} overflows")))?;
    match real_len {
        Some(total) => {
            let found = total - header_len as u64;
            if found < expected as u64 {
                return Err(truncated(expected as u64, found));
            }
            if found > expected as u64 {
                return Err(error(format!(
                    "{} bytes after the {expected} data bytes of shape {dims:?}",
                    found - expected as u64
                )));
            }
        }
        None => {
            let as_f64 = expected as u64 * 8;
            if as_f64 > MAX_DECODED_BYTES {
                return Err(error(format!(
                    "IDX shape {dims:?} would take {as_f64} bytes as f64, more than the \
                     {MAX_DECODED_BYTES}-byte limit for compressed data; refusing to decompress it"
                )));
            }
        }
    }
    // Decompressed data is reserved as it arrives; plain data is known to be there.
    let reserve = if real_len.is_some() {
        expected
    } else {
        expected.min(1 << 24)
    };
    let mut data = Vec::with_capacity(reserve);
    (&mut reader)
        .take(expected as u64)
        .read_to_end(&mut data)
        .map_err(|e| error(format!("invalid or truncated gzip data: {e}")))?;
    if data.len() < expected {
        return Err(truncated(expected as u64, data.len() as u64));
    }
    let mut probe = [0u8; 1];
    if read_up_to(&mut reader, &mut probe, source_name)? > 0 {
        return Err(error(format!(
            "data continues after the {expected} data bytes of shape {dims:?}"
        )));
    }
    Ok(IdxArray { dims, data })
}

/// Reads an IDX file (plain or `.gz`).
pub fn read_idx_file(path: &Path) -> Result<IdxArray, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    parse_idx(&bytes, &path.display().to_string())
}
