//! Issue #16 items 1 (verify-group sizes), 7 (options that do not apply, per-experiment help,
//! estimates), 8 (progress off a terminal) and 9 (stated, relative tolerances), through the
//! real binary.

mod common;

use common::{assert_refused, entk, named};
use serde_json::Value;

fn help(args: &[&str]) -> String {
    let out = entk().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn options_that_do_not_apply_are_refused_in_one_line() {
    assert_refused(&[
        (
            "experiment convergence --test 5",
            &["convergence: --test does not apply"],
        ),
        (
            "experiment qm9 --data some/folder",
            &["qm9: --data some/folder does not apply"],
        ),
        ("experiment textures --tset 3", &["--tset", "usage: entk"]),
        (
            "verify-group c4 --bandlimit 8",
            &["--bandlimit 8 applies to so3 only"],
        ),
    ]);
}

#[test]
fn every_experiment_has_its_own_help() {
    let qm9 = help(&["experiment", "qm9"]);
    assert!(
        qm9.contains("Training molecules per split of a draw (default 200)"),
        "{qm9}"
    );
    assert!(!qm9.contains("--data <PATH>"), "{qm9}");
    let conv = help(&["experiment", "convergence"]);
    assert!(conv.contains("Inputs of the Gram matrices"), "{conv}");
    assert!(!conv.contains("--test <M>"), "{conv}");
    let hist = help(&["experiment", "histology"]);
    assert!(
        hist.contains("--data") && hist.contains("pathmnist.npz"),
        "{hist}"
    );
    let tex = help(&["experiment", "textures"]);
    assert!(
        tex.contains("Training patches per draw (default 150)"),
        "{tex}"
    );
    let all = [
        qm9,
        conv,
        hist,
        tex,
        help(&["experiment", "rotmnist"]),
        help(&["experiment", "augmentation"]),
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn impossible_sizes_are_refused_before_any_work() {
    assert_refused(&[
        (
            "experiment textures --test 1000000000000",
            &["more than the", "memory"],
        ),
        // draws · test overflows usize: refused the same way, never an overflow panic.
        (
            "experiment textures --test 18446744073709551615",
            &["more than the", "memory"],
        ),
        (
            "experiment rotmnist --train 18446744073709551615",
            &["more than the", "memory"],
        ),
    ]);
}

#[test]
fn a_run_off_a_terminal_prints_its_estimate_and_periodic_progress() {
    let out = entk()
        .args(["experiment", "textures", "--train", "9", "--test", "12"])
        .env("ENTK_PROGRESS_SECONDS", "0")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .next()
            .unwrap_or("")
            .contains("textures: 3 models × ")
            && err.contains("estimated"),
        "{err}"
    );
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("textures: ") && l.contains("elapsed, eta"))
        .collect();
    assert!(progress.len() >= 2, "{err}");
    assert!(err.contains("textures: finished in"), "{err}");
}

#[test]
fn verify_group_refuses_orders_and_bandlimits_it_cannot_check() {
    assert_refused(&[
        ("verify-group c1000", &["order 1000", "(128)"]),
        ("verify-group d9223372036854775808", &["order"]),
        ("verify-group c18446744073709551615", &["order"]),
        ("verify-group c5000000000", &["order"]),
        ("verify-group é4", &["é4"]),
        (
            "verify-group so3 --bandlimit 1000000000",
            &["bandlimit 1000000000", "(64)"],
        ),
        ("verify-group all --bandlimit 65", &["bandlimit 65"]),
    ]);
}

#[test]
fn verify_group_states_its_tolerances() {
    let out = entk()
        .args(["verify-group", "so3", "--bandlimit", "4"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in v["checks"].as_array().unwrap() {
        assert_eq!(c["relative"], true, "{c}");
        assert!(c["tolerance_rule"].as_str().unwrap().len() > 5, "{c}");
        assert!(c["tolerance"].is_number(), "{c}");
    }
    let haar = named(&v["checks"], "haar_volume_err");
    assert!(
        haar["tolerance_rule"]
            .as_str()
            .unwrap()
            .contains("quadrature nodes"),
        "{haar}"
    );
}
