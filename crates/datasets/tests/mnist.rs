//! MNIST: IDX parsing and validation, the embedded sample, rotated-MNIST builders.

mod common;
#[path = "common/npy_fixture.rs"]
mod npy_fixture;

use std::f64::consts::FRAC_PI_2;

use common::messages::{assert_mentions, assert_refusals};
use common::{assert_not_enough_data, gzip, scratch_dir};
use entk_datasets::mnist::{
    embedded_mnist_sample, mnist_from_idx, parse_idx, read_idx_file, read_mnist, read_mnist_dir,
    rotated_mnist, MnistSplit, RotatedMnistConfig, MNIST_SAMPLE_SIZE,
};
use entk_datasets::{rot90, train_test_indices, DatasetError, RotationMode};
use npy_fixture::idx_bytes;

#[test]
fn idx_parser_reads_shape_and_data_plain_or_gzipped() {
    let bytes = idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    let parsed = parse_idx(&bytes, "inline").unwrap();
    assert_eq!(parsed.dims, vec![2, 3]);
    assert_eq!(parsed.data, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(parse_idx(&gzip(&bytes), "inline.gz").unwrap(), parsed);
}

#[test]
fn idx_parser_rejects_bad_headers_and_sizes() {
    let good = idx_bytes(&[2, 2], &[0, 1, 2, 3]);
    let mut bad_magic = good.clone();
    bad_magic[0] = 1;
    let mut float_type = good.clone();
    float_type[2] = 0x0D;
    let mut zero_dims = good.clone();
    zero_dims[3] = 0;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (bad_magic, "magic"),
        (float_type, "0x0d"),
        (zero_dims, "0 dimensions"),
        (good[..2].to_vec(), "too short"),
        (good[..6].to_vec(), "truncated"),
        (good[..good.len() - 1].to_vec(), "truncated"),
        ([good.clone(), vec![9]].concat(), "after the 4 data bytes"),
        (gzip(&good)[..10].to_vec(), "gzip"),
    ];
    assert_refusals(&cases, |bytes| parse_idx(bytes, "bad.idx"));
}

#[test]
fn images_and_labels_must_match() {
    let images = parse_idx(&idx_bytes(&[2, 2, 2], &[0, 255, 0, 0, 0, 0, 51, 0]), "img").unwrap();
    let labels = parse_idx(&idx_bytes(&[2], &[3, 9]), "lbl").unwrap();
    let digits = mnist_from_idx(&images, &labels, "inline").unwrap();
    assert_eq!(digits.images().shape(), &[2, 2, 2, 1]);
    assert_eq!(digits.images()[(0, 0, 1, 0)], 1.0);
    assert_eq!(digits.images()[(1, 1, 0, 0)], 0.2);
    assert_eq!(digits.labels(), &[3, 9]);

    let too_few = parse_idx(&idx_bytes(&[1], &[3]), "lbl").unwrap();
    assert!(matches!(
        mnist_from_idx(&images, &too_few, "x"),
        Err(DatasetError::Shape { .. })
    ));
    let not_a_digit = parse_idx(&idx_bytes(&[2], &[3, 10]), "lbl").unwrap();
    assert_mentions(
        &mnist_from_idx(&images, &not_a_digit, "x").unwrap_err(),
        &["label 10"],
    );
    let flat = parse_idx(&idx_bytes(&[8], &[0; 8]), "img").unwrap();
    assert!(matches!(
        mnist_from_idx(&flat, &labels, "x"),
        Err(DatasetError::Shape { .. })
    ));
}

#[test]
fn folder_reader_finds_plain_and_gzipped_files_or_says_what_is_missing() {
    let dir = scratch_dir("mnist");
    let images = idx_bytes(&[1, 2, 2], &[0, 64, 128, 255]);
    std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gzip(&images)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx_bytes(&[1], &[7])).unwrap();
    let test = read_mnist_dir(&dir, MnistSplit::Test).unwrap();
    assert_eq!(test.labels(), &[7]);
    assert_eq!(
        read_idx_file(&dir.join("t10k-images-idx3-ubyte.gz"))
            .unwrap()
            .dims,
        vec![1, 2, 2]
    );

    let error = read_mnist_dir(&dir, MnistSplit::Train).unwrap_err();
    assert!(matches!(error, DatasetError::MissingData { .. }), "{error}");
    assert_mentions(&error, &["train-images-idx3-ubyte"]);
    let error = read_mnist(&dir.join("nope"), &dir.join("nope")).unwrap_err();
    assert!(matches!(error, DatasetError::Io { .. }), "{error}");
}

#[test]
fn embedded_sample_holds_two_thousand_digits_of_every_class() {
    let digits = embedded_mnist_sample().unwrap();
    assert_eq!(digits.len(), MNIST_SAMPLE_SIZE);
    assert_eq!(digits.images().shape(), &[2000, 28, 28, 1]);
    assert!(digits.images().iter().all(|&v| (0.0..=1.0).contains(&v)));
    let mut counts = [0usize; 10];
    for &label in digits.labels() {
        counts[label] += 1;
    }
    assert!(counts.iter().all(|&c| c > 150), "{counts:?}");
    // digits are centred: the border is almost empty, the middle is not
    let border: f64 = digits
        .images()
        .slice_each_axis(|a| match a.axis.index() {
            1 | 2 => ndarray::Slice::from(0..1),
            _ => ndarray::Slice::from(..),
        })
        .sum();
    assert!(border < 1.0, "border mass {border}");
}

/// `n_train` + `n_test` digits drawn with `seed`, both continuously rotated (the default modes).
fn rotated_config(n_train: usize, n_test: usize, seed: u64) -> RotatedMnistConfig {
    RotatedMnistConfig {
        n_train,
        n_test,
        seed,
        ..RotatedMnistConfig::default()
    }
}

#[test]
fn quarter_turn_mnist_is_an_exact_permutation_of_the_chosen_digits() {
    let digits = embedded_mnist_sample().unwrap();
    let config = RotatedMnistConfig {
        train_rotation: RotationMode::QuarterTurns,
        test_rotation: RotationMode::None,
        ..rotated_config(40, 20, 11)
    };
    let split = rotated_mnist(&digits, &config).unwrap();
    let indices = train_test_indices(digits.len(), 40, 20, 11).unwrap();
    let mut turns_seen = [false; 4];
    for (n, &i) in indices.train.iter().enumerate() {
        let turns = (split.train.angles[n] / FRAC_PI_2).round() as i64;
        assert_eq!(split.train.angles[n], FRAC_PI_2 * turns as f64);
        turns_seen[turns as usize] = true;
        assert_eq!(split.train.images.image(n), rot90(digits.image(i), turns));
        assert_eq!(split.train.images.labels()[n], digits.labels()[i]);
    }
    assert!(
        turns_seen.iter().all(|&t| t),
        "all four quarter turns occur"
    );
    for (n, &i) in indices.test.iter().enumerate() {
        assert_eq!(split.test.images.image(n), digits.image(i));
        assert_eq!(split.test.angles[n], 0.0);
    }
}

#[test]
fn continuous_rotated_mnist_is_seeded_and_keeps_the_digit_mass() {
    let digits = embedded_mnist_sample().unwrap();
    let config = rotated_config(30, 10, 5);
    let a = rotated_mnist(&digits, &config).unwrap();
    let b = rotated_mnist(&digits, &config).unwrap();
    assert_eq!(a, b);
    let c = rotated_mnist(&digits, &RotatedMnistConfig { seed: 6, ..config }).unwrap();
    assert_ne!(a.train.angles, c.train.angles);
    assert_eq!(a.train.images.images().shape(), &[30, 28, 28, 1]);
    assert!(a
        .train
        .angles
        .iter()
        .all(|&t| (0.0..std::f64::consts::TAU).contains(&t)));
    // bilinear rotation about the centre keeps the ink (MNIST digits stay inside the disc)
    let indices = train_test_indices(digits.len(), 30, 10, 5).unwrap();
    for (n, &i) in indices.train.iter().enumerate() {
        let before: f64 = digits.image(i).sum();
        let after: f64 = a.train.images.image(n).sum();
        assert!(
            (after - before).abs() < 0.1 * before,
            "digit {i}: {before} → {after}"
        );
    }
}

#[test]
fn asking_for_more_digits_than_exist_is_an_error() {
    let digits = embedded_mnist_sample().unwrap();
    let error = rotated_mnist(&digits, &rotated_config(1500, 501, 0)).unwrap_err();
    assert_not_enough_data(&error, 2001, 2000);
}
