//! `entk verify-group`: every generic law check of a registered group, as numbers.
//!
//! Finite groups (`cN`, `dN`): group axioms and numbering, Haar volume, the plane action, all
//! irreps (homomorphism, unitarity, Schur and character orthogonality, completeness), the
//! regular representation, the finite Fourier transform, and the pixel action — exact
//! roto-translations `H ⋉ Z_5²` for subgroups of D4, and the measured defect of bilinear
//! resampling (informational) for other angles. `so3`: group axioms on Haar samples, the action
//! on S², the Driscoll–Healy quadratures, Euler-angle round trips, Wigner D laws and the S² and
//! SO(3) transform round trips at the requested bandlimit.

use entk_groups::laws::{self, tolerance, LawCheck};
use entk_groups::plane::{acts_exactly_on_pixels, resampling_homomorphism_error};
use entk_groups::{
    CyclicGroup, DihedralGroup, FiniteGroupExt, GroupError, GroupName, PixelTorus,
    PlanarPointGroup, Plane, RotoTranslation,
};
use entk_reps::laws::{check_finite_fourier, check_irreps, check_representation};
use entk_reps::{FiniteIrreps, RegularRepresentation};
use nalgebra::Vector2;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::CliError;

/// Seed for the random elements and test functions used by the checks (reports are
/// reproducible).
pub const VERIFY_SEED: u64 = 0x0e47_c0de;

/// One measured law.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    /// The check's name, ending in `_err`.
    pub name: String,
    /// The largest error measured.
    pub max_err: f64,
    /// The tolerance; `None` for informational measurements that cannot fail.
    pub tolerance: Option<f64>,
    /// Whether the check passed (always true for informational ones).
    pub passed: bool,
}

impl CheckReport {
    fn from_law(check: LawCheck) -> Self {
        Self {
            passed: check.passed(),
            name: check.name,
            max_err: check.max_error,
            tolerance: Some(check.tolerance),
        }
    }
    fn informational(name: &str, max_err: f64) -> Self {
        Self {
            name: name.into(),
            max_err,
            tolerance: None,
            passed: true,
        }
    }
}

/// The report of `entk verify-group NAME`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupReport {
    /// The registry name (`c4`, `d6`, `so3`, ...).
    pub group: String,
    /// The bandlimit used for SO(3) checks; `None` for finite groups.
    pub bandlimit: Option<usize>,
    /// Every check, in a fixed order.
    pub checks: Vec<CheckReport>,
    /// True when every check passed.
    pub passed: bool,
}

/// The names `entk verify-group all` runs.
pub fn default_group_names() -> Vec<String> {
    let mut names: Vec<String> = (1..=8).map(|n| format!("c{n}")).collect();
    names.extend((1..=8).map(|n| format!("d{n}")));
    names.push("so3".into());
    names
}

/// Runs every check for the group registered as `name`. `bandlimit` is used by SO(3) only
/// (default 8). Errors for unknown names (listing the known ones), `n = 0` and `L = 0`.
pub fn verify_group(name: &str, bandlimit: Option<usize>) -> Result<GroupReport, CliError> {
    let group_name: GroupName = name.parse()?;
    let (checks, bandlimit) = match group_name {
        GroupName::Cyclic(n) => (finite_checks(&CyclicGroup::new(n)?)?, None),
        GroupName::Dihedral(n) => (finite_checks(&DihedralGroup::new(n)?)?, None),
        GroupName::So3 => {
            let l = bandlimit.unwrap_or(8);
            if l == 0 {
                return Err(GroupError::ZeroBandlimit.into());
            }
            (crate::verify::so3_checks(l)?, Some(l))
        }
    };
    let passed = checks.iter().all(|c| c.passed);
    Ok(GroupReport {
        group: group_name.to_string(),
        bandlimit,
        checks,
        passed,
    })
}

fn random_functions(order: usize, count: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<Complex64>> {
    (0..count)
        .map(|_| {
            (0..order)
                .map(|_| Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
                .collect()
        })
        .collect()
}

fn finite_checks<H: PlanarPointGroup + FiniteIrreps + Clone>(
    group: &H,
) -> Result<Vec<CheckReport>, GroupError> {
    let mut rng = ChaCha8Rng::seed_from_u64(VERIFY_SEED);
    let elements = group.elements();
    let points: Vec<Vector2<f64>> = (0..6)
        .map(|_| Vector2::new(rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0)))
        .collect();
    let mut checks: Vec<LawCheck> = laws::check_finite_group_all(group);
    checks.extend(laws::check_action_laws::<Plane, _>(
        group,
        &elements,
        &points,
        tolerance::EXACT,
    ));
    checks.extend(check_irreps(group, tolerance::EXACT));
    let regular = RegularRepresentation::new(group);
    checks.extend(
        check_representation(&regular, &elements, 0.0)
            .into_iter()
            .map(|mut c| {
                c.name = format!("regular_{}", c.name);
                c
            }),
    );
    checks.extend(check_finite_fourier(
        group,
        &random_functions(group.order(), 4, &mut rng),
        tolerance::EXACT,
    ));
    let mut reports: Vec<CheckReport> = checks.into_iter().map(CheckReport::from_law).collect();
    let window = 5;
    let defect = resampling_homomorphism_error(group, window)?;
    if acts_exactly_on_pixels(group) {
        reports.push(CheckReport::from_law(LawCheck::new(
            "pixel_resampling_homomorphism_err",
            defect,
            0.0,
        )));
        let roto = RotoTranslation::new(group.clone(), window)?;
        let pixels: Vec<[usize; 2]> = (0..window * window)
            .map(|i| [i / window, i % window])
            .collect();
        let mut roto_checks = laws::check_finite_group_all(&roto);
        roto_checks.extend(laws::check_action_laws::<PixelTorus, _>(
            &roto,
            &roto.elements(),
            &pixels,
            0.0,
        ));
        reports.extend(roto_checks.into_iter().map(|mut c| {
            c.name = format!("roto_translation_{}", c.name);
            CheckReport::from_law(c)
        }));
    } else {
        // Bilinear resampling by angles other than multiples of 90° is not a group action;
        // the defect is reported, not judged (THEORY.md §6.4).
        reports.push(CheckReport::informational(
            "pixel_resampling_homomorphism_err",
            defect,
        ));
    }
    Ok(reports)
}

#[path = "verify_so3.rs"]
mod so3_part;
pub(crate) use so3_part::so3_checks;
