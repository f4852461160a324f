//! Errors of the group layer.

use thiserror::Error;

/// Everything that can go wrong when building a group, a grid or an element.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum GroupError {
    /// A finite group was asked for with order parameter `n = 0`.
    #[error("{group}: n must be at least 1, got n = 0")]
    ZeroOrder {
        /// Which family (`cyclic`, `dihedral`, ...).
        group: &'static str,
    },
    /// A bandlimit `L = 0` was requested; grids need at least one degree.
    #[error("bandlimit L must be at least 1, got L = 0")]
    ZeroBandlimit,
    /// An angle or coordinate was NaN or infinite.
    #[error("non-finite value for {what}: {value}")]
    NonFinite {
        /// Which quantity (e.g. `euler angle beta`).
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// An element index outside `0..order`.
    #[error("element index {index} out of range for a group of order {order}")]
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// The group order.
        order: usize,
    },
    /// A matrix that should be a rotation is not (not orthogonal or determinant ≠ 1).
    #[error("not a rotation matrix: {reason}")]
    NotARotation {
        /// What failed.
        reason: String,
    },
    /// A pixel grid or window size that is not allowed.
    #[error("invalid grid size: {reason}")]
    InvalidSize {
        /// What is wrong with it.
        reason: String,
    },
    /// A finite group larger than entk handles (its Cayley table alone would not fit).
    #[error("{group}: order {order} is too large (at most {max} elements)")]
    OrderTooLarge {
        /// Which family (`cyclic`, `dihedral`, ...).
        group: &'static str,
        /// The requested order (saturated at `usize::MAX`).
        order: usize,
        /// [`crate::MAX_FINITE_ORDER`].
        max: usize,
    },
    /// A group name that is not registered.
    #[error("unknown group `{name}`; known groups: {known}")]
    UnknownGroup {
        /// The name asked for.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// A finite group whose numbering or Cayley table cannot be used.
    #[error("{name} is not a usable finite group: {reason}")]
    NotAGroup {
        /// The group's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A name that cannot be registered.
    #[error("cannot register group `{name}`: {reason}")]
    InvalidName {
        /// The name asked for.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// A lazily registered group whose builder failed
    /// ([`crate::GroupRegistry::register_lazy`]).
    #[error("group `{name}` could not be built: {source}")]
    BuildFailed {
        /// The registered name.
        name: String,
        /// The builder's error.
        source: Box<GroupError>,
    },
}
