//! Opening files and byte buffers that may be gzip-compressed.
//!
//! Every reader in the crate accepts plain and `.gz` input alike: gzip is recognised by its
//! magic bytes `1f 8b`, not by the file name.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use crate::npy::MAX_DECODED_BYTES;
use crate::DatasetError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True when `bytes` starts with the gzip magic number.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Decompresses `bytes` if they are gzip data (at most [`MAX_DECODED_BYTES`]), otherwise
/// returns them unchanged.
pub(crate) fn gunzip_if_needed(bytes: Vec<u8>, source_name: &str) -> Result<Vec<u8>, DatasetError> {
    gunzip_limited(bytes, MAX_DECODED_BYTES, source_name)
}

/// Decompresses `bytes` if they are gzip data, refusing output beyond `limit` bytes.
fn gunzip_limited(bytes: Vec<u8>, limit: u64, source_name: &str) -> Result<Vec<u8>, DatasetError> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    GzDecoder::new(bytes.as_slice())
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| {
            DatasetError::parse(
                source_name,
                None,
                format!("invalid or truncated gzip data: {e}"),
            )
        })?;
    if out.len() as u64 > limit {
        return Err(DatasetError::parse(
            source_name,
            None,
            format!("gzip data decompresses to more than {limit} bytes; refusing it"),
        ));
    }
    Ok(out)
}

/// Reads a whole file, decompressing it when it is gzip data; decompressed data may not
/// exceed `limit` bytes.
pub(crate) fn read_file_maybe_gzip(path: &Path, limit: u64) -> Result<Vec<u8>, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    gunzip_limited(bytes, limit, &path.display().to_string())
}

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
pub(crate) fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A reader that fails once more than `limit` bytes have come out of it.
pub(crate) struct LimitedReader<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> LimitedReader<R> {
    /// Wraps `inner`, allowing at most `limit` bytes.
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Ask for one byte beyond the limit, to tell "exactly at the limit" from "beyond".
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let take = buf.len().min(room);
        let n = self.inner.read(&mut buf[..take])?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "decompressed data exceeds the {}-byte limit",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Opens a file for streaming, transparently decompressing gzip data (at most
/// [`MAX_DECODED_BYTES`]).
pub(crate) fn open_maybe_gzip(path: &Path) -> Result<Box<dyn Read>, DatasetError> {
    let mut file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut magic = [0u8; 2];
    let filled = read_up_to(&mut file, &mut magic).map_err(|e| DatasetError::io(path, e))?;
    let head = std::io::Cursor::new(magic[..filled].to_vec());
    let stream = head.chain(BufReader::new(file));
    if filled == 2 && magic == GZIP_MAGIC {
        Ok(Box::new(BufReader::new(LimitedReader::new(
            GzDecoder::new(stream),
            MAX_DECODED_BYTES,
        ))))
    } else {
        Ok(Box::new(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_reader_passes_the_limit_exactly_and_fails_beyond_it() {
        let data = vec![7u8; 1000];
        let mut out = Vec::new();
        LimitedReader::new(data.as_slice(), 1000)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let error = LimitedReader::new(data.as_slice(), 999)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(error.to_string().contains("999-byte limit"), "{error}");
    }

    #[test]
    fn gzip_beyond_the_limit_is_refused() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[0u8; 10_000]).unwrap();
        let gz = encoder.finish().unwrap();
        assert_eq!(
            gunzip_limited(gz.clone(), 10_000, "a").unwrap().len(),
            10_000
        );
        let error = gunzip_limited(gz, 9_999, "a.gz").unwrap_err().to_string();
        assert!(error.contains("more than 9999 bytes"), "{error}");
    }
}
