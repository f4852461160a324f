//! The `entk experiment` command line: one clap subcommand per experiment, so each has its own
//! `--help`, while the README's form `entk experiment NAME [--train N] [--test M] [--seed S]
//! [--json FILE] [--plot FILE]` keeps working (names are also accepted in any case).
//!
//! Every experiment parses the same [`RunArgs`]; options that do not apply (`--test` for
//! `convergence`, `--data` outside `histology`) are hidden from that experiment's help and,
//! when given anyway, refused by [`ExperimentOptions::check`] with a one-line error that says
//! why, rather than by clap's multi-line usage text.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{augmentation, convergence, histology, qm9, rotmnist, textures};
use super::{ExperimentError, ExperimentName, ExperimentOptions};

/// The options of one experiment run.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct RunArgs {
    /// Training-set size.
    #[arg(long, value_name = "N")]
    pub train: Option<usize>,
    /// Test-set size.
    #[arg(long, value_name = "M")]
    pub test: Option<usize>,
    /// Data path.
    #[arg(long, value_name = "PATH", hide = true)]
    pub data: Option<PathBuf>,
    /// Seed of every random draw (data selection, rotations, initialisations).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Write the JSON report here: {"experiment", "models": [{"name", `<metric>`...}], "train",
    /// "test", "seed", "seconds", "settings", ...}.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw the plot (PNG) here.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Worker threads (default: all cores). The numbers do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Keep the Gram matrices in durable tile stores under DIR/NAME, so a killed run resumes
    /// where it stopped when rerun with the same DIR (as `entk reproduce` does in
    /// OUT/.tiles). The numbers do not depend on it.
    #[arg(long, value_name = "DIR")]
    pub tiles: Option<PathBuf>,
    /// Tiny sizes (a few seconds): checks the whole pipeline; the numbers mean nothing.
    /// --train/--test still apply.
    #[arg(long)]
    pub smoke: bool,
}

impl RunArgs {
    /// Checks, before any work, that the `--json` and `--plot` files can be written (their
    /// folder exists or can be created, and a file can be created in it), so a long run is not
    /// lost at the end for a mistyped path.
    pub fn check_outputs(&self) -> Result<(), ExperimentError> {
        for (flag, path) in [("--json", &self.json), ("--plot", &self.plot)] {
            let Some(path) = path else { continue };
            let fail = |why: String| {
                Err(ExperimentError::Usage(format!(
                    "{flag} {}: cannot write there ({why})",
                    path.display()
                )))
            };
            if path.is_dir() {
                return fail("it is a folder".into());
            }
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if let Err(e) = std::fs::create_dir_all(&parent) {
                return fail(e.to_string());
            }
            let probe = parent.join(format!(".entk-write-test-{}", std::process::id()));
            match std::fs::File::create(&probe) {
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                }
                Err(e) => return fail(e.to_string()),
            }
        }
        Ok(())
    }

    /// The library's options.
    pub fn options(&self) -> ExperimentOptions {
        ExperimentOptions {
            train: self.train,
            test: self.test,
            seed: self.seed,
            threads: self.threads,
            data: self.data.clone(),
            tiles: self.tiles.clone(),
            smoke: self.smoke,
        }
    }
}

/// What `entk experiment --help` prints after the list of experiments.
const OPTIONS_HELP: &str = "\
Options of every experiment (`entk experiment NAME --help` gives its defaults):
  --train N      training-set size (convergence: inputs of the Gram matrices)
  --test M       test-set size (augmentation: test inputs of each kind; not for convergence)
  --seed S       seed of every random draw (default 0)
  --json FILE    write the JSON report here
  --plot FILE    draw the plot (PNG) here
  --threads T    worker threads (default: all cores; the numbers do not depend on it)
  --data PATH    histology only: the NCT-CRC-HE-100K folder or pathmnist.npz
  --tiles DIR    keep the Gram matrices in tile stores under DIR/NAME: a killed run resumes
  --smoke        tiny sizes (seconds): checks the pipeline end to end; the numbers mean nothing

Before its long work each experiment times a few kernel pairs (or networks) and prints the size
of the run and an estimated time on stderr. Progress goes to stderr: a bar on a terminal, one
line every ENTK_PROGRESS_SECONDS seconds (default 15) otherwise (CI, log files, Slurm).";

/// `entk experiment NAME ...`.
#[derive(Args, Debug)]
#[command(
    subcommand_value_name = "NAME",
    subcommand_help_heading = "Experiments",
    after_help = OPTIONS_HELP
)]
pub struct ExperimentArgs {
    /// The experiment and its options.
    #[command(subcommand)]
    pub which: ExperimentCommand,
}

/// The help of `--train` or `--test`: what it counts and the experiment's default (its
/// `DEFAULT_*` constant, so the help cannot drift from it), then `more`.
fn default_is(what: &str, default: usize, more: &str) -> String {
    format!("{what} (default {default}{more})")
}

/// One subcommand per experiment (the README's names).
#[derive(Subcommand, Debug)]
pub enum ExperimentCommand {
    /// QM9 U0 atomization energies: SO(3)-CNN vs MLP, NTK and NNGP (docs/theory.md#qm9-energies).
    ///
    /// Embedded QM9 sample (2,000 molecules); each atom is an S² signal at L = 6 (distance
    /// powers 2 and 6, 10 channels). The paper's per-slot models (so3_cnn, mlp) sum atom
    /// kernels over 29 matching slots, so they depend on the order of the atoms in the file;
    /// the set model so3_cnn_set (deep_set: one SO(3)-CNN shared over the atoms, summed) sums
    /// over all pairs of real atoms and is invariant under reordering. 5 independent draws,
    /// each with its own molecules (no molecule in two draws) split 24 ways into training and
    /// test molecules; the set model runs on each draw's first 16 + 8 molecules, where every
    /// model is scored too (paired comparison, "which wins"), and the atoms of 6 test molecules
    /// are shuffled to show each model's order dependence. Reports MAE and RMSE in meV with
    /// learning curves, NTK and NNGP for every model.
    /// The defaults (200 / 20 per split) need about 2.5 M SO(3) atom-pair kernels, about 2.5
    /// minutes on 2 cores.
    #[command(
        mut_arg("train", |a| a.help(default_is("Training molecules per split of a draw", qm9::DEFAULT_TRAIN, ""))),
        mut_arg("test", |a| a.help(default_is("Test molecules per split of a draw", qm9::DEFAULT_TEST, &format!("; {} independent draws of distinct molecules: draws · (train + test) ≤ 2000", qm9::DEFAULT_DRAWS))))
    )]
    Qm9(RunArgs),
    /// Rotated MNIST: CNN vs C4- and D4-GCNN NTK accuracy (docs/theory.md#histology protocol).
    ///
    /// Embedded 2,000-digit MNIST sample, every digit rotated by a uniform random angle and
    /// area-downsampled to 10×10. Reports NTK and NNGP test accuracy and a learning curve.
    #[command(
        mut_arg("train", |a| a.help(default_is("Training digits per draw", rotmnist::DEFAULT_TRAIN, ""))),
        mut_arg("test", |a| a.help(default_is("Test digits per draw", rotmnist::DEFAULT_TEST, &format!("; {} independent draws of distinct digits: draws · (train + test) ≤ 2000", super::classification::IMAGE_DRAWS))))
    )]
    Rotmnist(RunArgs),
    /// Rotated texture patches (brick, grass, gravel): CNN vs C4- and D4-GCNN NTK accuracy.
    ///
    /// Randomly rotated 20×20 patches cut from the embedded CC0 textures (train from the upper,
    /// test from the lower image halves), area-downsampled to 10×10. Reports accuracies and a
    /// learning curve.
    #[command(
        mut_arg("train", |a| a.help(default_is("Training patches per draw", textures::DEFAULT_TRAIN, ""))),
        mut_arg("test", |a| a.help(default_is("Test patches per draw", textures::DEFAULT_TEST, &format!("; {} independent draws, each cutting its own patches", super::classification::IMAGE_DRAWS))))
    )]
    Textures(RunArgs),
    /// Histology tiles: CNN vs C4-GCNN NTK accuracy on downloaded data (docs/theory.md#histology).
    ///
    /// Needs --data: the unpacked NCT-CRC-HE-100K folder (Zenodo record 1214456) or MedMNIST's
    /// pathmnist.npz. Tiles are read at 32×32 and area-downsampled to 16×16 RGB. Not part of
    /// `entk reproduce`.
    #[command(
        mut_arg("train", |a| a.help(default_is("Training tiles per draw", histology::DEFAULT_TRAIN, ""))),
        mut_arg("test", |a| a.help(default_is("Test tiles per draw", histology::DEFAULT_TEST, &format!("; {} independent draws of distinct tiles", super::classification::IMAGE_DRAWS)))),
        mut_arg("data", |a| a
            .hide(false)
            .help("The NCT-CRC-HE-100K folder or pathmnist.npz (required)"))
    )]
    Histology(RunArgs),
    /// Finite-width C4 augmentation vs GCNN ensembles vs the analytic mean
    /// (docs/theory.md#data-augmentation-and-group-convolution).
    ///
    /// Ensembles of finite CNNs trained by gradient descent on C4-augmented 9×9 digits and of
    /// GCNNs on the plain digits, at widths 2–32; reports their deviation from each other and
    /// from μ_k, on held-out digits (in distribution) and texture patches (off it).
    #[command(
        mut_arg("train", |a| a.help(default_is("Training digits", augmentation::DEFAULT_TRAIN, "; the CNN sees 4× as many"))),
        mut_arg("test", |a| a.help(default_is("Test inputs of each kind, digits and texture patches", augmentation::DEFAULT_TEST, "")))
    )]
    Augmentation(RunArgs),
    /// Mean empirical NTK/NNGP of finite networks → the analytic kernel as the width grows.
    ///
    /// A C4 GCNN on 7×7 digits (widths 16–256) and an SO(3) network on S² signals (widths
    /// 8–128); reports each width's mean squared deviation of one network and the
    /// noise-corrected bias of the mean, with 95 % bootstrap intervals, and weighted
    /// least-squares log-log slopes with intervals. There is no test set: --test is refused.
    #[command(
        mut_arg("train", |a| a.help(default_is("Inputs of the Gram matrices", convergence::DEFAULT_INPUTS, ""))),
        mut_arg("test", |a| a.hide(true))
    )]
    Convergence(RunArgs),
    /// Any other name: refused with the list of known ones (or re-read in lower case).
    #[command(external_subcommand)]
    Other(Vec<OsString>),
}

/// Re-reads `entk experiment NAME ...` after normalising the case of NAME.
#[derive(Parser, Debug)]
#[command(name = "entk experiment", no_binary_name = true)]
struct Reread {
    #[command(subcommand)]
    which: ExperimentCommand,
}

impl ExperimentArgs {
    /// The experiment and its options; an unknown name is a one-line error listing the known
    /// ones.
    pub fn resolve(self) -> Result<(ExperimentName, RunArgs), ExperimentError> {
        let (name, args) = match self.which {
            ExperimentCommand::Qm9(a) => (ExperimentName::Qm9, a),
            ExperimentCommand::Rotmnist(a) => (ExperimentName::Rotmnist, a),
            ExperimentCommand::Textures(a) => (ExperimentName::Textures, a),
            ExperimentCommand::Histology(a) => (ExperimentName::Histology, a),
            ExperimentCommand::Augmentation(a) => (ExperimentName::Augmentation, a),
            ExperimentCommand::Convergence(a) => (ExperimentName::Convergence, a),
            ExperimentCommand::Other(argv) => {
                let given = argv
                    .first()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name: ExperimentName = given.parse()?;
                let mut again: Vec<OsString> = vec![name.as_str().into()];
                again.extend(argv.into_iter().skip(1));
                let reread = Reread::try_parse_from(again)
                    .map_err(|e| ExperimentError::Usage(one_line_clap_error(&e)))?;
                if matches!(reread.which, ExperimentCommand::Other(_)) {
                    return Err(ExperimentError::Usage(format!("cannot read `{given}`")));
                }
                return ExperimentArgs {
                    which: reread.which,
                }
                .resolve();
            }
        };
        args.options().check(name)?;
        args.check_outputs().map_err(|e| e.within(name.as_str()))?;
        Ok((name, args))
    }
}

/// A clap error as one line: its first line plus where to read the usage, e.g. ``unexpected
/// argument '--tset' found (usage: entk experiment textures [OPTIONS]; --help lists the
/// options)``. Without the leading `error: `.
pub fn one_line_clap_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match text.lines().find_map(|l| l.trim().strip_prefix("Usage: ")) {
        Some(usage) => format!("{first} (usage: {usage}; --help lists the options)"),
        None => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    #[command(name = "entk", no_binary_name = true)]
    struct Top {
        #[command(subcommand)]
        command: TopCommand,
    }

    #[derive(Subcommand, Debug)]
    enum TopCommand {
        Experiment(ExperimentArgs),
    }

    fn resolve(argv: &[&str]) -> Result<(ExperimentName, RunArgs), String> {
        let top = Top::try_parse_from(argv).map_err(|e| one_line_clap_error(&e))?;
        let TopCommand::Experiment(a) = top.command;
        a.resolve().map_err(|e| e.to_string())
    }

    #[test]
    fn the_design_form_still_parses() {
        let (name, a) = resolve(&[
            "experiment",
            "textures",
            "--train",
            "9",
            "--test",
            "12",
            "--seed",
            "3",
            "--json",
            "r.json",
            "--plot",
            "r.png",
        ])
        .unwrap();
        assert_eq!(name, ExperimentName::Textures);
        assert_eq!((a.train, a.test, a.seed), (Some(9), Some(12), 3));
        assert_eq!(a.json, Some(PathBuf::from("r.json")));
        let (name, a) = resolve(&["experiment", "QM9", "--train", "4"]).unwrap();
        assert_eq!((name, a.train), (ExperimentName::Qm9, Some(4)));
    }

    #[test]
    fn options_that_do_not_apply_are_one_line_refusals() {
        let e = resolve(&["experiment", "convergence", "--test", "5"]).unwrap_err();
        assert!(e.contains("convergence: --test does not apply"), "{e}");
        let e = resolve(&["experiment", "qm9", "--data", "some/folder"]).unwrap_err();
        assert!(e.contains("qm9: --data some/folder does not apply"), "{e}");
        let e = resolve(&["experiment", "Convergence", "--test", "5"]).unwrap_err();
        assert!(e.contains("--test does not apply"), "{e}");
        assert!(resolve(&["experiment", "histology", "--data", "x.npz"]).is_ok());
    }

    #[test]
    fn unwritable_outputs_are_refused_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let e = resolve(&["experiment", "textures", "--json", d]).unwrap_err();
        assert!(
            e.contains("textures: --json") && e.contains("it is a folder"),
            "{e}"
        );
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        let below = format!("{}/r.png", file.display());
        let e = resolve(&["experiment", "qm9", "--plot", &below]).unwrap_err();
        assert!(e.contains("--plot") && e.contains("cannot write"), "{e}");
        let ok = format!("{d}/new/r.json");
        assert!(resolve(&["experiment", "textures", "--json", &ok]).is_ok());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("new")).unwrap().collect();
        assert!(leftovers.is_empty(), "the probe file is removed");
    }

    #[test]
    fn unknown_names_and_flags_are_one_line_errors() {
        let e = resolve(&["experiment", "mnist3d"]).unwrap_err();
        assert!(
            e.contains("unknown experiment `mnist3d`") && e.contains("convergence"),
            "{e}"
        );
        let e = resolve(&["experiment", "textures", "--tset", "4"]).unwrap_err();
        assert!(e.contains("--tset") && e.contains("usage:"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        let e = resolve(&["experiment", "textures", "--train", "many"]).unwrap_err();
        assert!(e.contains("many") && !e.contains('\n'), "{e}");
    }
}
