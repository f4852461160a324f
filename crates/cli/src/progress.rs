//! Progress on stderr, for people at a terminal and for logs nobody watches.
//!
//! One [`Tracker`] per job (an experiment, a kernel command) holds the estimated cost of all of
//! its work; each piece of work is a [`Stage`] of `units` (kernel pairs, training steps,
//! networks) at a calibrated cost per unit, and implements the engine's
//! [`entk_ntk::Progress`]. The fraction done is the finished **cost**, not the finished count,
//! so the ETA, `elapsed · (1 − f) / f`, stays steady when cheap and costly units alternate
//! (wide networks after narrow ones, SO(3) pairs after MLP pairs).
//!
//! - stderr a terminal: one bar per job (`label [=====>   ] 42% stage, 1m12s elapsed, eta 1m40s`);
//! - otherwise (CI, a log file, Slurm): one line of the same content every
//!   `ENTK_PROGRESS_SECONDS` seconds (default 15), and a last line when the job finishes.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// Default seconds between progress lines when stderr is not a terminal.
pub const DEFAULT_LINE_SECONDS: f64 = 15.0;

/// Cost is accumulated in integer nano-units so threads can add to it without a lock.
const SCALE: f64 = 1e9;

/// `1h02m`, `3m07s`, `12s`, `0.4s`.
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    let s = seconds.max(0.0);
    if s < 10.0 {
        return format!("{s:.1}s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{sec:02}s")
    } else {
        format!("{sec}s")
    }
}

/// ETA from the fraction of the cost done and the elapsed time; `None` before any progress.
pub fn eta_seconds(fraction: f64, elapsed: f64) -> Option<f64> {
    (fraction > 0.0).then(|| elapsed * (1.0 - fraction.min(1.0)) / fraction)
}

/// Seconds between progress lines off a terminal (`ENTK_PROGRESS_SECONDS`, default 15).
fn line_interval() -> Duration {
    let s = std::env::var("ENTK_PROGRESS_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .unwrap_or(DEFAULT_LINE_SECONDS);
    Duration::from_secs_f64(s)
}

/// The overall progress of one job.
pub struct Tracker {
    label: String,
    total: AtomicU64,
    done: AtomicU64,
    stage: Mutex<String>,
    start: Instant,
    /// The bar when stderr is a terminal.
    bar: Option<ProgressBar>,
    /// Time of the last progress line (off a terminal).
    last_line: Mutex<Instant>,
    interval: Duration,
}

impl Tracker {
    /// A tracker for `label` whose work costs `total` (any unit, e.g. estimated seconds; it can
    /// be set later with [`Tracker::set_total`]).
    pub fn new(label: &str, total: f64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(10_000);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {percent}% {msg}, {elapsed} elapsed, eta {cost_eta}",
                )
                .expect("valid template")
                .with_key(
                    "cost_eta",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let f = state.pos() as f64 / 10_000.0;
                        let eta = eta_seconds(f, state.elapsed().as_secs_f64());
                        let _ = w.write_str(&eta.map_or("?".into(), format_duration));
                    },
                )
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar
        });
        Self {
            label: label.to_string(),
            total: AtomicU64::new(to_units(total)),
            done: AtomicU64::new(0),
            stage: Mutex::new(String::new()),
            start: Instant::now(),
            bar,
            last_line: Mutex::new(Instant::now()),
            interval: line_interval(),
        }
    }

    /// Sets the total cost (after a calibration).
    pub fn set_total(&self, total: f64) {
        self.total.store(to_units(total), Ordering::Relaxed);
        self.redraw();
    }

    /// The fraction of the total cost done, in `[0, 1]`.
    pub fn fraction(&self) -> f64 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            return 0.0;
        }
        (self.done.load(Ordering::Relaxed) as f64 / total as f64).min(1.0)
    }

    /// Starts a piece of work of `units` units costing `unit_cost` each, shown as `message`.
    pub fn stage(&self, message: &str, units: usize, unit_cost: f64) -> Stage<'_> {
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = message.to_string();
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_string());
        }
        Stage {
            tracker: self,
            units,
            unit_cost: unit_cost.max(0.0),
            seen: AtomicUsize::new(0),
        }
    }

    fn advance(&self, cost: f64) {
        self.done.fetch_add(to_units(cost), Ordering::Relaxed);
        self.redraw();
    }

    /// The progress line printed off a terminal.
    pub fn line(&self) -> String {
        let f = self.fraction();
        let elapsed = self.start.elapsed().as_secs_f64();
        let stage = self.stage.lock().unwrap_or_else(|e| e.into_inner()).clone();
        format!(
            "{}: {:.0}% ({stage}), {} elapsed, eta {}",
            self.label,
            100.0 * f,
            format_duration(elapsed),
            eta_seconds(f, elapsed).map_or("?".into(), format_duration)
        )
    }

    fn redraw(&self) {
        match &self.bar {
            Some(bar) => bar.set_position((self.fraction() * 10_000.0) as u64),
            None => {
                // try_lock: a thread that finds another printing skips its turn.
                if let Ok(mut last) = self.last_line.try_lock() {
                    if last.elapsed() >= self.interval {
                        *last = Instant::now();
                        eprintln!("{}", self.line());
                    }
                }
            }
        }
    }

    /// Clears the bar (a terminal) or, elsewhere, prints a last line when the work is complete
    /// (nothing after a failure, whose error line is then the last one).
    pub fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None if self.fraction() >= 0.999 => eprintln!(
                "{}: finished in {}",
                self.label,
                format_duration(self.start.elapsed().as_secs_f64())
            ),
            None => {}
        }
    }
}

fn to_units(cost: f64) -> u64 {
    if cost.is_finite() && cost > 0.0 {
        (cost * SCALE).min(u64::MAX as f64 / 4.0) as u64
    } else {
        0
    }
}

/// A piece of a [`Tracker`]'s work; the engine reports into it as an [`entk_ntk::Progress`].
/// Units not reported by the time it is dropped are credited then, so a stage that ends early
/// (or whose unit count was an estimate) leaves the total consistent.
pub struct Stage<'a> {
    tracker: &'a Tracker,
    units: usize,
    unit_cost: f64,
    seen: AtomicUsize,
}

impl Stage<'_> {
    /// `n` more units done.
    pub fn inc(&self, n: usize) {
        let before = self.seen.fetch_add(n, Ordering::Relaxed);
        let credited = (before + n)
            .min(self.units)
            .saturating_sub(before.min(self.units));
        if credited > 0 {
            self.tracker.advance(credited as f64 * self.unit_cost);
        }
    }
}

impl entk_ntk::Progress for Stage<'_> {
    fn update(&self, done: usize, _total: usize) {
        let before = self.seen.fetch_max(done, Ordering::Relaxed);
        if done > before {
            let credited = done.min(self.units).saturating_sub(before.min(self.units));
            if credited > 0 {
                self.tracker.advance(credited as f64 * self.unit_cost);
            }
        }
    }
}

impl Drop for Stage<'_> {
    fn drop(&mut self) {
        let seen = self.seen.load(Ordering::Relaxed).min(self.units);
        if seen < self.units {
            self.tracker
                .advance((self.units - seen) as f64 * self.unit_cost);
        }
    }
}

/// A progress bar for one engine call whose total is known only when it starts (`entk kernel`,
/// `entk predict`): a [`Tracker`] of one stage, counting pairs.
pub struct Bar {
    tracker: Tracker,
    seen: AtomicUsize,
}

impl Bar {
    /// A bar labelled `message`.
    pub fn new(message: &str) -> Self {
        Self {
            tracker: Tracker::new(message, 0.0),
            seen: AtomicUsize::new(0),
        }
    }
    /// Clears the bar (or prints the last line off a terminal).
    pub fn finish(&self) {
        self.tracker.finish();
    }
}

impl entk_ntk::Progress for Bar {
    fn update(&self, done: usize, total: usize) {
        if self.tracker.total.load(Ordering::Relaxed) == 0 {
            self.tracker.set_total(total as f64);
            *self.tracker.stage.lock().unwrap_or_else(|e| e.into_inner()) =
                format!("{total} pairs");
        }
        let before = self.seen.fetch_max(done, Ordering::Relaxed);
        if done > before {
            self.tracker.advance((done - before) as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entk_ntk::Progress;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(0.42), "0.4s");
        assert_eq!(format_duration(12.4), "12s");
        assert_eq!(format_duration(187.0), "3m07s");
        assert_eq!(format_duration(3720.0), "1h02m");
        assert_eq!(format_duration(f64::NAN), "?");
    }

    #[test]
    fn eta_is_elapsed_times_the_remaining_fraction() {
        assert_eq!(eta_seconds(0.0, 5.0), None);
        assert_eq!(eta_seconds(0.25, 10.0), Some(30.0));
        assert_eq!(eta_seconds(1.0, 10.0), Some(0.0));
    }

    /// Cheap units then costly ones: the fraction follows the cost, so a constant-rate job has
    /// a constant ETA (the convergence bar's ETA grew 5 s → 8 s → 12 s when counting networks).
    #[test]
    fn the_fraction_is_weighted_by_cost() {
        let t = Tracker::new("test", 0.0);
        t.set_total(10.0 + 90.0);
        {
            let cheap = t.stage("narrow", 10, 1.0);
            cheap.inc(10);
            assert!((t.fraction() - 0.1).abs() < 1e-9);
        }
        let costly = t.stage("wide", 10, 9.0);
        costly.update(5, 10);
        costly.update(3, 10); // out of order: ignored
        assert!((t.fraction() - 0.55).abs() < 1e-9, "{}", t.fraction());
        assert!(t.line().starts_with("test: 55% (wide)"), "{}", t.line());
        drop(costly);
        assert!((t.fraction() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn stages_never_credit_more_than_their_units() {
        let t = Tracker::new("test", 4.0);
        let s = t.stage("s", 2, 1.0);
        s.inc(5);
        s.update(9, 9);
        drop(s);
        assert!((t.fraction() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn bar_counts_pairs_of_one_call() {
        let b = Bar::new("kernel");
        b.update(1, 4);
        b.update(3, 4);
        assert!((b.tracker.fraction() - 0.75).abs() < 1e-9);
        assert!(b.tracker.line().contains("4 pairs"), "{}", b.tracker.line());
    }
}
