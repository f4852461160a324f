//! Representations of groups, the irreps of finite groups and the finite-group Fourier
//! transform.
//!
//! A representation is a homomorphism `ρ: G → U(d)` into unitary `d×d` matrices,
//! `ρ(gh) = ρ(g)ρ(h)`. A finite group exposes its irreps through one hook, [`FiniteIrreps`];
//! characters, the [`RegularRepresentation`], the Fourier transform
//! `f̂(ρ) = Σ_g f(g) ρ(g)`, `f(g) = |G|⁻¹ Σ_ρ d_ρ tr(ρ(g)† f̂(ρ))` and the law checks of
//! [`crate::laws`] are derived from it.
//!
//! Worked case, C4: irrep `k ∈ 0..4` sends the rotation `j` to `e^{2πi jk/4}`; the regular
//! representation sends `j` to the permutation matrix of `i ↦ i + j (mod 4)`.

use nalgebra::DMatrix;
use num_complex::Complex64;
use std::f64::consts::TAU;

use entk_groups::{CyclicGroup, DihedralGroup, FiniteGroup, FiniteGroupExt, Group};

use crate::RepsError;

/// A unitary representation `ρ` of a group.
pub trait Representation {
    /// The group represented.
    type Group: Group;
    /// The group object (carries parameters such as `n`).
    fn group(&self) -> &Self::Group;
    /// The dimension `d`.
    fn dim(&self) -> usize;
    /// The `d×d` unitary matrix `ρ(g)`.
    fn matrix(&self, g: &<Self::Group as Group>::Element) -> DMatrix<Complex64>;
    /// The character `χ(g) = tr ρ(g)`.
    fn character(&self, g: &<Self::Group as Group>::Element) -> Complex64 {
        self.matrix(g).trace()
    }
}

/// Metadata of one irrep of a finite group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrrepInfo {
    /// A short label such as `k=1` or `rho2` (used in reports).
    pub name: String,
    /// The dimension `d_ρ`.
    pub dim: usize,
}

/// The one hook for harmonic analysis on a finite group: a complete list of pairwise
/// inequivalent unitary irreps.
///
/// Implementing it makes [`Irrep`], [`FiniteFourier`] and the checks in [`crate::laws`]
/// available. The list must be complete (`Σ d_ρ² = |G|`); the checks verify this.
pub trait FiniteIrreps: FiniteGroup {
    /// The irreps, in a fixed order (index `i` is irrep `i`).
    fn irreps(&self) -> Vec<IrrepInfo>;
    /// The matrix of irrep `irrep` at `g`, `d_ρ × d_ρ`, unitary.
    fn irrep_matrix(&self, irrep: usize, g: &Self::Element) -> DMatrix<Complex64>;
}

/// Irrep number `index` of a finite group, as a [`Representation`].
#[derive(Debug, Clone)]
pub struct Irrep<'a, G> {
    group: &'a G,
    index: usize,
    dim: usize,
}

impl<'a, G: FiniteIrreps> Irrep<'a, G> {
    /// Irrep `index`; errors when out of range.
    pub fn new(group: &'a G, index: usize) -> Result<Self, RepsError> {
        let irreps = group.irreps();
        let info = irreps.get(index).ok_or_else(|| RepsError::InvalidIrrep {
            reason: format!(
                "{} has {} irreps, index {index} requested",
                group.name(),
                irreps.len()
            ),
        })?;
        Ok(Self {
            group,
            index,
            dim: info.dim,
        })
    }
    /// All irreps of the group.
    pub fn all(group: &'a G) -> Vec<Self> {
        group
            .irreps()
            .iter()
            .enumerate()
            .map(|(index, info)| Self {
                group,
                index,
                dim: info.dim,
            })
            .collect()
    }
    /// The position of this irrep in [`FiniteIrreps::irreps`].
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<G: FiniteIrreps> Representation for Irrep<'_, G> {
    type Group = G;
    fn group(&self) -> &G {
        self.group
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn matrix(&self, g: &G::Element) -> DMatrix<Complex64> {
        self.group.irrep_matrix(self.index, g)
    }
}

/// The regular representation of any finite group on functions `G → C`:
/// `(ρ(g) f)(h) = f(g⁻¹h)`, i.e. `ρ(g)` is the permutation matrix with `ρ(g)[gh, h] = 1`
/// (basis vectors `e_h` in element-index order).
#[derive(Debug, Clone)]
pub struct RegularRepresentation<'a, G> {
    group: &'a G,
}

impl<'a, G: FiniteGroup> RegularRepresentation<'a, G> {
    /// The regular representation of `group`.
    pub fn new(group: &'a G) -> Self {
        Self { group }
    }
}

impl<G: FiniteGroup> Representation for RegularRepresentation<'_, G> {
    type Group = G;
    fn group(&self) -> &G {
        self.group
    }
    fn dim(&self) -> usize {
        self.group.order()
    }
    fn matrix(&self, g: &G::Element) -> DMatrix<Complex64> {
        let n = self.group.order();
        let mut m = DMatrix::zeros(n, n);
        for (h, element) in self.group.elements().iter().enumerate() {
            m[(self.group.index_of(&self.group.compose(g, element)), h)] = Complex64::new(1.0, 0.0);
        }
        m
    }
}

/// The Fourier transform of functions on a finite group:
/// `f̂(ρ) = Σ_g f(g) ρ(g)` (one `d_ρ×d_ρ` matrix per irrep, in [`FiniteIrreps::irreps`] order) and
/// its inverse `f(g) = |G|⁻¹ Σ_ρ d_ρ tr(ρ(g)† f̂(ρ))`. Functions are vectors in element-index
/// order. No normalisation on the forward side; Plancherel reads
/// `Σ_g |f(g)|² = |G|⁻¹ Σ_ρ d_ρ ‖f̂(ρ)‖_F²`.
#[derive(Debug, Clone)]
pub struct FiniteFourier {
    order: usize,
    dims: Vec<usize>,
    /// `matrices[ρ][g]`: all irrep matrices, computed once.
    matrices: Vec<Vec<DMatrix<Complex64>>>,
}

impl FiniteFourier {
    /// Tabulates every irrep on every element.
    pub fn new<G: FiniteIrreps>(group: &G) -> Self {
        let elements = group.elements();
        let irreps = group.irreps();
        let matrices = (0..irreps.len())
            .map(|i| elements.iter().map(|g| group.irrep_matrix(i, g)).collect())
            .collect();
        Self {
            order: group.order(),
            dims: irreps.iter().map(|i| i.dim).collect(),
            matrices,
        }
    }

    /// `f̂(ρ)` for every irrep. Errors when `f.len() ≠ |G|` or `f` has non-finite values.
    pub fn forward(&self, f: &[Complex64]) -> Result<Vec<DMatrix<Complex64>>, RepsError> {
        if f.len() != self.order {
            return Err(RepsError::ShapeMismatch {
                what: "function on a finite group",
                expected: format!("{} values (one per element)", self.order),
                got: format!("{} values", f.len()),
            });
        }
        if let Some(index) = f
            .iter()
            .position(|v| !(v.re.is_finite() && v.im.is_finite()))
        {
            return Err(RepsError::NonFinite {
                what: "function on a finite group",
                index,
            });
        }
        Ok(self
            .matrices
            .iter()
            .zip(&self.dims)
            .map(|(mats, &d)| {
                let mut acc = DMatrix::zeros(d, d);
                for (m, v) in mats.iter().zip(f) {
                    acc += m * *v;
                }
                acc
            })
            .collect())
    }

    /// `f(g) = |G|⁻¹ Σ_ρ d_ρ tr(ρ(g)† f̂(ρ))` for every element. Errors when the coefficient
    /// shapes do not match the irreps.
    pub fn inverse(
        &self,
        coefficients: &[DMatrix<Complex64>],
    ) -> Result<Vec<Complex64>, RepsError> {
        let shapes_ok = coefficients.len() == self.dims.len()
            && coefficients
                .iter()
                .zip(&self.dims)
                .all(|(c, &d)| c.shape() == (d, d));
        if !shapes_ok {
            return Err(RepsError::ShapeMismatch {
                what: "finite Fourier coefficients",
                expected: format!("one square matrix per irrep, dims {:?}", self.dims),
                got: format!(
                    "{:?}",
                    coefficients.iter().map(|c| c.shape()).collect::<Vec<_>>()
                ),
            });
        }
        Ok((0..self.order)
            .map(|g| {
                let sum: Complex64 = (0..self.dims.len())
                    .map(|r| {
                        let rho_dagger = self.matrices[r][g].adjoint();
                        (rho_dagger * &coefficients[r]).trace() * self.dims[r] as f64
                    })
                    .sum();
                sum / self.order as f64
            })
            .collect())
    }
}

fn c(re: f64, im: f64) -> Complex64 {
    Complex64::new(re, im)
}

/// `e^{iθ}` with exact values at multiples of π/2 (so C4 and D4 irreps are exact).
fn unit_phase(theta: f64) -> Complex64 {
    let snap = |v: f64| {
        if (v - v.round()).abs() < 1e-15 {
            v.round()
        } else {
            v
        }
    };
    let (s, co) = theta.sin_cos();
    c(snap(co), snap(s))
}

/// `C_n` has `n` one-dimensional irreps: irrep `k` sends rotation `j` to `e^{2πi jk/n}`.
impl FiniteIrreps for CyclicGroup {
    fn irreps(&self) -> Vec<IrrepInfo> {
        (0..self.n())
            .map(|k| IrrepInfo {
                name: format!("k={k}"),
                dim: 1,
            })
            .collect()
    }
    fn irrep_matrix(&self, irrep: usize, g: &usize) -> DMatrix<Complex64> {
        let n = self.n();
        let phase = unit_phase(TAU * ((irrep * g) % n) as f64 / n as f64);
        DMatrix::from_element(1, 1, phase)
    }
}

/// `D_n` irreps, in this order:
/// - one-dimensional: `trivial`; `sign` (reflections ↦ −1); for even `n` also `alt`
///   (`r ↦ −1`, `s ↦ 1`) and `alt_sign` (`r ↦ −1`, `s ↦ −1`);
/// - two-dimensional `rho_k` for `k = 1..⌈n/2⌉−1`: `r^j s^f ↦ R(2πjk/n) · diag(1, −1)^f`, the
///   plane rotation and the reflection of [`DihedralGroup`]'s plane action taken `k` times.
///
/// `Σ d² = 2n` for both parities.
impl FiniteIrreps for DihedralGroup {
    fn irreps(&self) -> Vec<IrrepInfo> {
        let n = self.n();
        let mut out = vec![
            IrrepInfo {
                name: "trivial".into(),
                dim: 1,
            },
            IrrepInfo {
                name: "sign".into(),
                dim: 1,
            },
        ];
        if n.is_multiple_of(2) {
            out.push(IrrepInfo {
                name: "alt".into(),
                dim: 1,
            });
            out.push(IrrepInfo {
                name: "alt_sign".into(),
                dim: 1,
            });
        }
        for k in 1..n.div_ceil(2) {
            out.push(IrrepInfo {
                name: format!("rho{k}"),
                dim: 2,
            });
        }
        out
    }
    fn irrep_matrix(&self, irrep: usize, g: &entk_groups::DihedralElement) -> DMatrix<Complex64> {
        let n = self.n();
        let one_dims = if n.is_multiple_of(2) { 4 } else { 2 };
        let reflection_sign = if g.reflected { -1.0 } else { 1.0 };
        let rotation_sign = if g.rotation % 2 == 1 { -1.0 } else { 1.0 };
        let scalar = |v: f64| DMatrix::from_element(1, 1, c(v, 0.0));
        match irrep {
            0 => scalar(1.0),
            1 => scalar(reflection_sign),
            2 if one_dims == 4 => scalar(rotation_sign),
            3 if one_dims == 4 => scalar(rotation_sign * reflection_sign),
            _ => {
                let k = irrep - one_dims + 1;
                let phase = unit_phase(TAU * ((g.rotation * k) % n) as f64 / n as f64);
                let (co, s) = (phase.re, phase.im);
                let f = reflection_sign;
                // R(θ) · diag(1, f)
                DMatrix::from_row_slice(
                    2,
                    2,
                    &[c(co, 0.0), c(-s * f, 0.0), c(s, 0.0), c(co * f, 0.0)],
                )
            }
        }
    }
}
