//! The one error type of the crate: every reader and builder returns [`DatasetError`].
//!
//! Each variant names the source it was reading (a path, an archive member or an embedded
//! sample) so that a one-line message says where the problem is and, for missing data, what to
//! download.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Everything that can go wrong while reading or preparing a data set.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// A file or folder could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A data set that must be downloaded by the user is not at the given path.
    #[error("{dataset} not found at {path}: {hint}")]
    MissingData {
        /// Which data set (e.g. `NCT-CRC-HE-100K`).
        dataset: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// What to download and where to put it.
        hint: String,
    },
    /// A zip archive (a wheel or an `.npz`) is corrupt, truncated or not a zip file.
    #[error("{source_name}: not a readable zip archive: {source}")]
    Zip {
        /// The archive.
        source_name: String,
        /// The zip library's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// An archive lacks a member that the format requires.
    #[error("{source_name}: no member {member} ({hint})")]
    MissingMember {
        /// The archive.
        source_name: String,
        /// The member looked for.
        member: String,
        /// What kind of archive was expected.
        hint: &'static str,
    },
    /// A text or binary record is malformed.
    #[error("{source_name}{}: {reason}", location(*.line))]
    Parse {
        /// File, archive member or sample being read.
        source_name: String,
        /// 1-based line (text formats) or record number, where known.
        line: Option<u64>,
        /// What is wrong, with the offending text where short.
        reason: String,
    },
    /// A CSV file could not be tokenised (bad quoting, invalid UTF-8, I/O error mid-file).
    #[error("{source_name}: invalid CSV: {source}")]
    Csv {
        /// The CSV file or member.
        source_name: String,
        /// The csv library's error (it carries the position).
        #[source]
        source: csv::Error,
    },
    /// A molecule contains an element other than H, C, N, O, F.
    #[error(
        "{source_name}: molecule {molecule}: unknown element `{symbol}` (QM9 has only H, C, N, \
         O, F)"
    )]
    UnknownElement {
        /// File being read.
        source_name: String,
        /// The molecule's id (QM9 index) or its position in the file.
        molecule: u64,
        /// The symbol found.
        symbol: String,
    },
    /// A required value (e.g. the U0 energy) is missing or empty.
    #[error("{source_name}{}: missing {what}", location(*.line))]
    MissingValue {
        /// File being read.
        source_name: String,
        /// 1-based line, where known.
        line: Option<u64>,
        /// Which value (column name or field).
        what: String,
    },
    /// A binary file ends before the data its header announces.
    #[error("{source_name}: truncated: header announces {expected} bytes of data, found {found}")]
    Truncated {
        /// The file.
        source_name: String,
        /// Bytes announced.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// A TIFF image could not be decoded.
    #[error("{path}: cannot decode TIFF: {source}")]
    Tiff {
        /// The image file.
        path: PathBuf,
        /// The tiff library's error.
        #[source]
        source: tiff::TiffError,
    },
    /// A `.npy` array (alone or inside an `.npz`) could not be read.
    #[error("{source_name}: cannot read array {array}: {reason}")]
    Npy {
        /// The file.
        source_name: String,
        /// The array name (`train_images`, …).
        array: String,
        /// The reader's message.
        reason: String,
    },
    /// An array or image has a shape other than the one required.
    #[error("{what}: expected shape {expected}, got {got:?}")]
    Shape {
        /// Which array.
        what: String,
        /// The required shape, in words (e.g. `(N, 28, 28, 3)`).
        expected: String,
        /// The shape found.
        got: Vec<usize>,
    },
    /// More items were requested than the data set holds.
    #[error("{what}: requested {requested}, but only {available} are available")]
    NotEnoughData {
        /// What was requested (e.g. `training + test molecules`).
        what: String,
        /// How many were asked for.
        requested: usize,
        /// How many exist.
        available: usize,
    },
    /// A parameter is out of range (zero bandlimit, empty power list, bad patch size, …).
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// Which parameter.
        what: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A grid or resampling operator could not be built.
    #[error(transparent)]
    Group(#[from] entk_groups::GroupError),
}

fn location(line: Option<u64>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

impl DatasetError {
    /// An [`DatasetError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.into(),
            source,
        }
    }

    /// A [`DatasetError::Zip`] for the archive `source_name`.
    pub fn zip(source_name: &str, source: zip::result::ZipError) -> Self {
        DatasetError::Zip {
            source_name: source_name.to_string(),
            source,
        }
    }

    /// A [`DatasetError::Tiff`] for the image file `path`.
    pub fn tiff(path: &Path, source: tiff::TiffError) -> Self {
        DatasetError::Tiff {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A [`DatasetError::Parse`] at an optional line.
    pub fn parse(
        source_name: impl Into<String>,
        line: Option<u64>,
        reason: impl Into<String>,
    ) -> Self {
        DatasetError::Parse {
            source_name: source_name.into(),
            line,
            reason: reason.into(),
        }
    }

    /// `Ok` when `value ≥ 1`; else the [`DatasetError::InvalidArgument`] "`what` must be at
    /// least 1".
    pub fn at_least_one(what: &'static str, value: usize) -> Result<(), Self> {
        match value {
            0 => Err(Self::invalid(what, "must be at least 1")),
            _ => Ok(()),
        }
    }

    /// A [`DatasetError::InvalidArgument`].
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        DatasetError::InvalidArgument {
            what,
            reason: reason.into(),
        }
    }
}
