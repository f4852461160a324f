//! Helpers shared by the CLI tests (the tile-store tests tiles.rs, mpi.rs, experiment_tiles.rs;
//! the one-line error contract of cli.rs, hostile_npy.rs, hostile_options.rs, experiments.rs,
//! sets.rs, engine_refusals.rs; the message checks of `tests/support/messages.rs`).
#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ndarray::Array4;

#[path = "../../../../tests/support/messages.rs"]
pub mod messages;
use messages::assert_case_mentions;

/// The `entk` binary that `cargo test` built.
pub fn entk() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("entk").expect("the entk binary is built by cargo test")
}

/// The `entk` binary that `cargo test` built, to run in `dir`.
pub fn entk_in(dir: &Path) -> assert_cmd::Command {
    let mut c = entk();
    c.current_dir(dir);
    c
}

/// `entk` with the arguments of `line` split at whitespace (so no argument may contain a
/// space), e.g. `"kernel --arch arch.json --x1 x.npy --out out"`.
pub fn entk_words(line: &str) -> assert_cmd::Command {
    let mut c = entk();
    c.args(line.split_whitespace());
    c
}

/// [`entk_words`] run in `dir`.
pub fn entk_line(dir: &Path, line: &str) -> assert_cmd::Command {
    let mut c = entk_words(line);
    c.current_dir(dir);
    c
}

/// Runs `entk LINE` in `dir` (see [`entk_line`]), which must succeed.
pub fn run_ok(dir: &Path, line: &str) {
    entk_line(dir, line).assert().success();
}

/// The one-line error of `entk LINE` in `dir` (see [`entk_line`] and [`one_line_failure_of`]).
pub fn failure_line(dir: &Path, line: &str) -> String {
    one_line_failure_of(&mut entk_line(dir, line))
}

/// Runs `cmd`, which must fail, and returns its stderr.
pub fn failure_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().failure().get_output().clone();
    String::from_utf8(out.stderr).unwrap()
}

/// Runs `cmd`, which must fail with exactly one line on stderr (the CLI's contract for bad
/// input), and returns that line.
pub fn one_line_failure_of(cmd: &mut assert_cmd::Command) -> String {
    let text = failure_of(cmd);
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "one-line error expected: {text}"
    );
    text
}

/// Runs `entk LINE` (see [`entk_words`]), which must fail within 20 s with exactly one line on
/// stderr, starting `error: `, and returns that line.
pub fn refusal(line: &str) -> String {
    let start = Instant::now();
    let err = one_line_failure_of(&mut entk_words(line));
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "`{line}` took {:?} to refuse",
        start.elapsed()
    );
    err
}

/// Each `(line, needles)`: the [`refusal`] of `entk LINE` contains every needle (a failure
/// names the line).
pub fn assert_refused(cases: &[(&str, &[&str])]) {
    for (line, needles) in cases {
        assert_case_mentions(&format!("`entk {line}`"), &refusal(line), needles);
    }
}

/// The entry of the JSON array `list` whose `"name"` is `name` (a model of an experiment's
/// report, a check of `verify-group`'s).
pub fn named<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let entries = list.as_array().expect("a JSON array");
    let entry = entries.iter().find(|m| m["name"] == name);
    entry.unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// A small C4 group CNN (SAME padding), cheap enough for tests.
pub const C4_GCNN: &str = r#"{"layers": [
    {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "group_pool"}, {"type": "dense"}]}"#;

/// A one-layer CNN (SAME padding, global average pool), another spec for the same images.
pub const CNN: &str = r#"{"layers": [
    {"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "global_avg_pool"}, {"type": "dense"}]}"#;

/// A fresh temporary folder holding the file `name` with the text `spec`.
pub fn spec_dir(name: &str, spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), spec).unwrap();
    dir
}

/// A fresh temporary folder holding the tile-store fixtures: `c4.json` ([`C4_GCNN`]),
/// `cnn.json` ([`CNN`]), `x.npy` ([`images`] `n` of `size × size`, seed 1.0), `z.npy`
/// (`n / 2 + 1`, seed 2.3) and `other.npy` (`n`, seed 1.5).
pub fn image_dir(n: usize, size: usize) -> tempfile::TempDir {
    let dir = spec_dir("c4.json", C4_GCNN);
    let d = dir.path();
    std::fs::write(d.join("cnn.json"), CNN).unwrap();
    ndarray_npy::write_npy(d.join("x.npy"), &images(n, size, 1.0)).unwrap();
    ndarray_npy::write_npy(d.join("z.npy"), &images(n / 2 + 1, size, 2.3)).unwrap();
    ndarray_npy::write_npy(d.join("other.npy"), &images(n, size, 1.5)).unwrap();
    dir
}

/// The interruptible `entk kernel` run of the kill-and-resume tests (tiles.rs, mpi.rs), its
/// arguments after the binary: 40 images of 10 × 10 (see [`killable_dir`]) tiled by 4 into
/// `killed/` on one thread, [`KILLABLE_TILES`] tiles.
pub const KILLABLE_RUN: [&str; 11] = [
    "kernel",
    "--arch",
    "c4.json",
    "--x1",
    "x.npy",
    "--out",
    "killed",
    "--tile",
    "4",
    "--threads",
    "1",
];

/// The tiles of [`KILLABLE_RUN`]: 10 block rows, upper triangle.
pub const KILLABLE_TILES: usize = 10 * 11 / 2;

/// A fresh folder for [`KILLABLE_RUN`] ([`image_dir`] of 40 images of 10 × 10) and the tile
/// store that run writes.
pub fn killable_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = image_dir(40, 10);
    let store = dir.path().join("killed/tiles");
    (dir, store)
}

/// `n` deterministic single-channel `size × size` images.
pub fn images(n: usize, size: usize, seed: f64) -> Array4<f64> {
    Array4::from_shape_fn((n, size, size, 1), |(b, h, w, _)| {
        (0.7 * h as f64 + 1.3 * w as f64 + seed * b as f64).sin() + 0.05 * (h * w) as f64
    })
}

/// The `(nngp, ntk)` Gram matrices `entk kernel` wrote into the folder `out`.
pub fn read_kernels(out: &Path) -> (ndarray::Array2<f64>, ndarray::Array2<f64>) {
    let read = |name: &str| ndarray_npy::read_npy(out.join(name)).unwrap();
    (read("nngp.npy"), read("ntk.npy"))
}

/// Finished tile files (`tile_*.bin`, not `.partial`) in a store folder.
pub fn tiles_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with("tile_") && name.ends_with(".bin")
            })
            .count()
        })
        .unwrap_or(0)
}

/// `(R, T)` of `reused R of T tiles` in `entk kernel`'s stdout.
pub fn reused(stdout: &str) -> (usize, usize) {
    let tail = stdout.split("reused ").nth(1).expect("a reuse count");
    let mut it = tail.split_whitespace();
    let a = it.next().unwrap().parse().unwrap();
    assert_eq!(it.next(), Some("of"));
    (a, it.next().unwrap().parse().unwrap())
}

/// The sum of N over the `note: reused N ...` lines of an experiment's stderr whose text
/// contains `filter` ("" for every line).
pub fn reused_notes(stderr: &str, filter: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains(filter))
        .filter_map(|l| l.strip_prefix("note: reused "))
        .map(|l| {
            l.split_whitespace()
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum()
}

/// Starts `cmd` with its output discarded and returns it once `count()` (of saved tiles)
/// reaches `at_least`; it must still run then (else the test problem is too small to be
/// interrupted).
pub fn start_until_tiles(cmd: &mut Command, count: impl Fn() -> usize, at_least: usize) -> Child {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while count() < at_least {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before {at_least} tiles were saved: make the test problem larger"
        );
        assert!(start.elapsed() < Duration::from_secs(600));
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// A shared MLP on 3-vectors summed over each set, then relu and a readout: the layers after
/// the pool need each set's self-kernel, so cross tiles exercise it.
pub const SET_NET: &str = r#"{"layers": [
    {"type": "deep_set", "reduce": "sum", "layers": [
        {"type": "dense", "b_std": 0.2}, {"type": "relu"}, {"type": "dense"}]},
    {"type": "relu"}, {"type": "dense"}]}"#;

/// `n` padded sets of 3-vectors in 4 slots with the given counts; padding is zero.
pub fn padded(counts: &[usize], seed: f64) -> ndarray::Array3<f64> {
    ndarray::Array3::from_shape_fn((counts.len(), 4, 3), |(s, e, d)| {
        if e < counts[s] {
            (seed * (s + 1) as f64 + 0.9 * e as f64 + 1.7 * d as f64).sin()
        } else {
            0.0
        }
    })
}

pub fn counts(c: &[usize]) -> ndarray::Array1<i64> {
    c.iter().map(|&v| v as i64).collect()
}

pub const C1: [usize; 7] = [1, 4, 2, 3, 4, 1, 2];
pub const C2: [usize; 3] = [2, 4, 1];

/// A fresh temporary folder holding the set fixtures: `set.json` (SET_NET), `x.npy`/`xc.npy`
/// (padded sets with counts C1) and `z.npy`/`zc.npy` (C2).
pub fn set_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("set.json"), SET_NET).unwrap();
    ndarray_npy::write_npy(d.join("x.npy"), &padded(&C1, 1.0)).unwrap();
    ndarray_npy::write_npy(d.join("xc.npy"), &counts(&C1)).unwrap();
    ndarray_npy::write_npy(d.join("z.npy"), &padded(&C2, 2.3)).unwrap();
    ndarray_npy::write_npy(d.join("zc.npy"), &counts(&C2)).unwrap();
    dir
}

/// The Rust API's Gram matrices of the set fixtures (one thread): x with itself, and x with z.
pub fn set_grams() -> (entk_ntk::Gram, entk_ntk::Gram) {
    use entk_ntk::layers::sets_from_padded;
    let net = entk_ntk::Network::from_json(SET_NET).unwrap();
    let x = sets_from_padded("x1", padded(&C1, 1.0).into_dyn().view(), &C1).unwrap();
    let z = sets_from_padded("x2", padded(&C2, 2.3).into_dyn().view(), &C2).unwrap();
    let opts = entk_ntk::GramOptions {
        threads: 1,
        ..entk_ntk::GramOptions::default()
    };
    let sym = net.gram_features(&x, None, &opts).unwrap();
    let cross = net.gram_features(&x, Some(&z), &opts).unwrap();
    (sym, cross)
}
