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
//! Targets are standardised with the training mean and (population) standard deviation; the
//! NTK mean prediction at `t = ∞` with relative `diag_reg = 5e-5` is mapped back and scored by
//! MAE and RMSE in meV, at several training sizes (leading blocks of one Gram matrix).

use std::time::Instant;

use ndarray::{Array2, Array4};
use serde::Serialize;
use serde_json::{json, Value};

use entk_datasets::qm9::{
    atomization_energies_hartree, embedded_qm9_sample, hartree_to_mev, train_test_molecules,
    FeatureConfig, Molecule, Qm9Featurizer, Standardizer,
};
use entk_ntk::{Gram, GramOptions, Network};

use super::classification::{draw_indices, paired_claim, CurveDraws, DEFAULT_DRAWS};
use super::common::{
    announce, curve_sizes, gram, gram_units, kernel_regression, thousands, time_per_unit,
    ModelSpec, CALIBRATION_INPUTS, CODE_VERSION,
};
use super::stats::{mean_estimate, Estimate};
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
        Qm9Config {
            code_version: CODE_VERSION,
            train,
            test: o.test.unwrap_or(DEFAULT_TEST),
            seed: o.seed,
            draws: DEFAULT_DRAWS,
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
        // Time a few atom pairs of each network, then announce the size and the estimate.
        let units = molecule_gram_units(&pool, &[], slots);
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
        let total: f64 = costs.iter().map(|c| c * units as f64).sum();
        announce(
            "qm9",
            &format!(
                "{} models × {} atom-pair kernels (a pool of {} molecules, {slots} atom slots; {} draws of {} training and {} test molecules)",
                nets.len(),
                thousands(units),
                pool.len(),
                self.draws,
                self.train,
                self.test
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
            let seconds = t0.elapsed().as_secs_f64();
            // [kernel][draw][size] of (MAE, RMSE) in meV.
            let mut errs = [Vec::new(), Vec::new()];
            for (d, (tr, te)) in splits.iter().enumerate() {
                let e_train: Vec<f64> = tr.iter().map(|&i| energies[i]).collect();
                let scaler = Standardizer::fit(&e_train)?;
                for (kk, kernel) in [&grams.ntk, &grams.nngp].into_iter().enumerate() {
                    let mut row = Vec::new();
                    for &m in &self.curve {
                        let rows = &tr[..m];
                        let ktt =
                            Array2::from_shape_fn((m, m), |(a, b)| kernel[[rows[a], rows[b]]]);
                        let kxt =
                            Array2::from_shape_fn((te.len(), m), |(a, b)| kernel[[te[a], rows[b]]]);
                        let y = Array2::from_shape_fn((m, 1), |(a, _)| {
                            scaler.standardize(energies[rows[a]])
                        });
                        let (pred, warnings) =
                            kernel_regression(ktt.view(), kxt.view(), y.view(), self.diag_reg)?;
                        report.notes.extend(warnings.into_iter().map(|w| {
                            format!(
                                "{} (draw {d}, n = {m}, {}): {w}",
                                model.name,
                                ["NTK", "NNGP"][kk]
                            )
                        }));
                        let e: Vec<f64> = pred
                            .column(0)
                            .iter()
                            .zip(te)
                            .map(|(z, &i)| hartree_to_mev(scaler.unstandardize(*z) - energies[i]))
                            .collect();
                        let mae = e.iter().map(|v| v.abs()).sum::<f64>() / e.len() as f64;
                        let rmse = (e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64).sqrt();
                        row.push((mae, rmse));
                    }
                    errs[kk].push(row);
                }
            }
            results.push((*model, errs, seconds, slot_pairs));
        }
        tracker.finish();
        self.fill(&mut report, &results, &splits, &energies);
        report.notes.insert(
            0,
            format!(
                "Embedded QM9 sample: a pool of {} molecules, {} random train/test draws ({} / {}); atom signals at L = {} ({}×{} grid, powers {:?}, 10 channels), 29 slots, matching-slot molecule kernel; targets standardised with each draw's training mean and std. Errors are means over the draws ± their standard error, intervals 95 % Student t; comparisons paired over draws.",
                pool.len(),
                self.draws,
                self.train,
                self.test,
                self.bandlimit,
                2 * self.bandlimit,
                2 * self.bandlimit - 1,
                self.powers,
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
        let mut figure = Figure::new(
            "QM9: test MAE (band: ± 1 s.e.)",
            "training molecules",
            "MAE (meV)",
        )
        .log_log();
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
                for (metric, f) in [
                    ("mae_mev", (|p: &(f64, f64)| p.0) as fn(&(f64, f64)) -> f64),
                    ("rmse_mev", |p: &(f64, f64)| p.1),
                ] {
                    let by_draw = per(&errs[kk], f);
                    let sum = CurveDraws::summary(&by_draw);
                    let key = format!("{kernel}{metric}");
                    m = m
                        .with(&key, sum[last].value)
                        .with(&format!("{key}_se"), sum[last].se)
                        .with(&format!("{key}_ci"), json!(sum[last].ci));
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
                    curve.insert(format!("{key}_by_draw"), json!(by_draw));
                    if kk == 0 && metric == "mae_mev" {
                        table.push(
                            std::iter::once(model.name.clone())
                                .chain(sum.iter().map(pm))
                                .chain([sig(*seconds, 3)])
                                .collect(),
                        );
                        figure.series.push(
                            Series::new(
                                &model.name,
                                xs.clone(),
                                sum.iter().map(|e| e.value).collect(),
                            )
                            .with_fill(
                                sum.iter().map(|e| e.value - e.se).collect(),
                                sum.iter().map(|e| e.value + e.se).collect(),
                            ),
                        );
                    }
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
