//! `--smoke` (`entk reproduce --smoke`, `entk experiment NAME --smoke`): every experiment at
//! tiny sizes, so a whole `reproduce` takes seconds.
//!
//! It runs the same code as a full run (data, Gram matrices through the tile store, finite
//! networks through the unit store, statistics, claims, reports, plots) on a handful of inputs,
//! two widths and a few networks per width. **Its numbers mean nothing**; it exists to check
//! the whole pipeline end to end (crates/cli/tests/reproduce_kill.rs kills a smoke `reproduce`
//! with SIGKILL inside its second experiment and checks that the rerun reuses the saved tiles
//! and units and writes the numbers of an uninterrupted run). The settings are recorded in each
//! report like any others, so a smoke result is never reused for a full run or the other way
//! round. Explicit `--train`/`--test` still win over the smoke sizes.
//!
//! **Verdicts.** A smoke run's intervals rest on 2 draws or 4 networks (units) per width: far
//! too few to decide anything. Its claims are therefore never `yes` or `NO`:
//! [`withhold_verdicts`] sets every decided claim to not resolved (`holds: null`) and says in
//! its evidence what the intervals alone would have said and how few samples they rest on;
//! `entk reproduce` prints `not resolved (smoke mode: …)` for them, and its "which kernel wins"
//! headlines say `not resolved (smoke mode)`.
//!
//! Decisions: `augmentation` runs without its control variate in smoke mode
//! (`linear_ratio = 0`; whether to use it is decided from counted work, not measured seconds,
//! so a smoke run could keep it), at the full run's 9×9 images
//! ([`DEFAULT_IMAGE_SIZE`](super::augmentation::DEFAULT_IMAGE_SIZE)); everything else it does
//! runs. Every Monte-Carlo claim of it reads "not resolved" there: a verdict needs
//! `verdict_min_units` (32) units at every width, and smoke has 4.

use super::augmentation::AugmentationConfig;
use super::classification::ImageClassification;
use super::common::curve_sizes;
use super::convergence::ConvergenceConfig;
use super::histology::HistologyConfig;
use super::qm9::Qm9Config;
use super::rotmnist::RotmnistConfig;
use super::stats::verdict;
use super::textures::TexturesConfig;
use super::{ExperimentName, ExperimentOptions};
use crate::report::ExperimentReport;

/// Random draws of the classification and regression experiments in smoke mode (2: the
/// smallest number with an interval).
const DRAWS: usize = 2;
/// Bootstrap resamples in smoke mode.
const BOOTSTRAP: usize = 50;
/// Units (of 4 trained networks each) per width of `augmentation` in smoke mode.
const UNITS: usize = 4;
/// Networks of each kind per width of `convergence` in smoke mode (its pilot size too).
const NETWORKS: usize = 4;

/// The samples the claims of experiment `name` rest on in smoke mode.
pub fn samples(name: ExperimentName) -> String {
    match name {
        ExperimentName::Qm9
        | ExperimentName::Rotmnist
        | ExperimentName::Textures
        | ExperimentName::Histology => format!("{DRAWS} draws"),
        ExperimentName::Augmentation => format!("{UNITS} units per width"),
        ExperimentName::Convergence => format!("{NETWORKS} networks per width"),
    }
}

/// The prefix of a withheld claim's evidence.
const WITHHELD: &str = "smoke mode";

/// Sets every decided claim of a smoke run of `name` to not resolved, keeping what the
/// intervals alone would have said in its evidence (see the module notes).
pub fn withhold_verdicts(report: &mut ExperimentReport, name: ExperimentName) {
    let samples = samples(name);
    for c in &mut report.claims {
        let would = verdict(c.holds);
        c.holds = None;
        c.evidence = format!(
            "{WITHHELD}: {samples}, too few to decide (the 95 % intervals alone would say \"{would}\"); {}",
            c.evidence
        );
    }
}

/// The verdict column of a smoke run's claim: `not resolved (smoke mode: …)`, the samples
/// taken from the evidence [`withhold_verdicts`] wrote; `None` for any other claim.
pub fn withheld_verdict(evidence: &str) -> Option<String> {
    let rest = evidence.strip_prefix(WITHHELD)?.strip_prefix(": ")?;
    let samples = rest.split(", too few").next()?;
    Some(format!("not resolved ({WITHHELD}: {samples})"))
}

/// Smoke sizes for `qm9`: 2 draws of 6 + 4 molecules, split 3 ways, the set model on 4 + 2 of
/// them, 2 shuffled.
pub fn qm9(c: &mut Qm9Config, o: &ExperimentOptions) {
    c.train = o.train.unwrap_or(6);
    c.test = o.test.unwrap_or(4);
    c.draws = DRAWS;
    c.splits = 3;
    c.curve = curve_sizes(c.train, 3);
    c.set_train = c.train.min(4);
    c.set_test = c.test.min(2);
    c.set_curve = curve_sizes(c.set_train, 3);
    c.shuffled = c.shuffled.min(2).min(c.set_test);
}

/// Smoke sizes of an image classification (`rotmnist`, `textures`, `histology`): `train` /
/// `test` images (explicit options win), 2 draws.
fn classification(
    c: &mut ImageClassification,
    o: &ExperimentOptions,
    (train, test): (usize, usize),
) {
    c.train = o.train.unwrap_or(train);
    c.test = o.test.unwrap_or(test);
    c.draws = DRAWS;
    c.curve = curve_sizes(c.train, train / 2);
}

/// Smoke sizes for `rotmnist`: 10 / 6 digits.
pub fn rotmnist(c: &mut RotmnistConfig, o: &ExperimentOptions) {
    classification(&mut c.run, o, (10, 6));
}

/// Smoke sizes for `textures`: 8 / 6 patches.
pub fn textures(c: &mut TexturesConfig, o: &ExperimentOptions) {
    classification(&mut c.run, o, (8, 6));
}

/// Smoke sizes for `histology` (still needs `--data`): 8 / 8 tiles.
pub fn histology(c: &mut HistologyConfig, o: &ExperimentOptions) {
    classification(&mut c.run, o, (8, 8));
}

/// Smoke sizes for `augmentation`: 3 training digits at 9×9, 3 test inputs of each kind, widths
/// 8 and 16, 4 units each (below the verdict floor: no Monte-Carlo claim is decided),
/// checkpoints after 5 and 20 gradient steps, no control variate (see the module notes).
pub fn augmentation(c: &mut AugmentationConfig, o: &ExperimentOptions) {
    c.train = o.train.unwrap_or(3);
    c.test = o.test.unwrap_or(3);
    c.widths = vec![8, 16];
    // The baseline only for the widths run (`run` refuses others).
    c.min_units.retain(|(w, _)| c.widths.contains(w));
    c.pilot_units = 3;
    c.max_units = vec![UNITS, UNITS];
    c.linear_ratio = 0;
    c.bootstrap = BOOTSTRAP;
    c.checkpoints = vec![5, 20];
}

/// Smoke sizes for `convergence`: 3 inputs, widths 4 and 8 for both models, 4 networks
/// (the smallest pilot) of each kind per width.
pub fn convergence(c: &mut ConvergenceConfig, o: &ExperimentOptions) {
    c.inputs = o.train.unwrap_or(3);
    c.pilot = NETWORKS;
    c.bootstrap = BOOTSTRAP;
    for m in [&mut c.c4, &mut c.so3] {
        m.widths = vec![4, 8];
        m.max_networks = vec![NETWORKS, NETWORKS];
        m.max_linearised = NETWORKS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::stats::Claim;

    /// A smoke run decides no claim: every verdict is withheld, with what the intervals alone
    /// would have said and the samples they rest on, and the summary's verdict column says so.
    #[test]
    fn smoke_claims_are_never_decided() {
        let mut r = ExperimentReport::new("textures", 8, 6, 0, serde_json::Value::Null);
        r.claims = vec![
            Claim::new("a", Some(true), "1 [0.5, 2]"),
            Claim::new("b", Some(false), "-1 [-2, -0.5]"),
            Claim::new("c", None, "0 [-1, 1]"),
        ];
        withhold_verdicts(&mut r, ExperimentName::Textures);
        assert!(r.claims.iter().all(|c| c.holds.is_none()));
        assert!(r.claims[0]
            .evidence
            .contains("would say \"yes\"); 1 [0.5, 2]"));
        assert!(r.claims[1].evidence.contains("would say \"NO\""));
        for c in &r.claims {
            assert_eq!(
                withheld_verdict(&c.evidence).as_deref(),
                Some("not resolved (smoke mode: 2 draws)")
            );
        }
        assert_eq!(withheld_verdict("1 [0.5, 2]"), None);
        assert_eq!(samples(ExperimentName::Convergence), "4 networks per width");
    }
}
