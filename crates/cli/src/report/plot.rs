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

use super::{ensure_parent, partial_path, ExperimentReport, Figure, Legend, ReportWriter};
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
        std::fs::rename(&tmp, path).map_err(CliError::io(path))
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
    let (xl, yl) = (fig.x_log, fig.y_log);
    let (xt, yt) = (ticks(x0, x1, xl), ticks(y0, y1, yl));
    let mut chart = ChartBuilder::on(area)
        .caption(&fig.title, (FAMILY, 17).into_font())
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(
            TickedAxis {
                lo: x0,
                hi: x1,
                ticks: xt,
            },
            TickedAxis {
                lo: y0,
                hi: y1,
                ticks: yt,
            },
        )
        .map_err(err)?;
    let percent = fig.y_percent;
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
        .x_label_formatter(&|v| tick_label(*v, xl, false))
        .y_label_formatter(&|v| tick_label(*v, yl, percent))
        .label_style((FAMILY, 13).into_font())
        .axis_desc_style((FAMILY, 14).into_font())
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(err)?;
    let mut colour_index = 0;
    for s in &fig.series {
        let points: Vec<(f64, f64)> =
            s.x.iter()
                .zip(&s.y)
                .filter_map(|(&x, &y)| Some((transform(x, xl)?, transform(y, yl)?)))
                .collect();
        // A dashed series takes the colour of the series before it (same model, other kernel).
        let colour = if s.reference {
            RGBColor(110, 110, 110).to_rgba()
        } else {
            if !s.dashed || colour_index == 0 {
                colour_index += 1;
            }
            Palette99::pick(colour_index - 1).to_rgba()
        };
        let stroke = colour.stroke_width(if s.reference { 1 } else { 2 });
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(points.clone(), 7, 5, stroke))
                .map_err(err)?
                .label(&s.name)
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (7, 0)], colour.stroke_width(2))
                        + PathElement::new(vec![(11, 0), (18, 0)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, 3, colour.stroke_width(1))),
                )
                .map_err(err)?;
        } else {
            chart
                .draw_series(LineSeries::new(points.clone(), stroke))
                .map_err(err)?
                .label(&s.name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        if !s.reference && !s.dashed {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(err)?;
        }
        if let (Some(lo), Some(hi)) = (&s.lo, &s.hi) {
            // On a log axis a lower end at or below 0 (an interval reaching 0) is drawn to the
            // bottom of the panel.
            let bars: Vec<(f64, f64, f64)> =
                s.x.iter()
                    .zip(lo.iter().zip(hi))
                    .filter_map(|(&x, (&l, &h))| {
                        let low = transform(l, yl).or((yl && h > 0.0).then_some(y0));
                        Some((transform(x, xl)?, low?, transform(h, yl)?))
                    })
                    .collect();
            if s.fill {
                let mut poly: Vec<(f64, f64)> = bars.iter().map(|b| (b.0, b.2)).collect();
                poly.extend(bars.iter().rev().map(|b| (b.0, b.1)));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly,
                        colour.mix(0.18).filled(),
                    )))
                    .map_err(err)?;
            } else {
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

/// A linear f64 axis whose ticks are given ([`ticks`]), so that labels sit at round numbers.
struct TickedAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }
    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Tick positions at round numbers: `1, 2, 5 × 10ᵏ` (in `log10` units) on a log axis, thinned to
/// powers of ten when there are more than 8 and filled with `3, 4, 6, 7, 8, 9 × 10ᵏ` when
/// there are fewer than 3; multiples of `1, 2, 5 × 10ᵏ` on a linear axis (about 6 of them).
pub(crate) fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    if log {
        let pick = |mantissas: &[f64]| -> Vec<f64> {
            let mut v = Vec::new();
            for e in (lo.floor() as i32 - 1)..=(hi.ceil() as i32) {
                for &m in mantissas {
                    let t = (m * 10f64.powi(e)).log10();
                    if t >= lo - 1e-12 && t <= hi + 1e-12 {
                        v.push(t);
                    }
                }
            }
            v
        };
        let mut v = pick(&[1.0, 2.0, 5.0]);
        if v.len() > 8 {
            v = pick(&[1.0]);
        } else if v.len() < 3 {
            v = pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        }
        v
    } else {
        let raw = (hi - lo) / 6.0;
        let p = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * p)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * p);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        (first..=last).map(|k| k as f64 * step).collect()
    }
}

/// The label of a tick: the round number itself (back from `log10` on a log axis), as a
/// percentage of 1 when `percent`.
pub(crate) fn tick_label(v: f64, log: bool, percent: bool) -> String {
    let x = if log { 10f64.powf(v) } else { v };
    let x = if percent { 100.0 * x } else { x };
    // Round to the tick's own precision (ticks are 1, 2 or 5 times a power of ten).
    let text = if x == 0.0 || x.abs() < 1e-12 {
        "0".to_string()
    } else {
        let mag = x.abs().log10().floor() as i32;
        if (-4..6).contains(&mag) {
            let decimals = (-mag).max(0) as usize;
            let s = format!("{x:.decimals$}");
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            }
        } else {
            format!("{x:.0e}")
        }
    };
    if percent {
        format!("{text} %")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample_report, write_sample};
    use crate::report::Series;

    #[test]
    fn png_has_the_signature_and_the_panel_size() {
        let (dir, path) = write_sample(&PngWriter::default(), "plot.png");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((width, height), (1280, 480));
        assert!(!dir.path().join("plot.partial.png").exists());
    }

    #[test]
    fn ticks_sit_at_round_numbers() {
        let lg = |a: f64, b: f64| -> Vec<String> {
            ticks(a.log10(), b.log10(), true)
                .iter()
                .map(|t| tick_label(*t, true, false))
                .collect()
        };
        // The learning-curve axis 25…200 with padding: no 63, 79, 126, 158.
        assert_eq!(lg(22.0, 230.0), ["50", "100", "200"]);
        assert_eq!(lg(7.0, 140.0), ["10", "20", "50", "100"]);
        assert_eq!(
            lg(0.004, 0.3),
            ["0.005", "0.01", "0.02", "0.05", "0.1", "0.2"]
        );
        assert_eq!(lg(1e-6, 1.0).len(), 7, "powers of ten only when crowded");
        assert_eq!(lg(60.0, 90.0), ["60", "70", "80", "90"]);
        let lin: Vec<String> = ticks(0.23, 0.61, false)
            .iter()
            .map(|t| tick_label(*t, false, true))
            .collect();
        assert_eq!(lin, ["30 %", "40 %", "50 %", "60 %"]);
        assert_eq!(tick_label(0.5f64.log10(), true, false), "0.5");
    }

    /// Pixels of a 400 × 300 rendering of `fig` that have exactly colour `c`.
    fn pixels_of(fig: &Figure, c: RGBColor) -> usize {
        register_font();
        let mut buf = vec![0u8; 400 * 300 * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (400, 300)).into_drawing_area();
            root.fill(&WHITE).unwrap();
            draw_panel(&root, fig).unwrap();
            root.present().unwrap();
        }
        buf.chunks(3).filter(|p| *p == [c.0, c.1, c.2]).count()
    }

    /// A dashed series (the NNGP beside the NTK) is drawn with gaps and hollow markers, in the
    /// colour of the series before it: no new palette colour appears.
    #[test]
    fn a_dashed_series_has_gaps_and_its_partners_colour() {
        let line = |name: &str, y: f64| {
            Series::new(name, vec![1.0, 2.0, 3.0], vec![y, y + 1.0, y + 2.0])
                .with_fill(vec![y - 0.1; 3], vec![y + 0.1; 3])
        };
        let (first, second) = (Palette99::pick(0).to_rgba(), Palette99::pick(1).to_rgba());
        let rgb = |c: RGBAColor| RGBColor(c.0, c.1, c.2);
        let mut solid = Figure::new("t", "x", "y");
        solid.series.push(line("a (NTK)", 0.0));
        let mut dashed = solid.clone();
        dashed.series[0] = dashed.series[0].clone().as_dashed();
        let (n_solid, n_dashed) = (
            pixels_of(&solid, rgb(first)),
            pixels_of(&dashed, rgb(first)),
        );
        assert!(
            n_dashed > 0 && n_dashed < n_solid,
            "{n_dashed} vs {n_solid}"
        );
        let mut pair = solid.clone();
        pair.series.push(line("a (NNGP)", 3.0).as_dashed());
        assert_eq!(
            pixels_of(&pair, rgb(second)),
            0,
            "the dashed series reuses colour 0"
        );
        pair.series.push(line("b (NTK)", 6.0));
        assert!(
            pixels_of(&pair, rgb(second)) > 0,
            "the next model takes colour 1"
        );
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
