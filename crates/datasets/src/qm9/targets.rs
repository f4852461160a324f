//! Regression targets for QM9: U0 atomization energies and their standardisation.

use ndarray::{Array1, Array2};

use super::Molecule;
use crate::DatasetError;

/// U0 atomization energies in Hartree, one per molecule
/// ([`Molecule::atomization_energy_hartree`]).
pub fn atomization_energies_hartree(molecules: &[Molecule]) -> Array1<f64> {
    molecules
        .iter()
        .map(Molecule::atomization_energy_hartree)
        .collect()
}

/// U0 atomization energies in Hartree as a label matrix `(N, 1)` (docs/spec.md#input-arrays).
pub fn atomization_targets(molecules: &[Molecule]) -> Array2<f64> {
    let energies = atomization_energies_hartree(molecules);
    let n = energies.len();
    energies
        .into_shape_with_order((n, 1))
        .expect("a length-N vector reshapes to (N, 1)")
}

/// Affine standardisation `z = (y − mean)/std` fitted on training targets (docs/theory.md#qm9-energies:
/// one QM9 split gives mean −2.798 Ha, std 0.379 Ha). `std` is the population standard
/// deviation (divide by N), as `numpy.std`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standardizer {
    /// Mean of the training targets.
    pub mean: f64,
    /// Population standard deviation of the training targets (> 0).
    pub std: f64,
}

impl Standardizer {
    /// Fits mean and standard deviation; errors for fewer than two values, non-finite values or
    /// zero spread.
    pub fn fit(values: &[f64]) -> Result<Self, DatasetError> {
        if values.len() < 2 {
            return Err(DatasetError::NotEnoughData {
                what: "training targets to standardise".into(),
                requested: 2,
                available: values.len(),
            });
        }
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(DatasetError::invalid(
                "targets",
                format!("non-finite target {bad}"),
            ));
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        if std == 0.0 {
            return Err(DatasetError::invalid(
                "targets",
                "all training targets are equal",
            ));
        }
        Ok(Self { mean, std })
    }

    /// `(y − mean)/std`.
    pub fn standardize(&self, y: f64) -> f64 {
        (y - self.mean) / self.std
    }
    /// `z·std + mean`, the inverse of [`Standardizer::standardize`].
    pub fn unstandardize(&self, z: f64) -> f64 {
        z * self.std + self.mean
    }
    /// [`Standardizer::standardize`] applied to every entry.
    pub fn standardize_all(&self, values: &[f64]) -> Vec<f64> {
        values.iter().map(|&y| self.standardize(y)).collect()
    }
    /// [`Standardizer::unstandardize`] applied to every entry.
    pub fn unstandardize_all(&self, values: &[f64]) -> Vec<f64> {
        values.iter().map(|&z| self.unstandardize(z)).collect()
    }
}
