//! Every case of `tests/golden/layers_manifest.json` (written by `make_goldens_layers.py`:
//! neural-tangents 0.6.5 kernels of pools, strided convolutions, layer norm, dropout, repeat and
//! fan_in_prod) through the engine: NNGP and NTK Gram matrices to ≤ 1e-10 relative to the
//! largest entry. `"x2": null` cases are symmetric Grams (neural-tangents' `x1_is_x2`).

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
fn every_layer_golden_case_matches_neural_tangents() {
    let text = std::fs::read_to_string(dir().join("layers_manifest.json"))
        .expect("tests/golden/layers_manifest.json is committed");
    let manifest: Value = serde_json::from_str(&text).expect("manifest is JSON");
    let cases = manifest["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    let mut worst = 0.0f64;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let net =
            Network::from_json(&case["arch"].to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let load = |key: &str| -> Option<ArrayD<f64>> {
            case[key]
                .as_str()
                .map(|f| read_npy(dir().join(f)).unwrap_or_else(|e| panic!("{name}: {key}: {e}")))
        };
        let x1 = load("x1").unwrap();
        let x2 = load("x2");
        let want_k = load("nngp").unwrap().into_dimensionality::<Ix2>().unwrap();
        let want_t = load("ntk").unwrap().into_dimensionality::<Ix2>().unwrap();
        let opts = GramOptions::default();
        let got = if x1.ndim() == 2 {
            let a = x1.into_dimensionality::<Ix2>().unwrap();
            let b = x2.map(|b| b.into_dimensionality::<Ix2>().unwrap());
            net.gram_vectors(a.view(), b.as_ref().map(|b| b.view()), &opts)
        } else {
            let a: Array4<f64> = x1.into_dimensionality::<Ix4>().unwrap();
            let b: Option<Array4<f64>> = x2.map(|b| b.into_dimensionality::<Ix4>().unwrap());
            net.gram(a.view(), b.as_ref().map(|b| b.view()), &opts)
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (ek, et) = (rel(&got.nngp, &want_k), rel(&got.ntk, &want_t));
        println!("{name:40} nngp {ek:.1e}  ntk {et:.1e}");
        assert!(
            ek <= 1e-10 && et <= 1e-10,
            "{name}: nngp {ek:e}, ntk {et:e}"
        );
        worst = worst.max(ek).max(et);
    }
    println!("{} cases, worst relative error {worst:.1e}", cases.len());
}
