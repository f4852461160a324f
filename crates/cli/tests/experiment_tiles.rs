//! `entk experiment --tiles DIR` (and so `entk reproduce`, which keeps its tiles in
//! `OUT/.tiles`): a run killed with SIGKILL half-way resumes from the tiles it saved and gives
//! the numbers of an uninterrupted run that never touched a tile store.

use std::path::Path;
use std::process::Command;

use entk_cli::report::ExperimentReport;
use serde_json::Value;

mod common;
use common::{start_until_tiles, tiles_in};

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("entk")
}

const ARGS: [&str; 8] = [
    "experiment",
    "textures",
    "--train",
    "40",
    "--test",
    "40",
    "--threads",
    "1",
];

/// Tiles in every store under `root`.
fn tiles_under(root: &Path) -> usize {
    std::fs::read_dir(root)
        .map(|stores| stores.flatten().map(|s| tiles_in(&s.path())).sum())
        .unwrap_or(0)
}

/// The report's numbers, without its timings ([`ExperimentReport::numbers`]).
fn numbers(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<ExperimentReport>(&text)
        .unwrap()
        .numbers()
}

#[test]
fn a_killed_experiment_resumes_from_its_tiles_with_the_numbers_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("tiles/textures");
    // 3 models × (10 train×train + 16 test×train tiles) = 78 tiles.
    let mut child = start_until_tiles(
        Command::new(bin()).current_dir(d).args(ARGS).args([
            "--tiles",
            "tiles",
            "--json",
            "killed.json",
        ]),
        || tiles_under(&root),
        30,
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let kept = tiles_under(&root);
    assert!(kept < 78, "killed before the end");
    assert!(!d.join("killed.json").exists());

    let out = Command::new(bin())
        .current_dir(d)
        .args(ARGS)
        .args(["--tiles", "tiles", "--json", "killed.json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reused = common::reused_notes(&stderr, "");
    assert!(
        reused + 3 >= kept && reused > 0,
        "reused {reused} tiles, {kept} were saved: {stderr}"
    );

    let out = Command::new(bin())
        .current_dir(d)
        .args(ARGS)
        .args(["--json", "whole.json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        numbers(&d.join("killed.json")),
        numbers(&d.join("whole.json"))
    );
}
