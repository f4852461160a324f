//! Decoding one TIFF tile to an RGB `f64` image.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ndarray::Array3;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::ColorType;

use crate::DatasetError;

/// Reads the first image of a TIFF file as `(H, W, 3)` RGB in `[0, 1]`. Accepts 8- and 16-bit
/// RGB, RGBA (alpha dropped) and grayscale (copied to the three channels).
pub fn read_tiff_rgb(path: &Path) -> Result<Array3<f64>, DatasetError> {
    let tiff_error = |source| DatasetError::Tiff {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(tiff_error)?;
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    let colour = decoder.colortype().map_err(tiff_error)?;
    let samples = match colour {
        ColorType::RGB(8 | 16) => 3,
        ColorType::RGBA(8 | 16) => 4,
        ColorType::Gray(8 | 16) => 1,
        other => {
            return Err(DatasetError::parse(
                path.display().to_string(),
                None,
                format!(
                "unsupported TIFF colour type {other:?}; expected 8- or 16-bit RGB, RGBA or gray"
            ),
            ))
        }
    };
    let values: Vec<f64> = match decoder.read_image().map_err(tiff_error)? {
        DecodingResult::U8(v) => v.into_iter().map(|x| f64::from(x) / 255.0).collect(),
        DecodingResult::U16(v) => v.into_iter().map(|x| f64::from(x) / 65535.0).collect(),
        _ => {
            return Err(DatasetError::parse(
                path.display().to_string(),
                None,
                "unsupported TIFF sample format; expected unsigned 8- or 16-bit integers",
            ))
        }
    };
    let (h, w) = (height as usize, width as usize);
    if values.len() != h * w * samples {
        return Err(DatasetError::Truncated {
            source_name: path.display().to_string(),
            expected: (h * w * samples) as u64,
            found: values.len() as u64,
        });
    }
    Ok(Array3::from_shape_fn((h, w, 3), |(i, j, c)| {
        let pixel = (i * w + j) * samples;
        values[pixel + if samples == 1 { 0 } else { c }]
    }))
}
