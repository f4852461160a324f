//! Decoding one TIFF tile to an RGB `f64` image.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use ndarray::Array3;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::ColorType;

use crate::DatasetError;

/// The most pixels one TIFF image may have: 2²² (2048×2048; NCT-CRC-HE-100K tiles are
/// 224×224). Larger or hostile images are refused before the decoder allocates: its buffer is
/// limited to this many 16-bit RGBA pixels (32 MiB), the `f64` output to 96 MiB.
pub const TIFF_MAX_PIXELS: usize = 1 << 22;
const TIFF_MAX_DECODED_BYTES: usize = TIFF_MAX_PIXELS * 4 * 2;

/// Reads the first image of a TIFF file as `(H, W, 3)` RGB in `[0, 1]`. Accepts 8- and 16-bit
/// RGB, RGBA (alpha dropped) and grayscale (copied to the three channels), up to
/// [`TIFF_MAX_PIXELS`] pixels.
pub fn read_tiff_rgb(path: &Path) -> Result<Array3<f64>, DatasetError> {
    let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    decode_tiff_rgb(BufReader::new(file), path)
}

/// [`read_tiff_rgb`] from any seekable reader; `path` names the source in errors.
pub fn decode_tiff_rgb<R: Read + Seek>(
    reader: R,
    path: &Path,
) -> Result<Array3<f64>, DatasetError> {
    let tiff_error = |source| DatasetError::tiff(path, source);
    let parse_error =
        |reason: String| DatasetError::parse(path.display().to_string(), None, reason);
    let mut limits = Limits::default();
    limits.decoding_buffer_size = TIFF_MAX_DECODED_BYTES;
    limits.intermediate_buffer_size = TIFF_MAX_DECODED_BYTES;
    let mut decoder = Decoder::new(reader)
        .map_err(tiff_error)?
        .with_limits(limits);
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    let colour = decoder.colortype().map_err(tiff_error)?;
    let samples = match colour {
        ColorType::RGB(8 | 16) => 3,
        ColorType::RGBA(8 | 16) => 4,
        ColorType::Gray(8 | 16) => 1,
        other => {
            return Err(parse_error(format!(
                "unsupported TIFF colour type {other:?}; expected 8- or 16-bit RGB, RGBA or gray"
            )))
        }
    };
    let (h, w) = (height as usize, width as usize);
    let pixels = h
        .checked_mul(w)
        .filter(|&n| n <= TIFF_MAX_PIXELS)
        .ok_or_else(|| {
            parse_error(format!(
                "a {width}×{height} image has more than the {TIFF_MAX_PIXELS} pixels allowed"
            ))
        })?;
    let expected = pixels * samples;
    let decoded = decoder.read_image().map_err(tiff_error)?;
    let (found, value): (usize, Box<dyn Fn(usize) -> f64 + '_>) = match &decoded {
        DecodingResult::U8(v) => (v.len(), Box::new(|i| f64::from(v[i]) / 255.0)),
        DecodingResult::U16(v) => (v.len(), Box::new(|i| f64::from(v[i]) / 65535.0)),
        _ => {
            return Err(parse_error(
                "unsupported TIFF sample format; expected unsigned 8- or 16-bit integers".into(),
            ))
        }
    };
    if found != expected {
        return Err(DatasetError::Truncated {
            source_name: path.display().to_string(),
            expected: expected as u64,
            found: found as u64,
        });
    }
    Ok(Array3::from_shape_fn((h, w, 3), |(i, j, c)| {
        let pixel = (i * w + j) * samples;
        value(pixel + if samples == 1 { 0 } else { c })
    }))
}
