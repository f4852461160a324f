//! The classification protocol shared by `rotmnist`, `textures` and `histology` (docs/theory.md#histology): centred one-hot labels, the NTK and NNGP mean predictions at `t = ∞` with relative
//! `diag_reg`, argmax, accuracy; learning curves from leading blocks of each draw's Gram
//! matrices, **repeated over several independent train/test draws** and reported as mean ± standard
//! error with 95 % Student-t intervals ([`super::stats`]).
//!
//! **Draws.** Each draw `d` has its own training and test images, drawn independently of every
//! other draw's from the experiment's data-generating process (`rotmnist`: distinct digits, no
//! digit in two draws, each with its own rotation angle; `textures`: each draw cuts its own
//! patches at random positions and angles; `histology`: distinct tiles): the experiment
//! loads `draws · train` training and `draws · test` test candidates, and draw `d` takes the
//! `d`-th block of each. Its Gram matrices are computed from its own images alone (nothing is
//! shared between draws), so the draws are independent samples of the process and the
//! Student-t interval over draws covers its variability, the choice of the candidates
//! included, conditional on the embedded source data (`rotmnist`: the 2,000-digit sample;
//! `textures`: the three source textures; `histology`: the tile level, conditional on the
//! dataset's tiles and the slides they were cut from). (Until `entk-experiments-4` the draws were subsets of one shared pool whose Gram
//! matrices were computed once: cheaper, but the spread over draws then left out the pool's own
//! variability, and claims that held at one seed were unresolved at another.) When train and
//! test images come from one source (`rotmnist`), each draw's `train + test` images form a small
//! pool with one Gram matrix that is split `splits` ways at random, and the draw's value is the
//! mean over its splits: a Rao–Blackwellisation over the split (it lowers each draw's variance
//! at the cost of the regressions alone) that leaves the draws independent. The learning curve
//! uses the first `m` training images of each split.
//!
//! **Comparisons.** "A above B" is decided from the per-draw paired differences (same training
//! and test images for both models): it holds when the 95 % t interval of the mean difference
//! lies above 0, fails when it lies below, and is not resolved otherwise.

use std::time::Instant;

use ndarray::{Array2, Array4};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;

use entk_datasets::{accuracy, argmax_rows, LabelledImages};

use serde::Serialize;

use super::common::{
    announce, calibrate_pair_seconds, cnn_classifier, concat, curve_sizes, gcnn_classifier, gram,
    gram_units, kernel_regression, resize_labelled, thousands, ModelSpec, CALIBRATION_INPUTS,
    CODE_VERSION,
};
use super::stats::{decide_positive, mean_estimate, Claim, Estimate};
use super::{ExperimentError, ExperimentOptions};
use crate::progress::Tracker;
use crate::report::{percent, sig, ExperimentReport, Figure, Legend, ModelResult, Series, Table};

/// Default random splits of each draw's images ([`ImageClassification::splits`]).
pub const IMAGE_SPLITS: usize = 8;

/// Default number of independent train/test draws of the image classifications (each with its
/// own images and Gram matrices, see the module notes).
pub const IMAGE_DRAWS: usize = 6;

/// The rows of split `d` of one pool of `total` candidates (the splits of a draw's images or
/// molecules, `rotmnist` and `qm9`): `train` training rows (in a random order) and `test` test
/// rows, disjoint; a random partition of the pool (`shared`), or training rows from the first
/// `train_candidates` and test rows from the rest. Seeded by `seed` and `d` (ChaCha8).
pub fn draw_indices(
    total: usize,
    train_candidates: usize,
    shared: bool,
    train: usize,
    test: usize,
    seed: u64,
    d: usize,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (d as u64).wrapping_add(0xd4a5),
    );
    if shared {
        let mut all: Vec<usize> = (0..total).collect();
        all.shuffle(&mut rng);
        (all[..train].to_vec(), all[train..train + test].to_vec())
    } else {
        let mut tr: Vec<usize> = (0..train_candidates).collect();
        let mut te: Vec<usize> = (train_candidates..total).collect();
        tr.shuffle(&mut rng);
        te.shuffle(&mut rng);
        (tr[..train].to_vec(), te[..test].to_vec())
    }
}

/// The seed of draw `d`'s data in an experiment seeded by `seed` (the experiments that generate
/// each draw's images separately, e.g. `textures`).
pub fn draw_seed(seed: u64, d: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((d as u64).wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(0x5EED)
}

/// The images of `parts` one after another (one class list).
pub fn stack(parts: &[LabelledImages]) -> Result<LabelledImages, ExperimentError> {
    let mut all = parts
        .first()
        .cloned()
        .ok_or_else(|| ExperimentError::Usage("no draws".into()))?;
    for p in &parts[1..] {
        all = concat(&all, p)?;
    }
    Ok(all)
}

/// Per-draw results of one model: accuracy (or any metric) per draw and curve size.
#[derive(Debug, Clone)]
pub struct CurveDraws {
    /// `[draw][size]`, NTK.
    pub ntk: Vec<Vec<f64>>,
    /// `[draw][size]`, NNGP.
    pub nngp: Vec<Vec<f64>>,
}

impl CurveDraws {
    /// Mean ± SE (95 % t interval) over draws at each size.
    pub fn summary(values: &[Vec<f64>]) -> Vec<Estimate> {
        let sizes = values.first().map_or(0, Vec::len);
        (0..sizes)
            .map(|k| mean_estimate(&values.iter().map(|v| v[k]).collect::<Vec<_>>()))
            .collect()
    }
}

/// "`a` above `b`" from per-draw paired values at the last curve size: the claim, decided by the
/// t interval of the mean difference.
pub fn paired_claim(
    claim: String,
    a: &[f64],
    b: &[f64],
    show: impl Fn(f64) -> String,
) -> (Claim, Estimate) {
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let d = mean_estimate(&diff);
    let (ea, eb) = (mean_estimate(a), mean_estimate(b));
    let evidence = format!(
        "{} vs {} (means over {} draws); paired difference {} [{}, {}] (95 % t interval)",
        show(ea.value),
        show(eb.value),
        a.len(),
        show(d.value),
        show(d.ci.lo),
        show(d.ci.hi)
    );
    (Claim::new(claim, decide_positive(&d.ci), evidence), d)
}

/// The candidate images an image-classification experiment loaded, before downsampling: draw
/// `d` trains on rows `d·train..(d+1)·train` of `train` and tests on rows `d·test..(d+1)·test`
/// of `test` (see the module notes: the blocks must be independent samples of the process).
pub struct Candidates<'a> {
    /// Training candidates, at least `draws · train` rows.
    pub train: &'a LabelledImages,
    /// Test candidates, at least `draws · test` rows.
    pub test: &'a LabelledImages,
    /// Train and test candidates come from one source, so each draw's `train + test` images
    /// may be re-split at random ([`ImageClassification::splits`] ways); `false` when they must
    /// come from different sources (e.g. the two halves of the texture images).
    pub shared: bool,
    /// Where the images came from: the report's first note.
    pub note: String,
}

/// The settings every image-classification experiment (`rotmnist`, `textures`, `histology`)
/// shares; each experiment's settings hold these flattened (same report keys) beside its own.
#[derive(Debug, Clone, Serialize)]
pub struct ImageClassification {
    /// Code version (cache key).
    pub code_version: &'static str,
    /// Training images per draw.
    pub train: usize,
    /// Test images per draw.
    pub test: usize,
    /// Seed of the data, the angles and the draws.
    pub seed: u64,
    /// Independent train/test draws, each with its own `train` and `test` images.
    pub draws: usize,
    /// Random train/test splits of each draw's images when train and test come from one
    /// source ([`Candidates::shared`]; 1 otherwise): the draw's accuracy is their mean, a
    /// Rao–Blackwellisation over the split that the draws' independence does not depend on.
    pub splits: usize,
    /// Side of the images after area downsampling.
    pub image_size: usize,
    /// Learning-curve training sizes.
    pub curve: Vec<usize>,
    /// Relative diagonal regularisation (docs/theory.md#histology: 1e-4).
    pub diag_reg: f64,
    /// The models: the CNN and a GCNN per group.
    pub models: Vec<ModelSpec>,
}

impl ImageClassification {
    /// The settings for command-line options: `train`/`test` from the options or the defaults,
    /// [`IMAGE_DRAWS`] draws, `curve_points` learning-curve sizes, `diag_reg` 1e-4, and the
    /// CNN followed by a GCNN over each of `groups` (model names `cnn`, `<group>_gcnn`).
    pub fn from_options(
        o: &ExperimentOptions,
        (default_train, default_test): (usize, usize),
        image_size: usize,
        curve_points: usize,
        groups: &[&str],
    ) -> Self {
        let train = o.train.unwrap_or(default_train);
        let mut models = vec![ModelSpec::new("cnn", cnn_classifier())];
        models.extend(
            groups
                .iter()
                .map(|g| ModelSpec::new(&format!("{g}_gcnn"), gcnn_classifier(g))),
        );
        ImageClassification {
            code_version: CODE_VERSION,
            train,
            test: o.test.unwrap_or(default_test),
            seed: o.seed,
            draws: IMAGE_DRAWS,
            splits: IMAGE_SPLITS,
            image_size,
            curve: curve_sizes(train, curve_points),
            diag_reg: 1e-4,
            models,
        }
    }

    /// The same settings with one split per draw (`splits` 1): for train and test candidates
    /// from different sources ([`Candidates::shared`] `false`).
    pub fn unsplit(mut self) -> Self {
        self.splits = 1;
        self
    }

    /// The training and test candidates every draw together needs: `draws · train` and
    /// `draws · test`, saturating at `usize::MAX` (such a size is then refused by
    /// [`Self::check_memory`], never an overflow).
    pub fn candidates(&self) -> (usize, usize) {
        (
            self.draws.saturating_mul(self.train),
            self.draws.saturating_mul(self.test),
        )
    }

    /// Refuses a run of experiment `name` whose data and kernels would not fit in memory: the
    /// [`Self::candidates`] of `values` f64 values each and one draw's kernels
    /// ([`super::common::run_bytes`]).
    pub fn check_memory(&self, name: &str, values: usize) -> Result<(), ExperimentError> {
        let (u, l) = self.candidates();
        let bytes = super::common::run_bytes(self.train, self.test, 0)
            + 8.0 * (u as f64 + l as f64) * values as f64;
        super::common::check_memory(
            bytes,
            &format!("{name} --train {} --test {}", self.train, self.test),
        )
    }

    /// Runs the comparison of experiment `name` (settings `config`, for the report) on the
    /// draws of `data`'s training and test candidates, area-downsampled to `image_size`; `start`
    /// is when the run began. Each model is compared with every model before it (each GCNN
    /// with the CNN, a later group's GCNN with an earlier one's).
    pub fn run(
        &self,
        (name, config): (&str, serde_json::Value),
        data: Candidates<'_>,
        threads: usize,
        start: Instant,
    ) -> Result<ExperimentReport, ExperimentError> {
        let mut comparisons = Vec::new();
        for (i, later) in self.models.iter().enumerate() {
            for earlier in &self.models[..i] {
                comparisons.push((later.name.as_str(), earlier.name.as_str()));
            }
        }
        let train = resize_labelled(data.train, self.image_size)?;
        let test = resize_labelled(data.test, self.image_size)?;
        let mut report = ExperimentReport::new(name, self.train, self.test, self.seed, config);
        Classification {
            train_images: &train,
            test_images: &test,
            train: self.train,
            test: self.test,
            draws: self.draws,
            shared: data.shared,
            splits: self.splits,
            seed: self.seed,
            models: &self.models,
            curve: &self.curve,
            diag_reg: self.diag_reg,
            threads,
            comparisons: &comparisons,
        }
        .run_into(&mut report)?;
        report.notes.insert(0, data.note);
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}

/// One classification comparison.
pub struct Classification<'a> {
    /// Training candidates: draw `d` takes rows `d·train..(d+1)·train`.
    pub train_images: &'a LabelledImages,
    /// Test candidates: draw `d` takes rows `d·test..(d+1)·test`.
    pub test_images: &'a LabelledImages,
    /// Training images per draw.
    pub train: usize,
    /// Test images per draw.
    pub test: usize,
    /// Number of draws.
    pub draws: usize,
    /// Each draw's training and test images form one pool that is split `splits` ways at
    /// random (one Gram matrix over the pool; the draw's value is the mean over its splits).
    pub shared: bool,
    /// Random splits of each draw's pool when `shared`.
    pub splits: usize,
    /// Seed of the splits.
    pub seed: u64,
    /// The models.
    pub models: &'a [ModelSpec],
    /// Learning-curve training sizes (increasing, last = `train`).
    pub curve: &'a [usize],
    /// Relative diagonal regularisation.
    pub diag_reg: f64,
    /// Worker threads.
    pub threads: usize,
    /// Claims "first model above second model" (NTK accuracy, all training images) to decide.
    pub comparisons: &'a [(&'a str, &'a str)],
}

impl Classification<'_> {
    /// Computes every model's Gram matrices of every draw (its training images against
    /// themselves, its test images against its training images) and the accuracies, and fills
    /// `report` (models with means, standard errors and intervals, tables, figures with error
    /// bands, claims, `extra.learning_curves` with the per-draw values). First times a few pairs
    /// of each model and prints the size and time estimate.
    pub fn run_into(&self, report: &mut ExperimentReport) -> Result<(), ExperimentError> {
        let (n, m) = (self.train, self.test);
        let (u, l) = (self.train_images.len(), self.test_images.len());
        if n == 0
            || m == 0
            || self.draws == 0
            || u < self.draws * n
            || l < self.draws * m
            || self.curve.last() != Some(&n)
        {
            return Err(ExperimentError::Usage(format!(
                "{u} training and {l} test candidates cannot give {} independent draws of {n} training and {m} test images",
                self.draws
            )));
        }
        if self.train_images.num_classes() != self.test_images.num_classes() {
            return Err(ExperimentError::Usage(
                "training and test candidates have different classes".into(),
            ));
        }
        let nets = self
            .models
            .iter()
            .map(|model| model.network())
            .collect::<Result<Vec<_>, _>>()?;
        let block = |x: &LabelledImages, d: usize, k: usize| -> (Array4<f64>, Vec<usize>) {
            (
                x.images()
                    .slice(ndarray::s![d * k..(d + 1) * k, .., .., ..])
                    .to_owned(),
                x.labels()[d * k..(d + 1) * k].to_vec(),
            )
        };
        let pools: Vec<_> = (0..self.draws)
            .map(|d| {
                (
                    block(self.train_images, d, n),
                    block(self.test_images, d, m),
                )
            })
            .collect();
        let costs = nets
            .iter()
            .map(|net| calibrate_pair_seconds(net, &pools[0].0 .0, self.threads))
            .collect::<Result<Vec<_>, _>>()?;
        // The splits of each draw's pool of n + m images (rows: its training block, then its
        // test block): `splits` random partitions when `shared`, else the blocks as they are.
        let splits = if self.shared { self.splits.max(1) } else { 1 };
        let partitions: Vec<Vec<(Vec<usize>, Vec<usize>)>> = (0..self.draws)
            .map(|d| {
                (0..splits)
                    .map(|j| {
                        if self.shared {
                            draw_indices(n + m, n + m, true, n, m, self.seed, d * splits + j)
                        } else {
                            ((0..n).collect(), (n..n + m).collect())
                        }
                    })
                    .collect()
            })
            .collect();
        let units = if self.shared {
            gram_units(n + m, None)
        } else {
            gram_units(n, None) + gram_units(m, Some(n))
        };
        let per_model = self.draws * units;
        let total: f64 = costs.iter().map(|c| c.0 * per_model as f64).sum();
        let experiment = report.experiment.clone();
        announce(
            &experiment,
            &format!(
                "{} models × {} kernel pairs ({} independent draws of {n} training and {m} test images{})",
                self.models.len(),
                thousands(per_model),
                self.draws,
                if self.shared {
                    format!(", each split {splits} ways")
                } else {
                    String::new()
                }
            ),
            total,
            self.threads,
            &format!(
                "timed on {} pairs per model",
                gram_units(n.min(CALIBRATION_INPUTS), None)
            ),
        );
        let tracker = Tracker::new(&experiment, total);
        let classes = self.train_images.num_classes();
        let mut results = Vec::new();
        for ((model, net), (cost, _)) in self.models.iter().zip(&nets).zip(&costs) {
            let mut seconds = 0.0;
            let mut draws = CurveDraws {
                ntk: Vec::new(),
                nngp: Vec::new(),
            };
            for (d, ((xtr, ytr), (xte, yte))) in pools.iter().enumerate() {
                let start = Instant::now();
                let stage = tracker.stage(&format!("{} draw {d}", model.name), units, *cost);
                // Rows: the pool's images; columns: its training candidates.
                let (kn, kt) = if self.shared {
                    let x = ndarray::concatenate(ndarray::Axis(0), &[xtr.view(), xte.view()])
                        .expect("same image shape");
                    let g = gram(net, &x, None, self.threads, Some(&stage))?;
                    (g.nngp, g.ntk)
                } else {
                    let tt = gram(net, xtr, None, self.threads, Some(&stage))?;
                    let xt = gram(net, xte, Some(xtr), self.threads, Some(&stage))?;
                    let stack = |a: &Array2<f64>, b: &Array2<f64>| {
                        ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()])
                            .expect("same columns")
                    };
                    (stack(&tt.nngp, &xt.nngp), stack(&tt.ntk, &xt.ntk))
                };
                drop(stage);
                seconds += start.elapsed().as_secs_f64();
                let labels: Vec<usize> = ytr.iter().chain(yte).copied().collect();
                let mut accs = [vec![0.0; self.curve.len()], vec![0.0; self.curve.len()]];
                for (tr, te) in &partitions[d] {
                    let truth: Vec<usize> = te.iter().map(|&i| labels[i]).collect();
                    for (k, kernel) in [&kt, &kn].into_iter().enumerate() {
                        for (c, &size) in self.curve.iter().enumerate() {
                            let rows = &tr[..size];
                            let ktt = Array2::from_shape_fn((size, size), |(a, b)| {
                                kernel[[rows[a], rows[b]]]
                            });
                            let kxt =
                                Array2::from_shape_fn((m, size), |(a, b)| kernel[[te[a], rows[b]]]);
                            let y = Array2::from_shape_fn((size, classes), |(a, c)| {
                                f64::from(u8::from(labels[rows[a]] == c)) - 1.0 / classes as f64
                            });
                            let (pred, warnings) =
                                kernel_regression(ktt.view(), kxt.view(), y.view(), self.diag_reg)?;
                            report.notes.extend(warnings.into_iter().map(|w| {
                                format!(
                                    "{} (draw {d}, n = {size}, {}): {w}",
                                    model.name,
                                    ["NTK", "NNGP"][k]
                                )
                            }));
                            accs[k][c] += accuracy(&argmax_rows(pred.view()), &truth)
                                / partitions[d].len() as f64;
                        }
                    }
                }
                let [a_ntk, a_nngp] = accs;
                draws.ntk.push(a_ntk);
                draws.nngp.push(a_nngp);
            }
            results.push((model, draws, seconds));
        }
        tracker.finish();
        self.fill(report, &results);
        Ok(())
    }

    fn fill(&self, report: &mut ExperimentReport, results: &[(&ModelSpec, CurveDraws, f64)]) {
        let last = self.curve.len() - 1;
        let mut tables = [
            Table::new(
                format!(
                    "NTK test accuracy (t = ∞, diag_reg {}) against training-set size: mean ± standard error over {} draws of {} test images",
                    self.diag_reg, self.draws, self.test
                ),
                &[],
            ),
            Table::new(
                format!(
                    "NNGP test accuracy (t = ∞, diag_reg {}) against training-set size: mean ± standard error over {} draws",
                    self.diag_reg, self.draws
                ),
                &[],
            ),
        ];
        for t in &mut tables {
            t.header = std::iter::once("model".to_string())
                .chain(self.curve.iter().map(|m| format!("n = {m}")))
                .collect();
        }
        tables[0].header.push("kernel seconds".into());
        let mut figures = [
            Figure::new(
                format!("{}: NTK accuracy (band: ± 1 s.e.)", report.experiment),
                "training points",
                "test accuracy",
            ),
            Figure::new(
                format!("{}: NNGP accuracy (band: ± 1 s.e.)", report.experiment),
                "training points",
                "test accuracy",
            ),
        ]
        .map(|f| f.log_x().percent().legend_at(Legend::LowerRight));
        let xs: Vec<f64> = self.curve.iter().map(|&m| m as f64).collect();
        let pm = |e: &Estimate| format!("{} ± {}", percent(e.value), sig(100.0 * e.se, 2));
        let mut curves = Vec::new();
        let mut kernel_table = Table::new(
            format!(
                "NNGP against NTK (all {} training images): paired difference NNGP − NTK over {} draws [95 % t interval], in accuracy points",
                self.train, self.draws
            ),
            &["model", "NTK", "NNGP", "NNGP − NTK"],
        );
        for (model, draws, seconds) in results {
            let sums = [
                CurveDraws::summary(&draws.ntk),
                CurveDraws::summary(&draws.nngp),
            ];
            for k in 0..2 {
                let mut row: Vec<String> = std::iter::once(model.name.clone())
                    .chain(sums[k].iter().map(pm))
                    .collect();
                if k == 0 {
                    row.push(sig(*seconds, 3));
                }
                tables[k].push(row);
                figures[k].series.push(
                    Series::new(
                        &model.name,
                        xs.clone(),
                        sums[k].iter().map(|e| e.value).collect(),
                    )
                    .with_fill(
                        sums[k].iter().map(|e| e.value - e.se).collect(),
                        sums[k].iter().map(|e| e.value + e.se).collect(),
                    ),
                );
            }
            let at = |v: &Vec<Vec<f64>>| v.iter().map(|d| d[last]).collect::<Vec<f64>>();
            let (_, diff) = paired_claim(String::new(), &at(&draws.nngp), &at(&draws.ntk), percent);
            kernel_table.push(vec![
                model.name.clone(),
                pm(&sums[0][last]),
                pm(&sums[1][last]),
                format!(
                    "{} [{}, {}]",
                    sig(100.0 * diff.value, 3),
                    sig(100.0 * diff.ci.lo, 3),
                    sig(100.0 * diff.ci.hi, 3)
                ),
            ]);
            let (full, nngp_full) = (sums[0][last], sums[1][last]);
            let ci = |v: &[Estimate]| v.iter().map(|e| json!(e.ci)).collect::<Vec<_>>();
            let se = |v: &[Estimate]| v.iter().map(|e| e.se).collect::<Vec<_>>();
            let mean = |v: &[Estimate]| v.iter().map(|e| e.value).collect::<Vec<_>>();
            let curve = json!({
                "train": self.curve,
                "accuracy": mean(&sums[0]), "accuracy_se": se(&sums[0]), "accuracy_ci": ci(&sums[0]),
                "nngp_accuracy": mean(&sums[1]), "nngp_accuracy_se": se(&sums[1]), "nngp_accuracy_ci": ci(&sums[1]),
                "accuracy_by_draw": draws.ntk, "nngp_accuracy_by_draw": draws.nngp,
            });
            curves.push(json!({"model": model.name, "curve": curve}));
            report.models.push(
                ModelResult::new(&model.name)
                    .with("accuracy", full.value)
                    .with("accuracy_se", full.se)
                    .with("accuracy_ci", json!(full.ci))
                    .with("nngp_accuracy", nngp_full.value)
                    .with("nngp_accuracy_se", nngp_full.se)
                    .with("nngp_accuracy_ci", json!(nngp_full.ci))
                    .with("nngp_minus_ntk", diff.value)
                    .with("nngp_minus_ntk_ci", json!(diff.ci))
                    .with("draws", self.draws)
                    .with("kernel_seconds", *seconds)
                    .with("learning_curve", curve),
            );
        }
        for &(a, b) in self.comparisons {
            let find = |name: &str| results.iter().find(|r| r.0.name == name);
            if let (Some(ra), Some(rb)) = (find(a), find(b)) {
                let at = |v: &Vec<Vec<f64>>| v.iter().map(|d| d[last]).collect::<Vec<f64>>();
                let (claim, _) = paired_claim(
                    format!(
                        "{}: {a} NTK accuracy above {b} ({} training images)",
                        report.experiment, self.train
                    ),
                    &at(&ra.1.ntk),
                    &at(&rb.1.ntk),
                    percent,
                );
                report.claims.push(claim);
            }
        }
        let chance = 1.0 / self.train_images.num_classes() as f64;
        if let (Some(&a), Some(&b)) = (self.curve.first(), self.curve.last()) {
            for f in &mut figures {
                f.series.push(
                    Series::new(
                        format!("chance ({})", percent(chance)),
                        vec![a as f64, b as f64],
                        vec![chance, chance],
                    )
                    .as_reference(),
                );
            }
        }
        let [t_ntk, t_nngp] = tables;
        report.tables.extend([t_ntk, t_nngp, kernel_table]);
        report.figures.extend(figures);
        report.notes.push(format!(
            "{} independent train/test draws, each with its own {} training and {} test images (drawn independently of every other draw's, with their own Gram matrices), so the spread over draws covers the sampling of images from the source data, conditional on that source data (the embedded images, or the dataset's tiles){}; accuracies are means over the draws ± their standard error, intervals 95 % Student t; model comparisons are paired over draws.",
            self.draws,
            self.train,
            self.test,
            if self.shared && self.splits > 1 {
                format!(
                    "; each draw's accuracy is the mean over {} random train/test splits of its {} images",
                    self.splits,
                    self.train + self.test
                )
            } else {
                String::new()
            }
        ));
        report.extra = json!({"learning_curves": curves, "chance": chance, "draws": self.draws});
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// `k` random 10×10 images in 2 classes (the class shifts the mean a little, so accuracies vary), from
    /// `seed`.
    fn images(k: usize, seed: u64) -> LabelledImages {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let labels: Vec<usize> = (0..k).map(|i| i % 2).collect();
        let x = Array4::from_shape_fn((k, 10, 10, 1), |(i, ..)| {
            rng.random_range(-1.0..1.0) + labels[i] as f64 * 0.05
        });
        LabelledImages::new(x, labels, vec!["a".into(), "b".into()]).unwrap()
    }

    /// The per-draw NTK accuracies at every curve size of the first model.
    fn by_draw(r: &ExperimentReport) -> Vec<Vec<f64>> {
        serde_json::from_value(r.extra["learning_curves"][0]["curve"]["accuracy_by_draw"].clone())
            .unwrap()
    }

    /// Each draw's results come from its own images alone, so the draws are independent:
    /// replacing draw 1's images leaves draw 0's accuracies bit for bit, and changes draw 1's.
    /// Holds for both designs (a pool re-split per draw, and separate train/test sources).
    #[test]
    fn draws_use_their_own_images_only() {
        let o = ExperimentOptions {
            train: Some(8),
            test: Some(6),
            ..ExperimentOptions::default()
        };
        let mut c = ImageClassification::from_options(&o, (8, 6), 10, 2, &[]);
        c.draws = 2;
        c.splits = 3;
        for shared in [true, false] {
            let run = |train_seed: u64| {
                let mut train = images(16, 1);
                let other = images(16, train_seed);
                // Draw 1's training block (rows 8..16) from `train_seed`.
                let mut x = train.images().clone();
                x.slice_mut(ndarray::s![8.., .., .., ..])
                    .assign(&other.images().slice(ndarray::s![8.., .., .., ..]));
                train =
                    LabelledImages::new(x, train.labels().to_vec(), train.class_names().to_vec())
                        .unwrap();
                let report = c
                    .run(
                        ("test", json!({})),
                        Candidates {
                            train: &train,
                            test: &images(12, 2),
                            shared,
                            note: String::new(),
                        },
                        1,
                        Instant::now(),
                    )
                    .unwrap();
                by_draw(&report)
            };
            let (a, b) = (run(1), run(7));
            assert_eq!(a[0], b[0], "shared {shared}");
            assert_ne!(a[1], b[1], "shared {shared}");
        }
    }

    /// Too few candidates for the draws is a one-line usage error.
    #[test]
    fn too_few_candidates_are_refused() {
        let o = ExperimentOptions::default();
        let c = ImageClassification::from_options(&o, (8, 6), 10, 2, &[]);
        let e = c
            .run(
                ("test", json!({})),
                Candidates {
                    train: &images(8, 1),
                    test: &images(6, 2),
                    shared: true,
                    note: String::new(),
                },
                1,
                Instant::now(),
            )
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("cannot give") && e.lines().count() == 1, "{e}");
    }

    #[test]
    fn draws_are_disjoint_seeded_and_differ() {
        let (tr, te) = draw_indices(20, 20, true, 8, 10, 3, 0);
        assert_eq!((tr.len(), te.len()), (8, 10));
        assert!(tr.iter().all(|i| !te.contains(i)));
        assert_eq!(
            draw_indices(20, 20, true, 8, 10, 3, 0),
            (tr.clone(), te.clone())
        );
        assert_ne!(draw_indices(20, 20, true, 8, 10, 3, 1).0, tr);
        let (tr, te) = draw_indices(20, 12, false, 8, 6, 3, 2);
        assert!(tr.iter().all(|&i| i < 12) && te.iter().all(|&i| i >= 12));
    }

    #[test]
    fn paired_claims_need_an_interval_above_zero() {
        let (c, d) = paired_claim("a".into(), &[0.6, 0.62, 0.61], &[0.5, 0.52, 0.5], percent);
        assert_eq!(c.holds, Some(true));
        assert!(d.ci.lo > 0.0);
        let (c, _) = paired_claim("b".into(), &[0.6, 0.5, 0.61], &[0.55, 0.56, 0.57], percent);
        assert_eq!(c.holds, None);
        let (c, _) = paired_claim("c".into(), &[0.4, 0.41, 0.42], &[0.5, 0.52, 0.5], percent);
        assert_eq!(c.holds, Some(false));
    }
}
