//! The whole `entk` command line as a library call, for a registry of groups.
//!
//! The `entk` binary is `main_with_registry(entk_reps::default_registry())`. A downstream
//! binary registers its own groups and calls the same function, so its users get every
//! subcommand (`kernel`, `predict`, `verify-group`, `experiment`, `reproduce`), with the new
//! names accepted wherever a spec or `verify-group` names a group:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     let mut registry = entk_reps::default_registry();
//!     let flip = entk_reps::planar_entry(entk_groups::DihedralGroup::new(1).unwrap()).unwrap();
//!     registry.register(flip.named("flip")).unwrap();
//!     entk_cli::main_with_registry(registry)
//! }
//! ```
//!
//! [`run_with_registry`] does the same for given arguments and output streams (tests, or a
//! program that runs `entk` commands in-process). The experiments and `reproduce` run the
//! paper's fixed networks of built-in groups; the registry matters to `kernel`, `predict`
//! (also over MPI ranks) and `verify-group`.
//!
//! The dispatch reads as the table of contents: parse → typed options → library call → print.
//! Results go to stdout, progress and errors to stderr; a failure is one line and a non-zero
//! exit code.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use entk_groups::GroupRegistry;

use crate::experiments::args::{one_line_clap_error, ExperimentArgs};
use crate::experiments::{reproduce, run_experiment, ReproduceOptions};
#[cfg(not(feature = "mpi"))]
use crate::kernel_cmd::run_kernel_in;
use crate::kernel_cmd::{run_predict_in, KernelOptions, KernelReport, PredictOptions};
use crate::report::{JsonWriter, PngWriter, ReportWriter};
use crate::verify::{verify_groups_in, GroupReport};

#[derive(Parser)]
#[command(
    name = "entk",
    version,
    about = "Exact infinite-width kernels (NNGP, NTK) of equivariant networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute the analytic NNGP and NTK Gram matrices of the network in SPEC for the inputs.
    /// Writes DIR/nngp.npy, DIR/ntk.npy (f64, N1×N2) and, last, DIR/report.json. Work is saved
    /// tile by tile in DIR/tiles: rerunning the same command resumes where it stopped.
    Kernel(KernelOptions),
    /// Mean prediction of gradient-flow MSE training at time t (default ∞), with the NTK and the
    /// NNGP. Writes DIR/ntk_mean.npy, DIR/nngp_mean.npy (M×K), optional covariances, and last
    /// DIR/report.json. The kernels are saved tile by tile in DIR/tiles: a rerun resumes.
    Predict(PredictOptions),
    /// Run the group laws, representation laws and quadrature checks of a registered group and
    /// print a JSON report with the maximum error of each check. Exits non-zero on failure.
    VerifyGroup {
        /// A registered group: cN or dN (order N or 2N, at most 128: c4, d4, ...), octahedral,
        /// icosahedral, so3 (and any group a downstream binary registers), or `all` (c1…c8,
        /// d1…d8, so3, octahedral, icosahedral and the downstream groups).
        name: String,
        /// Bandlimit L of the SO(3) checks, 1 ≤ L ≤ 64 (default 8); so3 and `all` only.
        #[arg(long)]
        bandlimit: Option<usize>,
    },
    /// Run one of the paper's experiments and print its result tables. NAME is one of qm9,
    /// rotmnist, textures, histology, augmentation, convergence (`entk experiment NAME --help`
    /// for each one's options and defaults). Estimates and progress go to stderr.
    Experiment(ExperimentArgs),
    /// The main job: run every experiment on the embedded data (all but histology) and write
    /// DIR/report.md with every table, plot (PNG beside it) and setting. Finished experiments
    /// are written at once (DIR/NAME.json, DIR/NAME.png) and reused on a rerun when their
    /// settings match.
    Reproduce {
        /// Output folder.
        #[arg(long, value_name = "DIR", default_value = "out")]
        out: PathBuf,
        /// Worker threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Recompute every experiment even when a matching result exists.
        #[arg(long)]
        force: bool,
        /// Every experiment at tiny sizes (seconds in all): checks the whole pipeline, resume
        /// included; the numbers mean nothing. Use another DIR than for a full run (results
        /// of the other kind are recomputed, never mixed).
        #[arg(long)]
        smoke: bool,
    },
}

fn run(cli: Cli, registry: &GroupRegistry, io: &Streams) -> Result<bool, String> {
    let name = match &cli.command {
        Command::Kernel(_) => "kernel",
        Command::Predict(_) => "predict",
        Command::VerifyGroup { .. } => "verify-group",
        Command::Experiment(_) => "experiment",
        Command::Reproduce { .. } => "reproduce",
    };
    crate::distributed::check_launch(name).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Kernel(opts) => {
            #[cfg(feature = "mpi")]
            {
                // Every rank runs this; rank 0 alone prints, before it releases the others.
                let print = |outcome: Result<&KernelReport, &crate::CliError>| match outcome {
                    Ok(report) => io.out(&kernel_summary(&opts.out, report)),
                    Err(e) => io.err(&format!("error: {e}")),
                };
                Ok(crate::distributed::run_kernel_mpi_in(
                    registry, &opts, &print,
                ))
            }
            #[cfg(not(feature = "mpi"))]
            {
                let report = run_kernel_in(registry, &opts).map_err(|e| e.to_string())?;
                io.out(&kernel_summary(&opts.out, &report));
                Ok(true)
            }
        }
        Command::Predict(opts) => {
            let report = run_predict_in(registry, &opts).map_err(|e| e.to_string())?;
            for w in &report.warnings {
                io.err(&format!("warning: {w}"));
            }
            io.out(&format!(
                "wrote {}/{} ({}×{})",
                opts.out.display(),
                report.files.join(", "),
                report.test,
                report.outputs
            ));
            Ok(true)
        }
        Command::VerifyGroup { name, bandlimit } => {
            let reports: Vec<GroupReport> =
                verify_groups_in(registry, &name, bandlimit).map_err(|e| e.to_string())?;
            let passed = reports.iter().all(|r| r.passed);
            let json = if reports.len() == 1 {
                serde_json::to_string_pretty(&reports[0])
            } else {
                serde_json::to_string_pretty(&reports)
            };
            io.out(&json.map_err(|e| e.to_string())?);
            for report in reports.iter().filter(|r| !r.passed) {
                let failed: Vec<&str> = report
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.name.as_str())
                    .collect();
                io.err(&format!(
                    "error: {} failed: {}",
                    report.group,
                    failed.join(", ")
                ));
            }
            Ok(passed)
        }
        Command::Experiment(args) => {
            let (name, args) = args.resolve().map_err(|e| e.to_string())?;
            let report = run_experiment(name, &args.options()).map_err(|e| e.to_string())?;
            if let Some(path) = &args.json {
                JsonWriter.write(&report, path).map_err(|e| e.to_string())?;
            }
            if let Some(path) = &args.plot {
                PngWriter::default()
                    .write(&report, path)
                    .map_err(|e| e.to_string())?;
            }
            io.out(report.to_text().trim_end());
            Ok(true)
        }
        Command::Reproduce {
            out,
            threads,
            force,
            smoke,
        } => {
            let summary = reproduce(&ReproduceOptions {
                out,
                threads,
                force,
                smoke,
            })
            .map_err(|e| e.to_string())?;
            io.out(summary.to_text().trim_end());
            Ok(summary.failed.is_empty())
        }
    }
}

/// The line `entk kernel` prints when it is done.
fn kernel_summary(out: &std::path::Path, report: &KernelReport) -> String {
    let ranks = if report.ranks > 1 {
        format!(" on {} MPI ranks", report.ranks)
    } else {
        String::new()
    };
    format!(
        "wrote {}/nngp.npy and ntk.npy ({}×{}) in {:.3} s{ranks}; reused {} of {} tiles",
        out.display(),
        report.output_shape[0],
        report.output_shape[1],
        report.seconds,
        report.tiles.tiles_reused,
        report.tiles.tiles_total
    )
}

/// Where the command line writes: results to `out`, warnings and errors to `err`. Writes
/// that fail (a closed pipe: `entk ... | head`) are not errors.
struct Streams<'a> {
    out: RefCell<&'a mut dyn Write>,
    err: RefCell<&'a mut dyn Write>,
}

impl Streams<'_> {
    fn out(&self, text: &str) {
        let _ = writeln!(self.out.borrow_mut(), "{text}");
    }
    fn err(&self, text: &str) {
        let _ = writeln!(self.err.borrow_mut(), "{text}");
    }
}

/// Runs the `entk` command line on `args` (the first is the program name, as in
/// [`std::env::args_os`]) with the groups of `registry`, writing results to `out` and
/// warnings, errors, `--help` and usage errors to `err` (`--help` and `--version` to `out`).
/// Returns the exit status: success, failure (a command failed, or `verify-group` found a
/// failing check), or 2 for a usage error. Progress bars still go to the process's stderr.
pub fn run_with_registry<I, T>(
    args: I,
    registry: &GroupRegistry,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let io = Streams {
        out: RefCell::new(out),
        err: RefCell::new(err),
    };
    match Cli::try_parse_from(args) {
        Ok(cli) => finish(run(cli, registry, &io), &io),
        Err(e) => {
            let text = e.render().to_string();
            clap_exit(
                &e,
                |line| io.err(line),
                || {
                    if e.use_stderr() {
                        io.err(text.trim_end())
                    } else {
                        io.out(text.trim_end())
                    }
                },
            )
        }
    }
}

/// The `entk` binary with the groups of `registry`: [`run_with_registry`] on the process's
/// arguments, stdout and stderr (`--help` in colour on a terminal).
pub fn main_with_registry(registry: GroupRegistry) -> ExitCode {
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let io = Streams {
        out: RefCell::new(&mut stdout),
        err: RefCell::new(&mut stderr),
    };
    match Cli::try_parse() {
        Ok(cli) => finish(run(cli, &registry, &io), &io),
        Err(e) => clap_exit(
            &e,
            |line| io.err(line),
            || {
                let _ = e.print();
            },
        ),
    }
}

/// The exit status of a command's outcome; an error is printed as one line.
fn finish(outcome: Result<bool, String>, io: &Streams) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            io.err(&format!("error: {message}"));
            ExitCode::FAILURE
        }
    }
}

/// A command line clap refused or answered itself: help and version print in full (`show`),
/// a usage error is one line (`error`) with exit status 2.
fn clap_exit(e: &clap::Error, error: impl Fn(&str), show: impl FnOnce()) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            show();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
        _ => {
            error(&format!("error: {}", one_line_clap_error(e)));
            ExitCode::from(2)
        }
    }
}
