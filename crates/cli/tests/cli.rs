//! The real `entk` binary: help, bad input and small runs of every subcommand.

use assert_cmd::Command;

fn entk() -> Command {
    Command::cargo_bin("entk").expect("the entk binary is built by cargo test")
}

#[test]
fn every_subcommand_prints_help() {
    for sub in [vec!["--help"], vec!["verify-group", "--help"]] {
        entk().args(&sub).assert().success();
    }
}

#[test]
fn verify_group_c4_prints_a_passing_json_report_with_err_fields() {
    let out = entk()
        .args(["verify-group", "c4"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["group"], "c4");
    assert_eq!(report["passed"], true);
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.len() > 10);
    for check in checks {
        assert!(check["name"].as_str().unwrap().contains("err"));
        assert!(check["max_err"].as_f64().unwrap() <= 1e-12);
    }
}

#[test]
fn verify_group_so3_passes_at_a_given_bandlimit() {
    let out = entk()
        .args(["verify-group", "so3", "--bandlimit", "4"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["bandlimit"], 4);
    assert_eq!(report["passed"], true);
}

#[test]
fn verify_group_c8_reports_the_resampling_defect_without_failing() {
    let out = entk()
        .args(["verify-group", "c8"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let defect = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "pixel_resampling_homomorphism_err")
        .unwrap();
    assert!(defect["max_err"].as_f64().unwrap() > 1e-3);
    assert!(defect["tolerance"].is_null());
}

#[test]
fn fails_with_a_one_line_error_listing_known_groups_for_an_unknown_name() {
    let assert = entk()
        .args(["verify-group", "icosahedral"])
        .assert()
        .failure();
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("unknown group `icosahedral`") && stderr.contains("so3"),
        "{stderr}"
    );
}

#[test]
fn fails_cleanly_for_zero_order_and_zero_bandlimit() {
    let stderr = entk()
        .args(["verify-group", "d0"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(stderr)
        .unwrap()
        .contains("n must be at least 1"));
    let stderr = entk()
        .args(["verify-group", "so3", "--bandlimit", "0"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(stderr).unwrap().contains("bandlimit"));
}
