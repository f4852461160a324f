//! The promise "a new symmetry is one trait impl": the quaternion group Q8, which entk does not
//! ship, is defined here, outside every crate, and passes every generic law check of
//! `entk-groups` and `entk-reps` — group axioms, numbering, Haar measure, regular
//! representation, irreps (including its quaternionic 2-D irrep), Schur orthogonality and the
//! finite Fourier transform — without editing any crate.

use entk::groups::laws::{self, tolerance, LawCheck};
use entk::groups::{CompactGroup, FiniteGroup, FiniteGroupExt, Group};
use entk::reps::laws::{check_finite_fourier, check_irreps, check_representation};
use entk::reps::{FiniteIrreps, IrrepInfo, RegularRepresentation};
use nalgebra::DMatrix;
use num_complex::Complex64;

/// Q8 = {±1, ±i, ±j, ±k} with i² = j² = k² = ijk = −1. Element = (sign, unit) with unit
/// 0 = 1, 1 = i, 2 = j, 3 = k; index = unit + 4·[sign < 0].
#[derive(Debug, Clone, Copy)]
struct Quaternion8;

type Q = (i8, u8);

impl Group for Quaternion8 {
    type Element = Q;
    fn name(&self) -> String {
        "q8".into()
    }
    fn identity(&self) -> Q {
        (1, 0)
    }
    fn compose(&self, a: &Q, b: &Q) -> Q {
        // Products of the units: table[x][y] = (sign, unit) of x·y.
        const TABLE: [[(i8, u8); 4]; 4] = [
            [(1, 0), (1, 1), (1, 2), (1, 3)],
            [(1, 1), (-1, 0), (1, 3), (-1, 2)],
            [(1, 2), (-1, 3), (-1, 0), (1, 1)],
            [(1, 3), (1, 2), (-1, 1), (-1, 0)],
        ];
        let (s, u) = TABLE[a.1 as usize][b.1 as usize];
        (s * a.0 * b.0, u)
    }
    fn inverse(&self, a: &Q) -> Q {
        if a.1 == 0 {
            *a
        } else {
            (-a.0, a.1)
        }
    }
    fn distance(&self, a: &Q, b: &Q) -> f64 {
        f64::from(u8::from(a != b))
    }
    fn testing_elements(&self) -> Vec<Q> {
        (0..8).map(|i| self.element(i)).collect()
    }
}

impl FiniteGroup for Quaternion8 {
    fn order(&self) -> usize {
        8
    }
    fn element(&self, index: usize) -> Q {
        (if index < 4 { 1 } else { -1 }, (index % 4) as u8)
    }
    fn index_of(&self, e: &Q) -> usize {
        e.1 as usize + if e.0 < 0 { 4 } else { 0 }
    }
}

/// Four 1-D irreps (trivial and the three sign characters that are −1 on two of i, j, k) and the
/// 2-D irrep by Pauli matrices: i ↦ −iσ_x, j ↦ −iσ_y, k ↦ −iσ_z (times the sign).
impl FiniteIrreps for Quaternion8 {
    fn irreps(&self) -> Vec<IrrepInfo> {
        let mut v: Vec<IrrepInfo> = ["trivial", "chi_i", "chi_j", "chi_k"]
            .iter()
            .map(|n| IrrepInfo {
                name: n.to_string(),
                dim: 1,
            })
            .collect();
        v.push(IrrepInfo {
            name: "pauli".into(),
            dim: 2,
        });
        v
    }
    fn irrep_matrix(&self, irrep: usize, g: &Q) -> DMatrix<Complex64> {
        let c = |re: f64, im: f64| Complex64::new(re, im);
        if irrep < 4 {
            // chi_u is +1 on ±1 and ±u, −1 on the other two units.
            let value = if irrep == 0 || g.1 == 0 || g.1 as usize == irrep {
                1.0
            } else {
                -1.0
            };
            return DMatrix::from_element(1, 1, c(value, 0.0));
        }
        let s = f64::from(g.0);
        let m = match g.1 {
            0 => [c(1.0, 0.0), c(0.0, 0.0), c(0.0, 0.0), c(1.0, 0.0)],
            1 => [c(0.0, 0.0), c(0.0, -1.0), c(0.0, -1.0), c(0.0, 0.0)],
            2 => [c(0.0, 0.0), c(-1.0, 0.0), c(1.0, 0.0), c(0.0, 0.0)],
            _ => [c(0.0, -1.0), c(0.0, 0.0), c(0.0, 0.0), c(0.0, 1.0)],
        };
        DMatrix::from_row_slice(2, 2, &m) * c(s, 0.0)
    }
}

fn assert_all_pass(checks: &[LawCheck]) {
    if let Err(failed) = laws::all_passed(checks) {
        panic!("q8: {failed}");
    }
}

#[test]
fn quaternion_group_passes_every_generic_group_law() {
    assert_all_pass(&laws::check_finite_group_all(&Quaternion8));
    assert_eq!(Quaternion8.volume(), 8.0);
    // Q8 is not abelian: ij = k but ji = −k.
    assert_eq!(Quaternion8.compose(&(1, 1), &(1, 2)), (1, 3));
    assert_eq!(Quaternion8.compose(&(1, 2), &(1, 1)), (-1, 3));
}

#[test]
fn quaternion_group_passes_every_generic_representation_law() {
    assert_all_pass(&check_irreps(&Quaternion8, tolerance::EXACT));
    let regular = RegularRepresentation::new(&Quaternion8);
    assert_all_pass(&check_representation(
        &regular,
        &Quaternion8.elements(),
        0.0,
    ));
    let functions: Vec<Vec<Complex64>> = (0..4)
        .map(|s| {
            (0..8)
                .map(|i| Complex64::new((i * s) as f64 * 0.4, (i + s) as f64).sin())
                .collect()
        })
        .collect();
    assert_all_pass(&check_finite_fourier(
        &Quaternion8,
        &functions,
        tolerance::EXACT,
    ));
}
