//! The built-in finite rotation groups O and I: order, orientation (the cube `[−1, 1]³` for O,
//! the icosahedron with vertices at the cyclic permutations of `(0, ±1, ±φ)` for I), exact
//! entries and the generic laws.

use entk_groups::laws::{check_finite_group_all, check_sphere_action, LawCheck};
use entk_groups::{
    FiniteGroup, FiniteGroupExt, FiniteRotationGroup, GroupError, Rotation, SphericalPointGroup,
    GOLDEN_RATIO,
};
use nalgebra::{Matrix3, Vector3};
use std::f64::consts::PI;

fn assert_all_pass(context: &str, checks: &[LawCheck]) {
    for c in checks {
        assert!(c.passed(), "{context}: {} = {:e}", c.name, c.max_error);
    }
}

/// Maps a finite point set to itself (as a set, to 1e-12).
fn preserves(r: &Rotation, points: &[Vector3<f64>]) -> bool {
    points
        .iter()
        .all(|p| points.iter().any(|q| (r.apply(p) - q).norm() < 1e-12))
}

fn axis_turn(axis: [f64; 3], degrees: f64) -> Rotation {
    Rotation::from_axis_angle(Vector3::from(axis), degrees * PI / 180.0).unwrap()
}

#[test]
fn octahedral_group_is_the_rotation_group_of_the_axis_aligned_cube() {
    let o = FiniteRotationGroup::octahedral();
    assert_eq!(o.order(), 24);
    assert_eq!(o.rotation_of(0), Rotation::identity());
    assert_all_pass("octahedral", &check_finite_group_all(&o));
    assert_all_pass("octahedral", &check_sphere_action(&o));
    let corners: Vec<Vector3<f64>> = (0..8)
        .map(|i| {
            Vector3::new(
                [-1.0, 1.0][i & 1],
                [-1.0, 1.0][(i >> 1) & 1],
                [-1.0, 1.0][i >> 2],
            )
        })
        .collect();
    let face_centres: Vec<Vector3<f64>> = (0..6)
        .map(|i| {
            let mut v = Vector3::zeros();
            v[i % 3] = if i < 3 { 1.0 } else { -1.0 };
            v
        })
        .collect();
    for r in o.rotations() {
        assert!(preserves(r, &corners) && preserves(r, &face_centres));
        assert!(
            r.matrix().iter().all(|v| [0.0, 1.0, -1.0].contains(v)),
            "{r:?}"
        );
    }
    // Quarter turns about every axis, third turns about the diagonals, half turns about edges.
    for (axis, angle) in [
        ([1.0, 0.0, 0.0], 90.0),
        ([0.0, 1.0, 0.0], 90.0),
        ([0.0, 0.0, 1.0], -90.0),
        ([1.0, 1.0, 1.0], 120.0),
        ([1.0, -1.0, 1.0], 240.0),
        ([1.0, 1.0, 0.0], 180.0),
    ] {
        assert!(
            o.index_of_rotation(&axis_turn(axis, angle)).is_some(),
            "{axis:?} {angle}"
        );
    }
    // 45° about z is not in O (the violation the invariance tests use).
    assert!(o
        .index_of_rotation(&axis_turn([0.0, 0.0, 1.0], 45.0))
        .is_none());
}

#[test]
fn icosahedral_group_is_the_rotation_group_of_the_documented_icosahedron() {
    let i = FiniteRotationGroup::icosahedral();
    assert_eq!(i.order(), 60);
    assert_all_pass("icosahedral", &check_finite_group_all(&i));
    assert_all_pass("icosahedral", &check_sphere_action(&i));
    let phi = GOLDEN_RATIO;
    assert!((phi * phi - phi - 1.0).abs() < 1e-15);
    let mut vertices = Vec::new();
    for s1 in [-1.0, 1.0] {
        for s2 in [-1.0, 1.0] {
            let v = [0.0, s1, s2 * phi];
            for shift in 0..3 {
                vertices.push(Vector3::new(
                    v[shift % 3],
                    v[(shift + 1) % 3],
                    v[(shift + 2) % 3],
                ));
            }
        }
    }
    assert_eq!(vertices.len(), 12);
    let exact = [0.0, 0.5, phi / 2.0, 0.5 / phi, 1.0];
    for r in i.rotations() {
        assert!(preserves(r, &vertices));
        for v in r.matrix().iter() {
            assert!(exact.iter().any(|e| v.abs() == *e), "entry {v} of {r:?}");
        }
    }
    for (axis, angle) in [
        ([1.0, 0.0, 0.0], 180.0),
        ([0.0, 1.0, 0.0], 180.0),
        ([0.0, 0.0, 1.0], 180.0),
        ([1.0, 1.0, 1.0], 120.0),
        ([-1.0, 1.0, 1.0], 120.0),
        ([0.0, 1.0, phi], 72.0),
        ([phi, 0.0, 1.0], 144.0),
    ] {
        assert!(
            i.index_of_rotation(&axis_turn(axis, angle)).is_some(),
            "{axis:?} {angle}"
        );
    }
    // I ∩ O is the tetrahedral group T of the cube: 12 elements.
    let o = FiniteRotationGroup::octahedral();
    let common = i
        .rotations()
        .iter()
        .filter(|r| o.index_of_rotation(r).is_some())
        .count();
    assert_eq!(common, 12);
    // Element counts by rotation angle: 1 identity, 15 half turns, 20 third turns, 24 fifth turns.
    let mut by_angle = [0usize; 4];
    for r in i.rotations() {
        let a = r.angle() * 180.0 / PI;
        let class = [0.0, 180.0, 120.0, 240.0]
            .iter()
            .position(|x| (a - x).abs() < 1e-9)
            .unwrap_or(3);
        by_angle[class.min(3)] += 1;
    }
    assert_eq!(by_angle, [1, 15, 20, 24]);
}

#[test]
fn elements_are_numbered_with_the_identity_first_and_act_by_their_rotations() {
    for g in [
        FiniteRotationGroup::octahedral(),
        FiniteRotationGroup::icosahedral(),
    ] {
        for a in 0..g.order() {
            for b in 0..g.order() {
                let ab = g.compose_indices(a, b);
                let product = g.rotation(&a).compose(&g.rotation(&b));
                assert!((product.matrix() - g.rotation(&ab).matrix()).amax() < 1e-15);
            }
        }
        assert_eq!(g.index_of_rotation(&Rotation::identity()), Some(0));
    }
}

#[test]
fn generating_a_dense_subgroup_is_refused_not_looped() {
    let irrational = Rotation::about_z(1.0);
    match FiniteRotationGroup::generated_by("dense", &[irrational]) {
        Err(GroupError::OrderTooLarge { .. }) => {}
        other => panic!("{other:?}"),
    }
    let c5 = FiniteRotationGroup::generated_by("c5z", &[Rotation::about_z(0.4 * PI)]).unwrap();
    assert_eq!(c5.order(), 5);
    let m = Matrix3::new(0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0);
    let c4 =
        FiniteRotationGroup::generated_by("c4z", &[Rotation::from_matrix(m).unwrap()]).unwrap();
    assert_eq!(c4.elements().len(), 4);
}
