//! Reusable law checkers: they *measure* (return the largest error of each law) so that tests,
//! `entk verify-group` and users adding a group share one implementation.
//!
//! Each checker returns [`LawCheck`]s; [`LawCheck::passed`] compares the measured error with a
//! tolerance from [`tolerance`]. A NaN error never passes.

use serde::Serialize;

use nalgebra::{Matrix2, Matrix3, SMatrix, Vector2, Vector3};

use crate::plane::resampling_homomorphism_error;
use crate::{
    Action, CompactGroup, FiniteGroup, FiniteGroupExt, Group, GroupError, PixelTorus,
    PlanarPointGroup, Plane, RotoTranslation, Space, Sphere, SphericalPointGroup,
};

/// Named tolerances, one per kind of check (docs/theory.md#tested-properties: "exact" means ≤ 1e-12 relative).
pub mod tolerance {
    /// Identities that hold exactly in real arithmetic and are computed in O(1) flops.
    pub const EXACT: f64 = 1e-12;
    /// Identities that hold exactly but involve long sums (transforms up to L = 32, l ≤ 100).
    pub const EXACT_LONG_SUM: f64 = 1e-10;
}

/// The measured outcome of one law.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LawCheck {
    /// Name of the check; ends in `_err` (e.g. `associativity_err`).
    pub name: String,
    /// The largest error seen.
    pub max_error: f64,
    /// The tolerance it is compared with; `+∞` for an informational measurement
    /// ([`LawCheck::informational`]), which cannot fail unless it is NaN.
    pub tolerance: f64,
    /// How the tolerance was chosen, when it is not one of the named [`tolerance`]s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl LawCheck {
    /// A check result.
    pub fn new(name: impl Into<String>, max_error: f64, tolerance: f64) -> Self {
        Self {
            name: name.into(),
            max_error,
            tolerance,
            rule: None,
        }
    }
    /// A measurement reported for information, not judged (tolerance `+∞`).
    pub fn informational(name: impl Into<String>, value: f64) -> Self {
        Self::new(name, value, f64::INFINITY)
    }
    /// True for [`LawCheck::informational`] measurements.
    pub fn is_informational(&self) -> bool {
        self.tolerance == f64::INFINITY
    }
    /// The same check with a stated tolerance rule.
    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.rule = Some(rule.into());
        self
    }
    /// `max_error ≤ tolerance` (false for NaN).
    pub fn passed(&self) -> bool {
        self.max_error <= self.tolerance
    }
}

/// The names of the checks that did not pass, in order.
pub fn failures(checks: &[LawCheck]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| c.name.clone())
        .collect()
}

/// `Ok` when every check passed; otherwise one line naming each failed check with its error
/// and tolerance (`name = error exceeds tolerance; ...`), for a test or a report to show.
pub fn all_passed(checks: &[LawCheck]) -> Result<(), String> {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| format!("{} = {:e} exceeds {:e}", c.name, c.max_error, c.tolerance))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// Maximum of errors that propagates NaN (a NaN error must fail a check).
pub fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Largest triple count used for associativity before switching to a cyclic subsample.
const MAX_TRIPLES: usize = 50_000;

/// Associativity, identity and inverse laws over `elements`, measured with
/// [`Group::distance`]: `associativity_err`, `identity_err`, `inverse_err`.
pub fn check_group_laws<G: Group>(group: &G, elements: &[G::Element], tol: f64) -> Vec<LawCheck> {
    let e = group.identity();
    let mut identity_err: f64 = 0.0;
    let mut inverse_err: f64 = 0.0;
    for a in elements {
        identity_err = nan_max(identity_err, group.distance(&group.compose(&e, a), a));
        identity_err = nan_max(identity_err, group.distance(&group.compose(a, &e), a));
        let inv = group.inverse(a);
        inverse_err = nan_max(inverse_err, group.distance(&group.compose(a, &inv), &e));
        inverse_err = nan_max(inverse_err, group.distance(&group.compose(&inv, a), &e));
    }
    let n = elements.len();
    let mut associativity_err: f64 = 0.0;
    let total = n * n * n;
    let stride = if total > MAX_TRIPLES {
        total / MAX_TRIPLES
    } else {
        1
    };
    let mut t = 0;
    while t < total {
        let (a, b, c) = (
            &elements[t % n],
            &elements[(t / n) % n],
            &elements[t / (n * n)],
        );
        let left = group.compose(&group.compose(a, b), c);
        let right = group.compose(a, &group.compose(b, c));
        associativity_err = nan_max(associativity_err, group.distance(&left, &right));
        // An odd stride offset keeps the subsample from aligning with the index structure.
        t += stride + usize::from(stride > 1);
    }
    vec![
        LawCheck::new("associativity_err", associativity_err, tol),
        LawCheck::new("identity_err", identity_err, tol),
        LawCheck::new("inverse_err", inverse_err, tol),
    ]
}

/// Laws of the finite-group numbering: `index_roundtrip_err` (`index_of(element(i)) = i`) and
/// `cayley_table_err` (every row and column of the multiplication table is a permutation;
/// the error counts the violations).
pub fn check_finite_group<G: FiniteGroup>(group: &G) -> Vec<LawCheck> {
    let order = group.order();
    let roundtrip = (0..order)
        .filter(|&i| group.index_of(&group.element(i)) != i)
        .count();
    let table = group.cayley_table();
    let mut violations = 0usize;
    for a in 0..order {
        let mut row_seen = vec![false; order];
        let mut col_seen = vec![false; order];
        for b in 0..order {
            let (r, c) = (table[a][b], table[b][a]);
            if r >= order || row_seen[r] {
                violations += 1;
            } else {
                row_seen[r] = true;
            }
            if c >= order || col_seen[c] {
                violations += 1;
            } else {
                col_seen[c] = true;
            }
        }
    }
    vec![
        LawCheck::new("index_roundtrip_err", roundtrip as f64, 0.0),
        LawCheck::new("cayley_table_err", violations as f64, 0.0),
    ]
}

/// Action laws over `elements × points`: `action_identity_err` (`e·p = p`) and
/// `action_compatibility_err` (`g·(h·p) = (gh)·p`).
pub fn check_action_laws<S: Space, G: Action<S>>(
    group: &G,
    elements: &[G::Element],
    points: &[S::Point],
    tol: f64,
) -> Vec<LawCheck> {
    let e = group.identity();
    let mut identity_err: f64 = 0.0;
    let mut compat_err: f64 = 0.0;
    for p in points {
        identity_err = nan_max(identity_err, S::distance(&group.act(&e, p), p));
        for g in elements {
            for h in elements.iter().take(16) {
                let two_steps = group.act(g, &group.act(h, p));
                let one_step = group.act(&group.compose(g, h), p);
                compat_err = nan_max(compat_err, S::distance(&two_steps, &one_step));
            }
        }
    }
    vec![
        LawCheck::new("action_identity_err", identity_err, tol),
        LawCheck::new("action_compatibility_err", compat_err, tol),
    ]
}

/// `haar_volume_err`: the quadrature weights sum to the group volume (relative error).
pub fn check_quadrature_volume<G: CompactGroup>(group: &G, bandlimit: usize, tol: f64) -> LawCheck {
    let err = match group.haar_quadrature(bandlimit) {
        Ok(q) => (q.total_weight() - group.volume()).abs() / group.volume(),
        Err(_) => f64::NAN,
    };
    LawCheck::new("haar_volume_err", err, tol)
}

/// All generic checks of a finite group on all its elements (group axioms, numbering, Haar
/// volume).
pub fn check_finite_group_all<G: FiniteGroup>(group: &G) -> Vec<LawCheck> {
    let elements = group.elements();
    let mut checks = check_group_laws(group, &elements, 0.0);
    checks.extend(check_finite_group(group));
    checks.push(check_haar_volume(group, 1));
    checks
}

/// Largest-entry norm of a matrix, NaN-propagating.
fn amax<I: IntoIterator<Item = f64>>(values: I) -> f64 {
    values.into_iter().map(f64::abs).fold(0.0, nan_max)
}

/// Plane points used by the action laws: a fixed set spread over `[−3, 3]²`.
fn plane_points() -> Vec<Vector2<f64>> {
    [
        (0.3, -1.2),
        (2.5, 0.7),
        (-1.9, -2.6),
        (1.1, 2.9),
        (-0.4, 0.05),
        (-2.8, 1.6),
    ]
    .iter()
    .map(|&(a, b)| Vector2::new(a, b))
    .collect()
}

/// Everything the pixel-grid layers rely on in a [`PlanarPointGroup`]'s plane action, over
/// all elements and all pairs:
///
/// - `action_identity_err`, `action_compatibility_err` ([`check_action_laws`] on plane points);
/// - `plane_orthogonality_err`: `max_g |A_gᵀA_g − I|` (filters are resampled by orthogonal maps);
/// - `plane_homomorphism_err`: `max_{g,h} |A_g A_h − A_{gh}|` (the layers' equivariance rests
///   on it; a wrong `plane_matrix` fails here);
/// - where the group claims [`PlanarPointGroup::preserves_pixel_lattice`]: `pixel_lattice_err`
///   (largest distance of an entry from an integer; tolerance 0, as the layers then use exact
///   permutations), `pixel_resampling_homomorphism_err` (the 5×5 resampling permutations
///   compose like the group, tolerance 0) and the `roto_translation_*` laws of `H ⋉ Z_5²`.
///   Other groups get `pixel_resampling_homomorphism_err` as an informational measurement
///   (bilinear resampling by other angles is not a group action; docs/theory.md#other-point-groups-resampled-filters).
pub fn check_plane_action<G: PlanarPointGroup + Clone>(group: &G) -> Vec<LawCheck> {
    let elements = group.elements();
    let matrices: Vec<Matrix2<f64>> = elements.iter().map(|g| group.plane_matrix(g)).collect();
    let mut checks =
        check_action_laws::<Plane, _>(group, &elements, &plane_points(), tolerance::EXACT);
    checks.extend(matrix_checks(group, "plane", &matrices, |_| 0.0));
    let window = 5;
    let defect = resampling_homomorphism_error(group, window).unwrap_or(f64::NAN);
    if group.preserves_pixel_lattice() {
        let lattice = matrices
            .iter()
            .flat_map(|m| m.iter().map(|v| (v - v.round()).abs()).collect::<Vec<_>>())
            .fold(0.0, nan_max);
        checks.push(LawCheck::new("pixel_lattice_err", lattice, 0.0));
        checks.push(LawCheck::new(
            "pixel_resampling_homomorphism_err",
            defect,
            0.0,
        ));
        match RotoTranslation::new(group.clone(), window) {
            Ok(roto) => {
                let pixels: Vec<[usize; 2]> = (0..window * window)
                    .map(|i| [i / window, i % window])
                    .collect();
                let mut roto_checks = check_finite_group_all(&roto);
                roto_checks.extend(check_action_laws::<PixelTorus, _>(
                    &roto,
                    &roto.elements(),
                    &pixels,
                    0.0,
                ));
                checks.extend(roto_checks.into_iter().map(|mut c| {
                    c.name = format!("roto_translation_{}", c.name);
                    c
                }));
            }
            Err(_) => checks.push(LawCheck::new("roto_translation_err", f64::NAN, 0.0)),
        }
    } else {
        checks.push(LawCheck::informational(
            "pixel_resampling_homomorphism_err",
            defect,
        ));
    }
    checks
}

/// `{space}_orthogonality_err`, `max_g max(|M_gᵀM_g − I|, defect(M_g))`, and
/// `{space}_homomorphism_err`, `max_{g,h} |M_g M_h − M_{gh}|`, of the matrices `M_g` by which a
/// finite group's elements act (in index order).
fn matrix_checks<G: FiniteGroup, const D: usize>(
    group: &G,
    space: &str,
    matrices: &[SMatrix<f64, D, D>],
    defect: impl Fn(&SMatrix<f64, D, D>) -> f64,
) -> [LawCheck; 2] {
    let orthogonality = matrices
        .iter()
        .map(|m| {
            let identity = SMatrix::<f64, D, D>::identity();
            nan_max(
                amax((m.transpose() * m - identity).iter().copied()),
                defect(m),
            )
        })
        .fold(0.0, nan_max);
    let mut homomorphism: f64 = 0.0;
    for (a, ma) in matrices.iter().enumerate() {
        for (b, mb) in matrices.iter().enumerate() {
            let ab = group.compose_indices(a, b);
            homomorphism = nan_max(homomorphism, amax((ma * mb - matrices[ab]).iter().copied()));
        }
    }
    [
        LawCheck::new(
            format!("{space}_orthogonality_err"),
            orthogonality,
            tolerance::EXACT,
        ),
        LawCheck::new(
            format!("{space}_homomorphism_err"),
            homomorphism,
            tolerance::EXACT,
        ),
    ]
}

/// Everything the sphere layers rely on in a [`SphericalPointGroup`]'s action, over all
/// elements and pairs:
///
/// - `action_identity_err`, `action_compatibility_err` ([`check_action_laws`] on points of S²);
/// - `sphere_orthogonality_err`: `max_g max(|R_gᵀR_g − I|, |det R_g − 1|)`;
/// - `sphere_homomorphism_err`: `max_{g,h} |R_g R_h − R_{gh}|`;
/// - `sphere_faithfulness_err`: the number of pairs of distinct elements with the same rotation
///   (tolerance 0: two slices of a lifted signal would otherwise always agree).
pub fn check_sphere_action<G: SphericalPointGroup>(group: &G) -> Vec<LawCheck> {
    let elements = group.elements();
    let matrices: Vec<Matrix3<f64>> = elements
        .iter()
        .map(|g| *group.rotation(g).matrix())
        .collect();
    let points: Vec<Vector3<f64>> = [
        (0.3, -1.2, 0.5),
        (2.5, 0.7, -1.0),
        (-0.1, 0.2, 1.0),
        (1.0, 1.0, 1.0),
        (-0.6, -0.8, 0.0),
    ]
    .iter()
    .map(|&(x, y, z)| Vector3::new(x, y, z).normalize())
    .collect();
    let mut checks = check_action_laws::<Sphere, _>(group, &elements, &points, tolerance::EXACT);
    let determinant = |m: &Matrix3<f64>| (m.determinant() - 1.0).abs();
    checks.extend(matrix_checks(group, "sphere", &matrices, determinant));
    let mut coincident = 0usize;
    for (a, ma) in matrices.iter().enumerate() {
        for mb in &matrices[a + 1..] {
            if amax((ma - mb).iter().copied()) < 1e-9 {
                coincident += 1;
            }
        }
    }
    checks.push(LawCheck::new(
        "sphere_faithfulness_err",
        coincident as f64,
        0.0,
    ));
    checks
}

/// `haar_volume_err` with the tolerance `max(1e-12, N·ε)` for a rule of `N` nodes: summing `N`
/// positive weights in floating point can be off by up to `(N − 1)·ε` relative, so a fixed
/// tolerance would fail large grids (SO(3) at L = 40 has 499,200 nodes and measures 1.5e-12).
pub fn check_haar_volume<G: CompactGroup + ?Sized>(group: &G, bandlimit: usize) -> LawCheck {
    let (err, nodes) = match group.haar_quadrature(bandlimit) {
        Ok(q) => (
            (q.total_weight() - group.volume()).abs() / group.volume(),
            q.weights.len(),
        ),
        Err(_) => (f64::NAN, 0),
    };
    let tol = tolerance::EXACT.max(nodes as f64 * f64::EPSILON);
    LawCheck::new("haar_volume_err", err, tol).with_rule(format!(
        "max(1e-12, N·ε) relative to the volume, N = {nodes} quadrature nodes (rounding bound of a sum of N positive weights)"
    ))
}

/// An error of a checker that could not run (a group that cannot be built, say), as a failed
/// check named `what` carrying the message, so that a report never silently omits it.
pub fn failed_to_run(what: &str, error: &GroupError) -> LawCheck {
    LawCheck::new(what, f64::NAN, 0.0).with_rule(format!("could not run: {error}"))
}
