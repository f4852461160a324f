//! # entk-cli: the person at the terminal
//!
//! The library half of the `entk` binary, so downstream tools can call the same work the
//! commands do: [`verify`] runs the law checks of a registered group and returns a
//! serialisable report. `main.rs` only parses arguments, calls these functions and prints.

pub mod verify;

pub use verify::{verify_group, CheckReport, GroupReport};
