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
//! Decisions: `augmentation` runs without its control variate in smoke mode
//! (`linear_ratio = 0`), because whether to use it is decided from measured seconds, and tiny
//! units time too noisily for two runs to decide alike; everything else it does runs.

use super::augmentation::AugmentationConfig;
use super::classification::ImageClassification;
use super::common::curve_sizes;
use super::convergence::ConvergenceConfig;
use super::histology::HistologyConfig;
use super::qm9::Qm9Config;
use super::rotmnist::RotmnistConfig;
use super::textures::TexturesConfig;
use super::ExperimentOptions;

/// Random draws of the classification and regression experiments in smoke mode (2: the
/// smallest number with an interval).
const DRAWS: usize = 2;
/// Bootstrap resamples in smoke mode.
const BOOTSTRAP: usize = 50;

/// Smoke sizes for `qm9`: 6 / 4 molecules, the set model on 4 / 2 of them, 2 shuffled.
pub fn qm9(c: &mut Qm9Config, o: &ExperimentOptions) {
    c.train = o.train.unwrap_or(6);
    c.test = o.test.unwrap_or(4);
    c.draws = DRAWS;
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

/// Smoke sizes for `augmentation`: 3 training digits, 3 test inputs of each kind, widths 8 and
/// 16, 4 units each, checkpoints after 5 and 20 gradient steps, no control variate (see the
/// module notes).
pub fn augmentation(c: &mut AugmentationConfig, o: &ExperimentOptions) {
    c.train = o.train.unwrap_or(3);
    c.test = o.test.unwrap_or(3);
    c.widths = vec![8, 16];
    c.pilot_units = 3;
    c.max_units = vec![4, 4];
    c.linear_ratio = 0;
    c.bootstrap = BOOTSTRAP;
    c.checkpoints = vec![5, 20];
}

/// Smoke sizes for `convergence`: 3 inputs, widths 4 and 8 for both models, 4 networks
/// (the smallest pilot) of each kind per width.
pub fn convergence(c: &mut ConvergenceConfig, o: &ExperimentOptions) {
    c.inputs = o.train.unwrap_or(3);
    c.pilot = 4;
    c.bootstrap = BOOTSTRAP;
    for m in [&mut c.c4, &mut c.so3] {
        m.widths = vec![4, 8];
        m.max_networks = vec![4, 4];
        m.max_linearised = 4;
    }
}
