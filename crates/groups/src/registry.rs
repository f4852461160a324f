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

/// A one-line description of the registered names, for error messages and `--help`.
pub const KNOWN_GROUPS: &str = "c1, c2, ..., cN (cyclic), d1, ..., dN (dihedral), so3";

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
        let (family, digits) = lower.split_at(lower.len().min(1));
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(unknown());
        }
        let n: usize = digits.parse().map_err(|_| unknown())?;
        match (family, n) {
            ("c", 0) => Err(GroupError::ZeroOrder { group: "cyclic" }),
            ("d", 0) => Err(GroupError::ZeroOrder { group: "dihedral" }),
            ("c", n) => Ok(GroupName::Cyclic(n)),
            ("d", n) => Ok(GroupName::Dihedral(n)),
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
