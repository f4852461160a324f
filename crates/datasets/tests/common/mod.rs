//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

#[path = "../../../../tests/support/messages.rs"]
pub mod messages;

/// A fresh, empty folder under Cargo's per-target scratch space.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("entk-datasets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The path of a file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Builds a zip archive in memory from `(member name, bytes)` pairs (deflate-compressed).
pub fn zip_archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Asserts that `error` is [`DatasetError::NotEnoughData`] for `requested` items of `available`.
pub fn assert_not_enough_data(
    error: &entk_datasets::DatasetError,
    requested: usize,
    available: usize,
) {
    assert!(
        matches!(
            error,
            entk_datasets::DatasetError::NotEnoughData { requested: r, available: a, .. }
                if (*r, *a) == (requested, available)
        ),
        "{error}: expected NotEnoughData for {requested} of {available}"
    );
}

/// The mean and the population variance of `values`.
pub fn mean_and_variance(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance)
}

/// The mean and the (population) standard deviation of the molecules' U0 atomization
/// energies, in hartree.
pub fn atomization_mean_std(molecules: &[entk_datasets::qm9::Molecule]) -> (f64, f64) {
    let energies: Vec<f64> = molecules
        .iter()
        .map(entk_datasets::qm9::Molecule::atomization_energy_hartree)
        .collect();
    let (mean, variance) = mean_and_variance(&energies);
    (mean, variance.sqrt())
}
