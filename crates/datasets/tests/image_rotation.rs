//! Image rotation conventions: quarter turns match the group action of entk-groups, and
//! bilinear rotation is exact at multiples of 90°.

use entk_datasets::{rot90, rotate_bilinear, DatasetError, ImageRotation};
use entk_groups::{CyclicGroup, RotoTranslation, RotoTranslationElement};
use ndarray::Array3;

fn test_image(h: usize, w: usize, c: usize) -> Array3<f64> {
    Array3::from_shape_fn((h, w, c), |(i, j, ch)| {
        (0.7 * i as f64 + 1.3 * j as f64 + ch as f64).sin() + 0.1 * (i * j) as f64
    })
}

#[test]
fn rot90_is_the_c4_action_of_entk_groups() {
    let (n, channels) = (5, 2);
    let group = RotoTranslation::new(CyclicGroup::new(4).unwrap(), n).unwrap();
    let image = test_image(n, n, channels);
    for turns in 0..4 {
        let g = RotoTranslationElement {
            shift: [0, 0],
            point: turns,
        };
        let expected = group
            .transform_image(&g, image.as_slice().unwrap(), channels)
            .unwrap();
        let got = rot90(image.view(), turns as i64);
        assert_eq!(
            got.as_slice().unwrap(),
            expected.as_slice(),
            "{turns} quarter turns"
        );
    }
}

#[test]
fn rot90_follows_numpy_on_rectangular_images() {
    let image = test_image(2, 3, 1);
    let once = rot90(image.view(), 1);
    assert_eq!(once.dim(), (3, 2, 1));
    // numpy.rot90(m)[i, j] = m[j, W−1−i]
    assert_eq!(once[(0, 0, 0)], image[(0, 2, 0)]);
    assert_eq!(once[(2, 1, 0)], image[(1, 0, 0)]);
    assert_eq!(rot90(image.view(), -1), rot90(image.view(), 3));
    assert_eq!(rot90(rot90(image.view(), 2).view(), 2), image);
}

#[test]
fn bilinear_rotation_is_exact_at_quarter_turns() {
    for size in [4, 5, 28] {
        let image = test_image(size, size, 3);
        for turns in 0..4 {
            let angle = std::f64::consts::FRAC_PI_2 * turns as f64;
            assert_eq!(
                rotate_bilinear(image.view(), angle).unwrap(),
                rot90(image.view(), turns),
                "size {size}, {turns} turns"
            );
            assert_eq!(ImageRotation::QuarterTurns(turns as u8).angle(), angle);
        }
    }
}

#[test]
fn bilinear_rotation_of_a_radial_image_barely_changes_it() {
    let size = 21;
    let c = (size as f64 - 1.0) / 2.0;
    let radial = Array3::from_shape_fn((size, size, 1), |(i, j, _)| {
        let r2 = (i as f64 - c).powi(2) + (j as f64 - c).powi(2);
        (-r2 / 30.0).exp()
    });
    let rotated = rotate_bilinear(radial.view(), 0.37).unwrap();
    let worst = (&rotated - &radial)
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(worst < 0.02, "worst {worst}");
}

#[test]
fn bilinear_rotation_needs_a_square_image_and_a_finite_angle() {
    assert!(matches!(
        rotate_bilinear(test_image(3, 4, 1).view(), 0.1),
        Err(DatasetError::Shape { .. })
    ));
    assert!(rotate_bilinear(test_image(3, 3, 1).view(), f64::NAN).is_err());
}
