//! The permutation-invariant QM9 model (docs/theory.md#qm9-energies, the "Option"): the SO(3)-CNN atom network
//! shared over the atoms of a molecule and summed, a `deep_set` over atoms, so the molecule
//! kernel is `K_mol(A, B) = Σ_{i∈A} Σ_{j∈B} K_atom(A_i, B_j)` over all pairs of real atoms. It is
//! invariant under any reordering of the atoms and size-extensive, unlike the paper's per-slot
//! model, whose kernel `Σ_i K_atom(A_i, B_i)` pairs atoms by their position in the file.
//!
//! All pairs mean about 18× more atom pairs than matching slots, so the engine computes one
//! atom-level Gram matrix over the unique atoms (train × train, and test × train) and assembles
//! the molecule sums from it ([`entk_ntk::Network::gram_features`] on sets).

use ndarray::Axis;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};

use entk_datasets::qm9::{Molecule, Qm9Featurizer};
use entk_ntk::{Features, Gram, Network, Signature};

use super::common::gram_features;
use super::ExperimentError;
use crate::progress::Stage;

/// Default training molecules per split of the set model and of the equal-size comparison. The
/// all-pairs kernel costs ≈ 18² times the per-slot one per molecule pair, so the set model runs
/// on each draw's leading `SET_TRAIN + SET_TEST` molecules: 24 molecules, ≈ 440 atoms, ≈ 97,000
/// atom pairs per draw, to keep `entk experiment qm9` within its budget (24 + 12 molecules, as
/// before `entk-experiments-5` on one shared sub-pool, would cost ≈ 210,000 per draw).
pub const DEFAULT_SET_TRAIN: usize = 16;
/// Default test molecules per split of the set model.
pub const DEFAULT_SET_TEST: usize = 8;
/// Test molecules (of the first draw's first split) whose atoms are shuffled for the order
/// check.
pub const DEFAULT_SHUFFLED: usize = 6;

/// The set model: `deep_set` (sum over atoms) of the SO(3)-CNN atom network `atom`.
pub fn set_network(atom: &Value) -> Value {
    json!({"layers": [{"type": "deep_set", "reduce": "sum", "layers": atom["layers"].clone()}]})
}

/// Every molecule as the set of its atoms' S² signals `(2L, 2L−1, C)` (real atoms only, in file
/// order).
pub fn molecule_sets(
    featurizer: &Qm9Featurizer,
    molecules: &[Molecule],
) -> Result<Vec<Features>, ExperimentError> {
    let (signals, counts) = featurizer.real_atom_signals(molecules)?;
    let (_, h, w, c) = signals.dim();
    let element = Signature {
        layout: entk_ntk::Layout::Pixels { h, w },
        channels: c,
    };
    let mut out = Vec::with_capacity(counts.len());
    let mut row = 0;
    for n in counts {
        let atoms: Vec<Features> = signals
            .slice_axis(Axis(0), (row..row + n).into())
            .outer_iter()
            .map(entk_ntk::image_features)
            .collect();
        out.push(Features::set(element.clone(), &atoms)?);
        row += n;
    }
    Ok(out)
}

/// The same molecules with their atoms in a random order (one seeded permutation per molecule;
/// a molecule of two or more atoms is never left in its original order).
pub fn shuffled(molecules: &[Molecule], seed: u64) -> Result<Vec<Molecule>, ExperimentError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    molecules
        .iter()
        .map(|m| {
            let n = m.num_atoms();
            let mut order: Vec<usize> = (0..n).collect();
            while n > 1 && order.iter().enumerate().all(|(i, &j)| i == j) {
                order.shuffle(&mut rng);
            }
            Ok(Molecule::new(
                m.id(),
                order.iter().map(|&i| m.elements()[i]).collect(),
                order.iter().map(|&i| m.positions()[i]).collect(),
                m.u0_hartree(),
            )?)
        })
        .collect()
}

/// Real atoms of `molecules`.
pub fn atoms(molecules: &[Molecule]) -> usize {
    molecules.iter().map(Molecule::num_atoms).sum()
}

/// Atom pairs of the set model's symmetric Gram matrix over `pool` (each unordered pair and each
/// atom with itself once) and of its cross Gram matrix `test × train` (cross pairs and the self
/// pairs of both sides, as the engine counts them).
pub fn atom_pairs(pool: &[Molecule], cross: Option<(&[Molecule], &[Molecule])>) -> usize {
    let a = atoms(pool);
    let c = cross.map_or(0, |(te, tr)| {
        let (x, y) = (atoms(te), atoms(tr));
        x * y + x + y
    });
    a * (a + 1) / 2 + c
}

/// NNGP/NTK Gram matrices of the set model: `x1 × x1` (`x2` `None`) or `x1 × x2`, reporting
/// progress to `stage` (in the engine's set-level units, [`super::common::gram_units`]); through
/// the experiments' tile store when there is one ([`super::common::gram_features`]).
pub fn set_gram(
    net: &Network,
    x1: &[Features],
    x2: Option<&[Features]>,
    threads: usize,
    stage: &Stage<'_>,
) -> Result<Gram, ExperimentError> {
    gram_features(net, x1, x2, threads, Some(stage))
}
