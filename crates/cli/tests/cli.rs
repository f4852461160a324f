//! The real `entk` binary: help, bad input and small runs of every subcommand.

mod common;

use common::{entk, entk_words, failure_line, failure_of, named, one_line_failure_of, run_ok};

/// The JSON report `entk ARGS` prints on success.
fn json_report(args: &[&str]) -> serde_json::Value {
    let out = entk()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn every_subcommand_prints_help() {
    for sub in [
        vec!["--help"],
        vec!["verify-group", "--help"],
        vec!["kernel", "--help"],
        vec!["predict", "--help"],
    ] {
        entk().args(&sub).assert().success();
    }
}

#[test]
fn verify_group_c4_prints_a_passing_json_report_with_err_fields() {
    let report = json_report(&["verify-group", "c4"]);
    assert_eq!(report["group"], "c4");
    assert_eq!(report["passed"], true);
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.len() > 10);
    for check in checks {
        assert!(check["name"].as_str().unwrap().contains("err"));
        assert!(check["max_err"].as_f64().unwrap() <= 1e-12);
    }
}

#[test]
fn verify_group_so3_passes_at_a_given_bandlimit() {
    let report = json_report(&["verify-group", "so3", "--bandlimit", "4"]);
    assert_eq!(report["bandlimit"], 4);
    assert_eq!(report["passed"], true);
}

#[test]
fn verify_group_checks_the_finite_rotation_groups_with_their_irreps() {
    for (name, order_checks) in [("octahedral", 24), ("icosahedral", 60)] {
        let report = json_report(&["verify-group", name]);
        assert_eq!(report["group"], name);
        assert_eq!(report["passed"], true);
        assert!(report["bandlimit"].is_null());
        let names: Vec<&str> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        for n in [
            "associativity_err",
            "sphere_homomorphism_err",
            "sphere_faithfulness_err",
            "schur_orthogonality_err",
            "dimension_sum_err",
            "regular_homomorphism_err",
        ] {
            assert!(
                names.contains(&n),
                "{name} ({order_checks}): {n} in {names:?}"
            );
        }
    }
}

#[test]
fn verify_group_c8_reports_the_resampling_defect_without_failing() {
    let report = json_report(&["verify-group", "c8"]);
    let defect = named(&report["checks"], "pixel_resampling_homomorphism_err");
    assert!(defect["max_err"].as_f64().unwrap() > 1e-3);
    assert!(defect["tolerance"].is_null());
}

#[test]
fn fails_with_a_one_line_error_listing_known_groups_for_an_unknown_name() {
    let stderr = one_line_failure_of(&mut entk_words("verify-group tetrahedral"));
    assert!(
        stderr.contains("unknown group `tetrahedral`")
            && stderr.contains("so3, octahedral, icosahedral"),
        "{stderr}"
    );
}

#[test]
fn fails_cleanly_for_zero_order_and_zero_bandlimit() {
    let stderr = failure_of(&mut entk_words("verify-group d0"));
    assert!(stderr.contains("n must be at least 1"));
    let stderr = failure_of(&mut entk_words("verify-group so3 --bandlimit 0"));
    assert!(stderr.contains("bandlimit"));
}

mod kernel_and_predict {
    use super::{entk, failure_line, run_ok};
    use crate::common::C4_GCNN;
    use ndarray::{Array2, Array4};
    use ndarray_npy::{read_npy, write_npy};
    use std::path::Path;

    /// docs/theory.md#golden-values "input 1".
    fn golden_input() -> Array4<f64> {
        Array4::from_shape_fn((2, 5, 5, 1), |(b, h, w, _)| {
            (0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin() + 0.1 * (h * w) as f64
        })
    }

    fn setup(dir: &Path) {
        std::fs::write(dir.join("arch.json"), C4_GCNN).unwrap();
        write_npy(dir.join("x.npy"), &golden_input()).unwrap();
        write_npy(dir.join("y.npy"), &ndarray::array![[1.0], [-1.0]]).unwrap();
    }

    #[test]
    fn kernel_and_predict_print_help() {
        entk().args(["kernel", "--help"]).assert().success();
        entk().args(["predict", "--help"]).assert().success();
    }

    #[test]
    fn kernel_reproduces_the_c4_golden_values_and_writes_a_report() {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let line = "kernel --arch arch.json --x1 x.npy --out out --threads 1";
        run_ok(dir.path(), line);
        let nngp: Array2<f64> = read_npy(dir.path().join("out/nngp.npy")).unwrap();
        let ntk: Array2<f64> = read_npy(dir.path().join("out/ntk.npy")).unwrap();
        assert!(
            (nngp[[0, 1]] - 0.0542393893).abs() < 1e-10
                && (nngp[[1, 0]] - nngp[[0, 1]]).abs() == 0.0
        );
        assert!((ntk[[1, 1]] - 0.0953544407).abs() < 1e-10);
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("out/report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(report["output_shape"], serde_json::json!([2, 2]));
        assert!(report["seconds"].as_f64().unwrap() >= 0.0);
        assert!(report["peak_bytes_estimate"].as_u64().unwrap() > 0);
    }

    #[test]
    fn predict_interpolates_the_training_labels_at_infinite_time() {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let predict = "predict --arch arch.json --train x.npy --labels y.npy --test x.npy";
        run_ok(dir.path(), &format!("{predict} --out p"));
        let mean: Array2<f64> = read_npy(dir.path().join("p/ntk_mean.npy")).unwrap();
        assert!(
            (mean[[0, 0]] - 1.0).abs() < 1e-8 && (mean[[1, 0]] + 1.0).abs() < 1e-8,
            "{mean}"
        );
        run_ok(dir.path(), &format!("{predict} --time 0 --out p0"));
        let mean: Array2<f64> = read_npy(dir.path().join("p0/nngp_mean.npy")).unwrap();
        assert_eq!(mean[[0, 0]], 0.0);
    }

    #[test]
    fn bad_inputs_get_one_line_errors_naming_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        setup(d);
        std::fs::write(
            d.join("typo.json"),
            r#"{"layers": [{"type": "lift_conv", "group": "c4", "filtr": 3}]}"#,
        )
        .unwrap();
        std::fs::write(d.join("even.json"), r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": 4}, {"type": "group_pool"}, {"type": "dense"}]}"#).unwrap();
        let mut nan = golden_input();
        nan[[1, 2, 3, 0]] = f64::NAN;
        write_npy(d.join("nan.npy"), &nan).unwrap();
        write_npy(d.join("ints.npy"), &golden_input().mapv(|v| v as i64)).unwrap();
        let bytes = std::fs::read(d.join("x.npy")).unwrap();
        std::fs::write(d.join("short.npy"), &bytes[..bytes.len() - 16]).unwrap();
        let two_channels = Array4::<f64>::zeros((2, 5, 5, 2));
        write_npy(d.join("two_channels.npy"), &two_channels).unwrap();
        write_npy(d.join("y3.npy"), &ndarray::array![[1.0], [2.0], [3.0]]).unwrap();
        // (arguments, what the one-line error must name)
        let kernel = |arch: &str, x1: &str| format!("kernel --arch {arch} --x1 {x1} --out o");
        let cases = [
            (kernel("typo.json", "x.npy"), "filtr"),
            (kernel("even.json", "x.npy"), "odd"),
            (kernel("arch.json", "nan.npy"), "non-finite"),
            (kernel("arch.json", "ints.npy"), "dtype"),
            (kernel("arch.json", "short.npy"), "truncated"),
            (
                kernel("arch.json", "x.npy --x2 two_channels.npy"),
                "channels",
            ),
            (kernel("missing.json", "x.npy"), "missing.json"),
            (
                "predict --arch arch.json --train x.npy --labels y3.npy --test x.npy --out p"
                    .into(),
                "--labels",
            ),
        ];
        for (line, named) in cases {
            let e = failure_line(d, &line);
            assert!(e.contains(named), "`entk {line}` should name {named}: {e}");
        }
    }
}

mod sphere_inputs {
    use super::run_ok;
    use crate::common::spec_dir;
    use nalgebra::Vector3;
    use ndarray::{Array2, Array4};
    use ndarray_npy::{read_npy, write_npy};

    /// A function on the sphere.
    type OnSphere = fn(Vector3<f64>) -> f64;

    /// docs/theory.md#golden-values "input 2": `INPUT_2[b][c]` is channel `c` of input `b`, a
    /// polynomial on the sphere.
    const INPUT_2: [[OnSphere; 2]; 2] = [
        [|u| 1.0 + u.z + 0.5 * u.x * u.y, |u| u.x - 0.3 * u.z * u.z],
        [|u| 0.2 + u.y + u.x * u.z, |u| 0.5 * u.y * u.y - u.x],
    ];

    /// [`INPUT_2`] on the L = 4 Driscoll–Healy grid, `(2, 8, 7, 2)`, each read at `at(u)` for
    /// the grid point `u`.
    fn sphere_input(at: impl Fn(Vector3<f64>) -> Vector3<f64>) -> Array4<f64> {
        let grid = entk_groups::DriscollHealyGrid::new(4).unwrap();
        Array4::from_shape_fn((2, 8, 7, 2), |(b, j, k, c)| {
            INPUT_2[b][c](at(grid.point(j, k)))
        })
    }

    /// docs/theory.md#golden-values "input 2" on the L = 4 Driscoll–Healy grid, `(2, 8, 7, 2)`.
    pub(super) fn golden_sphere_input() -> Array4<f64> {
        sphere_input(|u| u)
    }

    /// The SO(3) NTK golden values of docs/theory.md#golden-values (input 2).
    #[track_caller]
    pub(super) fn assert_so3_goldens(ntk: &Array2<f64>) {
        assert!(
            (ntk[[0, 0]] - 0.5442469202).abs() < 1e-9 && (ntk[[0, 1]] - 0.1254721109).abs() < 1e-9,
            "{ntk}"
        );
    }

    #[test]
    fn kernel_accepts_s2_signals_and_reproduces_the_so3_golden_values() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("so3.json"),
            r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 2}, {"type": "erf"},
                {"type": "so3_conv", "bandlimit_out": 2}, {"type": "erf"}, {"type": "so3_pool"}, {"type": "dense"}]}"#,
        )
        .unwrap();
        write_npy(d.join("s2.npy"), &golden_sphere_input()).unwrap();
        run_ok(d, "kernel --arch so3.json --x1 s2.npy --out o");
        let ntk: Array2<f64> = read_npy(d.join("o/ntk.npy")).unwrap();
        assert_so3_goldens(&ntk);
        write_npy(d.join("bad.npy"), &Array4::<f64>::zeros((2, 8, 8, 2))).unwrap();
        let out = crate::common::entk_line(d, "kernel --arch so3.json --x1 bad.npy --out o2")
            .assert()
            .failure();
        let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains("Driscoll–Healy"), "{stderr}");
    }

    /// Issue #8's spec: S² signals lifted onto the octahedral group O.
    const OCTAHEDRAL_NET: &str = r#"{"layers": [
        {"type": "s2_lift_conv", "group": "octahedral", "bandlimit_out": 3},
        {"type": "relu"},
        {"type": "group_conv", "group": "octahedral", "group_support": "all"},
        {"type": "relu"},
        {"type": "group_pool"},
        {"type": "dense"}]}"#;

    #[test]
    fn kernel_runs_the_octahedral_spec_on_s2_signals_and_is_invariant_under_o() {
        let dir = spec_dir("o.json", OCTAHEDRAL_NET);
        let d = dir.path();
        let x = golden_sphere_input();
        // The inputs turned by a quarter turn about x, an element of O: (x, y, z) ↦ (x, −z, y),
        // so x_rot(u) = x(R⁻¹u) with R⁻¹(x, y, z) = (x, z, −y); polynomials rotate exactly.
        let rotated = sphere_input(|p| Vector3::new(p.x, p.z, -p.y));
        write_npy(d.join("s2.npy"), &x).unwrap();
        write_npy(d.join("rot.npy"), &rotated).unwrap();
        for (out, x1) in [("plain", "s2.npy"), ("rotated", "rot.npy")] {
            run_ok(
                d,
                &format!("kernel --arch o.json --x1 {x1} --x2 s2.npy --out {out}"),
            );
        }
        let net = entk_ntk::Network::from_json(OCTAHEDRAL_NET).unwrap();
        let g = net
            .gram(x.view(), Some(x.view()), &entk_ntk::GramOptions::default())
            .unwrap();
        for kernel in ["nngp", "ntk"] {
            let plain: Array2<f64> = read_npy(d.join(format!("plain/{kernel}.npy"))).unwrap();
            let turned: Array2<f64> = read_npy(d.join(format!("rotated/{kernel}.npy"))).unwrap();
            assert_eq!(plain.dim(), (2, 2));
            let library = if kernel == "nngp" { &g.nngp } else { &g.ntk };
            assert_eq!(&plain, library, "entk kernel = Network::gram, bit for bit");
            let worst = plain
                .iter()
                .zip(&turned)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            // Off-diagonal entries pair different inputs; the diagonal pairs an input with its
            // own turned copy, where ReLU's NTK is ill-conditioned (docs/theory.md#data-augmentation-and-group-convolution): ≈1e-10.
            assert!(worst < 1e-9, "{kernel}: {worst:e}");
            assert!((plain[[0, 1]] - turned[[0, 1]]).abs() < 1e-12, "{kernel}");
        }
    }
}

mod so3_signal_inputs {
    use super::{failure_line, run_ok};
    use crate::common::spec_dir;
    use entk_ntk::{GramOptions, Network};
    use ndarray::{Array2, Array4, Array5, ArrayD, IxDyn};
    use ndarray_npy::{read_npy, write_npy};

    const SO3_NET: &str = r#"{"layers": [{"type": "so3_conv", "bandlimit_out": 2}, {"type": "erf"},
        {"type": "so3_conv", "bandlimit_out": 2}, {"type": "erf"}, {"type": "so3_pool"}, {"type": "dense"}]}"#;

    /// docs/theory.md#golden-values "input 2" lifted by the north-pole delta, `x(R) = f(R e_z)`: constant in γ,
    /// `(2, 7, 8, 7, 2)` on the L = 4 grid `(γ, β, α)`, whose `(β, α)` slice is the S² grid.
    fn golden_so3_input() -> Array5<f64> {
        let f = super::sphere_inputs::golden_sphere_input();
        Array5::from_shape_fn((2, 7, 8, 7, 2), |(b, _, j, k, c)| f[[b, j, k, c]])
    }

    #[test]
    fn kernel_and_predict_accept_5d_so3_signals() {
        let dir = spec_dir("so3.json", SO3_NET);
        let d = dir.path();
        let x = golden_so3_input();
        write_npy(d.join("x.npy"), &x).unwrap();
        run_ok(d, "kernel --arch so3.json --x1 x.npy --out o");
        let ntk: Array2<f64> = read_npy(d.join("o/ntk.npy")).unwrap();
        let nngp: Array2<f64> = read_npy(d.join("o/nngp.npy")).unwrap();
        // The S² golden values of docs/theory.md#golden-values, carried over by the delta lift.
        super::sphere_inputs::assert_so3_goldens(&ntk);
        assert!((nngp[[1, 1]] - 0.0214151883).abs() < 1e-9, "{nngp}");
        let engine = Network::from_json(SO3_NET)
            .unwrap()
            .gram_so3(x.view(), None, &GramOptions::default())
            .unwrap();
        assert_eq!(
            ntk, engine.ntk,
            "entk kernel = Network::gram_so3, bit for bit"
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("o/report.json")).unwrap())
                .unwrap();
        assert_eq!(report["x1_shape"], serde_json::json!([2, 7, 8, 7, 2]));

        write_npy(d.join("y.npy"), &ndarray::array![[1.0], [-1.0]]).unwrap();
        run_ok(
            d,
            "predict --arch so3.json --train x.npy --labels y.npy --test x.npy --out p",
        );
        let mean: Array2<f64> = read_npy(d.join("p/ntk_mean.npy")).unwrap();
        assert!(
            (mean[[0, 0]] - 1.0).abs() < 1e-8 && (mean[[1, 0]] + 1.0).abs() < 1e-8,
            "{mean}"
        );
    }

    #[test]
    fn bad_so3_signal_inputs_get_one_line_errors() {
        let dir = spec_dir("so3.json", SO3_NET);
        let d = dir.path();
        std::fs::write(
            d.join("lift.json"),
            r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 2}, {"type": "so3_pool"}, {"type": "dense"}]}"#,
        )
        .unwrap();
        write_npy(d.join("x.npy"), &golden_so3_input()).unwrap();
        write_npy(d.join("skew.npy"), &Array5::<f64>::zeros((2, 7, 8, 6, 2))).unwrap();
        write_npy(d.join("s2.npy"), &Array4::<f64>::zeros((2, 8, 7, 2))).unwrap();
        write_npy(
            d.join("six.npy"),
            &ArrayD::<f64>::zeros(IxDyn(&[1, 3, 4, 3, 1, 1])),
        )
        .unwrap();
        let kernel = |arch: &str, x1: &str, x2: Option<&str>| {
            let x2 = x2.map_or(String::new(), |x2| format!(" --x2 {x2}"));
            failure_line(d, &format!("kernel --arch {arch} --x1 {x1} --out o{x2}"))
        };
        let e = kernel("so3.json", "skew.npy", None);
        assert!(
            e.contains("γ and α axes differ") && e.contains("(N, 2L−1, 2L, 2L−1, C)"),
            "{e}"
        );
        let e = kernel("so3.json", "x.npy", Some("s2.npy"));
        assert!(e.contains("both must be of one kind"), "{e}");
        let e = kernel("so3.json", "six.npy", None);
        assert!(e.contains("5 dimensions (N, 2L−1, 2L, 2L−1, C)"), "{e}");
        let e = kernel("lift.json", "x.npy", None);
        assert!(e.contains("must go straight into so3_conv"), "{e}");
    }
}
