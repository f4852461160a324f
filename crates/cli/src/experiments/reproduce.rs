//! `entk reproduce [--out DIR]`: every experiment on the embedded data, one Markdown report.
//!
//! **Nothing finished is lost, and reruns reuse finished work.** Each experiment writes
//! `DIR/NAME.json` (the full [`ExperimentReport`], its `settings` included) and `DIR/NAME.png` as
//! soon as it finishes, each atomically (temporary file, then rename), and `DIR/report.md` is
//! rewritten after every experiment. On a rerun an experiment is skipped when `DIR/NAME.json`
//! exists, parses, and its `settings` equal the settings the experiment would run with now
//! (sizes, seed, architectures, protocol and [`CODE_VERSION`](super::common::CODE_VERSION))
//! **and** its bytes still have the checksum recorded in `DIR/checksums.json` when it was
//! written (128-bit FNV-1a of the file), so a result whose numbers were edited by hand, or a
//! file from elsewhere, is recomputed rather than passed off as this code's output. The
//! checksum detects edits, not forgery: whoever edits both files on purpose can fool it, and
//! `--force` always recomputes. Its plot is redrawn from the JSON if missing. An unfinished
//! experiment keeps its Gram matrices tile by tile in `DIR/.tiles/NAME` ([`TILES_DIR`]), so a
//! killed run loses at most the tiles in flight; they are deleted once `NAME.json` is written
//! (and, with `--force`, before the experiment starts). A failing experiment is reported in
//! `report.md` and on stderr, the others still run, and the command exits non-zero.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use super::stats::{decide_positive, Interval};
use super::{
    experiment_settings, run_experiment, ExperimentError, ExperimentName, ExperimentOptions,
};
use crate::npy::write_text;
use crate::report::{
    markdown_section, markdown_table, percent, sig, ExperimentReport, JsonWriter, Mode,
    ModelResult, PngWriter, ReportWriter, Table,
};
use crate::tiles::hash::Fnv128;
use crate::CliError;

/// Options of [`reproduce`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReproduceOptions {
    /// Output folder (default `out/`).
    pub out: PathBuf,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Recompute even when a stored result matches.
    pub force: bool,
    /// Every experiment at tiny sizes ([`super::smoke`]); the numbers mean nothing.
    pub smoke: bool,
}

/// How one experiment went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Computed in this run.
    Computed,
    /// Reused from `DIR/NAME.json` (matching settings).
    Reused,
    /// Failed with this message.
    Failed(String),
}

impl Outcome {
    /// The outcome in a table, with `reused` as the words for [`Outcome::Reused`].
    fn words(&self, reused: &str) -> String {
        match self {
            Outcome::Computed => "computed".to_string(),
            Outcome::Reused => reused.to_string(),
            Outcome::Failed(m) => format!("FAILED: {m}"),
        }
    }
}

/// The timing of one experiment's run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Process CPU seconds (user + system), `None` in a report written before they were
    /// recorded.
    pub cpu_seconds: Option<f64>,
}

impl Timing {
    /// The timing of `report`'s run.
    pub fn of(report: &ExperimentReport) -> Self {
        Timing {
            seconds: report.seconds,
            cpu_seconds: report.cpu_seconds,
        }
    }

    /// `[wall, CPU, CPU/wall]` for a table (CPU columns empty when unknown).
    fn cells(&self) -> [String; 3] {
        let cpu = self.cpu_seconds;
        [
            format!("{:.1}", self.seconds),
            cpu.map(|c| format!("{c:.1}")).unwrap_or_default(),
            cpu.filter(|_| self.seconds > 0.0)
                .map(|c| format!("{:.2}", c / self.seconds))
                .unwrap_or_default(),
        ]
    }
}

/// The timing columns of the summary tables.
const TIMING_COLUMNS: [&str; 3] = ["seconds", "CPU seconds", "CPU/wall"];

/// What [`reproduce`] did.
#[derive(Debug, Clone)]
pub struct ReproduceSummary {
    /// Per experiment: name, outcome, the experiment's own wall-clock and process CPU seconds
    /// (of the run that produced it; a reused report keeps its original numbers).
    pub experiments: Vec<(ExperimentName, Outcome, Option<Timing>)>,
    /// Names of failed experiments.
    pub failed: Vec<ExperimentName>,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
    /// The Markdown report.
    pub report_path: PathBuf,
}

impl ReproduceSummary {
    /// The terminal summary.
    pub fn to_text(&self) -> String {
        let mut t = Table::new(
            format!(
                "entk reproduce: {} ({:.1} s)",
                self.report_path.display(),
                self.seconds
            ),
            &[&["experiment", "outcome"][..], &TIMING_COLUMNS[..]].concat(),
        );
        for (n, o, s) in &self.experiments {
            let mut row = vec![n.to_string(), o.words("reused (settings match)")];
            row.extend(s.map_or_else(Default::default, |s| s.cells()));
            t.push(row);
        }
        t.to_text()
    }
}

/// The folder under `--out` where unfinished experiments keep their Gram tiles
/// ([`super::common::with_tile_stores`]): a killed `entk reproduce` loses at most the tiles in
/// flight. An experiment's tiles are removed once its `NAME.json` is written.
pub const TILES_DIR: &str = ".tiles";

fn remove_tiles(dir: &Path) -> Result<(), CliError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CliError::Io {
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// True when `stored` holds results computed with `settings` (compared after the same JSON
/// round trip, so float formatting cannot cause a spurious mismatch).
fn settings_match(stored: &ExperimentReport, settings: &Value) -> bool {
    serde_json::from_str::<Value>(&settings.to_string())
        .map(|v| v == stored.settings)
        .unwrap_or(false)
}

/// 128-bit FNV-1a of `bytes` ([`crate::tiles::hash`], as for tiles), as `fnv1a128:<32 hex>`.
pub fn checksum(bytes: &[u8]) -> String {
    let mut h = Fnv128::default();
    h.update(bytes);
    format!("fnv1a128:{}", h.hex())
}

/// The file of checksums of the results reproduce wrote (`{"NAME.json": "fnv1a128:…"}`).
pub const CHECKSUMS_FILE: &str = "checksums.json";

fn read_checksums(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Whether the file at `path` has the checksum recorded for it (false when either is missing).
fn checksum_matches(sums: &BTreeMap<String, String>, file: &str, path: &Path) -> bool {
    match (sums.get(file), std::fs::read(path)) {
        (Some(recorded), Ok(bytes)) => *recorded == checksum(&bytes),
        _ => false,
    }
}

/// Runs every experiment of [`ExperimentName::REPRODUCE`] (or reuses it), writing
/// `DIR/NAME.json`, `DIR/NAME.png` and `DIR/report.md`.
pub fn reproduce(opts: &ReproduceOptions) -> Result<ReproduceSummary, ExperimentError> {
    let start = Instant::now();
    std::fs::create_dir_all(&opts.out).map_err(CliError::io(&opts.out))?;
    let report_path = opts.out.join("report.md");
    let tiles = opts.out.join(TILES_DIR);
    let exp_opts = ExperimentOptions {
        threads: opts.threads,
        tiles: Some(tiles.clone()),
        smoke: opts.smoke,
        ..ExperimentOptions::default()
    };
    let sums_path = opts.out.join(CHECKSUMS_FILE);
    let mut sums = read_checksums(&sums_path);
    let mut done: Vec<(ExperimentName, Outcome, Option<ExperimentReport>)> = Vec::new();
    for name in ExperimentName::REPRODUCE {
        let file = format!("{name}.json");
        let json_path = opts.out.join(&file);
        let png_path = opts.out.join(format!("{name}.png"));
        let settings = experiment_settings(name, &exp_opts)?;
        let stored = if opts.force {
            None
        } else {
            JsonWriter::read(&json_path)
                .filter(|r| settings_match(r, &settings))
                .filter(|_| {
                    let ok = checksum_matches(&sums, &file, &json_path);
                    if !ok {
                        eprintln!(
                            "{name}: {} does not have the checksum recorded in {} when it was written (edited, or from elsewhere); recomputing",
                            json_path.display(),
                            sums_path.display()
                        );
                    }
                    ok
                })
        };
        let (outcome, report) = match stored {
            Some(mut r) => {
                // Written before reports carried a mode: the settings match, and smoke settings
                // always differ from full ones (tested in `experiments`), so it is this run's.
                r.mode.get_or_insert(Mode::of(opts.smoke));
                eprintln!("{name}: reusing {} (settings match)", json_path.display());
                if !png_path.exists() {
                    PngWriter::default().write(&r, &png_path)?;
                }
                (Outcome::Reused, Some(r))
            }
            None => {
                eprintln!("{name}: running");
                if opts.force {
                    remove_tiles(&tiles.join(name.as_str()))?;
                }
                match run_experiment(name, &exp_opts) {
                    Ok(r) => {
                        JsonWriter.write(&r, &json_path)?;
                        let bytes = std::fs::read(&json_path).map_err(CliError::io(&json_path))?;
                        sums.insert(file.clone(), checksum(&bytes));
                        let text = serde_json::to_string_pretty(&sums).map_err(|e| {
                            CliError::Usage(format!("cannot serialise the checksums: {e}"))
                        })?;
                        write_text(&sums_path, &(text + "\n"))?;
                        PngWriter::default().write(&r, &png_path)?;
                        // The result is safe: its Gram tiles are no longer needed.
                        remove_tiles(&tiles.join(name.as_str()))?;
                        eprintln!("{name}: done in {:.1} s", r.seconds);
                        (Outcome::Computed, Some(r))
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        (Outcome::Failed(e.to_string()), None)
                    }
                }
            }
        };
        done.push((name, outcome, report));
        write_text(
            &report_path,
            &render(&done, start.elapsed().as_secs_f64(), opts.smoke),
        )?;
    }
    let seconds = start.elapsed().as_secs_f64();
    write_text(&report_path, &render(&done, seconds, opts.smoke))?;
    Ok(ReproduceSummary {
        failed: done
            .iter()
            .filter(|d| matches!(d.1, Outcome::Failed(_)))
            .map(|d| d.0)
            .collect(),
        experiments: done
            .into_iter()
            .map(|(n, o, r)| (n, o, r.as_ref().map(Timing::of)))
            .collect(),
        seconds,
        report_path,
    })
}

/// `value [lo, hi]` of a metric and its `_ci` partner.
fn with_ci(m: &ModelResult, key: &str, show: &dyn Fn(f64) -> String) -> Option<String> {
    let v = m.number(key)?;
    Some(match ci_of(m, key) {
        Some(ci) => format!("{} [{}, {}]", show(v), show(ci.lo), show(ci.hi)),
        None => show(v),
    })
}

/// The `_ci` partner of a metric.
fn ci_of(m: &ModelResult, key: &str) -> Option<Interval> {
    let c = m.metrics.get(&format!("{key}_ci"))?;
    Some(Interval::new(c.get(0)?.as_f64()?, c.get(1)?.as_f64()?))
}

/// `NTK value [lo, hi], NNGP value [lo, hi]` of a metric `key` (the NTK's) and its `nngp_`
/// partner (left out when a report from an older version lacks it).
fn both_kernels(m: &ModelResult, key: &str, show: &dyn Fn(f64) -> String) -> Option<String> {
    let ntk = with_ci(m, key, show)?;
    Some(match with_ci(m, &format!("nngp_{key}"), show) {
        Some(nngp) => format!("NTK {ntk}, NNGP {nngp}"),
        None => format!("NTK {ntk}"),
    })
}

/// Which kernel wins for each model, from its paired difference NNGP − NTK `key` and `key_ci`
/// (the mean and 95 % t interval over draws of the per-draw differences, computed by the
/// experiments with [`super::classification::paired_claim`]), decided by
/// [`decide_positive`]: `NNGP better` / `NTK better` only when the interval excludes 0. A
/// larger metric is better when `higher_better` (accuracy), worse otherwise (MAE). `None` when
/// no model carries the difference (a report from an older version). A smoke run's intervals
/// decide nothing: `not resolved (smoke mode)` (see [`super::smoke`]).
fn kernel_verdicts(
    r: &ExperimentReport,
    key: &str,
    higher_better: bool,
    (show, unit): (&dyn Fn(f64) -> String, &str),
) -> Option<String> {
    let smoke = r.mode == Some(Mode::Smoke);
    let v: Vec<String> = r
        .models
        .iter()
        .filter_map(|m| {
            let ci = ci_of(m, key)?;
            let verdict = match decide_positive(&ci).map(|up| up == higher_better) {
                _ if smoke => "not resolved (smoke mode)",
                Some(true) => "NNGP better",
                Some(false) => "NTK better",
                None => "not resolved",
            };
            Some(format!(
                "{} {} {unit}: {verdict}",
                m.name,
                with_ci(m, key, show)?
            ))
        })
        .collect();
    (!v.is_empty()).then(|| {
        format!(
            "Which kernel wins (NNGP − NTK, paired over draws, 95 % interval): {}",
            v.join(", ")
        )
    })
}

/// One line of results per experiment for the summary table: NTK and NNGP for every model of
/// the kernel-regression experiments, then which kernel wins where the intervals decide it.
fn headline(r: &ExperimentReport) -> String {
    let pct = |v: f64| percent(v);
    let points = |v: f64| sig(100.0 * v, 3);
    let sig3 = |v: f64| sig(v, 3);
    let sig2 = |v: f64| sig(v, 2);
    let sig4 = |v: f64| sig(v, 4);
    let joined = |parts: Vec<String>, verdicts: Option<String>| {
        let line = parts.join("; ");
        match verdicts {
            Some(v) => format!("{line}. {v}"),
            None => line,
        }
    };
    match r.experiment.as_str() {
        "rotmnist" | "textures" | "histology" => joined(
            r.models
                .iter()
                .filter_map(|m| Some(format!("{} {}", m.name, both_kernels(m, "accuracy", &pct)?)))
                .collect(),
            kernel_verdicts(r, "nngp_minus_ntk", true, (&points, "points")),
        ),
        "qm9" => joined(
            r.models
                .iter()
                .filter_map(|m| {
                    Some(format!(
                        "{} MAE {} meV{}",
                        m.name,
                        both_kernels(m, "mae_mev", &sig4)?,
                        // Models on a sub-pool (the set model) state their sizes.
                        match (m.number("train"), m.number("test")) {
                            (Some(n), Some(t)) => format!(" ({n} / {t} molecules)"),
                            _ => String::new(),
                        }
                    ))
                })
                .collect(),
            kernel_verdicts(r, "nngp_minus_ntk_mae_mev", false, (&sig3, "meV")),
        ),
        "augmentation" => {
            let v: Vec<String> = r
                .models
                .iter()
                .filter(|m| m.name.starts_with("cnn"))
                .filter_map(|m| {
                    Some(format!(
                        "w{}: {}",
                        m.number("width")?,
                        with_ci(m, "deviation_from_gcnn_in", &sig2)?
                    ))
                })
                .collect();
            format!("CNN+aug vs GCNN mean deviation (in) {}", v.join(", "))
        }
        "convergence" => r
            .models
            .iter()
            .filter_map(|m| {
                Some(format!(
                    "{} NTK slope {}, NNGP slope {}",
                    m.name,
                    with_ci(m, "ntk_slope", &sig2)?,
                    with_ci(m, "nngp_slope", &sig2)?
                ))
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::new(),
    }
}

/// The claims the paper makes that these runs test, each decided by its experiment from 95 %
/// intervals (`yes` only when the intervals decide it; `not resolved` when they overlap).
fn claims(reports: &[&ExperimentReport]) -> Table {
    let mut t = Table::new(
        "What must come out (decided from 95 % intervals; \"not resolved\" when they cannot decide)",
        &["claim", "holds?", "evidence"],
    );
    for name in ["qm9", "rotmnist", "textures", "augmentation", "convergence"] {
        match reports.iter().find(|r| r.experiment == name) {
            Some(r) if !r.claims.is_empty() => {
                for c in &r.claims {
                    let mut row = c.row();
                    if let Some(v) = super::smoke::withheld_verdict(&c.evidence) {
                        row[1] = v;
                    }
                    t.push(row);
                }
            }
            Some(_) => t.push(vec![
                format!("{name}: claims"),
                "not measured".into(),
                "the stored report has no claims (from an older version)".into(),
            ]),
            None => t.push(vec![
                format!("{name}: claims"),
                "not measured".into(),
                format!("{name} did not run (see below)"),
            ]),
        }
    }
    t
}

/// The whole Markdown report.
fn render(
    done: &[(ExperimentName, Outcome, Option<ExperimentReport>)],
    seconds: f64,
    smoke: bool,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# entk reproduce\n");
    if smoke {
        let _ = writeln!(
            md,
            "**Smoke run (`--smoke`): every experiment at tiny sizes to check the pipeline. The numbers below mean nothing.**\n"
        );
    }
    let _ = writeln!(
        md,
        "Mode `{}` (the mode of this run, the `\"mode\"` key of each `NAME.json`; `NAME.json` files written before this key existed lack it). Generated by `entk reproduce` in {seconds:.1} s of wall-clock time for this invocation (experiments reused from an earlier run count their original time below; CPU seconds are the process's user + system CPU time during each experiment, all threads; CPU/wall is at most the number of threads). \
         Every experiment uses the data embedded in the binary (MNIST sample, textures, QM9 sample) and seed 0; `histology` needs downloaded data and is not part of this report.\n",
        Mode::of(smoke).as_str()
    );
    let mut summary = Table::new(
        "Summary",
        &[
            &["experiment", "outcome"][..],
            &TIMING_COLUMNS[..],
            &["headline"],
        ]
        .concat(),
    );
    for (n, o, r) in done {
        let mut row = vec![n.to_string(), o.words("reused")];
        row.extend(
            r.as_ref()
                .map_or_else(Default::default, |r| Timing::of(r).cells()),
        );
        row.push(r.as_ref().map(headline).unwrap_or_default());
        summary.push(row);
    }
    md.push_str(&markdown_table(&summary));
    md.push('\n');
    let reports: Vec<&ExperimentReport> = done.iter().filter_map(|d| d.2.as_ref()).collect();
    md.push_str(&markdown_table(&claims(&reports)));
    md.push('\n');
    md.push_str(PAPER_COMPARISON);
    md.push('\n');
    for (n, _, r) in done {
        if let Some(r) = r {
            md.push_str(&markdown_section(r, Some(&format!("{n}.png")), 2));
        }
    }
    md.push_str(CACHING_NOTE);
    md
}

const PAPER_COMPARISON: &str = "## The paper's numbers, for comparison\n\n\
docs/theory.md#histology gives magnitudes of tiny runs only (\"magnitudes only\"): histology with 8 training / 100 test tiles, CNN 25.0 % and C4-CNN 28.0 %; \
QM9 with 10 training / 20 test molecules at L = 6, MLP MAE 5951.8 meV (RMSE 7164.4) and SO(3)-CNN MAE 3340.9 meV (RMSE 4510.9). \
The paper's claim is qualitative: the equivariant NTK wins on both. The augmentation identities hold to ≈1e-14 for the analytic kernels (checked again in `augmentation` below); \
for finite widths the paper reports the match as approximate, improving with width.\n\n\
Where ours differ and why: our runs are larger than those tiny runs (hundreds of points), so the absolute numbers are not comparable, only the ordering; images are downsampled \
(rotated MNIST and textures to 10×10) to fit the time budget of a 2-core machine; rotated MNIST and textures are our own tasks (not in the paper), so there is no paper number for them. \
Each section lists its settings and the choices made.\n";

const CACHING_NOTE: &str = "## How this report is produced\n\n\
Each experiment writes `NAME.json` (full results and settings) and `NAME.png` beside this file as soon as it finishes, atomically; this file is rewritten after every experiment. \
Rerunning `entk reproduce --out DIR` reuses an experiment whose `NAME.json` has exactly the settings it would run with now (sizes, seed, architectures, protocol, code version) \
and still has the checksum recorded in `checksums.json` when it was written (so hand-edited numbers are recomputed, not reused), and recomputes the others; `--force` recomputes everything.\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ModelResult;

    /// The timing cells: wall, CPU and their ratio; CPU empty for a report without it.
    #[test]
    fn timing_cells_show_cpu_over_wall() {
        let t = Timing {
            seconds: 10.0,
            cpu_seconds: Some(19.1),
        };
        assert_eq!(t.cells(), ["10.0", "19.1", "1.91"].map(String::from));
        let old = Timing {
            seconds: 10.0,
            cpu_seconds: None,
        };
        assert_eq!(old.cells(), ["10.0", "", ""].map(String::from));
    }

    #[test]
    fn claims_read_the_reports() {
        use crate::experiments::stats::Claim;
        let mut q = ExperimentReport::new("qm9", 1, 1, 0, Value::Null);
        q.claims
            .push(Claim::new("qm9: so3 below mlp", Some(true), "e"));
        let mut m = ExperimentReport::new("rotmnist", 1, 1, 0, Value::Null);
        m.claims
            .push(Claim::new("rotmnist: c4 above cnn", None, "overlap"));
        m.models.push(
            ModelResult::new("cnn")
                .with("accuracy", 0.6)
                .with("accuracy_ci", serde_json::json!([0.55, 0.65])),
        );
        let t = claims(&[&q, &m]);
        assert_eq!(t.rows[0][1], "yes");
        assert_eq!(t.rows[1][1], "not resolved");
        assert_eq!(t.rows[2][1], "not measured");
        // A report from before the NNGP was in the headline: the NTK alone, no verdict.
        assert_eq!(headline(&m), "cnn NTK 60.0 % [55.0 %, 65.0 %]");
    }

    /// A model with metric `key` = `v` and `key_ci` = `[lo, hi]`, its `nngp_` partner shifted
    /// by `d`, and the paired difference `diff_key` = `d` with interval `ci`.
    fn two_kernels(
        name: &str,
        key: &str,
        [v, lo, hi]: [f64; 3],
        (diff_key, d, ci): (&str, f64, [f64; 2]),
    ) -> ModelResult {
        use serde_json::json;
        ModelResult::new(name)
            .with(key, v)
            .with(&format!("{key}_ci"), json!([lo, hi]))
            .with(&format!("nngp_{key}"), v + d)
            .with(&format!("nngp_{key}_ci"), json!([lo + d, hi + d]))
            .with(diff_key, d)
            .with(&format!("{diff_key}_ci"), json!(ci))
    }

    /// The headline shows NNGP beside NTK for every model and says which kernel wins only
    /// where the paired interval excludes 0; for an error (MAE) a negative NNGP − NTK means
    /// the NNGP wins, for an accuracy a positive one.
    #[test]
    fn headlines_show_both_kernels_and_the_winner_where_decided() {
        let mut m = ExperimentReport::new("rotmnist", 1, 1, 0, Value::Null);
        for (name, d, ci) in [
            ("cnn", 0.014, [-0.01, 0.038]),
            ("c4_gcnn", 0.082, [0.043, 0.121]),
            ("d4_gcnn", -0.05, [-0.08, -0.02]),
        ] {
            let diff = ("nngp_minus_ntk", d, ci);
            m.models
                .push(two_kernels(name, "accuracy", [0.6, 0.55, 0.65], diff));
        }
        let h = headline(&m);
        assert!(
            h.starts_with(
                "cnn NTK 60.0 % [55.0 %, 65.0 %], NNGP 61.4 % [56.4 %, 66.4 %]; c4_gcnn NTK"
            ),
            "{h}"
        );
        assert!(
            h.ends_with(". Which kernel wins (NNGP − NTK, paired over draws, 95 % interval): cnn 1.40 [-1.00, 3.80] points: not resolved, c4_gcnn 8.20 [4.30, 12.1] points: NNGP better, d4_gcnn -5.00 [-8.00, -2.00] points: NTK better"),
            "{h}"
        );
        let mut q = ExperimentReport::new("qm9", 1, 1, 0, Value::Null);
        for (name, d, ci) in [
            ("so3_cnn", -17.0, [-40.0, 6.0]),
            ("mlp", -283.0, [-400.0, -160.0]),
        ] {
            let diff = ("nngp_minus_ntk_mae_mev", d, ci);
            q.models
                .push(two_kernels(name, "mae_mev", [1479.0, 1345.0, 1613.0], diff));
        }
        q.models[1] = q.models[1].clone().with("train", 24).with("test", 12);
        let h = headline(&q);
        assert!(
            h.starts_with("so3_cnn MAE NTK 1479 [1345, 1613], NNGP 1462 [1328, 1596] meV; mlp MAE NTK 1479 [1345, 1613], NNGP 1196 [1062, 1330] meV (24 / 12 molecules)."),
            "{h}"
        );
        assert!(
            h.ends_with("so3_cnn -17.0 [-40.0, 6.00] meV: not resolved, mlp -283 [-400, -160] meV: NNGP better"),
            "{h}"
        );
    }

    #[test]
    fn checksums_detect_a_one_character_edit() {
        assert_eq!(checksum(b""), "fnv1a128:6c62272e07bb014262b821756295c58d");
        assert_eq!(checksum(b"a"), "fnv1a128:d228cb696f1a8caf78912b704e4a8964");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qm9.json");
        std::fs::write(&path, "{\"mae_mev\": 1673.1}").unwrap();
        let mut sums = BTreeMap::new();
        assert!(
            !checksum_matches(&sums, "qm9.json", &path),
            "nothing recorded"
        );
        sums.insert(
            "qm9.json".to_string(),
            checksum(&std::fs::read(&path).unwrap()),
        );
        assert!(checksum_matches(&sums, "qm9.json", &path));
        std::fs::write(&path, "{\"mae_mev\": 1573.1}").unwrap();
        assert!(!checksum_matches(&sums, "qm9.json", &path), "edited");
    }

    #[test]
    fn settings_round_trip_compares_equal() {
        let s = serde_json::json!({"diag_reg": 5e-5, "lr": 0.1, "n": 3});
        let mut r =
            ExperimentReport::new("x", 1, 1, 0, serde_json::from_str(&s.to_string()).unwrap());
        assert!(settings_match(&r, &s));
        r.settings = serde_json::json!({"diag_reg": 1e-4});
        assert!(!settings_match(&r, &s));
    }
}
