//! The five QM9 elements and their reference (free-atom) energies.

/// A chemical element occurring in QM9. Ordered `H, C, N, O, F` (by atomic number); this is
/// also the element order of the feature channels ([`crate::qm9::Qm9Featurizer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Element {
    /// Hydrogen, Z = 1.
    H,
    /// Carbon, Z = 6.
    C,
    /// Nitrogen, Z = 7.
    N,
    /// Oxygen, Z = 8.
    O,
    /// Fluorine, Z = 9.
    F,
}

impl Element {
    /// All QM9 elements in channel order.
    pub const ALL: [Element; 5] = [Element::H, Element::C, Element::N, Element::O, Element::F];

    /// The atomic number Z.
    pub fn atomic_number(self) -> u32 {
        match self {
            Element::H => 1,
            Element::C => 6,
            Element::N => 7,
            Element::O => 8,
            Element::F => 9,
        }
    }

    /// The position of the element in [`Element::ALL`] (0 for H … 4 for F).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The chemical symbol (`"H"`, `"C"`, …).
    pub fn symbol(self) -> &'static str {
        match self {
            Element::H => "H",
            Element::C => "C",
            Element::N => "N",
            Element::O => "O",
            Element::F => "F",
        }
    }

    /// Parses a chemical symbol (exact case, surrounding whitespace ignored).
    pub fn from_symbol(symbol: &str) -> Option<Element> {
        Element::ALL
            .into_iter()
            .find(|e| e.symbol() == symbol.trim())
    }

    /// The element with atomic number `z`, if it occurs in QM9.
    pub fn from_atomic_number(z: u32) -> Option<Element> {
        Element::ALL.into_iter().find(|e| e.atomic_number() == z)
    }

    /// The free-atom energy at 0 K in Hartree used for U0 atomization energies (QM9 atomref,
    /// B3LYP/6-31G(2df,p); docs/theory.md#qm9-energies).
    pub fn reference_energy_hartree(self) -> f64 {
        match self {
            Element::H => -0.500273,
            Element::C => -37.846772,
            Element::N => -54.583861,
            Element::O => -75.064579,
            Element::F => -99.718730,
        }
    }
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.symbol())
    }
}
