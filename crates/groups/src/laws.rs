//! Reusable law checkers: they *measure* (return the largest error of each law) so that tests,
//! `entk verify-group` and users adding a group share one implementation.
//!
//! Each checker returns [`LawCheck`]s; [`LawCheck::passed`] compares the measured error with a
//! tolerance from [`tolerance`]. A NaN error never passes.

use serde::Serialize;

use crate::{Action, CompactGroup, FiniteGroup, FiniteGroupExt, Group, Space};

/// Named tolerances, one per kind of check (THEORY.md §9: "exact" means ≤ 1e-12 relative).
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
    /// The tolerance it is compared with.
    pub tolerance: f64,
}

impl LawCheck {
    /// A check result.
    pub fn new(name: impl Into<String>, max_error: f64, tolerance: f64) -> Self {
        Self {
            name: name.into(),
            max_error,
            tolerance,
        }
    }
    /// `max_error ≤ tolerance` (false for NaN).
    pub fn passed(&self) -> bool {
        self.max_error <= self.tolerance
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
    checks.push(check_quadrature_volume(group, 1, tolerance::EXACT));
    checks
}
