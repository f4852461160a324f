//! The paper's experiments as a library (`entk experiment NAME`, `entk reproduce`).
//!
//! Each experiment is a settings struct built from [`ExperimentOptions`] (`from_options`) whose
//! `run` returns an [`crate::report::ExperimentReport`]; the settings are
//! serialised into the report, so two runs with equal settings give equal numbers and
//! [`reproduce()`] can reuse finished results.
//!
//! | name | what | data |
//! |---|---|---|
//! | `rotmnist` | CNN vs C4-/D4-GCNN NTK accuracy, learning curve | embedded MNIST, rotated |
//! | `textures` | the same on brick/grass/gravel patches | embedded textures |
//! | `histology` | CNN vs C4-GCNN (docs/theory.md#histology) | `--data` (NCT-CRC-HE-100K or PathMNIST) |
//! | `augmentation` | finite CNN ensembles on C4-augmented data vs GCNN ensembles vs μ_t (docs/theory.md#data-augmentation-and-group-convolution) | embedded MNIST, textures |
//! | `convergence` | mean empirical NTK/NNGP → analytic as width grows (C4, SO(3)) | embedded MNIST, QM9 |
//! | `qm9` | SO(3)-CNN vs MLP NTK and NNGP on U0 atomization energies (docs/theory.md#qm9-energies) | embedded QM9 |
//!
//! ```no_run
//! use entk_cli::experiments::{run_experiment, ExperimentName, ExperimentOptions};
//! let opts = ExperimentOptions { train: Some(40), test: Some(60), ..ExperimentOptions::default() };
//! let report = run_experiment(ExperimentName::Textures, &opts).unwrap();
//! println!("{}", report.to_text());
//! ```

pub mod args;
pub mod augmentation;
pub mod classification;
pub mod common;
pub mod convergence;
mod error;
pub mod histology;
pub mod qm9;
pub mod qm9_set;
pub mod reproduce;
pub mod rotmnist;
pub mod smoke;
pub mod stats;
pub mod textures;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::Value;

pub use error::ExperimentError;
pub use reproduce::{reproduce, ReproduceOptions, ReproduceSummary};

use crate::report::{ExperimentReport, Mode};

/// The experiments of `entk experiment NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExperimentName {
    /// QM9 energies, SO(3)-CNN vs MLP.
    Qm9,
    /// Rotated MNIST, CNN vs C4-/D4-GCNN.
    Rotmnist,
    /// Rotated texture patches, CNN vs C4-/D4-GCNN.
    Textures,
    /// Histology tiles (user data), CNN vs C4-GCNN.
    Histology,
    /// Finite-width augmentation ⇔ GCNN ensembles.
    Augmentation,
    /// Empirical → analytic kernels with width.
    Convergence,
}

impl ExperimentName {
    /// Every experiment, in the README's order.
    pub const ALL: [ExperimentName; 6] = [
        ExperimentName::Qm9,
        ExperimentName::Rotmnist,
        ExperimentName::Textures,
        ExperimentName::Histology,
        ExperimentName::Augmentation,
        ExperimentName::Convergence,
    ];
    /// The experiments of `entk reproduce` (embedded data only), cheapest first.
    pub const REPRODUCE: [ExperimentName; 5] = [
        ExperimentName::Convergence,
        ExperimentName::Augmentation,
        ExperimentName::Textures,
        ExperimentName::Rotmnist,
        ExperimentName::Qm9,
    ];
    /// The command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentName::Qm9 => "qm9",
            ExperimentName::Rotmnist => "rotmnist",
            ExperimentName::Textures => "textures",
            ExperimentName::Histology => "histology",
            ExperimentName::Augmentation => "augmentation",
            ExperimentName::Convergence => "convergence",
        }
    }
    /// The known names, comma-separated.
    pub fn known() -> String {
        Self::ALL
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ExperimentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExperimentName {
    type Err = ExperimentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|n| n.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ExperimentError::Unknown {
                name: s.to_string(),
                known: Self::known(),
            })
    }
}

/// Options shared by every experiment (the `entk experiment` flags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExperimentOptions {
    /// Training-set size (per experiment default when `None`). For `convergence` the number
    /// of inputs of the Gram matrices.
    pub train: Option<usize>,
    /// Test-set size (per experiment default when `None`). For `augmentation` the test inputs
    /// of each kind (on and off the training distribution).
    pub test: Option<usize>,
    /// Seed of every random draw.
    pub seed: u64,
    /// Worker threads (0 = all cores). Results do not depend on it.
    pub threads: usize,
    /// Data path (`histology` only).
    pub data: Option<PathBuf>,
    /// Keep the Gram matrices in durable tile stores under `tiles/NAME`
    /// ([`common::with_tile_stores`]); `None`: in memory. Not a setting: the numbers are the
    /// same either way.
    pub tiles: Option<PathBuf>,
    /// Tiny sizes for every experiment ([`smoke`]): checks the whole pipeline in seconds; the
    /// numbers mean nothing. Explicit `train`/`test` still apply.
    pub smoke: bool,
}

impl ExperimentOptions {
    /// Refuses options that do not apply to `name`: sizes of 0, `--test` for `convergence`
    /// (its Gram matrices are `--train × --train`; it has no test set), `--data` for anything
    /// but `histology` (the others run on the data embedded in the binary).
    pub fn check(&self, name: ExperimentName) -> Result<(), ExperimentError> {
        let usage = |m: String| Err(ExperimentError::Usage(m).within(name.as_str()));
        if self.train == Some(0) || (self.test == Some(0) && name != ExperimentName::Convergence) {
            return usage("--train and --test must be at least 1".into());
        }
        if name == ExperimentName::Convergence && self.test.is_some() {
            return usage(
                "--test does not apply: convergence compares --train × --train Gram matrices and has no test set".into(),
            );
        }
        if name != ExperimentName::Histology {
            if let Some(path) = &self.data {
                return usage(format!(
                    "--data {} does not apply: {name} runs on the data embedded in the binary (only histology reads --data)",
                    path.display()
                ));
            }
        }
        Ok(())
    }
}

/// One experiment's settings, built from [`ExperimentOptions`] (with [`smoke`] sizes when
/// asked): what [`experiment_settings`] serialises and [`run_experiment`] runs.
enum Config {
    Qm9(qm9::Qm9Config),
    Rotmnist(rotmnist::RotmnistConfig),
    Textures(textures::TexturesConfig),
    Histology(histology::HistologyConfig),
    Augmentation(augmentation::AugmentationConfig),
    Convergence(convergence::ConvergenceConfig),
}

impl Config {
    fn new(name: ExperimentName, o: &ExperimentOptions) -> Result<Self, ExperimentError> {
        o.check(name)?;
        use ExperimentName as E;
        let mut config = match name {
            E::Qm9 => Config::Qm9(qm9::Qm9Config::from_options(o)),
            E::Rotmnist => Config::Rotmnist(rotmnist::RotmnistConfig::from_options(o)),
            E::Textures => Config::Textures(textures::TexturesConfig::from_options(o)),
            E::Histology => Config::Histology(
                histology::HistologyConfig::from_options(o).map_err(|e| e.within("histology"))?,
            ),
            E::Augmentation => {
                Config::Augmentation(augmentation::AugmentationConfig::from_options(o))
            }
            E::Convergence => Config::Convergence(convergence::ConvergenceConfig::from_options(o)),
        };
        if o.smoke {
            config.shrink(o);
        }
        Ok(config)
    }

    /// Shrinks the settings to smoke-test sizes ([`smoke`]).
    fn shrink(&mut self, o: &ExperimentOptions) {
        match self {
            Config::Qm9(c) => smoke::qm9(c, o),
            Config::Rotmnist(c) => smoke::rotmnist(c, o),
            Config::Textures(c) => smoke::textures(c, o),
            Config::Histology(c) => smoke::histology(c, o),
            Config::Augmentation(c) => smoke::augmentation(c, o),
            Config::Convergence(c) => smoke::convergence(c, o),
        }
    }

    fn settings(&self) -> Result<Value, ExperimentError> {
        match self {
            Config::Qm9(c) => serde_json::to_value(c),
            Config::Rotmnist(c) => serde_json::to_value(c),
            Config::Textures(c) => serde_json::to_value(c),
            Config::Histology(c) => serde_json::to_value(c),
            Config::Augmentation(c) => serde_json::to_value(c),
            Config::Convergence(c) => serde_json::to_value(c),
        }
        .map_err(|e| ExperimentError::Usage(format!("cannot serialise the settings: {e}")))
    }

    fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        match self {
            Config::Qm9(c) => c.run(threads),
            Config::Rotmnist(c) => c.run(threads),
            Config::Textures(c) => c.run(threads),
            Config::Histology(c) => c.run(threads),
            Config::Augmentation(c) => c.run(threads),
            Config::Convergence(c) => c.run(threads),
        }
    }
}

/// The settings an experiment would run with (what [`reproduce()`] compares to decide whether a
/// stored result can be reused). Errors as the experiment would on bad options.
pub fn experiment_settings(
    name: ExperimentName,
    opts: &ExperimentOptions,
) -> Result<Value, ExperimentError> {
    Config::new(name, opts)?.settings()
}

/// Runs one experiment; the report's `mode` says whether `--smoke` made it, and its
/// `cpu_seconds` the process CPU time the run consumed. The size and time
/// estimate and the progress (a bar on a terminal, periodic lines elsewhere) go to stderr;
/// nothing is printed on stdout.
pub fn run_experiment(
    name: ExperimentName,
    opts: &ExperimentOptions,
) -> Result<ExperimentReport, ExperimentError> {
    let config = Config::new(name, opts)?;
    let cpu = common::process_cpu_seconds();
    let threads = common::resolve_threads(opts.threads);
    let run = || config.run(threads);
    let result = match &opts.tiles {
        Some(root) => common::with_tile_stores(&root.join(name.as_str()), run),
        None => run(),
    };
    let mut report = result.map_err(|e| e.within(name.as_str()))?;
    report.mode = Some(Mode::of(opts.smoke));
    if opts.smoke {
        smoke::withhold_verdicts(&mut report, name);
    }
    report.cpu_seconds = cpu
        .zip(common::process_cpu_seconds())
        .map(|(a, b)| (b - a).max(0.0));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(name: ExperimentName, opts: ExperimentOptions) -> String {
        let e = opts.check(name).expect_err("refused").to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.starts_with(name.as_str()), "{e}");
        e
    }

    #[test]
    fn options_that_do_not_apply_are_refused() {
        let test = ExperimentOptions {
            test: Some(5),
            ..ExperimentOptions::default()
        };
        assert!(
            refusal(ExperimentName::Convergence, test.clone()).contains("--test does not apply")
        );
        assert!(test.check(ExperimentName::Textures).is_ok());
        let data = ExperimentOptions {
            data: Some("some/folder".into()),
            ..ExperimentOptions::default()
        };
        for name in ExperimentName::ALL {
            if name == ExperimentName::Histology {
                assert!(data.check(name).is_ok());
            } else {
                let e = refusal(name, data.clone());
                assert!(e.contains("--data some/folder does not apply"), "{e}");
            }
        }
        let zero = ExperimentOptions {
            train: Some(0),
            ..ExperimentOptions::default()
        };
        assert!(refusal(ExperimentName::Qm9, zero).contains("at least 1"));
        assert!(experiment_settings(ExperimentName::Convergence, &test).is_err());
    }

    /// `entk reproduce` fills in the mode of a reused report written before reports had one
    /// from the settings match: that needs smoke settings to differ from full ones everywhere.
    #[test]
    fn smoke_settings_differ_from_full_settings() {
        for name in ExperimentName::REPRODUCE {
            let settings = |smoke| {
                let o = ExperimentOptions {
                    smoke,
                    ..ExperimentOptions::default()
                };
                experiment_settings(name, &o).unwrap()
            };
            assert_ne!(settings(true), settings(false), "{name}");
        }
    }
}
