//! `entk`: equivariant neural tangent kernels at the terminal.
//!
//! `main` reads as the table of contents: parse → typed options → library call → print.
//! Results go to stdout, progress and errors to stderr; a failure is one line and a non-zero
//! exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use entk_cli::verify::{default_group_names, verify_group, GroupReport};

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
    /// Run the group laws, representation laws and quadrature checks of a registered group and
    /// print a JSON report with the maximum error of each check. Exits non-zero on failure.
    VerifyGroup {
        /// A registered group: cN or dN for any N ≥ 1 (c4, d4, ...), so3, or `all`.
        name: String,
        /// Bandlimit L for SO(3) checks (default 8).
        #[arg(long)]
        bandlimit: Option<usize>,
    },
}

fn run(cli: Cli) -> Result<bool, String> {
    match cli.command {
        Command::VerifyGroup { name, bandlimit } => {
            let names = if name == "all" {
                default_group_names()
            } else {
                vec![name]
            };
            let reports: Vec<GroupReport> = names
                .iter()
                .map(|n| verify_group(n, bandlimit).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?;
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
    }
}

/// Prints a result to stdout; a closed pipe (`entk ... | head`) is not an error.
fn print_stdout(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
