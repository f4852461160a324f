//! Irreps of the finite rotation groups O and I (found inside the restricted real Wigner
//! representations), and the checker bundles of the default registry's built-in groups.

use entk_groups::laws::{tolerance, LawCheck};
use entk_groups::{CheckOptions, FiniteGroup, FiniteRotationGroup, GroupKind};
use entk_reps::laws::{check_finite_fourier, check_irreps};
use entk_reps::{default_registry, irrep_checks, FiniteIrreps};
use num_complex::Complex64;

fn assert_all_pass(context: &str, checks: &[LawCheck]) {
    assert!(!checks.is_empty(), "{context}: no checks");
    if let Err(failed) = entk_groups::laws::all_passed(checks) {
        panic!("{context}: {failed}");
    }
}

#[test]
fn octahedral_irreps_have_the_dimensions_of_s4() {
    let o = FiniteRotationGroup::octahedral();
    let info = o.irreps();
    let names: Vec<&str> = info.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["dim1_l0", "dim3_l1", "dim2_l2", "dim3_l2", "dim1_l3"]
    );
    assert_all_pass("O irreps", &check_irreps(&o, tolerance::EXACT));
    // The 3-dimensional irrep from l = 1 has the character of the rotation matrices.
    for g in 0..o.order() {
        let chi = o.irrep_matrix(1, &g).trace();
        assert!((chi.re - o.rotation_of(g).matrix().trace()).abs() < 1e-13 && chi.im == 0.0);
    }
}

#[test]
fn icosahedral_irreps_have_the_dimensions_of_a5() {
    let i = FiniteRotationGroup::icosahedral();
    let mut dims: Vec<usize> = i.irreps().iter().map(|r| r.dim).collect();
    dims.sort();
    assert_eq!(dims, [1, 3, 3, 4, 5]);
    assert_all_pass("I irreps", &check_irreps(&i, tolerance::EXACT));
    let f: Vec<Vec<Complex64>> = (0..2)
        .map(|s| {
            (0..60)
                .map(|g| Complex64::new((g as f64 * 0.37 + s as f64).sin(), 0.1))
                .collect()
        })
        .collect();
    assert_all_pass("I Fourier", &check_finite_fourier(&i, &f, tolerance::EXACT));
}

#[test]
fn irreps_of_a_group_with_complex_irreps_are_reported_incomplete_not_wrong() {
    // C3 about z: its two non-trivial irreps are complex, so no real eigenspace of the
    // restricted Wigner matrices is C-irreducible; the list stays incomplete and says so.
    let c3 = FiniteRotationGroup::generated_by(
        "c3z",
        &[entk_groups::Rotation::about_z(
            2.0 * std::f64::consts::PI / 3.0,
        )],
    )
    .unwrap();
    let checks = irrep_checks(&c3, 1);
    let dim_sum = checks
        .iter()
        .find(|c| c.name == "dimension_sum_err")
        .unwrap();
    assert!(!dim_sum.passed(), "{dim_sum:?}");
    assert!(checks
        .iter()
        .filter(|c| c.name.starts_with("irrep_"))
        .all(|c| c.passed()));
}

#[test]
fn built_in_groups_pass_their_checker_bundles() {
    let registry = default_registry();
    assert_eq!(
        registry.known(),
        "c1, c2, ..., c1024 (cyclic), d1, ..., d512 (dihedral), so3, octahedral, icosahedral"
    );
    for name in ["c4", "c5", "d4", "d3", "octahedral", "icosahedral", "so3"] {
        let entry = registry.get(name).unwrap();
        let options = CheckOptions {
            bandlimit: 3,
            ..CheckOptions::default()
        };
        let checks = entry.run_checks(&options).unwrap();
        assert_all_pass(name, &checks);
        let has = |n: &str| checks.iter().any(|c| c.name == n);
        match entry.kind() {
            GroupKind::So3 => assert!(has("haar_volume_err") && has("s2_signal_roundtrip_err")),
            _ => {
                assert!(
                    has("associativity_err") && has("schur_orthogonality_err"),
                    "{name}"
                );
                assert!(
                    has("regular_homomorphism_err") && has("plancherel_err"),
                    "{name}"
                );
                let action = if entry.structure().unwrap().plane().is_some() {
                    "plane_homomorphism_err"
                } else {
                    "sphere_homomorphism_err"
                };
                assert!(has(action), "{name}: {action}");
            }
        }
    }
}
