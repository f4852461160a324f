//! Point groups on pixel grids: agreement with `numpy.rot90`/`fliplr`, exactness for subgroups of
//! D4, and the measured error of bilinear resampling for other angles.

use entk_groups::plane::{acts_exactly_on_pixels, resampling_homomorphism_error};
use entk_groups::{
    CyclicGroup, DihedralGroup, FiniteGroup, Group, PixelResampling, PlanarPointGroup,
    RotoTranslation, RotoTranslationElement,
};

/// `numpy.rot90(x, 1)` on an `N×N` single-channel image: `out[i][j] = x[j][N−1−i]`.
fn numpy_rot90(x: &[f64], n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|p| x[(p % n) * n + (n - 1 - p / n)])
        .collect()
}

/// `numpy.fliplr(x)`: `out[i][j] = x[i][N−1−j]`.
fn numpy_fliplr(x: &[f64], n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|p| x[(p / n) * n + (n - 1 - p % n)])
        .collect()
}

fn test_image(n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|p| ((p * 37 + 11) % 101) as f64 + 0.5 * (p / n) as f64)
        .collect()
}

#[test]
fn c4_quarter_turn_is_numpy_rot90_for_odd_and_even_sizes() {
    for n in [1, 2, 3, 4, 5, 8] {
        let group = RotoTranslation::new(CyclicGroup::new(4).unwrap(), n).unwrap();
        let x = test_image(n);
        let mut expected = x.clone();
        for k in 0..4 {
            let g = RotoTranslationElement {
                shift: [0, 0],
                point: k,
            };
            assert_eq!(
                group.transform_image(&g, &x, 1).unwrap(),
                expected,
                "N={n}, k={k}"
            );
            expected = numpy_rot90(&expected, n);
        }
        let m = PixelResampling::for_element(group.point_group(), &1, n).unwrap();
        assert!(m.is_exact());
        assert_eq!(m.apply(&x).unwrap(), numpy_rot90(&x, n));
        assert!(m.apply(&x[1..]).is_err());
    }
}

#[test]
fn d4_reflection_is_numpy_fliplr_and_shifts_roll_the_grid() {
    let n = 5;
    let group = RotoTranslation::new(DihedralGroup::new(4).unwrap(), n).unwrap();
    let x = test_image(n);
    let s = RotoTranslationElement {
        shift: [0, 0],
        point: group.point_group().reflection(0),
    };
    assert_eq!(
        group.transform_image(&s, &x, 1).unwrap(),
        numpy_fliplr(&x, n)
    );
    // A shift by one row is numpy.roll(x, 1, axis=0).
    let t = RotoTranslationElement {
        shift: [1, 0],
        point: group.point_group().identity(),
    };
    let rolled: Vec<f64> = (0..n * n)
        .map(|p| x[((p / n + n - 1) % n) * n + p % n])
        .collect();
    assert_eq!(group.transform_image(&t, &x, 1).unwrap(), rolled);
}

#[test]
fn image_transforms_are_a_group_action_on_multichannel_images() {
    let n = 4;
    let group = RotoTranslation::new(DihedralGroup::new(4).unwrap(), n).unwrap();
    let x: Vec<f64> = (0..n * n * 3).map(|i| (i as f64 * 0.37).sin()).collect();
    for a in 0..group.order() {
        for b in (0..group.order()).step_by(7) {
            let (ga, gb) = (group.element(a), group.element(b));
            let two_steps = group
                .transform_image(&ga, &group.transform_image(&gb, &x, 3).unwrap(), 3)
                .unwrap();
            let one_step = group
                .transform_image(&group.compose(&ga, &gb), &x, 3)
                .unwrap();
            assert_eq!(two_steps, one_step);
        }
    }
    assert!(group
        .transform_image(&group.identity(), &x[1..], 3)
        .is_err());
}

#[test]
fn subgroups_of_d4_act_exactly_and_other_angles_do_not() {
    for n in [1, 2, 4] {
        assert!(acts_exactly_on_pixels(&CyclicGroup::new(n).unwrap()));
        assert!(acts_exactly_on_pixels(&DihedralGroup::new(n).unwrap()));
        assert_eq!(
            resampling_homomorphism_error(&DihedralGroup::new(n).unwrap(), 5).unwrap(),
            0.0
        );
    }
    for n in [3, 6, 8] {
        assert!(!acts_exactly_on_pixels(&CyclicGroup::new(n).unwrap()));
    }
}

#[test]
fn c8_resampling_is_approximate_and_its_error_is_measured() {
    let c8 = CyclicGroup::new(8).unwrap();
    let err = resampling_homomorphism_error(&c8, 5).unwrap();
    // Bilinear interpolation is not a group action: the defect is visible but bounded by 1.
    assert!(err > 1e-3 && err <= 1.0, "C8 homomorphism defect {err}");
    let m = PixelResampling::for_element(&c8, &1, 5).unwrap();
    assert!(!m.is_exact());
    // Interpolation weights are a partition of unity for samples inside the grid.
    let centre_row: f64 = m.row(12).iter().map(|(_, w)| w).sum();
    assert!((centre_row - 1.0).abs() < 1e-15);
    // A constant image stays constant at the centre; linear functions are reproduced inside.
    let plane: Vec<f64> = (0..25)
        .map(|p| (p / 5) as f64 + 2.0 * (p % 5) as f64)
        .collect();
    let rotated = m.apply(&plane).unwrap();
    let matrix = c8.plane_matrix(&1).transpose();
    let expected_centre = {
        let v = matrix * nalgebra::Vector2::new(1.0, 0.0);
        (2.0 + v.x) + 2.0 * (2.0 + v.y)
    };
    assert!((rotated[3 * 5 + 2] - expected_centre).abs() < 1e-12);
}

#[test]
fn resampling_rejects_bad_matrices_and_sizes() {
    let m = nalgebra::Matrix2::new(2.0, 0.0, 0.0, 1.0);
    assert!(PixelResampling::new(&m, 3).is_err());
    assert!(PixelResampling::new(&nalgebra::Matrix2::identity(), 0).is_err());
    assert!(PixelResampling::new(&nalgebra::Matrix2::new(f64::NAN, 0.0, 0.0, 1.0), 3).is_err());
}
