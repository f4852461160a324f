//! A QM9 molecule: elements, Cartesian positions in Ångström, and its U0 energy.

use entk_groups::Rotation;
use nalgebra::Vector3;

use super::Element;
use crate::DatasetError;

/// Millielectronvolts per Hartree (docs/theory.md#qm9-energies): `1 Ha = 27211.386 meV`.
pub const MEV_PER_HARTREE: f64 = 27211.386;

/// Converts an energy from Hartree to meV.
pub fn hartree_to_mev(hartree: f64) -> f64 {
    hartree * MEV_PER_HARTREE
}

/// Converts an energy from meV to Hartree.
pub fn mev_to_hartree(mev: f64) -> f64 {
    mev / MEV_PER_HARTREE
}

/// One molecule of QM9.
///
/// - `id`: the QM9 index (1…133885; `dsgdb9nsd_000001.xyz` has id 1).
/// - `elements[i]`, `positions[i]`: atom `i`, positions in Ångström in the source's Cartesian
///   frame, atoms in the source's order (QM9 lists heavy atoms first).
/// - `u0_hartree`: internal energy at 0 K, U0, in Hartree.
///
/// Invariant (checked by [`Molecule::new`]): at least one atom, as many positions as elements,
/// all numbers finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Molecule {
    id: u64,
    elements: Vec<Element>,
    positions: Vec<Vector3<f64>>,
    u0_hartree: f64,
}

impl Molecule {
    /// A molecule from its parts; errors for no atoms, mismatched lengths or non-finite
    /// numbers.
    pub fn new(
        id: u64,
        elements: Vec<Element>,
        positions: Vec<Vector3<f64>>,
        u0_hartree: f64,
    ) -> Result<Self, DatasetError> {
        if elements.is_empty() {
            return Err(DatasetError::invalid(
                "molecule",
                format!("molecule {id} has no atoms"),
            ));
        }
        if elements.len() != positions.len() {
            return Err(DatasetError::invalid(
                "molecule",
                format!(
                    "molecule {id} has {} elements but {} positions",
                    elements.len(),
                    positions.len()
                ),
            ));
        }
        if positions.iter().any(|p| p.iter().any(|v| !v.is_finite())) {
            return Err(DatasetError::invalid(
                "molecule",
                format!("molecule {id} has a non-finite coordinate"),
            ));
        }
        if !u0_hartree.is_finite() {
            return Err(DatasetError::invalid(
                "molecule",
                format!("molecule {id} has non-finite U0 {u0_hartree}"),
            ));
        }
        Ok(Self {
            id,
            elements,
            positions,
            u0_hartree,
        })
    }

    /// The QM9 index.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The elements, one per atom.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }
    /// The positions in Ångström, one per atom.
    pub fn positions(&self) -> &[Vector3<f64>] {
        &self.positions
    }
    /// The number of atoms.
    pub fn num_atoms(&self) -> usize {
        self.elements.len()
    }
    /// U0 (internal energy at 0 K) in Hartree.
    pub fn u0_hartree(&self) -> f64 {
        self.u0_hartree
    }

    /// The U0 atomization energy in Hartree, `U0 − Σ_atoms E_ref(Z)` with the reference
    /// energies of [`Element::reference_energy_hartree`] (docs/theory.md#qm9-energies). Negative for bound
    /// molecules (about −2.8 Ha on average over QM9).
    pub fn atomization_energy_hartree(&self) -> f64 {
        let reference: f64 = self
            .elements
            .iter()
            .map(|e| e.reference_energy_hartree())
            .sum();
        self.u0_hartree - reference
    }

    /// The same molecule with every position mapped `x ↦ R x`.
    pub fn rotated(&self, rotation: &Rotation) -> Molecule {
        Molecule {
            positions: self.positions.iter().map(|p| rotation.apply(p)).collect(),
            ..self.clone()
        }
    }

    /// The same molecule with every position shifted by `shift` (Å).
    pub fn translated(&self, shift: &Vector3<f64>) -> Molecule {
        Molecule {
            positions: self.positions.iter().map(|p| p + shift).collect(),
            ..self.clone()
        }
    }
}
