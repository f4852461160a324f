//! Irreps of finite rotation groups ([`FiniteRotationGroup`]: O, I, ...), found inside the
//! real Wigner representations `D^l` of SO(3) restricted to the group.
//!
//! For `l = 0, 1, 2, …` the restriction of `D^l_real` to `G` is split into invariant subspaces:
//! the group average `A = |G|⁻¹ Σ_g D^l(g) X D^l(g)ᵀ` of a fixed generic symmetric `X` commutes
//! with every `D^l(g)`, so its eigenspaces are invariant, and for a generic `X` each is
//! irreducible when the group's irreps are of real type (true for O and I). A piece whose
//! character has norm 1 (`|G|⁻¹ Σ χ² = 1`) and is orthogonal to the characters found so far is
//! a new irrep, with matrices `Bᵀ D^l(g) B` (`B` an orthonormal basis of the eigenspace). The
//! search stops when `Σ d² = |G|`. The result is real orthogonal, and
//! [`crate::laws::check_irreps`] verifies it (homomorphism, Schur orthogonality, completeness).
//!
//! O: `A1` (from `l = 0`), `T1` (`l = 1`, the rotation matrices), `E` and `T2` (`l = 2`), `A2`
//! (`l = 3`). I: `A` (`l = 0`), `T1` (`l = 1`), `H` (`l = 2`, 5-dimensional), `T2` and `G`
//! (`l = 3`, 3- and 4-dimensional). Names are `dim{d}_l{l}` (dimension and the degree where
//! the irrep first appears), in order of discovery.

use std::sync::{Arc, Mutex, OnceLock};

use entk_groups::{FiniteGroup, FiniteRotationGroup, Rotation};
use nalgebra::DMatrix;
use num_complex::Complex64;

use crate::{real_wigner_d, FiniteIrreps, IrrepInfo};

/// The largest degree searched. O and I are complete at `l = 3`; a group that is not complete
/// by then (one with complex-type irreps, such as rotations about one axis) gets a partial
/// list, which [`crate::laws::check_irreps`] reports as a failed `dimension_sum_err`.
const MAX_DEGREE: usize = 12;

/// Irreps of one group: `info[i]` and `matrices[i][g]`.
#[derive(Debug)]
struct IrrepTable {
    rotations: Vec<Rotation>,
    info: Vec<IrrepInfo>,
    matrices: Vec<Vec<DMatrix<f64>>>,
}

/// Tables computed so far, keyed by the group's rotations (compared exactly).
fn cache() -> &'static Mutex<Vec<Arc<IrrepTable>>> {
    static CACHE: OnceLock<Mutex<Vec<Arc<IrrepTable>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

fn table_of(group: &FiniteRotationGroup) -> Arc<IrrepTable> {
    let rotations = group.rotations();
    if let Some(t) = cache()
        .lock()
        .expect("irrep cache")
        .iter()
        .find(|t| t.rotations == rotations)
    {
        return t.clone();
    }
    let table = Arc::new(decompose(rotations));
    cache().lock().expect("irrep cache").push(table.clone());
    table
}

/// A fixed symmetric matrix with generic entries (no symmetry of its own).
fn generic_symmetric(n: usize) -> DMatrix<f64> {
    let m = DMatrix::from_fn(n, n, |i, j| {
        let (i, j) = (i as f64, j as f64);
        (1.7 * i + 0.61 * j + 0.3).sin() + (0.37 * i * j + 1.1).cos()
    });
    (&m + m.transpose()) * 0.5
        + DMatrix::from_fn(n, n, |i, j| if i == j { 0.13 * i as f64 } else { 0.0 })
}

fn decompose(rotations: &[Rotation]) -> IrrepTable {
    let order = rotations.len();
    let mut info: Vec<IrrepInfo> = Vec::new();
    let mut matrices: Vec<Vec<DMatrix<f64>>> = Vec::new();
    let mut characters: Vec<Vec<f64>> = Vec::new();
    let mut dim_sum = 0;
    for l in 0..=MAX_DEGREE {
        if dim_sum >= order {
            break;
        }
        let d: Vec<DMatrix<f64>> = rotations.iter().map(|r| real_wigner_d(l, r)).collect();
        let x = generic_symmetric(2 * l + 1);
        let average = d
            .iter()
            .fold(DMatrix::zeros(2 * l + 1, 2 * l + 1), |acc, m| {
                acc + m * &x * m.transpose()
            })
            / order as f64;
        let eig = average.symmetric_eigen();
        let mut idx: Vec<usize> = (0..2 * l + 1).collect();
        idx.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
        let scale = eig.eigenvalues.amax().max(1.0);
        let mut start = 0;
        while start < idx.len() {
            let mut end = start + 1;
            while end < idx.len()
                && eig.eigenvalues[idx[end]] - eig.eigenvalues[idx[end - 1]] < 1e-8 * scale
            {
                end += 1;
            }
            let basis = DMatrix::from_fn(2 * l + 1, end - start, |i, k| {
                eig.eigenvectors[(i, idx[start + k])]
            });
            start = end;
            let pieces: Vec<DMatrix<f64>> =
                d.iter().map(|m| basis.transpose() * m * &basis).collect();
            let character: Vec<f64> = pieces.iter().map(|m| m.trace()).collect();
            let inner = |a: &[f64], b: &[f64]| {
                a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / order as f64
            };
            let irreducible = (inner(&character, &character) - 1.0).abs() < 1e-6;
            let new = characters.iter().all(|c| inner(c, &character).abs() < 1e-6);
            if irreducible && new {
                let dim = basis.ncols();
                info.push(IrrepInfo {
                    name: format!("dim{dim}_l{l}"),
                    dim,
                });
                dim_sum += dim * dim;
                characters.push(character);
                matrices.push(pieces);
            }
        }
    }
    IrrepTable {
        rotations: rotations.to_vec(),
        info,
        matrices,
    }
}

/// Irreps found in the restrictions of `D^l_real` (module documentation); computed once per
/// group and cached.
impl FiniteIrreps for FiniteRotationGroup {
    fn irreps(&self) -> Vec<IrrepInfo> {
        table_of(self).info.clone()
    }
    fn irrep_matrix(&self, irrep: usize, g: &usize) -> DMatrix<Complex64> {
        let table = table_of(self);
        assert!(*g < self.order(), "element {g} out of range");
        table.matrices[irrep][*g].map(|v| Complex64::new(v, 0.0))
    }
}
