//! The Wigner matrices as [`Representation`]s of SO(3), so the generic law checkers of
//! [`crate::laws`] apply to them.

use entk_groups::{Rotation, SO3};
use nalgebra::DMatrix;
use num_complex::Complex64;

use super::{real_wigner_d, wigner_d};
use crate::Representation;

/// A Wigner irrep type: `$name` of degree `l` (built by `new`, read by `degree`) whose matrix
/// at `g` is `$matrix(l, g)`; `$doc` and `$new_doc` are its docs.
macro_rules! wigner_irrep {
    ($(#[$doc:meta])* $name:ident, $new_doc:literal, $matrix:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            group: SO3,
            degree: usize,
        }

        impl $name {
            #[doc = $new_doc]
            pub fn new(degree: usize) -> Self {
                Self { group: SO3, degree }
            }

            /// The degree `l`.
            pub fn degree(&self) -> usize {
                self.degree
            }
        }

        impl Representation for $name {
            type Group = SO3;
            fn group(&self) -> &SO3 {
                &self.group
            }
            fn dim(&self) -> usize {
                2 * self.degree + 1
            }
            fn matrix(&self, g: &Rotation) -> DMatrix<Complex64> {
                let matrix: fn(usize, &Rotation) -> DMatrix<Complex64> = $matrix;
                matrix(self.degree, g)
            }
        }
    };
}

wigner_irrep!(
    /// The irrep `D^l` of SO(3) (dimension `2l+1`), `R ↦ D^l(R)` of [`wigner_d`]; see
    /// [`super::WignerD`] for the convention and laws.
    WignerIrrep,
    "The irrep of degree `l`.",
    wigner_d
);

wigner_irrep!(
    /// The real form of the irrep of degree `l`, `R ↦ D^l_real(R)` of [`real_wigner_d`] (as a
    /// complex matrix with zero imaginary part), acting on the real harmonics.
    RealWignerIrrep,
    "The real irrep of degree `l`.",
    |l, g| real_wigner_d(l, g).map(|x| Complex64::new(x, 0.0))
);
