//! The durable tile store of `entk kernel`, through the real binary: SIGKILL half-way and
//! resume, truncated and foreign tiles, refused mismatches, and bit-identity with the engine's
//! in-memory Gram matrix for any tile size and thread count.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use ndarray::{Array2, Array4};
use ndarray_npy::{read_npy, write_npy};

use entk_ntk::{GramOptions, Network};

mod common;
use common::{
    image_dir, images, killable_dir, reused, start_until_tiles, tiles_in, C4_GCNN, KILLABLE_RUN,
    KILLABLE_TILES,
};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("entk")
}

fn entk(dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir);
    c
}

fn kernel_args<'a>(arch: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["kernel", "--arch", arch, "--x1", "x.npy", "--out", out];
    v.extend_from_slice(extra);
    v
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = entk(dir).args(args).assert().success().get_output().clone();
    String::from_utf8(out.stdout).unwrap()
}

fn bytes(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn tiled_results_equal_the_in_memory_gram_bit_for_bit_for_any_tile_and_threads() {
    let dir = image_dir(7, 6);
    let d = dir.path();
    let net = Network::from_json(C4_GCNN).unwrap();
    let x: Array4<f64> = read_npy(d.join("x.npy")).unwrap();
    let z: Array4<f64> = read_npy(d.join("z.npy")).unwrap();
    let opts = GramOptions {
        threads: 1,
        ..GramOptions::default()
    };
    let sym = net.gram(x.view(), None, &opts).unwrap();
    let cross = net.gram(x.view(), Some(z.view()), &opts).unwrap();
    for (tile, threads) in [("1", "1"), ("3", "2"), ("7", "1"), ("100", "2")] {
        let out = format!("sym{tile}");
        run_ok(
            d,
            &kernel_args("c4.json", &out, &["--tile", tile, "--threads", threads]),
        );
        let nngp: Array2<f64> = read_npy(d.join(&out).join("nngp.npy")).unwrap();
        let ntk: Array2<f64> = read_npy(d.join(&out).join("ntk.npy")).unwrap();
        assert_eq!(nngp, sym.nngp, "tile {tile}");
        assert_eq!(ntk, sym.ntk, "tile {tile}");
        assert_eq!(nngp, nngp.t(), "exactly symmetric");
        let out = format!("cross{tile}");
        let mut args = kernel_args("c4.json", &out, &["--tile", tile, "--threads", threads]);
        args.extend(["--x2", "z.npy"]);
        run_ok(d, &args);
        let nngp: Array2<f64> = read_npy(d.join(&out).join("nngp.npy")).unwrap();
        let ntk: Array2<f64> = read_npy(d.join(&out).join("ntk.npy")).unwrap();
        assert_eq!(nngp, cross.nngp, "tile {tile}");
        assert_eq!(ntk, cross.ntk, "tile {tile}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sym3/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["tile"], 3);
    assert_eq!(
        report["tiles_total"], 6,
        "3 block rows, upper triangle only"
    );
    assert_eq!(report["inputs"][0]["hash"].as_str().unwrap().len(), 32);
    assert_eq!(report["spec_hash"].as_str().unwrap().len(), 32);
}

#[test]
fn a_small_default_run_is_one_tile_and_tile_still_overrides() {
    let dir = image_dir(7, 6);
    let d = dir.path();
    let report = |out: &str, extra: &[&str]| {
        let mut cmd = entk(d);
        // Not one of several ranks of an MPI launcher (those keep the default tile).
        for var in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"] {
            cmd.env_remove(var);
        }
        cmd.args(kernel_args("c4.json", out, extra))
            .assert()
            .success();
        let text = std::fs::read_to_string(d.join(out).join("report.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let one = report("one", &[]);
    assert_eq!((&one["tile"], &one["tiles_total"]), (&7.into(), &1.into()));
    let four = report("four", &["--tile", "4"]);
    assert_eq!(
        (&four["tile"], &four["tiles_total"]),
        (&4.into(), &3.into()),
        "2 block rows, upper triangle only"
    );
    for name in ["nngp.npy", "ntk.npy"] {
        let read = |out: &str| std::fs::read(d.join(out).join(name)).unwrap();
        assert_eq!(read("one"), read("four"), "{name} byte for byte");
    }
}

#[test]
fn a_run_killed_half_way_resumes_to_the_bytes_of_an_uninterrupted_run() {
    let (dir, store) = killable_dir();
    let d = dir.path();
    let mut child = start_until_tiles(
        Process::new(bin()).current_dir(d).args(KILLABLE_RUN),
        || tiles_in(&store),
        KILLABLE_TILES / 2,
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let left = tiles_in(&store);
    assert!(
        left < KILLABLE_TILES,
        "killed before the end ({left} of {KILLABLE_TILES})"
    );
    for name in ["nngp.npy", "ntk.npy", "report.json"] {
        assert!(
            !d.join("killed").join(name).exists(),
            "{name} exists before the run finished"
        );
    }
    let stdout = run_ok(d, &KILLABLE_RUN);
    let (reused_tiles, of) = reused(&stdout);
    assert_eq!(of, KILLABLE_TILES);
    assert!(
        reused_tiles >= left && (KILLABLE_TILES / 2..KILLABLE_TILES).contains(&reused_tiles),
        "reused {reused_tiles} of {KILLABLE_TILES}, {left} were on disk after the kill"
    );
    // An uninterrupted run, with another tile size and thread count.
    run_ok(
        d,
        &kernel_args("c4.json", "whole", &["--tile", "7", "--threads", "2"]),
    );
    for name in ["nngp.npy", "ntk.npy"] {
        assert_eq!(
            bytes(d.join("killed").join(name)),
            bytes(d.join("whole").join(name)),
            "{name}"
        );
    }
}

#[test]
fn a_truncated_or_foreign_tile_is_detected_and_recomputed() {
    let dir = image_dir(9, 5);
    let d = dir.path();
    let args = kernel_args("c4.json", "out", &["--tile", "3"]);
    run_ok(d, &args);
    let good = bytes(d.join("out/ntk.npy"));
    let tile = d.join("out/tiles/tile_0_1.bin");
    let len = std::fs::metadata(&tile).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&tile).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let out = entk(d).args(&args).assert().success().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    assert_eq!(reused(&String::from_utf8(out.stdout).unwrap()), (5, 6));
    assert_eq!(bytes(d.join("out/ntk.npy")), good);
    // A bit flip inside the values fails the checksum.
    let mut b = bytes(tile.clone());
    b[100] ^= 1;
    std::fs::write(&tile, &b).unwrap();
    let out = entk(d).args(&args).assert().success().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum"));
    assert_eq!(bytes(d.join("out/ntk.npy")), good);
    // A tile of the same position from another store (another spec) is refused too.
    run_ok(d, &kernel_args("cnn.json", "other", &["--tile", "3"]));
    std::fs::copy(d.join("other/tiles/tile_0_1.bin"), &tile).unwrap();
    let out = entk(d).args(&args).assert().success().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("another tile store"));
    assert_eq!(bytes(d.join("out/ntk.npy")), good);
}

fn one_line_failure(dir: &Path, args: &[&str]) -> String {
    common::one_line_failure_of(entk(dir).args(args))
}

#[test]
fn another_spec_inputs_or_tile_on_the_same_out_is_refused_and_force_starts_over() {
    let dir = image_dir(6, 5);
    let d = dir.path();
    run_ok(d, &kernel_args("c4.json", "out", &["--tile", "2"]));
    let old = bytes(d.join("out/nngp.npy"));
    let e = one_line_failure(d, &kernel_args("cnn.json", "out", &["--tile", "2"]));
    assert!(
        e.contains("another architecture spec") && e.contains("--force"),
        "{e}"
    );
    let e = one_line_failure(d, &kernel_args("c4.json", "out", &["--tile", "3"]));
    assert!(e.contains("--tile 2"), "{e}");
    let mut with_x2 = kernel_args("c4.json", "out", &["--tile", "2"]);
    with_x2.extend(["--x2", "z.npy"]);
    let e = one_line_failure(d, &with_x2);
    assert!(e.contains("x2"), "{e}");
    // Other values in x.npy.
    write_npy(d.join("x.npy"), &images(6, 5, 1.5)).unwrap();
    let e = one_line_failure(d, &kernel_args("c4.json", "out", &["--tile", "2"]));
    assert!(e.contains("other x1 values"), "{e}");
    // The refused runs left the earlier, consistent result alone.
    assert_eq!(bytes(d.join("out/nngp.npy")), old);
    assert!(d.join("out/report.json").exists());
    // Whitespace and key order are not a different spec.
    write_npy(d.join("x.npy"), &images(6, 5, 1.0)).unwrap();
    let reordered: serde_json::Value = serde_json::from_str(C4_GCNN).unwrap();
    std::fs::write(
        d.join("c4b.json"),
        serde_json::to_string_pretty(&reordered).unwrap(),
    )
    .unwrap();
    let s = run_ok(d, &kernel_args("c4b.json", "out", &["--tile", "2"]));
    assert_eq!(reused(&s), (6, 6));
    // --force discards the store and computes the new problem.
    let s = run_ok(
        d,
        &kernel_args("cnn.json", "out", &["--tile", "2", "--force"]),
    );
    assert_eq!(reused(&s), (0, 6));
    assert_ne!(bytes(d.join("out/nngp.npy")), old);
}

#[test]
fn a_folder_of_foreign_tile_files_is_refused_and_bad_tiles_are_one_line_errors() {
    let dir = image_dir(4, 5);
    let d = dir.path();
    std::fs::create_dir_all(d.join("out/tiles")).unwrap();
    std::fs::write(d.join("out/tiles/tile_0_0.bin"), b"not mine").unwrap();
    let e = one_line_failure(d, &kernel_args("c4.json", "out", &[]));
    assert!(e.contains("no manifest"), "{e}");
    std::fs::write(d.join("out/tiles/manifest.json"), b"{\"hello\": 1}").unwrap();
    let e = one_line_failure(d, &kernel_args("c4.json", "out", &[]));
    assert!(e.contains("not an entk tile-store manifest"), "{e}");
    let e = one_line_failure(d, &kernel_args("c4.json", "out2", &["--tile", "0"]));
    assert!(e.contains("--tile"), "{e}");
    // An unwritable --out: a path below a regular file.
    std::fs::write(d.join("file"), b"x").unwrap();
    let e = one_line_failure(d, &kernel_args("c4.json", "file/out", &[]));
    assert!(e.contains("file/out"), "{e}");
}

#[test]
fn threads_are_capped_with_a_note() {
    let dir = image_dir(3, 5);
    let d = dir.path();
    let out = entk(d)
        .args(kernel_args("c4.json", "out", &["--threads", "100000"]))
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("capped"), "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/report.json")).unwrap()).unwrap();
    assert!(report["threads"].as_u64().unwrap() < 100000);
}

#[test]
fn a_rerun_without_tile_resumes_with_the_stored_tile_edge() {
    let dir = image_dir(6, 5);
    let d = dir.path();
    run_ok(d, &kernel_args("c4.json", "out", &["--tile", "4"]));
    let s = run_ok(d, &kernel_args("c4.json", "out", &["--threads", "2"]));
    assert_eq!(reused(&s), (3, 3), "{s}");
}

/// A tmpfs mounted with `options` (e.g. `size=256k`, `size=64k,ro`) for one test, unmounted
/// when dropped; `Err` (with the reason) where mounting is not allowed (not root, or no
/// CAP_SYS_ADMIN in a container).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, options: &str) -> Result<Self, String> {
        std::fs::create_dir_all(at).unwrap();
        let out = Process::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(SmallDisk(at.to_path_buf()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_one_line_error_before_any_work() {
    let dir = image_dir(160, 5);
    let d = dir.path();
    let _disk = match SmallDisk::mount(&d.join("small"), "size=256k") {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: cannot mount a 256 kB tmpfs to fill ({why}); needs root");
            return;
        }
    };
    // 160×160: 2 × 205 kB of results and 205 kB of tiles do not fit in 256 kB.
    let e = one_line_failure(d, &kernel_args("c4.json", "small/out", &["--tile", "40"]));
    assert!(
        e.contains("not enough disk space in small/out/tiles")
            && e.contains("the 10 missing tiles and the results need 666.7 kB")
            && e.contains("kB free"),
        "{e}"
    );
    assert_eq!(tiles_in(&d.join("small/out/tiles")), 0, "no tile computed");
    // What fits is computed as usual.
    write_npy(d.join("x.npy"), &images(20, 5, 1.0)).unwrap();
    run_ok(d, &kernel_args("c4.json", "small/out", &["--force"]));
    assert!(d.join("small/out/ntk.npy").exists());
    // `entk predict` checks its stores too.
    write_npy(d.join("x.npy"), &images(160, 5, 1.0)).unwrap();
    write_npy(d.join("y.npy"), &Array2::<f64>::zeros((160, 1))).unwrap();
    let e = one_line_failure(
        d,
        &[
            "predict", "--arch", "c4.json", "--train", "x.npy", "--labels", "y.npy", "--test",
            "z.npy", "--out", "small/p", "--solver", "cg",
        ],
    );
    assert!(
        e.contains("not enough disk space in small/p/tiles/train_train"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn an_unwritable_out_is_a_one_line_error_naming_it() {
    let dir = image_dir(4, 5);
    let d = dir.path();
    write_npy(d.join("y.npy"), &Array2::<f64>::zeros((4, 1))).unwrap();
    // Root writes through file permissions, so the unwritable folder is a read-only
    // filesystem; without mount rights, a folder without write permission (if that stops us).
    let ro = d.join("ro");
    let _disk = match SmallDisk::mount(&ro, "size=64k,ro") {
        Ok(disk) => Some(disk),
        Err(why) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
            if std::fs::write(ro.join("probe"), b"x").is_ok() {
                eprintln!("skipped: cannot make an unwritable folder (mount: {why}; permissions do not stop this user)");
                return;
            }
            None
        }
    };
    for args in [
        kernel_args("c4.json", "ro/out", &[]),
        vec![
            "predict", "--arch", "c4.json", "--train", "x.npy", "--labels", "y.npy", "--test",
            "z.npy", "--out", "ro/p",
        ],
        vec!["reproduce", "--out", "ro/r"],
    ] {
        let e = one_line_failure(d, &args);
        assert!(
            e.starts_with("error: ") && e.contains("ro/"),
            "{args:?}: {e}"
        );
    }
    // An experiment prints its estimate first; the failure is one error line, no retry.
    let out = entk(d)
        .args(["experiment", "textures", "--train", "4", "--test", "4"])
        .args(["--tiles", "ro/t", "--json", "t.json"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(
        errors.len() == 1
            && errors[0].contains("ro/t/textures")
            && !stderr.contains("starting it over"),
        "{stderr}"
    );
}
