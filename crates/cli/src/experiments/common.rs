//! Shared pieces of the experiments: architecture specs, image resizing, Gram matrices with
//! progress bars, kernel regression and small statistics.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ndarray::{s, Array2, Array4, ArrayView2, Axis};
use serde_json::{json, Value};

use entk_datasets::{resize_area, LabelledImages};
use entk_ntk::available_memory;
use entk_ntk::regression::{gradient_flow_mean, DiagReg, GradientFlowOptions, TrainingTime};
use entk_ntk::{image_features, Features, Gram, GramOptions, Network};

use super::ExperimentError;
use crate::progress::{format_duration, Stage};
use crate::tiles::gram_in_store;
use crate::tiles::hash::text_hash;

/// Bumped whenever a change alters experiment numbers, so `entk reproduce` recomputes cached
/// results.
pub const CODE_VERSION: &str = "entk-experiments-7";

/// CPU seconds (user + system, every thread) this process has consumed so far: the POSIX clock
/// `CLOCK_PROCESS_CPUTIME_ID`, read through `rustix`. `None` off Unix. The difference of two
/// readings is the CPU time of what ran between them (a whole experiment: every thread of the
/// process works for it).
pub fn process_cpu_seconds() -> Option<f64> {
    #[cfg(unix)]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        Some(t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// `threads`, or all cores for 0, capped as `entk kernel` caps it
/// ([`crate::kernel_cmd::effective_threads`]: at most 4 per core, with a note on stderr).
pub fn resolve_threads(threads: usize) -> usize {
    crate::kernel_cmd::effective_threads(threads)
}

/// A named architecture spec (docs/spec.md JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelSpec {
    /// Model name in reports.
    pub name: String,
    /// The spec.
    pub spec: Value,
}

impl ModelSpec {
    /// A named spec.
    pub fn new(name: &str, spec: Value) -> Self {
        ModelSpec {
            name: name.to_string(),
            spec,
        }
    }
    /// The network of the spec.
    pub fn network(&self) -> Result<Network, ExperimentError> {
        Ok(Network::from_json(&self.spec.to_string())?)
    }
}

/// docs/theory.md#histology CNN: `[conv 3×3 VALID, relu, conv 3×3 VALID, relu, global_avg_pool, dense,
/// relu, dense]`.
pub fn cnn_classifier() -> Value {
    json!({"layers": [
        {"type": "conv", "filter": 3, "padding": "valid"}, {"type": "relu"},
        {"type": "conv", "filter": 3, "padding": "valid"}, {"type": "relu"},
        {"type": "global_avg_pool"}, {"type": "dense"}, {"type": "relu"}, {"type": "dense"}]})
}

/// docs/theory.md#histology group CNN for `group` (`c4`, `d4`): `[lift_conv 3×3 VALID, relu, group_conv
/// 3×3 VALID (all of the point group), relu, group_pool, dense, relu, dense]`.
pub fn gcnn_classifier(group: &str) -> Value {
    json!({"layers": [
        {"type": "lift_conv", "group": group, "filter": 3, "padding": "valid"}, {"type": "relu"},
        {"type": "group_conv", "group": group, "filter": 3, "padding": "valid", "group_support": "all"}, {"type": "relu"},
        {"type": "group_pool"}, {"type": "dense"}, {"type": "relu"}, {"type": "dense"}]})
}

/// Resizes every image of a batch to `size × size` by area averaging (no-op when equal).
pub fn resize_images(images: &Array4<f64>, size: usize) -> Result<Array4<f64>, ExperimentError> {
    let (n, h, w, c) = images.dim();
    if (h, w) == (size, size) {
        return Ok(images.clone());
    }
    let mut out = Array4::zeros((n, size, size, c));
    for (i, img) in images.axis_iter(Axis(0)).enumerate() {
        out.index_axis_mut(Axis(0), i)
            .assign(&resize_area(img, size, size)?);
    }
    Ok(out)
}

/// [`resize_images`] on labelled images.
pub fn resize_labelled(
    data: &LabelledImages,
    size: usize,
) -> Result<LabelledImages, ExperimentError> {
    Ok(LabelledImages::new(
        resize_images(data.images(), size)?,
        data.labels().to_vec(),
        data.class_names().to_vec(),
    )?)
}

/// Two labelled image sets as one (rows of `a`, then rows of `b`).
pub fn concat(a: &LabelledImages, b: &LabelledImages) -> Result<LabelledImages, ExperimentError> {
    let images = ndarray::concatenate(Axis(0), &[a.images().view(), b.images().view()])
        .map_err(|e| ExperimentError::Usage(format!("image sets of different shapes: {e}")))?;
    let labels = a.labels().iter().chain(b.labels()).copied().collect();
    Ok(LabelledImages::new(
        images,
        labels,
        a.class_names().to_vec(),
    )?)
}

thread_local! {
    /// Where [`gram`] keeps its tile stores on this thread ([`with_tile_stores`]).
    static TILE_ROOT: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Runs `f` (an experiment) with every Gram matrix that [`gram`] computes on this thread kept
/// in a durable tile store under `root` ([`crate::tiles::gram_in_store`]: one store per
/// network and inputs), so a killed run loses at most the tile in flight and a rerun resumes.
/// `entk reproduce` uses `OUT/.tiles/NAME`, `entk experiment --tiles DIR` uses `DIR`. Without
/// it, Gram matrices are computed in memory. The numbers are the same either way.
pub fn with_tile_stores<T>(root: &Path, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<PathBuf>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            TILE_ROOT.with(|r| *r.borrow_mut() = old);
        }
    }
    let _restore = Restore(TILE_ROOT.with(|r| r.replace(Some(root.to_path_buf()))));
    f()
}

/// A result that a [`UnitStore`] can keep: written as f64 values, read back bit for bit.
pub trait Durable: Sized {
    /// The values to write.
    fn to_values(&self) -> Vec<f64>;
    /// The result from its values; `None` when they do not have its layout (the record is
    /// then recomputed).
    fn from_values(values: &[f64]) -> Option<Self>;
}

/// Finished units of finite-network work (an ensemble member, a batch of members), kept
/// durably beside the tile stores inside [`with_tile_stores`] (in `ROOT/units/NAME`,
/// [`crate::tiles::records`]: write, `fsync`, rename; checksummed), so a killed run loses only
/// the units in flight and a rerun reuses the others, bit for bit. Outside it nothing is kept
/// and every unit is computed. Made on the experiment's thread (where the tile root is known)
/// and shared with worker threads.
pub struct UnitStore {
    records: Option<crate::tiles::records::RecordStore>,
    reused: AtomicUsize,
    computed: AtomicUsize,
}

impl UnitStore {
    /// The store `name` under this thread's tile root, or one that keeps nothing.
    pub fn here(name: &str) -> Self {
        UnitStore {
            records: TILE_ROOT.with(|r| {
                r.borrow().as_ref().map(|root| {
                    crate::tiles::records::RecordStore::new(&root.join("units").join(name))
                })
            }),
            reused: AtomicUsize::new(0),
            computed: AtomicUsize::new(0),
        }
    }

    /// The result under `key` (text naming everything it depends on: settings, data, seed;
    /// the code versions are added here) from the store, or from `compute`, which is then
    /// saved durably. A damaged record is noted on stderr and recomputed.
    pub fn get_or_compute<T: Durable>(
        &self,
        key: &str,
        compute: impl FnOnce() -> Result<T, ExperimentError>,
    ) -> Result<T, ExperimentError> {
        let Some(records) = &self.records else {
            return compute();
        };
        let key = format!(
            "{CODE_VERSION}; {}; {key}",
            crate::tiles::store::code_version()
        );
        match records.load(&key) {
            Ok(Some(values)) => match T::from_values(&values) {
                Some(t) => {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(t);
                }
                None => eprintln!(
                    "note: {} does not have the layout of this unit; recomputing it",
                    records.path(&key).display()
                ),
            },
            Ok(None) => {}
            Err(why) => eprintln!("note: {why}; recomputing it"),
        }
        let t = compute()?;
        records.save(&key, &t.to_values())?;
        self.computed.fetch_add(1, Ordering::Relaxed);
        Ok(t)
    }

    /// Units reused from the store so far.
    pub fn reused(&self) -> usize {
        self.reused.load(Ordering::Relaxed)
    }

    /// Prints `note: reused R of T finished units … from DIR` when any was reused.
    pub fn note_reused(&self, what: &str) {
        let reused = self.reused();
        if let (Some(records), true) = (&self.records, reused > 0) {
            eprintln!(
                "note: reused {reused} of {} finished {what} from {}",
                reused + self.computed.load(Ordering::Relaxed),
                records.dir().display()
            );
        }
    }
}

impl Durable for Vec<f64> {
    fn to_values(&self) -> Vec<f64> {
        self.clone()
    }
    fn from_values(values: &[f64]) -> Option<Self> {
        Some(values.to_vec())
    }
}

/// NNGP/NTK Gram matrices, reporting each pair to `stage` (see [`gram_units`]); through a
/// tile store inside [`with_tile_stores`], in memory otherwise.
pub fn gram(
    net: &Network,
    x1: &Array4<f64>,
    x2: Option<&Array4<f64>>,
    threads: usize,
    stage: Option<&Stage<'_>>,
) -> Result<Gram, ExperimentError> {
    if TILE_ROOT.with(|r| r.borrow().is_none()) {
        let progress = stage.map(|s| s as &dyn entk_ntk::Progress);
        return gram_in_memory(net, x1, x2, threads, progress);
    }
    let features =
        |x: &Array4<f64>| -> Vec<Features> { x.axis_iter(Axis(0)).map(image_features).collect() };
    let (f1, f2) = (features(x1), x2.map(features));
    gram_features(net, &f1, f2.as_deref(), threads, stage)
}

/// [`gram`] on inputs given as engine [`Features`] (flattened vectors, sets of atoms): through
/// a tile store inside [`with_tile_stores`], in memory ([`Network::gram_features`]) otherwise.
pub fn gram_features(
    net: &Network,
    x1: &[Features],
    x2: Option<&[Features]>,
    threads: usize,
    stage: Option<&Stage<'_>>,
) -> Result<Gram, ExperimentError> {
    let progress = stage.map(|s| s as &dyn entk_ntk::Progress);
    match TILE_ROOT.with(|r| r.borrow().clone()) {
        Some(root) => {
            // The network's full description (layers and every parameter) names its store.
            let mut key = format!("network {}", text_hash(&format!("{net:?}")));
            // The store hashes the inputs' values back to back: inputs of different lengths
            // (sets of different sizes) add their lengths, so that no two ways of cutting the
            // same values share a store.
            let lengths = |x: &[Features]| x.iter().map(|f| f.data.len()).collect::<Vec<_>>();
            let (l1, l2) = (lengths(x1), x2.map(lengths));
            if l1
                .iter()
                .chain(l2.iter().flatten())
                .any(|&l| Some(&l) != l1.first())
            {
                key.push_str(&format!(
                    "; input lengths {}",
                    text_hash(&format!("{l1:?} {l2:?}"))
                ));
            }
            Ok(gram_in_store(&root, net, &key, x1, x2, threads, progress)?)
        }
        None => Ok(net.gram_features(
            x1,
            x2,
            &GramOptions {
                threads,
                memory_budget: None,
                progress,
            },
        )?),
    }
}

fn gram_in_memory(
    net: &Network,
    x1: &Array4<f64>,
    x2: Option<&Array4<f64>>,
    threads: usize,
    progress: Option<&dyn entk_ntk::Progress>,
) -> Result<Gram, ExperimentError> {
    let opts = GramOptions {
        threads,
        memory_budget: None,
        progress,
    };
    Ok(net.gram(x1.view(), x2.map(|x| x.view()), &opts)?)
}

/// The units the engine reports for a Gram matrix: `n(n+1)/2` for a symmetric `n × n`,
/// `n1·n2 + n1 + n2` (cross pairs and self pairs) otherwise.
pub fn gram_units(n1: usize, n2: Option<usize>) -> usize {
    match n2 {
        None => n1 * (n1 + 1) / 2,
        Some(n2) => n1 * n2 + n1 + n2,
    }
}

/// Inputs of the symmetric calibration Gram matrix ([`calibrate_pair_seconds`]): 78 pairs.
pub const CALIBRATION_INPUTS: usize = 12;

/// Measured seconds per kernel pair (wall clock on `threads` threads), from the symmetric Gram
/// matrix of the first [`CALIBRATION_INPUTS`] inputs; also returns the pairs measured. This is
/// what the time estimate printed before long work is computed from.
pub fn calibrate_pair_seconds(
    net: &Network,
    x: &Array4<f64>,
    threads: usize,
) -> Result<(f64, usize), ExperimentError> {
    let k = x.dim().0.min(CALIBRATION_INPUTS);
    let block = x.slice(s![..k, .., .., ..]).to_owned();
    // In memory: a timing from tiles reused from a store would mean nothing.
    time_per_unit(gram_units(k, None), || {
        gram_in_memory(net, &block, None, threads, None)
    })
}

/// Seconds per unit of `f`, which does `units` units of work.
pub fn time_per_unit<T>(
    units: usize,
    f: impl FnOnce() -> Result<T, ExperimentError>,
) -> Result<(f64, usize), ExperimentError> {
    let start = Instant::now();
    f()?;
    Ok((start.elapsed().as_secs_f64() / units.max(1) as f64, units))
}

/// Refuses, before any data is generated, a run whose inputs and kernel matrices would not fit
/// in the available memory (`bytes` as f64 so that absurd sizes cannot overflow); `what` names
/// the sizes.
pub fn check_memory(bytes: f64, what: &str) -> Result<(), ExperimentError> {
    let budget = available_memory().unwrap_or(8 << 30) as f64;
    if bytes > budget {
        return Err(ExperimentError::Usage(format!(
            "{what} would need about {} for the inputs and kernel matrices, more than the {} of memory available; use smaller --train/--test",
            gib(bytes),
            gib(budget)
        )));
    }
    Ok(())
}

/// `bytes` in GiB, scientific when huge (`3.2 GiB`, `7.5e9 GiB`).
fn gib(bytes: f64) -> String {
    let g = bytes / 1_073_741_824.0;
    if g < 1e5 {
        format!("{g:.1} GiB")
    } else {
        format!("{g:.1e} GiB")
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes of the inputs and of every NNGP/NTK matrix kept for `train` training and `test` test
/// points of `values` f64 values each: the train × train and test × train pairs of two kernels.
pub fn run_bytes(train: usize, test: usize, values: usize) -> f64 {
    let (n, m) = (train as f64, test as f64);
    8.0 * (n + m) * values as f64 + 2.0 * 8.0 * (n * n + m * n)
}

/// Prints the size and time estimate of a run to stderr before its long work starts.
pub fn announce(experiment: &str, work: &str, seconds: f64, threads: usize, basis: &str) {
    eprintln!(
        "{experiment}: {work}; estimated {} on {threads} thread{} ({basis})",
        format_duration(seconds),
        if threads == 1 { "" } else { "s" }
    );
}

/// The leading `m×m` block of a train–train Gram matrix.
pub fn leading_block(a: &Array2<f64>, m: usize) -> ArrayView2<'_, f64> {
    a.slice(s![..m, ..m])
}

/// Kernel regression at `t = ∞` (the NTK mean prediction) with relative diagonal
/// regularisation: `Θ(x,X)(Θ(X,X) + λ·tr(Θ)/n·I)⁻¹ Y`. Returns the test predictions and the
/// solver's warnings.
pub fn kernel_regression(
    train_train: ArrayView2<'_, f64>,
    test_train: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    diag_reg: f64,
) -> Result<(Array2<f64>, Vec<String>), ExperimentError> {
    let opts = GradientFlowOptions {
        diag_reg: DiagReg::relative(diag_reg),
        ..GradientFlowOptions::default()
    };
    let p = gradient_flow_mean(
        train_train,
        test_train,
        targets,
        TrainingTime::Infinite,
        &opts,
    )?;
    Ok((p.test, p.info.warnings))
}

/// Training-set sizes of a learning curve ending at `n`: `n/8, n/4, n/2, n` (at least
/// `min`, distinct, increasing).
pub fn curve_sizes(n: usize, min: usize) -> Vec<usize> {
    let mut v: Vec<usize> = [n / 8, n / 4, n / 2, n]
        .into_iter()
        .filter(|&m| m >= min.max(1))
        .collect();
    v.dedup();
    if v.last() != Some(&n) {
        v.push(n);
    }
    v
}

/// Least-squares slope and intercept of `log10 y` against `log10 x` (points with
/// non-positive values are skipped). `None` with fewer than two usable points.
pub fn loglog_fit(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| **a > 0.0 && **b > 0.0)
        .map(|(a, b)| (a.log10(), b.log10()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// Root mean square of the entries of `a − b` divided by that of `b` (relative RMS
/// deviation); 0/0 gives 0.
pub fn relative_rms(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    if den == 0.0 {
        if num == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (num / den).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process CPU clock reads and advances over some work (a clock that stood still, or
    /// read a constant, would fail): 5 M square roots are milliseconds of CPU, far above the
    /// clock's nanosecond resolution.
    #[test]
    fn process_cpu_seconds_advances() {
        let a = process_cpu_seconds().expect("a Unix CPU clock");
        let x: f64 = (0..5_000_000)
            .map(|i| std::hint::black_box(i as f64).sqrt())
            .sum();
        let b = process_cpu_seconds().expect("a Unix CPU clock");
        assert!(x > 0.0 && a >= 0.0 && b > a, "{a} {b}");
    }

    #[test]
    fn curve_sizes_end_at_n() {
        assert_eq!(curve_sizes(200, 10), vec![25, 50, 100, 200]);
        assert_eq!(curve_sizes(12, 3), vec![3, 6, 12]);
        assert_eq!(curve_sizes(2, 5), vec![2]);
    }

    #[test]
    fn loglog_fit_recovers_a_power_law() {
        let x = [8.0, 16.0, 32.0, 64.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 / v).collect();
        let (slope, icpt) = loglog_fit(&x, &y).unwrap();
        assert!((slope + 1.0).abs() < 1e-12);
        assert!((icpt - 3f64.log10()).abs() < 1e-12);
    }

    #[test]
    fn sizes_and_units_read_naturally() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(gram_units(3, None), 6);
        assert_eq!(gram_units(2, Some(3)), 11);
        assert_eq!(gib(3.0 * 1_073_741_824.0), "3.0 GiB");
    }

    #[test]
    fn absurd_sizes_are_refused_without_overflow() {
        let e = check_memory(
            run_bytes(150, usize::MAX, 400),
            "textures --test 18446744073709551615",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--test 18446744073709551615") && e.contains("e"),
            "{e}"
        );
        assert!(check_memory(run_bytes(150, 300, 400), "textures").is_ok());
    }

    #[test]
    fn specs_parse() {
        for spec in [
            cnn_classifier(),
            gcnn_classifier("c4"),
            gcnn_classifier("d4"),
        ] {
            Network::from_json(&spec.to_string()).unwrap();
        }
    }
}
