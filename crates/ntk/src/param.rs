//! Parameterisation and padding enums shared by all linear layers.

use serde::{Deserialize, Serialize};

/// How weights enter the forward pass (docs/conventions.md#parameterisations).
///
/// With `fan_in = n_in·|S|` (input channels times filter volume; for `dense`, `n_in`), and the
/// A-operator `A_S[K](g,g′) = |S|⁻¹ Σ_{h∈S} K(g·h, g′·h)`:
///
/// - [`Parameterization::Ntk`] (default): weights ω and biases β are i.i.d. N(0, 1) and the layer
///   computes `y = σ_w/√fan_in · Σ ω x + σ_b β`. Kernels:
///   `K_out = σ_w² A[K_in] + σ_b²`, `Θ_out = K_out + σ_w² A[Θ_in]`.
/// - [`Parameterization::Standard`] (neural-tangents convention with width scale `s = 1`):
///   `W ~ N(0, σ_w² s/fan_in)`, `b ~ N(0, σ_b²)`, `y = s^{−1/2} Σ W x + b`. Same `K_out`, and
///   `Θ_out = (fan_in/s)·A[K_in] + σ_w² A[Θ_in] + [1 if the layer has a bias]`. The kernel then
///   depends on the nominal widths: `n_in` is the data's channel count for the first layer and the
///   previous linear layer's `width` afterwards.
///
/// In both, the first layer's NTK equals its NNGP (`Θ_in = 0`): the first layer is never
/// counted twice (docs/theory.md#linear-layers-the-a-operator pitfall).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parameterization {
    /// NTK parameterisation (default).
    #[default]
    Ntk,
    /// Standard parameterisation with `s = 1`.
    Standard,
}

/// The spec's name: `ntk` or `standard`.
impl std::fmt::Display for Parameterization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Parameterization::Ntk => "ntk",
            Parameterization::Standard => "standard",
        })
    }
}

/// Spatial padding of convolutions (stride 1).
///
/// - `Same`: output has the input size; out-of-range inputs read 0.
/// - `Valid`: output is the central `(H−h+1)×(W−w+1)` block.
/// - `Circular`: indices wrap modulo the image size; output has the input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Zero padding, same output size.
    Same,
    /// No padding, smaller output.
    Valid,
    /// Periodic padding, same output size.
    Circular,
}

impl Padding {
    /// The output length of an axis of length `n` under a window of length `q` (odd).
    pub fn out_len(self, n: usize, q: usize) -> Option<usize> {
        match self {
            Padding::Same | Padding::Circular => Some(n),
            Padding::Valid => (n + 1).checked_sub(q).filter(|&m| m > 0),
        }
    }
    /// The input index read by output index `o` at window offset `off` (from the window
    /// centre, half width `k`), or `None` when it falls in the zero padding.
    #[inline]
    pub fn source(self, o: usize, off: isize, k: usize, n_in: usize) -> Option<usize> {
        match self {
            Padding::Same => {
                let i = o as isize + off;
                (i >= 0 && (i as usize) < n_in).then_some(i as usize)
            }
            Padding::Valid => Some((o as isize + k as isize + off) as usize),
            Padding::Circular => Some((o as isize + off).rem_euclid(n_in as isize) as usize),
        }
    }
    /// The name used in specs.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Same => "same",
            Padding::Valid => "valid",
            Padding::Circular => "circular",
        }
    }
}

/// Which group elements a group convolution's filter is supported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupSupport {
    /// Every element of the point group (`|S_G| = |H|`).
    All,
    /// Only the identity (`|S_G| = 1`): a plain CNN filter applied within each slice.
    Identity,
}
