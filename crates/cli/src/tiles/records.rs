//! Durable records of finished work that is not a Gram tile: the results of a unit of
//! finite-network work (an ensemble member, a batch of members), kept so that a killed run
//! loses only the units in flight and a rerun gives the same numbers.
//!
//! A record is a list of f64 values under a key: any text that names everything the values
//! depend on (code version, settings, data, seed). Its file, `DIR/<hash of the key>.bin`, is
//! written as a tile store's manifest is ([`super::store::write_durably`]: `.partial`, `fsync`, rename, `fsync`
//! of the folder) and holds a magic, the format, the key's hash, the count, the values (bit
//! patterns, so they come back bit for bit) and a checksum. A record that is short, torn,
//! foreign or fails its checksum is reported and treated as missing.

use std::path::{Path, PathBuf};

use super::hash::{file_start, seal, Fnv128, Sealed, CHECKSUM_BYTES};
use super::space::check_space;
use super::store::write_durably;
use crate::CliError;

const MAGIC: &[u8; 8] = b"ENTKRECD";
const FORMAT: u64 = 1;
/// magic, format, key hash (16), count.
const HEADER_BYTES: usize = 8 + 8 + 16 + 8;

/// A folder of records.
#[derive(Debug, Clone)]
pub struct RecordStore {
    dir: PathBuf,
}

fn key_hash(key: &str) -> u128 {
    let mut h = Fnv128::default();
    h.update(key.as_bytes());
    h.finish()
}

impl RecordStore {
    /// The records in `dir` (created at the first save).
    pub fn new(dir: &Path) -> Self {
        RecordStore {
            dir: dir.to_path_buf(),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the record under `key`.
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{:032x}.bin", key_hash(key)))
    }

    /// Writes the record durably (after checking that it fits on the disk).
    pub fn save(&self, key: &str, values: &[f64]) -> Result<(), CliError> {
        std::fs::create_dir_all(&self.dir).map_err(CliError::io(&self.dir))?;
        let capacity = HEADER_BYTES + 8 * values.len() + CHECKSUM_BYTES;
        let mut bytes = file_start(MAGIC, FORMAT, key_hash(key), capacity);
        bytes.extend_from_slice(&(values.len() as u64).to_le_bytes());
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        seal(&mut bytes);
        check_space(&self.dir, bytes.len() as u64, "a finished unit of work")?;
        write_durably(&self.path(key), &bytes)
    }

    /// Reads the record under `key`: `Ok(None)` when there is none, `Err(reason)` when a file
    /// is there but unusable (the caller recomputes it).
    pub fn load(&self, key: &str) -> Result<Option<Vec<f64>>, String> {
        let path = self.path(key);
        let name = path.display();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{name}: {e}")),
        };
        if bytes.len() < HEADER_BYTES + CHECKSUM_BYTES {
            return Err(format!("{name} has {} bytes (truncated)", bytes.len()));
        }
        let Some(file) = Sealed::open(&bytes) else {
            return Err(format!("{name} fails its checksum (truncated or damaged)"));
        };
        if !file.is(MAGIC, FORMAT, key_hash(key)) {
            return Err(format!("{name} is not this record"));
        }
        if file.body_len() - HEADER_BYTES != 8 * file.u64_at(32) as usize {
            return Err(format!("{name} holds the wrong number of values (damaged)"));
        }
        Ok(Some(file.f64s_from(HEADER_BYTES)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_bit_for_bit_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = RecordStore::new(&dir.path().join("units"));
        let values = [1.0, -0.0, f64::MIN_POSITIVE, 1.0 / 3.0, f64::NAN];
        assert_eq!(store.load("a").unwrap(), None, "nothing saved yet");
        store.save("a", &values).unwrap();
        let back = store.load("a").unwrap().unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&values));
        assert_eq!(store.load("b").unwrap(), None, "another key");
        // Another key's file under this key's name: foreign.
        std::fs::copy(store.path("a"), store.path("b")).unwrap();
        assert!(store.load("b").unwrap_err().contains("not this record"));
        // Truncated anywhere, or one flipped bit: unusable.
        let full = std::fs::read(store.path("a")).unwrap();
        for len in [0, 10, full.len() - 1] {
            std::fs::write(store.path("a"), &full[..len]).unwrap();
            let e = store.load("a").unwrap_err();
            assert!(e.contains("truncated"), "{e}");
        }
        let mut flipped = full.clone();
        flipped[HEADER_BYTES + 3] ^= 4;
        std::fs::write(store.path("a"), &flipped).unwrap();
        assert!(store.load("a").unwrap_err().contains("checksum"));
        assert!(
            !dir.path().join("units/a.bin.partial").exists(),
            "no partial file left"
        );
    }
}
