//! Validates the neural-tangents golden files in `tests/golden/` (see its README.md): the
//! manifest parses, every architecture uses only docs/spec.md fields, every file loads with
//! ndarray-npy, and shapes are consistent. The kernel comparison itself lives with the engine.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, Ix2};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
}

fn manifest() -> Vec<Value> {
    let text =
        std::fs::read_to_string(golden_dir().join("manifest.json")).expect("read manifest.json");
    match serde_json::from_str(&text).expect("manifest.json is JSON") {
        Value::Array(cases) => cases,
        other => panic!("manifest.json must be a list, got {other}"),
    }
}

fn load(name: &str) -> ArrayD<f64> {
    ndarray_npy::read_npy(golden_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Allowed fields per layer type: docs/spec.md's layer fields plus `avg_pool {window}`.
fn allowed_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "dense" => &["w_std", "b_std"],
        "conv" => &["filter", "padding", "w_std", "b_std"],
        "flatten" | "global_avg_pool" | "relu" | "gelu" | "identity" => &[],
        "avg_pool" => &["window"],
        "erf" => &["a", "b", "c"],
        "leaky_relu" => &["slope"],
        "abrelu" => &["a", "b"],
        _ => return None,
    })
}

#[test]
fn manifest_lists_every_case_with_spec_format_architectures() {
    let cases = manifest();
    assert!(
        cases.len() >= 20,
        "expected the full case list, got {}",
        cases.len()
    );
    let mut names = BTreeSet::new();
    let mut types_seen = BTreeSet::new();
    let mut paddings = BTreeSet::new();
    let mut params = BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        assert!(names.insert(name.to_owned()), "duplicate case {name}");
        for key in ["x1", "x2", "nngp", "ntk", "notes"] {
            assert!(case[key].is_string(), "{name}: missing {key}");
        }
        let arch = case["arch"].as_object().expect("arch object");
        assert!(
            arch.keys()
                .all(|k| k == "parameterization" || k == "layers"),
            "{name}: arch keys {:?}",
            arch.keys()
        );
        let param = arch["parameterization"].as_str().unwrap();
        assert!(
            param == "ntk" || param == "standard",
            "{name}: parameterization {param}"
        );
        params.insert(param.to_owned());
        let layers = arch["layers"].as_array().expect("layers");
        let mut n_weighted = 0;
        for (i, layer) in layers.iter().enumerate() {
            let layer = layer.as_object().unwrap();
            let kind = layer["type"].as_str().unwrap();
            let allowed = allowed_fields(kind)
                .unwrap_or_else(|| panic!("{name}: layer {i} unknown type {kind}"));
            for key in layer.keys().filter(|k| *k != "type") {
                assert!(
                    allowed.contains(&key.as_str()),
                    "{name}: layer {i} ({kind}) has field {key}"
                );
            }
            if kind == "conv" {
                let p = layer["padding"].as_str().unwrap();
                assert!(
                    ["same", "valid", "circular"].contains(&p),
                    "{name}: padding {p}"
                );
                paddings.insert(p.to_owned());
            }
            if kind == "dense" || kind == "conv" {
                n_weighted += 1;
                assert!(layer["w_std"].as_f64().unwrap() > 0.0);
                assert!(layer["b_std"].as_f64().unwrap() >= 0.0);
            }
            types_seen.insert(kind.to_owned());
        }
        assert_eq!(
            layers.last().unwrap()["type"],
            "dense",
            "{name}: must end with the Dense(1) readout"
        );
        let widths = case["widths"].as_array().expect("widths");
        assert_eq!(
            widths.len(),
            n_weighted,
            "{name}: one width per dense/conv layer"
        );
        assert_eq!(
            widths.last().unwrap().as_u64(),
            Some(1),
            "{name}: readout width 1"
        );
        assert_eq!(case["s"], serde_json::json!([1, 1]));
    }
    for kind in [
        "dense",
        "conv",
        "flatten",
        "global_avg_pool",
        "avg_pool",
        "relu",
        "leaky_relu",
        "abrelu",
        "erf",
        "gelu",
        "identity",
    ] {
        assert!(types_seen.contains(kind), "no case covers {kind}");
    }
    assert_eq!(paddings.len(), 3, "all three paddings covered");
    assert_eq!(params.len(), 2, "both parameterisations covered");
}

#[test]
fn golden_arrays_load_and_have_consistent_shapes() {
    let mut total_bytes = std::fs::metadata(golden_dir().join("manifest.json"))
        .unwrap()
        .len();
    for case in manifest() {
        let name = case["name"].as_str().unwrap();
        let x1 = load(case["x1"].as_str().unwrap());
        let x2 = load(case["x2"].as_str().unwrap());
        let nngp = load(case["nngp"].as_str().unwrap())
            .into_dimensionality::<Ix2>()
            .expect("nngp is 2-D");
        let ntk = load(case["ntk"].as_str().unwrap())
            .into_dimensionality::<Ix2>()
            .expect("ntk is 2-D");
        for key in ["x1", "x2", "nngp", "ntk"] {
            total_bytes += std::fs::metadata(golden_dir().join(case[key].as_str().unwrap()))
                .unwrap()
                .len();
        }
        assert!(
            x1.ndim() == 2 || x1.ndim() == 4,
            "{name}: x1 is (N, D) or (N, H, W, C)"
        );
        assert_eq!(
            x1.shape()[1..],
            x2.shape()[1..],
            "{name}: x1 and x2 differ beyond the batch axis"
        );
        let expected = (x1.shape()[0], x2.shape()[0]);
        assert_eq!(nngp.dim(), expected, "{name}: nngp shape");
        assert_eq!(ntk.dim(), expected, "{name}: ntk shape");
        let layers = case["arch"]["layers"].as_array().unwrap();
        let first_is_conv_or_pool =
            ["conv", "flatten", "global_avg_pool"].contains(&layers[0]["type"].as_str().unwrap());
        assert_eq!(
            x1.ndim() == 4,
            first_is_conv_or_pool,
            "{name}: image inputs exactly for conv/flatten/pool nets"
        );
        assert!(
            x1.iter()
                .chain(&x2)
                .chain(&nngp)
                .chain(&ntk)
                .all(|v| v.is_finite()),
            "{name}: non-finite"
        );
        if x1 == x2 {
            // neural-tangents is symmetric only to rounding (≈3e-17 here), not bitwise.
            for (what, k) in [("NNGP", &nngp), ("NTK", &ntk)] {
                let scale = k.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                let asym = (k - &k.t()).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                assert!(
                    asym <= 1e-14 * scale,
                    "{name}: x2 = x1 but the {what} is asymmetric by {asym:e}"
                );
            }
        }
    }
    assert!(
        total_bytes < 1 << 20,
        "golden files must stay well under 1 MB, got {total_bytes}"
    );
}

#[test]
fn cnn_golden_case_holds_the_theory_md_values() {
    // docs/theory.md#golden-values, "CNN golden (input 1)", as printed (10 decimals).
    let nngp_ref = [[0.0496483127, 0.0560029807], [0.0560029807, 0.0642979651]];
    let ntk_ref = [[0.0835055112, 0.0921219094], [0.0921219094, 0.1089959559]];
    let case = manifest()
        .into_iter()
        .find(|c| c["name"] == "cnn_golden_input1")
        .expect("cnn_golden_input1 case");
    let x1 = load(case["x1"].as_str().unwrap());
    assert_eq!(x1.shape(), &[2, 5, 5, 1]);
    for (b, h, w) in [(0, 0, 0), (1, 2, 3), (0, 4, 1)] {
        let expected = (0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin() + 0.1 * (h * w) as f64;
        assert!((x1[[b, h, w, 0]] - expected).abs() < 1e-15);
    }
    let nngp = load(case["nngp"].as_str().unwrap());
    let ntk = load(case["ntk"].as_str().unwrap());
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (nngp[[i, j]] - nngp_ref[i][j]).abs() <= 0.5e-10,
                "nngp[{i},{j}] = {}",
                nngp[[i, j]]
            );
            assert!(
                (ntk[[i, j]] - ntk_ref[i][j]).abs() <= 0.5e-10,
                "ntk[{i},{j}] = {}",
                ntk[[i, j]]
            );
        }
    }
}
