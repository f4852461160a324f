//! The real `entk` binary on hostile `.npy` files (issue #16, items 3 and 10): refused at once
//! with one line that names the file and the problem; integer labels accepted by `predict`.

use std::time::Instant;

use ndarray::{array, Array2, Array4};
use ndarray_npy::{read_npy, write_npy};

mod common;
#[path = "../../datasets/tests/common/npy_fixture.rs"]
mod npy_fixture;

const CNN: &str = r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "global_avg_pool"}, {"type": "dense"}]}"#;

use common::{failure_line, run_ok};
use npy_fixture::npy_bytes;

fn input() -> Array4<f64> {
    Array4::from_shape_fn((3, 5, 5, 1), |(b, h, w, _)| {
        (0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin()
    })
}

#[test]
fn a_192_byte_npy_that_claims_1e12_values_is_refused_in_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("arch.json"), CNN).unwrap();
    for descr in ["<f8", "<i8"] {
        let bytes = npy_bytes(descr, "(1000000000000,)", false, &[0u8; 64]);
        assert_eq!(bytes.len(), 192);
        std::fs::write(d.join("bomb.npy"), bytes).unwrap();
        let start = Instant::now();
        let error = failure_line(d, "kernel --arch arch.json --x1 bomb.npy --out o");
        // The process start dominates; an attempted 8 TB allocation would abort instead.
        assert!(start.elapsed().as_secs_f64() < 10.0);
        assert!(error.contains("bomb.npy"), "{error}");
        match descr {
            "<f8" => assert!(
                error.contains("truncated data") && error.contains("8000000000000"),
                "{error}"
            ),
            _ => assert!(
                error.contains("int64") && !error.contains("String("),
                "{error}"
            ),
        }
    }
    // A header cut short says what is truncated and the sizes, not "failed to fill whole
    // buffer"; a malformed header dict is one line.
    std::fs::write(
        d.join("cut.npy"),
        &npy_bytes("<f8", "(2,)", false, &[])[..30],
    )
    .unwrap();
    let error = failure_line(d, "kernel --arch arch.json --x1 cut.npy --out o");
    assert!(
        error.contains("truncated header") && error.contains("30") && error.contains("128"),
        "{error}"
    );
    std::fs::write(d.join("dict.npy"), npy_bytes("<f8", "(2,", false, &[0; 16])).unwrap();
    let error = failure_line(d, "kernel --arch arch.json --x1 dict.npy --out o");
    assert!(error.contains("invalid header"), "{error}");
}

#[test]
fn predict_accepts_integer_labels_exactly_as_their_float_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("arch.json"), CNN).unwrap();
    write_npy(d.join("x.npy"), &input()).unwrap();
    write_npy(d.join("y_f64.npy"), &array![[1.0], [-1.0], [3.0]]).unwrap();
    write_npy(d.join("y_i64.npy"), &array![[1i64], [-1], [3]]).unwrap();
    write_npy(d.join("y_u8.npy"), &array![1u8, 255, 3]).unwrap();
    let run = |labels: &str, out: &str| {
        let predict = "predict --arch arch.json --train x.npy --test x.npy";
        run_ok(d, &format!("{predict} --labels {labels} --out {out}"));
        read_npy::<_, Array2<f64>>(d.join(out).join("ntk_mean.npy")).unwrap()
    };
    let float = run("y_f64.npy", "pf");
    let integer = run("y_i64.npy", "pi");
    assert_eq!(float, integer);
    // uint8 labels (MedMNIST's type) read as their values: 255 stays 255.
    let bytes = run("y_u8.npy", "pu");
    assert!((bytes[[1, 0]] - 255.0).abs() < 1e-6 * 255.0, "{bytes}");
    // Integers f64 cannot hold exactly are refused, by position.
    write_npy(d.join("y_big.npy"), &array![[1i64], [(1 << 53) + 1], [0]]).unwrap();
    let error = failure_line(
        d,
        "predict --arch arch.json --train x.npy --labels y_big.npy --test x.npy --out pb",
    );
    assert!(
        error.contains("flat index 1") && error.contains("exactly"),
        "{error}"
    );
}
