//! `entk experiment qm9`: SO(3)-CNN vs MLP kernel regression (NTK and NNGP) of U0 atomization
//! energies (docs/theory.md#qm9-energies).
//!
//! Molecules come from the embedded 2,000-molecule QM9 sample. Each atom gets 10 S² signals on
//! the `L = 6` Driscoll–Healy grid (elements × powers `[2, 6]`); molecules are padded to 29 atom
//! slots. The paper's architecture gives every slot its own independent sub-network and sums the
//! outputs, so the molecule kernel is `K_mol(A, B) = Σ_i K_atom(A_i, B_i)` over **matching
//! slots**, computed here as a sum of per-slot Gram matrices. A padding slot has a zero signal,
//! and with bias-free layers and `φ(0) = 0` (ReLU; erf with `c = 0`) every kernel entry
//! involving a zero input is exactly 0, so each slot's Gram matrix is computed only over the
//! molecules that have an atom there.
//!
//! **Draws.** The experiment runs `draws` (5) independent draws. Draw `d` takes its own
//! `train + test` molecules from the sample (one seeded sample of `draws · (train + test)`
//! distinct molecules, draw `d` its `d`-th block: no molecule is in two draws), and every Gram
//! matrix of a draw is computed from its molecules alone. The embedded 2,000 molecules are a
//! uniform random sample of QM9's 130,831 (crates/datasets/data/NOTICE.md), so unconditionally
//! the draws are independent samples of QM9 (up to drawing 1,100 of 130,831 without
//! replacement), and the mean ± standard error and the paired 95 % t intervals over draws cover
//! the choice of molecules from QM9. Conditional on the 2,000-molecule sample they are not
//! independent: the 5 draws take 55 % of a finite population without replacement, so they are
//! exchangeable and slightly negatively dependent, and the t intervals are conservative for
//! that population. Each draw's molecules are
//! split `splits` (24) ways at random into `train` training and `test` test molecules, and the
//! draw's MAE is the mean over its splits (RMSE: the root of the mean over its splits of the
//! mean squared error): a Rao–Blackwellisation over the split, as for rotated MNIST
//! ([`super::classification`]), which tests on most of the draw's molecules at almost no
//! kernel cost (one symmetric Gram matrix over the draw's molecules instead of train × train
//! and test × train: `test (test + 1) / 2` more molecule pairs) and leaves the draws
//! independent.
//!
//! **Sizes (the budget).** Before `entk-experiments-5` the draws were 5 random partitions of one
//! pool of 200 + 200 molecules whose Gram matrices were computed once: 80,200 molecule pairs,
//! 1.33 M atom pairs per per-slot model, and `experiment qm9 --threads 2` took 92 s (74 s of it
//! the per-slot SO(3)-CNN, ≈ 56 µs per atom pair on 2 cores). Five independent draws of
//! 200 + 200 would cost 5 × 80,200 molecule pairs, 5× the kernels. The learning curve (25, 50,
//! 100, 200 training molecules) needs 200 training molecules per draw, 5 × 20,100 molecule
//! pairs at least, and every test molecule adds 200 more per draw, ≈ 1 s of SO(3)-CNN kernels
//! for 5 draws. So each draw has 220 molecules, 200 training and 20 test molecules per split:
//! 5 × 220 · 221 / 2 = 121,550 molecule pairs, 1.99 M atom pairs (1.5× the old pool), and with
//! 24 splits a molecule of a draw is never a test molecule with probability (200/220)^24 ≈
//! 10 %. Measured at seed 0 (`entk experiment qm9 --threads 2`, this 2-core Xeon, alone under
//! the heavy-work lock): 140 s wall, CPU/wall 1.93; per-slot SO(3)-CNN kernels 109 s, set model
//! 28 s, MLP 2 s. With 25 test molecules per split (225 per draw, 16 splits): 152 s.
//!
//! Beside the paper's per-slot models runs the permutation-invariant set model `so3_cnn_set`
//! ([`super::qm9_set`], docs/theory.md#qm9-energies, the "Option"): the same SO(3)-CNN atom
//! network shared over the atoms of a molecule and summed (`deep_set`), so
//! `K_mol(A, B) = Σ_{i∈A} Σ_{j∈B} K_atom(A_i, B_j)` over all pairs of real atoms, computed
//! from one atom-level Gram matrix over the unique atoms. It costs ≈ 18² times more per
//! molecule pair, so it runs on each draw's leading `set_train + set_test` (16 + 8) molecules,
//! split `splits` ways, where every model is scored too (equal sizes, equal molecules, paired
//! over draws): 5 atom Gram matrices of ≈ 440 atoms, 0.52 M atom pairs with the order check at
//! seed 0 (the old single sub-pool of 24 + 12 molecules cost 0.29 M; one such sub-pool per draw
//! would cost ≈ 1.1 M, ≈ 30 s more). The order check shuffles the atoms of `shuffled` test
//! molecules of the first draw's first equal-size split (featurised again from the shuffled
//! molecules) and reports how much each model's predictions move.
//!
//! Models are fitted at several training sizes `m` (each split's leading `m` training
//! molecules); each fit standardises its targets with the mean and (population) standard
//! deviation of its own `m` training molecules, no other label (`kernel_regression` is linear
//! in the targets with a relative `diag_reg`, so the scale cancels but the mean does not). The
//! NTK **and** NNGP mean predictions at `t = ∞` with relative `diag_reg = 5e-5` are mapped back
//! and scored by MAE and RMSE in meV. Every model reports both kernels (the engine computes
//! the NNGP Gram matrix with the NTK one, so the NNGP costs one more solve): the NTK's keys as
//! before (`mae_mev`, …), the NNGP's with the prefix `nngp_`, their paired difference
//! `nngp_minus_ntk_mae_mev`; every comparison that is a claim (per-slot SO(3)-CNN vs MLP, set
//! vs per-slot, the order check) is decided for each kernel.

use std::time::Instant;

use ndarray::{s, Array2, Array4, ArrayView2};
use serde::Serialize;
use serde_json::{json, Value};

use entk_datasets::qm9::{
    atomization_energies_hartree, embedded_qm9_sample, hartree_to_mev, train_test_molecules,
    FeatureConfig, Molecule, Qm9Featurizer, Standardizer,
};
use entk_ntk::{Features, Gram, Layout, Network, Signature};

use super::classification::{draw_indices, paired_claim, CurveDraws};
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

/// Default training molecules per split of a draw. The paper's network needs one SO(3) kernel
/// per pair of atoms in matching slots (≈ 16.6 per molecule pair, self pairs counted): the
/// module notes give the budget.
pub const DEFAULT_TRAIN: usize = 200;
/// Default test molecules per split of a draw (each draw has `train + test` molecules).
pub const DEFAULT_TEST: usize = 20;
/// Default independent draws, each with its own molecules.
pub const DEFAULT_DRAWS: usize = 5;
/// Default random train/test splits of each draw's molecules.
pub const DEFAULT_SPLITS: usize = 24;

/// Settings of the QM9 experiment.
#[derive(Debug, Clone, Serialize)]
pub struct Qm9Config {
    /// Code version.
    pub code_version: &'static str,
    /// Training molecules per split.
    pub train: usize,
    /// Test molecules per split.
    pub test: usize,
    /// Seed of the molecules, the draws and the splits.
    pub seed: u64,
    /// Independent draws, each with its own `train + test` molecules (no molecule in two
    /// draws) and its own Gram matrices.
    pub draws: usize,
    /// Random train/test splits of each draw's molecules (the draw's errors are their means).
    pub splits: usize,
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
    /// Training molecules per split of the set model and of the equal-size comparison (each
    /// draw's leading `set_train + set_test` molecules, split `splits` ways).
    pub set_train: usize,
    /// Test molecules per split of the set model and of the equal-size comparison.
    pub set_test: usize,
    /// Learning-curve sizes of the equal-size comparison.
    pub set_curve: Vec<usize>,
    /// Test molecules of the first draw's first equal-size split whose atoms are shuffled
    /// (order check).
    pub shuffled: usize,
    /// The kernels whose mean predictions are scored, for every model ([`KERNELS`]). Part of
    /// the settings so that `entk reproduce` recomputes a stored result from before every
    /// model (the set model and the equal-size comparison too) reported its NNGP errors.
    pub kernels: [&'static str; 2],
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
            splits: DEFAULT_SPLITS,
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
            kernels: KERNELS,
        }
    }

    /// The molecules of every draw: one seeded sample of `draws · (train + test)` distinct
    /// molecules of `sample`, draw `d` its `d`-th block (in the sample's random order). A
    /// one-line usage error for 0 draws or when the sample is too small.
    fn draw_molecules(&self, sample: &[Molecule]) -> Result<Vec<Vec<Molecule>>, ExperimentError> {
        if self.draws == 0 {
            return Err(ExperimentError::Usage(
                "0 draws: the errors are means over independent draws of molecules, so at least 1 is needed".into(),
            ));
        }
        let per_draw = self.train.saturating_add(self.test);
        let need = self.draws.saturating_mul(per_draw);
        if need > sample.len() {
            return Err(ExperimentError::Usage(format!(
                "{} independent draws of {} training + {} test molecules need {need} distinct molecules, but the embedded sample has only {}",
                self.draws,
                self.train,
                self.test,
                sample.len()
            )));
        }
        let (all, _) = train_test_molecules(sample, need, 0, self.seed)?;
        Ok(all.chunks(per_draw).map(<[Molecule]>::to_vec).collect())
    }

    /// Every draw: its molecules and energies, and the splits of its molecules (all of them,
    /// and its leading `set_train + set_test`).
    fn draws(&self, sample: &[Molecule]) -> Result<Vec<Draw>, ExperimentError> {
        let k = self.set_train + self.set_test;
        if k > self.train + self.test || self.shuffled > self.set_test {
            return Err(ExperimentError::Usage(format!(
                "the set model's {} / {} molecules ({} shuffled) do not fit a draw of {} / {}",
                self.set_train, self.set_test, self.shuffled, self.train, self.test
            )));
        }
        if self.splits == 0 {
            return Err(ExperimentError::Usage(
                "0 splits: each draw's errors are means over its random train/test splits, so at least 1 is needed".into(),
            ));
        }
        let splits = self.splits;
        Ok(self
            .draw_molecules(sample)?
            .into_iter()
            .enumerate()
            .map(|(d, molecules)| {
                let n = molecules.len();
                let split = |size: usize, (tr, te): (usize, usize), seed: u64| -> Vec<Split> {
                    (0..splits)
                        .map(|j| draw_indices(size, size, true, tr, te, seed, d * splits + j))
                        .collect()
                };
                Draw {
                    energies: atomization_energies_hartree(&molecules).to_vec(),
                    splits: split(n, (self.train, self.test), self.seed),
                    set_splits: split(
                        k,
                        (self.set_train, self.set_test),
                        self.seed ^ SET_DRAW_SEED,
                    ),
                    molecules,
                }
            })
            .collect())
    }

    /// Runs the experiment.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        let sample = embedded_qm9_sample()?;
        let draws = self.draws(&sample)?;
        let featurizer = Qm9Featurizer::new(FeatureConfig {
            bandlimit: self.bandlimit,
            powers: self.powers.clone(),
            ..FeatureConfig::default()
        })?;
        let slots = featurizer.config().max_atoms;
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
        // The set model's molecules of each draw, and the order check's: the first draw's first
        // equal-size split's training molecules and its leading test molecules, atoms shuffled.
        let k = self.set_train + self.set_test;
        let subs: Vec<&[Molecule]> = draws.iter().map(|d| &d.molecules[..k]).collect();
        let first = &draws[0];
        let (order_tr, order_te) = (
            first.set_splits[0].0.clone(),
            first.set_splits[0].1[..self.shuffled].to_vec(),
        );
        let pick = |idx: &[usize]| {
            idx.iter()
                .map(|&i| first.molecules[i].clone())
                .collect::<Vec<_>>()
        };
        let order_train = pick(&order_tr);
        let order_test = shuffled(&pick(&order_te), self.seed ^ SHUFFLE_SEED)?;
        let set_net = self.set_model.network()?;
        // Time a few atom pairs of each network, then announce the size and the estimate.
        let units: usize = draws
            .iter()
            .map(|d| molecule_gram_units(&d.molecules, &[], slots))
            .sum();
        let order_units = molecule_gram_units(&order_train, &order_test, slots);
        let sub_pairs: Vec<usize> = subs.iter().map(|s| atom_pairs(s, None)).collect();
        let order_pairs = atom_pairs(&[], Some((&order_test, &order_train)));
        let set_pairs = sub_pairs.iter().sum::<usize>() + order_pairs;
        let c = first.molecules.len().min(CALIBRATION_INPUTS);
        let probe = featurizer.slot_signals(&first.molecules[..c], 0)?;
        let costs = nets
            .iter()
            .map(|(_, net)| {
                time_per_unit(gram_units(c, None), || {
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
                "{} per-slot models × {} atom-pair kernels ({} independent draws of {} molecules, each split {} ways into {} training and {} test; {slots} atom slots) and the set model on {} atom pairs (each draw's first {k} molecules, split into {} / {})",
                nets.len(),
                thousands(units + order_units),
                self.draws,
                self.train + self.test,
                self.splits,
                self.train,
                self.test,
                thousands(set_pairs),
                self.set_train,
                self.set_test
            ),
            total,
            threads,
            &format!("timed on {} pairs per model", gram_units(c, None)),
        );
        let tracker = Tracker::new("qm9", total);
        let mut results = Vec::new();
        let mut equal = Vec::new();
        for ((model, net), cost) in nets.iter().zip(&costs) {
            let t0 = Instant::now();
            let (mut grams, mut slot_pairs) = (Vec::new(), 0);
            for (d, draw) in draws.iter().enumerate() {
                let (g, pairs) = molecule_grams(
                    net,
                    &featurizer,
                    &draw.molecules,
                    &[],
                    slots,
                    threads,
                    (&tracker, *cost, &format!("{} draw {d}", model.name)),
                )?;
                grams.push(g);
                slot_pairs += pairs;
            }
            // The order check: the shuffled molecules against the first draw's training ones.
            let (order_gram, pairs) = molecule_grams(
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
            let errs = self.kernel_errors(
                (&grams, &draws, false),
                &self.curve,
                &model.name,
                "",
                &mut report.notes,
            )?;
            equal.push(EqualSize {
                name: model.name.clone(),
                errs: self.kernel_errors(
                    (&grams, &draws, true),
                    &self.set_curve,
                    &model.name,
                    ", equal size",
                    &mut report.notes,
                )?,
                order: self.order_changes(
                    &grams[0],
                    (&order_tr[..], &order_te[..]),
                    (&order_gram, order_tr.len()),
                    &first.energies,
                )?,
                seconds,
                pairs: slot_pairs + pairs,
            });
            results.push((*model, errs, seconds, slot_pairs));
        }
        // The set model on each draw's leading molecules: one atom-level Gram matrix each.
        let t0 = Instant::now();
        let mut set_grams = Vec::new();
        let mut train_sets = Vec::new();
        for (d, (sub, pairs)) in subs.iter().zip(&sub_pairs).enumerate() {
            let sets = molecule_sets(&featurizer, sub)?;
            let units = gram_units(sets.len(), None);
            let stage = tracker.stage(
                &format!("so3_cnn_set draw {d}: all atom pairs"),
                units,
                atom_cost * *pairs as f64 / units.max(1) as f64,
            );
            set_grams.push(set_gram(&set_net, &sets, None, threads, &stage)?);
            drop(stage);
            if d == 0 {
                train_sets = order_tr.iter().map(|&i| sets[i].clone()).collect();
            }
        }
        let test_sets = molecule_sets(&featurizer, &order_test)?;
        let units = gram_units(test_sets.len(), Some(train_sets.len()));
        let stage = tracker.stage(
            "so3_cnn_set order check",
            units,
            atom_cost * order_pairs as f64 / units.max(1) as f64,
        );
        let order_gram = set_gram(&set_net, &test_sets, Some(&train_sets), threads, &stage)?;
        drop(stage);
        equal.push(EqualSize {
            name: self.set_model.name.clone(),
            errs: self.kernel_errors(
                (&set_grams, &draws, true),
                &self.set_curve,
                &self.set_model.name,
                "",
                &mut report.notes,
            )?,
            order: self.order_changes(
                &set_grams[0],
                (&order_tr[..], &order_te[..]),
                (&order_gram, 0),
                &first.energies,
            )?,
            seconds: t0.elapsed().as_secs_f64(),
            pairs: set_pairs,
        });
        tracker.finish();
        self.fill(&mut report, &results, &draws);
        self.fill_equal_size(&mut report, &equal);
        report.notes.insert(
            0,
            format!(
                "Embedded QM9 sample: {} independent draws, each with its own {} molecules ({} distinct molecules, no molecule in two draws) and its own Gram matrices, each split {} ways at random into {} training and {} test molecules (a draw's error is the mean over its splits); atom signals at L = {} ({}×{} grid, powers {:?}, 10 channels), 29 slots, matching-slot molecule kernel; each fit standardises its targets with the mean and std of its own training molecules (at every learning-curve size). The set model so3_cnn_set (all atom pairs) and the equal-size comparison use each draw's first {k} molecules, split {} ways into {} / {}. Errors are means over the draws ± their standard error, intervals 95 % Student t; comparisons paired over draws. The embedded {} molecules are a uniform random sample of QM9's 130,831, so the draws are independent samples of QM9 (up to sampling without replacement) and the intervals cover the choice of molecules; given the embedded sample, the draws take {:.0} % of it without replacement: exchangeable, slightly negatively dependent, so the intervals are conservative for it.",
                self.draws,
                self.train + self.test,
                self.draws * (self.train + self.test),
                self.splits,
                self.train,
                self.test,
                self.bandlimit,
                2 * self.bandlimit,
                2 * self.bandlimit - 1,
                self.powers,
                self.splits,
                self.set_train,
                self.set_test,
                thousands(sample.len()),
                100.0 * (self.draws * (self.train + self.test)) as f64 / sample.len() as f64,
            ),
        );
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Tables, figure, models and claims from the per-draw errors.
    fn fill(&self, report: &mut ExperimentReport, results: &[ModelErrors<'_>], draws: &[Draw]) {
        let mut panels = CurvePanels::new(
            &self.curve,
            |kernel| {
                format!(
                    "U0 atomization energy, {kernel} mean prediction at t = ∞ (diag_reg {}), {} test molecules per split: MAE in meV, mean ± standard error over {} independent draws of {} molecules, each the mean over {} splits (RMSE in the JSON)",
                    self.diag_reg, self.test, self.draws, self.train + self.test, self.splits
                )
            },
            format!("NNGP against NTK (all {} training molecules): MAE in meV, mean ± s.e. over draws; paired difference NNGP − NTK [95 % t interval]", self.train),
            "QM9: test MAE, NTK solid, NNGP dashed (band: ± 1 s.e.)",
        );
        let mut curves = Vec::new();
        for (model, errs, seconds, pairs) in results {
            let c = KernelCurves::new(&self.curve, errs);
            panels.push(&model.name, &c, Some(*seconds));
            let m = ModelResult::new(&model.name)
                .with("kernel_seconds", *seconds)
                .with("atom_pairs", *pairs)
                .with("draws", self.draws);
            let curve = Value::Object(c.json.clone());
            curves.push(json!({"model": model.name, "curve": curve}));
            report
                .models
                .push(c.metrics(m).with("learning_curve", curve));
        }
        for &(a, b) in QM9_COMPARISONS {
            let find = |name: &str| results.iter().find(|r| r.0.name == name);
            if let (Some(ra), Some(rb)) = (find(a), find(b)) {
                for (k, kernel) in KERNELS.into_iter().enumerate() {
                    // "a below b" ⇔ the paired difference b − a is positive.
                    let (claim, _) = paired_claim(
                        format!(
                            "QM9: {a} {kernel} MAE below {b} ({} training molecules)",
                            self.train
                        ),
                        &mae_at_last(&rb.1[k]),
                        &mae_at_last(&ra.1[k]),
                        mev,
                    );
                    report.claims.push(claim);
                }
            }
        }
        let baseline: Vec<f64> = draws
            .iter()
            .map(|draw| {
                let e = &draw.energies;
                draw.splits
                    .iter()
                    .map(|(tr, te)| {
                        let mean = tr.iter().map(|&i| e[i]).sum::<f64>() / tr.len() as f64;
                        te.iter()
                            .map(|&i| hartree_to_mev((e[i] - mean).abs()))
                            .sum::<f64>()
                            / te.len() as f64
                    })
                    .sum::<f64>()
                    / draw.splits.len() as f64
            })
            .collect();
        let base = mean_estimate(&baseline);
        report.notes.push(format!(
            "Predicting the training mean gives MAE {} meV.",
            pm(&base)
        ));
        panels.into_report(report);
        report.extra = json!({"learning_curves": curves, "mean_baseline_mae_mev": base.value, "mean_baseline_mae_mev_ci": base.ci, "draws": self.draws});
    }

    /// [`Self::draw_errors`] under both kernels of each draw's `grams` (one per draw, rows
    /// and columns its molecules), on the draws' splits (`set`: their equal-size splits):
    /// `[NTK, NNGP][draw][size]`, the solver warnings labelled `name (KERNEL what)`.
    fn kernel_errors(
        &self,
        (grams, draws, set): (&[Gram], &[Draw], bool),
        curve: &[usize],
        name: &str,
        what: &str,
        notes: &mut Vec<String>,
    ) -> Result<KernelErrors, ExperimentError> {
        let mut out: KernelErrors = Default::default();
        for (k, errs) in out.iter_mut().enumerate() {
            *errs = draws
                .iter()
                .zip(grams)
                .enumerate()
                .map(|(d, (draw, g))| {
                    self.draw_errors(
                        kernel_of(g, k),
                        draw,
                        set,
                        curve,
                        &format!("{name} ({}{what}, draw {d}", KERNELS[k]),
                        notes,
                    )
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(out)
    }

    /// [`Self::order_change`] under both kernels: `draw_gram` over the first draw's molecules (`tr`
    /// and `te` index them), the rows of `shuffled` from `skip` on the shuffled molecules × `tr`.
    fn order_changes(
        &self,
        draw_gram: &Gram,
        (tr, te): (&[usize], &[usize]),
        (shuffled, skip): (&Gram, usize),
        energies: &[f64],
    ) -> Result<[(f64, f64); 2], ExperimentError> {
        let mut out = [(0.0, 0.0); 2];
        for (k, change) in out.iter_mut().enumerate() {
            *change = self.order_change(
                kernel_of(draw_gram, k),
                (tr, te),
                kernel_of(shuffled, k).slice(s![skip.., ..]),
                energies,
            )?;
        }
        Ok(out)
    }

    /// One draw's `[size]` (MAE, RMSE) in meV of the NTK/NNGP mean prediction with `kernel`
    /// (rows and columns index the draw's molecules) along `curve` (leading training rows of
    /// each split), over the draw's splits (`set`: its equal-size splits): the MAE is the mean
    /// over the splits of each split's MAE, the RMSE the root of the mean of each split's mean
    /// squared error. Each fit standardises its targets with its own `m` training molecules
    /// (not the split's whole training set: the mean would carry labels the fit does not
    /// have); solver warnings go to `notes`, labelled `label, split j, n = m)`.
    fn draw_errors(
        &self,
        kernel: &Array2<f64>,
        draw: &Draw,
        set: bool,
        curve: &[usize],
        label: &str,
        notes: &mut Vec<String>,
    ) -> Result<Vec<(f64, f64)>, ExperimentError> {
        let (energies, splits) = (
            &draw.energies,
            if set { &draw.set_splits } else { &draw.splits },
        );
        let mut sums = vec![(0.0, 0.0); curve.len()];
        for (j, (tr, te)) in splits.iter().enumerate() {
            for (&m, sum) in curve.iter().zip(&mut sums) {
                let rows = &tr[..m];
                let scaler = fit_scaler(rows, energies)?;
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
                        .map(|w| format!("{label}, split {j}, n = {m}): {w}")),
                );
                let e: Vec<f64> = pred
                    .iter()
                    .zip(te)
                    .map(|(p, &i)| hartree_to_mev(p - energies[i]))
                    .collect();
                sum.0 += e.iter().map(|v| v.abs()).sum::<f64>() / e.len() as f64;
                sum.1 += e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64;
            }
        }
        let s = splits.len() as f64;
        Ok(sums
            .into_iter()
            .map(|(mae, mse)| (mae / s, (mse / s).sqrt()))
            .collect())
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
        let scaler = fit_scaler(tr, energies)?;
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

    /// The equal-size comparison (tables, figure, `equal_size` curves), the order check (table,
    /// `order_change_*_mev`, `nngp_order_change_*_mev`), the set model's entry and their claims,
    /// under both kernels.
    fn fill_equal_size(&self, report: &mut ExperimentReport, rows: &[EqualSize]) {
        let (n_s, m_s) = (self.set_train, self.set_test);
        let mut panels = CurvePanels::new(
            &self.set_curve,
            |kernel| {
                format!(
                    "Equal size, same molecules: each draw's first {} molecules, split {} ways into {n_s} training and {m_s} test molecules: {kernel} MAE in meV, mean ± standard error over {} independent draws (so3_cnn_set: shared atom network, all atom pairs)",
                    n_s + m_s,
                    self.splits,
                    self.draws
                )
            },
            format!("Equal size, NNGP against NTK ({n_s} training and {m_s} test molecules): MAE in meV, mean ± s.e. over draws; paired difference NNGP − NTK [95 % t interval]"),
            "QM9 at equal size: NTK solid, NNGP dashed (band: ± 1 s.e.)",
        );
        let mut order = Table::new(
            format!(
                "Atom order: the atoms of {} test molecules shuffled (first draw's first equal-size split, {n_s} training molecules); change of each prediction in meV",
                self.shuffled
            ),
            &[
                "model",
                "NTK mean |Δ|",
                "NTK max |Δ|",
                "NNGP mean |Δ|",
                "NNGP max |Δ|",
            ],
        );
        for row in rows {
            let mut c = KernelCurves::new(&self.set_curve, &row.errs);
            c.json.insert("test".into(), json!(m_s));
            for (key, v) in [
                ("nngp_minus_ntk_mae_mev", json!(c.diff.value)),
                ("nngp_minus_ntk_mae_mev_ci", json!(c.diff.ci)),
            ] {
                c.json.insert(key.into(), v);
            }
            panels.push(&row.name, &c, None);
            let [ntk, nngp] = row.order;
            order.push(
                std::iter::once(row.name.clone())
                    .chain([ntk.0, ntk.1, nngp.0, nngp.1].map(|v| sig(v, 3)))
                    .collect(),
            );
            let curve = Value::Object(c.json.clone());
            let entry = |m: ModelResult| {
                m.with("equal_size", curve.clone())
                    .with("order_change_mean_mev", ntk.0)
                    .with("order_change_max_mev", ntk.1)
                    .with("nngp_order_change_mean_mev", nngp.0)
                    .with("nngp_order_change_max_mev", nngp.1)
            };
            match report.models.iter().position(|m| m.name == row.name) {
                Some(i) => {
                    let m = std::mem::replace(&mut report.models[i], ModelResult::new(""));
                    report.models[i] = entry(m);
                }
                None => {
                    let m = ModelResult::new(&row.name)
                        .with("kernel_seconds", row.seconds)
                        .with("atom_pairs", row.pairs)
                        .with("draws", self.draws)
                        .with("train", n_s)
                        .with("test", m_s)
                        .with("learning_curve", curve.clone());
                    report.models.push(entry(c.metrics(m)));
                }
            }
        }
        let find = |name: &str| rows.iter().find(|r| r.name == name);
        if let (Some(slot), Some(set)) = (find("so3_cnn"), find(self.set_model.name.as_str())) {
            let mut differences = Vec::new();
            for (k, kernel) in KERNELS.into_iter().enumerate() {
                let (claim, d) = paired_claim(
                    format!(
                        "QM9 (equal size, {n_s} training molecules): {} {kernel} MAE below so3_cnn (per-slot)",
                        self.set_model.name
                    ),
                    &mae_at_last(&slot.errs[k]),
                    &mae_at_last(&set.errs[k]),
                    mev,
                );
                let verdict = match claim.holds {
                    Some(true) => "the set model wins",
                    Some(false) => "the per-slot SO(3)-CNN wins",
                    None => "the intervals do not decide which wins",
                };
                differences.push(format!("{kernel} {} meV ({verdict})", d.display(3)));
                report.claims.push(claim);
            }
            let max = |r: &EqualSize| r.order.map(|o| o.1);
            let (slot_max, set_max) = (max(slot), max(set));
            report.notes.push(format!(
                "Set model vs per-slot SO(3)-CNN on the same {n_s} training and {m_s} test molecules per split ({} independent draws): paired MAE difference per-slot − set (95 % t interval): {}. The set model needs {} atom-pair kernels (their time is `kernel_seconds` in the JSON: notes hold no timings, so that reruns agree on them). Shuffling the atoms of {} test molecules moves the per-slot predictions by up to {} meV (NTK) and {} meV (NNGP), and the set model's by up to {} and {} meV (rounding).",
                self.draws,
                differences.join("; "),
                thousands(set.pairs),
                self.shuffled,
                sig(slot_max[0], 3),
                sig(slot_max[1], 3),
                sig(set_max[0], 2),
                sig(set_max[1], 2)
            ));
            report.claims.push(Claim::new(
                format!(
                    "QM9: shuffling atoms leaves the {} predictions unchanged up to rounding (max |Δ| < {ORDER_ROUNDING_MEV} meV) and moves the per-slot so3_cnn's (max |Δ| > 1 meV), NTK and NNGP",
                    self.set_model.name
                ),
                Some(
                    set_max.iter().all(|&v| v < ORDER_ROUNDING_MEV)
                        && slot_max.iter().all(|&v| v > 1.0),
                ),
                format!(
                    "max |Δ| {} / {} meV (set, NTK / NNGP) vs {} / {} meV (per-slot) over {} shuffled test molecules; exact computation, no sampling",
                    sig(set_max[0], 2),
                    sig(set_max[1], 2),
                    sig(slot_max[0], 4),
                    sig(slot_max[1], 4),
                    self.shuffled
                ),
            ));
        }
        panels.into_report(report);
        report.tables.push(order);
    }
}

/// The largest prediction change (meV) that the order check counts as rounding: the set
/// kernel is invariant exactly, and its sums change only in the order of additions.
pub const ORDER_ROUNDING_MEV: f64 = 1e-6;

/// Seed salt of each draw's equal-size splits (of its leading `set_train + set_test` molecules).
const SET_DRAW_SEED: u64 = 0x5e7_d4a3;
/// Seed salt of the atom shuffles of the order check.
const SHUFFLE_SEED: u64 = 0x5e7_0fde;

/// One model at equal size: its name, `[NTK, NNGP][draw][size]` (MAE, RMSE) in meV, the order
/// check's `(mean, max)` prediction change in meV per kernel, its kernel seconds and atom pairs.
struct EqualSize {
    name: String,
    errs: KernelErrors,
    order: [(f64, f64); 2],
    seconds: f64,
    pairs: usize,
}

/// The two kernels every QM9 model is scored with, in the order of the per-kernel errors; the
/// NNGP's JSON keys carry the prefix `nngp_`, the NTK's none (as before the NNGP was reported).
pub const KERNELS: [&str; 2] = ["NTK", "NNGP"];
/// JSON key prefixes of [`KERNELS`].
const PREFIXES: [&str; 2] = ["", "nngp_"];

/// One split's training and test rows (indices into its draw's molecules).
type Split = (Vec<usize>, Vec<usize>);

/// One independent draw: its own molecules (no molecule in two draws), their U0 atomization
/// energies (Hartree), the random splits of all its molecules, and those of its leading
/// `set_train + set_test` molecules (the set model and the equal-size comparison).
struct Draw {
    molecules: Vec<Molecule>,
    energies: Vec<f64>,
    splits: Vec<Split>,
    set_splits: Vec<Split>,
}

/// `[NTK, NNGP][draw][size]` of (MAE, RMSE) in meV.
type KernelErrors = [Vec<Vec<(f64, f64)>>; 2];

/// Kernel `k` of [`KERNELS`] in `g`.
fn kernel_of(g: &Gram, k: usize) -> &Array2<f64> {
    if k == 0 {
        &g.ntk
    } else {
        &g.nngp
    }
}

/// The per-draw MAE at the last curve size of one kernel's `[draw][size]` errors.
fn mae_at_last(errs: &[Vec<(f64, f64)>]) -> Vec<f64> {
    errs.iter()
        .map(|d| d.last().map_or(f64::NAN, |p| p.0))
        .collect()
}

/// `mean ± se` in meV for tables.
fn pm(e: &Estimate) -> String {
    format!("{} ± {}", sig(e.value, 4), sig(e.se, 2))
}

/// `v meV`, for claims' evidence.
fn mev(v: f64) -> String {
    format!("{} meV", sig(v, 4))
}

/// One model's learning curves under both kernels, summarised over draws.
struct KernelCurves {
    /// The JSON curve: `train`, then for `mae_mev` and `rmse_mev` of each kernel (prefix
    /// `""`/`nngp_`) the means, `_se`, `_ci` and `_by_draw` ([`add_curve`]).
    json: serde_json::Map<String, Value>,
    /// `[kernel][MAE, RMSE][size]`.
    sums: [[Vec<Estimate>; 2]; 2],
    /// NNGP − NTK MAE at the last size, paired over draws (mean and 95 % t interval of the
    /// per-draw differences, [`paired_claim`] as in the classification experiments).
    diff: Estimate,
}

impl KernelCurves {
    fn new(curve: &[usize], errs: &KernelErrors) -> Self {
        let mut json = serde_json::Map::new();
        json.insert("train".into(), json!(curve));
        let sums = [0, 1].map(|k| add_curve(&mut json, PREFIXES[k], &errs[k]));
        let (_, diff) = paired_claim(
            String::new(),
            &mae_at_last(&errs[1]),
            &mae_at_last(&errs[0]),
            mev,
        );
        KernelCurves { json, sums, diff }
    }

    /// `m` with, at the last curve size, `mae_mev`, `rmse_mev` and their `nngp_` partners
    /// (each with `_se` and `_ci`), and `nngp_minus_ntk_mae_mev` (with `_se` and `_ci`).
    fn metrics(&self, mut m: ModelResult) -> ModelResult {
        for (prefix, sums) in PREFIXES.into_iter().zip(&self.sums) {
            for (metric, sum) in ["mae_mev", "rmse_mev"].into_iter().zip(sums) {
                if let Some(last) = sum.last() {
                    m = with_estimate(m, &format!("{prefix}{metric}"), last);
                }
            }
        }
        with_estimate(m, "nngp_minus_ntk_mae_mev", &self.diff)
    }
}

/// Learning-curve tables (NTK, NNGP), the NNGP-against-NTK table at the last size and the MAE
/// figure (NTK solid, NNGP dashed in the same colour, both with ± 1 s.e. bands) of a set of
/// models.
struct CurvePanels {
    tables: [Table; 2],
    versus: Table,
    figure: Figure,
    xs: Vec<f64>,
}

impl CurvePanels {
    /// Empty panels for curve sizes `curve`; `title(KERNEL)` is each curve table's caption.
    fn new(curve: &[usize], title: impl Fn(&str) -> String, versus: String, figure: &str) -> Self {
        let tables = KERNELS.map(|k| {
            let mut t = Table::new(title(k), &[]);
            t.header = std::iter::once("model".to_string())
                .chain(curve.iter().map(|m| format!("n = {m}")))
                .collect();
            t
        });
        CurvePanels {
            tables,
            versus: Table::new(versus, &["model", "NTK", "NNGP", "NNGP − NTK"]),
            figure: mae_figure(figure),
            xs: curve.iter().map(|&m| m as f64).collect(),
        }
    }

    /// One model's rows and series; `seconds` (when given) ends its NTK row.
    fn push(&mut self, name: &str, c: &KernelCurves, seconds: Option<f64>) {
        if seconds.is_some() && self.tables[0].header.last().map(String::as_str) != Some(SECONDS) {
            self.tables[0].header.push(SECONDS.into());
        }
        for (k, kernel) in KERNELS.into_iter().enumerate() {
            let mae = &c.sums[k][0];
            let mut row: Vec<String> = std::iter::once(name.to_string())
                .chain(mae.iter().map(pm))
                .collect();
            if let (0, Some(s)) = (k, seconds) {
                row.push(sig(s, 3));
            }
            self.tables[k].push(row);
            let series = banded(&format!("{name} ({kernel})"), &self.xs, mae);
            self.figure
                .series
                .push(if k == 0 { series } else { series.as_dashed() });
        }
        let last = |k: usize| c.sums[k][0].last().map(pm).unwrap_or_default();
        self.versus
            .push(vec![name.to_string(), last(0), last(1), c.diff.display(3)]);
    }

    /// Moves the tables (NTK curve, NNGP curve, NNGP against NTK) and the figure into `report`.
    fn into_report(self, report: &mut ExperimentReport) {
        let [ntk, nngp] = self.tables;
        report.tables.extend([ntk, nngp, self.versus]);
        report.figures.push(self.figure);
    }
}

/// The header of the kernel-time column.
const SECONDS: &str = "kernel seconds";

/// The standardiser of the training molecules `rows` (indices into `energies`).
fn fit_scaler(rows: &[usize], energies: &[f64]) -> Result<Standardizer, ExperimentError> {
    Ok(Standardizer::fit(
        &rows.iter().map(|&i| energies[i]).collect::<Vec<_>>(),
    )?)
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
type ModelErrors<'a> = (&'a ModelSpec, KernelErrors, f64, usize);

/// "First model's MAE below the second's", decided over the draws for each kernel. A new model (e.g. a
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

    /// `A⁻¹ b` for a symmetric positive definite `A` by a hand-written Cholesky
    /// factorisation (independent of the regression module's solver).
    fn cholesky_solve(a: &Array2<f64>, b: &[f64]) -> Vec<f64> {
        let n = b.len();
        let mut l = Array2::<f64>::zeros((n, n));
        for i in 0..n {
            for j in 0..=i {
                let s: f64 = a[[i, j]] - (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum::<f64>();
                l[[i, j]] = if i == j { s.sqrt() } else { s / l[[j, j]] };
            }
        }
        let mut y = vec![0.0; n];
        for i in 0..n {
            y[i] = (b[i] - (0..i).map(|k| l[[i, k]] * y[k]).sum::<f64>()) / l[[i, i]];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            x[i] = (y[i] - (i + 1..n).map(|k| l[[k, i]] * x[k]).sum::<f64>()) / l[[i, i]];
        }
        x
    }

    /// Test MAE and mean squared error (meV, meV²) of the `t = ∞` mean prediction with
    /// molecule kernel `k` for one split and training size `m`, computed from the definitions:
    /// targets standardised with the mean and population standard deviation of the `m`
    /// training molecules used, `(K + λ·tr K/m·I)⁻¹`.
    fn direct_errors(
        k: &Array2<f64>,
        (tr, te): &(Vec<usize>, Vec<usize>),
        m: usize,
        e: &[f64],
    ) -> (f64, f64) {
        let rows = &tr[..m];
        let mean = rows.iter().map(|&i| e[i]).sum::<f64>() / m as f64;
        let std = (rows.iter().map(|&i| (e[i] - mean).powi(2)).sum::<f64>() / m as f64).sqrt();
        let trace: f64 = rows.iter().map(|&i| k[[i, i]]).sum();
        let a = Array2::from_shape_fn((m, m), |(p, q)| {
            k[[rows[p], rows[q]]] + if p == q { 5e-5 * trace / m as f64 } else { 0.0 }
        });
        let y: Vec<f64> = rows.iter().map(|&i| (e[i] - mean) / std).collect();
        let alpha = cholesky_solve(&a, &y);
        let errors: Vec<f64> = te
            .iter()
            .map(|&t| {
                let z: f64 = rows.iter().zip(&alpha).map(|(&i, w)| k[[t, i]] * w).sum();
                hartree_to_mev(z * std + mean - e[t])
            })
            .collect();
        let n = errors.len() as f64;
        (
            errors.iter().map(|v| v.abs()).sum::<f64>() / n,
            errors.iter().map(|v| v * v).sum::<f64>() / n,
        )
    }

    /// `curve[key]` as `[draw][size]`.
    fn by_draw(curve: &Value, key: &str) -> Vec<Vec<f64>> {
        serde_json::from_value(curve[key].clone()).unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    /// Asserts that `curve`'s `mae_mev_by_draw` and `nngp_mae_mev_by_draw` are, for every
    /// draw, the mean over its `splits` of the direct kernel regressions' MAEs with its `grams`
    /// (NTK, NNGP) and `energies` at every curve size, `rmse_mev_by_draw` and
    /// `nngp_rmse_mev_by_draw` the root of the mean over the splits of their mean squared
    /// errors, and that `nngp_minus_ntk` is the mean of the MAEs' paired differences at the
    /// last size.
    fn assert_direct(what: &str, curve: &Value, nngp_minus_ntk: f64, draws: &[DirectDraw<'_>]) {
        let sizes: Vec<usize> = serde_json::from_value(curve["train"].clone()).unwrap();
        let mut direct = [Vec::new(), Vec::new()];
        for (k, prefix) in PREFIXES.into_iter().enumerate() {
            let reported = [
                by_draw(curve, &format!("{prefix}mae_mev_by_draw")),
                by_draw(curve, &format!("{prefix}rmse_mev_by_draw")),
            ];
            assert!(reported.iter().all(|r| r.len() == draws.len()), "{what}");
            for (d, (grams, splits, e)) in draws.iter().enumerate() {
                for (j, &m) in sizes.iter().enumerate() {
                    let (mae, mse) = splits
                        .iter()
                        .map(|split| direct_errors(&grams[k], split, m, e))
                        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
                    let s = splits.len() as f64;
                    let want = [mae / s, (mse / s).sqrt()];
                    for (metric, (reported, want)) in
                        ["MAE", "RMSE"].into_iter().zip(reported.iter().zip(want))
                    {
                        let got = reported[d][j];
                        // Equal up to the two solvers' rounding (seen: ≤ 1e-13 relative).
                        assert!(
                            (got - want).abs() <= 1e-10 * want,
                            "{what} {} {metric} draw {d} n = {m}: reported {got} meV, direct {want} meV",
                            KERNELS[k]
                        );
                    }
                }
                direct[k].push(*reported[0][d].last().unwrap());
            }
        }
        let diff = direct[1]
            .iter()
            .zip(&direct[0])
            .map(|(a, b)| a - b)
            .sum::<f64>()
            / draws.len() as f64;
        assert!(
            (nngp_minus_ntk - diff).abs() <= 1e-12 * diff.abs().max(1.0),
            "{what}: {nngp_minus_ntk} vs {diff}"
        );
    }

    /// One draw of a direct computation: its kernels (NTK, NNGP), splits and energies.
    type DirectDraw<'a> = ([Array2<f64>; 2], &'a [Split], &'a [f64]);

    /// Each draw's kernels (NTK, NNGP), splits and energies, over its leading `sub` molecules.
    fn leading<'a>(
        grams: &[[Array2<f64>; 2]],
        splits: &'a [Vec<Split>],
        energies: &'a [Vec<f64>],
        sub: usize,
    ) -> Vec<DirectDraw<'a>> {
        let cut = |k: &Array2<f64>| k.slice(s![..sub, ..sub]).to_owned();
        (0..grams.len())
            .map(|d| {
                (
                    grams[d].each_ref().map(cut),
                    &splits[d][..],
                    &energies[d][..sub],
                )
            })
            .collect()
    }

    /// Every QM9 model's NNGP and NTK errors (per-slot models on each draw's molecules and at
    /// equal size, the set model) equal kernel regressions done here from the definitions,
    /// each draw's from its own molecules alone: the per-slot molecule kernel summed by the
    /// engine over all 29 slots, padding included, the set model's over all pairs of real
    /// atoms from one atom-level Gram matrix (not the engine's `deep_set`), solved by a
    /// hand-written Cholesky and averaged over the draw's splits. Smoke sizes.
    #[test]
    fn nngp_and_ntk_errors_equal_direct_kernel_regressions() {
        let o = ExperimentOptions {
            smoke: true,
            ..ExperimentOptions::default()
        };
        let mut c = Qm9Config::from_options(&o);
        super::super::smoke::qm9(&mut c, &o);
        let report = c.run(1).unwrap();
        let draws = c.draw_molecules(&embedded_qm9_sample().unwrap()).unwrap();
        let featurizer = Qm9Featurizer::new(FeatureConfig {
            bandlimit: c.bandlimit,
            powers: c.powers.clone(),
            ..FeatureConfig::default()
        })
        .unwrap();
        let split = |d: usize, n: usize, tr: usize, te: usize, seed: u64| -> Vec<_> {
            (0..c.splits)
                .map(|j| draw_indices(n, n, true, tr, te, seed, d * c.splits + j))
                .collect()
        };
        let n_sub = c.set_train + c.set_test;
        let splits: Vec<Vec<Split>> = (0..c.draws)
            .map(|d| split(d, c.train + c.test, c.train, c.test, c.seed))
            .collect();
        let set_splits: Vec<Vec<Split>> = (0..c.draws)
            .map(|d| split(d, n_sub, c.set_train, c.set_test, c.seed ^ SET_DRAW_SEED))
            .collect();
        let energies: Vec<Vec<f64>> = draws
            .iter()
            .map(|m| atomization_energies_hartree(m).to_vec())
            .collect();
        let model = |name: &str| report.model(name).unwrap_or_else(|| panic!("{name}"));
        for spec in &c.models {
            let net = Network::from_json(&spec.spec.to_string()).unwrap();
            let grams: Vec<[Array2<f64>; 2]> = draws
                .iter()
                .map(|molecules| {
                    let n = molecules.len();
                    let (mut ntk, mut nngp) = (Array2::zeros((n, n)), Array2::zeros((n, n)));
                    for slot in 0..featurizer.config().max_atoms {
                        let x = featurizer.slot_signals(molecules, slot).unwrap();
                        let g = net.gram(x.view(), None, &GramOptions::default()).unwrap();
                        ntk += &g.ntk;
                        nngp += &g.nngp;
                    }
                    [ntk, nngp]
                })
                .collect();
            let m = model(&spec.name);
            let diff = m.number("nngp_minus_ntk_mae_mev").unwrap();
            assert_direct(
                &spec.name,
                &m.metrics["learning_curve"],
                diff,
                &leading(&grams, &splits, &energies, c.train + c.test),
            );
            for (k, prefix) in PREFIXES.into_iter().enumerate() {
                assert!(
                    m.number(&format!("{prefix}mae_mev")).unwrap() > 0.0,
                    "{}",
                    KERNELS[k]
                );
                let ci = &m.metrics[&format!("{prefix}rmse_mev_ci")];
                assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
            }
            let eq = &m.metrics["equal_size"];
            let eq_diff = eq["nngp_minus_ntk_mae_mev"].as_f64().unwrap();
            assert_direct(
                &format!("{} equal size", spec.name),
                eq,
                eq_diff,
                &leading(&grams, &set_splits, &energies, n_sub),
            );
        }
        // The mean predictor is the direct regression with a kernel that is 0 between distinct
        // molecules (the identity): every test prediction is the training mean.
        let baseline = splits
            .iter()
            .zip(&energies)
            .map(|(splits, e)| {
                let eye = Array2::eye(e.len());
                splits
                    .iter()
                    .map(|split| direct_errors(&eye, split, split.0.len(), e).0)
                    .sum::<f64>()
                    / splits.len() as f64
            })
            .sum::<f64>()
            / c.draws as f64;
        let reported = report.extra["mean_baseline_mae_mev"].as_f64().unwrap();
        assert!(
            (reported - baseline).abs() <= 1e-12 * baseline,
            "mean predictor: {reported} vs {baseline} meV"
        );
        // The set model: Σ_i Σ_j K_atom(A_i, B_j) from the atom network's Gram matrix over
        // every real atom of each draw's leading molecules.
        let atom = Network::from_json(&so3_atom_network().to_string()).unwrap();
        let set_draws: Vec<_> = draws
            .iter()
            .enumerate()
            .map(|(d, molecules)| {
                let (signals, counts) = featurizer.real_atom_signals(&molecules[..n_sub]).unwrap();
                let g = atom
                    .gram(signals.view(), None, &GramOptions::default())
                    .unwrap();
                let starts: Vec<usize> = counts
                    .iter()
                    .scan(0, |a, &c| {
                        *a += c;
                        Some(*a - c)
                    })
                    .collect();
                let mol = |k: &Array2<f64>| {
                    Array2::from_shape_fn((n_sub, n_sub), |(a, b)| {
                        k.slice(s![
                            starts[a]..starts[a] + counts[a],
                            starts[b]..starts[b] + counts[b]
                        ])
                        .sum()
                    })
                };
                (
                    [mol(&g.ntk), mol(&g.nngp)],
                    &set_splits[d][..],
                    &energies[d][..n_sub],
                )
            })
            .collect();
        let set = model(&c.set_model.name);
        let curve = &set.metrics["learning_curve"];
        assert_eq!(curve, &set.metrics["equal_size"]);
        let diff = set.number("nngp_minus_ntk_mae_mev").unwrap();
        assert_direct(&c.set_model.name, curve, diff, &set_draws);
        for key in ["order_change_max_mev", "nngp_order_change_max_mev"] {
            assert!(set.number(key).unwrap() < ORDER_ROUNDING_MEV, "{key}");
            assert!(model("so3_cnn").number(key).unwrap() > 1.0, "{key}");
        }
    }

    /// The draws are independent samples: each has its own `train + test` molecules, no
    /// molecule is in two draws, the same seed gives the same molecules and another seed
    /// others; a request beyond the 2,000-molecule sample is a one-line error.
    #[test]
    fn draws_have_their_own_molecules() {
        let sample = embedded_qm9_sample().unwrap();
        let c = Qm9Config::from_options(&ExperimentOptions::default());
        let draws = c.draw_molecules(&sample).unwrap();
        assert_eq!(draws.len(), c.draws);
        let mut ids: Vec<_> = draws.iter().flatten().map(Molecule::id).collect();
        assert!(draws.iter().all(|d| d.len() == c.train + c.test));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            c.draws * (c.train + c.test),
            "a molecule in two draws"
        );
        let ids_of = |d: &[Molecule]| d.iter().map(Molecule::id).collect::<Vec<_>>();
        assert_eq!(
            ids_of(&c.draw_molecules(&sample).unwrap()[1]),
            ids_of(&draws[1])
        );
        let other = Qm9Config::from_options(&ExperimentOptions {
            seed: 1,
            ..ExperimentOptions::default()
        });
        assert_ne!(
            ids_of(&other.draw_molecules(&sample).unwrap()[0]),
            ids_of(&draws[0])
        );
        let big = Qm9Config::from_options(&ExperimentOptions {
            train: Some(390),
            test: Some(20),
            ..ExperimentOptions::default()
        });
        let e = big.draw_molecules(&sample).err().unwrap().to_string();
        assert!(
            e.contains("2050") && e.contains("only 2000") && e.lines().count() == 1,
            "{e}"
        );
    }

    /// 0 draws and 0 splits are refused with their own one-line errors (not run as 1).
    #[test]
    fn zero_draws_and_zero_splits_are_one_line_errors() {
        let sample = embedded_qm9_sample().unwrap();
        let c = Qm9Config::from_options(&ExperimentOptions::default());
        for (draws, splits, want) in [(0, c.splits, "0 draws"), (c.draws, 0, "0 splits")] {
            let zero = Qm9Config {
                draws,
                splits,
                ..c.clone()
            };
            let e = zero.draws(&sample).err().unwrap().to_string();
            assert!(
                e.contains(want) && !e.contains("only") && e.lines().count() == 1,
                "{e}"
            );
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
