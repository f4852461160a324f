//! Histology (docs/theory.md#histology): readers for data the user downloads.
//!
//! - [`read_nct_crc_he`]: NCT-CRC-HE-100K TIFF tiles, resized to 32×32 RGB.
//! - [`read_pathmnist`]: MedMNIST's `pathmnist.npz` (28×28 RGB, pre-split).
//!
//! Both give [`crate::LabelledImages`] `(N, H, W, 3)` in `[0, 1]` with the nine classes of
//! [`HISTOLOGY_CLASSES`]; for the protocol use centred one-hot labels
//! ([`crate::LabelledImages::centred_one_hot`]).

mod nct_crc;
mod pathmnist;
mod tiff_image;

pub use nct_crc::{read_nct_crc_he, NctCrcOptions};
pub use pathmnist::{read_pathmnist, read_pathmnist_from, MedMnistSplit};
pub use tiff_image::{decode_tiff_rgb, read_tiff_rgb, TIFF_MAX_PIXELS};

/// The nine tissue classes of NCT-CRC-HE-100K in label order (alphabetical): adipose,
/// background, debris, lymphocytes, mucus, smooth muscle, normal colon mucosa,
/// cancer-associated stroma, colorectal adenocarcinoma epithelium. PathMNIST uses the same
/// order.
pub const HISTOLOGY_CLASSES: [&str; 9] = [
    "ADI", "BACK", "DEB", "LYM", "MUC", "MUS", "NORM", "STR", "TUM",
];
