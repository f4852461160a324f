//! Downscaling images by area averaging.

use ndarray::{Array3, ArrayView3};

use crate::DatasetError;

/// Resizes an `(H, W, C)` image to `(out_h, out_w, C)` by area averaging: each output pixel is
/// the mean of the input area it covers, input pixels split in proportion to overlap. For
/// integer factors (224 → 32 is 7×) this is the plain box average; upscaling repeats pixels.
pub fn resize_area(
    image: ArrayView3<'_, f64>,
    out_h: usize,
    out_w: usize,
) -> Result<Array3<f64>, DatasetError> {
    let (h, w, c) = image.dim();
    if out_h == 0 || out_w == 0 || h == 0 || w == 0 {
        return Err(DatasetError::invalid(
            "image size",
            format!("cannot resize ({h}, {w}) to ({out_h}, {out_w}); sizes must be positive"),
        ));
    }
    let row_weights = area_weights(h, out_h);
    let col_weights = area_weights(w, out_w);
    let mut rows_done = Array3::<f64>::zeros((out_h, w, c));
    for (oi, cell) in row_weights.iter().enumerate() {
        for &(i, weight) in cell {
            for j in 0..w {
                for ch in 0..c {
                    rows_done[(oi, j, ch)] += weight * image[(i, j, ch)];
                }
            }
        }
    }
    let mut out = Array3::<f64>::zeros((out_h, out_w, c));
    for oi in 0..out_h {
        for (oj, cell) in col_weights.iter().enumerate() {
            for &(j, weight) in cell {
                for ch in 0..c {
                    out[(oi, oj, ch)] += weight * rows_done[(oi, j, ch)];
                }
            }
        }
    }
    Ok(out)
}

/// For each output cell `o`, covering `[o·n_in/n_out, (o+1)·n_in/n_out)`, the input pixels it
/// overlaps and their weights (summing to 1).
fn area_weights(n_in: usize, n_out: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|o| {
            let (start, end) = (o as f64 * scale, (o + 1) as f64 * scale);
            ((start.floor() as usize)..(end.ceil() as usize).min(n_in))
                .map(|i| {
                    (
                        i,
                        (end.min(i as f64 + 1.0) - start.max(i as f64)).max(0.0) / scale,
                    )
                })
                .filter(|&(_, weight)| weight > 0.0)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn integer_factor_is_a_box_average() {
        let image =
            Array3::from_shape_fn((4, 6, 2), |(i, j, c)| (i * 6 + j) as f64 + 100.0 * c as f64);
        let small = resize_area(image.view(), 2, 3).unwrap();
        // top-left 2×2 block: 0, 1, 6, 7
        assert_eq!(small[(0, 0, 0)], 3.5);
        assert_eq!(small[(1, 2, 1)], 100.0 + (16.0 + 17.0 + 22.0 + 23.0) / 4.0);
    }

    #[test]
    fn non_integer_factors_preserve_the_mean_of_a_constant() {
        let image = Array3::from_elem((7, 5, 1), 0.25);
        let resized = resize_area(image.view(), 3, 4).unwrap();
        assert!(resized.iter().all(|v| (v - 0.25).abs() < 1e-15));
    }
}
