//! `entk experiment` and `entk reproduce` through the real binary (assert_cmd).

mod common;

use common::{assert_refused, entk, named};
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
    let mode = if args.contains(&"--smoke") {
        "smoke"
    } else {
        "full"
    };
    assert_eq!(v["mode"], mode, "the top-level mode of {args:?}");
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

/// Requests `entk experiment` cannot serve: one line that says why.
#[test]
fn impossible_experiments_are_one_line_errors_naming_the_problem() {
    assert_refused(&[
        (
            "experiment mnist3d",
            &[
                "unknown experiment `mnist3d`",
                "qm9",
                "rotmnist",
                "textures",
                "histology",
                "augmentation",
                "convergence",
            ],
        ),
        (
            "experiment rotmnist --train 1900 --test 500",
            &[
                "rotmnist",
                "6 independent draws",
                "14400 distinct digits",
                "only 2000",
            ],
        ),
        (
            "experiment qm9 --train 2000 --test 10",
            &["qm9", "only 2000"],
        ),
        // Without data, histology says what to download; with a missing path, it names it.
        (
            "experiment histology",
            &["--data", "NCT-CRC-HE-100K", "pathmnist.npz", "zenodo"],
        ),
        (
            "experiment histology --data /nonexistent/entk-histology",
            &["/nonexistent/entk-histology", "download"],
        ),
        ("experiment textures --train 0", &["at least 1"]),
    ]);
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
    // 5 independent draws of 8 + 6 molecules, each re-split 24 ways: one value per draw.
    let settings = &v["settings"];
    assert_eq!(
        (settings["draws"].as_u64(), settings["splits"].as_u64()),
        (Some(5), Some(24))
    );
    let m = model(&v, "mlp");
    assert_eq!(
        m["learning_curve"]["mae_mev_by_draw"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
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
    // Every model reports the NNGP beside the NTK, at equal size and in the order check too
    // (the numbers themselves are checked against direct regressions in qm9.rs's tests).
    for (m, curve) in [
        (slot, "equal_size"),
        (model(&v, "mlp"), "equal_size"),
        (set, "learning_curve"),
    ] {
        for key in ["nngp_mae_mev", "nngp_rmse_mev", "nngp_minus_ntk_mae_mev"] {
            assert!(m[key].is_number(), "{key}: {m}");
            let ci = m[format!("{key}_ci")].as_array().expect("an interval");
            let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
            assert!(lo <= m[key].as_f64().unwrap() && m[key].as_f64().unwrap() <= hi);
        }
        assert!(m[curve]["nngp_mae_mev_ci"].as_array().is_some(), "{m}");
        assert!(m["nngp_order_change_max_mev"].is_number(), "{m}");
    }
    assert!(set["nngp_order_change_max_mev"].as_f64().unwrap() < 1e-6);
    // The claims, as JSON text: each decided for both kernels.
    let claims = v["claims"].to_string();
    for kernel in ["NTK", "NNGP"] {
        for claim in [
            format!("so3_cnn {kernel} MAE below mlp"),
            format!("so3_cnn_set {kernel} MAE below so3_cnn (per-slot)"),
        ] {
            assert!(claims.contains(&claim), "{claim}: {claims}");
        }
    }
}

#[test]
fn smoke_reports_say_so() {
    let v = run_json(&["qm9", "--smoke"]);
    assert!(model(&v, "so3_cnn")["nngp_mae_mev"].is_number());
    // A smoke run decides no claim.
    let claims = v["claims"].as_array().unwrap();
    assert!(!claims.is_empty());
    for c in claims {
        assert!(c["holds"].is_null(), "{c}");
    }
}
