//! PNG plots of a report's [`Figure`]s with plotters' bitmap backend.
//!
//! No system libraries: text is rendered by plotters' `ab_glyph` feature from DejaVu Sans,
//! embedded in the binary (`crates/cli/assets/fonts/DejaVuSans.ttf`, taken from the matplotlib
//! 3.9.2 wheel; Bitstream Vera / DejaVu licence in `LICENSE_DEJAVU` beside it). Logarithmic axes
//! are drawn as linear axes over `log10` values with tick labels converted back, which keeps one
//! code path for all four axis combinations.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{ensure_parent, partial_path, sig, ExperimentReport, Figure, Legend, ReportWriter};
use crate::CliError;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE_DEJAVU`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a fixed, valid TrueType file; failure would be a build defect.
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            eprintln!("warning: the embedded font could not be loaded; plots will lack text");
        }
    });
}

/// Draws every [`Figure`] of a report side by side into one PNG (`panel_width × panel_height`
/// pixels per panel).
#[derive(Debug, Clone, Copy)]
pub struct PngWriter {
    /// Width of one panel in pixels.
    pub panel_width: u32,
    /// Height in pixels.
    pub panel_height: u32,
}

impl Default for PngWriter {
    fn default() -> Self {
        PngWriter {
            panel_width: 640,
            panel_height: 480,
        }
    }
}

impl ReportWriter for PngWriter {
    fn extension(&self) -> &'static str {
        "png"
    }
    fn write(&self, report: &ExperimentReport, path: &Path) -> Result<(), CliError> {
        ensure_parent(path)?;
        let tmp = partial_path(&path.with_extension("png"));
        draw(report, &tmp, self.panel_width, self.panel_height).map_err(|e| {
            CliError::Usage(format!("{}: cannot draw the plot: {e}", path.display()))
        })?;
        std::fs::rename(&tmp, path).map_err(|e| CliError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }
}

fn draw(report: &ExperimentReport, path: &Path, w: u32, h: u32) -> Result<(), String> {
    register_font();
    let n = report.figures.len().max(1);
    let root = BitMapBackend::new(path, (w * n as u32, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    if report.figures.is_empty() {
        root.draw(&Text::new(
            format!("{}: nothing to plot", report.experiment),
            (20, 20),
            (FAMILY, 18).into_font(),
        ))
        .map_err(|e| e.to_string())?;
    } else {
        let panels = root.split_evenly((1, n));
        for (fig, area) in report.figures.iter().zip(panels.iter()) {
            draw_panel(area, fig)?;
        }
    }
    root.present().map_err(|e| e.to_string())
}

fn transform(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        0.06 * (hi - lo)
    } else {
        0.5 * lo.abs().max(1e-3)
    };
    (lo - pad, hi + pad)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let xs = fig
        .series
        .iter()
        .flat_map(|s| s.x.iter().filter_map(|&v| transform(v, fig.x_log)));
    let ys = fig.series.iter().flat_map(|s| {
        s.y.iter()
            .chain(s.lo.iter().flatten())
            .chain(s.hi.iter().flatten())
            .filter_map(|&v| transform(v, fig.y_log))
    });
    let (x0, x1) = range(xs);
    let (y0, y1) = range(ys);
    let mut chart = ChartBuilder::on(area)
        .caption(&fig.title, (FAMILY, 17).into_font())
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let (xl, yl) = (fig.x_log, fig.y_log);
    let fmt = move |v: &f64, log: bool| {
        if log {
            sig(10f64.powf(*v), 2)
        } else {
            sig(*v, 3)
        }
    };
    chart
        .configure_mesh()
        .x_desc(if xl {
            format!("{} (log)", fig.x_label)
        } else {
            fig.x_label.clone()
        })
        .y_desc(if yl {
            format!("{} (log)", fig.y_label)
        } else {
            fig.y_label.clone()
        })
        .x_label_formatter(&|v| fmt(v, xl))
        .y_label_formatter(&|v| fmt(v, yl))
        .label_style((FAMILY, 13).into_font())
        .axis_desc_style((FAMILY, 14).into_font())
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let mut colour_index = 0;
    for s in &fig.series {
        let points: Vec<(f64, f64)> =
            s.x.iter()
                .zip(&s.y)
                .filter_map(|(&x, &y)| Some((transform(x, xl)?, transform(y, yl)?)))
                .collect();
        let colour = if s.reference {
            RGBColor(110, 110, 110).to_rgba()
        } else {
            colour_index += 1;
            Palette99::pick(colour_index - 1).to_rgba()
        };
        let stroke = colour.stroke_width(if s.reference { 1 } else { 2 });
        let anno = chart
            .draw_series(LineSeries::new(points.clone(), stroke))
            .map_err(err)?;
        anno.label(&s.name).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
        });
        if !s.reference {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(err)?;
        }
        if let (Some(lo), Some(hi)) = (&s.lo, &s.hi) {
            let bars: Vec<(f64, f64, f64)> =
                s.x.iter()
                    .zip(lo.iter().zip(hi))
                    .filter_map(|(&x, (&l, &h))| {
                        Some((transform(x, xl)?, transform(l, yl)?, transform(h, yl)?))
                    })
                    .collect();
            let cap = 0.01 * (x1 - x0);
            for (x, l, h) in bars {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, l), (x, h)],
                        colour.stroke_width(1),
                    )))
                    .map_err(err)?;
                for e in [l, h] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(x - cap, e), (x + cap, e)],
                            colour.stroke_width(1),
                        )))
                        .map_err(err)?;
                }
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FAMILY, 13).into_font())
        .position(match fig.legend {
            Legend::UpperRight => SeriesLabelPosition::UpperRight,
            Legend::LowerRight => SeriesLabelPosition::LowerRight,
            Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
            Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
        })
        .draw()
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn png_has_the_signature_and_the_panel_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        PngWriter::default().write(&sample_report(), &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((width, height), (1280, 480));
        assert!(!dir.path().join("plot.partial.png").exists());
    }

    #[test]
    fn a_report_without_figures_still_gives_an_image() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.png");
        let mut r = sample_report();
        r.figures.clear();
        PngWriter::default().write(&r, &path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 100);
    }
}
