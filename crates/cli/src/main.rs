//! `entk`: equivariant neural tangent kernels at the terminal.
//!
//! `main` reads as the table of contents: parse → typed options → library call → print.
//! Results go to stdout, progress and errors to stderr; a failure is one line and a non-zero
//! exit code.

use std::process::ExitCode;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use entk_cli::experiments::args::{one_line_clap_error, ExperimentArgs};
use entk_cli::experiments::{reproduce, run_experiment, ReproduceOptions};
#[cfg(not(feature = "mpi"))]
use entk_cli::kernel_cmd::run_kernel;
use entk_cli::kernel_cmd::{
    run_predict, CovMode, GetKernels, KernelOptions, KernelReport, PredictOptions, Solver,
    TimeConvention,
};
use entk_cli::report::{JsonWriter, PngWriter, ReportWriter};
use entk_cli::verify::{verify_groups, GroupReport};

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
    Kernel {
        /// Architecture spec (JSON; see docs/spec.md).
        #[arg(long, value_name = "SPEC.json")]
        arch: PathBuf,
        /// Inputs as .npy (f64 or f32): 4-D (N1, H, W, C) images or S² signals (N1, 2L, 2L−1, C),
        /// or 5-D (N1, 2L−1, 2L, 2L−1, C) SO(3) signals on the (γ, β, α) grid (first layer so3_conv).
        #[arg(long, value_name = "A.npy")]
        x1: PathBuf,
        /// Second inputs, of the kind and per-input shape of x1; default x1 (the result is then
        /// exactly symmetric).
        #[arg(long, value_name = "B.npy")]
        x2: Option<PathBuf>,
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Worker threads (default: all cores). The numbers do not depend on it.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Tile edge: the matrix is computed and saved in TILE×TILE blocks (any TILE ≥ 1; edge
        /// tiles may be smaller). Default: 64, or less so that small problems have ~16 tiles.
        /// The numbers do not depend on it.
        #[arg(long, value_name = "TILE")]
        tile: Option<usize>,
        /// Discard a tile store in DIR/tiles that belongs to another computation (another
        /// spec, inputs or --tile) and start over, instead of refusing.
        #[arg(long)]
        force: bool,
    },
    /// Mean prediction of gradient-flow MSE training at time t (default ∞), with the NTK and the
    /// NNGP. Writes DIR/ntk_mean.npy, DIR/nngp_mean.npy (M×K), optional covariances, and last
    /// DIR/report.json. The kernels are saved tile by tile in DIR/tiles: a rerun resumes.
    Predict {
        /// Architecture spec (JSON).
        #[arg(long, value_name = "SPEC.json")]
        arch: PathBuf,
        /// Training inputs: 4-D (N, H, W, C) or 5-D SO(3) signals (N, 2L−1, 2L, 2L−1, C).
        #[arg(long, value_name = "X.npy")]
        train: PathBuf,
        /// Training targets (N, K) or (N,).
        #[arg(long, value_name = "Y.npy")]
        labels: PathBuf,
        /// Test inputs, of the kind and per-input shape of the training inputs.
        #[arg(long, value_name = "T.npy")]
        test: PathBuf,
        /// Training time t ≥ 0 (default ∞: kernel regression).
        #[arg(long)]
        time: Option<f64>,
        /// Relative diagonal regularisation λ: adds λ·tr(Θ)/n·I (neural-tangents' diag_reg).
        #[arg(long, default_value_t = 0.0)]
        diag_reg: f64,
        /// Learning rate η of gradient flow on ½Σ|f(x_i) − y_i|².
        #[arg(long, default_value_t = 1.0)]
        learning_rate: f64,
        /// Output folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Worker threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Kernels to predict with (neural-tangents' `get`): both, nngp or ntk.
        #[arg(long, default_value = "both", value_parser = ["both", "nngp", "ntk"])]
        get: String,
        /// Predictive covariance over initialisations (neural-tangents' compute_cov): `full`
        /// writes DIR/KERNEL_cov.npy (M×M; computes the M×M test×test NNGP), `diag` writes
        /// DIR/KERNEL_var.npy (M; needs only each test input's self-kernel).
        #[arg(long, default_value = "none", value_parser = ["none", "full", "diag"])]
        cov: String,
        /// `entk`: flow at rate η on ½Σ|f(x_i) − y_i|². `nt`: neural-tangents'
        /// gradient_descent_mse, whose loss is divided by N·K, so η_entk = η/(N·K) and a
        /// neural-tangents t carries over.
        #[arg(long, default_value = "entk", value_parser = ["entk", "nt"])]
        time_convention: String,
        /// Tile edge of the kernel stores in DIR/tiles (see `entk kernel --help`).
        #[arg(long, value_name = "TILE")]
        tile: Option<usize>,
        /// Discard tile stores in DIR/tiles of another computation and start over.
        #[arg(long)]
        force: bool,
        /// `direct`: Cholesky (eigendecomposition at finite t) in memory. `cg`: preconditioned
        /// conjugate gradients on the Gram matrix streamed from disk (t = ∞, no --cov).
        /// `auto`: direct while three N×N matrices fit in half the available memory.
        #[arg(long, default_value = "auto", value_parser = ["auto", "direct", "cg"])]
        solver: String,
    },
    /// Run the group laws, representation laws and quadrature checks of a registered group and
    /// print a JSON report with the maximum error of each check. Exits non-zero on failure.
    VerifyGroup {
        /// A registered group: cN or dN (order N or 2N, at most 128: c4, d4, ...), so3, or `all`
        /// (c1…c8, d1…d8, so3).
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
    },
}

fn run(cli: Cli) -> Result<bool, String> {
    let name = match &cli.command {
        Command::Kernel { .. } => "kernel",
        Command::Predict { .. } => "predict",
        Command::VerifyGroup { .. } => "verify-group",
        Command::Experiment(_) => "experiment",
        Command::Reproduce { .. } => "reproduce",
    };
    entk_cli::distributed::check_launch(name).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Kernel {
            arch,
            x1,
            x2,
            out,
            threads,
            tile,
            force,
        } => {
            let opts = KernelOptions {
                arch,
                x1,
                x2,
                out: out.clone(),
                threads,
                tile,
                force,
            };
            #[cfg(feature = "mpi")]
            {
                // Every rank runs this; rank 0 alone prints, before it releases the others.
                let print = |outcome: Result<&KernelReport, &entk_cli::CliError>| match outcome {
                    Ok(report) => print_stdout(&kernel_summary(&out, report)),
                    Err(e) => eprintln!("error: {e}"),
                };
                Ok(entk_cli::distributed::run_kernel_mpi(&opts, &print))
            }
            #[cfg(not(feature = "mpi"))]
            {
                let report = run_kernel(&opts).map_err(|e| e.to_string())?;
                print_stdout(&kernel_summary(&out, &report));
                Ok(true)
            }
        }
        Command::Predict {
            arch,
            train,
            labels,
            test,
            time,
            diag_reg,
            learning_rate,
            out,
            threads,
            get,
            cov,
            time_convention,
            tile,
            force,
            solver,
        } => {
            let opts = PredictOptions {
                arch,
                train,
                labels,
                test,
                time,
                diag_reg,
                learning_rate,
                out: out.clone(),
                threads,
                get: match get.as_str() {
                    "nngp" => GetKernels::Nngp,
                    "ntk" => GetKernels::Ntk,
                    _ => GetKernels::Both,
                },
                cov: match cov.as_str() {
                    "full" => CovMode::Full,
                    "diag" => CovMode::Diag,
                    _ => CovMode::None,
                },
                time_convention: if time_convention == "nt" {
                    TimeConvention::Nt
                } else {
                    TimeConvention::Entk
                },
                tile,
                force,
                solver: match solver.as_str() {
                    "direct" => Solver::Direct,
                    "cg" => Solver::Cg,
                    _ => Solver::Auto,
                },
            };
            let report = run_predict(&opts).map_err(|e| e.to_string())?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            print_stdout(&format!(
                "wrote {}/{} ({}×{})",
                out.display(),
                report.files.join(", "),
                report.test,
                report.outputs
            ));
            Ok(true)
        }
        Command::VerifyGroup { name, bandlimit } => {
            let reports: Vec<GroupReport> =
                verify_groups(&name, bandlimit).map_err(|e| e.to_string())?;
            let passed = reports.iter().all(|r| r.passed);
            let json = if reports.len() == 1 {
                serde_json::to_string_pretty(&reports[0])
            } else {
                serde_json::to_string_pretty(&reports)
            };
            print_stdout(&json.map_err(|e| e.to_string())?);
            for report in reports.iter().filter(|r| !r.passed) {
                let failed: Vec<&str> = report
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.name.as_str())
                    .collect();
                eprintln!("error: {} failed: {}", report.group, failed.join(", "));
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
            print_stdout(report.to_text().trim_end());
            Ok(true)
        }
        Command::Reproduce {
            out,
            threads,
            force,
        } => {
            let summary = reproduce(&ReproduceOptions {
                out,
                threads,
                force,
            })
            .map_err(|e| e.to_string())?;
            print_stdout(summary.to_text().trim_end());
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
        report.tiles_reused,
        report.tiles_total
    )
}

/// Prints a result to stdout; a closed pipe (`entk ... | head`) is not an error.
fn print_stdout(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Parses the command line; a usage error is one line (help and version print as usual).
fn parse() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
        _ => {
            eprintln!("error: {}", one_line_clap_error(&e));
            ExitCode::from(2)
        }
    })
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
