//! Defensive `.npy` reading, shared by the CLI's array inputs and the `.npz` readers.
//!
//! Every size is validated before anything is allocated: the header must fit in the bytes that
//! are there (and in [`NPY_MAX_HEADER_BYTES`]), the dtype must be one the caller accepts, and
//! `shape × item size` must equal the number of data bytes that follow the header — so a
//! 192-byte file that claims 10¹² values is refused in microseconds. Sources whose length is
//! only declared (a compressed archive member) are also held to [`MAX_DECODED_BYTES`] of `f64`
//! output, and are never read past their declared end, which caps decompression.
//!
//! Values come out as `f64`, in standard (row-major) layout, whatever the file's byte order or
//! `fortran_order`. Floats (`float64`, `float32`) convert exactly; integer and bool dtypes are
//! accepted only where the caller asks for them ([`Accept`]), and convert exactly too: an
//! integer with `|v| > 2⁵³`, which `f64` cannot hold, is an error, not a rounded value.
//!
//! Errors ([`NpyError`]) are one line, name dtypes as numpy does (`int64`, not `'<i8'` alone)
//! and say what is truncated with the expected and actual sizes.

use std::fmt;
use std::io::{Cursor, Read};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::npy::header::{Header, Layout, ParseHeaderError, ReadHeaderError};
use thiserror::Error;

use crate::compressed::read_up_to;

/// The longest header accepted, in bytes (numpy itself refuses headers over 10,000 bytes
/// unless told otherwise).
pub const NPY_MAX_HEADER_BYTES: usize = 64 * 1024;

/// The most bytes of `f64` output a compressed source (an `.npz` member, a `.gz` file) may
/// declare: 4 GiB, 2²⁹ values. Larger arrays are refused before anything is decompressed.
/// Plain files are not held to it: their length is real, not declared.
pub const MAX_DECODED_BYTES: u64 = 4 << 30;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Deepest bracket nesting accepted in a header (a real one nests 2 deep).
const MAX_HEADER_NESTING: usize = 16;
/// `f64` represents every integer of magnitude up to 2⁵³ exactly.
const EXACT_INTEGER_LIMIT: u64 = 1 << 53;

/// Which element types a caller accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// `float64` and `float32` only (inputs of kernels).
    Floats,
    /// Integers and bools only (class labels of an image archive).
    Integers,
    /// Floats, integers and bools (regression or class labels).
    FloatsOrIntegers,
}

impl Accept {
    fn admits(self, kind: DtypeKind) -> bool {
        let is_float = kind == DtypeKind::Float;
        match self {
            Accept::Floats => is_float,
            Accept::Integers => !is_float,
            Accept::FloatsOrIntegers => true,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Accept::Floats => "float64 or float32",
            Accept::Integers => "an integer or bool dtype",
            Accept::FloatsOrIntegers => "float64, float32, or an integer or bool dtype",
        }
    }
}

/// The kind of a supported element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtypeKind {
    /// IEEE float (`f4`, `f8`).
    Float,
    /// Signed integer (`i1`…`i8`).
    Signed,
    /// Unsigned integer (`u1`…`u8`).
    Unsigned,
    /// Bool (`b1`), one byte, 0 or 1.
    Bool,
}

/// A supported element type: kind, size in bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NpyDtype {
    /// Float, signed, unsigned or bool.
    pub kind: DtypeKind,
    /// Bytes per element (1, 2, 4 or 8; floats 4 or 8).
    pub size: usize,
    /// Big-endian (`>`) rather than little-endian (`<`, `|`, `=` on this machine).
    pub big_endian: bool,
}

impl NpyDtype {
    /// Parses a numpy type descriptor such as `<f8`, `|u1`, `b` or `?`; `None` for types this
    /// reader does not support (float16, complex, strings, objects, structured types, …).
    pub fn from_descr(descr: &str) -> Option<Self> {
        let one_byte = |kind| NpyDtype {
            kind,
            size: 1,
            big_endian: false,
        };
        match descr {
            "b" => return Some(one_byte(DtypeKind::Signed)),
            "B" => return Some(one_byte(DtypeKind::Unsigned)),
            "?" => return Some(one_byte(DtypeKind::Bool)),
            _ => {}
        }
        let (big_endian, rest) = match descr.as_bytes().first()? {
            b'<' | b'|' => (false, &descr[1..]),
            b'=' => (cfg!(target_endian = "big"), &descr[1..]),
            b'>' => (true, &descr[1..]),
            _ => (false, descr),
        };
        let mut chars = rest.chars();
        let kind = match chars.next()? {
            'f' => DtypeKind::Float,
            'i' => DtypeKind::Signed,
            'u' => DtypeKind::Unsigned,
            'b' => DtypeKind::Bool,
            _ => return None,
        };
        let size: usize = chars.as_str().parse().ok()?;
        let valid = match kind {
            DtypeKind::Float => matches!(size, 4 | 8),
            DtypeKind::Signed | DtypeKind::Unsigned => matches!(size, 1 | 2 | 4 | 8),
            DtypeKind::Bool => size == 1,
        };
        valid.then_some(NpyDtype {
            kind,
            size,
            big_endian,
        })
    }

    /// Converts one element (`bytes.len() == self.size`) to `f64`; `None` for an integer that
    /// `f64` cannot represent exactly, or a bool byte other than 0 and 1.
    fn to_f64(self, bytes: &[u8]) -> Option<f64> {
        let mut b = [0u8; 8];
        b[..self.size].copy_from_slice(bytes);
        if self.big_endian {
            b[..self.size].reverse();
        }
        let raw = u64::from_le_bytes(b);
        match (self.kind, self.size) {
            (DtypeKind::Float, 8) => Some(f64::from_bits(raw)),
            (DtypeKind::Float, _) => Some(f64::from(f32::from_bits(raw as u32))),
            (DtypeKind::Bool, _) => (raw <= 1).then_some(raw as f64),
            (DtypeKind::Unsigned, _) => (raw <= EXACT_INTEGER_LIMIT).then_some(raw as f64),
            (DtypeKind::Signed, size) => {
                let shift = 64 - 8 * size as u32;
                let value = ((raw << shift) as i64) >> shift;
                (value.unsigned_abs() <= EXACT_INTEGER_LIMIT).then_some(value as f64)
            }
        }
    }
}

impl fmt::Display for NpyDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = match self.kind {
            DtypeKind::Float => "float",
            DtypeKind::Signed => "int",
            DtypeKind::Unsigned => "uint",
            DtypeKind::Bool => return write!(f, "bool"),
        };
        write!(f, "{base}{}", 8 * self.size)?;
        if self.big_endian && self.size > 1 {
            write!(f, " (big-endian)")?;
        }
        Ok(())
    }
}

/// The numpy name of a type descriptor this reader may not support, for error messages:
/// `'<i8'` → `int64`, `'<c16'` → `complex128`, `'<U5'` → `str (<U5)`.
fn dtype_name(descr: &str) -> String {
    if let Some(dtype) = NpyDtype::from_descr(descr) {
        return dtype.to_string();
    }
    let body = descr.trim_start_matches(['<', '>', '|', '=']);
    let (code, digits) = body.split_at(
        body.find(|c: char| c.is_ascii_digit())
            .unwrap_or(body.len()),
    );
    let bits = digits.parse::<usize>().ok().map(|n| n * 8);
    let named = match (code, bits) {
        ("f", Some(b)) => Some(format!("float{b}")),
        ("c", Some(b)) => Some(format!("complex{b}")),
        ("i", Some(b)) => Some(format!("int{b}")),
        ("u", Some(b)) => Some(format!("uint{b}")),
        ("S", _) | ("a", _) => Some("bytes".into()),
        ("U", _) => Some("str".into()),
        ("O", _) => Some("object".into()),
        ("V", _) => Some("void".into()),
        (c, _) if c.starts_with('M') => Some("datetime64".into()),
        (c, _) if c.starts_with('m') => Some("timedelta64".into()),
        _ => None,
    };
    let shown: String = descr.chars().take(24).collect();
    match named {
        Some(name) => format!("{name} ('{shown}')"),
        None => format!("'{shown}'"),
    }
}

/// A validated `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: NpyDtype,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Column-major data (`fortran_order: True`).
    pub fortran_order: bool,
    /// Bytes before the data (magic, version, length field, header text).
    pub data_offset: u64,
    /// The source's length is real (a plain file), not merely declared: the data is known
    /// to be there, so its buffer is reserved at once rather than grown as it arrives.
    pub length_is_real: bool,
}

impl NpyHeader {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The number of data bytes, `len × item size`.
    pub fn data_bytes(&self) -> u64 {
        self.len() as u64 * self.dtype.size as u64
    }
}

/// What is wrong with an `.npy` array (one line each).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NpyError {
    /// The bytes do not start with `\x93NUMPY`.
    #[error("not an .npy array (it does not start with the magic string \\x93NUMPY)")]
    NotNpy,
    /// A format version other than 1.0, 2.0 and 3.0.
    #[error("unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)")]
    Version {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// Fewer bytes than the header needs.
    #[error("truncated header: the header needs {expected} bytes, the file holds {found}")]
    TruncatedHeader {
        /// Bytes the header needs.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// Fewer data bytes than the shape and dtype need.
    #[error(
        "truncated data: shape {shape:?} of {dtype} needs {expected} data bytes, but {found} \
         follow the header"
    )]
    TruncatedData {
        /// Declared shape.
        shape: Vec<usize>,
        /// Declared dtype.
        dtype: String,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// More data bytes than the shape and dtype need.
    #[error(
        "{extra} unexpected bytes after the {expected} data bytes of shape {shape:?} of {dtype}"
    )]
    ExtraBytes {
        /// Declared shape.
        shape: Vec<usize>,
        /// Declared dtype.
        dtype: String,
        /// Bytes needed.
        expected: u64,
        /// Bytes beyond them.
        extra: u64,
    },
    /// The header text is malformed.
    #[error("invalid header: {0}")]
    Header(String),
    /// A dtype the caller does not accept.
    #[error("unsupported dtype {found}; expected {expected}")]
    Dtype {
        /// The dtype found, by name.
        found: String,
        /// What the caller accepts.
        expected: &'static str,
    },
    /// A compressed source declares more than [`MAX_DECODED_BYTES`] of `f64` output.
    #[error(
        "shape {shape:?} would take {bytes} bytes as f64, more than the {limit}-byte limit for \
         compressed arrays; refusing to decompress it"
    )]
    TooLarge {
        /// Declared shape.
        shape: Vec<usize>,
        /// Bytes as `f64`.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// An integer `f64` cannot hold exactly, or a bool byte other than 0/1.
    #[error("value at flat index {index} of {dtype} cannot be represented exactly as f64 ({why})")]
    Inexact {
        /// Row-major index.
        index: usize,
        /// The dtype.
        dtype: String,
        /// Why (`|v| > 2^53`, `bool byte 7`).
        why: String,
    },
    /// The reader failed mid-file.
    #[error("read error: {0}")]
    Io(String),
}

/// How far the bytes of a source can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLength {
    /// A plain file's real length.
    Real(u64),
    /// A compressed member's declared uncompressed length: also held to [`MAX_DECODED_BYTES`].
    Declared(u64),
}

impl SourceLength {
    fn bytes(self) -> u64 {
        match self {
            SourceLength::Real(n) | SourceLength::Declared(n) => n,
        }
    }
}

/// Reads until `buf` is full or the source ends; returns how many bytes there were.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize, NpyError> {
    read_up_to(reader, buf).map_err(|e| NpyError::Io(e.to_string()))
}

/// Reads and validates the header of an `.npy` source of `length` bytes, leaving `reader` at
/// the first data byte. Checks the dtype against `accept` and the data size against `length`
/// (and, for declared lengths, [`MAX_DECODED_BYTES`]) before returning.
pub fn read_npy_header<R: Read>(
    reader: &mut R,
    length: SourceLength,
    accept: Accept,
) -> Result<NpyHeader, NpyError> {
    let total = length.bytes();
    let mut prefix = [0u8; 12];
    let got = read_full(reader, &mut prefix[..8])?;
    if got < 6 || &prefix[..6] != MAGIC {
        return if got < 6 && prefix[..got] == MAGIC[..got] && got > 0 {
            Err(NpyError::TruncatedHeader {
                expected: 10,
                found: got as u64,
            })
        } else {
            Err(NpyError::NotNpy)
        };
    }
    if got < 8 {
        return Err(NpyError::TruncatedHeader {
            expected: 10,
            found: got as u64,
        });
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let length_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(NpyError::Version { major, minor }),
    };
    let prefix_len = 8 + length_bytes;
    let got = 8 + read_full(reader, &mut prefix[8..prefix_len])?;
    if got < prefix_len {
        return Err(NpyError::TruncatedHeader {
            expected: prefix_len as u64,
            found: got as u64,
        });
    }
    let header_len = if length_bytes == 2 {
        u64::from(u16::from_le_bytes([prefix[8], prefix[9]]))
    } else {
        u64::from(u32::from_le_bytes([
            prefix[8], prefix[9], prefix[10], prefix[11],
        ]))
    };
    let data_offset = prefix_len as u64 + header_len;
    if data_offset > total {
        return Err(NpyError::TruncatedHeader {
            expected: data_offset,
            found: total,
        });
    }
    if header_len > NPY_MAX_HEADER_BYTES as u64 {
        return Err(NpyError::Header(format!(
            "the header is {header_len} bytes long, more than the {NPY_MAX_HEADER_BYTES} allowed"
        )));
    }
    let mut text = vec![0u8; header_len as usize];
    let got = read_full(reader, &mut text)?;
    if got < text.len() {
        return Err(NpyError::TruncatedHeader {
            expected: data_offset,
            found: (prefix_len + got) as u64,
        });
    }
    let (dtype, shape, fortran_order) = parse_header_text(&prefix[..prefix_len], &text, accept)?;
    let dtype = NpyDtype::from_descr(&dtype)
        .filter(|d| accept.admits(d.kind))
        .ok_or_else(|| NpyError::Dtype {
            found: dtype_name(&dtype),
            expected: accept.describe(),
        })?;
    let header = NpyHeader {
        dtype,
        data_offset,
        shape,
        fortran_order,
        length_is_real: matches!(length, SourceLength::Real(_)),
    };
    let len = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize / 8);
    let present = total - data_offset;
    let Some(expected) = len.and_then(|n| (n as u64).checked_mul(dtype.size as u64)) else {
        return Err(NpyError::TruncatedData {
            shape: header.shape,
            dtype: dtype.to_string(),
            expected: u64::MAX,
            found: present,
        });
    };
    if expected > present {
        return Err(NpyError::TruncatedData {
            shape: header.shape,
            dtype: dtype.to_string(),
            expected,
            found: present,
        });
    }
    if expected < present {
        return Err(NpyError::ExtraBytes {
            shape: header.shape,
            dtype: dtype.to_string(),
            expected,
            extra: present - expected,
        });
    }
    if let SourceLength::Declared(_) = length {
        let bytes = header.len() as u64 * 8;
        if bytes > MAX_DECODED_BYTES {
            return Err(NpyError::TooLarge {
                shape: header.shape,
                bytes,
                limit: MAX_DECODED_BYTES,
            });
        }
    }
    Ok(header)
}

/// Parses the header dictionary: `(descr, shape, fortran_order)`, with one-line errors.
fn parse_header_text(
    prefix: &[u8],
    text: &[u8],
    accept: Accept,
) -> Result<(String, Vec<usize>, bool), NpyError> {
    let mut depth = 0usize;
    for &b in text {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_HEADER_NESTING {
                    return Err(NpyError::Header(format!(
                        "brackets nest more than {MAX_HEADER_NESTING} deep"
                    )));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(text);
    let header = Header::from_reader(&mut Cursor::new(bytes)).map_err(header_error)?;
    // `descr` is a Python literal; a plain dtype is a string, shown as `'<f8'`.
    let literal = header.type_descriptor.to_string();
    let descr = literal
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .filter(|s| !s.contains(['\'', '\\']))
        .map(str::to_string)
        .ok_or_else(|| NpyError::Dtype {
            found: if literal.starts_with('[') {
                "a structured dtype".into()
            } else {
                format!("descriptor {}", one_line(&literal))
            },
            expected: accept.describe(),
        })?;
    Ok((descr, header.shape, header.layout == Layout::Fortran))
}

fn header_error(e: ReadHeaderError) -> NpyError {
    let reason = match e {
        ReadHeaderError::Io(e) => return NpyError::Io(e.to_string()),
        ReadHeaderError::Parse(ParseHeaderError::MissingKey(key)) => {
            let key = if key == "shaper" { "shape".into() } else { key };
            format!("the header dict lacks the key '{key}'")
        }
        ReadHeaderError::Parse(ParseHeaderError::DictParse(e)) => {
            // The parser's message is a multi-line picture; keep its position and expectation.
            let message = e.to_string();
            let parts: Vec<&str> = message
                .lines()
                .map(|l| l.trim().trim_start_matches(['-', '>', '=', '|']).trim())
                .filter(|l| {
                    !l.is_empty() && !l.starts_with(|c: char| c.is_ascii_digit() && l.contains('|'))
                })
                .collect();
            format!(
                "the header is not a Python dict literal ({})",
                parts.join("; ")
            )
        }
        ReadHeaderError::Parse(other) => one_line(&other.to_string()),
    };
    NpyError::Header(reason)
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(200).collect()
}

/// Reads a whole `.npy` source (header and data) as `f64`, in standard layout.
pub fn read_npy<R: Read>(
    mut reader: R,
    length: SourceLength,
    accept: Accept,
) -> Result<ArrayD<f64>, NpyError> {
    let header = read_npy_header(&mut reader, length, accept)?;
    read_npy_data(&mut reader, &header)
}

/// Reads the data that follows `header` (see [`read_npy_header`]), never more than its
/// declared size plus one byte (to detect extra data).
pub fn read_npy_data<R: Read>(reader: &mut R, header: &NpyHeader) -> Result<ArrayD<f64>, NpyError> {
    let dtype = header.dtype;
    let len = header.len();
    const GROWN_RESERVE: usize = 1 << 20;
    let mut values = Vec::with_capacity(if header.length_is_real {
        len
    } else {
        len.min(GROWN_RESERVE)
    });
    let mut buffer = vec![0u8; dtype.size * 8192];
    let mut remaining = len;
    while remaining > 0 {
        let chunk = remaining.min(8192);
        let want = chunk * dtype.size;
        let got = read_full(reader, &mut buffer[..want])?;
        if got < want {
            return Err(NpyError::TruncatedData {
                shape: header.shape.clone(),
                dtype: dtype.to_string(),
                expected: header.data_bytes(),
                found: ((len - remaining) * dtype.size + got) as u64,
            });
        }
        for element in buffer[..want].chunks_exact(dtype.size) {
            match dtype.to_f64(element) {
                Some(v) => values.push(v),
                None => {
                    return Err(NpyError::Inexact {
                        index: values.len(),
                        dtype: dtype.to_string(),
                        why: if dtype.kind == DtypeKind::Bool {
                            format!("bool byte {}", element[0])
                        } else {
                            "|v| > 2^53".into()
                        },
                    })
                }
            }
        }
        remaining -= chunk;
    }
    let mut probe = [0u8; 1];
    if read_full(reader, &mut probe)? > 0 {
        return Err(NpyError::ExtraBytes {
            shape: header.shape.clone(),
            dtype: dtype.to_string(),
            expected: header.data_bytes(),
            extra: 1,
        });
    }
    let shape = IxDyn(&header.shape);
    let array = if header.fortran_order {
        ArrayD::from_shape_vec(shape.f(), values).map(|a| a.as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(shape, values)
    };
    array.map_err(|e| NpyError::Header(format!("shape {:?}: {e}", header.shape)))
}

/// Reads an `.npy` file, checking its header against the file's real length.
pub fn read_npy_file(path: &Path, accept: Accept) -> Result<ArrayD<f64>, NpyFileError> {
    let file = std::fs::File::open(path).map_err(NpyFileError::Io)?;
    let length = file.metadata().map_err(NpyFileError::Io)?.len();
    read_npy(
        std::io::BufReader::new(file),
        SourceLength::Real(length),
        accept,
    )
    .map_err(NpyFileError::Npy)
}

/// The error of [`read_npy_file`]: the file cannot be opened, or its content is wrong.
#[derive(Debug, Error)]
pub enum NpyFileError {
    /// Opening the file failed.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// The content is not an acceptable `.npy` array.
    #[error("{0}")]
    Npy(NpyError),
}
