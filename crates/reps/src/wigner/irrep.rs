//! The Wigner matrices as [`Representation`]s of SO(3), so the generic law checkers of
//! [`crate::laws`] apply to them.

use entk_groups::{Rotation, SO3};
use nalgebra::DMatrix;
use num_complex::Complex64;

use super::{real_wigner_d, wigner_d};
use crate::Representation;

/// The irrep `D^l` of SO(3) (dimension `2l+1`), `R ↦ D^l(R)` of [`wigner_d`]; see
/// [`super::WignerD`] for the convention and laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WignerIrrep {
    group: SO3,
    degree: usize,
}

impl WignerIrrep {
    /// The irrep of degree `l`.
    pub fn new(degree: usize) -> Self {
        Self { group: SO3, degree }
    }

    /// The degree `l`.
    pub fn degree(&self) -> usize {
        self.degree
    }
}

impl Representation for WignerIrrep {
    type Group = SO3;
    fn group(&self) -> &SO3 {
        &self.group
    }
    fn dim(&self) -> usize {
        2 * self.degree + 1
    }
    fn matrix(&self, g: &Rotation) -> DMatrix<Complex64> {
        wigner_d(self.degree, g)
    }
}

/// The real form of the irrep of degree `l`, `R ↦ D^l_real(R)` of [`real_wigner_d`] (as a complex
/// matrix with zero imaginary part), acting on the real harmonics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealWignerIrrep {
    group: SO3,
    degree: usize,
}

impl RealWignerIrrep {
    /// The real irrep of degree `l`.
    pub fn new(degree: usize) -> Self {
        Self { group: SO3, degree }
    }

    /// The degree `l`.
    pub fn degree(&self) -> usize {
        self.degree
    }
}

impl Representation for RealWignerIrrep {
    type Group = SO3;
    fn group(&self) -> &SO3 {
        &self.group
    }
    fn dim(&self) -> usize {
        2 * self.degree + 1
    }
    fn matrix(&self, g: &Rotation) -> DMatrix<Complex64> {
        real_wigner_d(self.degree, g).map(|x| Complex64::new(x, 0.0))
    }
}
