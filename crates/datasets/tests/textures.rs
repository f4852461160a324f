//! The texture patch task: embedded images, patch sizes, rotations, seeding and errors.

use entk_datasets::textures::{
    embedded_texture_patches, embedded_textures, texture_patches, Texture, TexturePatchConfig,
};
use entk_datasets::{rot90, DatasetError, LabelledImages, RotationMode};
use ndarray::{Array4, Axis};

#[test]
fn embedded_textures_are_three_grayscale_images() {
    let textures = embedded_textures().unwrap();
    assert_eq!(textures.images().shape(), &[3, 256, 256, 1]);
    assert_eq!(textures.labels(), &[0, 1, 2]);
    assert_eq!(textures.class_names(), &["brick", "grass", "gravel"]);
    assert_eq!(
        Texture::ALL.map(Texture::name),
        ["brick", "grass", "gravel"]
    );
    // means of the 2×2-averaged scikit-image textures (111.58, 118.35, 126.67 of 255)
    for (k, expected) in [111.5777, 118.3495, 126.6687].into_iter().enumerate() {
        let mean = textures.image(k).mean().unwrap() * 255.0;
        assert!((mean - expected).abs() < 1e-3, "{k}: {mean}");
    }
    assert!(textures.images().iter().all(|&v| v > 0.0 && v < 1.0));
}

#[test]
fn continuous_patches_are_balanced_seeded_and_never_read_outside_the_texture() {
    let config = TexturePatchConfig {
        patch_size: 28,
        n_train: 30,
        n_test: 12,
        ..TexturePatchConfig::default()
    };
    let split = embedded_texture_patches(&config).unwrap();
    assert_eq!(split.train.images.images().shape(), &[30, 28, 28, 1]);
    assert_eq!(split.test.images.images().shape(), &[12, 28, 28, 1]);
    for set in [&split.train.images, &split.test.images] {
        let mut counts = [0; 3];
        set.labels().iter().for_each(|&l| counts[l] += 1);
        assert_eq!(counts[0], counts[1]);
        assert_eq!(counts[1], counts[2]);
    }
    // zero-padding would show up as exact zeros: the textures have none
    assert!(split
        .train
        .images
        .images()
        .iter()
        .chain(split.test.images.images())
        .all(|&v| v > 0.0));
    assert!(split
        .train
        .angles
        .iter()
        .any(|&a| (a / std::f64::consts::FRAC_PI_2).fract().abs() > 1e-3));
    assert_eq!(split, embedded_texture_patches(&config).unwrap());
    assert_ne!(
        split,
        embedded_texture_patches(&TexturePatchConfig { seed: 1, ..config }).unwrap()
    );
}

#[test]
fn unrotated_and_quarter_turn_patches_are_crops_of_the_texture() {
    // a texture whose pixels encode their position, so each patch reveals where it was cut
    let (h, w) = (40, 30);
    let images = Array4::from_shape_fn((2, h, w, 1), |(k, i, j, _)| {
        (k * 10_000 + i * 100 + j) as f64
    });
    let source = LabelledImages::new(images, vec![0, 1], vec!["a".into(), "b".into()]).unwrap();
    let config = TexturePatchConfig {
        patch_size: 6,
        n_train: 8,
        n_test: 8,
        train_rotation: RotationMode::None,
        test_rotation: RotationMode::QuarterTurns,
        seed: 3,
    };
    let split = texture_patches(&source, &config).unwrap();
    for n in 0..8 {
        let patch = split.train.images.image(n);
        let origin = patch[(0, 0, 0)] as usize;
        let (k, top, left) = (origin / 10_000, origin % 10_000 / 100, origin % 100);
        assert_eq!(k, split.train.images.labels()[n]);
        assert!(
            top + 6 <= h / 2,
            "training patches come from the upper half"
        );
        for ((i, j, _), &v) in patch.indexed_iter() {
            assert_eq!(v as usize, origin + i * 100 + j);
        }
        assert!(left + 6 <= w);
    }
    for n in 0..8 {
        let turns = (split.test.angles[n] / std::f64::consts::FRAC_PI_2).round() as i64;
        let unrotated = rot90(split.test.images.image(n), -turns);
        let origin = unrotated[(0, 0, 0)] as usize;
        assert!(
            origin % 10_000 / 100 >= h / 2,
            "test patches come from the lower half"
        );
        for ((i, j, _), &v) in unrotated.indexed_iter() {
            assert_eq!(v as usize, origin + i * 100 + j);
        }
    }
    assert_eq!(
        split.train.images.images().index_axis(Axis(0), 0).dim(),
        (6, 6, 1)
    );
}

#[test]
fn patches_too_large_for_half_a_texture_are_rejected() {
    let error = embedded_texture_patches(&TexturePatchConfig {
        patch_size: 100,
        ..TexturePatchConfig::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            error,
            DatasetError::InvalidArgument {
                what: "patch size",
                ..
            }
        ),
        "{error}"
    );
    // quarter turns need no margin, so 100 fits in 128 rows
    let ok = embedded_texture_patches(&TexturePatchConfig {
        patch_size: 100,
        n_train: 3,
        n_test: 3,
        train_rotation: RotationMode::QuarterTurns,
        test_rotation: RotationMode::QuarterTurns,
        seed: 0,
    });
    assert!(ok.is_ok());
    assert!(embedded_texture_patches(&TexturePatchConfig {
        patch_size: 0,
        ..TexturePatchConfig::default()
    })
    .is_err());
}

#[test]
fn rotation_windows_are_large_enough_for_every_patch_size() {
    // bilinear weights sum to 1 inside the image, so a constant texture stays constant unless a
    // rotated patch reads beyond the cropped window
    let images = Array4::from_elem((1, 160, 80, 1), 0.5);
    let source = LabelledImages::new(images, vec![0], vec!["flat".into()]).unwrap();
    for patch_size in 1..=40 {
        let config = TexturePatchConfig {
            patch_size,
            n_train: 4,
            n_test: 4,
            seed: patch_size as u64,
            ..TexturePatchConfig::default()
        };
        let split = texture_patches(&source, &config).unwrap();
        let worst = split
            .train
            .images
            .images()
            .iter()
            .chain(split.test.images.images())
            .fold(0.0f64, |m, v| m.max((v - 0.5).abs()));
        assert!(worst < 1e-12, "patch size {patch_size}: deviation {worst}");
    }
}
