//! Group axioms, numbering and action laws for every shipped group, plus checkers that must
//! reject deliberately broken groups.

use entk_groups::laws::{self, tolerance, LawCheck};
use entk_groups::{
    CompactGroup, CyclicGroup, DihedralGroup, FiniteGroup, FiniteGroupExt, Group, PixelTorus,
    Plane, RotoTranslation, Sphere, SO3,
};
use nalgebra::{Vector2, Vector3};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fixed so that failures reproduce; any value works.
const SEED: u64 = 0x5eed_0001;

fn assert_all_pass(context: &str, checks: &[LawCheck]) {
    if let Err(failed) = laws::all_passed(checks) {
        panic!("{context}: {failed}");
    }
}

fn plane_points() -> Vec<Vector2<f64>> {
    vec![
        Vector2::new(1.0, 0.0),
        Vector2::new(-0.3, 2.5),
        Vector2::new(0.0, 0.0),
        Vector2::new(4.0, -1.0),
    ]
}

#[test]
fn cyclic_and_dihedral_groups_satisfy_the_axioms_for_many_orders() {
    for n in 1..=12 {
        let c = CyclicGroup::new(n).unwrap();
        assert_all_pass(&c.name(), &laws::check_finite_group_all(&c));
        assert_all_pass(
            &c.name(),
            &laws::check_action_laws::<Plane, _>(&c, &c.elements(), &plane_points(), 1e-12),
        );
        let d = DihedralGroup::new(n).unwrap();
        assert_all_pass(&d.name(), &laws::check_finite_group_all(&d));
        assert_all_pass(
            &d.name(),
            &laws::check_action_laws::<Plane, _>(&d, &d.elements(), &plane_points(), 1e-12),
        );
        assert_eq!(d.order(), 2 * n);
    }
}

#[test]
fn dihedral_reflections_conjugate_rotations_to_their_inverses() {
    for n in 1..=9 {
        let d = DihedralGroup::new(n).unwrap();
        let s = d.reflection(0);
        for k in 0..n {
            let r = d.rotation(k);
            assert_eq!(d.compose(&d.compose(&s, &r), &s), d.inverse(&r));
        }
    }
}

#[test]
fn roto_translation_groups_satisfy_the_axioms_and_act_on_pixels() {
    for size in [1, 2, 3, 4, 5] {
        let c4 = RotoTranslation::new(CyclicGroup::new(4).unwrap(), size).unwrap();
        assert_all_pass(&c4.name(), &laws::check_finite_group_all(&c4));
        let pixels: Vec<[usize; 2]> = (0..size * size).map(|i| [i / size, i % size]).collect();
        assert_all_pass(
            &c4.name(),
            &laws::check_action_laws::<PixelTorus, _>(&c4, &c4.elements(), &pixels, 0.0),
        );
        let d4 = RotoTranslation::new(DihedralGroup::new(4).unwrap(), size).unwrap();
        assert_all_pass(&d4.name(), &laws::check_finite_group_all(&d4));
        assert_all_pass(
            &d4.name(),
            &laws::check_action_laws::<PixelTorus, _>(&d4, &d4.elements(), &pixels, 0.0),
        );
    }
}

#[test]
fn roto_translation_refuses_point_groups_that_do_not_preserve_pixels() {
    let err = RotoTranslation::new(CyclicGroup::new(8).unwrap(), 5).unwrap_err();
    assert!(err.to_string().contains("c8"), "{err}");
    assert!(RotoTranslation::new(CyclicGroup::new(4).unwrap(), 0).is_err());
}

#[test]
fn so3_satisfies_the_axioms_on_testing_and_haar_random_elements() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut elements = SO3.testing_elements();
    elements.extend((0..20).map(|_| SO3.sample_haar(&mut rng)));
    assert_all_pass(
        "so3",
        &laws::check_group_laws(&SO3, &elements, tolerance::EXACT),
    );
    let points = vec![
        Vector3::new(0.0, 0.0, 1.0),
        Vector3::new(0.6, 0.0, 0.8),
        Vector3::new(-0.48, 0.6, 0.64),
    ];
    assert_all_pass(
        "so3 on S²",
        &laws::check_action_laws::<Sphere, _>(&SO3, &elements, &points, tolerance::EXACT),
    );
}

#[path = "support/test_group.rs"]
mod test_group;
use test_group::TestGroup;

/// A "group" whose inverse is wrong (addition mod 5, every element its own inverse): the
/// checkers must notice.
fn broken_inverse() -> TestGroup {
    TestGroup::new("broken", 5, |a, b| (a + b) % 5, |a| a)
}

/// A non-associative operation (subtraction mod 5) with a lying index map.
fn not_associative() -> TestGroup {
    TestGroup {
        index_of: |e| (e + 1) % 5,
        ..TestGroup::new("subtraction", 5, |a, b| (a + 5 - b) % 5, |a| a)
    }
}

use laws::failures as failed;

#[test]
fn inverse_law_fails_for_broken_group() {
    assert_eq!(
        failed(&laws::check_finite_group_all(&broken_inverse())),
        vec!["inverse_err"]
    );
    let line = laws::all_passed(&laws::check_finite_group_all(&broken_inverse())).unwrap_err();
    assert!(
        line.starts_with("inverse_err = ") && line.contains(" exceeds "),
        "{line}"
    );
    assert_eq!(
        laws::all_passed(&laws::check_finite_group_all(&CyclicGroup::new(5).unwrap())),
        Ok(())
    );
}

#[test]
fn associativity_and_numbering_fail_for_subtraction() {
    let bad = failed(&laws::check_finite_group_all(&not_associative()));
    assert!(bad.contains(&"associativity_err".to_string()), "{bad:?}");
    assert!(bad.contains(&"identity_err".to_string()), "{bad:?}");
    assert!(bad.contains(&"index_roundtrip_err".to_string()), "{bad:?}");
}

#[test]
fn a_nan_error_never_passes() {
    assert!(!LawCheck::new("x_err", f64::NAN, 1.0).passed());
    assert!(laws::nan_max(0.0, f64::NAN).is_nan());
}

#[test]
fn zero_orders_are_errors_not_panics() {
    assert!(CyclicGroup::new(0)
        .unwrap_err()
        .to_string()
        .contains("n must be at least 1"));
    assert!(DihedralGroup::new(0).is_err());
    let c3 = CyclicGroup::new(3).unwrap();
    assert!(c3.try_element(3).is_err());
}

proptest! {
    #[test]
    fn power_laws_hold_in_cyclic_groups(n in 1usize..40, a in 0usize..40, j in -50i64..50, k in -50i64..50) {
        use entk_groups::GroupExt;
        let g = CyclicGroup::new(n).unwrap();
        let a = a % n;
        prop_assert_eq!(g.compose(&g.power(&a, j), &g.power(&a, k)), g.power(&a, j + k));
        prop_assert_eq!(g.power(&a, n as i64), 0);
    }

    #[test]
    fn dihedral_products_match_plane_matrices(n in 1usize..13, a in 0usize..26, b in 0usize..26) {
        use entk_groups::PlanarPointGroup;
        let d = DihedralGroup::new(n).unwrap();
        let (a, b) = (d.element(a % (2 * n)), d.element(b % (2 * n)));
        let product = d.plane_matrix(&d.compose(&a, &b));
        let matrices = d.plane_matrix(&a) * d.plane_matrix(&b);
        prop_assert!((product - matrices).amax() < 1e-12);
    }
}
