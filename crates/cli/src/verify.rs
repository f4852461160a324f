//! `entk verify-group`: the checker bundle of a registered group, as numbers.
//!
//! The checks themselves live with the groups (each [`entk_groups::GroupEntry`] carries its
//! bundle; see `entk_reps::default_registry` for the built-ins). Planar point groups (`cN`,
//! `dN`): group axioms and numbering, Haar volume, the plane action (orthogonality and
//! homomorphism of `plane_matrix`), all irreps (homomorphism, unitarity, Schur and character
//! orthogonality, completeness), the regular representation, the finite Fourier transform, and
//! the pixel action — exact roto-translations `H ⋉ Z_5²` for groups claiming to preserve the
//! pixel lattice, the measured defect of bilinear resampling (informational) for others. Finite
//! rotation groups (`octahedral`, `icosahedral`): the same with the sphere action (orthogonality,
//! homomorphism, faithfulness) in place of the plane. `so3`: group axioms on Haar samples, the
//! action on S², the Driscoll–Healy quadratures, Euler-angle round trips, Wigner D laws and the
//! S² and SO(3) transform round trips at the requested bandlimit.
//!
//! [`verify_group_in`] and [`verify_groups_in`] take any registry, so a downstream binary with
//! its own groups gets the same command.

use entk_groups::laws::{tolerance, LawCheck};
use entk_groups::{CheckOptions, GroupError, GroupKind, GroupRegistry};
use serde::Serialize;

use crate::CliError;

/// Seed for the random elements and test functions used by the checks (reports are
/// reproducible).
pub const VERIFY_SEED: u64 = 0x0e47_c0de;

/// Largest group order `verify-group` checks. The regular-representation laws hold all
/// `order` matrices of size `order × order` (`16·order³` bytes) and multiply `24·order` pairs
/// of them (`~order⁴` operations): c64 takes ≈1 s and c128 ≈25 s on 2 cores, c1000 would need
/// 16 GB. Larger orders are refused before anything is allocated.
pub const MAX_ORDER: usize = 128;

/// Largest SO(3) bandlimit `verify-group so3 --bandlimit L` checks. Time grows like `L⁴`
/// (L = 16 ≈ 5 s, L = 32 ≈ 1 min, L = 40 ≈ 3 min on 2 cores; L = 64 ≈ 20 min).
pub const MAX_BANDLIMIT: usize = 64;

/// One measured law.
///
/// Every error is relative: either normalised explicitly (`haar_volume_err` by the group
/// volume, the transform round trips by the largest expected value, `plancherel_err` by the
/// energy) or measured on quantities of unit scale (rotation and permutation matrices, unitary
/// irreps, unit vectors on S², plane points with coordinates in `[-3, 3]`), so one tolerance
/// fits every size. `tolerance_rule` states how `tolerance` was set.
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
    /// True when `max_err` is a relative error (see the type's documentation); false only for
    /// informational measurements.
    pub relative: bool,
    /// How the tolerance is chosen, e.g. `"exact (0)"`, `"1e-12 (O(1) operations)"` or
    /// `"max(1e-12, N·ε) relative to the volume, N = 499200 quadrature nodes ..."`.
    pub tolerance_rule: String,
}

impl CheckReport {
    /// The report of one measured law: informational measurements (`tolerance = ∞`) keep no
    /// tolerance; a check's own rule, when it states one, is kept.
    pub fn from_law(check: LawCheck) -> Self {
        if check.is_informational() {
            return Self::informational(&check.name, check.max_error);
        }
        let tolerance_rule = if let Some(rule) = &check.rule {
            rule.clone()
        } else if check.tolerance == 0.0 {
            "exact (0): integer or permutation arithmetic".to_string()
        } else if check.tolerance == tolerance::EXACT {
            "1e-12 relative: an identity computed in O(1) floating-point operations".to_string()
        } else if check.tolerance == tolerance::EXACT_LONG_SUM {
            "1e-10 relative: an identity computed through long sums (transforms, Wigner matrices)"
                .to_string()
        } else {
            format!("{:e} relative", check.tolerance)
        };
        Self {
            passed: check.passed(),
            name: check.name,
            max_err: check.max_error,
            tolerance: Some(check.tolerance),
            relative: true,
            tolerance_rule,
        }
    }
    fn informational(name: &str, max_err: f64) -> Self {
        Self {
            name: name.into(),
            max_err,
            tolerance: None,
            passed: true,
            relative: false,
            tolerance_rule: "none: a measurement, not a pass/fail check".into(),
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

/// The names `entk verify-group all` runs: `c1…c8`, `d1…d8`, `so3`, `octahedral`,
/// `icosahedral`.
pub fn default_group_names() -> Vec<String> {
    let mut names: Vec<String> = (1..=8).map(|n| format!("c{n}")).collect();
    names.extend((1..=8).map(|n| format!("d{n}")));
    names.extend(["so3", "octahedral", "icosahedral"].map(String::from));
    names
}

/// `entk verify-group NAME [--bandlimit L]` with the built-in groups
/// ([`entk_reps::default_registry`]); see [`verify_groups_in`].
pub fn verify_groups(name: &str, bandlimit: Option<usize>) -> Result<Vec<GroupReport>, CliError> {
    verify_groups_in(&entk_reps::default_registry(), name, bandlimit)
}

/// The report of one group of `registry`, or for `all` of every group of
/// [`default_group_names`] that `registry` knows plus every other name registered in it (the
/// bandlimit then applies to `so3` only). Every size is validated before the first check runs.
pub fn verify_groups_in(
    registry: &GroupRegistry,
    name: &str,
    bandlimit: Option<usize>,
) -> Result<Vec<GroupReport>, CliError> {
    if name.trim() != "all" {
        return Ok(vec![verify_group_in(registry, name, bandlimit)?]);
    }
    let mut names: Vec<String> = default_group_names()
        .into_iter()
        .filter(|n| registry.contains(n))
        .collect();
    for n in registry.names() {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let entries = names
        .iter()
        .map(|n| registry.get(n))
        .collect::<Result<Vec<_>, _>>()?;
    let bandlimit_of = |kind: &GroupKind| match kind {
        GroupKind::So3 => bandlimit,
        _ => None,
    };
    for (n, e) in names.iter().zip(&entries) {
        check_sizes(n, e.order(), bandlimit_of(e.kind()))?;
    }
    names
        .iter()
        .zip(&entries)
        .map(|(n, e)| verify_group_in(registry, n, bandlimit_of(e.kind())))
        .collect()
}

/// Refuses sizes that do not apply or cannot be checked: a bandlimit for a finite group, an
/// order over [`MAX_ORDER`], a bandlimit of 0 or over [`MAX_BANDLIMIT`]. `order` is `None` for
/// SO(3).
fn check_sizes(name: &str, order: Option<usize>, bandlimit: Option<usize>) -> Result<(), CliError> {
    match (order, bandlimit) {
        (Some(_), Some(l)) => Err(CliError::Usage(format!(
            "verify-group {name}: --bandlimit {l} applies to so3 only ({name} is finite: its checks use every element, with no quadrature to refine)"
        ))),
        (Some(order), None) if order > MAX_ORDER => {
            let bytes = 16.0 * (order as f64).powi(3);
            Err(CliError::Usage(format!(
                "verify-group {name}: order {order} is over the largest order verify-group checks ({MAX_ORDER}): the regular-representation laws alone would hold 16·order³ bytes ({}) and take ~order⁴ operations",
                human_bytes(bytes)
            )))
        }
        (None, Some(0)) => Err(GroupError::ZeroBandlimit.into()),
        (None, Some(l)) if l > MAX_BANDLIMIT => Err(CliError::Usage(format!(
            "verify-group {name}: bandlimit {l} is over the largest bandlimit verify-group checks ({MAX_BANDLIMIT}): the checks take time ∝ L⁴ (≈1 min at L = 32, ≈20 min at L = 64 on 2 cores)"
        ))),
        _ => Ok(()),
    }
}

/// `1.6e10` bytes as `16.0 GB` (decimal units; scientific beyond petabytes).
fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes;
    for unit in UNITS {
        if v < 1000.0 {
            return format!("{v:.1} {unit}");
        }
        v /= 1000.0;
    }
    format!("{bytes:.1e} B")
}

/// [`verify_group_in`] with the built-in groups ([`entk_reps::default_registry`]).
pub fn verify_group(name: &str, bandlimit: Option<usize>) -> Result<GroupReport, CliError> {
    verify_group_in(&entk_reps::default_registry(), name, bandlimit)
}

/// Runs the checker bundle of the group registered as `name` in `registry`. `bandlimit` is
/// used by SO(3) only (default 8; giving one for a finite group is an error). Errors, before
/// anything is allocated, for unknown names (listing the known ones), `n = 0`, `L = 0`, orders
/// over [`MAX_ORDER`] and bandlimits over [`MAX_BANDLIMIT`].
pub fn verify_group_in(
    registry: &GroupRegistry,
    name: &str,
    bandlimit: Option<usize>,
) -> Result<GroupReport, CliError> {
    let entry = registry.get(name)?;
    let order = entry.order();
    check_sizes(name, order, bandlimit)?;
    let bandlimit = match entry.kind() {
        GroupKind::So3 => Some(bandlimit.unwrap_or(8)),
        _ => None,
    };
    let options = CheckOptions {
        bandlimit: bandlimit.unwrap_or(1),
        seed: VERIFY_SEED,
    };
    let checks: Vec<CheckReport> = entry
        .run_checks(&options)?
        .into_iter()
        .map(CheckReport::from_law)
        .collect();
    let passed = checks.iter().all(|c| c.passed);
    Ok(GroupReport {
        group: entry.name().to_string(),
        bandlimit,
        checks,
        passed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_error(name: &str, bandlimit: Option<usize>) -> String {
        let e = verify_group(name, bandlimit).expect_err(name).to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    }

    #[test]
    fn orders_over_the_limit_are_refused_with_the_memory_they_would_need() {
        let e = usage_error("c1000", None);
        assert!(e.contains("order 1000") && e.contains("16.0 GB"), "{e}");
        // Beyond entk's group-name limit the parser refuses first; between it and MAX_ORDER,
        // verify-group does. Either way: one line, in microseconds.
        for name in ["d9223372036854775808", "c18446744073709551615", "c1025"] {
            assert!(usage_error(name, None).contains("order"), "{name}");
        }
        assert!(usage_error("d65", None).contains("order 130"));
        assert!(usage_error("é4", None).contains("é4"));
    }

    #[test]
    fn the_largest_orders_are_accepted() {
        assert_eq!(check_sizes("c128", Some(128), None).ok(), Some(()));
        assert_eq!(check_sizes("d64", Some(128), None).ok(), Some(()));
    }

    #[test]
    fn bandlimits_are_checked_before_any_work() {
        let e = usage_error("so3", Some(1_000_000_000));
        assert!(
            e.contains("bandlimit 1000000000") && e.contains("(64)"),
            "{e}"
        );
        let e = usage_error("c4", Some(8));
        assert!(e.contains("--bandlimit 8 applies to so3 only"), "{e}");
        assert!(usage_error("so3", Some(0)).contains("bandlimit"));
        let e = verify_groups("all", Some(100))
            .expect_err("all")
            .to_string();
        assert!(e.contains("bandlimit 100"), "{e}");
    }

    #[test]
    fn haar_tolerance_grows_with_the_number_of_nodes() {
        use entk_groups::CompactGroup;
        let c = CheckReport::from_law(entk_groups::laws::check_haar_volume(&entk_groups::SO3, 40));
        let nodes = entk_groups::SO3.haar_quadrature(40).unwrap().weights.len();
        assert!(nodes > 400_000, "{nodes}");
        assert_eq!(c.tolerance, Some(nodes as f64 * f64::EPSILON));
        assert!(
            c.tolerance_rule.contains(&format!("N = {nodes} ")),
            "{}",
            c.tolerance_rule
        );
        assert!(c.passed && c.relative, "{c:?}");
        let small = CheckReport::from_law(entk_groups::laws::check_haar_volume(
            &entk_groups::CyclicGroup::new(4).unwrap(),
            1,
        ));
        assert_eq!(small.tolerance, Some(tolerance::EXACT));
        assert!(small.max_err <= 1e-15, "{small:?}");
    }

    #[test]
    fn a_downstream_registry_is_verified_by_name_and_in_all() {
        use entk_groups::{DihedralGroup, GroupEntry};
        let mut registry = entk_reps::default_registry();
        let flip = entk_reps::planar_entry(DihedralGroup::new(1).unwrap())
            .unwrap()
            .named("flip");
        registry.register(flip).unwrap();
        let report = verify_group_in(&registry, "FLIP", None).unwrap();
        assert_eq!(report.group, "flip");
        assert!(report.passed && report.checks.len() > 20, "{report:?}");
        // Without irreps the bundle is the group and action laws only.
        let mut bare = entk_groups::GroupRegistry::new();
        bare.register(
            GroupEntry::planar(DihedralGroup::new(1).unwrap())
                .unwrap()
                .named("flip"),
        )
        .unwrap();
        let report = verify_group_in(&bare, "flip", None).unwrap();
        assert!(report.passed && report.checks.iter().all(|c| !c.name.contains("irrep")));
        let all = verify_groups_in(&bare, "all", None).unwrap();
        assert_eq!(all.len(), 1);
        let e = verify_group("flip", None).unwrap_err().to_string();
        assert!(e.contains("unknown group `flip`"), "{e}");
    }

    #[test]
    fn bytes_are_human_readable() {
        assert_eq!(human_bytes(16e9), "16.0 GB");
        assert_eq!(human_bytes(512.0), "512.0 B");
        assert_eq!(human_bytes(1e30), "1.0e30 B");
    }
}
