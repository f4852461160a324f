//! Driscoll–Healy sampling grids on S² and SO(3) (docs/conventions.md#so3).

use nalgebra::Vector3;
use std::f64::consts::{PI, TAU};

use super::{EulerZyz, Rotation};
use crate::{GroupError, Quadrature};

/// The Driscoll–Healy grid of bandlimit `L` on S²: `2L × (2L−1)` points
/// `θ_j = π(2j+1)/(4L)` (`j < 2L`), `φ_k = 2πk/(2L−1)` (`k < 2L−1`).
///
/// Arrays on this grid are indexed `(θ, φ)`, `φ` fastest: flat index `j·(2L−1) + k`. The weights
/// `w_j = (2/L) sin θ_j Σ_{k<L} sin((2k+1)θ_j)/(2k+1) · 2π/(2L−1)` sum to 4π and integrate every
/// function of bandlimit `2L−1` (degrees `l ≤ 2L−2`, e.g. products of two bandlimit-`L` signals)
/// exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriscollHealyGrid {
    bandlimit: usize,
}

impl DriscollHealyGrid {
    /// The grid of bandlimit `L ≥ 1`.
    pub fn new(bandlimit: usize) -> Result<Self, GroupError> {
        if bandlimit == 0 {
            return Err(GroupError::ZeroBandlimit);
        }
        Ok(Self { bandlimit })
    }

    /// The grid whose array shape is `(n_theta, n_phi)`; errors unless that is `(2L, 2L−1)`.
    pub fn from_shape(n_theta: usize, n_phi: usize) -> Result<Self, GroupError> {
        if n_theta == 0 || !n_theta.is_multiple_of(2) || n_phi + 1 != n_theta {
            return Err(GroupError::InvalidSize {
                reason: format!(
                    "an S² signal on a Driscoll–Healy grid has shape (2L, 2L−1); got ({n_theta}, \
                     {n_phi})"
                ),
            });
        }
        Self::new(n_theta / 2)
    }

    /// The bandlimit `L`.
    pub fn bandlimit(&self) -> usize {
        self.bandlimit
    }
    /// `2L`.
    pub fn n_theta(&self) -> usize {
        2 * self.bandlimit
    }
    /// `2L − 1`.
    pub fn n_phi(&self) -> usize {
        2 * self.bandlimit - 1
    }
    /// `2L(2L−1)`.
    pub fn len(&self) -> usize {
        self.n_theta() * self.n_phi()
    }
    /// Never true (L ≥ 1); present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// `θ_j = π(2j+1)/(4L)`.
    pub fn theta(&self, j: usize) -> f64 {
        PI * (2 * j + 1) as f64 / (4 * self.bandlimit) as f64
    }
    /// `φ_k = 2πk/(2L−1)`.
    pub fn phi(&self, k: usize) -> f64 {
        TAU * k as f64 / self.n_phi() as f64
    }
    /// The polar weight `q_j`, a quadrature for `∫₀^π g(θ) sin θ dθ` (the `q_j` sum to 2).
    pub fn theta_weight(&self, j: usize) -> f64 {
        let l = self.bandlimit;
        let theta = self.theta(j);
        let series: f64 = (0..l)
            .map(|k| ((2 * k + 1) as f64 * theta).sin() / (2 * k + 1) as f64)
            .sum();
        2.0 / l as f64 * theta.sin() * series
    }
    /// The weight of a grid point in row `j`, `q_j · 2π/(2L−1)`.
    pub fn weight(&self, j: usize) -> f64 {
        self.theta_weight(j) * TAU / self.n_phi() as f64
    }
    /// The unit vector `(sin θ cos φ, sin θ sin φ, cos θ)` of grid point `(j, k)`.
    pub fn point(&self, j: usize, k: usize) -> Vector3<f64> {
        let (st, ct) = self.theta(j).sin_cos();
        let (sp, cp) = self.phi(k).sin_cos();
        Vector3::new(st * cp, st * sp, ct)
    }
    /// All points and weights in array order.
    pub fn quadrature(&self) -> Quadrature<Vector3<f64>> {
        let mut nodes = Vec::with_capacity(self.len());
        let mut weights = Vec::with_capacity(self.len());
        for j in 0..self.n_theta() {
            let w = self.weight(j);
            for k in 0..self.n_phi() {
                nodes.push(self.point(j, k));
                weights.push(w);
            }
        }
        Quadrature { nodes, weights }
    }
}

/// The Driscoll–Healy grid of bandlimit `L` on SO(3): `(2L−1) × 2L × (2L−1)` points indexed
/// `(γ, β, α)` with `α` fastest, `α_k = γ_k = 2πk/(2L−1)`, `β_j = π(2j+1)/(4L)`, the rotation
/// being `R_z(α) R_y(β) R_z(γ)`.
///
/// Weights `w = q_j · (2π/(2L−1))²` (with `q_j` the polar weights of [`DriscollHealyGrid`]) sum to
/// `8π²` and integrate products of two bandlimit-`L` functions exactly (Wigner orthogonality for
/// `l, l′ < L`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct So3Grid {
    /// The S² grid of `β` (as `θ`) and `α` (as `φ`), and of the bandlimit.
    sphere: DriscollHealyGrid,
}

impl So3Grid {
    /// The grid of bandlimit `L ≥ 1`.
    pub fn new(bandlimit: usize) -> Result<Self, GroupError> {
        let sphere = DriscollHealyGrid::new(bandlimit)?;
        Ok(Self { sphere })
    }
    /// The grid whose array shape is `(n_gamma, n_beta, n_alpha)`; errors unless it is
    /// `(2L−1, 2L, 2L−1)`.
    pub fn from_shape(n_gamma: usize, n_beta: usize, n_alpha: usize) -> Result<Self, GroupError> {
        if n_beta == 0
            || !n_beta.is_multiple_of(2)
            || n_alpha + 1 != n_beta
            || n_gamma + 1 != n_beta
        {
            return Err(GroupError::InvalidSize {
                reason: format!(
                    "an SO(3) signal on a Driscoll–Healy grid has shape (2L−1, 2L, 2L−1) in (γ, β, \
                     α); got ({n_gamma}, {n_beta}, {n_alpha})"
                ),
            });
        }
        Self::new(n_beta / 2)
    }
    /// The bandlimit `L`.
    pub fn bandlimit(&self) -> usize {
        self.sphere.bandlimit()
    }
    /// The S² grid sharing `β` (as `θ`) and `α` (as `φ`) samples.
    pub fn sphere_grid(&self) -> DriscollHealyGrid {
        self.sphere
    }
    /// `2L − 1` (number of α and of γ samples).
    pub fn n_azimuth(&self) -> usize {
        self.sphere.n_phi()
    }
    /// `2L` (number of β samples).
    pub fn n_beta(&self) -> usize {
        self.sphere.n_theta()
    }
    /// `(2L−1)² 2L`.
    pub fn len(&self) -> usize {
        self.n_azimuth() * self.n_azimuth() * self.n_beta()
    }
    /// Never true (L ≥ 1).
    pub fn is_empty(&self) -> bool {
        false
    }
    /// `α_k = 2πk/(2L−1)` (also `γ_k`).
    pub fn azimuth(&self, k: usize) -> f64 {
        self.sphere.phi(k)
    }
    /// `β_j = π(2j+1)/(4L)`.
    pub fn beta(&self, j: usize) -> f64 {
        self.sphere.theta(j)
    }
    /// The weight of every point with polar index `j`.
    pub fn weight(&self, j: usize) -> f64 {
        let da = TAU / self.n_azimuth() as f64;
        self.sphere.theta_weight(j) * da * da
    }
    /// The Euler angles of grid point `(γ index, β index, α index)`.
    pub fn euler(&self, gamma: usize, beta: usize, alpha: usize) -> EulerZyz {
        EulerZyz {
            alpha: self.azimuth(alpha),
            beta: self.beta(beta),
            gamma: self.azimuth(gamma),
        }
    }
    /// The rotation of grid point `(γ index, β index, α index)`.
    pub fn rotation(&self, gamma: usize, beta: usize, alpha: usize) -> Rotation {
        Rotation::from_euler_zyz(self.euler(gamma, beta, alpha))
    }
    /// All grid rotations and weights in array order `(γ, β, α)`.
    pub fn quadrature(&self) -> Quadrature<Rotation> {
        let mut nodes = Vec::with_capacity(self.len());
        let mut weights = Vec::with_capacity(self.len());
        for c in 0..self.n_azimuth() {
            for j in 0..self.n_beta() {
                let w = self.weight(j);
                for a in 0..self.n_azimuth() {
                    nodes.push(self.rotation(c, j, a));
                    weights.push(w);
                }
            }
        }
        Quadrature { nodes, weights }
    }
}
