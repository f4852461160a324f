//! Regression tests for the hostile files of issue #16 (item 3, and the npy messages of item
//! 10): tiny files that claim huge sizes are refused before anything is allocated, with one-line
//! errors that say what is wrong; honest arrays of every supported dtype read exactly.
//!
//! The values are checked against an independent writer (ndarray-npy's) and against numbers
//! written out by hand, never against the reader itself.

mod common;
#[path = "common/npy_fixture.rs"]
mod npy_fixture;

use std::io::{Cursor, Write};
use std::path::Path;
use std::time::Instant;

use common::gzip;
use common::messages::{assert_case_mentions, assert_mentions};
use entk_datasets::histology::{decode_tiff_rgb, read_pathmnist_from, MedMnistSplit};
use entk_datasets::mnist::{mnist_from_idx, parse_idx, IdxArray};
use entk_datasets::npy::{read_npy, Accept, NpyError, SourceLength, MAX_DECODED_BYTES};
use entk_datasets::qm9::parse_qm9_xyz;
use entk_datasets::DatasetError;
use ndarray::{array, ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::WriteNpyExt;
use npy_fixture::{declare_uncompressed_size, npy_bytes, tiff_huge_dimensions};

fn read(bytes: &[u8], accept: Accept) -> Result<ArrayD<f64>, NpyError> {
    read_npy(
        Cursor::new(bytes),
        SourceLength::Real(bytes.len() as u64),
        accept,
    )
}

fn assert_one_line(message: &str) {
    assert!(!message.contains('\n'), "not one line: {message:?}");
    assert!(
        !message.contains("String("),
        "debug formatting leaked: {message}"
    );
}

#[test]
fn a_192_byte_npy_claiming_1e12_values_is_refused_at_once_for_every_dtype() {
    for descr in ["<f8", "<f4", ">f8", "<i8", "|u1", "|b1", "<i2", "<u4"] {
        let bytes = npy_bytes(descr, "(1000000000000,)", false, &[0u8; 64]);
        assert_eq!(bytes.len(), 192);
        for accept in [Accept::Floats, Accept::FloatsOrIntegers, Accept::Integers] {
            let start = Instant::now();
            let error = read(&bytes, accept).unwrap_err();
            assert!(start.elapsed().as_secs_f64() < 0.5, "{descr}: slow refusal");
            let message = error.to_string();
            assert_one_line(&message);
            match error {
                NpyError::TruncatedData {
                    expected, found, ..
                } => {
                    assert_eq!(found, 64, "{message}");
                    assert!(expected >= 1_000_000_000_000, "{message}");
                    assert!(message.contains("1000000000000"), "{message}");
                }
                // A dtype the caller refuses is refused before its size matters.
                NpyError::Dtype { .. } => {}
                other => panic!("{descr}: unexpected {other}"),
            }
        }
    }
    // Shapes whose product overflows are refused the same way.
    let bytes = npy_bytes("<f8", "(4294967296, 4294967296, 4294967296)", false, &[]);
    assert!(matches!(
        read(&bytes, Accept::Floats),
        Err(NpyError::TruncatedData { .. })
    ));
}

/// The one-line message with which `read` refuses `bytes` (the `case` a failure names).
fn refusal(case: &str, bytes: &[u8], accept: Accept) -> String {
    let Err(error) = read(bytes, accept) else {
        panic!("{case}: accepted");
    };
    let message = error.to_string();
    assert_one_line(&message);
    message
}

#[test]
fn an_int_dtype_is_refused_by_name_where_floats_are_needed() {
    for (descr, shape, length, accept, needles) in [
        ("<i8", "(2,)", 16, Accept::Floats, &["int64", "float64"][..]),
        (
            "<c16",
            "(1,)",
            16,
            Accept::FloatsOrIntegers,
            &["complex128"],
        ),
        ("<U3", "(1,)", 12, Accept::FloatsOrIntegers, &["str"]),
    ] {
        let message = refusal(
            descr,
            &npy_bytes(descr, shape, false, &vec![0u8; length]),
            accept,
        );
        assert_case_mentions(descr, &message, needles);
    }
}

#[test]
fn header_errors_are_one_line_and_say_what_is_truncated() {
    let good = npy_bytes("<f8", "(2,)", false, &[0u8; 16]);
    // Cut inside the magic, the length field and the header text.
    for cut in [3, 9, 40] {
        let error = read(&good[..cut], Accept::Floats).unwrap_err();
        let message = error.to_string();
        assert_one_line(&message);
        assert!(
            matches!(error, NpyError::TruncatedHeader { found, .. } if found == cut as u64),
            "{cut}: {message}"
        );
        assert!(!message.contains("fill whole buffer"), "{message}");
    }
    // A format-2.0 header that claims 4 GiB of header text in a 12-byte file.
    let mut huge = b"\x93NUMPY\x02\x00".to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    let error = read(&huge, Accept::Floats).unwrap_err();
    assert!(
        matches!(error, NpyError::TruncatedHeader { expected, found: 12 } if expected > 1 << 32),
        "{error}"
    );
    // Python-literal syntax errors come out on one line, not as a six-line picture.
    let bad = npy_bytes("<f8", "(2,", false, &[0u8; 16]);
    assert_mentions(
        &refusal("bad header", &bad, Accept::Floats),
        &["invalid header"],
    );
    // Deep nesting is refused before the literal parser recurses into it.
    let nested = npy_bytes(
        "<f8",
        &format!("{}2{}", "(".repeat(5000), ")".repeat(5000)),
        false,
        &[],
    );
    let message = read(&nested, Accept::Floats).unwrap_err().to_string();
    assert!(message.contains("nest"), "{message}");
    // Missing keys name the key.
    let mut dict = b"\x93NUMPY\x01\x00".to_vec();
    let text = "{'descr': '<f8', 'fortran_order': False}                    \n";
    dict.extend_from_slice(&(text.len() as u16).to_le_bytes());
    dict.extend_from_slice(text.as_bytes());
    let message = read(&dict, Accept::Floats).unwrap_err().to_string();
    assert!(message.contains("'shape'"), "{message}");
    // Not an npy at all.
    assert_eq!(
        read(b"PK\x03\x04 a zip", Accept::Floats).unwrap_err(),
        NpyError::NotNpy
    );
}

#[test]
fn truncated_and_overlong_data_give_expected_and_actual_sizes() {
    let bytes = npy_bytes("<f8", "(2, 3)", false, &[0u8; 40]);
    assert_mentions(
        &refusal("truncated data", &bytes, Accept::Floats),
        &["truncated", "48", "40"],
    );
    let bytes = npy_bytes("<f8", "(2, 3)", false, &[0u8; 50]);
    let message = read(&bytes, Accept::Floats).unwrap_err().to_string();
    assert_mentions(&message, &["2 unexpected bytes"]);
}

#[test]
fn floats_of_every_layout_match_an_independent_writer() {
    let a = ArrayD::from_shape_fn(IxDyn(&[3, 4, 2]), |i| {
        (i[0] as f64 - 1.3) * 1e-3 + (i[1] * 7 + i[2]) as f64 * std::f64::consts::PI
    });
    let mut f64_bytes = Vec::new();
    a.write_npy(&mut f64_bytes).unwrap();
    assert_eq!(read(&f64_bytes, Accept::Floats).unwrap(), a);

    let a32 = a.mapv(|v| v as f32);
    let mut f32_bytes = Vec::new();
    a32.write_npy(&mut f32_bytes).unwrap();
    assert_eq!(
        read(&f32_bytes, Accept::Floats).unwrap(),
        a32.mapv(f64::from)
    );

    // Fortran order (column-major data) and big-endian floats, written by hand.
    let fortran =
        ndarray::Array2::from_shape_vec((2, 3).f(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]).unwrap();
    let data: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let read_back = read(&npy_bytes("<f8", "(2, 3)", true, &data), Accept::Floats).unwrap();
    assert_eq!(read_back, fortran.into_dyn());
    assert_eq!(
        read_back,
        array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn()
    );
    let data: Vec<u8> = [0.5f64, -2.25]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let read_back = read(&npy_bytes(">f8", "(2,)", false, &data), Accept::Floats).unwrap();
    assert_eq!(read_back, array![0.5, -2.25].into_dyn());
    // A 0-d scalar.
    let read_back = read(
        &npy_bytes("<f8", "()", false, &7.5f64.to_le_bytes()),
        Accept::Floats,
    )
    .unwrap();
    assert_eq!(read_back.shape(), &[] as &[usize]);
    assert_eq!(read_back.iter().copied().collect::<Vec<_>>(), vec![7.5]);
}

#[test]
fn integer_labels_convert_exactly_and_refuse_what_f64_cannot_hold() {
    let labels = array![[3i64], [-5], [1 << 53], [-(1 << 53)]];
    let mut bytes = Vec::new();
    labels.write_npy(&mut bytes).unwrap();
    let read_back = read(&bytes, Accept::FloatsOrIntegers).unwrap();
    assert_eq!(
        read_back,
        array![[3.0], [-5.0], [9007199254740992.0], [-9007199254740992.0]].into_dyn()
    );
    for (descr, data, expected) in [
        ("|u1", vec![0u8, 255], vec![0.0, 255.0]),
        ("|i1", vec![0x80, 0x7f], vec![-128.0, 127.0]),
        ("|b1", vec![1, 0], vec![1.0, 0.0]),
        (">i2", vec![0xff, 0xfe, 0x01, 0x00], vec![-2.0, 256.0]),
        (
            "<u4",
            vec![0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0],
            vec![4294967295.0, 7.0],
        ),
        (
            "<u8",
            [(1u64 << 53).to_le_bytes(), 9u64.to_le_bytes()].concat(),
            vec![9007199254740992.0, 9.0],
        ),
    ] {
        let read_back = read(&npy_bytes(descr, "(2,)", false, &data), Accept::Integers).unwrap();
        assert_eq!(
            read_back,
            ArrayD::from_shape_vec(IxDyn(&[2]), expected).unwrap(),
            "{descr}"
        );
    }
    let too_big = npy_bytes(
        "<i8",
        "(2,)",
        false,
        &[1i64.to_le_bytes(), ((1i64 << 53) + 1).to_le_bytes()].concat(),
    );
    let error = read(&too_big, Accept::FloatsOrIntegers).unwrap_err();
    assert!(
        matches!(error, NpyError::Inexact { index: 1, .. }),
        "{error}"
    );
    assert_one_line(&error.to_string());
    let bad_bool = npy_bytes("|b1", "(1,)", false, &[7]);
    assert!(matches!(
        read(&bad_bool, Accept::Integers),
        Err(NpyError::Inexact { index: 0, .. })
    ));
    // Where floats are wanted, integers stay refused.
    assert!(matches!(
        read(&bytes, Accept::Floats),
        Err(NpyError::Dtype { .. })
    ));
}

fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_real_zip_bomb_npz_is_refused_before_decompression() {
    // 250,000 zero tiles of 28×28×3 u8: 588 MB of data (4.7 GB as f64), deflated to ~0.6 MB
    // — the 4.7 MB bomb (37.6 GB as f64) at an eighth of the size.
    let (n, tile) = (250_000usize, 28 * 28 * 3);
    let header = npy_bytes("|u1", &format!("({n}, 28, 28, 3)"), false, &[]);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .large_file(false);
    writer.start_file("test_images.npy", options).unwrap();
    writer.write_all(&header).unwrap();
    let zeros = vec![0u8; tile * 1000];
    for _ in 0..n / 1000 {
        writer.write_all(&zeros).unwrap();
    }
    writer.start_file("test_labels.npy", options).unwrap();
    writer
        .write_all(&npy_bytes("|u1", "(1,)", false, &[0]))
        .unwrap();
    let bomb = writer.finish().unwrap().into_inner();
    assert!(bomb.len() < 16 << 20, "{} bytes", bomb.len());

    let start = Instant::now();
    let error =
        read_pathmnist_from(Cursor::new(bomb), "bomb.npz", MedMnistSplit::Test).unwrap_err();
    assert!(
        start.elapsed().as_secs_f64() < 1.0,
        "refusal took {:?}",
        start.elapsed()
    );
    let message = error.to_string();
    assert_one_line(&message);
    assert!(
        matches!(&error, DatasetError::Npy { array, .. } if array == "test_images"),
        "{message}"
    );
    assert_mentions(&message, &[&MAX_DECODED_BYTES.to_string()]);
}

#[test]
fn npz_members_that_lie_about_their_sizes_are_refused() {
    let labels = npy_bytes("|u1", "(2, 1)", false, &[1, 2]);
    // The npy header claims 10⁹ tiles; the member holds 4.
    let images = npy_bytes("|u1", "(1000000000, 2, 2, 3)", false, &[0u8; 48]);
    let archive = npz(&[
        ("test_images.npy", images),
        ("test_labels.npy", labels.clone()),
    ]);
    let error = read_pathmnist_from(Cursor::new(archive), "lie.npz", MedMnistSplit::Test)
        .unwrap_err()
        .to_string();
    assert_one_line(&error);
    assert!(error.contains("truncated data"), "{error}");

    // The zip entry claims 4 GB uncompressed; the npy header agrees; the data is 48 bytes.
    let claimed = u32::MAX;
    let tiles = (claimed as usize - 128) / 12;
    let images = npy_bytes("|u1", &format!("({tiles}, 2, 2, 3)"), false, &[0u8; 48]);
    let mut archive = npz(&[("test_images.npy", images)]);
    declare_uncompressed_size(&mut archive, 128 + tiles as u32 * 12);
    let start = Instant::now();
    let error = read_pathmnist_from(Cursor::new(archive), "declared.npz", MedMnistSplit::Test)
        .unwrap_err()
        .to_string();
    assert!(start.elapsed().as_secs_f64() < 1.0);
    assert_one_line(&error);
    assert!(error.contains("limit"), "{error}");

    // An images member of another dtype is refused by name.
    let images = npy_bytes("<i8", "(2, 2, 2, 3)", false, &[0u8; 192]);
    let archive = npz(&[("test_images.npy", images), ("test_labels.npy", labels)]);
    let error = read_pathmnist_from(Cursor::new(archive), "int.npz", MedMnistSplit::Test)
        .unwrap_err()
        .to_string();
    assert_mentions(&error, &["int64", "uint8"]);
}

#[test]
fn an_xyz_atom_count_beyond_the_file_is_an_error_not_an_allocation() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dsgdb9nsd_000001.xyz"),
    )
    .unwrap();
    let body = text.split_once('\n').unwrap().1;
    for count in ["2147483647", "18446744073709551615", "4611686018427387904"] {
        let start = Instant::now();
        let error = parse_qm9_xyz(&format!("{count}\n{body}"), "big.xyz").unwrap_err();
        assert!(start.elapsed().as_secs_f64() < 0.5);
        let message = error.to_string();
        // The fixture's frequency line, read as an atom, is where the parser finds out.
        assert!(
            message.contains("unknown element `1341.307`") && !message.contains('\n'),
            "{message}"
        );
    }
    let error = parse_qm9_xyz(&format!("99999999999999999999999\n{body}"), "big.xyz").unwrap_err();
    assert!(error.to_string().contains("number of atoms"), "{error}");
}

#[test]
fn idx_headers_that_overflow_or_overclaim_are_errors() {
    // The 16-byte file: three dimensions, one of them 0, the others 2³²−1, no data.
    let mut tiny = vec![0, 0, 8, 3, 0, 0, 0, 0];
    tiny.extend_from_slice(&[0xff; 8]);
    assert_eq!(tiny.len(), 16);
    let error = parse_idx(&tiny, "tiny.idx").unwrap_err();
    assert!(error.to_string().contains("overflows"), "{error}");
    // mnist_from_idx itself refuses such arrays instead of panicking.
    let images = IdxArray {
        dims: vec![0, u32::MAX as usize, u32::MAX as usize],
        data: vec![],
    };
    let labels = IdxArray {
        dims: vec![0],
        data: vec![],
    };
    let error = mnist_from_idx(&images, &labels, "tiny.idx").unwrap_err();
    assert!(matches!(error, DatasetError::Shape { .. }), "{error}");
    // A gzip IDX whose header claims 10¹⁰ pixels is refused before decompression…
    let mut header = vec![0, 0, 8, 3];
    for d in [10_000_000u32, 28, 28] {
        header.extend_from_slice(&d.to_be_bytes());
    }
    let error = parse_idx(&gzip(&header), "claims.gz")
        .unwrap_err()
        .to_string();
    assert!(error.contains("limit"), "{error}");
    // …and one that claims less than the limit but holds less is truncated.
    let mut header = vec![0, 0, 8, 3];
    for d in [1000u32, 28, 28] {
        header.extend_from_slice(&d.to_be_bytes());
    }
    header.extend_from_slice(&[0; 100]);
    let error = parse_idx(&gzip(&header), "short.gz").unwrap_err();
    assert!(
        matches!(
            error,
            DatasetError::Truncated {
                expected: 784_000,
                found: 100,
                ..
            }
        ),
        "{error}"
    );
    // Data beyond the declared size, plain or gzip, is an error.
    let mut one = vec![0, 0, 8, 1, 0, 0, 0, 2, 5, 6, 7];
    assert!(parse_idx(&one, "extra").is_err());
    assert!(parse_idx(&gzip(&one), "extra.gz").is_err());
    one.pop();
    assert_eq!(parse_idx(&gzip(&one), "ok.gz").unwrap().data, vec![5, 6]);
}

#[test]
fn tiff_images_beyond_the_pixel_limit_are_refused() {
    let t = tiff_huge_dimensions();
    let start = Instant::now();
    let error = decode_tiff_rgb(Cursor::new(t), Path::new("huge.tif")).unwrap_err();
    assert!(start.elapsed().as_secs_f64() < 0.5);
    assert_one_line(&error.to_string());
    assert!(error.to_string().contains("huge.tif"), "{error}");
}
