//! A hand-written finite group for tests: elements `0..order`, a composition and inverse given
//! as functions (so a test can break a law on purpose), and optional plane and sphere actions
//! given element by element. One copy for the tests that need a group no crate defines (the
//! wrong-law checks of entk-groups, the action checks, the same-name refusals of entk-ntk);
//! `examples/custom_group.rs` writes its own on purpose, as a downstream user would.
//!
//! Included by path (`#[path = ".../support/test_group.rs"] mod test_group;`), so each test binary
//! compiles its own copy and may use only part of it.
#![allow(dead_code)]

use entk_groups::{FiniteGroup, Group, PlanarPointGroup, Rotation, SphericalPointGroup};
use nalgebra::Matrix2;

/// A finite group on `0..order` with identity `0` and the discrete distance (0 or 1).
#[derive(Debug, Clone)]
pub struct TestGroup {
    pub name: String,
    pub order: usize,
    pub compose: fn(usize, usize) -> usize,
    pub inverse: fn(usize) -> usize,
    /// The index of an element (the identity map for an honest group).
    pub index_of: fn(usize) -> usize,
    /// `plane[g]`: the plane matrix of element `g` (empty when the group does not act on the plane).
    pub plane: Vec<Matrix2<f64>>,
    /// `rotations[g]`: the sphere rotation of element `g` (empty when it does not act on the sphere).
    pub rotations: Vec<Rotation>,
    /// What [`PlanarPointGroup::preserves_pixel_lattice`] claims; `None`: the truth.
    pub claims_lattice: Option<bool>,
}

impl TestGroup {
    /// `(ℤ₂)^bits` under `name`: elements `0..2^bits` composed by XOR, each its own inverse.
    pub fn xor(name: &str, bits: u32) -> Self {
        Self::new(name, 1 << bits, |a, b| a ^ b, |a| a)
    }

    /// The group on `0..order` with the given composition and inverse, no actions.
    pub fn new(
        name: &str,
        order: usize,
        compose: fn(usize, usize) -> usize,
        inverse: fn(usize) -> usize,
    ) -> Self {
        TestGroup {
            name: name.into(),
            order,
            compose,
            inverse,
            index_of: |e| e,
            plane: Vec::new(),
            rotations: Vec::new(),
            claims_lattice: None,
        }
    }

    /// ℤ₂ = `{e, s}` named `name`, acting on the plane by `s ↦ matrix`.
    pub fn z2_on_plane(name: &str, matrix: Matrix2<f64>) -> Self {
        TestGroup {
            plane: vec![Matrix2::identity(), matrix],
            ..Self::xor(name, 1)
        }
    }
}

impl Group for TestGroup {
    type Element = usize;
    fn name(&self) -> String {
        self.name.clone()
    }
    fn identity(&self) -> usize {
        0
    }
    fn compose(&self, a: &usize, b: &usize) -> usize {
        (self.compose)(*a, *b)
    }
    fn inverse(&self, a: &usize) -> usize {
        (self.inverse)(*a)
    }
    fn distance(&self, a: &usize, b: &usize) -> f64 {
        f64::from(u8::from(a != b))
    }
    fn testing_elements(&self) -> Vec<usize> {
        (0..self.order).collect()
    }
}

impl FiniteGroup for TestGroup {
    fn order(&self) -> usize {
        self.order
    }
    fn element(&self, i: usize) -> usize {
        i
    }
    fn index_of(&self, e: &usize) -> usize {
        (self.index_of)(*e)
    }
}

impl PlanarPointGroup for TestGroup {
    fn plane_matrix(&self, g: &usize) -> Matrix2<f64> {
        self.plane[*g]
    }
    fn preserves_pixel_lattice(&self) -> bool {
        self.claims_lattice
            .unwrap_or_else(|| entk_groups::plane::acts_exactly_on_pixels(self))
    }
}

impl SphericalPointGroup for TestGroup {
    fn rotation(&self, g: &usize) -> Rotation {
        self.rotations[*g]
    }
}
