//! `entk kernel` refuses what the engine refuses — a nonlinearity on non-Gaussian input, sizes
//! that cannot be allocated, a kernel that overflows — with a one-line error, a non-zero exit
//! and no result files.

use std::path::Path;

mod common;
use ndarray::Array4;
use ndarray_npy::write_npy;

fn kernel_err(dir: &Path, spec: &str, x: &Array4<f64>) -> String {
    std::fs::write(dir.join("arch.json"), spec).unwrap();
    write_npy(dir.join("x.npy"), x).unwrap();
    let text = common::failure_line(dir, "kernel --arch arch.json --x1 x.npy --out out");
    assert!(!dir.join("out/nngp.npy").exists() && !dir.join("out/ntk.npy").exists());
    text
}

fn images(scale: f64) -> Array4<f64> {
    Array4::from_shape_fn((2, 5, 5, 1), |(b, h, w, _)| {
        scale * ((0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin() + 0.1 * (h * w) as f64)
    })
}

#[test]
fn relu_after_relu_is_refused_naming_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let e = kernel_err(
        dir.path(),
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
            {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
        &images(1.0),
    );
    assert!(
        e.contains("layer 2 (`relu`)") && e.contains("not Gaussian"),
        "{e}"
    );
}

#[test]
fn group_names_that_used_to_crash_are_one_line_errors() {
    for group in [
        "é4",
        "c18446744073709551615",
        "c5000000000",
        "c1000000",
        "d1000",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!(
            r#"{{"layers": [{{"type": "lift_conv", "group": "{group}", "filter": 3}}, {{"type": "relu"}},
                {{"type": "group_pool"}}, {{"type": "dense"}}]}}"#
        );
        let e = kernel_err(dir.path(), &spec, &images(1.0));
        assert!(e.contains(group), "{group}: {e}");
    }
}

#[test]
fn an_overflowing_kernel_is_an_error_not_an_inf_result() {
    let dir = tempfile::tempdir().unwrap();
    let e = kernel_err(
        dir.path(),
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same", "w_std": 1e160, "b_std": 1},
            {"type": "relu"}, {"type": "conv", "filter": 3, "padding": "same", "w_std": 1e160},
            {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
        &images(1.0),
    );
    assert!(e.contains("numerical range") && e.contains("layer"), "{e}");
}

#[test]
fn zero_channel_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = kernel_err(
        dir.path(),
        r#"{"layers": [{"type": "conv", "filter": 3}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
        &Array4::zeros((2, 5, 5, 0)),
    );
    assert!(e.contains("channel"), "{e}");
}
