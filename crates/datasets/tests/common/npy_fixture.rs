#![allow(dead_code)]
//! Hand-built `.npy`, IDX, zip and TIFF bytes, independent of every reader and writer under test. Shared by the
//! hostile-input tests of `entk-datasets` and `entk-cli` and the fuzz seeds of the umbrella
//! crate (included with `#[path]`).

/// A `.npy` of format version `major`.0 (1, 2 or 3): magic, version, header length, the header
/// dict for `descr`/`shape`/`fortran` padded with spaces to a multiple of 64 bytes as numpy
/// does, then `data` as given.
pub fn npy_bytes_version(
    major: u8,
    descr: &str,
    shape: &str,
    fortran: bool,
    data: &[u8],
) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    let prefix = if major == 1 { 10 } else { 12 };
    while !(prefix + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

/// [`npy_bytes_version`] for format 1.0, numpy's default.
pub fn npy_bytes(descr: &str, shape: &str, fortran: bool, data: &[u8]) -> Vec<u8> {
    npy_bytes_version(1, descr, shape, fortran, data)
}

/// An IDX file of unsigned bytes (type code `0x08`) with the given dimensions, then `data` as
/// given.
pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// Patches every zip entry's uncompressed size (local header and central directory).
pub fn declare_uncompressed_size(zip: &mut [u8], size: u32) {
    for i in 0..zip.len().saturating_sub(30) {
        if zip[i..].starts_with(b"PK\x03\x04") {
            zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
        } else if zip[i..].starts_with(b"PK\x01\x02") {
            zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
        }
    }
}

/// A TIFF whose directory declares a 100000×100000 RGB image in 8 bytes of data.
pub fn tiff_huge_dimensions() -> Vec<u8> {
    let mut t = b"II*\0\x08\0\0\0".to_vec();
    let entries: [(u16, u16, u32, u32); 8] = [
        (256, 4, 1, 100_000),
        (257, 4, 1, 100_000),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 8),
        (277, 3, 1, 3),
        (279, 4, 1, 30_000_000),
    ];
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        for field in [
            &tag.to_le_bytes()[..],
            &kind.to_le_bytes(),
            &count.to_le_bytes(),
            &value.to_le_bytes(),
        ] {
            t.extend_from_slice(field);
        }
    }
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}
