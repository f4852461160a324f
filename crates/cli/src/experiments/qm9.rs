//! `entk experiment qm9`: SO(3)-CNN NTK vs MLP NTK regressing U0 atomization energies
//! (docs/theory.md#qm9-energies).
//!
//! Molecules come from the embedded 2,000-molecule QM9 sample (seeded disjoint train/test
//! draws). Each atom gets 10 S² signals on the `L = 6` Driscoll–Healy grid (elements × powers
//! `[2, 6]`); molecules are padded to 29 atom slots. The paper's architecture gives every slot
//! its own independent sub-network and sums the outputs, so the molecule kernel is
//! `K_mol(A, B) = Σ_i K_atom(A_i, B_i)` over **matching slots**, computed here as a sum of
//! per-slot Gram matrices. A padding slot has a zero signal, and with bias-free layers and
//! `φ(0) = 0` (ReLU; erf with `c = 0`) every kernel entry involving a zero input is exactly 0,
//! so each slot's Gram matrix is computed only over the molecules that have an atom there.
//!
//! Beside the paper's per-slot models runs the permutation-invariant set model `so3_cnn_set`
//! ([`super::qm9_set`], docs/theory.md#qm9-energies, the "Option"): the same SO(3)-CNN atom network shared over
//! the atoms of a molecule and summed (`deep_set`), so `K_mol(A, B) = Σ_{i∈A} Σ_{j∈B}
//! K_atom(A_i, B_j)` over all pairs of real atoms, computed from one atom-level Gram matrix over
//! the unique atoms. It costs ≈ 18² times more per molecule pair, so it runs on a sub-pool (the
//! leading `set_train + set_test` molecules of the pool) with its own draws, where every model is
//! scored too (equal sizes, equal molecules, paired over draws). The order check shuffles the
//! atoms of `shuffled` test molecules of the first such draw (featurised again from the
//! shuffled molecules) and reports how much each model's predictions move.
//!
//! Targets are standardised with the training mean and (population) standard deviation; the
//! NTK mean prediction at `t = ∞` with relative `diag_reg = 5e-5` is mapped back and scored by
//! MAE and RMSE in meV, at several training sizes (leading blocks of one Gram matrix).

use std::time::Instant;

use ndarray::{s, Array2, Array4, ArrayView2};
use serde::Serialize;
use serde_json::{json, Value};

use entk_datasets::qm9::{
    atomization_energies_hartree, embedded_qm9_sample, hartree_to_mev, train_test_molecules,
    FeatureConfig, Molecule, Qm9Featurizer, Standardizer,
};
use entk_ntk::{Features, Gram, Layout, Network, Signature};

use super::classification::{draw_indices, paired_claim, CurveDraws, DEFAULT_DRAWS};
use super::common::{
    announce, curve_sizes, gram, gram_features, gram_units, kernel_regression, thousands,
    time_per_unit, ModelSpec, CALIBRATION_INPUTS, CODE_VERSION,
};
use super::qm9_set::{
    atom_pairs, molecule_sets, set_gram, set_network, shuffled, DEFAULT_SET_TEST,
    DEFAULT_SET_TRAIN, DEFAULT_SHUFFLED,
};
use super::stats::{mean_estimate, Claim, Estimate};
use super::{ExperimentError, ExperimentOptions};
use crate::progress::{Stage, Tracker};
use crate::report::{sig, ExperimentReport, Figure, ModelResult, Series, Table};

/// Default training molecules. The paper's network needs one SO(3) kernel per pair of atoms in
/// matching slots: ≈1.0 M atom pairs for 200 + 200 molecules at ≈0.26 ms each on 2 idle cores
/// (≈4.5 min; about twice that on a loaded machine).
pub const DEFAULT_TRAIN: usize = 200;
/// Default test molecules.
pub const DEFAULT_TEST: usize = 200;

/// Settings of the QM9 experiment.
#[derive(Debug, Clone, Serialize)]
pub struct Qm9Config {
    /// Code version.
    pub code_version: &'static str,
    /// Training molecules.
    pub train: usize,
    /// Test molecules.
    pub test: usize,
    /// Seed of the pool and the draws.
    pub seed: u64,
    /// Random train/test draws (partitions of the pool of `train + test` molecules).
    pub draws: usize,
    /// Bandlimit of the atom signals.
    pub bandlimit: usize,
    /// Distance powers.
    pub powers: Vec<i32>,
    /// Learning-curve training sizes.
    pub curve: Vec<usize>,
    /// Relative diagonal regularisation.
    pub diag_reg: f64,
    /// Atom combination.
    pub combination: &'static str,
    /// The per-slot sub-networks.
    pub models: Vec<ModelSpec>,
    /// The permutation-invariant set model (`deep_set` of the SO(3)-CNN atom network).
    pub set_model: ModelSpec,
    /// Training molecules per draw of the set model and of the equal-size comparison (drawn
    /// from the leading `set_train + set_test` molecules of the pool).
    pub set_train: usize,
    /// Test molecules per draw of the set model and of the equal-size comparison.
    pub set_test: usize,
    /// Learning-curve sizes of the equal-size comparison.
    pub set_curve: Vec<usize>,
    /// Test molecules of the first equal-size draw whose atoms are shuffled (order check).
    pub shuffled: usize,
}

/// The SO(3)-CNN atom network of docs/theory.md#qm9-energies for input bandlimit 6.
pub fn so3_atom_network() -> Value {
    json!({"layers": [
        {"type": "s2_lift_conv", "bandlimit_out": 3}, {"type": "erf"},
        {"type": "so3_conv", "bandlimit_out": 3}, {"type": "erf"},
        {"type": "so3_pool"}, {"type": "dense"}]})
}

/// The MLP atom network of docs/theory.md#qm9-energies.
pub fn mlp_atom_network() -> Value {
    json!({"layers": [{"type": "flatten"}, {"type": "dense"}, {"type": "relu"}, {"type": "dense"}]})
}

impl Qm9Config {
    /// The settings for command-line options.
    pub fn from_options(o: &ExperimentOptions) -> Self {
        let train = o.train.unwrap_or(DEFAULT_TRAIN);
        let test = o.test.unwrap_or(DEFAULT_TEST);
        let (set_train, set_test) = (DEFAULT_SET_TRAIN.min(train), DEFAULT_SET_TEST.min(test));
        Qm9Config {
            code_version: CODE_VERSION,
            train,
            test,
            seed: o.seed,
            draws: DEFAULT_DRAWS,
            bandlimit: 6,
            powers: vec![2, 6],
            curve: curve_sizes(train, 5),
            diag_reg: 5e-5,
            combination: "per-slot models: matching slots, K_mol(A,B) = Σ_i K_atom(A_i, B_i), 29 slots; so3_cnn_set: all pairs of real atoms, K_mol(A,B) = Σ_i Σ_j K_atom(A_i, B_j)",
            models: vec![
                ModelSpec::new("so3_cnn", so3_atom_network()),
                ModelSpec::new("mlp", mlp_atom_network()),
            ],
            set_model: ModelSpec::new("so3_cnn_set", set_network(&so3_atom_network())),
            set_train,
            set_test,
            set_curve: curve_sizes(set_train, 5),
            shuffled: DEFAULT_SHUFFLED.min(set_test),
        }
    }

    /// Runs the experiment.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        let molecules = embedded_qm9_sample()?;
        let (train, test) = train_test_molecules(&molecules, self.train, self.test, self.seed)?;
        // One pool (the first draw's molecules); each draw is a random partition of it.
        let pool: Vec<Molecule> = train.iter().chain(&test).cloned().collect();
        let featurizer = Qm9Featurizer::new(FeatureConfig {
            bandlimit: self.bandlimit,
            powers: self.powers.clone(),
            ..FeatureConfig::default()
        })?;
        let slots = featurizer.config().max_atoms;
        let energies = atomization_energies_hartree(&pool).to_vec();
        let mut report =
            ExperimentReport::new("qm9", self.train, self.test, self.seed, json!(self));
        let mut nets = Vec::new();
        for model in &self.models {
            match SlotNetwork::from_spec(&model.spec) {
                Ok(n) => nets.push((model, n)),
                Err(e) => report.notes.push(format!(
                    "{} not run: the kernel engine cannot build it ({e}).",
                    model.name
                )),
            }
        }
        // The equal-size draws over the sub-pool, and the order check's molecules: the first
        // such draw's training molecules and its leading test molecules with shuffled atoms.
        let sub = &pool[..self.set_train + self.set_test];
        let set_splits: Vec<(Vec<usize>, Vec<usize>)> = (0..self.draws)
            .map(|d| {
                draw_indices(
                    sub.len(),
                    sub.len(),
                    true,
                    self.set_train,
                    self.set_test,
                    self.seed ^ SET_DRAW_SEED,
                    d,
                )
            })
            .collect();
        let (order_tr, order_te) = (
            set_splits[0].0.clone(),
            set_splits[0].1[..self.shuffled].to_vec(),
        );
        let pick = |idx: &[usize]| idx.iter().map(|&i| pool[i].clone()).collect::<Vec<_>>();
        let order_train = pick(&order_tr);
        let order_test = shuffled(&pick(&order_te), self.seed ^ SHUFFLE_SEED)?;
        let set_net = self.set_model.network()?;
        // Time a few atom pairs of each network, then announce the size and the estimate.
        let units = molecule_gram_units(&pool, &[], slots);
        let order_units = molecule_gram_units(&order_train, &order_test, slots);
        let set_pairs = atom_pairs(sub, Some((&order_test, &order_train)));
        let k = pool.len().min(CALIBRATION_INPUTS);
        let probe = featurizer.slot_signals(&pool[..k], 0)?;
        let costs = nets
            .iter()
            .map(|(_, net)| {
                time_per_unit(gram_units(k, None), || {
                    net.gram(&probe, None, threads, None)
                })
                .map(|c| c.0)
            })
            .collect::<Result<Vec<f64>, _>>()?;
        // The set model evaluates the SO(3)-CNN atom network on atom pairs.
        let atom_cost = nets
            .iter()
            .zip(&costs)
            .find(|((m, _), _)| m.spec["layers"] == self.set_model.spec["layers"][0]["layers"])
            .map_or_else(|| costs.iter().copied().fold(0.0, f64::max), |(_, c)| *c);
        let total: f64 = costs
            .iter()
            .map(|c| c * (units + order_units) as f64)
            .sum::<f64>()
            + atom_cost * set_pairs as f64;
        announce(
            "qm9",
            &format!(
                "{} per-slot models × {} atom-pair kernels (a pool of {} molecules, {slots} atom slots; {} draws of {} training and {} test molecules) and the set model on {} atom pairs (a sub-pool of {} molecules; draws of {} / {})",
                nets.len(),
                thousands(units + order_units),
                pool.len(),
                self.draws,
                self.train,
                self.test,
                thousands(set_pairs),
                sub.len(),
                self.set_train,
                self.set_test
            ),
            total,
            threads,
            &format!("timed on {} pairs per model", gram_units(k, None)),
        );
        let splits: Vec<(Vec<usize>, Vec<usize>)> = (0..self.draws)
            .map(|d| {
                draw_indices(
                    pool.len(),
                    pool.len(),
                    true,
                    self.train,
                    self.test,
                    self.seed,
                    d,
                )
            })
            .collect();
        let tracker = Tracker::new("qm9", total);
        let mut results = Vec::new();
        let mut equal = Vec::new();
        for ((model, net), cost) in nets.iter().zip(&costs) {
            let t0 = Instant::now();
            let (grams, slot_pairs) = molecule_grams(
                net,
                &featurizer,
                &pool,
                &[],
                slots,
                threads,
                (&tracker, *cost, &model.name),
            )?;
            // The order check: the shuffled molecules against the first draw's training ones.
            let (order_gram, order_pairs) = molecule_grams(
                net,
                &featurizer,
                &order_train,
                &order_test,
                slots,
                threads,
                (
                    &tracker,
                    *cost,
                    format!("{} order check", model.name).as_str(),
                ),
            )?;
            let seconds = t0.elapsed().as_secs_f64();
            let label = |kernel: &str| format!("{} ({kernel})", model.name);
            // [kernel][draw][size] of (MAE, RMSE) in meV.
            let errs = [
                self.draw_errors(
                    &grams.ntk,
                    &splits,
                    &self.curve,
                    &energies,
                    &label("NTK"),
                    &mut report.notes,
                )?,
                self.draw_errors(
                    &grams.nngp,
                    &splits,
                    &self.curve,
                    &energies,
                    &label("NNGP"),
                    &mut report.notes,
                )?,
            ];
            equal.push(EqualSize {
                name: model.name.clone(),
                errs: self.draw_errors(
                    &grams.ntk,
                    &set_splits,
                    &self.set_curve,
                    &energies,
                    &label("NTK, equal size"),
                    &mut report.notes,
                )?,
                order: self.order_change(
                    &grams.ntk,
                    (&order_tr[..], &order_te[..]),
                    order_gram.ntk.slice(s![order_tr.len().., ..]),
                    &energies,
                )?,
                seconds,
                pairs: slot_pairs + order_pairs,
            });
            results.push((*model, errs, seconds, slot_pairs));
        }
        // The set model on the sub-pool: one atom-level Gram matrix over its unique atoms.
        let t0 = Instant::now();
        let sets = molecule_sets(&featurizer, sub)?;
        let (n_sets, pool_pairs) = (sets.len(), atom_pairs(sub, None));
        let stage = tracker.stage(
            "so3_cnn_set: all atom pairs of the sub-pool",
            gram_units(n_sets, None),
            atom_cost * pool_pairs as f64 / gram_units(n_sets, None).max(1) as f64,
        );
        let set_grams = set_gram(&set_net, &sets, None, threads, &stage)?;
        drop(stage);
        let train_sets: Vec<_> = order_tr.iter().map(|&i| sets[i].clone()).collect();
        let test_sets = molecule_sets(&featurizer, &order_test)?;
        let units = gram_units(test_sets.len(), Some(train_sets.len()));
        let stage = tracker.stage(
            "so3_cnn_set order check",
            units,
            atom_cost * (set_pairs - pool_pairs) as f64 / units.max(1) as f64,
        );
        let order_gram = set_gram(&set_net, &test_sets, Some(&train_sets), threads, &stage)?;
        drop(stage);
        equal.push(EqualSize {
            name: self.set_model.name.clone(),
            errs: self.draw_errors(
                &set_grams.ntk,
                &set_splits,
                &self.set_curve,
                &energies,
                "so3_cnn_set (NTK)",
                &mut report.notes,
            )?,
            order: self.order_change(
                &set_grams.ntk,
                (&order_tr[..], &order_te[..]),
                order_gram.ntk.view(),
                &energies,
            )?,
            seconds: t0.elapsed().as_secs_f64(),
            pairs: set_pairs,
        });
        tracker.finish();
        self.fill(&mut report, &results, &splits, &energies);
        self.fill_equal_size(&mut report, &equal);
        report.notes.insert(
            0,
            format!(
                "Embedded QM9 sample: a pool of {} molecules, {} random train/test draws ({} / {}); atom signals at L = {} ({}×{} grid, powers {:?}, 10 channels), 29 slots, matching-slot molecule kernel; targets standardised with each draw's training mean and std. The set model so3_cnn_set (all atom pairs) and the equal-size comparison use {} draws of {} / {} molecules from the leading {} of the pool. Errors are means over the draws ± their standard error, intervals 95 % Student t; comparisons paired over draws.",
                pool.len(),
                self.draws,
                self.train,
                self.test,
                self.bandlimit,
                2 * self.bandlimit,
                2 * self.bandlimit - 1,
                self.powers,
                self.draws,
                self.set_train,
                self.set_test,
                sub.len(),
            ),
        );
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Tables, figure, models and claims from the per-draw errors.
    fn fill(
        &self,
        report: &mut ExperimentReport,
        results: &[ModelErrors<'_>],
        splits: &[(Vec<usize>, Vec<usize>)],
        energies: &[f64],
    ) {
        let last = self.curve.len() - 1;
        let pm = |e: &Estimate| format!("{} ± {}", sig(e.value, 4), sig(e.se, 2));
        let mut table = Table::new(
            format!(
                "U0 atomization energy at t = ∞ (diag_reg {}), {} test molecules: MAE in meV, mean ± standard error over {} draws (RMSE in the JSON)",
                self.diag_reg, self.test, self.draws
            ),
            &[],
        );
        table.header = std::iter::once("model".to_string())
            .chain(self.curve.iter().map(|m| format!("n = {m}")))
            .chain(["kernel seconds".to_string()])
            .collect();
        let mut figure = mae_figure("QM9: test MAE (band: ± 1 s.e.)");
        let xs: Vec<f64> = self.curve.iter().map(|&m| m as f64).collect();
        let mut curves = Vec::new();
        let per = |v: &[Vec<(f64, f64)>], f: fn(&(f64, f64)) -> f64| -> Vec<Vec<f64>> {
            v.iter().map(|d| d.iter().map(f).collect()).collect()
        };
        for (model, errs, seconds, pairs) in results {
            let mut m = ModelResult::new(&model.name)
                .with("kernel_seconds", *seconds)
                .with("atom_pairs", *pairs)
                .with("draws", self.draws);
            let mut curve = serde_json::Map::new();
            curve.insert("train".into(), json!(self.curve));
            for (kk, kernel) in ["", "nngp_"].into_iter().enumerate() {
                let sums = add_curve(&mut curve, kernel, &errs[kk]);
                for (metric, sum) in ["mae_mev", "rmse_mev"].into_iter().zip(&sums) {
                    m = with_estimate(m, &format!("{kernel}{metric}"), &sum[last]);
                }
                if kk == 0 {
                    table.push(
                        std::iter::once(model.name.clone())
                            .chain(sums[0].iter().map(pm))
                            .chain([sig(*seconds, 3)])
                            .collect(),
                    );
                    figure.series.push(banded(&model.name, &xs, &sums[0]));
                }
            }
            let curve = Value::Object(curve);
            curves.push(json!({"model": model.name, "curve": curve}));
            report.models.push(m.with("learning_curve", curve));
        }
        let mae = |name: &str, kk: usize| -> Option<Vec<f64>> {
            let r = results.iter().find(|r| r.0.name == name)?;
            Some(r.1[kk].iter().map(|d| d[last].0).collect())
        };
        let mev = |v: f64| format!("{} meV", sig(v, 4));
        for &(a, b) in QM9_COMPARISONS {
            if let (Some(ea), Some(eb)) = (mae(a, 0), mae(b, 0)) {
                // "a below b" ⇔ the paired difference b − a is positive.
                let (claim, _) = paired_claim(
                    format!(
                        "QM9: {a} NTK MAE below {b} ({} training molecules)",
                        self.train
                    ),
                    &eb,
                    &ea,
                    mev,
                );
                report.claims.push(claim);
            }
        }
        let mut kernel_table = Table::new(
            format!("NNGP against NTK (all {} training molecules): MAE in meV, mean ± s.e. over draws; paired difference NNGP − NTK [95 % t interval]", self.train),
            &["model", "NTK", "NNGP", "NNGP − NTK"],
        );
        for (model, errs, _, _) in results {
            let (t, n) = (per(&errs[0], |p| p.0), per(&errs[1], |p| p.0));
            let (et, en) = (CurveDraws::summary(&t)[last], CurveDraws::summary(&n)[last]);
            let (_, d) = paired_claim(
                String::new(),
                &n.iter().map(|v| v[last]).collect::<Vec<_>>(),
                &t.iter().map(|v| v[last]).collect::<Vec<_>>(),
                mev,
            );
            kernel_table.push(vec![
                model.name.clone(),
                pm(&et),
                pm(&en),
                format!(
                    "{} [{}, {}]",
                    sig(d.value, 3),
                    sig(d.ci.lo, 3),
                    sig(d.ci.hi, 3)
                ),
            ]);
        }
        let baseline: Vec<f64> = splits
            .iter()
            .map(|(tr, te)| {
                let mean = tr.iter().map(|&i| energies[i]).sum::<f64>() / tr.len() as f64;
                te.iter()
                    .map(|&i| hartree_to_mev((energies[i] - mean).abs()))
                    .sum::<f64>()
                    / te.len() as f64
            })
            .collect();
        let base = mean_estimate(&baseline);
        report.notes.push(format!(
            "Predicting the training mean gives MAE {} meV.",
            pm(&base)
        ));
        report.tables.extend([table, kernel_table]);
        report.figures.push(figure);
        report.extra = json!({"learning_curves": curves, "mean_baseline_mae_mev": base.value, "mean_baseline_mae_mev_ci": base.ci, "draws": self.draws});
    }

    /// `[draw][size]` of (MAE, RMSE) in meV of the NTK/NNGP mean prediction with `kernel` (rows
    /// and columns index `energies`) for each draw's split along `curve` (leading training
    /// rows). Targets are standardised with each draw's whole training set; solver warnings go to
    /// `notes`, labelled.
    fn draw_errors(
        &self,
        kernel: &Array2<f64>,
        splits: &[(Vec<usize>, Vec<usize>)],
        curve: &[usize],
        energies: &[f64],
        label: &str,
        notes: &mut Vec<String>,
    ) -> Result<Vec<Vec<(f64, f64)>>, ExperimentError> {
        let mut out = Vec::with_capacity(splits.len());
        for (d, (tr, te)) in splits.iter().enumerate() {
            let scaler = Standardizer::fit(&tr.iter().map(|&i| energies[i]).collect::<Vec<_>>())?;
            let mut row = Vec::with_capacity(curve.len());
            for &m in curve {
                let rows = &tr[..m];
                let (pred, warnings) = self.predict(
                    block(kernel, rows, rows).view(),
                    block(kernel, te, rows).view(),
                    rows,
                    energies,
                    &scaler,
                )?;
                notes.extend(
                    warnings
                        .into_iter()
                        .map(|w| format!("{label} (draw {d}, n = {m}): {w}")),
                );
                let e: Vec<f64> = pred
                    .iter()
                    .zip(te)
                    .map(|(p, &i)| hartree_to_mev(p - energies[i]))
                    .collect();
                let mae = e.iter().map(|v| v.abs()).sum::<f64>() / e.len() as f64;
                let rmse = (e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64).sqrt();
                row.push((mae, rmse));
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Predicted energies (Hartree) from the train × train and test × train kernels, the
    /// training rows of `energies` standardised by `scaler`, and the solver's warnings.
    fn predict(
        &self,
        ktt: ArrayView2<'_, f64>,
        kxt: ArrayView2<'_, f64>,
        rows: &[usize],
        energies: &[f64],
        scaler: &Standardizer,
    ) -> Result<(Vec<f64>, Vec<String>), ExperimentError> {
        let y = Array2::from_shape_fn((rows.len(), 1), |(a, _)| {
            scaler.standardize(energies[rows[a]])
        });
        let (pred, warnings) = kernel_regression(ktt, kxt, y.view(), self.diag_reg)?;
        Ok((
            pred.column(0)
                .iter()
                .map(|z| scaler.unstandardize(*z))
                .collect(),
            warnings,
        ))
    }

    /// How much the predictions for the test rows `te` move when their atoms are shuffled:
    /// `(mean, max)` of `|Δ|` in meV, with `kernel`'s `te × tr` block against `shuffled`
    /// (the shuffled molecules × `tr`), both trained on `tr`.
    fn order_change(
        &self,
        kernel: &Array2<f64>,
        (tr, te): (&[usize], &[usize]),
        shuffled: ArrayView2<'_, f64>,
        energies: &[f64],
    ) -> Result<(f64, f64), ExperimentError> {
        let scaler = Standardizer::fit(&tr.iter().map(|&i| energies[i]).collect::<Vec<_>>())?;
        let ktt = block(kernel, tr, tr);
        let (a, _) = self.predict(
            ktt.view(),
            block(kernel, te, tr).view(),
            tr,
            energies,
            &scaler,
        )?;
        let (b, _) = self.predict(ktt.view(), shuffled, tr, energies, &scaler)?;
        let d: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| hartree_to_mev((x - y).abs()))
            .collect();
        let mean = d.iter().sum::<f64>() / d.len().max(1) as f64;
        Ok((mean, d.iter().fold(0.0f64, |m, v| m.max(*v))))
    }

    /// The equal-size comparison (table, figure, `equal_size` curves), the order check (table,
    /// `order_change_*_mev`), the set model's entry and their claims.
    fn fill_equal_size(&self, report: &mut ExperimentReport, rows: &[EqualSize]) {
        let (n_s, m_s, last) = (self.set_train, self.set_test, self.set_curve.len() - 1);
        let pm = |e: &Estimate| format!("{} ± {}", sig(e.value, 4), sig(e.se, 2));
        let mut table = Table::new(
            format!(
                "Equal size, same molecules: {} draws of {n_s} training and {m_s} test molecules from a sub-pool of {}: NTK MAE in meV, mean ± standard error over draws (so3_cnn_set: shared atom network, all atom pairs)",
                self.draws,
                n_s + m_s
            ),
            &[],
        );
        table.header = std::iter::once("model".to_string())
            .chain(self.set_curve.iter().map(|m| format!("n = {m}")))
            .collect();
        let mut figure =
            mae_figure("QM9 at equal size: per-slot models vs the set model (band: ± 1 s.e.)");
        let xs: Vec<f64> = self.set_curve.iter().map(|&m| m as f64).collect();
        let mut order = Table::new(
            format!(
                "Atom order: the atoms of {} test molecules shuffled (first draw, {n_s} training molecules); change of each NTK prediction in meV",
                self.shuffled
            ),
            &["model", "mean |Δ|", "max |Δ|"],
        );
        for row in rows {
            let mut curve = serde_json::Map::new();
            curve.insert("train".into(), json!(self.set_curve));
            curve.insert("test".into(), json!(m_s));
            let sums = add_curve(&mut curve, "", &row.errs);
            let curve = Value::Object(curve);
            table.push(
                std::iter::once(row.name.clone())
                    .chain(sums[0].iter().map(pm))
                    .collect(),
            );
            figure.series.push(banded(&row.name, &xs, &sums[0]));
            order.push(vec![
                row.name.clone(),
                sig(row.order.0, 3),
                sig(row.order.1, 3),
            ]);
            let entry = |m: ModelResult| {
                m.with("equal_size", curve.clone())
                    .with("order_change_mean_mev", row.order.0)
                    .with("order_change_max_mev", row.order.1)
            };
            match report.models.iter().position(|m| m.name == row.name) {
                Some(i) => {
                    let m = std::mem::replace(&mut report.models[i], ModelResult::new(""));
                    report.models[i] = entry(m);
                }
                None => {
                    let mut m = ModelResult::new(&row.name)
                        .with("kernel_seconds", row.seconds)
                        .with("atom_pairs", row.pairs)
                        .with("draws", self.draws)
                        .with("train", n_s)
                        .with("test", m_s)
                        .with("learning_curve", curve.clone());
                    for (metric, sum) in ["mae_mev", "rmse_mev"].into_iter().zip(&sums) {
                        m = with_estimate(m, metric, &sum[last]);
                    }
                    report.models.push(entry(m));
                }
            }
        }
        let find = |name: &str| rows.iter().find(|r| r.name == name);
        let mev = |v: f64| format!("{} meV", sig(v, 4));
        if let (Some(slot), Some(set)) = (find("so3_cnn"), find(self.set_model.name.as_str())) {
            let at_last = |r: &EqualSize| r.errs.iter().map(|d| d[last].0).collect::<Vec<_>>();
            let (claim, d) = paired_claim(
                format!(
                    "QM9 (equal size, {n_s} training molecules): {} NTK MAE below so3_cnn (per-slot)",
                    self.set_model.name
                ),
                &at_last(slot),
                &at_last(set),
                mev,
            );
            let verdict = match claim.holds {
                Some(true) => "the set model wins",
                Some(false) => "the per-slot SO(3)-CNN wins",
                None => "the intervals do not decide which wins",
            };
            report.notes.push(format!(
                "Set model vs per-slot SO(3)-CNN on the same {n_s} training and {m_s} test molecules ({} draws): paired MAE difference per-slot − set {} [{}, {}] meV (95 % t interval): {verdict}. The set model needs {} atom-pair kernels (their time is `kernel_seconds` in the JSON: notes hold no timings, so that reruns agree on them). Shuffling the atoms of {} test molecules moves the per-slot predictions by up to {} meV and the set model's by up to {} meV (rounding).",
                self.draws,
                sig(d.value, 3),
                sig(d.ci.lo, 3),
                sig(d.ci.hi, 3),
                thousands(set.pairs),
                self.shuffled,
                sig(slot.order.1, 3),
                sig(set.order.1, 2)
            ));
            report.claims.push(claim);
            report.claims.push(Claim::new(
                format!(
                    "QM9: shuffling atoms leaves the {} predictions unchanged up to rounding (max |Δ| < {ORDER_ROUNDING_MEV} meV) and moves the per-slot so3_cnn's (max |Δ| > 1 meV)",
                    self.set_model.name
                ),
                Some(set.order.1 < ORDER_ROUNDING_MEV && slot.order.1 > 1.0),
                format!(
                    "max |Δ| {} meV (set) vs {} meV (per-slot) over {} shuffled test molecules; exact computation, no sampling",
                    sig(set.order.1, 2),
                    sig(slot.order.1, 4),
                    self.shuffled
                ),
            ));
        }
        report.tables.extend([table, order]);
        report.figures.push(figure);
    }
}

/// The largest prediction change (meV) that the order check counts as rounding: the set
/// kernel is invariant exactly, and its sums change only in the order of additions.
pub const ORDER_ROUNDING_MEV: f64 = 1e-6;

/// Seed salt of the equal-size draws over the sub-pool.
const SET_DRAW_SEED: u64 = 0x5e7_d4a3;
/// Seed salt of the atom shuffles of the order check.
const SHUFFLE_SEED: u64 = 0x5e7_0fde;

/// One model at equal size: its name, `[draw][size]` NTK (MAE, RMSE) in meV, the order check's
/// `(mean, max)` prediction change in meV, its kernel seconds and atom pairs.
struct EqualSize {
    name: String,
    errs: Vec<Vec<(f64, f64)>>,
    order: (f64, f64),
    seconds: f64,
    pairs: usize,
}

/// The `rows × cols` block of `kernel`.
fn block(kernel: &Array2<f64>, rows: &[usize], cols: &[usize]) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), cols.len()), |(a, b)| {
        kernel[[rows[a], cols[b]]]
    })
}

/// Adds one kernel's learning curve from `[draw][size]` (MAE, RMSE) to `curve`: for `mae_mev`
/// and `rmse_mev` (prefixed by `prefix`) the means, `_se`, `_ci` (95 %) and `_by_draw` values.
/// Returns the MAE and RMSE summaries per size.
fn add_curve(
    curve: &mut serde_json::Map<String, Value>,
    prefix: &str,
    errs: &[Vec<(f64, f64)>],
) -> [Vec<Estimate>; 2] {
    let one = |f: fn(&(f64, f64)) -> f64| -> Vec<Vec<f64>> {
        errs.iter().map(|d| d.iter().map(f).collect()).collect()
    };
    let by_draw = [one(|p| p.0), one(|p| p.1)];
    let mut out = [Vec::new(), Vec::new()];
    for ((metric, values), sum) in ["mae_mev", "rmse_mev"]
        .into_iter()
        .zip(by_draw)
        .zip(&mut out)
    {
        let key = format!("{prefix}{metric}");
        *sum = CurveDraws::summary(&values);
        curve.insert(
            key.clone(),
            json!(sum.iter().map(|e| e.value).collect::<Vec<_>>()),
        );
        curve.insert(
            format!("{key}_se"),
            json!(sum.iter().map(|e| e.se).collect::<Vec<_>>()),
        );
        curve.insert(
            format!("{key}_ci"),
            json!(sum.iter().map(|e| e.ci).collect::<Vec<_>>()),
        );
        curve.insert(format!("{key}_by_draw"), json!(values));
    }
    out
}

/// `key`, `key_se` and `key_ci` of an estimate.
fn with_estimate(m: ModelResult, key: &str, e: &Estimate) -> ModelResult {
    m.with(key, e.value)
        .with(&format!("{key}_se"), e.se)
        .with(&format!("{key}_ci"), json!(e.ci))
}

/// A curve of means with a ± 1 standard error band.
fn banded(name: &str, xs: &[f64], sum: &[Estimate]) -> Series {
    Series::new(name, xs.to_vec(), sum.iter().map(|e| e.value).collect()).with_fill(
        sum.iter().map(|e| e.value - e.se).collect(),
        sum.iter().map(|e| e.value + e.se).collect(),
    )
}

/// One model's errors: its spec, `[NTK, NNGP][draw][size]` of (MAE, RMSE) in meV, kernel seconds
/// and atom pairs.
type ModelErrors<'a> = (&'a ModelSpec, [Vec<Vec<(f64, f64)>>; 2], f64, usize);

/// "First model's NTK MAE below the second's", decided over the draws. A new model (e.g. a
/// permutation-invariant set model) adds a row here and one to [`Qm9Config::models`].
pub const QM9_COMPARISONS: &[(&str, &str)] = &[("so3_cnn", "mlp")];

/// How an atom network is evaluated on one slot's signals.
pub enum SlotNetwork {
    /// On S² signals `(2L, 2L−1, C)`, as images.
    Signals(Network),
    /// A spec starting with `flatten`, evaluated as the rest of the spec on flattened vectors
    /// ([`Network::gram_vectors`]). docs/theory.md#pools-reshapes-normalisation's Flatten kernel is `P⁻¹ Σ_p K⁰(p,p) =
    /// x·x′/(P·C)`, exactly the vector input kernel `x·x′/D`, and Flatten has no parameters, so
    /// NNGP and NTK are identical (checked in the tests) while the vector path skips the
    /// `P²`-sized position-pair input kernel.
    Vectors(Network),
}

impl SlotNetwork {
    /// Builds the network of a spec, choosing the vector path for a leading `flatten`.
    pub fn from_spec(spec: &Value) -> Result<Self, ExperimentError> {
        let layers = spec.get("layers").and_then(Value::as_array);
        match layers {
            Some(l)
                if l.len() > 1 && l[0].get("type").and_then(Value::as_str) == Some("flatten") =>
            {
                let mut rest = spec.clone();
                rest["layers"] = Value::Array(l[1..].to_vec());
                Ok(SlotNetwork::Vectors(Network::from_json(&rest.to_string())?))
            }
            _ => Ok(SlotNetwork::Signals(Network::from_json(&spec.to_string())?)),
        }
    }

    /// NNGP/NTK Gram matrices of slot signals `(N, 2L, 2L−1, C)`, reporting pairs to `stage`.
    pub fn gram(
        &self,
        x1: &Array4<f64>,
        x2: Option<&Array4<f64>>,
        threads: usize,
        stage: Option<&Stage<'_>>,
    ) -> Result<Gram, ExperimentError> {
        match self {
            SlotNetwork::Signals(net) => gram(net, x1, x2, threads, stage),
            SlotNetwork::Vectors(net) => {
                // Each signal flattened to one vector `(2L·(2L−1)·C)` in memory order, the
                // input of `gram_vectors` (`K⁰ = x·x′/D`), as engine features so that the
                // Gram matrix goes through the tile store like the others.
                let flat = |x: &Array4<f64>| -> Vec<Features> {
                    let d = x.len() / x.dim().0.max(1);
                    x.outer_iter()
                        .map(|s| Features {
                            sig: Signature {
                                layout: Layout::Scalar,
                                channels: d,
                            },
                            data: s.iter().copied().collect(),
                        })
                        .collect()
                };
                let (a, b) = (flat(x1), x2.map(flat));
                gram_features(net, &a, b.as_deref(), threads, stage)
            }
        }
    }
}

/// The units [`molecule_grams`] reports: per slot, the engine units of its train × train and
/// test × train Gram matrices over the molecules with an atom in that slot.
pub fn molecule_gram_units(train: &[Molecule], test: &[Molecule], slots: usize) -> usize {
    (0..slots)
        .map(|slot| {
            let tr = train.iter().filter(|m| m.num_atoms() > slot).count();
            let te = test.iter().filter(|m| m.num_atoms() > slot).count();
            match (tr, te) {
                (0, _) => 0,
                (tr, 0) => gram_units(tr, None),
                (tr, te) => gram_units(tr, None) + gram_units(te, Some(tr)),
            }
        })
        .sum()
}

/// Where [`molecule_grams`] reports progress: the tracker, the cost of one unit, the model name.
pub type SlotProgress<'a> = (&'a Tracker, f64, &'a str);

/// Molecule Gram matrices `Σ_slots` of the per-slot atom Gram matrices, NTK and NNGP, as
/// `(train + test) × train` (the train×train block, then test×train), computing each slot only
/// over molecules with an atom in it. Also returns the number of atom pairs evaluated.
pub fn molecule_grams(
    net: &SlotNetwork,
    featurizer: &Qm9Featurizer,
    train: &[Molecule],
    test: &[Molecule],
    slots: usize,
    threads: usize,
    (tracker, cost, name): SlotProgress<'_>,
) -> Result<(Gram, usize), ExperimentError> {
    let (n, m) = (train.len(), test.len());
    let mut out = Gram {
        nngp: Array2::zeros((n + m, n)),
        ntk: Array2::zeros((n + m, n)),
    };
    let mut pairs = 0;
    for slot in 0..slots {
        let tr: Vec<usize> = (0..n).filter(|&i| train[i].num_atoms() > slot).collect();
        if tr.is_empty() {
            continue;
        }
        let te: Vec<usize> = (0..m).filter(|&i| test[i].num_atoms() > slot).collect();
        let pick = |set: &[Molecule], idx: &[usize]| {
            idx.iter().map(|&i| set[i].clone()).collect::<Vec<_>>()
        };
        let xtr = featurizer.slot_signals(&pick(train, &tr), slot)?;
        let stage = tracker.stage(
            &format!("{name} slot {slot} train×train"),
            gram_units(tr.len(), None),
            cost,
        );
        let g = net.gram(&xtr, None, threads, Some(&stage))?;
        drop(stage);
        for (a, &i) in tr.iter().enumerate() {
            for (b, &j) in tr.iter().enumerate() {
                out.ntk[[i, j]] += g.ntk[[a, b]];
                out.nngp[[i, j]] += g.nngp[[a, b]];
            }
        }
        pairs += tr.len() * (tr.len() + 1) / 2;
        if !te.is_empty() {
            let xte = featurizer.slot_signals(&pick(test, &te), slot)?;
            let stage = tracker.stage(
                &format!("{name} slot {slot} test×train"),
                gram_units(te.len(), Some(tr.len())),
                cost,
            );
            let g = net.gram(&xte, Some(&xtr), threads, Some(&stage))?;
            drop(stage);
            for (a, &i) in te.iter().enumerate() {
                for (b, &j) in tr.iter().enumerate() {
                    out.ntk[[n + i, j]] += g.ntk[[a, b]];
                    out.nngp[[n + i, j]] += g.nngp[[a, b]];
                }
            }
            pairs += te.len() * tr.len();
        }
    }
    Ok((out, pairs))
}

/// A log-log learning-curve figure of test MAE (meV) against training molecules.
fn mae_figure(title: &str) -> Figure {
    Figure::new(title, "training molecules", "MAE (meV)").log_log()
}

#[cfg(test)]
mod tests {
    use super::*;
    use entk_ntk::GramOptions;

    /// The embedded molecules and a bandlimit-2 featurizer.
    fn molecules_and_featurizer() -> (Vec<Molecule>, Qm9Featurizer) {
        let featurizer = Qm9Featurizer::new(FeatureConfig {
            bandlimit: 2,
            ..FeatureConfig::default()
        });
        (embedded_qm9_sample().unwrap(), featurizer.unwrap())
    }

    /// The MLP's vector path gives the same kernels as the engine's `flatten` on images.
    #[test]
    fn mlp_vector_path_equals_flatten_on_signals() {
        let (molecules, featurizer) = molecules_and_featurizer();
        let x = featurizer.slot_signals(&molecules[..5], 0).unwrap();
        let y = featurizer.slot_signals(&molecules[5..8], 1).unwrap();
        let images =
            SlotNetwork::Signals(Network::from_json(&mlp_atom_network().to_string()).unwrap());
        let vectors = SlotNetwork::from_spec(&mlp_atom_network()).unwrap();
        assert!(matches!(vectors, SlotNetwork::Vectors(_)));
        let (a, b) = (
            images.gram(&y, Some(&x), 1, None).unwrap(),
            vectors.gram(&y, Some(&x), 1, None).unwrap(),
        );
        for (p, q) in a.ntk.iter().zip(&b.ntk).chain(a.nngp.iter().zip(&b.nngp)) {
            assert!((p - q).abs() <= 1e-12 * p.abs().max(1.0), "{p} vs {q}");
        }
    }

    /// Skipping padding slots is exact: a zero input has zero kernel with everything.
    #[test]
    fn padding_slots_contribute_exactly_zero_to_the_mlp_kernel() {
        let (molecules, featurizer) = molecules_and_featurizer();
        let set: Vec<Molecule> = molecules[..6].to_vec();
        let slot = set.iter().map(Molecule::num_atoms).min().unwrap();
        assert!(
            set.iter().any(|m| m.num_atoms() > slot),
            "need a mix of real and padding atoms"
        );
        let x = featurizer.slot_signals(&set, slot).unwrap();
        let net = Network::from_json(&mlp_atom_network().to_string()).unwrap();
        let g = net.gram(x.view(), None, &GramOptions::default()).unwrap();
        for i in 0..set.len() {
            for j in 0..set.len() {
                if set[i].num_atoms() <= slot || set[j].num_atoms() <= slot {
                    assert_eq!(g.ntk[[i, j]], 0.0);
                    assert_eq!(g.nngp[[i, j]], 0.0);
                }
            }
        }
    }
}
