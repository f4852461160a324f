//! Issue #16 items 1 (verify-group sizes), 7 (options that do not apply, per-experiment help,
//! estimates), 8 (progress off a terminal) and 9 (stated, relative tolerances), through the
//! real binary.

use std::time::{Duration, Instant};

mod common;

use common::{entk, entk_words, named, one_line_failure_of};
use serde_json::Value;

/// Runs `entk LINE` (split at whitespace), expects failure with exactly one line on stderr,
/// starting `error: ` and within 20 s, and returns that line.
fn one_line_failure(line: &str) -> String {
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

fn help(args: &[&str]) -> String {
    let out = entk().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn options_that_do_not_apply_are_refused_in_one_line() {
    let err = one_line_failure("experiment convergence --test 5");
    assert!(err.contains("convergence: --test does not apply"), "{err}");
    let err = one_line_failure("experiment qm9 --data some/folder");
    assert!(
        err.contains("qm9: --data some/folder does not apply"),
        "{err}"
    );
    let err = one_line_failure("experiment textures --tset 3");
    assert!(
        err.contains("--tset") && err.contains("usage: entk"),
        "{err}"
    );
    let err = one_line_failure("verify-group c4 --bandlimit 8");
    assert!(err.contains("--bandlimit 8 applies to so3 only"), "{err}");
}

#[test]
fn every_experiment_has_its_own_help() {
    let qm9 = help(&["experiment", "qm9"]);
    assert!(qm9.contains("Training molecules (default 200)"), "{qm9}");
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
    assert!(tex.contains("Training patches (default 150)"), "{tex}");
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
    let err = one_line_failure("experiment textures --test 1000000000000");
    assert!(
        err.contains("more than the") && err.contains("memory"),
        "{err}"
    );
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
    let err = one_line_failure("verify-group c1000");
    assert!(err.contains("order 1000") && err.contains("(128)"), "{err}");
    for name in [
        "d9223372036854775808",
        "c18446744073709551615",
        "c5000000000",
    ] {
        let err = one_line_failure(&format!("verify-group {name}"));
        assert!(err.contains("order"), "{err}");
    }
    let err = one_line_failure("verify-group é4");
    assert!(err.contains("é4"), "{err}");
    let err = one_line_failure("verify-group so3 --bandlimit 1000000000");
    assert!(
        err.contains("bandlimit 1000000000") && err.contains("(64)"),
        "{err}"
    );
    let err = one_line_failure("verify-group all --bandlimit 65");
    assert!(err.contains("bandlimit 65"), "{err}");
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
