//! `examples/custom_group.rs` keeps working: its logic, run here, registers `c2t` from outside
//! the crates, passes the checker bundle, satisfies the augmentation theorem to rounding and
//! differs clearly from the plain CNN (issue #8).

#[path = "../examples/custom_group.rs"]
mod custom_group;

#[test]
fn the_custom_group_example_passes_its_own_criteria() {
    let outcome = custom_group::run().expect("the example runs");
    println!("{}", outcome.json());
    assert!(outcome.laws_passed);
    assert!(
        outcome.augmentation_max_abs_err <= 1e-12,
        "{}",
        outcome.json()
    );
    assert!(
        outcome.cnn_vs_gcnn_max_abs_diff >= 1e-6,
        "{}",
        outcome.json()
    );
    let line = outcome.json();
    assert!(
        line.starts_with(r#"{"group": "c2t", "laws_passed": true, "augmentation_max_abs_err": "#)
    );
    assert_eq!(line.lines().count(), 1);
}

/// Runs the `entk` command line (library half) on `args` with `registry`: exit status,
/// stdout, stderr.
fn entk(
    registry: &entk::groups::GroupRegistry,
    args: &[&str],
) -> (std::process::ExitCode, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("entk").chain(args.iter().copied());
    let code = entk_cli::run_with_registry(argv, registry, &mut out, &mut err);
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (code, text(out), text(err))
}

/// A downstream binary reuses the whole CLI with its registry: `verify-group c2t` and
/// `kernel` on a spec naming `c2t` work through `entk_cli::run_with_registry`, and the Gram
/// matrices it writes are the GCNN's; the built-in registry refuses the name in both.
#[test]
fn the_custom_group_runs_through_the_whole_cli() {
    use std::process::ExitCode;
    let mut registry = entk::reps::default_registry();
    registry
        .register(entk::reps::planar_entry(custom_group::DiagonalReflection).unwrap())
        .unwrap();

    // verify-group c2t: the checker bundle as a JSON report.
    let (code, out, err) = entk(&registry, &["verify-group", "c2t"]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(report["group"], "c2t");
    assert_eq!(report["passed"], true);
    let checks = report["checks"].as_array().expect("checks");
    assert!(checks.len() >= 5, "{out}");
    assert!(checks
        .iter()
        .any(|c| c["name"].as_str().is_some_and(|n| n.contains("plane"))));

    // kernel with the example's spec, on 4 random 6×6 two-channel images.
    let dir = std::env::temp_dir().join(format!("entk-c2t-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (spec, x1, out_dir) = (dir.join("c2t.json"), dir.join("x1.npy"), dir.join("out"));
    std::fs::write(&spec, custom_group::GCNN).unwrap();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(21);
    let images = ndarray::Array4::from_shape_fn((4, 6, 6, 2), |_| {
        rand::Rng::random_range(&mut rng, -1.0..1.0)
    });
    entk_cli::npy::write_array(&x1, &images).unwrap();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let kernel_args = [
        "kernel".to_string(),
        "--arch".into(),
        path(&spec),
        "--x1".into(),
        path(&x1),
        "--out".into(),
        path(&out_dir),
        "--threads".into(),
        "1".into(),
    ];
    let kernel_args: Vec<&str> = kernel_args.iter().map(String::as_str).collect();
    let (code, out, err) = entk(&registry, &kernel_args);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("nngp.npy and ntk.npy (4×4)"), "{out}");
    let expected = entk::ntk::Network::from_json_in(custom_group::GCNN, &registry)
        .unwrap()
        .gram(images.view(), None, &entk::ntk::GramOptions::default())
        .unwrap();
    for (file, want) in [("nngp.npy", &expected.nngp), ("ntk.npy", &expected.ntk)] {
        let got = entk_cli::npy::read_array(&out_dir.join(file)).unwrap();
        assert_eq!(got.shape(), &[4, 4]);
        let err = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs() / b.abs().max(1e-300))
            .fold(0.0, f64::max);
        assert!(err <= 1e-12, "{file}: relative error {err:e}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    assert!(report["plan"].to_string().contains("c2t"), "{report}");

    // Another registry that gives the name `c2t` to another group of order 2 (the mirror
    // d1): its tiles are not those of the same --out, since stores record each group by
    // structure. Refused with one line naming the difference; the result is left alone.
    let mut other = entk::reps::default_registry();
    other
        .register(other.get("d1").unwrap().named("c2t"))
        .unwrap();
    let before = std::fs::read(out_dir.join("ntk.npy")).unwrap();
    let (code, _, err) = entk(&other, &kernel_args);
    assert_eq!(code, ExitCode::FAILURE, "{err}");
    assert!(
        err.contains("another structure") && err.contains("c2t") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(std::fs::read(out_dir.join("ntk.npy")).unwrap(), before);

    // The built-in registry does not know the name: one-line errors, no output files.
    let builtin = entk::reps::default_registry();
    let (code, out, err) = entk(&builtin, &["verify-group", "c2t"]);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(
        out.is_empty() && err.contains("c2t") && err.lines().count() == 1,
        "{err}"
    );
    let fresh = dir.join("fresh");
    let mut refused = kernel_args.clone();
    let fresh_path = path(&fresh);
    *refused.last_mut().unwrap() = "1";
    refused[6] = &fresh_path;
    let (code, _, err) = entk(&builtin, &refused);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(err.contains("c2t") && err.lines().count() == 1, "{err}");
    assert!(!fresh.join("ntk.npy").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
