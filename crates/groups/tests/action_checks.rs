//! The action checks of the checker bundle can fail: a wrong `plane_matrix` (not a
//! homomorphism, not orthogonal, a false lattice claim) or a wrong sphere rotation (not a
//! homomorphism, not faithful) is caught, with the right check named.

use entk_groups::laws::{self, check_plane_action, check_sphere_action};
use entk_groups::{
    FiniteGroup, Group, GroupStructure, PlanarPointGroup, Rotation, SphericalPointGroup,
};
use nalgebra::Matrix2;

/// Z₂ = {e, s} acting on the plane by `s ↦ matrix` and on the sphere by `s ↦ rotation`.
#[derive(Debug, Clone)]
struct Z2 {
    matrix: Matrix2<f64>,
    rotation: Rotation,
    claims_lattice: Option<bool>,
}

impl Group for Z2 {
    type Element = usize;
    fn name(&self) -> String {
        "z2".into()
    }
    fn identity(&self) -> usize {
        0
    }
    fn compose(&self, a: &usize, b: &usize) -> usize {
        a ^ b
    }
    fn inverse(&self, a: &usize) -> usize {
        *a
    }
    fn distance(&self, a: &usize, b: &usize) -> f64 {
        f64::from(u8::from(a != b))
    }
    fn testing_elements(&self) -> Vec<usize> {
        vec![0, 1]
    }
}

impl FiniteGroup for Z2 {
    fn order(&self) -> usize {
        2
    }
    fn element(&self, i: usize) -> usize {
        i
    }
    fn index_of(&self, e: &usize) -> usize {
        *e
    }
}

impl PlanarPointGroup for Z2 {
    fn plane_matrix(&self, g: &usize) -> Matrix2<f64> {
        if *g == 0 {
            Matrix2::identity()
        } else {
            self.matrix
        }
    }
    fn preserves_pixel_lattice(&self) -> bool {
        self.claims_lattice
            .unwrap_or_else(|| entk_groups::plane::acts_exactly_on_pixels(self))
    }
}

impl SphericalPointGroup for Z2 {
    fn rotation(&self, g: &usize) -> Rotation {
        if *g == 0 {
            Rotation::identity()
        } else {
            self.rotation
        }
    }
}

fn transpose() -> Z2 {
    Z2 {
        matrix: Matrix2::new(0.0, 1.0, 1.0, 0.0),
        rotation: Rotation::about_z(std::f64::consts::PI),
        claims_lattice: None,
    }
}

use laws::failures as failed;

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
    let g = Z2 {
        matrix: Matrix2::new(0.0, -1.0, 1.0, 0.0),
        ..transpose()
    };
    let failures = failed(&check_plane_action(&g));
    assert!(
        failures.contains(&"plane_homomorphism_err".to_string()),
        "{failures:?}"
    );
    assert!(
        !failures.contains(&"plane_orthogonality_err".to_string()),
        "{failures:?}"
    );
}

#[test]
fn a_plane_matrix_that_is_not_orthogonal_fails() {
    let g = Z2 {
        matrix: Matrix2::new(-2.0, 0.0, 0.0, -0.5),
        ..transpose()
    };
    let failures = failed(&check_plane_action(&g));
    assert!(
        failures.contains(&"plane_orthogonality_err".to_string()),
        "{failures:?}"
    );
}

#[test]
fn a_false_lattice_claim_fails() {
    // A reflection across the 22.5° line is an orthogonal involution, but not on the lattice.
    let (s, c) = (std::f64::consts::FRAC_PI_4).sin_cos();
    let g = Z2 {
        matrix: Matrix2::new(c, s, s, -c),
        claims_lattice: Some(true),
        ..transpose()
    };
    let failures = failed(&check_plane_action(&g));
    assert!(
        failures.contains(&"pixel_lattice_err".to_string()),
        "{failures:?}"
    );
    assert!(
        !failures.contains(&"plane_homomorphism_err".to_string()),
        "{failures:?}"
    );
    // Without the claim the resampling defect is reported, not judged.
    let honest = Z2 {
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
    let quarter = Z2 {
        rotation: Rotation::about_z(std::f64::consts::FRAC_PI_2),
        ..transpose()
    };
    let failures = failed(&check_sphere_action(&quarter));
    assert!(
        failures.contains(&"sphere_homomorphism_err".to_string()),
        "{failures:?}"
    );
    let trivial = Z2 {
        rotation: Rotation::identity(),
        ..transpose()
    };
    let failures = failed(&check_sphere_action(&trivial));
    assert_eq!(failures, vec!["sphere_faithfulness_err".to_string()]);
}

#[test]
fn structures_with_one_table_but_different_actions_differ() {
    let t = GroupStructure::planar(&transpose()).unwrap();
    let half_turn = GroupStructure::planar(&Z2 {
        matrix: -Matrix2::identity(),
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
