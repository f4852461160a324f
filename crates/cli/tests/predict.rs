//! `entk predict` as neural-tangents users expect it: `--time-convention nt`, `--cov full|diag`,
//! `--get`, integer labels, early argument checks and resumable kernels. The expected numbers
//! are computed here from `entk kernel`'s Gram matrices with nalgebra's eigendecomposition, by
//! the formulas of neural-tangents' `gradient_descent_mse_ensemble`, not by entk's solver.

use std::path::Path;

use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{Array1, Array2, Array4};
use ndarray_npy::{read_npy, write_npy};

const CNN: &str = r#"{"layers": [
    {"type": "conv", "filter": 3, "padding": "same", "b_std": 0.1}, {"type": "relu"},
    {"type": "global_avg_pool"}, {"type": "dense", "b_std": 0.1}]}"#;

mod common;

use common::{entk_line, one_line_failure_of};

fn images(n: usize, seed: f64) -> Array4<f64> {
    Array4::from_shape_fn((n, 5, 5, 2), |(b, h, w, c)| {
        (0.7 * h as f64 + 1.3 * w as f64 + seed * b as f64 + 0.4 * c as f64).sin()
            + 0.05 * (h * w) as f64
    })
}

const N: usize = 6;
const M: usize = 4;

fn setup(d: &Path) -> Array2<f64> {
    std::fs::write(d.join("cnn.json"), CNN).unwrap();
    write_npy(d.join("train.npy"), &images(N, 1.0)).unwrap();
    write_npy(d.join("test.npy"), &images(M, 2.7)).unwrap();
    let y = Array2::from_shape_fn((N, 2), |(i, k)| ((i + 2 * k) % 3) as f64 - 1.0);
    write_npy(d.join("y.npy"), &y).unwrap();
    write_npy(d.join("y_int.npy"), &y.mapv(|v| v as i64)).unwrap();
    y
}

/// `predict` of the set-up CNN with the given labels and test inputs, into `out`, as one
/// line of arguments (see [`common::entk_line`]).
fn predict_line(labels: &str, test: &str, out: &str) -> String {
    format!("predict --arch cnn.json --train train.npy --labels {labels} --test {test} --out {out}")
}

fn predict(d: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let mut c = entk_line(d, &predict_line("y.npy", "test.npy", out));
    c.args(extra).assert().success().get_output().clone()
}

/// NNGP or NTK Gram matrices of (a, b) from `entk kernel`.
fn kernel(d: &Path, a: &str, b: Option<&str>, which: &str) -> DMatrix<f64> {
    let out = format!("k_{a}_{}", b.unwrap_or("self"));
    let x2 = b.map_or(String::new(), |b| format!(" --x2 {b}"));
    common::run_ok(
        d,
        &format!("kernel --arch cnn.json --x1 {a} --out {out}{x2}"),
    );
    let m: Array2<f64> = read_npy(d.join(&out).join(format!("{which}.npy"))).unwrap();
    DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| m[[i, j]])
}

fn to_d(a: &Array2<f64>) -> DMatrix<f64> {
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// `f(Θ) = U diag(f(λ)) Uᵀ`.
fn spectral(k: &DMatrix<f64>, f: impl Fn(f64) -> f64) -> DMatrix<f64> {
    let e = SymmetricEigen::new(k.clone());
    let d = DMatrix::from_diagonal(&e.eigenvalues.map(f));
    &e.eigenvectors * d * e.eigenvectors.transpose()
}

fn max_rel(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (a - b).iter().fold(0.0f64, |m, v| m.max(v.abs())) / scale
}

#[test]
fn nt_time_convention_gives_neural_tangents_mean_and_covariance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let y = to_d(&setup(d));
    let (t, eta) = (10.0, 0.5);
    predict(
        d,
        "p",
        &[
            "--time",
            "10",
            "--learning-rate",
            "0.5",
            "--time-convention",
            "nt",
            "--cov",
            "full",
        ],
    );
    let theta = kernel(d, "train.npy", None, "ntk");
    let theta_xt = kernel(d, "test.npy", Some("train.npy"), "ntk");
    let k = kernel(d, "train.npy", None, "nngp");
    let k_xt = kernel(d, "test.npy", Some("train.npy"), "nngp");
    let k_xx = kernel(d, "test.npy", None, "nngp");
    // neural-tangents: loss ½·mean over y_train.size = N·K entries, so rate η/(N·K).
    let s = eta * t / (N * 2) as f64;
    let a_t = spectral(&theta, |l| -(-l * s).exp_m1() / l);
    let mean = &theta_xt * &a_t * &y;
    let got: Array2<f64> = read_npy(d.join("p/ntk_mean.npy")).unwrap();
    assert!(max_rel(&to_d(&got), &mean) < 1e-10);
    // NTK-GP covariance: K(x,x) − BᵀK(X,x) − K(x,X)B + BᵀK(X,X)B with B = A_t Θ(X,x).
    let b = &a_t * theta_xt.transpose();
    let cov = &k_xx - b.transpose() * k_xt.transpose() - &k_xt * &b + b.transpose() * &k * &b;
    let got: Array2<f64> = read_npy(d.join("p/ntk_cov.npy")).unwrap();
    assert!(
        max_rel(&to_d(&got), &cov) < 1e-9,
        "{}",
        max_rel(&to_d(&got), &cov)
    );
    // NNGP (only the readout trained): K(x,x) − K(x,X) K⁻¹ (I − e^{−2ηKt}) K(X,x).
    let filt = spectral(&k, |l| -(-2.0 * l * s).exp_m1() / l);
    let cov = &k_xx - &k_xt * filt * k_xt.transpose();
    let got: Array2<f64> = read_npy(d.join("p/nngp_cov.npy")).unwrap();
    assert!(
        max_rel(&to_d(&got), &cov) < 1e-9,
        "{}",
        max_rel(&to_d(&got), &cov)
    );
    // The default convention at the rescaled rate gives the same numbers.
    let rate = format!("{}", eta / (N * 2) as f64);
    predict(d, "q", &["--time", "10", "--learning-rate", &rate]);
    let a: Array2<f64> = read_npy(d.join("p/nngp_mean.npy")).unwrap();
    let b: Array2<f64> = read_npy(d.join("q/nngp_mean.npy")).unwrap();
    assert!(max_rel(&to_d(&a), &to_d(&b)) < 1e-12);
}

#[test]
fn diagonal_covariance_is_the_diagonal_of_the_full_one_and_get_picks_one_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    for t in ["3", "inf"] {
        let full = format!("full{t}");
        let diag = format!("diag{t}");
        let mut a = vec!["--cov", "full"];
        let mut b = vec!["--cov", "diag"];
        if t != "inf" {
            a.extend(["--time", t]);
            b.extend(["--time", t]);
        }
        predict(d, &full, &a);
        predict(d, &diag, &b);
        for name in ["ntk", "nngp"] {
            let c: Array2<f64> = read_npy(d.join(&full).join(format!("{name}_cov.npy"))).unwrap();
            let v: Array1<f64> = read_npy(d.join(&diag).join(format!("{name}_var.npy"))).unwrap();
            let scale = c.diag().iter().fold(0.0f64, |m, x| m.max(x.abs()));
            for i in 0..M {
                assert!((c[[i, i]] - v[i]).abs() <= 1e-10 * scale, "{name} t={t}");
            }
            assert!(!d.join(&diag).join("tiles/test_test").exists());
        }
    }
    // At t = ∞ the NNGP covariance is the GP posterior K(x,x) − K(x,X) K⁻¹ K(X,x).
    let k = kernel(d, "train.npy", None, "nngp");
    let k_xt = kernel(d, "test.npy", Some("train.npy"), "nngp");
    let k_xx = kernel(d, "test.npy", None, "nngp");
    let post = &k_xx - &k_xt * k.clone().try_inverse().unwrap() * k_xt.transpose();
    let got: Array2<f64> = read_npy(d.join("fullinf/nngp_cov.npy")).unwrap();
    assert!((to_d(&got) - &post).abs().max() < 1e-8 * k_xx.abs().max());

    let out = predict(d, "ntk_only", &["--get", "ntk"]);
    assert!(out.status.success());
    assert!(d.join("ntk_only/ntk_mean.npy").exists());
    assert!(!d.join("ntk_only/nngp_mean.npy").exists());
}

#[test]
fn integer_labels_are_accepted_and_kernels_resume() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    predict(d, "f", &[]);
    let args = predict_line("y_int.npy", "test.npy", "i");
    entk_line(d, &args).assert().success();
    let a: Array2<f64> = read_npy(d.join("f/ntk_mean.npy")).unwrap();
    let b: Array2<f64> = read_npy(d.join("i/ntk_mean.npy")).unwrap();
    assert_eq!(a, b);
    entk_line(d, &args).assert().success();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("i/report.json")).unwrap()).unwrap();
    assert_eq!(report["tiles_reused"], report["tiles_total"]);
    assert_eq!(report["inputs"].as_array().unwrap().len(), 3);
}

#[test]
fn bad_arguments_are_refused_before_any_kernel_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    write_npy(d.join("big.npy"), &Array4::<f64>::zeros((3, 6, 6, 2))).unwrap();
    write_npy(
        d.join("one_channel.npy"),
        &Array4::<f64>::zeros((3, 5, 5, 1)),
    )
    .unwrap();
    for (extra, test, expect) in [
        (vec!["--learning-rate=0"], "test.npy", "--learning-rate"),
        (vec!["--learning-rate=-1"], "test.npy", "--learning-rate"),
        (vec!["--time=-1"], "test.npy", "time"),
        (vec!["--diag-reg=-1"], "test.npy", "--diag-reg"),
        (vec!["--tile=0"], "test.npy", "--tile"),
        (vec![], "big.npy", "same size"),
        (vec![], "one_channel.npy", "channels"),
    ] {
        let args = format!("{} {}", predict_line("y.npy", test, "bad"), extra.join(" "));
        let err = one_line_failure_of(&mut entk_line(d, &args));
        assert!(err.contains(expect), "{err}");
        assert!(!d.join("bad/tiles").exists(), "no kernel work for {args}");
    }
}

#[test]
fn cg_on_the_gram_matrix_streamed_from_disk_matches_the_direct_solve() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    predict(d, "direct", &["--solver", "direct", "--diag-reg", "1e-3"]);
    predict(
        d,
        "cg",
        &["--solver", "cg", "--diag-reg", "1e-3", "--tile", "4"],
    );
    for name in ["ntk", "nngp"] {
        let a: Array2<f64> = read_npy(d.join(format!("direct/{name}_mean.npy"))).unwrap();
        let b: Array2<f64> = read_npy(d.join(format!("cg/{name}_mean.npy"))).unwrap();
        assert!(max_rel(&to_d(&b), &to_d(&a)) < 1e-8, "{name}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cg/report.json")).unwrap()).unwrap();
    let solves = report["solves"].as_array().unwrap();
    assert_eq!(solves.len(), 2);
    for s in solves {
        assert_eq!(s["method"], "cg");
        assert!(s["iterations"].as_u64().unwrap() >= 1);
        assert!(s["relative_residual"].as_f64().unwrap() < 1e-9);
    }
    let line = predict_line("y.npy", "test.npy", "bad") + " --solver cg --time 3";
    let err = common::failure_of(&mut entk_line(d, &line));
    assert!(err.contains("--solver cg"));
}
