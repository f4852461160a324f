//! Every case of the neural-tangents golden manifest (`tests/golden/manifest.json`, see its
//! README) through the engine: NNGP and NTK Gram matrices to ≤ 1e-10 (relative to the largest
//! entry). Standard-parameterisation widths come from the manifest's `widths` list, injected as
//! each `dense`/`conv` layer's `width` field.

use std::path::{Path, PathBuf};

use entk_ntk::{GramOptions, Network};
use ndarray::{Array2, Array4, ArrayD, Ix2, Ix4};
use ndarray_npy::read_npy;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
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
        let (x1, x2) = (load("x1"), load("x2"));
        let want_k: Array2<f64> = load("nngp").into_dimensionality::<Ix2>().unwrap();
        let want_t: Array2<f64> = load("ntk").into_dimensionality::<Ix2>().unwrap();
        let opts = GramOptions::default();
        let got = if x1.ndim() == 2 {
            let (a, b) = (
                x1.into_dimensionality::<Ix2>().unwrap(),
                x2.into_dimensionality::<Ix2>().unwrap(),
            );
            net.gram_vectors(a.view(), Some(b.view()), &opts)
        } else {
            let (a, b): (Array4<f64>, Array4<f64>) = (
                x1.into_dimensionality::<Ix4>().unwrap(),
                x2.into_dimensionality::<Ix4>().unwrap(),
            );
            net.gram(a.view(), Some(b.view()), &opts)
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (ek, et) = (rel(&got.nngp, &want_k), rel(&got.ntk, &want_t));
        println!("{name:<36} nngp {ek:.2e}  ntk {et:.2e}");
        assert!(
            ek <= 1e-10 && et <= 1e-10,
            "{name}: nngp rel err {ek:e}, ntk rel err {et:e}"
        );
        worst = worst.max(ek).max(et);
    }
    println!("{} cases, worst relative error {worst:.2e}", cases.len());
}
