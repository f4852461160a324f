//! `mpirun -n R entk kernel` (cargo feature `mpi`) on one machine: bit-identity with the
//! engine's in-memory Gram matrix for R = 1, 2, 3 and several tile sizes and thread counts (and
//! for padded sets against the Rust API), a rank killed mid-run and the job resumed on another
//! number of ranks, a rank whose tiles could not be synced, ranks that disagree on their inputs,
//! an output folder that the ranks do not share, and the MPI build started without a launcher.
//! Run by `scripts/test-mpi` (`scripts/test-all` calls it):
//! `cargo test --release -p entk-cli --features mpi --test mpi`.
//! Needs Open MPI's `mpirun`.
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ndarray::{Array2, Array4};
use ndarray_npy::read_npy;

use entk_ntk::{Gram, GramOptions, Network};

mod common;
use common::{
    image_dir, killable_dir, messages::assert_case_mentions, reused, set_dir, set_grams,
    start_until_tiles, tiles_in, C4_GCNN, KILLABLE_RUN, KILLABLE_TILES,
};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("entk")
}

/// `mpirun -n R` on this machine: more ranks than cores allowed, no core binding (ranks run
/// threads), and as root allowed (the environment form of `--allow-run-as-root`, which is
/// harmless for other users).
fn mpirun(dir: &Path) -> Command {
    let mut c = Command::new("mpirun");
    c.current_dir(dir)
        .args(["--oversubscribe", "--bind-to", "none"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdin(Stdio::null());
    c
}

/// The arguments of one rank's `entk kernel` of the C4 GCNN (an MPMD application context of
/// mpirun).
fn kernel(x1: &str, out: &str, extra: &[&str]) -> Vec<String> {
    kernel_of("c4.json", x1, out, extra)
}

/// The arguments of one rank's `entk kernel` of the network in the spec file `arch`.
fn kernel_of(arch: &str, x1: &str, out: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        bin().to_str().unwrap(),
        "kernel",
        "--arch",
        arch,
        "--x1",
        x1,
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// mpirun's MPMD form: `-n R1 ARGS1 : -n R2 ARGS2 ...` (ranks numbered in that order).
fn mpmd(contexts: &[(usize, Vec<String>)]) -> Vec<String> {
    let mut v = Vec::new();
    for (k, (ranks, args)) in contexts.iter().enumerate() {
        if k > 0 {
            v.push(":".to_string());
        }
        v.extend(["-n".to_string(), ranks.to_string()]);
        v.extend(args.iter().cloned());
    }
    v
}

fn run_ranks(dir: &Path, ranks: usize, args: &[String]) -> Output {
    mpirun(dir)
        .arg("-n")
        .arg(ranks.to_string())
        .args(args)
        .output()
        .expect("mpirun (Open MPI) on PATH")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn engine_gram(dir: &Path, x2: Option<&str>) -> Gram {
    let net = Network::from_json(C4_GCNN).unwrap();
    let x: Array4<f64> = read_npy(dir.join("x.npy")).unwrap();
    let z: Option<Array4<f64>> = x2.map(|p| read_npy(dir.join(p)).unwrap());
    let opts = GramOptions {
        threads: 1,
        ..GramOptions::default()
    };
    net.gram(x.view(), z.as_ref().map(|z| z.view()), &opts)
        .unwrap()
}

fn assert_result(dir: &Path, out: &str, gram: &Gram) {
    let nngp: Array2<f64> = read_npy(dir.join(out).join("nngp.npy")).unwrap();
    let ntk: Array2<f64> = read_npy(dir.join(out).join("ntk.npy")).unwrap();
    assert_eq!(nngp, gram.nngp, "{out}: NNGP bit for bit");
    assert_eq!(ntk, gram.ntk, "{out}: NTK bit for bit");
}

/// The one line entk printed to stderr (mpirun adds its own notice about the exit status).
fn entk_error(out: &Output) -> String {
    assert!(!out.status.success(), "should fail: {}", text(&out.stdout));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line, from rank 0: {stderr}");
    lines[0].to_string()
}

#[test]
fn any_number_of_ranks_gives_the_bytes_of_one_process() {
    let dir = image_dir(9, 6);
    let d = dir.path();
    let sym = engine_gram(d, None);
    let cross = engine_gram(d, Some("z.npy"));
    for (ranks, tile, threads) in [(1, "4", "2"), (2, "3", "1"), (3, "2", "2"), (3, "100", "1")] {
        let out = format!("sym{ranks}_{tile}");
        let stdout = ok(run_ranks(
            d,
            ranks,
            &kernel("x.npy", &out, &["--tile", tile, "--threads", threads]),
        ));
        assert_result(d, &out, &sym);
        if ranks > 1 {
            assert!(
                stdout.contains(&format!("on {ranks} MPI ranks")),
                "{stdout}"
            );
        }
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(d.join(&out).join("report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(report["ranks"], ranks);
        let out = format!("cross{ranks}_{tile}");
        ok(run_ranks(
            d,
            ranks,
            &kernel(
                "x.npy",
                &out,
                &["--x2", "z.npy", "--tile", tile, "--threads", threads],
            ),
        ));
        assert_result(d, &out, &cross);
    }
}

/// Without `--tile`, a small Gram matrix is one tile for one process (`mpirun -n 1`) but keeps
/// the default tile edge under several ranks, so that the work is split over tiles (README,
/// Tiles): 9 inputs are 3 tiles of edge 8 on 2 ranks, one of edge 9 on 1 rank; the bytes are
/// the Rust API's either way.
#[test]
fn several_ranks_keep_the_default_tile_of_a_small_gram() {
    let dir = image_dir(9, 6);
    let d = dir.path();
    let sym = engine_gram(d, None);
    for (ranks, tile, tiles) in [(1, 9, 1), (2, 8, 3)] {
        let out = format!("default{ranks}");
        ok(run_ranks(d, ranks, &kernel("x.npy", &out, &[])));
        assert_result(d, &out, &sym);
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(d.join(&out).join("report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (
                &report["tile"],
                &report["tiles_total"],
                &report["tiles_computed"]
            ),
            (&tile.into(), &tiles.into(), &tiles.into()),
            "{ranks} ranks: {report}"
        );
    }
}

/// Padded sets (`--x1-counts`, `--x2-counts`) through `mpirun`: the same bytes as the Rust
/// API's Gram matrices of the sets, symmetric and cross, for R = 2 and 3.
#[test]
fn sets_on_several_ranks_give_the_bytes_of_the_rust_api() {
    let dir = set_dir();
    let d = dir.path();
    let (sym, cross) = set_grams();
    for (ranks, tile) in [(2, "2"), (3, "1")] {
        let sets = ["--x1-counts", "xc.npy", "--tile", tile];
        let out = format!("sym{ranks}");
        ok(run_ranks(
            d,
            ranks,
            &kernel_of("set.json", "x.npy", &out, &sets),
        ));
        assert_result(d, &out, &sym);
        let out = format!("cross{ranks}");
        let cross_sets = [&sets[..], &["--x2", "z.npy", "--x2-counts", "zc.npy"]].concat();
        ok(run_ranks(
            d,
            ranks,
            &kernel_of("set.json", "x.npy", &out, &cross_sets),
        ));
        assert_result(d, &out, &cross);
    }
}

/// The pid of the process that mpirun `launcher` started as `rank`.
fn rank_pid(launcher: u32, rank: usize) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: the comm may hold spaces, so split after its ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid != Some(launcher) {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let wanted = format!("OMPI_COMM_WORLD_RANK={rank}");
        if environ.split(|&b| b == 0).any(|v| v == wanted.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

#[test]
fn a_rank_killed_mid_run_loses_only_its_tile_and_the_job_resumes_on_other_ranks() {
    let (dir, store) = killable_dir();
    let d = dir.path();
    let mut job = start_until_tiles(
        mpirun(d).args(["-n", "3"]).arg(bin()).args(KILLABLE_RUN),
        || tiles_in(&store),
        KILLABLE_TILES / 3,
    );
    let victim = rank_pid(job.id(), 1).expect("rank 1 is a child of mpirun");
    let killed = Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = job.wait().unwrap();
    assert!(!status.success(), "mpirun reports the killed rank");
    let kept = tiles_in(&store);
    assert!(
        kept < KILLABLE_TILES,
        "killed before the end ({kept} of {KILLABLE_TILES} tiles)"
    );
    assert!(
        !d.join("killed/nngp.npy").exists() && !d.join("killed/report.json").exists(),
        "no result before every tile is there"
    );
    // Resume on 2 ranks with another thread count: the saved tiles are reused.
    let stdout = ok(run_ranks(
        d,
        2,
        &kernel("x.npy", "killed", &["--threads", "2"]),
    ));
    let (reused_tiles, all) = reused(&stdout);
    assert_eq!(all, KILLABLE_TILES);
    assert!(
        reused_tiles >= kept.saturating_sub(3) && reused_tiles > 0,
        "reused {reused_tiles}, {kept} were on disk after the kill"
    );
    assert_result(d, "killed", &engine_gram(d, None));
}

/// Rank 0 reports success only once every rank has synced its tiles: a rank that says its
/// tiles are not durable (the worker's test hook, half a second after its real sync, so the
/// message comes after rank 0 has assembled the result and only a blocking wait sees it) fails
/// the job with one line from rank 0 naming it; rank 0 prints no summary and leaves no result
/// (no `report.json`, `nngp.npy` or `ntk.npy`); the next run reuses the saved tiles and gives
/// the engine's bytes.
#[test]
fn rank_0_reports_success_only_after_every_rank_synced_its_tiles() {
    let dir = image_dir(6, 5);
    let d = dir.path();
    let out = mpirun(d)
        .env("ENTK_TEST_FAIL_TILE_SYNC_RANK", "2")
        .args(["-n", "3"])
        .args(kernel("x.npy", "o", &["--tile", "2", "--threads", "1"]))
        .output()
        .unwrap();
    let e = entk_error(&out);
    assert_case_mentions("sync failure", &e, &["rank 2", "tiles may not be durable"]);
    assert!(
        !text(&out.stdout).contains("wrote"),
        "no summary: {}",
        text(&out.stdout)
    );
    for name in ["report.json", "nngp.npy", "ntk.npy"] {
        assert!(!d.join("o").join(name).exists(), "a failed job left {name}");
    }
    let stdout = ok(run_ranks(d, 2, &kernel("x.npy", "o", &["--tile", "2"])));
    let (reused_tiles, all) = reused(&stdout);
    assert_eq!(reused_tiles, all, "{stdout}");
    assert_result(d, "o", &engine_gram(d, None));
}

/// Ranks that disagree on their inputs or options, or that do not share the output folder:
/// `(the ranks' contexts, what the error names, a file the refusal must not have written)`.
#[test]
fn ranks_that_disagree_or_do_not_share_the_store_are_refused() {
    let dir = image_dir(6, 5);
    let d = dir.path();
    let cases = [
        (
            [
                (1, kernel("x.npy", "o", &[])),
                (1, kernel("other.npy", "o", &[])),
            ],
            &["the ranks disagree", "rank 1 has other x1 values"][..],
            "o/tiles",
        ),
        (
            [
                (2, kernel("x.npy", "o", &["--tile", "2"])),
                (1, kernel("x.npy", "o", &["--tile", "3"])),
            ],
            &["rank 2 has --tile 3"],
            "o/nngp.npy",
        ),
        // Rank 1 writes elsewhere, as a rank on a machine without the shared folder would.
        (
            [
                (1, kernel("x.npy", "shared", &[])),
                (1, kernel("x.npy", "local", &[])),
            ],
            &["rank 1: cannot use the tile store local/tiles", "shares"],
            "shared/nngp.npy",
        ),
    ];
    for (k, (contexts, needles, unwritten)) in cases.into_iter().enumerate() {
        let e = entk_error(&mpirun(d).args(mpmd(&contexts)).output().unwrap());
        assert_case_mentions(&format!("case {k}"), &e, needles);
        assert!(!d.join(unwritten).exists(), "case {k}: {unwritten} written");
    }
}

#[test]
fn the_mpi_build_without_a_launcher_refuses_kernel_but_runs_other_commands() {
    let dir = image_dir(4, 5);
    let d = dir.path();
    let out = Command::new(bin())
        .current_dir(d)
        .args(["kernel", "--arch", "c4.json", "--x1", "x.npy", "--out", "o"])
        .env_remove("OMPI_COMM_WORLD_SIZE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("mpirun -n R entk kernel"), "{stderr}");
    assert!(!d.join("o").exists());
    // Other commands are one process, with or without MPI.
    let out = Command::new(bin())
        .args(["verify-group", "c2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = mpirun(d)
        .args(["-n", "2", bin().to_str().unwrap(), "verify-group", "c2"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("`entk verify-group` runs as one process"),
        "{}",
        text(&out.stderr)
    );
}
