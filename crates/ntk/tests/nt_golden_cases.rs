//! Every case of the neural-tangents golden manifest (`tests/golden/manifest.json`, see its
//! README) through the engine: NNGP and NTK Gram matrices to ≤ 1e-10 (relative to the largest
//! entry). Standard-parameterisation widths come from the manifest's `widths` list, injected as
//! each `dense`/`conv` layer's `width` field.

mod common;

use common::{assert_matches_golden, gram_of_stored};
use std::path::{Path, PathBuf};

use entk_ntk::Network;
use ndarray::ArrayD;
use ndarray_npy::read_npy;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn every_neural_tangents_golden_case_matches() {
    let manifest = dir().join("manifest.json");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        eprintln!("no golden manifest at {}; skipping", manifest.display());
        return;
    };
    let cases: Vec<Value> = serde_json::from_str(&text).expect("manifest is JSON");
    assert!(!cases.is_empty());
    let mut worst = 0.0f64;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let mut arch = case["arch"].clone();
        let widths: Vec<u64> = case["widths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_u64().unwrap())
            .collect();
        let mut wi = 0;
        for layer in arch["layers"].as_array_mut().unwrap() {
            let ty = layer["type"].as_str().unwrap().to_string();
            if ty == "dense" || ty == "conv" {
                layer["width"] = Value::from(widths[wi]);
                wi += 1;
            }
        }
        assert_eq!(
            wi,
            widths.len(),
            "{name}: widths do not match the linear layers"
        );
        let net = Network::from_json(&arch.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let load = |key: &str| -> ArrayD<f64> {
            read_npy(dir().join(case[key].as_str().unwrap()))
                .unwrap_or_else(|e| panic!("{name}: {key}: {e}"))
        };
        let got = gram_of_stored(&net, load("x1"), Some(load("x2")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let err = assert_matches_golden(name, &got, load("nngp"), load("ntk"));
        worst = worst.max(err);
    }
    println!("{} cases, worst relative error {worst:.2e}", cases.len());
}
