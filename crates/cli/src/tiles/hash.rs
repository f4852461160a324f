//! Content hashes of inputs, specs and tiles: 128-bit FNV-1a.
//!
//! These detect accidents (another input file, an edited spec, a torn or truncated tile), not
//! adversaries, so a fast non-cryptographic hash is enough; 128 bits make an accidental
//! collision negligible. Written as 32 lowercase hex digits.

const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
const PRIME: u128 = 0x0000000001000000000000000000013b;

/// An incremental 128-bit FNV-1a hasher.
#[derive(Debug, Clone, Copy)]
pub struct Fnv128(u128);

impl Default for Fnv128 {
    fn default() -> Self {
        Fnv128(OFFSET)
    }
}

impl Fnv128 {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
        self.0 = h;
    }
    /// Feeds a `u64` (little-endian).
    pub fn update_u64(&mut self, v: u64) {
        self.update(&v.to_le_bytes());
    }
    /// Feeds f64 values by their bit patterns (little-endian), so `-0.0 ≠ 0.0` and every NaN
    /// payload counts: two arrays hash equal only when bitwise equal.
    pub fn update_f64s(&mut self, values: impl IntoIterator<Item = f64>) {
        for v in values {
            self.update(&v.to_bits().to_le_bytes());
        }
    }
    /// The digest.
    pub fn finish(&self) -> u128 {
        self.0
    }
    /// The digest as 32 hex digits.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// Bytes of the checksum that ends a tile or record file.
pub const CHECKSUM_BYTES: usize = 16;

/// Starts a tile or record file: its 8-byte magic, `format` (u64) and `identity` (u128), all
/// little-endian; the caller appends the rest and then [`seal`]s it.
pub fn file_start(magic: &[u8; 8], format: u64, identity: u128, capacity: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(capacity);
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&format.to_le_bytes());
    bytes.extend_from_slice(&identity.to_le_bytes());
    bytes
}

/// Appends the FNV-1a-128 checksum of everything before it.
pub fn seal(bytes: &mut Vec<u8>) {
    let mut h = Fnv128::default();
    h.update(bytes);
    bytes.extend_from_slice(&h.finish().to_le_bytes());
}

/// A file written by [`file_start`] and [`seal`] whose checksum matches: its body.
pub struct Sealed<'a>(&'a [u8]);

impl<'a> Sealed<'a> {
    /// The body of `bytes` when its trailing checksum matches (`None`: torn or damaged).
    pub fn open(bytes: &'a [u8]) -> Option<Self> {
        let (body, sum) = bytes.split_at(bytes.len().checked_sub(CHECKSUM_BYTES)?);
        let mut h = Fnv128::default();
        h.update(body);
        (h.finish().to_le_bytes() == sum).then_some(Sealed(body))
    }

    /// Whether it starts with this magic, format and identity.
    pub fn is(&self, magic: &[u8; 8], format: u64, identity: u128) -> bool {
        let stored = u128::from_le_bytes(self.0[16..32].try_into().expect("16 bytes"));
        &self.0[..8] == magic && self.u64_at(8) == format && stored == identity
    }

    /// The little-endian `u64` at byte `at`.
    pub fn u64_at(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.0[at..at + 8].try_into().expect("8 bytes"))
    }

    /// The little-endian f64 values from byte `at` on.
    pub fn f64s_from(&self, at: usize) -> Vec<f64> {
        self.0[at..]
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    }

    /// Bytes of the body.
    pub fn body_len(&self) -> usize {
        self.0.len()
    }
}

/// Hash of an array given as its shape and values (f64 bit patterns): the same numbers in an
/// f32 or f64 file, or a C- or Fortran-ordered one, hash equal after they are read as f64 in
/// logical order.
pub fn array_hash<'a>(shape: &[usize], values: impl IntoIterator<Item = &'a f64>) -> String {
    let mut h = Fnv128::default();
    h.update_u64(shape.len() as u64);
    for &d in shape {
        h.update_u64(d as u64);
    }
    h.update_f64s(values.into_iter().copied());
    h.hex()
}

/// Hash of a text.
pub fn text_hash(text: &str) -> String {
    let mut h = Fnv128::default();
    h.update(text.as_bytes());
    h.hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_128_test_vectors() {
        // Test vectors of the FNV reference (draft-eastlake-fnv, FNV-1a 128-bit).
        assert_eq!(text_hash(""), "6c62272e07bb014262b821756295c58d");
        assert_eq!(text_hash("a"), "d228cb696f1a8caf78912b704e4a8964");
        assert_eq!(text_hash("foobar"), "343e1662793c64bf6f0d3597ba446f18");
    }

    #[test]
    fn array_hash_sees_shape_and_every_bit() {
        let v = [1.0, 2.0, 3.0, 4.0];
        let a = array_hash(&[2, 2], &v);
        assert_ne!(a, array_hash(&[4], &v));
        assert_ne!(a, array_hash(&[2, 2], &[1.0, 2.0, 3.0, 4.0 + 1e-15]));
        assert_ne!(
            array_hash(&[1], &[0.0]),
            array_hash(&[1], &[-0.0]),
            "sign of zero"
        );
        assert_eq!(a, array_hash(&[2, 2], &v.to_vec()));
    }
}
