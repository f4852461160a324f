//! The embedded QM9 sample: 2,000 molecules compiled into the crate.

use super::{read_qm9_csv, Molecule};
use crate::compressed::gunzip_if_needed;
use crate::DatasetError;

/// The gzip-compressed qm9pack-format CSV (see `data/NOTICE.md` for source, licence and the
/// regeneration command `scripts/make_qm9_sample.py`).
const QM9_SAMPLE_GZ: &[u8] = include_bytes!("../../data/qm9_sample.csv.gz");

/// Number of molecules in the embedded sample.
pub const QM9_SAMPLE_SIZE: usize = 2000;

/// The seed of the Python `random.Random(seed).sample` draw that chose the sample rows.
pub const QM9_SAMPLE_SEED: u64 = 2014;

/// The embedded QM9 sample: 2,000 molecules drawn at random (seed 2014) from the 130,831 of
/// qm9pack 1.0.3, sorted by QM9 index; coordinates rounded to 1e-5 Å, U0 exact. Data CC0
/// (Ramakrishnan et al., Sci. Data 1, 140022, 2014).
pub fn embedded_qm9_sample() -> Result<Vec<Molecule>, DatasetError> {
    const NAME: &str = "embedded QM9 sample";
    let text = gunzip_if_needed(QM9_SAMPLE_GZ.to_vec(), NAME)?;
    read_qm9_csv(text.as_slice(), NAME)
}
