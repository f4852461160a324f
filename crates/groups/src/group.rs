//! The group trait family: [`Group`], [`FiniteGroup`], [`CompactGroup`] and the derived
//! [`GroupExt`].
//!
//! A group supplies a handful of hooks; everything else (powers, conjugation, Haar averages,
//! law checks in [`crate::laws`]) is derived. Finite groups get their Haar measure (counting
//! measure, total volume `|G|`) for free through a blanket implementation of [`CompactGroup`].

use rand::RngCore;
use std::fmt::Debug;

use crate::GroupError;

/// A group: elements, identity, composition and inverse.
///
/// Required laws (checked for every implementation by [`crate::laws::check_group_laws`]):
/// associativity `(ab)c = a(bc)`, identity `ea = ae = a` and inverses `a a⁻¹ = a⁻¹ a = e`,
/// all measured with [`Group::distance`].
pub trait Group: Send + Sync {
    /// The element type. Elements are plain values; the group object carries parameters such as `n`.
    type Element: Clone + Debug + Send + Sync;

    /// A short registry name such as `c4`, `d6` or `so3`.
    fn name(&self) -> String;
    /// The neutral element `e`.
    fn identity(&self) -> Self::Element;
    /// The product `a·b` (apply `b` first when the group acts on something).
    fn compose(&self, a: &Self::Element, b: &Self::Element) -> Self::Element;
    /// The inverse `a⁻¹`.
    fn inverse(&self, a: &Self::Element) -> Self::Element;
    /// A metric on the group: `0` exactly when `a = b` for discrete groups (which return 0 or 1),
    /// a continuous distance for Lie groups (the rotation angle of `a⁻¹b` for SO(3)).
    fn distance(&self, a: &Self::Element, b: &Self::Element) -> f64;
    /// A deterministic set of elements that exercises the structure (generators, elements near
    /// singular parametrisations, ...). Law checks run over these plus random samples.
    fn testing_elements(&self) -> Vec<Self::Element>;
}

/// A finite group with its elements numbered `0..order()`.
///
/// The numbering is part of the public contract: kernels store one slice per element in this
/// order (docs/conventions.md#slice-convention-of-group-features: slice `r` of a C4 feature holds the rotation `Q^{−r}`'s element `r`).
pub trait FiniteGroup: Group {
    /// The number of elements `|G|`.
    fn order(&self) -> usize;
    /// The element with index `index < order()`. Implementations may panic out of range; use
    /// [`FiniteGroupExt::try_element`] for a checked version.
    fn element(&self, index: usize) -> Self::Element;
    /// The index of an element (inverse of [`FiniteGroup::element`]).
    fn index_of(&self, element: &Self::Element) -> usize;
}

/// A quadrature rule on a group or homogeneous space: `∫ f ≈ Σ_i w_i f(x_i)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quadrature<P> {
    /// The nodes `x_i`.
    pub nodes: Vec<P>,
    /// The weights `w_i`; they sum to the total measure (volume) of the space.
    pub weights: Vec<f64>,
}

impl<P> Quadrature<P> {
    /// `Σ_i w_i f(x_i)`.
    pub fn integrate(&self, mut f: impl FnMut(&P) -> f64) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(x, w)| w * f(x))
            .sum()
    }
    /// The sum of the weights, i.e. the volume the rule assigns to the space.
    pub fn total_weight(&self) -> f64 {
        self.weights.iter().sum()
    }
    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    /// True when the rule has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// A compact group: Haar measure, Haar-random sampling and a quadrature rule.
///
/// The Haar measure is left- and right-invariant with total mass [`CompactGroup::volume`]:
/// counting measure (`|G|`) for finite groups, `8π²` for SO(3) in ZYZ Euler angles
/// (`dR = sin β dα dβ dγ`).
pub trait CompactGroup: Group {
    /// Total Haar measure of the group.
    fn volume(&self) -> f64;
    /// An element drawn from the normalised Haar measure.
    fn sample_haar(&self, rng: &mut dyn RngCore) -> Self::Element;
    /// A quadrature rule whose weights sum to [`CompactGroup::volume`] and which integrates
    /// functions of bandlimit `bandlimit` exactly (degrees `< L` in every irrep for SO(3);
    /// finite groups ignore `bandlimit` and return every element with weight 1).
    fn haar_quadrature(&self, bandlimit: usize) -> Result<Quadrature<Self::Element>, GroupError>;
}

impl<G: FiniteGroup> CompactGroup for G {
    fn volume(&self) -> f64 {
        self.order() as f64
    }
    fn sample_haar(&self, rng: &mut dyn RngCore) -> Self::Element {
        let index = (rng.next_u64() % self.order() as u64) as usize;
        self.element(index)
    }
    fn haar_quadrature(&self, _bandlimit: usize) -> Result<Quadrature<Self::Element>, GroupError> {
        let nodes: Vec<_> = (0..self.order()).map(|i| self.element(i)).collect();
        let weights = vec![1.0; nodes.len()];
        Ok(Quadrature { nodes, weights })
    }
}

/// Conveniences derived from the [`Group`] hooks; implemented for every group.
pub trait GroupExt: Group {
    /// `aᵏ` for any integer `k` (negative powers use the inverse).
    fn power(&self, a: &Self::Element, k: i64) -> Self::Element {
        let base = if k < 0 { self.inverse(a) } else { a.clone() };
        let mut result = self.identity();
        for _ in 0..k.unsigned_abs() {
            result = self.compose(&result, &base);
        }
        result
    }
    /// The conjugate `g a g⁻¹`.
    fn conjugate(&self, g: &Self::Element, a: &Self::Element) -> Self::Element {
        self.compose(&self.compose(g, a), &self.inverse(g))
    }
    /// Left translation `L_g h = g·h`, the action of the group on itself.
    fn left_translate(&self, g: &Self::Element, h: &Self::Element) -> Self::Element {
        self.compose(g, h)
    }
    /// `distance(a, e)`.
    fn distance_to_identity(&self, a: &Self::Element) -> f64 {
        self.distance(a, &self.identity())
    }
}

impl<G: Group + ?Sized> GroupExt for G {}

/// Conveniences for finite groups.
pub trait FiniteGroupExt: FiniteGroup {
    /// All elements in index order.
    fn elements(&self) -> Vec<Self::Element> {
        (0..self.order()).map(|i| self.element(i)).collect()
    }
    /// Checked [`FiniteGroup::element`].
    fn try_element(&self, index: usize) -> Result<Self::Element, GroupError> {
        if index < self.order() {
            Ok(self.element(index))
        } else {
            Err(GroupError::IndexOutOfRange {
                index,
                order: self.order(),
            })
        }
    }
    /// The multiplication table as indices: `table[a][b] = index(element(a)·element(b))`.
    fn cayley_table(&self) -> Vec<Vec<usize>> {
        let elements = self.elements();
        elements
            .iter()
            .map(|a| {
                elements
                    .iter()
                    .map(|b| self.index_of(&self.compose(a, b)))
                    .collect()
            })
            .collect()
    }
    /// Index of the product of the elements with indices `a` and `b`.
    fn compose_indices(&self, a: usize, b: usize) -> usize {
        self.index_of(&self.compose(&self.element(a), &self.element(b)))
    }
    /// Index of the inverse of the element with index `a`.
    fn inverse_index(&self, a: usize) -> usize {
        self.index_of(&self.inverse(&self.element(a)))
    }
    /// The Haar average `|G|⁻¹ Σ_g f(g)`.
    fn haar_mean(&self, mut f: impl FnMut(&Self::Element) -> f64) -> f64 {
        self.elements().iter().map(&mut f).sum::<f64>() / self.order() as f64
    }
}

impl<G: FiniteGroup + ?Sized> FiniteGroupExt for G {}
