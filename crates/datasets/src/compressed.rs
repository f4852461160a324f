//! Opening files and byte buffers that may be gzip-compressed.
//!
//! Every reader in the crate accepts plain and `.gz` input alike: gzip is recognised by its
//! magic bytes `1f 8b`, not by the file name.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use crate::DatasetError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True when `bytes` starts with the gzip magic number.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Decompresses `bytes` if they are gzip data, otherwise returns them unchanged.
pub(crate) fn gunzip_if_needed(bytes: Vec<u8>, source_name: &str) -> Result<Vec<u8>, DatasetError> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            DatasetError::parse(
                source_name,
                None,
                format!("invalid or truncated gzip data: {e}"),
            )
        })?;
    Ok(out)
}

/// Reads a whole file, decompressing it when it is gzip data.
pub(crate) fn read_file_maybe_gzip(path: &Path) -> Result<Vec<u8>, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    gunzip_if_needed(bytes, &path.display().to_string())
}

/// Opens a file for streaming, transparently decompressing gzip data.
pub(crate) fn open_maybe_gzip(path: &Path) -> Result<Box<dyn Read>, DatasetError> {
    let mut file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut magic = [0u8; 2];
    let mut filled = 0;
    while filled < 2 {
        match file
            .read(&mut magic[filled..])
            .map_err(|e| DatasetError::io(path, e))?
        {
            0 => break,
            n => filled += n,
        }
    }
    let head = std::io::Cursor::new(magic[..filled].to_vec());
    let stream = head.chain(BufReader::new(file));
    if filled == 2 && magic == GZIP_MAGIC {
        Ok(Box::new(BufReader::new(GzDecoder::new(stream))))
    } else {
        Ok(Box::new(stream))
    }
}
