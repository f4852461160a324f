//! Per-atom S² signals of a molecule (docs/theory.md#qm9-energies).
//!
//! Atom `i` sees every other atom `j` as a bump on the sphere of directions, centred on the
//! unit vector `r̂_ij = (x_j − x_i)/r_ij` from `i` to `j` and weighted by `Z_i Z_j / r_ij^p`:
//!
//! ```text
//! f_{i,Z,p}(u) = Σ_{j≠i, Z_j=Z} (Z_i Z_j / r_ij^p) · exp(−(r̂_ij·u − 1)²/β),
//! β = −(cos(π/4) − 1)²/ln 0.05   (the bump falls to 5 % at 45° from its centre)
//! ```
//!
//! with `r_ij` in Å. There is one channel per element `Z ∈ {H, C, N, O, F}` and power `p`;
//! channel index `c = element_index · P + power_index` ([`Qm9Featurizer::channel`]). Signals are
//! sampled on the Driscoll–Healy grid of bandlimit `L`, `θ_j = π(2j+1)/(4L)`,
//! `φ_k = 2πk/(2L−1)`, points `(sin θ cos φ, sin θ sin φ, cos θ)` (docs/conventions.md#the-sphere-s²).
//! Molecules are padded to a fixed number of atom slots (29 for QM9); padding slots are zero.
//!
//! The signals are rotation-equivariant and translation-invariant: rotating the molecule by `R`
//! gives `f_R(u) = f(R⁻¹u)`, and shifting it changes nothing.

use entk_groups::DriscollHealyGrid;
use nalgebra::Vector3;
use ndarray::{Array3, Array4, Array5, ArrayView4, Axis};

use super::{Element, Molecule};
use crate::DatasetError;

/// The number of atom slots for QM9: its largest molecules have 29 atoms.
pub const QM9_MAX_ATOMS: usize = 29;

/// The distance powers of docs/theory.md#qm9-energies.
pub const DEFAULT_POWERS: [i32; 2] = [2, 6];

/// The bandlimit of docs/theory.md#qm9-energies (a 12×11 grid).
pub const DEFAULT_BANDLIMIT: usize = 6;

/// The bump width `β = −(cos(π/4) − 1)²/ln 0.05 ≈ 0.02864`.
pub fn bump_width() -> f64 {
    -(std::f64::consts::FRAC_1_SQRT_2 - 1.0).powi(2) / 0.05f64.ln()
}

/// How a downstream kernel combines the per-atom signals of two molecules. The featurisation is
/// the same for both; this flag travels with the features so that the experiment code knows
/// which molecule kernel to build (docs/theory.md#qm9-energies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AtomCombination {
    /// The paper's architecture: slot `i` of one molecule meets slot `i` of the other only,
    /// `K_mol(A, B) = Σ_i K_atom(A_i, B_i)` over all padded slots. Depends on atom order.
    #[default]
    MatchingSlots,
    /// Shared atom network, `K_mol(A, B) = Σ_{i∈A} Σ_{j∈B} K_atom(A_i, B_j)` over real atoms
    /// (the first `atom_counts[m]` slots): permutation-invariant and size-extensive.
    AllPairs,
}

/// Parameters of the featurisation.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureConfig {
    /// Bandlimit `L` of the Driscoll–Healy grid (`2L × (2L−1)` points). Default 6.
    pub bandlimit: usize,
    /// Distance powers `p` (one channel block per power). Default `[2, 6]`.
    pub powers: Vec<i32>,
    /// Number of atom slots molecules are padded to. Default 29.
    pub max_atoms: usize,
    /// How the kernel will combine atoms (recorded, not used by the featurisation).
    pub combination: AtomCombination,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            bandlimit: DEFAULT_BANDLIMIT,
            powers: DEFAULT_POWERS.to_vec(),
            max_atoms: QM9_MAX_ATOMS,
            combination: AtomCombination::default(),
        }
    }
}

/// Features of a batch of molecules.
#[derive(Debug, Clone, PartialEq)]
pub struct MoleculeFeatures {
    /// Signals `(M, max_atoms, 2L, 2L−1, C)`: molecule, atom slot, θ, φ, channel. Slots at and
    /// beyond `atom_counts[m]` are zero.
    pub signals: Array5<f64>,
    /// Real atoms per molecule.
    pub atom_counts: Vec<usize>,
    /// The configuration they were computed with: the grid's bandlimit `L`, the powers in
    /// channel-block order, the atom slots and how the kernel should combine them.
    pub config: FeatureConfig,
}

impl MoleculeFeatures {
    /// The signals of one atom slot for every molecule, `(M, 2L, 2L−1, C)`: the docs/spec.md S²
    /// layout, ready for an S² kernel.
    pub fn slot(&self, slot: usize) -> ArrayView4<'_, f64> {
        self.signals.index_axis(Axis(1), slot)
    }
    /// The number of molecules `M`.
    pub fn num_molecules(&self) -> usize {
        self.signals.len_of(Axis(0))
    }
    /// The number of atom slots.
    pub fn num_slots(&self) -> usize {
        self.signals.len_of(Axis(1))
    }
    /// The number of channels `C = 5 · powers`.
    pub fn num_channels(&self) -> usize {
        self.signals.len_of(Axis(4))
    }
}

/// Computes the S² atom signals of docs/theory.md#qm9-energies. Build once per configuration (it caches the
/// grid points) and apply to many molecules.
#[derive(Debug, Clone)]
pub struct Qm9Featurizer {
    config: FeatureConfig,
    grid: DriscollHealyGrid,
    points: Vec<Vector3<f64>>,
    beta: f64,
}

impl Qm9Featurizer {
    /// A featurizer; errors for `L = 0`, no powers, or zero atom slots.
    pub fn new(config: FeatureConfig) -> Result<Self, DatasetError> {
        let grid = DriscollHealyGrid::new(config.bandlimit)?;
        if config.powers.is_empty() {
            return Err(DatasetError::invalid(
                "feature powers",
                "need at least one power p",
            ));
        }
        if config.max_atoms == 0 {
            return Err(DatasetError::invalid(
                "max_atoms",
                "need at least one atom slot",
            ));
        }
        let points = (0..grid.n_theta())
            .flat_map(|j| (0..grid.n_phi()).map(move |k| grid.point(j, k)))
            .collect();
        Ok(Self {
            config,
            grid,
            points,
            beta: bump_width(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }
    /// The Driscoll–Healy grid the signals are sampled on.
    pub fn grid(&self) -> DriscollHealyGrid {
        self.grid
    }
    /// The number of channels, `5 · powers.len()`.
    pub fn num_channels(&self) -> usize {
        Element::ALL.len() * self.config.powers.len()
    }
    /// The channel of neighbour element `element` and power `powers[power_index]`:
    /// `element.index() · P + power_index`.
    pub fn channel(&self, element: Element, power_index: usize) -> usize {
        element.index() * self.config.powers.len() + power_index
    }

    /// The signal of atom `atom` at an arbitrary unit vector `u` (one value per channel). This is
    /// the continuous function the grid samples; use it to check equivariance off the grid.
    pub fn signal_at(
        &self,
        molecule: &Molecule,
        atom: usize,
        u: &Vector3<f64>,
    ) -> Result<Vec<f64>, DatasetError> {
        let mut out = vec![0.0; self.num_channels()];
        for neighbour in self.neighbours(molecule, atom)? {
            let bump = self.bump(&neighbour.direction, u);
            for (p, weight) in neighbour.weights.iter().enumerate() {
                out[neighbour.channel_base + p] += weight * bump;
            }
        }
        Ok(out)
    }

    /// The signal of atom `atom` on the grid, `(2L, 2L−1, C)`.
    pub fn atom_signal(
        &self,
        molecule: &Molecule,
        atom: usize,
    ) -> Result<Array3<f64>, DatasetError> {
        let mut out = Array3::zeros((self.grid.n_theta(), self.grid.n_phi(), self.num_channels()));
        self.fill_atom_signal(molecule, atom, out.view_mut())?;
        Ok(out)
    }

    /// All atom slots of one molecule, `(max_atoms, 2L, 2L−1, C)`; slots beyond the molecule's
    /// atoms are zero. Errors when the molecule has more atoms than slots.
    pub fn molecule_signals(&self, molecule: &Molecule) -> Result<Array4<f64>, DatasetError> {
        self.check_fits(molecule)?;
        let mut out = Array4::zeros(self.slot_shape_with(self.config.max_atoms));
        for atom in 0..molecule.num_atoms() {
            self.fill_atom_signal(molecule, atom, out.index_axis_mut(Axis(0), atom))?;
        }
        Ok(out)
    }

    /// Features of a batch, `(M, max_atoms, 2L, 2L−1, C)` plus atom counts. Memory is
    /// `M · max_atoms · 2L(2L−1) · C · 8` bytes (≈ 0.3 MB per molecule at the defaults); use
    /// [`Qm9Featurizer::slot_signals`] to build one slot at a time instead.
    pub fn featurize(&self, molecules: &[Molecule]) -> Result<MoleculeFeatures, DatasetError> {
        let (n_theta, n_phi, channels) =
            (self.grid.n_theta(), self.grid.n_phi(), self.num_channels());
        let mut signals = Array5::zeros((
            molecules.len(),
            self.config.max_atoms,
            n_theta,
            n_phi,
            channels,
        ));
        for (m, molecule) in molecules.iter().enumerate() {
            self.check_fits(molecule)?;
            for atom in 0..molecule.num_atoms() {
                let slot = signals
                    .index_axis_mut(Axis(0), m)
                    .index_axis_move(Axis(0), atom);
                self.fill_atom_signal(molecule, atom, slot)?;
            }
        }
        Ok(MoleculeFeatures {
            signals,
            atom_counts: molecules.iter().map(Molecule::num_atoms).collect(),
            config: self.config.clone(),
        })
    }

    /// The signals of one atom slot for every molecule, `(M, 2L, 2L−1, C)`; zero for molecules
    /// with fewer atoms than `slot + 1`. Errors when `slot ≥ max_atoms` or a molecule does not
    /// fit.
    pub fn slot_signals(
        &self,
        molecules: &[Molecule],
        slot: usize,
    ) -> Result<Array4<f64>, DatasetError> {
        if slot >= self.config.max_atoms {
            return Err(DatasetError::invalid(
                "atom slot",
                format!(
                    "slot {slot} is not below max_atoms = {}",
                    self.config.max_atoms
                ),
            ));
        }
        let mut out = Array4::zeros(self.slot_shape_with(molecules.len()));
        for (m, molecule) in molecules.iter().enumerate() {
            self.check_fits(molecule)?;
            if slot < molecule.num_atoms() {
                self.fill_atom_signal(molecule, slot, out.index_axis_mut(Axis(0), m))?;
            }
        }
        Ok(out)
    }

    /// The signals of every real atom of every molecule, stacked `(Σ_m n_m, 2L, 2L−1, C)` in
    /// molecule then atom order, with the atom counts `n_m`: the input of the all-pairs
    /// ([`AtomCombination::AllPairs`]) molecule kernel.
    pub fn real_atom_signals(
        &self,
        molecules: &[Molecule],
    ) -> Result<(Array4<f64>, Vec<usize>), DatasetError> {
        let counts: Vec<usize> = molecules.iter().map(Molecule::num_atoms).collect();
        let mut out = Array4::zeros(self.slot_shape_with(counts.iter().sum()));
        let mut row = 0;
        for molecule in molecules {
            for atom in 0..molecule.num_atoms() {
                self.fill_atom_signal(molecule, atom, out.index_axis_mut(Axis(0), row))?;
                row += 1;
            }
        }
        Ok((out, counts))
    }

    fn slot_shape_with(&self, leading: usize) -> (usize, usize, usize, usize) {
        (
            leading,
            self.grid.n_theta(),
            self.grid.n_phi(),
            self.num_channels(),
        )
    }

    fn check_fits(&self, molecule: &Molecule) -> Result<(), DatasetError> {
        if molecule.num_atoms() > self.config.max_atoms {
            return Err(DatasetError::invalid(
                "molecule size",
                format!(
                    "molecule {} has {} atoms, more than max_atoms = {}",
                    molecule.id(),
                    molecule.num_atoms(),
                    self.config.max_atoms
                ),
            ));
        }
        Ok(())
    }

    fn fill_atom_signal(
        &self,
        molecule: &Molecule,
        atom: usize,
        mut out: ndarray::ArrayViewMut3<'_, f64>,
    ) -> Result<(), DatasetError> {
        let neighbours = self.neighbours(molecule, atom)?;
        let n_phi = self.grid.n_phi();
        for (flat, u) in self.points.iter().enumerate() {
            let (j, k) = (flat / n_phi, flat % n_phi);
            for neighbour in &neighbours {
                let bump = self.bump(&neighbour.direction, u);
                for (p, weight) in neighbour.weights.iter().enumerate() {
                    out[(j, k, neighbour.channel_base + p)] += weight * bump;
                }
            }
        }
        Ok(())
    }

    /// `exp(−(r̂·u − 1)²/β)`.
    fn bump(&self, direction: &Vector3<f64>, u: &Vector3<f64>) -> f64 {
        let d = direction.dot(u) - 1.0;
        (-d * d / self.beta).exp()
    }

    /// Every other atom `j` as seen from `atom`: direction, weights `Z_i Z_j / r^p` per power,
    /// and its channel block.
    fn neighbours(&self, molecule: &Molecule, atom: usize) -> Result<Vec<Neighbour>, DatasetError> {
        if atom >= molecule.num_atoms() {
            return Err(DatasetError::invalid(
                "atom index",
                format!(
                    "atom {atom} of molecule {} with {} atoms",
                    molecule.id(),
                    molecule.num_atoms()
                ),
            ));
        }
        let (elements, positions) = (molecule.elements(), molecule.positions());
        let z_i = elements[atom].atomic_number() as f64;
        let mut out = Vec::with_capacity(elements.len().saturating_sub(1));
        for (j, (element, position)) in elements.iter().zip(positions).enumerate() {
            if j == atom {
                continue;
            }
            let offset = position - positions[atom];
            let distance = offset.norm();
            if distance == 0.0 {
                return Err(DatasetError::invalid(
                    "molecule geometry",
                    format!("molecule {}: atoms {atom} and {j} coincide", molecule.id()),
                ));
            }
            let charge_product = z_i * element.atomic_number() as f64;
            out.push(Neighbour {
                direction: offset / distance,
                weights: self
                    .config
                    .powers
                    .iter()
                    .map(|&p| charge_product / distance.powi(p))
                    .collect(),
                channel_base: self.channel(*element, 0),
            });
        }
        Ok(out)
    }
}

/// One neighbour of an atom: unit direction, per-power weights, first channel.
struct Neighbour {
    direction: Vector3<f64>,
    weights: Vec<f64>,
    channel_base: usize,
}
