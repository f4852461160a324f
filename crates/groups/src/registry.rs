//! The open group registry: names → groups, for architecture specs, `entk verify-group` and
//! every layer that takes a `group`.
//!
//! A [`GroupRegistry`] holds [`GroupEntry`]s (one name each, plus aliases) and
//! [`GroupFamily`]s (parsers for families of names such as `cN`). An entry carries the group
//! as data the layers use ([`GroupKind`]: a [`GroupStructure`] for finite groups, or SO(3)) and
//! its checker bundle (closures returning [`LawCheck`]s); an entry that is costly to build can be
//! registered by name and built on first use ([`GroupRegistry::register_lazy`]). Built-in groups
//! are registered through the same calls a downstream crate uses;
//! `entk_reps::default_registry()` returns a registry with all of them and their irreps checks.
//!
//! [`GroupName`] is the parser of the built-in names `cN`, `dN` and `so3` (limits and errors
//! below); the registry's built-in families use it.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use crate::laws::{self, LawCheck};
use crate::{
    CyclicGroup, DihedralGroup, FiniteGroup, GroupError, GroupStructure, PlanarPointGroup,
    SphericalPointGroup,
};

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

/// Options of a checker run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Bandlimit of the quadrature and transform checks of compact groups (SO(3)); finite groups
    /// ignore it.
    pub bandlimit: usize,
    /// Seed of the random elements and test functions some checks draw.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            bandlimit: 8,
            seed: 0x0e47_c0de,
        }
    }
}

/// A checker: measures laws of one group.
pub type Checker = dyn Fn(&CheckOptions) -> Result<Vec<LawCheck>, GroupError> + Send + Sync;

/// What a registered group is, as the layers see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum GroupKind {
    /// A finite group: Cayley table and declared actions.
    Finite(Arc<GroupStructure>),
    /// The rotation group SO(3) (`s2_lift_conv`/`so3_conv` on Driscoll–Healy grids).
    So3,
}

/// One registered group: its name, aliases, the group as data ([`GroupKind`]) and its checker
/// bundle.
///
/// ```
/// use entk_groups::{CyclicGroup, GroupEntry, GroupRegistry};
/// let mut registry = GroupRegistry::new();
/// registry.register(GroupEntry::planar(CyclicGroup::new(4).unwrap()).unwrap()).unwrap();
/// let c4 = registry.get("C4").unwrap();
/// assert_eq!(c4.order(), Some(4));
/// assert!(c4.run_checks(&Default::default()).unwrap().iter().all(|c| c.passed()));
/// ```
#[derive(Clone)]
pub struct GroupEntry {
    name: String,
    aliases: Vec<String>,
    kind: GroupKind,
    summary: String,
    checks: Vec<Arc<Checker>>,
}

impl fmt::Debug for GroupEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupEntry")
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .field("kind", &self.kind)
            .field("summary", &self.summary)
            .field("checkers", &self.checks.len())
            .finish()
    }
}

impl GroupEntry {
    /// A finite group acting on the pixel plane (`lift_conv`, `group_conv` with a spatial
    /// filter, `group_pool`). Its checker bundle: group laws, numbering, Haar volume and
    /// [`laws::check_plane_action`]. Named by [`crate::Group::name`] (lower-cased).
    pub fn planar<G: PlanarPointGroup + Clone + 'static>(group: G) -> Result<Self, GroupError> {
        let structure = GroupStructure::planar(&group)?;
        let summary = format!(
            "finite group of order {} acting on the pixel plane{}",
            structure.order(),
            if structure.plane().is_some_and(|p| p.preserves_lattice) {
                " (maps the pixel lattice to itself)"
            } else {
                " (bilinear filter resampling)"
            }
        );
        Ok(
            Self::finite_entry(structure, summary).with_checks(move |_| {
                let mut checks = laws::check_finite_group_all(&group);
                checks.extend(laws::check_plane_action(&group));
                Ok(checks)
            }),
        )
    }

    /// A finite group acting on the sphere by rotations (`s2_lift_conv` with `group`, then
    /// `group_conv` without a spatial part and `group_pool`). Its checker bundle: group laws,
    /// numbering, Haar volume and [`laws::check_sphere_action`].
    pub fn spherical<G: SphericalPointGroup + Clone + 'static>(
        group: G,
    ) -> Result<Self, GroupError> {
        let structure = GroupStructure::spherical(&group)?;
        let summary = format!(
            "finite group of order {} acting on the sphere by rotations",
            structure.order()
        );
        Ok(
            Self::finite_entry(structure, summary).with_checks(move |_| {
                let mut checks = laws::check_finite_group_all(&group);
                checks.extend(laws::check_sphere_action(&group));
                Ok(checks)
            }),
        )
    }

    /// SO(3) itself, with no checks yet (`entk_reps` adds them).
    pub fn so3() -> Self {
        Self {
            name: "so3".into(),
            aliases: vec!["so(3)".into()],
            kind: GroupKind::So3,
            summary: "the rotation group SO(3) acting on the sphere".into(),
            checks: Vec::new(),
        }
    }

    fn finite_entry(structure: GroupStructure, summary: String) -> Self {
        Self {
            name: structure.group_name().to_ascii_lowercase(),
            aliases: Vec::new(),
            kind: GroupKind::Finite(Arc::new(structure)),
            summary,
            checks: Vec::new(),
        }
    }

    /// The same entry registered under `name` (the structure is renamed too; its fingerprint
    /// does not depend on the name).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.trim().to_ascii_lowercase();
        if let GroupKind::Finite(s) = &self.kind {
            self.kind = GroupKind::Finite(Arc::new((**s).clone().renamed(&self.name)));
        }
        self
    }

    /// Adds another name for the same group.
    pub fn with_alias(mut self, alias: &str) -> Self {
        self.aliases.push(alias.trim().to_ascii_lowercase());
        self
    }

    /// Adds a checker to the bundle (run after the ones already there).
    pub fn with_checks(
        mut self,
        checker: impl Fn(&CheckOptions) -> Result<Vec<LawCheck>, GroupError> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Arc::new(checker));
        self
    }

    /// The registry name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Other accepted names.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }
    /// The group as the layers see it.
    pub fn kind(&self) -> &GroupKind {
        &self.kind
    }
    /// A one-line description.
    pub fn summary(&self) -> &str {
        &self.summary
    }
    /// The finite structure, for finite groups.
    pub fn structure(&self) -> Option<&Arc<GroupStructure>> {
        match &self.kind {
            GroupKind::Finite(s) => Some(s),
            GroupKind::So3 => None,
        }
    }
    /// `|G|` for finite groups.
    pub fn order(&self) -> Option<usize> {
        self.structure().map(|s| s.order())
    }
    /// Runs the whole checker bundle, in registration order.
    pub fn run_checks(&self, options: &CheckOptions) -> Result<Vec<LawCheck>, GroupError> {
        let mut out = Vec::new();
        for check in &self.checks {
            out.extend(check(options)?);
        }
        Ok(out)
    }
}

/// A parser for a family of names (`cN`, `dN`, ...): `None` when a name is not of the family's
/// form, `Some(Err)` when it is but cannot be built (`c0`, `c5000`).
pub type FamilyParser = dyn Fn(&str) -> Option<Result<GroupEntry, GroupError>> + Send + Sync;

/// A family of groups named by a pattern.
#[derive(Clone)]
pub struct GroupFamily {
    description: String,
    parse: Arc<FamilyParser>,
}

impl fmt::Debug for GroupFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupFamily")
            .field("description", &self.description)
            .finish()
    }
}

impl GroupFamily {
    /// A family described (in error messages and listings) as `description`, e.g.
    /// `"c1, c2, ..., c1024 (cyclic)"`. `parse` receives trimmed, lower-cased names.
    pub fn new(
        description: &str,
        parse: impl Fn(&str) -> Option<Result<GroupEntry, GroupError>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            description: description.into(),
            parse: Arc::new(parse),
        }
    }
    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }
}

/// Names → groups. See the module documentation.
///
/// Names are matched after trimming and lower-casing. Exact names and aliases are tried first,
/// then the families in registration order. A name can be registered once, and not when a
/// family already parses it (`c7`): one name, one group.
#[derive(Debug, Clone, Default)]
pub struct GroupRegistry {
    entries: Vec<Slot>,
    families: Vec<GroupFamily>,
}

/// What builds a lazily registered entry ([`GroupRegistry::register_lazy`]).
#[derive(Clone)]
struct Builder(Arc<dyn Fn() -> Result<GroupEntry, GroupError> + Send + Sync>);

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Builder")
    }
}

/// A registered name and its entry.
#[derive(Debug, Clone)]
struct Slot {
    name: String,
    aliases: Vec<String>,
    entry: SlotEntry,
}

/// A slot's entry: given ([`GroupRegistry::register`]) or built on first use, once, the result
/// shared by the clones of the registry ([`GroupRegistry::register_lazy`]).
#[derive(Debug, Clone)]
enum SlotEntry {
    Given(GroupEntry),
    Lazy {
        built: Arc<OnceLock<Result<GroupEntry, GroupError>>>,
        build: Builder,
    },
}

impl Slot {
    fn entry(&self) -> Result<GroupEntry, GroupError> {
        match &self.entry {
            SlotEntry::Given(entry) => Ok(entry.clone()),
            SlotEntry::Lazy { built, build } => built.get_or_init(|| (build.0)()).clone(),
        }
    }
}

impl GroupRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `entry` under its name and aliases. Errors for an empty or malformed name
    /// (names are ASCII letters, digits, `_`, `-`, `(`, `)`, starting with a letter), for
    /// `all` (reserved by `entk verify-group`), and for a name already taken by an entry or a
    /// family.
    pub fn register(&mut self, entry: GroupEntry) -> Result<(), GroupError> {
        let (name, aliases) = (entry.name.clone(), entry.aliases.clone());
        self.check_names(&name, &aliases)?;
        self.entries.push(Slot {
            name,
            aliases,
            entry: SlotEntry::Given(entry),
        });
        Ok(())
    }

    /// Registers `name` and `aliases` for the entry `build` returns, built on the first
    /// [`GroupRegistry::get`] of one of them, so that a registry of groups that are costly to
    /// build is cheap to make. The names are checked now as [`GroupRegistry::register`] checks
    /// them (the registry cannot see the aliases of an entry not yet built, so they are given
    /// here); the built entry is renamed to `name` ([`GroupEntry::named`]) and its aliases are
    /// replaced by `aliases`. A build error is returned as [`GroupError::BuildFailed`] naming
    /// the group.
    ///
    /// `build` runs once, even when several threads ask at the same time; its result, an error
    /// included, is kept and shared by the clones of the registry. A `build` that panics leaves
    /// the entry unbuilt, and the next `get` runs it again. `build` must not look up its own
    /// name (or an alias) in this registry or a clone of it: that `get` would wait for itself
    /// and deadlock. [`GroupRegistry::contains`] is true for a registered name even when its
    /// build fails.
    pub fn register_lazy(
        &mut self,
        name: &str,
        aliases: &[&str],
        build: impl Fn() -> Result<GroupEntry, GroupError> + Send + Sync + 'static,
    ) -> Result<(), GroupError> {
        let lower = |n: &str| n.trim().to_ascii_lowercase();
        let name = lower(name);
        let aliases: Vec<String> = aliases.iter().map(|a| lower(a)).collect();
        self.check_names(&name, &aliases)?;
        let (key, keys) = (name.clone(), aliases.clone());
        self.entries.push(Slot {
            name,
            aliases,
            entry: SlotEntry::Lazy {
                built: Arc::new(OnceLock::new()),
                build: Builder(Arc::new(move || match build() {
                    Ok(entry) => {
                        let mut entry = if entry.name == key {
                            entry
                        } else {
                            entry.named(&key)
                        };
                        entry.aliases.clone_from(&keys);
                        Ok(entry)
                    }
                    Err(e) => Err(GroupError::BuildFailed {
                        name: key.clone(),
                        source: Box::new(e),
                    }),
                })),
            },
        });
        Ok(())
    }

    /// Refuses names that [`GroupRegistry::register`] refuses.
    fn check_names(&self, name: &str, aliases: &[String]) -> Result<(), GroupError> {
        for name in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            let invalid = |reason: &str| GroupError::InvalidName {
                name: name.to_string(),
                reason: reason.into(),
            };
            let mut chars = name.chars();
            if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
                return Err(invalid("names start with an ASCII letter"));
            }
            if !chars.all(|c| c.is_ascii_alphanumeric() || "_-()".contains(c)) {
                return Err(invalid(
                    "names may contain only ASCII letters, digits, `_`, `-`, `(` and `)`",
                ));
            }
            if name == "all" {
                return Err(invalid("`all` is reserved (entk verify-group all)"));
            }
            if self.find_entry(name).is_some() {
                return Err(invalid("the name is already registered"));
            }
            if let Some(f) = self.families.iter().find(|f| (f.parse)(name).is_some()) {
                return Err(invalid(&format!(
                    "the name belongs to the family {}",
                    f.description
                )));
            }
        }
        Ok(())
    }

    /// Registers a family of names.
    pub fn register_family(&mut self, family: GroupFamily) {
        self.families.push(family);
    }

    fn find_entry(&self, name: &str) -> Option<&Slot> {
        self.entries
            .iter()
            .find(|e| e.name == name || e.aliases.iter().any(|a| a == name))
    }

    /// The group registered as `name`. Errors for unknown names (listing the known ones) and
    /// for family members that cannot be built (`c0`: order 0, `c2000`: too large).
    pub fn get(&self, name: &str) -> Result<GroupEntry, GroupError> {
        let key = name.trim().to_ascii_lowercase();
        if let Some(slot) = self.find_entry(&key) {
            return slot.entry();
        }
        for f in &self.families {
            if let Some(result) = (f.parse)(&key) {
                return result;
            }
        }
        Err(GroupError::UnknownGroup {
            name: name.to_string(),
            known: self.known(),
        })
    }

    /// True when [`GroupRegistry::get`] would find a group (built or not).
    pub fn contains(&self, name: &str) -> bool {
        let key = name.trim().to_ascii_lowercase();
        self.find_entry(&key).is_some() || self.families.iter().any(|f| (f.parse)(&key).is_some())
    }

    /// The registered names (not the families, not the aliases), in registration order.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// The family descriptions, in registration order.
    pub fn families(&self) -> Vec<String> {
        self.families
            .iter()
            .map(|f| f.description.clone())
            .collect()
    }

    /// A one-line list of the known names: family descriptions, then names.
    pub fn known(&self) -> String {
        let mut parts = self.families();
        parts.extend(self.names());
        if parts.is_empty() {
            "none registered".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The built-in family `c1 … c1024` of [`CyclicGroup`]s, each entry made by `entry`
/// (which adds the checks a caller wants, e.g. irreps). Errors keep [`GroupName`]'s messages.
pub fn cyclic_family(
    entry: impl Fn(CyclicGroup) -> Result<GroupEntry, GroupError> + Send + Sync + 'static,
) -> GroupFamily {
    order_family(
        "c1, c2, ..., c1024 (cyclic)",
        GroupName::Cyclic,
        CyclicGroup::new,
        entry,
    )
}

/// The built-in family `d1 … d512` of [`DihedralGroup`]s (see [`cyclic_family`]).
pub fn dihedral_family(
    entry: impl Fn(DihedralGroup) -> Result<GroupEntry, GroupError> + Send + Sync + 'static,
) -> GroupFamily {
    order_family(
        "d1, ..., d512 (dihedral)",
        GroupName::Dihedral,
        DihedralGroup::new,
        entry,
    )
}

/// The family of the names `variant(n)` (`cN`, `dN`), the group of order parameter `n` made by
/// `make` and entered by `entry`. Other names are not the family's; parse errors of its own
/// names (zero or too large) are kept.
fn order_family<G: 'static>(
    description: &str,
    variant: fn(usize) -> GroupName,
    make: fn(usize) -> Result<G, GroupError>,
    entry: impl Fn(G) -> Result<GroupEntry, GroupError> + Send + Sync + 'static,
) -> GroupFamily {
    let prefix = variant(1).to_string().remove(0);
    GroupFamily::new(description, move |name| {
        if !name.starts_with(prefix) {
            return None;
        }
        match GroupName::from_str(name) {
            Ok(parsed @ (GroupName::Cyclic(n) | GroupName::Dihedral(n)))
                if parsed == variant(n) =>
            {
                Some(make(n).and_then(&entry))
            }
            Err(GroupError::UnknownGroup { .. }) | Ok(_) => None,
            Err(e) => Some(Err(e)),
        }
    })
}
