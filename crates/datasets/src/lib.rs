//! # entk-datasets: the real data behind entk's experiments
//!
//! Readers and task builders for the data sets of docs/theory.md#experiments, returning `f64` ndarray arrays
//! in the layouts of docs/conventions.md#arrays-and-index-order:
//!
//! | data | layout |
//! |---|---|
//! | images ([`LabelledImages`]) | `(N, H, W, C)`, intensities in `[0, 1]` |
//! | S² signals ([`qm9::Qm9Featurizer`]) | `(N, 2L, 2L−1, C)` on the Driscoll–Healy grid `θ_j = π(2j+1)/(4L)`, `φ_k = 2πk/(2L−1)`; QM9 adds an atom-slot axis: `(M, 29, 2L, 2L−1, C)` |
//! | labels ([`one_hot`], [`centred_one_hot`], [`qm9::atomization_targets`]) | `(N, K)` |
//!
//! Modules:
//! - [`qm9`]: molecules from the qm9pack wheel, qm9pack CSV or original `.xyz` files; an
//!   embedded 2,000-molecule sample; per-atom S² features (docs/theory.md#qm9-energies); U0 atomization
//!   energies (Hartree, meV) and target standardisation.
//! - [`mnist`]: IDX reader, an embedded 2,000-digit sample, rotated MNIST (continuous or C4).
//! - [`textures`]: embedded brick / grass / gravel textures and a rotation-invariant
//!   patch-classification task.
//! - [`npy`]: defensive `.npy` reading (sizes checked before allocating, exact integer
//!   conversion), shared by the `.npz` readers and the CLI.
//! - [`histology`]: NCT-CRC-HE-100K (TIFF folders) and PathMNIST (`.npz`) readers for users who
//!   download them.
//! - Shared: [`LabelledImages`], seeded splits ([`train_test_indices`]), image rotation
//!   ([`rot90`], [`rotate_bilinear`], [`RotationMode`]), label encodings, [`DatasetError`].
//!
//! Every random draw is seeded (ChaCha8, [`seeded_rng`]), and the embedded samples make the
//! default runs independent of the network and of files. Licences and regeneration commands of
//! the embedded data: `crates/datasets/data/NOTICE.md`.
//!
//! ```
//! use entk_datasets::qm9::{embedded_qm9_sample, FeatureConfig, Qm9Featurizer};
//! let molecules = embedded_qm9_sample().unwrap();
//! let featurizer = Qm9Featurizer::new(FeatureConfig { bandlimit: 2, ..Default::default() }).unwrap();
//! let features = featurizer.featurize(&molecules[..3]).unwrap();
//! assert_eq!(features.signals.shape(), &[3, 29, 4, 3, 10]);
//! assert_eq!(features.slot(0).shape(), &[3, 4, 3, 10]);
//! ```

mod compressed;
mod error;
pub mod histology;
mod image_resize;
mod image_rotation;
mod labelled_images;
mod labels;
pub mod mnist;
pub mod npy;
pub mod qm9;
mod split;
pub mod textures;

pub use error::DatasetError;
pub use image_resize::resize_area;
pub use image_rotation::{rot90, rotate_bilinear, ImageRotation, RotationMode};
pub use labelled_images::{LabelledImages, RotatedImages, RotatedSplit};
pub use labels::{accuracy, argmax_rows, centred_one_hot, one_hot};
pub use split::{seeded_rng, train_test_indices, TrainTestIndices};
