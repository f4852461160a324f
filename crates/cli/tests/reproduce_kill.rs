//! A whole `entk reproduce --smoke` killed with SIGKILL twice (inside `augmentation`, the
//! second experiment, once it has saved work; then inside a Gram matrix of `qm9`) and rerun:
//! the rerun reuses the finished experiments and the saved tiles and units, says so, and the
//! final reports carry the numbers of an uninterrupted run, bit for bit.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use entk_cli::experiments::reproduce::{checksum, CHECKSUMS_FILE, TILES_DIR};
use entk_cli::report::ExperimentReport;
use serde_json::Value;

mod common;

const EXPERIMENTS: [&str; 5] = ["convergence", "augmentation", "textures", "rotmnist", "qm9"];

fn reproduce(out: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("entk"));
    c.args(["reproduce", "--smoke", "--threads", "1", "--out"])
        .arg(out);
    c
}

/// Finished files (tiles and unit records, not `.partial`) anywhere under `dir`.
fn saved_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                saved_under(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "bin"))
            }
        })
        .sum()
}

/// Starts `entk reproduce` on `out` (stderr to `log`) and SIGKILLs it as soon as at least
/// `at_least` files are saved under `out/.tiles/NAME`. False when the run ended first.
fn kill_when_saved(out: &Path, name: &str, at_least: usize, log: &Path) -> bool {
    let mut child: Child = reproduce(out)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let store = out.join(TILES_DIR).join(name);
    let start = Instant::now();
    while saved_under(&store) < at_least {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no tiles saved");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    true
}

fn numbers(path: &Path) -> Value {
    serde_json::from_str::<ExperimentReport>(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .numbers()
}

/// The `R` of every `note: reused R of T …` line of `stderr` that names `.tiles/NAME`.
fn reused_for(stderr: &str, name: &str) -> usize {
    common::reused_notes(stderr, &format!("{TILES_DIR}/{name}/"))
}

/// Where two JSON values first differ (a path and both sides), for a readable failure.
fn first_difference(a: &Value, b: &Value, at: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if w == v => {}
                    Some(w) => return first_difference(v, w, &format!("{at}/{k}")),
                    None => return format!("{at}/{k} only in the resumed run"),
                }
            }
            format!("{at}: keys differ")
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (v, w))| v != w)
            .map(|(i, (v, w))| first_difference(v, w, &format!("{at}/{i}")))
            .unwrap_or_default(),
        _ => format!("{at}: {a} (resumed) vs {b} (uninterrupted)"),
    }
}

#[test]
fn a_killed_reproduce_resumes_with_the_numbers_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));

    let out = reproduce(&whole).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(": reusing"), "nothing to reuse: {stderr}");

    // Kill 1: inside augmentation, once it has saved a tile or a unit.
    let log1 = dir.path().join("run1.log");
    assert!(
        kill_when_saved(&killed, "augmentation", 1, &log1),
        "ran to the end"
    );
    let in_augmentation = !killed.join("augmentation.json").exists();
    assert!(killed.join("convergence.json").exists());
    // Kill 2: inside qm9's Gram matrices (the set model's atom Gram has ≈ 10 tiles).
    let log2 = dir.path().join("run2.log");
    assert!(kill_when_saved(&killed, "qm9", 3, &log2), "ran to the end");
    assert!(
        !killed.join("qm9.json").exists(),
        "killed before qm9 finished"
    );
    let stderr2 = std::fs::read_to_string(&log2).unwrap();
    assert!(stderr2.contains("convergence: reusing"), "{stderr2}");
    if in_augmentation {
        // The first run died inside augmentation: its saved work is reused.
        assert!(reused_for(&stderr2, "augmentation") > 0, "{stderr2}");
    } else {
        eprintln!("note: the first kill came after augmentation had finished (a slow poll)");
    }

    // The rerun finishes, reusing four experiments and qm9's saved tiles.
    let out = reproduce(&killed).output().unwrap();
    let stderr3 = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr3}");
    for name in ["convergence", "augmentation", "textures", "rotmnist"] {
        assert!(stderr3.contains(&format!("{name}: reusing")), "{stderr3}");
    }
    assert!(reused_for(&stderr3, "qm9") >= 3, "{stderr3}");
    assert!(
        !killed.join(TILES_DIR).join("qm9").exists(),
        "tiles removed once qm9.json is written"
    );

    // Bit for bit the numbers of the uninterrupted run; the checksums match the files.
    let sums: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(killed.join(CHECKSUMS_FILE)).unwrap())
            .unwrap();
    for name in EXPERIMENTS {
        let file = format!("{name}.json");
        let (a, b) = (numbers(&killed.join(&file)), numbers(&whole.join(&file)));
        assert!(a == b, "{name}: {}", first_difference(&a, &b, ""));
        let bytes = std::fs::read(killed.join(&file)).unwrap();
        assert_eq!(sums[&file], checksum(&bytes), "{name}");
        assert!(killed.join(format!("{name}.png")).exists());
    }
    let report = std::fs::read_to_string(killed.join("report.md")).unwrap();
    assert!(report.contains("Smoke run"), "{report}");
    // Every report, the reused ones included, and report.md say which mode made them.
    assert!(report.contains("Mode `smoke`"), "{report}");
    // Smoke mode decides no claim: every report's claims are withheld (`holds` null), and
    // report.md says so.
    let mut claims = 0;
    for name in EXPERIMENTS {
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(killed.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(v["mode"], "smoke", "{name}");
        for c in v["claims"].as_array().unwrap() {
            assert!(c["holds"].is_null(), "{name}: {c}");
            claims += 1;
        }
    }
    assert!(claims > 0);
    assert!(report.contains("not resolved (smoke mode"), "{report}");
}
