//! Sets through the real binary: `entk kernel` and `entk predict` on padded arrays with
//! `--x1-counts` (docs/spec.md "Sets"), equal to the Rust API bit for bit for any tile size, and
//! one-line errors for malformed sets.

mod common;
use common::{counts, failure_line, padded, read_kernels, run_ok, set_dir, set_grams, C1};
use ndarray::{Array1, Array2, Array3, ArrayD};
use ndarray_npy::{read_npy, write_npy};

#[test]
fn kernel_on_padded_sets_equals_the_rust_api_bit_for_bit_for_any_tile() {
    let dir = set_dir();
    let d = dir.path();
    let (sym, cross) = set_grams();
    for (tile, threads) in [("1", "1"), ("3", "2"), ("100", "2")] {
        let base = "kernel --arch set.json --x1 x.npy --x1-counts xc.npy";
        let run = format!("--tile {tile} --threads {threads}");
        for (name, x2, api) in [
            ("sym", "", &sym),
            ("cross", "--x2 z.npy --x2-counts zc.npy", &cross),
        ] {
            let out = format!("{name}{tile}");
            run_ok(d, &format!("{base} {x2} --out {out} {run}"));
            let (nngp, ntk) = read_kernels(&d.join(&out));
            assert_eq!(nngp, api.nngp, "{name}, tile {tile}");
            assert_eq!(ntk, api.ntk, "{name}, tile {tile}");
        }
    }
    // The counts are part of the store's identity: other counts (here one more element, a zero
    // vector, in the last set) are refused, not reused.
    write_npy(d.join("xc2.npy"), &counts(&[1, 4, 2, 3, 4, 1, 3])).unwrap();
    let e = failure_line(
        d,
        "kernel --arch set.json --x1 x.npy --x1-counts xc2.npy --out sym3",
    );
    assert!(e.contains("x1 counts"), "{e}");
}

#[test]
fn predict_on_sets_interpolates_the_training_labels() {
    let dir = set_dir();
    let d = dir.path();
    let y: Array1<f64> = C1.iter().map(|&c| c as f64 * 0.5 - 1.0).collect();
    write_npy(d.join("y.npy"), &y).unwrap();
    run_ok(
        d,
        "predict --arch set.json --train x.npy --train-counts xc.npy --labels y.npy \
         --test x.npy --test-counts xc.npy --out p",
    );
    let mean: Array2<f64> = read_npy(d.join("p/ntk_mean.npy")).unwrap();
    for (p, t) in mean.column(0).iter().zip(&y) {
        assert!((p - t).abs() < 1e-6, "{p} vs {t}");
    }
}

#[test]
fn malformed_sets_are_one_line_errors() {
    let dir = set_dir();
    let d = dir.path();
    let kernel = |x: &str, xc: Option<&str>, extra: &[&str]| {
        let xc = xc.map_or(String::new(), |c| format!("--x1-counts {c}"));
        let extra = extra.join(" ");
        failure_line(
            d,
            &format!("kernel --arch set.json --x1 {x} --out o {xc} {extra}"),
        )
    };
    let write_counts = |name: &str, v: ArrayD<f64>| write_npy(d.join(name), &v).unwrap();

    let e = kernel("x.npy", None, &[]);
    assert!(e.contains("--x1-counts") && e.contains("deep_set"), "{e}");
    write_npy(d.join("big.npy"), &counts(&[1, 5, 2, 3, 4, 1, 2])).unwrap();
    let e = kernel("x.npy", Some("big.npy"), &[]);
    assert!(
        e.contains("set 1 has count 5 but only 4 element slots"),
        "{e}"
    );
    write_npy(
        d.join("neg.npy"),
        &Array1::from(vec![1i64, -2, 2, 3, 4, 1, 2]),
    )
    .unwrap();
    let e = kernel("x.npy", Some("neg.npy"), &[]);
    assert!(
        e.contains("non-negative integers") && e.contains("entry 1 is -2"),
        "{e}"
    );
    write_counts(
        "frac.npy",
        Array1::from(vec![1.0, 2.5, 2.0, 3.0, 4.0, 1.0, 2.0]).into_dyn(),
    );
    let e = kernel("x.npy", Some("frac.npy"), &[]);
    assert!(e.contains("entry 1 is 2.5"), "{e}");
    write_counts("flat.npy", Array2::<f64>::ones((7, 1)).into_dyn());
    let e = kernel("x.npy", Some("flat.npy"), &[]);
    assert!(e.contains("1-D"), "{e}");
    write_npy(d.join("few.npy"), &counts(&[1, 2])).unwrap();
    let e = kernel("x.npy", Some("few.npy"), &[]);
    assert!(e.contains("7 sets but 2 counts"), "{e}");
    // Set 2 claims one element but its second slot holds values: a wrong count.
    write_npy(d.join("short.npy"), &counts(&[1, 4, 1, 3, 4, 1, 2])).unwrap();
    let e = kernel("x.npy", Some("short.npy"), &[]);
    assert!(
        e.contains("set 2") && e.contains("padding slot 1") && e.contains("zero"),
        "{e}"
    );
    write_npy(
        d.join("img.npy"),
        &ndarray::Array4::<f64>::ones((7, 4, 3, 1)),
    )
    .unwrap();
    let e = kernel("img.npy", Some("xc.npy"), &[]);
    assert!(e.contains("(N, n_max, D)"), "{e}");
    // x2 elements of another size.
    write_npy(d.join("z2.npy"), &Array3::<f64>::ones((2, 4, 2))).unwrap();
    write_npy(d.join("z2c.npy"), &counts(&[4, 4])).unwrap();
    let e = kernel(
        "x.npy",
        Some("xc.npy"),
        &["--x2", "z2.npy", "--x2-counts", "z2c.npy"],
    );
    assert!(e.contains("x1 has 3 channels but x2 has 2"), "{e}");
    let e = kernel("x.npy", Some("xc.npy"), &["--x2-counts", "zc.npy"]);
    assert!(e.contains("--x2-counts without --x2"), "{e}");
    // Counts for a network that does not read sets.
    std::fs::write(
        d.join("mlp.json"),
        r#"{"layers": [{"type": "flatten"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    write_npy(
        d.join("im.npy"),
        &ndarray::Array4::<f64>::ones((2, 3, 3, 1)),
    )
    .unwrap();
    let e = failure_line(
        d,
        "kernel --arch mlp.json --x1 im.npy --x1-counts xc.npy --out o",
    );
    assert!(e.contains("does not start with deep_set"), "{e}");
    // A mean over an empty set.
    std::fs::write(
        d.join("mean.json"),
        r#"{"layers": [{"type": "deep_set", "reduce": "mean", "layers": [{"type": "dense"}]}]}"#,
    )
    .unwrap();
    write_npy(d.join("empty.npy"), &counts(&[1, 4, 0, 0, 0, 0, 0])).unwrap();
    write_npy(d.join("xe.npy"), &padded(&[1, 4, 0, 0, 0, 0, 0], 1.0)).unwrap();
    let e = failure_line(
        d,
        "kernel --arch mean.json --x1 xe.npy --x1-counts empty.npy --out o",
    );
    assert!(e.contains("empty") && e.contains("sum"), "{e}");
    // deep_set anywhere but first.
    std::fs::write(
        d.join("late.json"),
        r#"{"layers": [{"type": "dense"}, {"type": "deep_set", "layers": [{"type": "dense"}]}]}"#,
    )
    .unwrap();
    let e = failure_line(d, "kernel --arch late.json --x1 x.npy --out o");
    assert!(e.contains("first layer"), "{e}");
}
