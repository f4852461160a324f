//! The checker bundle and the default group registry.
//!
//! [`default_registry`] is the registry specs, `entk verify-group` and the layers use unless
//! given another: the families `cN` (`c1 … c1024`) and `dN` (`d1 … d512`) of planar point
//! groups, the finite rotation groups `octahedral` (O, 24 elements) and `icosahedral` (I, 60),
//! and `so3` (alias `so(3)`). Each is registered with [`planar_entry`], [`spherical_entry`] or
//! [`so3_entry`], the same calls a downstream crate uses for its own groups:
//!
//! ```
//! use entk_groups::{CheckOptions, CyclicGroup};
//! let mut registry = entk_reps::default_registry();
//! let entry = entk_reps::planar_entry(CyclicGroup::new(3).unwrap()).unwrap().named("my_c3");
//! registry.register(entry).unwrap();
//! let checks = registry.get("my_c3").unwrap().run_checks(&CheckOptions::default()).unwrap();
//! assert!(checks.iter().all(|c| c.passed()));
//! ```
//!
//! The bundle of a finite group checks everything a layer relies on: the group laws and
//! numbering, the declared action ([`entk_groups::laws::check_plane_action`],
//! [`entk_groups::laws::check_sphere_action`]) and, through [`irrep_checks`], the irreps
//! (a matrix whose size disagrees with the declared dimension is a failed `matrix_size_err`
//! check with the sizes in its name, never a panic), the regular representation and the finite
//! Fourier transform.

use std::sync::OnceLock;

use entk_groups::laws::{self, nan_max, tolerance, LawCheck};
use entk_groups::{
    cyclic_family, dihedral_family, CompactGroup, FiniteGroupExt, FiniteRotationGroup, Group,
    GroupEntry, GroupError, GroupRegistry, PlanarPointGroup, Rotation, Sphere, SphericalPointGroup,
    SO3,
};
use nalgebra::Vector3;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::laws::{check_finite_fourier, check_irreps, check_representation};
use crate::so3_laws::{check_roundtrip, check_s2_rotation, check_so3_translations};
use crate::{
    FiniteIrreps, RealWignerIrrep, RegularRepresentation, RepsError, S2Coefficients, S2Transform,
    So3Coefficients, So3Transform, WignerIrrep,
};

/// The registry with every built-in group (module documentation). Built once; each call
/// returns a copy the caller may extend.
pub fn default_registry() -> GroupRegistry {
    static DEFAULT: OnceLock<GroupRegistry> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            let mut registry = GroupRegistry::new();
            registry.register_family(cyclic_family(planar_entry));
            registry.register_family(dihedral_family(planar_entry));
            registry
                .register(so3_entry())
                .expect("so3 is a valid, new name");
            // Built on first use: the icosahedral closure and Cayley table would otherwise be
            // computed at every start of the CLI.
            for (name, group) in [
                (
                    "octahedral",
                    FiniteRotationGroup::octahedral as fn() -> FiniteRotationGroup,
                ),
                ("icosahedral", FiniteRotationGroup::icosahedral),
            ] {
                registry
                    .register_lazy(name, &[], move || spherical_entry(group()))
                    .expect("a valid, new name");
            }
            registry
        })
        .clone()
}

/// A planar point group with its irreps: [`GroupEntry::planar`] plus [`irrep_checks`].
pub fn planar_entry<G: PlanarPointGroup + FiniteIrreps + Clone + 'static>(
    group: G,
) -> Result<GroupEntry, GroupError> {
    let checked = group.clone();
    Ok(GroupEntry::planar(group)?.with_checks(move |o| Ok(irrep_checks(&checked, o.seed))))
}

/// A finite group acting on the sphere, with its irreps: [`GroupEntry::spherical`] plus
/// [`irrep_checks`].
pub fn spherical_entry<G: SphericalPointGroup + FiniteIrreps + Clone + 'static>(
    group: G,
) -> Result<GroupEntry, GroupError> {
    let checked = group.clone();
    Ok(GroupEntry::spherical(group)?.with_checks(move |o| Ok(irrep_checks(&checked, o.seed))))
}

/// SO(3) with [`so3_checks`] at the requested bandlimit.
pub fn so3_entry() -> GroupEntry {
    GroupEntry::so3().with_checks(|o| Ok(so3_checks(o.bandlimit, o.seed)))
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

/// The representation checks of a finite group: every irrep ([`check_irreps`]: homomorphism,
/// unitarity, Schur and character orthogonality, completeness `Σ d² = |G|`), the regular
/// representation (`regular_*`, exact) and the finite Fourier transform on four random
/// functions drawn with `seed` (round trip, Plancherel).
pub fn irrep_checks<G: FiniteIrreps>(group: &G, seed: u64) -> Vec<LawCheck> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let elements = group.elements();
    let mut checks = check_irreps(group, tolerance::EXACT);
    if checks.iter().any(|c| c.name.contains("matrix_size_err")) {
        // The Fourier transform would multiply matrices of the wrong sizes.
        return checks;
    }
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
    checks
}

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

/// Every SO(3) check at bandlimit `l`: group laws on testing elements and Haar samples, the
/// action on S², the Haar quadrature volume, Euler-angle round trips, the complex and real
/// Wigner D laws for every degree `l′ < l`, and the S² and SO(3) transforms (round trips,
/// rotations, translations). Random elements and coefficients are drawn with `seed`. A
/// transform that cannot be built (`l = 0`) is a failed check carrying the message.
pub fn so3_checks(l: usize, seed: u64) -> Vec<LawCheck> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
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
    checks.push(laws::check_haar_volume(&SO3, l));
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
        let tolerance = tolerance::EXACT_LONG_SUM;
        let complex = check_representation(&WignerIrrep::new(degree), &elements, tolerance);
        merge_worst(&mut checks, "wigner_", complex);
        let real = check_representation(&RealWignerIrrep::new(degree), &elements, tolerance);
        merge_worst(&mut checks, "real_wigner_", real);
    }
    if let Err(e) = transform_checks(&mut checks, l, &points, &mut rng) {
        checks.push(laws::failed_to_run(
            "so3_transforms_err",
            &match e {
                RepsError::Group(g) => g,
                other => GroupError::InvalidSize {
                    reason: other.to_string(),
                },
            },
        ));
    }
    checks
}

fn transform_checks(
    checks: &mut Vec<LawCheck>,
    l: usize,
    points: &[Vector3<f64>],
    rng: &mut ChaCha8Rng,
) -> Result<(), RepsError> {
    let s2 = S2Transform::new(l)?;
    let so3 = So3Transform::new(l)?;
    let rotations: Vec<Rotation> = (0..4).map(|_| SO3.sample_haar(rng)).collect();
    let tolerance = tolerance::EXACT_LONG_SUM;
    for q in &rotations {
        // The checks draw nothing, so both draws may come first.
        let s2_coefficients = S2Coefficients::random_real(l, rng)?;
        let so3_coefficients = So3Coefficients::random_real(l, rng)?;
        for (prefix, found) in [
            ("s2_", check_roundtrip(&s2, &s2_coefficients, tolerance)?),
            (
                "",
                check_s2_rotation(&s2_coefficients, q, points, tolerance)?,
            ),
            ("so3_", check_roundtrip(&so3, &so3_coefficients, tolerance)?),
            (
                "",
                check_so3_translations(&so3_coefficients, q, &rotations, tolerance)?,
            ),
        ] {
            merge_worst(checks, prefix, found);
        }
    }
    Ok(())
}
