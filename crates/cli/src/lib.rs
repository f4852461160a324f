//! # entk-cli: the person at the terminal
//!
//! The library half of the `entk` binary, so downstream tools can call the same work the
//! commands do. `entk verify-group d4`, in-process:
//!
//! ```
//! let report = entk_cli::verify_group("d4", None)?;
//! assert!(report.passed && report.checks.iter().all(|check| check.passed));
//! # Ok::<(), entk_cli::CliError>(())
//! ```
//!
//! The modules:
//!
//! - [`verify`]: the law checks of a registered group as a serialisable report
//!   (`entk verify-group`);
//! - [`kernel_cmd`]: `entk kernel` (Gram matrices of an architecture spec) and `entk predict`
//!   (gradient-flow mean predictions);
//! - [`tiles`]: the durable, resumable tile store behind `entk kernel`;
//! - [`distributed`]: `mpirun -n R entk kernel` (cargo feature `mpi`), and the launcher checks
//!   of every build;
//! - [`npy`]: `.npy` reading/writing with errors naming the file; writes are atomic;
//! - [`progress`]: the progress bar on stderr behind the engine's `Progress` trait (also used by
//!   the Python binding);
//! - [`experiments`]: the paper's experiments (`entk experiment NAME`) and `entk reproduce`;
//! - [`report`]: experiment reports and their JSON, Markdown and PNG writers;
//! - [`app`]: the whole command line (parse, dispatch, print) for a registry of groups:
//!   [`main_with_registry`], [`run_with_registry`].
//!
//! The `entk` binary is `main_with_registry(entk_reps::default_registry())`; a downstream
//! binary that registers its own groups (README, "Adding a symmetry group") calls it with its
//! registry and gets every subcommand with its groups.

pub mod app;
pub mod distributed;
mod error;
pub mod experiments;
pub mod kernel_cmd;
pub mod npy;
pub mod progress;
pub mod report;
pub mod tiles;
pub mod verify;

pub use app::{main_with_registry, run_with_registry};
pub use error::CliError;
pub use verify::{
    verify_group, verify_group_in, verify_groups, verify_groups_in, CheckReport, GroupReport,
};
