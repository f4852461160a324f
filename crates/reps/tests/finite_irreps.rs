//! Irreps of cyclic and dihedral groups, the regular representation and the finite Fourier
//! transform: homomorphism, unitarity, Schur orthogonality, completeness, round trips.

use entk_groups::laws::{tolerance, LawCheck};
use entk_groups::{CyclicGroup, DihedralGroup, FiniteGroup, FiniteGroupExt, Group};
use entk_reps::laws::{check_finite_fourier, check_irreps, check_representation};
use entk_reps::{
    FiniteFourier, FiniteIrreps, Irrep, IrrepInfo, RegularRepresentation, Representation,
};
use nalgebra::DMatrix;
use num_complex::Complex64;
use proptest::prelude::*;

fn assert_all_pass(context: &str, checks: &[LawCheck]) {
    if let Err(failed) = entk_groups::laws::all_passed(checks) {
        panic!("{context}: {failed}");
    }
}

fn test_functions(order: usize) -> Vec<Vec<Complex64>> {
    (0..3)
        .map(|s| {
            (0..order)
                .map(|i| {
                    Complex64::new(((i * 7 + s * 3) as f64).sin(), ((i + s) as f64 * 0.3).cos())
                })
                .collect()
        })
        .collect()
}

#[test]
fn cyclic_and_dihedral_irreps_are_complete_orthogonal_unitary_homomorphisms() {
    for n in 1..=12 {
        let c = CyclicGroup::new(n).unwrap();
        assert_all_pass(&c.name(), &check_irreps(&c, tolerance::EXACT));
        assert_all_pass(
            &c.name(),
            &check_finite_fourier(&c, &test_functions(n), tolerance::EXACT),
        );
        let d = DihedralGroup::new(n).unwrap();
        assert_all_pass(&d.name(), &check_irreps(&d, tolerance::EXACT));
        assert_all_pass(
            &d.name(),
            &check_finite_fourier(&d, &test_functions(2 * n), tolerance::EXACT),
        );
    }
}

#[test]
fn dihedral_irrep_counts_depend_on_parity() {
    let count = |n: usize, dim: usize| {
        DihedralGroup::new(n)
            .unwrap()
            .irreps()
            .iter()
            .filter(|i| i.dim == dim)
            .count()
    };
    assert_eq!((count(5, 1), count(5, 2)), (2, 2));
    assert_eq!((count(6, 1), count(6, 2)), (4, 2));
    assert_eq!((count(4, 1), count(4, 2)), (4, 1));
}

#[test]
fn c4_and_d4_irreps_are_exact_integers() {
    for g in CyclicGroup::new(4).unwrap().elements() {
        for k in 0..4 {
            let v = CyclicGroup::new(4).unwrap().irrep_matrix(k, &g)[(0, 0)];
            assert!(v.re == v.re.round() && v.im == v.im.round(), "{v}");
        }
    }
    let d4 = DihedralGroup::new(4).unwrap();
    let rho = Irrep::new(&d4, 4).unwrap();
    assert_eq!(rho.dim(), 2);
    for g in d4.elements() {
        assert!(rho
            .matrix(&g)
            .iter()
            .all(|v| v.re == v.re.round() && v.im == 0.0));
    }
}

#[test]
fn regular_representation_is_a_permutation_representation_containing_each_irrep_d_times() {
    for group in [
        DihedralGroup::new(3).unwrap(),
        DihedralGroup::new(4).unwrap(),
    ] {
        let regular = RegularRepresentation::new(&group);
        let elements = group.elements();
        assert_all_pass("regular", &check_representation(&regular, &elements, 0.0));
        // χ_reg(g) = |G| δ_{g,e}; multiplicity of ρ is ⟨χ_reg, χ_ρ⟩ = d_ρ.
        for irrep in Irrep::all(&group) {
            let multiplicity: Complex64 = elements
                .iter()
                .map(|g| regular.character(g) * irrep.character(g).conj())
                .sum::<Complex64>()
                / group.order() as f64;
            assert!((multiplicity - Complex64::new(irrep.dim() as f64, 0.0)).norm() < 1e-12);
        }
    }
}

/// C4 with only three of its four irreps, and one of them wrong; the second field is the
/// dimension declared for irrep 0 (1 is right; anything else disagrees with its matrices).
struct IncompleteC4(CyclicGroup, usize);
impl Group for IncompleteC4 {
    type Element = usize;
    fn name(&self) -> String {
        "incomplete-c4".into()
    }
    fn identity(&self) -> usize {
        0
    }
    fn compose(&self, a: &usize, b: &usize) -> usize {
        self.0.compose(a, b)
    }
    fn inverse(&self, a: &usize) -> usize {
        self.0.inverse(a)
    }
    fn distance(&self, a: &usize, b: &usize) -> f64 {
        self.0.distance(a, b)
    }
    fn testing_elements(&self) -> Vec<usize> {
        self.0.testing_elements()
    }
}
impl FiniteGroup for IncompleteC4 {
    fn order(&self) -> usize {
        4
    }
    fn element(&self, i: usize) -> usize {
        i
    }
    fn index_of(&self, e: &usize) -> usize {
        *e
    }
}
impl FiniteIrreps for IncompleteC4 {
    fn irreps(&self) -> Vec<IrrepInfo> {
        (0..3)
            .map(|k| IrrepInfo {
                name: format!("k={k}"),
                dim: if k == 0 { self.1 } else { 1 },
            })
            .collect()
    }
    fn irrep_matrix(&self, irrep: usize, g: &usize) -> DMatrix<Complex64> {
        if irrep == 2 {
            // Not a homomorphism: g ↦ e^{iπ g/3}.
            return DMatrix::from_element(
                1,
                1,
                Complex64::from_polar(1.0, std::f64::consts::PI * *g as f64 / 3.0),
            );
        }
        self.0.irrep_matrix(irrep, g)
    }
}

#[test]
fn irrep_checks_fail_for_an_incomplete_and_wrong_irrep_list() {
    let failed: Vec<String> = check_irreps(
        &IncompleteC4(CyclicGroup::new(4).unwrap(), 1),
        tolerance::EXACT,
    )
    .into_iter()
    .filter(|c| !c.passed())
    .map(|c| c.name)
    .collect();
    assert!(
        failed.contains(&"dimension_sum_err".to_string()),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"irrep_homomorphism_err".to_string()),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"schur_orthogonality_err".to_string()),
        "{failed:?}"
    );
}

#[test]
fn fourier_rejects_wrong_lengths_and_non_finite_values() {
    let fourier = FiniteFourier::new(&CyclicGroup::new(4).unwrap());
    assert!(fourier.forward(&[Complex64::new(1.0, 0.0); 3]).is_err());
    let mut f = vec![Complex64::new(1.0, 0.0); 4];
    f[2].re = f64::NAN;
    assert!(fourier
        .forward(&f)
        .unwrap_err()
        .to_string()
        .contains("position 2"));
    assert!(fourier.inverse(&[DMatrix::zeros(1, 1)]).is_err());
    assert!(Irrep::new(&CyclicGroup::new(4).unwrap(), 4).is_err());
}

proptest! {
    #[test]
    fn fourier_round_trips_random_functions_on_dihedral_groups(n in 1usize..10, seed in 0u64..1000) {
        let d = DihedralGroup::new(n).unwrap();
        let f: Vec<Complex64> = (0..d.order())
            .map(|i| Complex64::new(((i as u64 * 31 + seed) as f64).sin(), ((i as u64 + seed * 7) as f64).cos()))
            .collect();
        let checks = check_finite_fourier(&d, &[f], tolerance::EXACT);
        prop_assert!(checks.iter().all(|c| c.passed()), "{checks:?}");
    }
}

#[test]
fn a_matrix_size_that_disagrees_with_the_declared_dimension_fails_the_check_without_a_panic() {
    let group = IncompleteC4(CyclicGroup::new(4).unwrap(), 2);
    let checks = check_irreps(&group, tolerance::EXACT);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(!checks[0].passed());
    assert!(
        checks[0].name.contains("matrix_size_err") && checks[0].name.contains("1×1"),
        "{}",
        checks[0].name
    );
    let irrep = Irrep::new(&group, 0).unwrap();
    let checks = check_representation(&irrep, &group.elements(), tolerance::EXACT);
    assert!(checks.iter().all(|c| !c.passed()) && checks[0].name.contains("declared dimension 2"));
}
