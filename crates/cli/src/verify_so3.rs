//! The SO(3) half of `entk verify-group so3`: group laws, the S² action, Haar quadrature, Euler
//! round trips, Wigner D representation laws for every degree `l < L`, and the S² and SO(3)
//! transforms (round trips, rotations) at bandlimit `L`.

use entk_groups::laws::{self, nan_max, tolerance, LawCheck};
use entk_groups::{CompactGroup, Group, Rotation, Sphere, SO3};
use entk_reps::laws::check_representation;
use entk_reps::so3_laws::{
    check_s2_rotation, check_s2_roundtrip, check_so3_roundtrip, check_so3_translations,
};
use entk_reps::{
    RealWignerIrrep, S2Coefficients, S2Transform, So3Coefficients, So3Transform, WignerIrrep,
};
use nalgebra::Vector3;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{CheckReport, VERIFY_SEED};
use crate::CliError;

/// Keeps the worst value of each check name, prefixing names with `prefix`.
fn merge_worst(into: &mut Vec<LawCheck>, prefix: &str, checks: Vec<LawCheck>) {
    for c in checks {
        let name = format!("{prefix}{}", c.name);
        match into.iter_mut().find(|w| w.name == name) {
            Some(w) => w.max_error = nan_max(w.max_error, c.max_error),
            None => into.push(LawCheck::new(name, c.max_error, c.tolerance)),
        }
    }
}

/// All SO(3) checks at bandlimit `l`.
pub(crate) fn so3_checks(l: usize) -> Result<Vec<CheckReport>, CliError> {
    let mut rng = ChaCha8Rng::seed_from_u64(VERIFY_SEED);
    let mut elements = SO3.testing_elements();
    elements.extend((0..24).map(|_| SO3.sample_haar(&mut rng)));
    let mut checks = laws::check_group_laws(&SO3, &elements, tolerance::EXACT);
    let points: Vec<Vector3<f64>> = (0..6)
        .map(|_| SO3.sample_haar(&mut rng).apply(&Vector3::z()))
        .collect();
    checks.extend(laws::check_action_laws::<Sphere, _>(
        &SO3,
        &elements,
        &points,
        tolerance::EXACT,
    ));
    let euler_err = elements
        .iter()
        .map(|r| (Rotation::from_euler_zyz(r.to_euler_zyz()).matrix() - r.matrix()).amax())
        .fold(0.0, nan_max);
    checks.push(LawCheck::new(
        "euler_roundtrip_err",
        euler_err,
        tolerance::EXACT,
    ));
    for degree in 0..l {
        merge_worst(
            &mut checks,
            "wigner_",
            check_representation(
                &WignerIrrep::new(degree),
                &elements,
                tolerance::EXACT_LONG_SUM,
            ),
        );
        merge_worst(
            &mut checks,
            "real_wigner_",
            check_representation(
                &RealWignerIrrep::new(degree),
                &elements,
                tolerance::EXACT_LONG_SUM,
            ),
        );
    }
    let s2 = S2Transform::new(l)?;
    let so3 = So3Transform::new(l)?;
    let rotations: Vec<Rotation> = (0..4).map(|_| SO3.sample_haar(&mut rng)).collect();
    for q in &rotations {
        let s2_coefficients = S2Coefficients::random_real(l, &mut rng)?;
        merge_worst(
            &mut checks,
            "s2_",
            check_s2_roundtrip(&s2, &s2_coefficients, tolerance::EXACT_LONG_SUM)?,
        );
        merge_worst(
            &mut checks,
            "",
            check_s2_rotation(&s2_coefficients, q, &points, tolerance::EXACT_LONG_SUM)?,
        );
        let so3_coefficients = So3Coefficients::random_real(l, &mut rng)?;
        merge_worst(
            &mut checks,
            "so3_",
            check_so3_roundtrip(&so3, &so3_coefficients, tolerance::EXACT_LONG_SUM)?,
        );
        merge_worst(
            &mut checks,
            "",
            check_so3_translations(&so3_coefficients, q, &rotations, tolerance::EXACT_LONG_SUM)?,
        );
    }
    let mut reports: Vec<CheckReport> = checks.into_iter().map(CheckReport::from_law).collect();
    let at = reports
        .iter()
        .position(|c| c.name == "action_compatibility_err")
        .map_or(reports.len(), |i| i + 1);
    reports.insert(at, super::haar_volume_check(&SO3, l));
    Ok(reports)
}
