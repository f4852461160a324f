//! Every case of `tests/golden/layers_manifest.json` (written by `make_goldens_layers.py`:
//! neural-tangents 0.6.5 kernels of pools, strided convolutions, layer norm, dropout, repeat and
//! fan_in_prod) through the engine: NNGP and NTK Gram matrices to ≤ 1e-10 relative to the
//! largest entry. `"x2": null` cases are symmetric Grams (neural-tangents' `x1_is_x2`).

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
        let got = gram_of_stored(&net, x1, x2).unwrap_or_else(|e| panic!("{name}: {e}"));
        let err = assert_matches_golden(name, &got, load("nngp").unwrap(), load("ntk").unwrap());
        worst = worst.max(err);
    }
    println!("{} cases, worst relative error {worst:.1e}", cases.len());
}
