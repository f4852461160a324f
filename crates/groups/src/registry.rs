//! Group names used by the CLI and by architecture specs: `c4`, `d4`, `cN`, `dN` (any `N ≥ 1`)
//! and `so3`.

use std::fmt;
use std::str::FromStr;

use crate::GroupError;

/// A registered group, parsed from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupName {
    /// `cN`: [`crate::CyclicGroup`].
    Cyclic(usize),
    /// `dN`: [`crate::DihedralGroup`].
    Dihedral(usize),
    /// `so3`: [`crate::SO3`].
    So3,
}

/// The largest finite group entk builds from a name: 1024 elements. Kernels of group
/// features hold `|G|²` slice pairs per position pair and layers keep `|G|²` stencils, so
/// larger point groups are refused at parse time, in microseconds, instead of exhausting memory
/// later (`c1024` and `d512` are the largest cyclic and dihedral names).
pub const MAX_FINITE_ORDER: usize = 1024;

/// A one-line description of the registered names, for error messages and `--help`.
pub const KNOWN_GROUPS: &str = "c1, c2, ..., c1024 (cyclic), d1, ..., d512 (dihedral), so3";

impl FromStr for GroupName {
    type Err = GroupError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let unknown = || GroupError::UnknownGroup {
            name: s.to_string(),
            known: KNOWN_GROUPS.into(),
        };
        if lower == "so3" || lower == "so(3)" {
            return Ok(GroupName::So3);
        }
        // Split after the first *character* (the name may be any UTF-8, e.g. `é4`).
        let mut chars = lower.chars();
        let family = chars.next();
        let digits = chars.as_str();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(unknown());
        }
        // Digits beyond usize saturate: they are refused as too large, not as unknown.
        let n: usize = digits.parse().unwrap_or(usize::MAX);
        let too_large = |group, order| GroupError::OrderTooLarge {
            group,
            order,
            max: MAX_FINITE_ORDER,
        };
        match (family, n) {
            (Some('c'), 0) => Err(GroupError::ZeroOrder { group: "cyclic" }),
            (Some('d'), 0) => Err(GroupError::ZeroOrder { group: "dihedral" }),
            (Some('c'), n) if n > MAX_FINITE_ORDER => Err(too_large("cyclic", n)),
            (Some('d'), n) if n > MAX_FINITE_ORDER / 2 => {
                Err(too_large("dihedral", n.saturating_mul(2)))
            }
            (Some('c'), n) => Ok(GroupName::Cyclic(n)),
            (Some('d'), n) => Ok(GroupName::Dihedral(n)),
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupName::Cyclic(n) => write!(f, "c{n}"),
            GroupName::Dihedral(n) => write!(f, "d{n}"),
            GroupName::So3 => write!(f, "so3"),
        }
    }
}
