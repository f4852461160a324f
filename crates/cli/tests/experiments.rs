//! `entk experiment` and `entk reproduce` through the real binary (assert_cmd).

mod common;

use common::{entk, entk_words, failure_of, named, one_line_failure_of};
use serde_json::Value;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs an experiment with a JSON report and checks the README's report fields.
fn run_json(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let plot = dir.path().join("r.png");
    let out = entk()
        .arg("experiment")
        .args(args)
        .args([
            "--json",
            json.to_str().unwrap(),
            "--plot",
            plot.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("experiment {}", args[0])),
        "stdout: {stdout}"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["experiment"], args[0]);
    for key in ["train", "test", "seed", "seconds"] {
        assert!(v[key].is_number(), "missing {key} in {v}");
    }
    let models = v["models"].as_array().expect("models array");
    assert!(!models.is_empty());
    assert!(models.iter().all(|m| m["name"].is_string()));
    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    v
}

fn model<'a>(v: &'a Value, name: &str) -> &'a Value {
    named(&v["models"], name)
}

#[test]
fn experiment_help_lists_the_flags_and_names() {
    let out = entk().args(["experiment", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for s in [
        "--train",
        "--test",
        "--seed",
        "--json",
        "--plot",
        "--data",
        "rotmnist",
        "augmentation",
    ] {
        assert!(text.contains(s), "missing {s} in help:\n{text}");
    }
}

#[test]
fn reproduce_help_names_the_output_folder() {
    let out = entk().args(["reproduce", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--out") && text.contains("report.md"),
        "{text}"
    );
}

#[test]
fn unknown_experiment_lists_the_known_ones() {
    let err = one_line_failure_of(&mut entk_words("experiment mnist3d"));
    assert!(err.contains("unknown experiment `mnist3d`"), "{err}");
    for n in [
        "qm9",
        "rotmnist",
        "textures",
        "histology",
        "augmentation",
        "convergence",
    ] {
        assert!(err.contains(n), "{err}");
    }
}

#[test]
fn too_many_training_points_is_a_one_line_error() {
    let err = one_line_failure_of(&mut entk_words(
        "experiment rotmnist --train 1900 --test 500",
    ));
    assert!(
        err.contains("rotmnist") && err.contains("requested 2400") && err.contains("2000"),
        "{err}"
    );
}

#[test]
fn too_many_molecules_is_a_one_line_error() {
    let err = failure_of(&mut entk_words("experiment qm9 --train 2000 --test 10"));
    assert!(err.contains("qm9") && err.contains("only 2000"), "{err}");
}

#[test]
fn histology_without_data_says_what_to_download() {
    let err = one_line_failure_of(&mut entk_words("experiment histology"));
    assert!(
        err.contains("--data")
            && err.contains("NCT-CRC-HE-100K")
            && err.contains("pathmnist.npz")
            && err.contains("zenodo"),
        "{err}"
    );
}

#[test]
fn histology_with_a_missing_path_names_it() {
    let err = failure_of(&mut entk_words(
        "experiment histology --data /nonexistent/entk-histology",
    ));
    assert!(
        err.contains("/nonexistent/entk-histology") && err.contains("download"),
        "{err}"
    );
}

#[test]
fn zero_training_points_are_refused() {
    let err = failure_of(&mut entk_words("experiment textures --train 0"));
    assert!(err.contains("at least 1"));
}

#[test]
fn tiny_textures_run_reports_three_models() {
    let v = run_json(&["textures", "--train", "9", "--test", "12", "--seed", "1"]);
    assert_eq!(
        (v["train"].as_u64(), v["test"].as_u64(), v["seed"].as_u64()),
        (Some(9), Some(12), Some(1))
    );
    for name in ["cnn", "c4_gcnn", "d4_gcnn"] {
        let acc = model(&v, name)["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
    }
}

#[test]
fn tiny_rotmnist_run_has_a_learning_curve() {
    let v = run_json(&["rotmnist", "--train", "10", "--test", "10"]);
    let m = model(&v, "c4_gcnn");
    assert!(m["accuracy"].is_number());
    assert_eq!(
        m["learning_curve"]["train"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        10
    );
}

#[test]
fn tiny_qm9_run_reports_mae_and_rmse() {
    let v = run_json(&["qm9", "--train", "8", "--test", "6"]);
    let m = model(&v, "mlp");
    assert!(m["mae_mev"].as_f64().unwrap() > 0.0);
    assert!(m["rmse_mev"].as_f64().unwrap() >= m["mae_mev"].as_f64().unwrap());
    // The set model: invariant under shuffled atoms (rounding), unlike the per-slot model.
    let set = model(&v, "so3_cnn_set");
    assert!(set["mae_mev"].as_f64().unwrap() > 0.0);
    assert_eq!(
        (set["train"].as_u64(), set["test"].as_u64()),
        (Some(8), Some(6))
    );
    assert!(
        set["order_change_max_mev"].as_f64().unwrap() < 1e-6,
        "{set}"
    );
    let slot = model(&v, "so3_cnn");
    assert!(
        slot["order_change_max_mev"].as_f64().unwrap() > 1.0,
        "{slot}"
    );
    assert!(slot["equal_size"]["mae_mev"].as_array().is_some(), "{slot}");
}
