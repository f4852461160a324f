//! `entk experiment qm9`: SO(3)-CNN NTK vs MLP NTK regressing U0 atomization energies
//! (THEORY.md §8.1).
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
//! Targets are standardised with the training mean and (population) standard deviation; the
//! NTK mean prediction at `t = ∞` with relative `diag_reg = 5e-5` is mapped back and scored by
//! MAE and RMSE in meV, at several training sizes (leading blocks of one Gram matrix).

use std::time::Instant;

use ndarray::{s, Array2, Array4};
use serde::Serialize;
use serde_json::{json, Value};

use entk_datasets::qm9::{
    atomization_energies_hartree, embedded_qm9_sample, hartree_to_mev, train_test_molecules,
    FeatureConfig, Molecule, Qm9Featurizer, Standardizer,
};
use entk_ntk::{Gram, GramOptions, Network};

use super::common::{
    announce, curve_sizes, gram, gram_units, kernel_regression, leading_block, thousands,
    time_per_unit, ModelSpec, CALIBRATION_INPUTS, CODE_VERSION,
};
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
    /// Seed of the split.
    pub seed: u64,
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
}

/// The SO(3)-CNN atom network of THEORY.md §8.1 for input bandlimit 6.
pub fn so3_atom_network() -> Value {
    json!({"layers": [
        {"type": "s2_lift_conv", "bandlimit_out": 3}, {"type": "erf"},
        {"type": "so3_conv", "bandlimit_out": 3}, {"type": "erf"},
        {"type": "so3_pool"}, {"type": "dense"}]})
}

/// The MLP atom network of THEORY.md §8.1.
pub fn mlp_atom_network() -> Value {
    json!({"layers": [{"type": "flatten"}, {"type": "dense"}, {"type": "relu"}, {"type": "dense"}]})
}

impl Qm9Config {
    /// The settings for command-line options.
    pub fn from_options(o: &ExperimentOptions) -> Self {
        let train = o.train.unwrap_or(DEFAULT_TRAIN);
        Qm9Config {
            code_version: CODE_VERSION,
            train,
            test: o.test.unwrap_or(DEFAULT_TEST),
            seed: o.seed,
            bandlimit: 6,
            powers: vec![2, 6],
            curve: curve_sizes(train, 5),
            diag_reg: 5e-5,
            combination: "matching slots: K_mol(A,B) = Σ_i K_atom(A_i, B_i), 29 slots",
            models: vec![
                ModelSpec::new("so3_cnn", so3_atom_network()),
                ModelSpec::new("mlp", mlp_atom_network()),
            ],
        }
    }

    /// Runs the experiment.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        let molecules = embedded_qm9_sample()?;
        let (train, test) = train_test_molecules(&molecules, self.train, self.test, self.seed)?;
        let featurizer = Qm9Featurizer::new(FeatureConfig {
            bandlimit: self.bandlimit,
            powers: self.powers.clone(),
            ..FeatureConfig::default()
        })?;
        let slots = featurizer.config().max_atoms;
        let e_train = atomization_energies_hartree(&train).to_vec();
        let e_test = atomization_energies_hartree(&test).to_vec();
        let scaler = Standardizer::fit(&e_train)?;
        let y =
            Array2::from_shape_vec((self.train, 1), scaler.standardize_all(&e_train)).expect("n×1");
        let mut report =
            ExperimentReport::new("qm9", self.train, self.test, self.seed, json!(self));
        let mut table = Table::new(format!("U0 atomization energy, NTK at t = ∞ (diag_reg {}), {} test molecules: MAE / RMSE in meV", self.diag_reg, self.test), &[]);
        table.header = std::iter::once("model".to_string())
            .chain(self.curve.iter().map(|m| format!("n = {m}")))
            .chain(["kernel seconds".to_string()])
            .collect();
        let mut figure = Figure::new("QM9: test MAE", "training molecules", "MAE (meV)").log_log();
        let mut curves = Vec::new();
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
        // Time a few atom pairs of each network, then announce the size and the estimate.
        let units = molecule_gram_units(&train, &test, slots);
        let k = train.len().min(CALIBRATION_INPUTS);
        let probe = featurizer.slot_signals(&train[..k], 0)?;
        let costs = nets
            .iter()
            .map(|(_, net)| {
                time_per_unit(gram_units(k, None), || {
                    net.gram(&probe, None, threads, None)
                })
                .map(|c| c.0)
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let total: f64 = costs.iter().map(|c| c * units as f64).sum();
        announce(
            "qm9",
            &format!(
                "{} models × {} atom-pair kernels ({} training, {} test molecules, {slots} atom slots)",
                nets.len(),
                thousands(units),
                self.train,
                self.test
            ),
            total,
            threads,
            &format!("timed on {} pairs per model", gram_units(k, None)),
        );
        let tracker = Tracker::new("qm9", total);
        for ((model, net), cost) in nets.iter().zip(&costs) {
            let t0 = Instant::now();
            let (ktt, kxt, slot_pairs) = molecule_grams(
                net,
                &featurizer,
                &train,
                &test,
                slots,
                threads,
                (&tracker, *cost, &model.name),
            )?;
            let seconds = t0.elapsed().as_secs_f64();
            let mut maes = Vec::new();
            let mut rmses = Vec::new();
            for &m in &self.curve {
                let (pred, warnings) = kernel_regression(
                    leading_block(&ktt, m),
                    kxt.slice(s![.., ..m]),
                    y.slice(s![..m, ..]),
                    self.diag_reg,
                )?;
                report.notes.extend(
                    warnings
                        .into_iter()
                        .map(|w| format!("{} (n = {m}): {w}", model.name)),
                );
                let errs: Vec<f64> = pred
                    .column(0)
                    .iter()
                    .zip(&e_test)
                    .map(|(z, e)| hartree_to_mev(scaler.unstandardize(*z) - e))
                    .collect();
                maes.push(errs.iter().map(|e| e.abs()).sum::<f64>() / errs.len() as f64);
                rmses.push((errs.iter().map(|e| e * e).sum::<f64>() / errs.len() as f64).sqrt());
            }
            table.push(
                std::iter::once(model.name.clone())
                    .chain(
                        maes.iter()
                            .zip(&rmses)
                            .map(|(a, r)| format!("{} / {}", sig(*a, 4), sig(*r, 4))),
                    )
                    .chain([sig(seconds, 3)])
                    .collect(),
            );
            figure.series.push(Series::new(
                &model.name,
                self.curve.iter().map(|&m| m as f64).collect(),
                maes.clone(),
            ));
            curves.push(json!({"model": model.name, "train": self.curve, "mae_mev": maes, "rmse_mev": rmses}));
            report.models.push(
                ModelResult::new(&model.name)
                    .with("mae_mev", *maes.last().expect("curve"))
                    .with("rmse_mev", *rmses.last().expect("curve"))
                    .with("kernel_seconds", seconds)
                    .with("atom_pairs", slot_pairs)
                    .with(
                        "learning_curve",
                        json!({"train": self.curve, "mae_mev": maes, "rmse_mev": rmses}),
                    ),
            );
        }
        tracker.finish();
        let baseline: f64 = e_test
            .iter()
            .map(|e| hartree_to_mev((e - scaler.mean).abs()))
            .sum::<f64>()
            / e_test.len() as f64;
        report.notes.insert(
            0,
            format!(
                "Embedded QM9 sample; atom signals at L = {} ({}×{} grid, powers {:?}, 10 channels), 29 slots, matching-slot molecule kernel; targets standardised with the training mean {} Ha and std {} Ha. Predicting the training mean gives MAE {} meV.",
                self.bandlimit,
                2 * self.bandlimit,
                2 * self.bandlimit - 1,
                self.powers,
                sig(scaler.mean, 6),
                sig(scaler.std, 4),
                sig(baseline, 4)
            ),
        );
        report.tables.push(table);
        report.figures.push(figure);
        report.extra = json!({"learning_curves": curves, "mean_baseline_mae_mev": baseline, "target_mean_ha": scaler.mean, "target_std_ha": scaler.std});
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}

/// How an atom network is evaluated on one slot's signals.
pub enum SlotNetwork {
    /// On S² signals `(2L, 2L−1, C)`, as images.
    Signals(Network),
    /// A spec starting with `flatten`, evaluated as the rest of the spec on flattened vectors
    /// ([`Network::gram_vectors`]). THEORY.md §4's Flatten kernel is `P⁻¹ Σ_p K⁰(p,p) =
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
                let flat = |x: &Array4<f64>| -> Array2<f64> {
                    let n = x.dim().0;
                    let d = x.len() / n.max(1);
                    Array2::from_shape_vec((n, d), x.iter().copied().collect()).expect("n·d values")
                };
                let (a, b) = (flat(x1), x2.map(flat));
                let g = net.gram_vectors(
                    a.view(),
                    b.as_ref().map(|b| b.view()),
                    &GramOptions {
                        threads,
                        memory_budget: None,
                        progress: stage.map(|s| s as &dyn entk_ntk::Progress),
                    },
                );
                Ok(g?)
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

/// Molecule Gram matrices `Σ_slots` of the per-slot atom Gram matrices (train×train and
/// test×train), computing each slot only over molecules with an atom in it. Also returns the
/// number of atom pairs evaluated.
pub fn molecule_grams(
    net: &SlotNetwork,
    featurizer: &Qm9Featurizer,
    train: &[Molecule],
    test: &[Molecule],
    slots: usize,
    threads: usize,
    (tracker, cost, name): SlotProgress<'_>,
) -> Result<(Array2<f64>, Array2<f64>, usize), ExperimentError> {
    let (n, m) = (train.len(), test.len());
    let mut ktt = Array2::zeros((n, n));
    let mut kxt = Array2::zeros((m, n));
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
                ktt[[i, j]] += g.ntk[[a, b]];
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
                    kxt[[i, j]] += g.ntk[[a, b]];
                }
            }
            pairs += te.len() * tr.len();
        }
    }
    Ok((ktt, kxt, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use entk_ntk::GramOptions;

    /// The MLP's vector path gives the same kernels as the engine's `flatten` on images.
    #[test]
    fn mlp_vector_path_equals_flatten_on_signals() {
        let molecules = embedded_qm9_sample().unwrap();
        let featurizer = Qm9Featurizer::new(FeatureConfig {
            bandlimit: 2,
            ..FeatureConfig::default()
        })
        .unwrap();
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
        let molecules = embedded_qm9_sample().unwrap();
        let featurizer = Qm9Featurizer::new(FeatureConfig {
            bandlimit: 2,
            ..FeatureConfig::default()
        })
        .unwrap();
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
