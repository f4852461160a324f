//! The SO(3) half of `entk verify-group so3`.

use entk_groups::laws::{self, tolerance, LawCheck};
use entk_groups::{CompactGroup, Group, GroupError, Rotation, Sphere, SO3};
use nalgebra::Vector3;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{CheckReport, VERIFY_SEED};

/// Group, action, quadrature and Euler checks of SO(3) at bandlimit `l`.
pub(crate) fn so3_checks(l: usize) -> Result<Vec<CheckReport>, GroupError> {
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
    checks.push(laws::check_quadrature_volume(&SO3, l, tolerance::EXACT));
    let euler_err = elements
        .iter()
        .map(|r| (Rotation::from_euler_zyz(r.to_euler_zyz()).matrix() - r.matrix()).amax())
        .fold(0.0, laws::nan_max);
    checks.push(LawCheck::new(
        "euler_roundtrip_err",
        euler_err,
        tolerance::EXACT,
    ));
    Ok(checks.into_iter().map(CheckReport::from_law).collect())
}
