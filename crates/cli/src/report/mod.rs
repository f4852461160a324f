//! Experiment reports and their writers: one serialisable [`ExperimentReport`] per run, written
//! as JSON ([`JsonWriter`]), Markdown ([`MarkdownWriter`]) or a PNG plot ([`PngWriter`]), all
//! behind the one small [`ReportWriter`] trait (as hyperfine's exporters).
//!
//! The JSON form carries the README's fields `{"experiment", "models": [{"name", <metric>…}],
//! "train", "test", "seed", "seconds"}` plus `settings` (everything that determines the numbers,
//! used by `entk reproduce` to reuse finished results), `tables` and `figures` (so Markdown and
//! plots can be redrawn from the JSON alone), `notes`, an experiment-specific `extra` object, and
//! `claims` (`[{"claim", "holds": true|false|null, "evidence"}]`, decided from 95 % intervals), and
//! `mode` (`"full"`, or `"smoke"` for `--smoke`'s tiny sizes, [`Mode`]).
//! Every writer is atomic: it writes a temporary file beside the target and renames it.

mod json;
mod markdown;
mod plot;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use json::JsonWriter;
pub use markdown::{markdown_section, markdown_table, MarkdownWriter};
pub use plot::PngWriter;

pub use crate::experiments::stats::Claim;
use crate::CliError;

/// One model's results: a name plus named metrics (`accuracy` in 0..1 for classification,
/// `mae_mev`/`rmse_mev` for QM9), flattened into the JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// Model name (e.g. `cnn`, `c4_gcnn`).
    pub name: String,
    /// Metric name → value (numbers, or small JSON values such as learning curves).
    #[serde(flatten)]
    pub metrics: BTreeMap<String, Value>,
}

impl ModelResult {
    /// A model with no metrics yet.
    pub fn new(name: impl Into<String>) -> Self {
        ModelResult {
            name: name.into(),
            metrics: BTreeMap::new(),
        }
    }
    /// Adds a metric (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.metrics.insert(key.to_string(), value.into());
        self
    }
    /// A numeric metric, if present.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).and_then(Value::as_f64)
    }
}

/// A result table: printed on stdout and written into Markdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Caption.
    pub title: String,
    /// Column headers.
    pub header: Vec<String>,
    /// Rows of cells (already formatted).
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with a caption and headers.
    pub fn new(title: impl Into<String>, header: &[&str]) -> Self {
        Table {
            title: title.into(),
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }
    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
    /// Plain-text rendering with aligned columns (for the terminal).
    pub fn to_text(&self) -> String {
        let ncol = self
            .header
            .len()
            .max(self.rows.iter().map(Vec::len).max().unwrap_or(0));
        let cell = |r: &[String], i: usize| r.get(i).cloned().unwrap_or_default();
        let widths: Vec<usize> = (0..ncol)
            .map(|i| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|r| cell(r, i).chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |r: &[String]| -> String {
            let cells: Vec<String> = (0..ncol)
                .map(|i| format!("{:<w$}", cell(r, i), w = widths[i]))
                .collect();
            cells.join("  ").trim_end().to_string()
        };
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.title);
        let _ = writeln!(out, "{}", line(&self.header));
        let _ = writeln!(
            out,
            "{}",
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("  ")
        );
        for r in &self.rows {
            let _ = writeln!(out, "{}", line(r));
        }
        out
    }
}

/// One curve of a [`Figure`] panel: points `(x, y)` with an optional band `[lo, hi]` drawn as
/// error bars (e.g. bootstrap confidence intervals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// Lower ends of error bars (same length as `y`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lo: Option<Vec<f64>>,
    /// Upper ends of error bars, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hi: Option<Vec<f64>>,
    /// Draw as a dashed reference line without markers (e.g. a fitted slope).
    #[serde(default)]
    pub reference: bool,
    /// Draw `[lo, hi]` as a shaded band instead of error bars.
    #[serde(default)]
    pub fill: bool,
    /// Draw as a dashed line with hollow markers, in the colour of the series before it (the
    /// same model under a second kernel, say). Absent from the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dashed: bool,
}

impl Series {
    /// A plain line with markers.
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Series {
            name: name.into(),
            x,
            y,
            lo: None,
            hi: None,
            reference: false,
            fill: false,
            dashed: false,
        }
    }
    /// Adds error bars.
    pub fn with_band(mut self, lo: Vec<f64>, hi: Vec<f64>) -> Self {
        self.lo = Some(lo);
        self.hi = Some(hi);
        self
    }
    /// Adds a shaded band (e.g. mean ± standard error).
    pub fn with_fill(mut self, lo: Vec<f64>, hi: Vec<f64>) -> Self {
        self.fill = true;
        self.with_band(lo, hi)
    }
    /// Marks the series as a reference line.
    pub fn as_reference(mut self) -> Self {
        self.reference = true;
        self
    }
    /// Draws the series dashed, in the colour of the one before it.
    pub fn as_dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// One panel of a plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Panel title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    #[serde(default)]
    pub x_log: bool,
    /// Logarithmic y axis.
    #[serde(default)]
    pub y_log: bool,
    /// The curves.
    pub series: Vec<Series>,
    /// Where the legend goes.
    #[serde(default)]
    pub legend: Legend,
    /// The y values are fractions shown as percentages (`0.6` → `60 %`).
    #[serde(default)]
    pub y_percent: bool,
}

/// Corner of a panel that holds the legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Legend {
    /// Top right (default: suits falling curves).
    #[default]
    UpperRight,
    /// Bottom right (suits rising curves).
    LowerRight,
    /// Top left.
    UpperLeft,
    /// Bottom left.
    LowerLeft,
}

impl Figure {
    /// A panel with linear axes and no curves.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Figure {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_log: false,
            y_log: false,
            series: Vec::new(),
            legend: Legend::UpperRight,
            y_percent: false,
        }
    }
    /// Puts the legend in another corner (builder style).
    pub fn legend_at(mut self, legend: Legend) -> Self {
        self.legend = legend;
        self
    }
    /// Logarithmic axes (builder style).
    pub fn log_log(mut self) -> Self {
        self.x_log = true;
        self.y_log = true;
        self
    }
    /// Percent labels on the y axis (builder style).
    pub fn percent(mut self) -> Self {
        self.y_percent = true;
        self
    }
    /// Logarithmic x axis only (builder style).
    pub fn log_x(mut self) -> Self {
        self.x_log = true;
        self
    }
}

/// Which sizes made a report: the JSON's top-level `"mode"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The experiment's own sizes (or `--train`/`--test`): the numbers are results.
    Full,
    /// `--smoke`: tiny sizes that check the pipeline; the numbers mean nothing.
    Smoke,
}

impl Mode {
    /// The mode of a run with or without `--smoke`.
    pub fn of(smoke: bool) -> Self {
        if smoke {
            Mode::Smoke
        } else {
            Mode::Full
        }
    }
    /// `full` or `smoke`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Smoke => "smoke",
        }
    }
}

/// The result of one experiment (see the module docs for the JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// Experiment name (`rotmnist`, `qm9`, …).
    pub experiment: String,
    /// Per-model results.
    pub models: Vec<ModelResult>,
    /// Training-set size (the largest used).
    pub train: usize,
    /// Test-set size.
    pub test: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Process CPU seconds (user + system, all threads) the run consumed
    /// ([`crate::experiments::run_experiment`] sets it, the difference of two readings of
    /// `CLOCK_PROCESS_CPUTIME_ID`); `None` where the platform has no such clock, and in a report
    /// written before the field existed (then absent from its JSON). The clock is process-wide:
    /// the figure is this experiment's CPU time where it runs alone in its process, as in
    /// `entk experiment` and `entk reproduce` (one experiment after another); where several
    /// experiments run concurrently in one process (a library caller's threads) each one's
    /// figure also counts the others' CPU time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    /// Full run or `--smoke` ([`crate::experiments::run_experiment`] sets it). `None` only in a
    /// report read from a file written before the field existed (then absent from its JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Everything that determines the numbers (data, sizes, architectures, protocol, code
    /// version); two runs with equal settings give equal results.
    #[serde(default)]
    pub settings: Value,
    /// Result tables.
    #[serde(default)]
    pub tables: Vec<Table>,
    /// Plot panels (drawn side by side in one PNG).
    #[serde(default)]
    pub figures: Vec<Figure>,
    /// Remarks: choices made, deviations from the paper, checks that failed.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Experiment-specific data (learning curves, per-width deviations, …).
    #[serde(default)]
    pub extra: Value,
    /// The paper's claims this run tests, each decided from 95 % intervals (`holds: null` =
    /// not resolved); see [`crate::experiments::stats`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
}

impl ExperimentReport {
    /// A report with no results yet.
    pub fn new(experiment: &str, train: usize, test: usize, seed: u64, settings: Value) -> Self {
        ExperimentReport {
            experiment: experiment.to_string(),
            models: Vec::new(),
            train,
            test,
            seed,
            seconds: 0.0,
            cpu_seconds: None,
            mode: None,
            settings,
            tables: Vec::new(),
            figures: Vec::new(),
            notes: Vec::new(),
            extra: Value::Null,
            claims: Vec::new(),
        }
    }
    /// The report as JSON without its timings: every field whose name contains `seconds`
    /// and every table column whose header does. What two runs with equal settings agree on
    /// bit for bit (a rerun that resumed from saved work included).
    pub fn numbers(&self) -> Value {
        fn strip(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    m.retain(|k, _| !k.contains("seconds"));
                    m.values_mut().for_each(strip);
                }
                Value::Array(a) => a.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let mut report = self.clone();
        for t in &mut report.tables {
            while let Some(col) = t.header.iter().position(|h| h.contains("seconds")) {
                t.header.remove(col);
                t.rows.iter_mut().for_each(|r| {
                    if col < r.len() {
                        r.remove(col);
                    }
                });
            }
        }
        let mut v = serde_json::to_value(&report).expect("a report serialises");
        strip(&mut v);
        v
    }
    /// ` mode full,` / ` mode smoke (the numbers mean nothing),` for the run lines of the
    /// text and Markdown forms; empty without a mode.
    pub(crate) fn mode_words(&self) -> String {
        match self.mode {
            Some(Mode::Full) => " mode full,".into(),
            Some(Mode::Smoke) => " mode smoke (the numbers mean nothing),".into(),
            None => String::new(),
        }
    }
    /// The model called `name`, if any.
    pub fn model(&self, name: &str) -> Option<&ModelResult> {
        self.models.iter().find(|m| m.name == name)
    }
    /// The terminal rendering: every table, then the notes.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "experiment {} (train {}, test {}, seed {},{} {:.1} s)\n\n",
            self.experiment,
            self.train,
            self.test,
            self.seed,
            self.mode_words(),
            self.seconds
        );
        for t in &self.tables {
            out.push_str(&t.to_text());
            out.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }
}

/// Writes an [`ExperimentReport`] in one format.
pub trait ReportWriter {
    /// The file extension of the format (`json`, `md`, `png`).
    fn extension(&self) -> &'static str;
    /// Writes `report` to `path` atomically.
    fn write(&self, report: &ExperimentReport, path: &Path) -> Result<(), CliError>;
}

/// `path` with `.partial` inserted before the extension (`a.png` → `a.partial.png`), so that
/// encoders that pick the format from the extension still work.
pub(crate) fn partial_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.partial.{}", ext.to_string_lossy()),
        None => format!("{stem}.partial"),
    };
    path.with_file_name(name)
}

/// Creates the parent folder of `path` if needed.
pub(crate) fn ensure_parent(path: &Path) -> Result<(), CliError> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => std::fs::create_dir_all(p).map_err(CliError::io(p)),
        _ => Ok(()),
    }
}

/// Formats a number with `digits` significant digits, without exponent for moderate values.
pub fn sig(value: f64, digits: usize) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    if value == 0.0 {
        return "0".into();
    }
    let mag = value.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{:.*e}", digits.saturating_sub(1), value);
    }
    let decimals = (digits as i32 - 1 - mag).max(0) as usize;
    format!("{value:.decimals$}")
}

/// Formats a fraction in 0..1 as a percentage with one decimal (`0.8123` → `81.2 %`).
pub fn percent(value: f64) -> String {
    format!("{:.1} %", 100.0 * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`sample_report`] written by `writer` to `name` in a new temporary folder.
    pub(crate) fn write_sample(
        writer: &dyn ReportWriter,
        name: &str,
    ) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        writer.write(&sample_report(), &path).unwrap();
        (dir, path)
    }

    pub(crate) fn sample_report() -> ExperimentReport {
        let mut r = ExperimentReport::new("demo", 10, 20, 3, serde_json::json!({"a": 1}));
        r.models.push(ModelResult::new("cnn").with("accuracy", 0.5));
        r.models
            .push(ModelResult::new("c4_gcnn").with("accuracy", 0.75));
        let mut t = Table::new("accuracy", &["model", "accuracy"]);
        t.push(vec!["cnn".into(), percent(0.5)]);
        t.push(vec!["c4_gcnn".into(), percent(0.75)]);
        r.tables.push(t);
        let mut f = Figure::new("curve", "training points", "accuracy").log_x();
        f.series.push(
            Series::new("cnn", vec![1.0, 2.0, 4.0], vec![0.2, 0.4, 0.5])
                .with_band(vec![0.1, 0.3, 0.4], vec![0.3, 0.5, 0.6]),
        );
        f.series
            .push(Series::new("ref", vec![1.0, 4.0], vec![0.3, 0.6]).as_reference());
        r.figures.push(f.clone());
        let mut g = Figure::new("log-log", "width", "error").log_log();
        g.series.push(Series::new(
            "c4",
            vec![8.0, 16.0, 32.0],
            vec![0.1, 0.05, 0.025],
        ));
        r.figures.push(g);
        r.notes.push("a note".into());
        r.seconds = 1.25;
        r.mode = Some(Mode::Full);
        r
    }

    #[test]
    fn text_table_aligns_columns() {
        let r = sample_report();
        let text = r.tables[0].to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "accuracy");
        assert_eq!(lines[1], "model    accuracy");
        assert_eq!(lines[3], "cnn      50.0 %");
    }

    #[test]
    fn significant_digits_format() {
        assert_eq!(sig(0.012345, 3), "0.0123");
        assert_eq!(sig(1234.6, 3), "1235");
        assert_eq!(sig(1.5e-7, 2), "1.5e-7");
        assert_eq!(percent(0.8123), "81.2 %");
    }

    #[test]
    fn partial_path_keeps_the_extension() {
        assert_eq!(
            partial_path(Path::new("/a/b.png")),
            PathBuf::from("/a/b.partial.png")
        );
        assert_eq!(partial_path(Path::new("x")), PathBuf::from("x.partial"));
    }

    #[test]
    fn model_metrics_flatten_into_the_json_object() {
        let r = sample_report();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["models"][1]["name"], "c4_gcnn");
        assert_eq!(v["models"][1]["accuracy"], 0.75);
        for key in ["experiment", "models", "train", "test", "seed", "seconds"] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
    }

    /// `"mode"` is a top-level string, `full` or `smoke`; a report written before it existed
    /// (no `mode`, no `dashed`) still reads, with no mode, and writes no `mode` back.
    #[test]
    fn mode_is_a_top_level_string_and_old_reports_still_read() {
        let mut r = sample_report();
        for (mode, text) in [(Mode::Full, "full"), (Mode::Smoke, "smoke")] {
            r.mode = Some(mode);
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["mode"], text);
            assert_eq!(mode.as_str(), text);
            assert_eq!(Mode::of(text == "smoke"), mode);
            let back: ExperimentReport = serde_json::from_value(v).unwrap();
            assert_eq!(back.mode, Some(mode));
        }
        assert!(r
            .to_text()
            .contains("mode smoke (the numbers mean nothing)"));
        let mut v = serde_json::to_value(sample_report()).unwrap();
        let old = v.as_object_mut().unwrap();
        old.remove("mode");
        assert!(!serde_json::to_string(old).unwrap().contains("dashed"));
        let back: ExperimentReport = serde_json::from_value(Value::Object(old.clone())).unwrap();
        assert_eq!(back.mode, None);
        assert!(serde_json::to_value(&back).unwrap().get("mode").is_none());
        let bad = json_with(&sample_report(), "mode", "quick");
        assert!(serde_json::from_value::<ExperimentReport>(bad).is_err());
    }

    /// The report as JSON with `key` set to the string `value`.
    fn json_with(r: &ExperimentReport, key: &str, value: &str) -> Value {
        let mut v = serde_json::to_value(r).unwrap();
        v[key] = Value::String(value.into());
        v
    }

    #[test]
    fn dashed_series_say_so_in_the_json() {
        let s = Series::new("a (NNGP)", vec![1.0], vec![2.0]).as_dashed();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["dashed"], true);
        assert_eq!(serde_json::from_value::<Series>(v).unwrap(), s);
    }
}
