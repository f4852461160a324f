//! The named activations of `{"type": "elementwise_numerical", "fn": NAME}`: `φ` and `φ′` as
//! `jax.nn` defines them (so neural-tangents' `ElementwiseNumerical(jax.nn.NAME, deg)` is the
//! same layer), each accurate to a few ulps.

use std::fmt;
use std::str::FromStr;

use super::{gelu, gelu_derivative};

/// An activation known by name to the numerical (Gauss–Hermite) nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedFn {
    /// `tanh u`.
    Tanh,
    /// `1/(1 + e^{−u})` (`jax.nn.sigmoid`).
    Sigmoid,
    /// `log(1 + e^u)` (`jax.nn.softplus`).
    Softplus,
    /// `u·sigmoid(u)` (`jax.nn.silu`, also called swish).
    Silu,
    /// `u` for `u > 0`, `e^u − 1` otherwise (`jax.nn.elu`, α = 1).
    Elu,
    /// `λ·u` for `u > 0`, `λα(e^u − 1)` otherwise (`jax.nn.selu`).
    Selu,
    /// `u·tanh(softplus(u))`.
    Mish,
    /// `u/(1 + |u|)` (`jax.nn.soft_sign`).
    Softsign,
    /// The exact GELU `u·Φ(u)` (`jax.nn.gelu(approximate=False)`).
    Gelu,
}

/// SELU's `α` and `λ` (Klambauer et al. 2017, as in `jax.nn.selu`).
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// All names, in the order the error message lists them.
pub const NAMES: &[&str] = &[
    "tanh", "sigmoid", "softplus", "silu", "elu", "selu", "mish", "softsign", "gelu",
];

fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

fn softplus(u: f64) -> f64 {
    u.max(0.0) + (-u.abs()).exp().ln_1p()
}

impl NamedFn {
    /// `φ(u)`.
    pub fn apply(self, u: f64) -> f64 {
        match self {
            NamedFn::Tanh => u.tanh(),
            NamedFn::Sigmoid => sigmoid(u),
            NamedFn::Softplus => softplus(u),
            NamedFn::Silu => u * sigmoid(u),
            NamedFn::Elu => {
                if u > 0.0 {
                    u
                } else {
                    u.exp_m1()
                }
            }
            NamedFn::Selu => SELU_SCALE * if u > 0.0 { u } else { SELU_ALPHA * u.exp_m1() },
            NamedFn::Mish => u * softplus(u).tanh(),
            NamedFn::Softsign => u / (1.0 + u.abs()),
            NamedFn::Gelu => gelu(u),
        }
    }

    /// `φ′(u)`; at ELU/SELU's `u = 0` the left derivative, as `jax.grad` of `jax.nn.elu` gives
    /// (it matters: odd Gauss–Hermite degrees have a node at 0).
    pub fn derivative(self, u: f64) -> f64 {
        match self {
            NamedFn::Tanh => {
                let t = u.tanh();
                1.0 - t * t
            }
            NamedFn::Sigmoid => {
                let s = sigmoid(u);
                s * (1.0 - s)
            }
            NamedFn::Softplus => sigmoid(u),
            NamedFn::Silu => {
                let s = sigmoid(u);
                s * (1.0 + u * (1.0 - s))
            }
            NamedFn::Elu => {
                if u > 0.0 {
                    1.0
                } else {
                    u.exp()
                }
            }
            NamedFn::Selu => SELU_SCALE * if u > 0.0 { 1.0 } else { SELU_ALPHA * u.exp() },
            NamedFn::Mish => {
                let t = softplus(u).tanh();
                t + u * (1.0 - t * t) * sigmoid(u)
            }
            NamedFn::Softsign => {
                let d = 1.0 + u.abs();
                1.0 / (d * d)
            }
            NamedFn::Gelu => gelu_derivative(u),
        }
    }

    /// The spec name.
    pub fn name(self) -> &'static str {
        match self {
            NamedFn::Tanh => "tanh",
            NamedFn::Sigmoid => "sigmoid",
            NamedFn::Softplus => "softplus",
            NamedFn::Silu => "silu",
            NamedFn::Elu => "elu",
            NamedFn::Selu => "selu",
            NamedFn::Mish => "mish",
            NamedFn::Softsign => "softsign",
            NamedFn::Gelu => "gelu",
        }
    }
}

impl fmt::Display for NamedFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NamedFn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "tanh" => NamedFn::Tanh,
            "sigmoid" => NamedFn::Sigmoid,
            "softplus" => NamedFn::Softplus,
            "silu" | "swish" => NamedFn::Silu,
            "elu" => NamedFn::Elu,
            "selu" => NamedFn::Selu,
            "mish" => NamedFn::Mish,
            "softsign" | "soft_sign" => NamedFn::Softsign,
            "gelu" => NamedFn::Gelu,
            _ => {
                return Err(format!(
                    "unknown function `{s}` (known: {})",
                    NAMES.join(", ")
                ))
            }
        })
    }
}
