//! The classification protocol shared by `rotmnist`, `textures` and `histology` (docs/theory.md#histology): centred one-hot labels, the NTK and NNGP mean predictions at `t = ∞` with relative
//! `diag_reg`, argmax, accuracy; learning curves from leading blocks of one Gram matrix per
//! model, **repeated over several random train/test draws** and reported as mean ± standard
//! error with 95 % Student-t intervals ([`super::stats`]).
//!
//! **Draws.** One pool of candidate images is loaded (and its Gram matrices computed) once; each
//! draw `d` (seeded by the experiment's seed and `d`) picks its training and test sets from the
//! pool at random: a random partition of the whole pool (`shared`), or training images from the
//! first `train_candidates` rows and test images from the rest (when train and test must come
//! from different sources, e.g. the two halves of the texture images). The draws differ in which
//! images are trained and tested on and in their order (the learning curve uses the first `m`
//! training images of each draw); they share the pool, so the spread over draws measures the
//! variation over train/test choices within it.
//!
//! **Comparisons.** "A above B" is decided from the per-draw paired differences (same training
//! and test images for both models): it holds when the 95 % t interval of the mean difference
//! lies above 0, fails when it lies below, and is not resolved otherwise.

use std::time::Instant;

use ndarray::{Array2, Array4, Axis};
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

/// Default number of train/test draws.
pub const DEFAULT_DRAWS: usize = 5;

/// The candidate images of a comparison and how draws pick from them.
pub struct Pool<'a> {
    /// The candidates (rows `..train_candidates` for training, the rest for testing, unless
    /// `shared`).
    pub images: &'a LabelledImages,
    /// Rows that may be drawn for training (when not `shared`).
    pub train_candidates: usize,
    /// Train and test are a random partition of all rows.
    pub shared: bool,
}

impl Pool<'_> {
    /// The training and test rows of draw `d`.
    pub fn draw(&self, train: usize, test: usize, seed: u64, d: usize) -> (Vec<usize>, Vec<usize>) {
        draw_indices(
            self.images.len(),
            self.train_candidates,
            self.shared,
            train,
            test,
            seed,
            d,
        )
    }
}

/// The rows of draw `d` from `total` candidates (see [`Pool`]): `train` training rows (in a
/// random order) and `test` test rows, disjoint. Seeded by `seed` and `d` (ChaCha8).
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

/// The candidate images an image-classification experiment loaded, before downsampling.
pub struct Candidates<'a> {
    /// Training candidates (the pool's leading rows).
    pub train: &'a LabelledImages,
    /// Test candidates.
    pub test: &'a LabelledImages,
    /// `Some(u)`: draws take training images from the first `u` rows and test images from the
    /// rest; `None`: every draw partitions the whole pool ([`Pool::shared`]).
    pub train_rows: Option<usize>,
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
    /// Random train/test draws from the pool of candidates.
    pub draws: usize,
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
    /// [`DEFAULT_DRAWS`] draws, `curve_points` learning-curve sizes, `diag_reg` 1e-4, and the
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
            draws: DEFAULT_DRAWS,
            image_size,
            curve: curve_sizes(train, curve_points),
            diag_reg: 1e-4,
            models,
        }
    }

    /// Refuses a run of experiment `name` whose data and kernels would not fit in memory:
    /// `candidates` training and test candidates of `values` f64 values each
    /// ([`super::common::run_bytes`]).
    pub fn check_memory(
        &self,
        name: &str,
        (train, test): (usize, usize),
        values: usize,
    ) -> Result<(), ExperimentError> {
        super::common::check_memory(
            super::common::run_bytes(train, test, values),
            &format!("{name} --train {} --test {}", self.train, self.test),
        )
    }

    /// Runs the comparison of experiment `name` (settings `config`, for the report) on the
    /// pool of `data`'s training then test candidates, area-downsampled to `image_size`; `start`
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
        let images = resize_labelled(&concat(data.train, data.test)?, self.image_size)?;
        let mut report = ExperimentReport::new(name, self.train, self.test, self.seed, config);
        Classification {
            pool: Pool {
                images: &images,
                train_candidates: data.train_rows.unwrap_or(images.len()),
                shared: data.train_rows.is_none(),
            },
            train: self.train,
            test: self.test,
            draws: self.draws,
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
    /// The candidate images.
    pub pool: Pool<'a>,
    /// Training images per draw.
    pub train: usize,
    /// Test images per draw.
    pub test: usize,
    /// Number of draws.
    pub draws: usize,
    /// Seed of the draws.
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
    /// Computes every model's Gram matrices over the pool and the accuracies of every draw, and
    /// fills `report` (models with means, standard errors and intervals, tables, figures with
    /// error bands, claims, `extra.learning_curves` with the per-draw values). First times a few
    /// pairs of each model and prints the size and time estimate.
    pub fn run_into(&self, report: &mut ExperimentReport) -> Result<(), ExperimentError> {
        let (n, m) = (self.train, self.test);
        let total_rows = self.pool.images.len();
        let u = if self.pool.shared {
            total_rows
        } else {
            self.pool.train_candidates
        };
        let need = if self.pool.shared {
            n + m <= total_rows
        } else {
            n <= u && m <= total_rows - u
        };
        if !need || self.draws == 0 || self.curve.last() != Some(&n) {
            return Err(ExperimentError::Usage(format!(
                "the pool of {total_rows} images cannot give {} draws of {n} training and {m} test images",
                self.draws
            )));
        }
        let nets = self
            .models
            .iter()
            .map(|model| model.network())
            .collect::<Result<Vec<_>, _>>()?;
        let images = self.pool.images.images();
        let cand = images.slice(ndarray::s![..u, .., .., ..]).to_owned();
        let rest: Option<Array4<f64>> =
            (!self.pool.shared).then(|| images.slice(ndarray::s![u.., .., .., ..]).to_owned());
        let costs = nets
            .iter()
            .map(|net| calibrate_pair_seconds(net, &cand, self.threads))
            .collect::<Result<Vec<_>, _>>()?;
        let (tt_units, xt_units) = (
            gram_units(u, None),
            rest.as_ref().map_or(0, |r| gram_units(r.dim().0, Some(u))),
        );
        let total: f64 = costs
            .iter()
            .map(|c| c.0 * (tt_units + xt_units) as f64)
            .sum();
        let experiment = report.experiment.clone();
        announce(
            &experiment,
            &format!(
                "{} models × {} kernel pairs (a pool of {total_rows} images; {} draws of {n} training and {m} test images)",
                self.models.len(),
                thousands(tt_units + xt_units),
                self.draws
            ),
            total,
            self.threads,
            &format!(
                "timed on {} pairs per model",
                gram_units(u.min(CALIBRATION_INPUTS), None)
            ),
        );
        let tracker = Tracker::new(&experiment, total);
        let labels = self.pool.images.labels();
        let classes = self.pool.images.num_classes();
        let splits: Vec<(Vec<usize>, Vec<usize>)> = (0..self.draws)
            .map(|d| self.pool.draw(n, m, self.seed, d))
            .collect();
        let mut results = Vec::new();
        for ((model, net), (cost, _)) in self.models.iter().zip(&nets).zip(&costs) {
            let start = Instant::now();
            let stage = tracker.stage(&format!("{} candidates", model.name), tt_units, *cost);
            let tt = gram(net, &cand, None, self.threads, Some(&stage))?;
            drop(stage);
            // Rows: every pool image; columns: the training candidates.
            let (kn, kt) = match &rest {
                None => (tt.nngp, tt.ntk),
                Some(r) => {
                    let stage =
                        tracker.stage(&format!("{} test × train", model.name), xt_units, *cost);
                    let xt = gram(net, r, Some(&cand), self.threads, Some(&stage))?;
                    drop(stage);
                    (
                        ndarray::concatenate(Axis(0), &[tt.nngp.view(), xt.nngp.view()])
                            .expect("same columns"),
                        ndarray::concatenate(Axis(0), &[tt.ntk.view(), xt.ntk.view()])
                            .expect("same columns"),
                    )
                }
            };
            let seconds = start.elapsed().as_secs_f64();
            let mut draws = CurveDraws {
                ntk: Vec::new(),
                nngp: Vec::new(),
            };
            for (d, (tr, te)) in splits.iter().enumerate() {
                let truth: Vec<usize> = te.iter().map(|&i| labels[i]).collect();
                let mut accs = [Vec::new(), Vec::new()];
                for (k, kernel) in [&kt, &kn].into_iter().enumerate() {
                    for &size in self.curve {
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
                        accs[k].push(accuracy(&argmax_rows(pred.view()), &truth));
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
        let chance = 1.0 / self.pool.images.num_classes() as f64;
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
            "{} random train/test draws from one pool of {} images ({}); accuracies are means over the draws ± their standard error, intervals 95 % Student t; model comparisons are paired over draws.",
            self.draws,
            self.pool.images.len(),
            if self.pool.shared {
                "each draw a random partition of the pool".to_string()
            } else {
                format!(
                    "training images from the first {} candidates, test images from the other {}",
                    self.pool.train_candidates,
                    self.pool.images.len() - self.pool.train_candidates
                )
            }
        ));
        report.extra = json!({"learning_curves": curves, "chance": chance, "draws": self.draws});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
