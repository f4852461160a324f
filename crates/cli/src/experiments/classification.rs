//! The classification protocol shared by `rotmnist`, `textures` and `histology` (THEORY.md
//! §8.2): centred one-hot labels, the NTK mean prediction at `t = ∞` with relative `diag_reg`,
//! argmax, accuracy; a learning curve from leading blocks of one Gram matrix per model.

use std::time::Instant;

use ndarray::s;
use serde_json::json;

use entk_datasets::{accuracy, argmax_rows, LabelledImages};

use super::common::{
    announce, calibrate_pair_seconds, gram, gram_units, kernel_regression, leading_block,
    thousands, ModelSpec, CALIBRATION_INPUTS,
};
use super::ExperimentError;
use crate::progress::Tracker;
use crate::report::{percent, sig, ExperimentReport, Figure, Legend, ModelResult, Series, Table};

/// One classification comparison.
pub struct Classification<'a> {
    /// Training images (their order defines the learning curve's subsets: the first `m`).
    pub train: &'a LabelledImages,
    /// Test images.
    pub test: &'a LabelledImages,
    /// The models.
    pub models: &'a [ModelSpec],
    /// Learning-curve training sizes (increasing, last = all training points).
    pub curve: &'a [usize],
    /// Relative diagonal regularisation.
    pub diag_reg: f64,
    /// Worker threads.
    pub threads: usize,
}

impl Classification<'_> {
    /// Computes every model's Gram matrices and accuracies and fills `report` (models, a
    /// learning-curve table and figure, solver warnings as notes, `extra.learning_curves`).
    /// First times a few pairs of each model and prints the size and time estimate; progress
    /// goes to one bar (or periodic lines) for the whole comparison.
    pub fn run_into(&self, report: &mut ExperimentReport) -> Result<(), ExperimentError> {
        let (n, m) = (self.train.len(), self.test.len());
        let nets = self
            .models
            .iter()
            .map(|model| model.network())
            .collect::<Result<Vec<_>, _>>()?;
        let costs = nets
            .iter()
            .map(|net| calibrate_pair_seconds(net, self.train.images(), self.threads))
            .collect::<Result<Vec<_>, _>>()?;
        let (tt_units, xt_units) = (gram_units(n, None), gram_units(m, Some(n)));
        let total: f64 = costs
            .iter()
            .map(|c| c.0 * (tt_units + xt_units) as f64)
            .sum();
        let experiment = report.experiment.clone();
        announce(
            &experiment,
            &format!(
                "{} models × {} kernel pairs ({n} training, {m} test inputs)",
                self.models.len(),
                thousands(tt_units + xt_units)
            ),
            total,
            self.threads,
            &format!(
                "timed on {} pairs per model",
                gram_units(n.min(CALIBRATION_INPUTS), None)
            ),
        );
        let tracker = Tracker::new(&experiment, total);
        let y = self.train.centred_one_hot();
        let truth = self.test.labels();
        let mut table = Table::new(
            format!(
                "NTK test accuracy (t = ∞, diag_reg {}) against training-set size; {} test images",
                self.diag_reg,
                self.test.len()
            ),
            &[],
        );
        table.header = std::iter::once("model".to_string())
            .chain(self.curve.iter().map(|m| format!("n = {m}")))
            .chain(["NNGP (all n)".to_string(), "kernel seconds".to_string()])
            .collect();
        let mut figure = Figure::new(
            format!("{}: NTK accuracy", report.experiment),
            "training points",
            "test accuracy",
        )
        .log_x()
        .legend_at(Legend::LowerRight);
        let mut curves = Vec::new();
        for ((model, net), (cost, _)) in self.models.iter().zip(&nets).zip(&costs) {
            let start = Instant::now();
            let stage = tracker.stage(&format!("{} train×train", model.name), tt_units, *cost);
            let tt = gram(net, self.train.images(), None, self.threads, Some(&stage))?;
            drop(stage);
            let stage = tracker.stage(&format!("{} test×train", model.name), xt_units, *cost);
            let xt = gram(
                net,
                self.test.images(),
                Some(self.train.images()),
                self.threads,
                Some(&stage),
            )?;
            drop(stage);
            let seconds = start.elapsed().as_secs_f64();
            let mut accs = Vec::new();
            for &m in self.curve {
                let (pred, warnings) = kernel_regression(
                    leading_block(&tt.ntk, m),
                    xt.ntk.slice(s![.., ..m]),
                    y.slice(s![..m, ..]),
                    self.diag_reg,
                )?;
                report.notes.extend(
                    warnings
                        .into_iter()
                        .map(|w| format!("{} (n = {m}, NTK): {w}", model.name)),
                );
                accs.push(accuracy(&argmax_rows(pred.view()), truth));
            }
            let (pred, warnings) =
                kernel_regression(tt.nngp.view(), xt.nngp.view(), y.view(), self.diag_reg)?;
            report.notes.extend(
                warnings
                    .into_iter()
                    .map(|w| format!("{} (NNGP): {w}", model.name)),
            );
            let nngp_acc = accuracy(&argmax_rows(pred.view()), truth);
            let full = *accs.last().expect("nonempty curve");
            table.push(
                std::iter::once(model.name.clone())
                    .chain(accs.iter().map(|a| percent(*a)))
                    .chain([percent(nngp_acc), sig(seconds, 3)])
                    .collect(),
            );
            figure.series.push(Series::new(
                &model.name,
                self.curve.iter().map(|&m| m as f64).collect(),
                accs.clone(),
            ));
            curves.push(json!({"model": model.name, "train": self.curve, "accuracy": accs}));
            report.models.push(
                ModelResult::new(&model.name)
                    .with("accuracy", full)
                    .with("nngp_accuracy", nngp_acc)
                    .with("kernel_seconds", seconds)
                    .with(
                        "learning_curve",
                        json!({"train": self.curve, "accuracy": accs}),
                    ),
            );
        }
        let chance = 1.0 / self.train.num_classes() as f64;
        if let (Some(&a), Some(&b)) = (self.curve.first(), self.curve.last()) {
            figure.series.push(
                Series::new(
                    format!("chance ({})", percent(chance)),
                    vec![a as f64, b as f64],
                    vec![chance, chance],
                )
                .as_reference(),
            );
        }
        tracker.finish();
        report.tables.push(table);
        report.figures.push(figure);
        report.extra = json!({"learning_curves": curves, "chance": chance});
        Ok(())
    }
}
