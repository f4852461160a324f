//! neural-tangents 0.6.5 goldens for the closed-form and numerical nonlinearities
//! (`tests/golden/nonlin/`, written by its `make_nonlin_goldens.py`): every case of
//! `manifest.json` to ≤ 1e-10 relative to the largest entry, and, for the four places where
//! neural-tangents is wrong (`defects.json`), entk against the script's independent numpy
//! reference — never against neural-tangents' value.

mod common;

use common::rel_err as rel;
use std::path::{Path, PathBuf};

use entk_ntk::{Gram, Network};
use ndarray::{Array2, ArrayD, Ix2};
use ndarray_npy::read_npy;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/nonlin")
}

fn gram(net: &Network, x1: ArrayD<f64>, x2: Option<ArrayD<f64>>) -> Gram {
    common::gram_of_stored(net, x1, x2).unwrap()
}

#[test]
fn every_nonlinearity_golden_case_matches_neural_tangents() {
    let text = std::fs::read_to_string(dir().join("manifest.json")).expect("manifest.json");
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut worst = 0.0f64;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let net =
            Network::from_json(&case["arch"].to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let load = |key: &str| -> ArrayD<f64> {
            read_npy(dir().join(case[key].as_str().unwrap()))
                .unwrap_or_else(|e| panic!("{name}: {key}: {e}"))
        };
        let got = gram(&net, load("x1"), Some(load("x2")));
        let err = common::assert_matches_golden(name, &got, load("nngp"), load("ntk"));
        worst = worst.max(err);
    }
    println!("{} cases, worst relative error {worst:.2e}", cases.len());
}

fn array(v: &Value) -> ArrayD<f64> {
    fn shape(v: &Value, out: &mut Vec<usize>) {
        if let Value::Array(a) = v {
            out.push(a.len());
            shape(&a[0], out);
        }
    }
    fn flat(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
            // NaN is written by Python's json as the bare token NaN, which serde_json rejects;
            // the script's reference values are always finite numbers.
            x => out.push(x.as_f64().unwrap_or(f64::NAN)),
        }
    }
    let (mut s, mut d) = (Vec::new(), Vec::new());
    shape(v, &mut s);
    flat(v, &mut d);
    ArrayD::from_shape_vec(s, d).unwrap()
}

/// A 2-D array of JSON numbers as a matrix.
fn matrix(v: &Value) -> Array2<f64> {
    array(v).into_dimensionality::<Ix2>().unwrap()
}

fn defects() -> serde_json::Map<String, Value> {
    // Python's json writes NaN as a bare `NaN`; make it parseable (null → NaN above).
    let text = std::fs::read_to_string(dir().join("defects.json"))
        .expect("defects.json")
        .replace("NaN", "null");
    match serde_json::from_str(&text).unwrap() {
        Value::Object(m) => m,
        _ => panic!("defects.json must be an object"),
    }
}

/// entk on a defect case, and its relative errors against the independent reference.
fn against_reference(d: &Value) -> (Gram, f64, f64) {
    let net = Network::from_json(&d["arch"].to_string()).unwrap();
    let x2 = (!d["x2"].is_null()).then(|| array(&d["x2"]));
    let g = gram(&net, array(&d["x1"]), x2);
    let rk = matrix(&d["reference_nngp"]);
    let rt = matrix(&d["reference_ntk"]);
    let (ek, et) = (rel(&g.nngp, &rk), rel(&g.ntk, &rt));
    (g, ek, et)
}

#[test]
fn where_neural_tangents_is_wrong_entk_matches_the_independent_reference() {
    let d = defects();
    for key in [
        "rectified_monomial_self_kernel",
        "hermite_non_unit_variance",
        "sign_after_pool",
    ] {
        let case = &d[key];
        let (_, ek, et) = against_reference(case);
        let nt = &case["nt_relative_error"];
        println!(
            "{key}: entk vs reference nngp {ek:.1e}, ntk {et:.1e}; neural-tangents vs reference nngp {}, ntk {}",
            nt["nngp"], nt["ntk"]
        );
        assert!(ek <= 1e-10 && et <= 1e-10, "{key}: {ek:e} {et:e}");
        // The defect is real: neural-tangents is NaN or far off.
        let nt_err = nt["nngp"].as_f64().unwrap_or(f64::NAN);
        assert!(
            nt_err.is_nan() || nt_err > 1e-6,
            "{key}: neural-tangents error {nt_err}"
        );
    }
}

#[test]
fn numerical_quadrature_is_symmetric_where_neural_tangents_is_not() {
    let case = &defects()["numerical_asymmetry"];
    let net = Network::from_json(&case["arch"].to_string()).unwrap();
    let (x1, x2) = (array(&case["x1"]), array(&case["x2"]));
    let g12 = gram(&net, x1.clone(), Some(x2.clone()));
    let g21 = gram(&net, x2, Some(x1));
    assert_eq!(
        g12.nngp,
        g21.nngp.t(),
        "entk: K(x1, x2) = K(x2, x1)ᵀ bitwise"
    );
    assert_eq!(g12.ntk, g21.ntk.t());
    let ntk12 = matrix(&case["nt_nngp"]);
    let ntk21 = matrix(&case["nt_nngp_swapped_transposed"]);
    let nt_asym = rel(&ntk12, &ntk21);
    let rk = matrix(&case["reference_nngp"]);
    let (e_nt, e_nt_swapped, e_entk) = (rel(&ntk12, &rk), rel(&ntk21, &rk), rel(&g12.nngp, &rk));
    println!(
        "degree-8 tanh: neural-tangents asymmetry {nt_asym:.2e}; error vs converged reference: neural-tangents {e_nt:.2e} / {e_nt_swapped:.2e} (swapped), entk {e_entk:.2e}"
    );
    assert!(
        nt_asym > 1e-6,
        "the case must show neural-tangents' asymmetry"
    );
    assert!(e_entk <= e_nt.max(e_nt_swapped));
}
