//! Histology readers on tiny generated fixtures: NCT-CRC-HE-100K TIFF folders and PathMNIST npz.

mod common;

use std::io::Cursor;
use std::path::Path;

use common::messages::assert_mentions;
use common::{scratch_dir, zip_archive};
use entk_datasets::histology::{
    read_nct_crc_he, read_pathmnist, read_pathmnist_from, read_tiff_rgb, MedMnistSplit,
    NctCrcOptions, HISTOLOGY_CLASSES,
};
use entk_datasets::DatasetError;
use ndarray::{Array2, Array4};
use ndarray_npy::NpzWriter;
use tiff::encoder::{colortype, TiffEncoder};

/// The colour of class `k` in the fixtures: `(10k, 20 + k, 250 − 5k)`.
fn class_colour(k: usize) -> [u8; 3] {
    [10 * k as u8, 20 + k as u8, 250 - 5 * k as u8]
}

fn write_rgb_tiff(path: &Path, size: u32, colour: [u8; 3]) {
    let data: Vec<u8> = (0..size * size).flat_map(|_| colour).collect();
    let mut encoder = TiffEncoder::new(std::fs::File::create(path).unwrap()).unwrap();
    encoder
        .write_image::<colortype::RGB8>(size, size, &data)
        .unwrap();
}

/// Nine class folders with `per_class` 14×14 tiles each, of the class colour.
fn nct_fixture(name: &str, per_class: usize) -> std::path::PathBuf {
    let root = scratch_dir(name).join("NCT-CRC-HE-100K");
    for (k, class) in HISTOLOGY_CLASSES.iter().enumerate() {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for i in 0..per_class {
            write_rgb_tiff(
                &root.join(class).join(format!("{class}-{i:04}.tif")),
                14,
                class_colour(k),
            );
        }
        std::fs::write(root.join(class).join("notes.txt"), "ignored").unwrap();
    }
    root
}

#[test]
fn nct_folders_give_labelled_resized_rgb_tiles() {
    let root = nct_fixture("nct", 2);
    let options = NctCrcOptions {
        image_size: 7,
        ..NctCrcOptions::default()
    };
    let data = read_nct_crc_he(&root, &options).unwrap();
    assert_eq!(data.images().shape(), &[18, 7, 7, 3]);
    assert_eq!(data.class_names(), &HISTOLOGY_CLASSES.map(String::from));
    for n in 0..18 {
        let k = data.labels()[n];
        assert_eq!(k, n / 2, "class by class, alphabetical");
        for (c, &value) in class_colour(k).iter().enumerate() {
            assert!((data.image(n)[(3, 4, c)] - f64::from(value) / 255.0).abs() < 1e-12);
        }
    }
    // the parent folder is accepted too
    assert_eq!(
        read_nct_crc_he(root.parent().unwrap(), &options).unwrap(),
        data
    );
    assert_eq!(data.centred_one_hot().shape(), &[18, 9]);
}

#[test]
fn per_class_limit_draws_a_seeded_subset() {
    let root = nct_fixture("nct-limit", 3);
    let options = NctCrcOptions {
        image_size: 2,
        per_class_limit: Some(2),
        seed: 9,
    };
    let data = read_nct_crc_he(&root, &options).unwrap();
    assert_eq!(data.len(), 18);
    assert_eq!(read_nct_crc_he(&root, &options).unwrap(), data);
}

#[test]
fn tiff_reader_handles_rgba_and_16_bit_gray() {
    let dir = scratch_dir("tiff");
    let rgba = dir.join("rgba.tif");
    let mut encoder = TiffEncoder::new(std::fs::File::create(&rgba).unwrap()).unwrap();
    encoder
        .write_image::<colortype::RGBA8>(2, 1, &[255, 0, 51, 7, 0, 255, 0, 9])
        .unwrap();
    let image = read_tiff_rgb(&rgba).unwrap();
    assert_eq!(image.dim(), (1, 2, 3));
    assert_eq!(image[(0, 0, 2)], 0.2);
    assert_eq!(image[(0, 1, 1)], 1.0);

    let gray = dir.join("gray.tif");
    let mut encoder = TiffEncoder::new(std::fs::File::create(&gray).unwrap()).unwrap();
    encoder
        .write_image::<colortype::Gray16>(1, 2, &[0, 65535])
        .unwrap();
    let image = read_tiff_rgb(&gray).unwrap();
    assert_eq!(image.dim(), (2, 1, 3));
    assert!(image.iter().skip(3).all(|&v| v == 1.0));
}

#[test]
fn missing_or_corrupt_nct_data_gives_actionable_errors() {
    let nowhere = scratch_dir("nct-missing").join("NCT-CRC-HE-100K");
    let error = read_nct_crc_he(&nowhere, &NctCrcOptions::default()).unwrap_err();
    assert!(matches!(error, DatasetError::MissingData { .. }), "{error}");
    assert_mentions(&error, &["Zenodo record 1214456"]);

    let root = nct_fixture("nct-broken", 1);
    std::fs::remove_dir_all(root.join("MUS")).unwrap();
    let error = read_nct_crc_he(&root, &NctCrcOptions::default()).unwrap_err();
    assert!(error.to_string().contains("MUS"), "{error}");

    let root = nct_fixture("nct-corrupt", 1);
    let bad = root.join("TUM").join("TUM-9999.tif");
    std::fs::write(&bad, b"II*\0garbage that is not a tiff directory").unwrap();
    let error = read_nct_crc_he(&root, &NctCrcOptions::default()).unwrap_err();
    assert!(
        matches!(&error, DatasetError::Tiff { path, .. } if path == &bad),
        "{error}"
    );

    let good = root.join("ADI").join("ADI-0000.tif");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&good, &bytes[..bytes.len() / 2]).unwrap();
    assert!(read_tiff_rgb(&good).is_err());
    assert!(read_nct_crc_he(
        &root,
        &NctCrcOptions {
            image_size: 0,
            ..NctCrcOptions::default()
        }
    )
    .is_err());
}

/// An npz with the MedMNIST layout; image `n` of split `s` is filled with `10s + n`.
fn pathmnist_npz(labels_train: &[u8]) -> Vec<u8> {
    // deflate-compressed members, as numpy.savez_compressed writes them
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut npz = NpzWriter::new_with_options(Cursor::new(Vec::new()), options);
    for (s, prefix) in ["train", "val", "test"].into_iter().enumerate() {
        let n = if prefix == "train" {
            labels_train.len()
        } else {
            2
        };
        let images = Array4::from_shape_fn((n, 28, 28, 3), |(i, ..)| (10 * s + i) as u8);
        let labels: Array2<u8> = if prefix == "train" {
            Array2::from_shape_vec((n, 1), labels_train.to_vec()).unwrap()
        } else {
            Array2::from_elem((n, 1), 8)
        };
        npz.add_array(format!("{prefix}_images"), &images).unwrap();
        npz.add_array(format!("{prefix}_labels"), &labels).unwrap();
    }
    npz.finish().unwrap().into_inner()
}

#[test]
fn pathmnist_reads_every_split() {
    let dir = scratch_dir("pathmnist");
    let path = dir.join("pathmnist.npz");
    std::fs::write(&path, pathmnist_npz(&[0, 4, 8])).unwrap();
    let train = read_pathmnist(&path, MedMnistSplit::Train).unwrap();
    assert_eq!(train.images().shape(), &[3, 28, 28, 3]);
    assert_eq!(train.labels(), &[0, 4, 8]);
    assert_eq!(train.image(2)[(5, 5, 1)], 2.0 / 255.0);
    let test = read_pathmnist(&path, MedMnistSplit::Test).unwrap();
    assert_eq!(test.image(1)[(0, 0, 0)], 21.0 / 255.0);
    assert_eq!(
        read_pathmnist(&path, MedMnistSplit::Val).unwrap().labels(),
        &[8, 8]
    );
}

#[test]
fn pathmnist_accepts_int64_labels() {
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    npz.add_array("test_images", &Array4::<u8>::zeros((2, 28, 28, 3)))
        .unwrap();
    npz.add_array("test_labels", &ndarray::array![[3i64], [5]])
        .unwrap();
    let bytes = npz.finish().unwrap().into_inner();
    let data = read_pathmnist_from(Cursor::new(bytes), "int64.npz", MedMnistSplit::Test).unwrap();
    assert_eq!(data.labels(), &[3, 5]);
}

#[test]
fn bad_pathmnist_files_are_errors_not_panics() {
    let dir = scratch_dir("pathmnist-bad");
    let error = read_pathmnist(&dir.join("pathmnist.npz"), MedMnistSplit::Train).unwrap_err();
    assert!(matches!(error, DatasetError::MissingData { .. }), "{error}");
    assert_mentions(&error, &["pathmnist.npz", "MedMNIST"]);

    let good = pathmnist_npz(&[1, 2]);
    let read = |bytes: Vec<u8>| {
        read_pathmnist_from(Cursor::new(bytes), "bad.npz", MedMnistSplit::Train).unwrap_err()
    };

    assert!(matches!(
        read(good[..good.len() / 2].to_vec()),
        DatasetError::Zip { .. }
    ));
    assert!(matches!(
        read(b"not a zip at all".to_vec()),
        DatasetError::Zip { .. }
    ));
    let error = read(zip_archive(&[("other.npy", b"x".as_slice())]));
    assert!(
        matches!(error, DatasetError::MissingMember { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("train_images"), "{error}");
    let error = read(zip_archive(&[(
        "train_images.npy",
        b"\x93NUMPY garbage".as_slice(),
    )]));
    assert!(matches!(error, DatasetError::Npy { .. }), "{error}");
    let error = read(pathmnist_npz(&[1, 9]));
    assert!(error.to_string().contains("= 9"), "{error}");

    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    npz.add_array("train_images", &Array4::<u8>::zeros((2, 28, 28, 1)))
        .unwrap();
    npz.add_array("train_labels", &Array2::<u8>::zeros((2, 1)))
        .unwrap();
    let error = read(npz.finish().unwrap().into_inner());
    assert!(matches!(error, DatasetError::Shape { .. }), "{error}");

    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    npz.add_array("train_images", &Array4::<u8>::zeros((2, 28, 28, 3)))
        .unwrap();
    npz.add_array("train_labels", &Array2::<u8>::zeros((3, 1)))
        .unwrap();
    assert!(matches!(
        read(npz.finish().unwrap().into_inner()),
        DatasetError::Shape { .. }
    ));
}
