//! The action checks of the checker bundle can fail: a wrong `plane_matrix` (not a
//! homomorphism, not orthogonal, a false lattice claim) or a wrong sphere rotation (not a
//! homomorphism, not faithful) is caught, with the right check named.

use entk_groups::laws::{self, check_plane_action, check_sphere_action, LawCheck};
use entk_groups::{GroupStructure, Rotation};
use nalgebra::Matrix2;

#[path = "support/test_group.rs"]
mod test_group;
use test_group::TestGroup;

/// Z₂ = {e, s} acting on the plane by the transpose and on the sphere by the half turn about z.
fn transpose() -> TestGroup {
    TestGroup {
        rotations: vec![
            Rotation::identity(),
            Rotation::about_z(std::f64::consts::PI),
        ],
        ..TestGroup::z2_on_plane("z2", Matrix2::new(0.0, 1.0, 1.0, 0.0))
    }
}

use laws::failures as failed;

/// Panics unless each check named in `fail` failed and none named in `pass` did.
#[track_caller]
fn assert_verdicts(checks: &[LawCheck], fail: &[&str], pass: &[&str]) {
    let failures = failed(checks);
    for name in fail {
        assert!(
            failures.iter().any(|f| f == name),
            "{name} should fail: {failures:?}"
        );
    }
    for name in pass {
        assert!(
            !failures.iter().any(|f| f == name),
            "{name} should pass: {failures:?}"
        );
    }
}

#[test]
fn a_correct_action_passes_every_check() {
    assert_eq!(
        failed(&check_plane_action(&transpose())),
        Vec::<String>::new()
    );
    assert_eq!(
        failed(&check_sphere_action(&transpose())),
        Vec::<String>::new()
    );
    let names: Vec<String> = check_plane_action(&transpose())
        .into_iter()
        .map(|c| c.name)
        .collect();
    for expected in [
        "plane_orthogonality_err",
        "plane_homomorphism_err",
        "pixel_lattice_err",
        "pixel_resampling_homomorphism_err",
        "roto_translation_associativity_err",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}

#[test]
fn a_plane_matrix_that_is_not_a_homomorphism_fails() {
    // The quarter turn squares to the half turn, not to the identity that s² = e needs.
    let g = TestGroup {
        plane: vec![Matrix2::identity(), Matrix2::new(0.0, -1.0, 1.0, 0.0)],
        ..transpose()
    };
    assert_verdicts(
        &check_plane_action(&g),
        &["plane_homomorphism_err"],
        &["plane_orthogonality_err"],
    );
}

#[test]
fn a_plane_matrix_that_is_not_orthogonal_fails() {
    let g = TestGroup {
        plane: vec![Matrix2::identity(), Matrix2::new(-2.0, 0.0, 0.0, -0.5)],
        ..transpose()
    };
    assert_verdicts(&check_plane_action(&g), &["plane_orthogonality_err"], &[]);
}

#[test]
fn a_false_lattice_claim_fails() {
    // A reflection across the 22.5° line is an orthogonal involution, but not on the lattice.
    let (s, c) = (std::f64::consts::FRAC_PI_4).sin_cos();
    let g = TestGroup {
        plane: vec![Matrix2::identity(), Matrix2::new(c, s, s, -c)],
        claims_lattice: Some(true),
        ..transpose()
    };
    assert_verdicts(
        &check_plane_action(&g),
        &["pixel_lattice_err"],
        &["plane_homomorphism_err"],
    );
    // Without the claim the resampling defect is reported, not judged.
    let honest = TestGroup {
        claims_lattice: None,
        ..g
    };
    assert_eq!(failed(&check_plane_action(&honest)), Vec::<String>::new());
    let defect = check_plane_action(&honest)
        .into_iter()
        .find(|c| c.name == "pixel_resampling_homomorphism_err")
        .unwrap();
    assert!(
        defect.is_informational() && defect.max_error > 1e-3,
        "{defect:?}"
    );
}

#[test]
fn sphere_rotations_that_are_not_a_homomorphism_or_not_faithful_fail() {
    let quarter = TestGroup {
        rotations: vec![
            Rotation::identity(),
            Rotation::about_z(std::f64::consts::FRAC_PI_2),
        ],
        ..transpose()
    };
    assert_verdicts(
        &check_sphere_action(&quarter),
        &["sphere_homomorphism_err"],
        &[],
    );
    let trivial = TestGroup {
        rotations: vec![Rotation::identity(), Rotation::identity()],
        ..transpose()
    };
    let failures = failed(&check_sphere_action(&trivial));
    assert_eq!(failures, vec!["sphere_faithfulness_err".to_string()]);
}

#[test]
fn structures_with_one_table_but_different_actions_differ() {
    let t = GroupStructure::planar(&transpose()).unwrap();
    let half_turn = GroupStructure::planar(&TestGroup {
        plane: vec![Matrix2::identity(), -Matrix2::identity()],
        ..transpose()
    })
    .unwrap();
    assert_eq!(t.table(), half_turn.table());
    assert!(!t.same_structure(&half_turn));
    assert_ne!(t.fingerprint(), half_turn.fingerprint());
    let renamed = t.clone().renamed("other");
    assert!(t.same_structure(&renamed));
    assert_eq!(t.fingerprint(), renamed.fingerprint());
}
