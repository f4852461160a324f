//! A finite group as data: its Cayley table and the actions it declares, with a structural
//! fingerprint. This is what the registry hands to the kernel layers, which are written once
//! over it (and so over every [`FiniteGroup`]).

use std::fmt;

use nalgebra::Matrix2;

use crate::{
    FiniteGroup, FiniteGroupExt, Group, GroupError, PlanarPointGroup, Rotation,
    SphericalPointGroup, MAX_FINITE_ORDER,
};

/// The action of a finite group on the plane of `(row, col)` pixel offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneAction {
    /// `plane_matrix` of every element, in index order.
    pub matrices: Vec<Matrix2<f64>>,
    /// What [`PlanarPointGroup::preserves_pixel_lattice`] claims.
    pub preserves_lattice: bool,
}

/// A finite group reduced to what the kernel layers use: the numbering, the Cayley table, and
/// the declared actions on the pixel plane ([`PlanarPointGroup`]) and on the sphere
/// ([`SphericalPointGroup`]). It is itself a [`FiniteGroup`] with elements `0..order`.
///
/// **Structure, not name.** Layers compare groups with [`GroupStructure::same_structure`]: the
/// order, the Cayley table and the declared actions must agree (the actions matter: `{e, r²}` of
/// C4 and `{e, transpose}` have one Cayley table but give different kernels). The
/// [`GroupStructure::fingerprint`] is a 64-bit FNV-1a hash of exactly these data.
#[derive(Clone, PartialEq)]
pub struct GroupStructure {
    name: String,
    order: usize,
    identity: usize,
    /// `table[a·n + b] = index(g_a g_b)`.
    table: Vec<usize>,
    inverses: Vec<usize>,
    plane: Option<PlaneAction>,
    sphere: Option<Vec<Rotation>>,
    fingerprint: u64,
}

impl fmt::Debug for GroupStructure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupStructure")
            .field("name", &self.name)
            .field("order", &self.order)
            .field("plane", &self.plane.is_some())
            .field("sphere", &self.sphere.is_some())
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish()
    }
}

impl GroupStructure {
    /// The numbering and Cayley table of `group`, with no action. Errors, instead of handing a
    /// layer something that would index out of range, when the order is 0 or above
    /// [`MAX_FINITE_ORDER`], when `index_of` returns an index out of range, or when the table is
    /// not a Latin square with an identity (the cheap necessary conditions; associativity is
    /// left to [`crate::laws::check_group_laws`]).
    pub fn of<G: FiniteGroup + ?Sized>(group: &G) -> Result<Self, GroupError> {
        let n = group.order();
        let name = group.name();
        if n == 0 {
            return Err(GroupError::NotAGroup {
                name,
                reason: "order 0".into(),
            });
        }
        if n > MAX_FINITE_ORDER {
            return Err(GroupError::OrderTooLarge {
                group: "finite group",
                order: n,
                max: MAX_FINITE_ORDER,
            });
        }
        let not_a_group = |reason: String| GroupError::NotAGroup {
            name: name.clone(),
            reason,
        };
        let elements = group.elements();
        let index = |g: &G::Element| {
            let i = group.index_of(g);
            if i < n {
                Ok(i)
            } else {
                Err(not_a_group(format!(
                    "index_of returned {i} for a group of order {n}"
                )))
            }
        };
        let identity = index(&group.identity())?;
        let mut table = vec![0; n * n];
        for (a, ga) in elements.iter().enumerate() {
            for (b, gb) in elements.iter().enumerate() {
                table[a * n + b] = index(&group.compose(ga, gb))?;
            }
        }
        let mut inverses = vec![usize::MAX; n];
        for a in 0..n {
            let mut row = vec![false; n];
            let mut col = vec![false; n];
            for b in 0..n {
                let (r, c) = (table[a * n + b], table[b * n + a]);
                if std::mem::replace(&mut row[r], true) || std::mem::replace(&mut col[c], true) {
                    return Err(not_a_group(format!(
                        "the Cayley table repeats an element in row or column {a}"
                    )));
                }
                if r == identity {
                    inverses[a] = b;
                }
            }
            if table[identity * n + a] != a || table[a * n + identity] != a {
                return Err(not_a_group(format!(
                    "element {identity} (the identity) does not fix element {a}"
                )));
            }
        }
        let mut s = Self {
            name,
            order: n,
            identity,
            table,
            inverses,
            plane: None,
            sphere: None,
            fingerprint: 0,
        };
        s.fingerprint = s.compute_fingerprint();
        Ok(s)
    }

    /// [`GroupStructure::of`] plus the plane action of a [`PlanarPointGroup`].
    pub fn planar<G: PlanarPointGroup + ?Sized>(group: &G) -> Result<Self, GroupError> {
        let mut s = Self::of(group)?;
        s.plane = Some(PlaneAction {
            matrices: group
                .elements()
                .iter()
                .map(|g| group.plane_matrix(g))
                .collect(),
            preserves_lattice: group.preserves_pixel_lattice(),
        });
        s.fingerprint = s.compute_fingerprint();
        Ok(s)
    }

    /// [`GroupStructure::of`] plus the rotations of a [`SphericalPointGroup`].
    pub fn spherical<G: SphericalPointGroup + ?Sized>(group: &G) -> Result<Self, GroupError> {
        let mut s = Self::of(group)?;
        s.sphere = Some(group.elements().iter().map(|g| group.rotation(g)).collect());
        s.fingerprint = s.compute_fingerprint();
        Ok(s)
    }

    /// The same structure under another name (the fingerprint does not include the name).
    pub fn renamed(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The registry name.
    pub fn group_name(&self) -> &str {
        &self.name
    }
    /// Index of the identity.
    pub fn identity_index(&self) -> usize {
        self.identity
    }
    /// `index(g_a g_b)`.
    pub fn product(&self, a: usize, b: usize) -> usize {
        self.table[a * self.order + b]
    }
    /// `index(g_a⁻¹)`.
    pub fn inverse_of(&self, a: usize) -> usize {
        self.inverses[a]
    }
    /// The Cayley table, row-major: entry `a·n + b` is `index(g_a g_b)`.
    pub fn table(&self) -> &[usize] {
        &self.table
    }
    /// The plane action, if the group declares one.
    pub fn plane(&self) -> Option<&PlaneAction> {
        self.plane.as_ref()
    }
    /// The rotations of the sphere action, if the group declares one.
    pub fn sphere(&self) -> Option<&[Rotation]> {
        self.sphere.as_deref()
    }
    /// The 64-bit FNV-1a fingerprint of the order, Cayley table and actions.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
    /// Order, Cayley table and actions agree (the names may differ).
    pub fn same_structure(&self, other: &GroupStructure) -> bool {
        self.fingerprint == other.fingerprint
            && self.order == other.order
            && self.table == other.table
            && self.plane == other.plane
            && self.sphere == other.sphere
    }

    fn compute_fingerprint(&self) -> u64 {
        let mut h = Fnv::default();
        h.word(self.order as u64);
        self.table.iter().for_each(|&v| h.word(v as u64));
        match &self.plane {
            None => h.word(0),
            Some(p) => {
                h.word(1 + u64::from(p.preserves_lattice));
                p.matrices
                    .iter()
                    .flat_map(|m| m.iter())
                    .for_each(|v| h.real(*v));
            }
        }
        match &self.sphere {
            None => h.word(0),
            Some(r) => {
                h.word(1);
                r.iter()
                    .flat_map(|r| r.matrix().iter().copied().collect::<Vec<_>>())
                    .for_each(|v| h.real(v));
            }
        }
        h.0
    }
}

/// FNV-1a, 64 bit.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn word(&mut self, v: u64) {
        for b in v.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// A real number by its bits, with `−0.0` read as `0.0`.
    fn real(&mut self, v: f64) {
        self.word(if v == 0.0 { 0 } else { v.to_bits() });
    }
}

impl Group for GroupStructure {
    type Element = usize;
    fn name(&self) -> String {
        self.name.clone()
    }
    fn identity(&self) -> usize {
        self.identity
    }
    fn compose(&self, a: &usize, b: &usize) -> usize {
        self.product(*a, *b)
    }
    fn inverse(&self, a: &usize) -> usize {
        self.inverses[*a]
    }
    fn distance(&self, a: &usize, b: &usize) -> f64 {
        f64::from(u8::from(a != b))
    }
    fn testing_elements(&self) -> Vec<usize> {
        (0..self.order).collect()
    }
}

impl FiniteGroup for GroupStructure {
    fn order(&self) -> usize {
        self.order
    }
    fn element(&self, index: usize) -> usize {
        assert!(index < self.order, "element index {index} out of range");
        index
    }
    fn index_of(&self, element: &usize) -> usize {
        *element
    }
}
