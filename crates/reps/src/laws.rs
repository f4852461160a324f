//! Measuring law checks for representations (homomorphism, unitarity, Schur orthogonality,
//! completeness) and the finite Fourier transform, shared by tests, `entk verify-group` and users
//! adding a group.

use nalgebra::DMatrix;
use num_complex::Complex64;

use entk_groups::laws::{nan_max, LawCheck};
use entk_groups::{FiniteGroupExt, Group};

use crate::{FiniteFourier, FiniteIrreps, Irrep, Representation};

/// `homomorphism_err` (`ρ(gh) = ρ(g)ρ(h)`), `unitarity_err` (`ρ(g)†ρ(g) = I`),
/// `rep_identity_err` (`ρ(e) = I`) and `rep_inverse_err` (`ρ(g⁻¹) = ρ(g)†`) over `elements`,
/// as max-abs entry errors.
pub fn check_representation<R: Representation>(
    rep: &R,
    elements: &[<R::Group as Group>::Element],
    tol: f64,
) -> Vec<LawCheck> {
    let group = rep.group();
    let id = DMatrix::<Complex64>::identity(rep.dim(), rep.dim());
    let amax = |m: DMatrix<Complex64>| m.iter().map(|v| v.norm()).fold(0.0, nan_max);
    let mats: Vec<_> = elements.iter().map(|g| rep.matrix(g)).collect();
    if let Some(err) = size_mismatch(rep, elements) {
        // Matrices of the wrong size: a failed check with the sizes, not a panic in the
        // matrix products below.
        return vec![LawCheck::new(err, f64::INFINITY, tol)];
    }
    let mut hom: f64 = 0.0;
    let mut unit: f64 = 0.0;
    let mut inv: f64 = 0.0;
    for (g, mg) in elements.iter().zip(&mats) {
        unit = nan_max(unit, amax(mg.adjoint() * mg - &id));
        inv = nan_max(inv, amax(rep.matrix(&group.inverse(g)) - mg.adjoint()));
        for (h, mh) in elements.iter().zip(&mats).take(24) {
            hom = nan_max(hom, amax(rep.matrix(&group.compose(g, h)) - mg * mh));
        }
    }
    vec![
        LawCheck::new("homomorphism_err", hom, tol),
        LawCheck::new("unitarity_err", unit, tol),
        LawCheck::new(
            "rep_identity_err",
            amax(rep.matrix(&group.identity()) - id),
            tol,
        ),
        LawCheck::new("rep_inverse_err", inv, tol),
    ]
}

/// Checks every irrep of a finite group and the completeness of the list:
/// the [`check_representation`] laws (worst over irreps, names prefixed `irrep_`),
/// `schur_orthogonality_err` (`|G|⁻¹ Σ_g ρ_i(g)_{ab} conj ρ_j(g)_{cd} = δ_ij δ_ac δ_bd / d_i`),
/// `character_orthogonality_err` and `dimension_sum_err` (`Σ d_ρ² = |G|`).
pub fn check_irreps<G: FiniteIrreps>(group: &G, tol: f64) -> Vec<LawCheck> {
    let elements = group.elements();
    let irreps = Irrep::all(group);
    if let Some(err) = irreps.iter().find_map(|r| size_mismatch(r, &elements)) {
        return vec![LawCheck::new(format!("irrep_{err}"), f64::INFINITY, tol)];
    }
    let mut worst: Vec<LawCheck> = Vec::new();
    for irrep in &irreps {
        for check in check_representation(irrep, &elements, tol) {
            let name = format!("irrep_{}", check.name);
            match worst.iter_mut().find(|c| c.name == name) {
                Some(w) => w.max_error = nan_max(w.max_error, check.max_error),
                None => worst.push(LawCheck::new(name, check.max_error, tol)),
            }
        }
    }
    let tables: Vec<Vec<DMatrix<Complex64>>> = irreps
        .iter()
        .map(|r| elements.iter().map(|g| r.matrix(g)).collect())
        .collect();
    let order = elements.len() as f64;
    let mut schur: f64 = 0.0;
    let mut characters: f64 = 0.0;
    for (i, ti) in tables.iter().enumerate() {
        for (j, tj) in tables.iter().enumerate() {
            let (di, dj) = (ti[0].nrows(), tj[0].nrows());
            for a in 0..di {
                for b in 0..di {
                    for cc in 0..dj {
                        for d in 0..dj {
                            let sum: Complex64 = ti
                                .iter()
                                .zip(tj)
                                .map(|(x, y)| x[(a, b)] * y[(cc, d)].conj())
                                .sum();
                            let expected = if i == j && a == cc && b == d {
                                1.0 / di as f64
                            } else {
                                0.0
                            };
                            schur = nan_max(schur, (sum / order - expected).norm());
                        }
                    }
                }
            }
            let inner: Complex64 = ti
                .iter()
                .zip(tj)
                .map(|(x, y)| x.trace() * y.trace().conj())
                .sum::<Complex64>()
                / order;
            characters = nan_max(characters, (inner - if i == j { 1.0 } else { 0.0 }).norm());
        }
    }
    let dim_sum: usize = irreps.iter().map(|r| r.dim() * r.dim()).sum();
    worst.push(LawCheck::new("schur_orthogonality_err", schur, tol));
    worst.push(LawCheck::new(
        "character_orthogonality_err",
        characters,
        tol,
    ));
    worst.push(LawCheck::new(
        "dimension_sum_err",
        (dim_sum as f64 - order).abs(),
        0.0,
    ));
    worst
}

/// `fourier_roundtrip_err` (inverse ∘ forward = id) and `plancherel_err` (relative), on the
/// given test functions.
pub fn check_finite_fourier<G: FiniteIrreps>(
    group: &G,
    functions: &[Vec<Complex64>],
    tol: f64,
) -> Vec<LawCheck> {
    let fourier = FiniteFourier::new(group);
    let dims: Vec<usize> = group.irreps().iter().map(|i| i.dim).collect();
    let order = group.order() as f64;
    let mut roundtrip: f64 = 0.0;
    let mut plancherel: f64 = 0.0;
    for f in functions {
        let (coefficients, back) = match fourier
            .forward(f)
            .and_then(|c| Ok((c.clone(), fourier.inverse(&c)?)))
        {
            Ok(v) => v,
            Err(_) => return vec![LawCheck::new("fourier_roundtrip_err", f64::NAN, tol)],
        };
        for (a, b) in f.iter().zip(&back) {
            roundtrip = nan_max(roundtrip, (a - b).norm());
        }
        let energy: f64 = f.iter().map(|v| v.norm_sqr()).sum();
        let spectral: f64 = coefficients
            .iter()
            .zip(&dims)
            .map(|(c, &d)| d as f64 * c.norm_squared())
            .sum::<f64>()
            / order;
        plancherel = nan_max(plancherel, (energy - spectral).abs() / energy.max(1e-300));
    }
    vec![
        LawCheck::new("fourier_roundtrip_err", roundtrip, tol),
        LawCheck::new("plancherel_err", plancherel, tol),
    ]
}

/// The name of a failed `matrix_size_err` check when some `rep.matrix(g)` is not
/// `dim × dim` (the declared dimension), naming the element index and both sizes.
fn size_mismatch<R: Representation>(
    rep: &R,
    elements: &[<R::Group as Group>::Element],
) -> Option<String> {
    let d = rep.dim();
    elements.iter().enumerate().find_map(|(i, g)| {
        let m = rep.matrix(g);
        (m.nrows() != d || m.ncols() != d).then(|| {
            format!(
                "matrix_size_err (element {i}: {}×{} matrix, declared dimension {d})",
                m.nrows(),
                m.ncols()
            )
        })
    })
}
