//! The architecture spec (docs/spec.md).
//!
//! ```json
//! {"parameterization": "ntk",
//!  "layers": [{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"},
//!             {"type": "relu"},
//!             {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"},
//!             {"type": "relu"}, {"type": "group_pool"}, {"type": "dense"}]}
//! ```
//!
//! Beyond the original spec table, linear layers accept `width` (finite channel count, default 1; also
//! the nominal width of the standard parameterisation), `avg_pool` and `sum_pool` take `window`
//! (an int or `[h, w]`), `strides` (default 1; the older `stride` is accepted), `padding`
//! (default `valid`) and, for `avg_pool`, `normalize_edges` (default false), as
//! neural-tangents' `AvgPool`/`SumPool`; `gelu` takes an optional `degree` (use the
//! Gauss–Hermite dual of that degree instead of the closed form), and the combinators
//! `serial` (`layers`), `fan_out` (`n`), `parallel` (`branches`: list of layer lists),
//! `fan_in_sum` and `fan_in_concat` mirror neural-tangents' `stax`. The nonlinearities follow
//! `stax` names in snake case with its parameter names and defaults: `sin`/`cos` (`a` 1, `b` 1,
//! `c` 0), `rbf` (`gamma` 1), `gaussian` (`a` 1, `b` −1), `exp` (`a` 1, `b` 1),
//! `exp_normalized` (`gamma` 1, `shift` −1, `do_clip` false), `sign`, `abs`, `monomial`,
//! `rectified_monomial` and `hermite` (`degree`, required, ≤ 64), `polynomial` (`coef`, a list,
//! constant term first), and `elementwise_numerical` (`fn`: tanh, sigmoid, softplus, silu, elu,
//! selu, mish, softsign or gelu; `degree`, or neural-tangents' name `deg`, required). `conv`,
//! `lift_conv` and `group_conv` default to `padding: "valid"` as in neural-tangents and take
//! `strides` (an int or `[sh, sw]`, default 1); `group_conv` without
//! `group` uses the group of the preceding `lift_conv`. Unknown fields and types are errors:
//! `layer 3: unknown field `filtr` in `group_conv``.

use std::str::FromStr;

use serde_json::{Map, Value};

use std::sync::Arc;

use entk_groups::{GroupKind, GroupRegistry, GroupStructure};

use crate::error::{NtkError, Result, SpecError, SpecErrorKind};
use crate::layers::{
    Affine, Conv, DeepSet, Dense, Dropout, Elementwise, ExpNormalized, FanInConcat, FanInProd,
    FanInSum, FanOut, Flatten, GlobalAvgPool, GlobalSumPool, GroupConv, GroupPool, Layer,
    LayerNorm, LiftConv, Parallel, PoolKind, S2GroupLiftConv, S2LiftConv, Serial, SetReduce,
    So3Conv, So3Pool, WindowPool,
};
use crate::nonlin::{NamedFn, Nonlinearity};
use crate::param::{GroupSupport, Padding, Parameterization};

/// One layer of a spec.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerSpec {
    /// `dense`.
    Dense(Affine),
    /// `conv` with an `(h, w)` filter.
    Conv {
        /// Filter `(h, w)`, odd.
        filter: (usize, usize),
        /// Padding.
        padding: Padding,
        /// Strides `(sh, sw)`.
        strides: (usize, usize),
        /// Weights.
        affine: Affine,
    },
    /// `flatten`.
    Flatten,
    /// `global_avg_pool`.
    GlobalAvgPool,
    /// `global_sum_pool`.
    GlobalSumPool,
    /// `layer_norm`.
    LayerNorm {
        /// Axes of the NHWC array (negative from the end).
        axis: Vec<i64>,
        /// `ε`.
        eps: f64,
    },
    /// `dropout`.
    Dropout {
        /// Keep probability.
        rate: f64,
        /// `mode: "train"` (true) or `"test"`.
        train: bool,
    },
    /// `avg_pool` or `sum_pool`.
    Pool {
        /// Mean or sum.
        kind: PoolKind,
        /// Window `(h, w)`.
        window: (usize, usize),
        /// Strides `(sh, sw)`.
        strides: (usize, usize),
        /// Padding.
        padding: Padding,
        /// `avg_pool`'s `normalize_edges`.
        normalize_edges: bool,
    },
    /// A pointwise nonlinearity (`relu`, `gelu`, `erf`, `sin`, `monomial`, ..., see
    /// [`NonlinearSpec`]).
    Nonlinear(NonlinearSpec),
    /// `exp_normalized` (`gamma` 1, `shift` −1, `do_clip` false).
    ExpNormalized(ExpNormalized),
    /// `lift_conv`.
    LiftConv {
        /// Point group (acting on the pixel plane), as registered.
        group: Arc<GroupStructure>,
        /// Window side, odd.
        filter: usize,
        /// Padding.
        padding: Padding,
        /// Strides `(sh, sw)`.
        strides: (usize, usize),
        /// Weights.
        affine: Affine,
    },
    /// `group_conv`.
    GroupConv {
        /// The group, as registered.
        group: Arc<GroupStructure>,
        /// Window side, odd (1 for a group without a spatial part).
        filter: usize,
        /// Padding.
        padding: Padding,
        /// Strides `(sh, sw)`.
        strides: (usize, usize),
        /// Group support.
        support: GroupSupport,
        /// Weights.
        affine: Affine,
    },
    /// `group_pool`.
    GroupPool,
    /// `s2_lift_conv` (S² → SO(3), or S² → a finite rotation group).
    S2LiftConv {
        /// `None`: SO(3) (the default, `"group": "so3"`); otherwise a registered finite group
        /// acting on the sphere, whose elements the lifted signal is sampled at.
        group: Option<Arc<GroupStructure>>,
        /// Output bandlimit `L_out` (≤ the input's); for a finite group, the filter's bandlimit.
        bandlimit_out: usize,
        /// Filter support: the cap `θ ≤ max_beta`, in `(0, π]` (default π: the sphere).
        max_beta: f64,
        /// Weights.
        affine: Affine,
    },
    /// `so3_conv` (SO(3) → SO(3)).
    So3Conv {
        /// Output bandlimit `L_out` (≤ the input's).
        bandlimit_out: usize,
        /// Filter support `β ≤ max_beta`, in `(0, π]` (default π: all of SO(3)).
        max_beta: f64,
        /// Weights.
        affine: Affine,
    },
    /// `so3_pool`.
    So3Pool,
    /// `serial`.
    Serial(Vec<LayerSpec>),
    /// `fan_out`.
    FanOut(usize),
    /// `parallel`.
    Parallel(Vec<Vec<LayerSpec>>),
    /// `fan_in_sum`.
    FanInSum,
    /// `fan_in_concat`.
    FanInConcat,
    /// `fan_in_prod`.
    FanInProd,
    /// `deep_set`: the element layers shared over every element of a set, then a sum or mean
    /// over the elements. Only as the first top-level layer.
    DeepSet {
        /// Sum or mean.
        reduce: SetReduce,
        /// The element network.
        layers: Vec<LayerSpec>,
    },
    /// `repeat`: the block applied `n` times, each copy with its own parameters.
    Repeat {
        /// Number of copies (≥ 1).
        n: usize,
        /// The block.
        layers: Vec<LayerSpec>,
    },
}

impl LayerSpec {
    /// Sets `w_std` and `b_std` (0: no bias) of this layer if it is linear, or of every linear
    /// layer inside it if it is a combinator (`serial`, `parallel`, `repeat`); other layers have
    /// no weights and are returned as they are. Builder style, for [`crate::stax`].
    pub fn with_weights(mut self, w_std: f64, b_std: f64) -> Self {
        self.for_each_affine(&mut |a| {
            a.w_std = w_std;
            a.b_std = b_std;
        });
        self
    }
    /// Sets the finite `width` (output channels) of this layer if it is linear, or of every
    /// linear layer inside it if it is a combinator; other layers are returned as they are.
    pub fn with_width(mut self, width: usize) -> Self {
        self.for_each_affine(&mut |a| a.width = width);
        self
    }
    /// Calls `f` on the weights' settings of this layer and of every layer nested in it.
    pub(crate) fn for_each_affine(&mut self, f: &mut dyn FnMut(&mut Affine)) {
        match self {
            LayerSpec::Dense(affine)
            | LayerSpec::Conv { affine, .. }
            | LayerSpec::LiftConv { affine, .. }
            | LayerSpec::GroupConv { affine, .. }
            | LayerSpec::S2LiftConv { affine, .. }
            | LayerSpec::So3Conv { affine, .. } => f(affine),
            LayerSpec::Serial(layers) | LayerSpec::Repeat { layers, .. } => {
                layers.iter_mut().for_each(|l| l.for_each_affine(f))
            }
            LayerSpec::Parallel(branches) => branches
                .iter_mut()
                .flatten()
                .for_each(|l| l.for_each_affine(f)),
            _ => {}
        }
    }
}

/// A nonlinearity in a spec (neural-tangents' `stax` names in snake case, with its parameter
/// names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub enum NonlinearSpec {
    /// `relu`.
    Relu,
    /// `gelu`: closed form (`None`) or Gauss–Hermite of the given degree.
    Gelu(Option<usize>),
    /// `identity`.
    Identity,
    /// `erf` `a·erf(b·u) + c`.
    Erf(f64, f64, f64),
    /// `leaky_relu` slope.
    LeakyRelu(f64),
    /// `abrelu` `a, b`.
    AbRelu(f64, f64),
    /// `abs`.
    Abs,
    /// `sin` `a·sin(b·u + c)` (defaults 1, 1, 0).
    Sin(f64, f64, f64),
    /// `cos` `a·cos(b·u + c)` (defaults 1, 1, 0).
    Cos(f64, f64, f64),
    /// `rbf` `gamma` (default 1).
    Rbf(f64),
    /// `gaussian` `a·exp(b·u²)` (defaults 1, −1).
    Gaussian(f64, f64),
    /// `exp` `a·exp(b·u)` (defaults 1, 1).
    Exp(f64, f64),
    /// `sign`.
    Sign,
    /// `monomial` `degree`.
    Monomial(usize),
    /// `rectified_monomial` `degree`.
    RectifiedMonomial(usize),
    /// `polynomial` `coef` (constant term first).
    Polynomial(Vec<f64>),
    /// `hermite` `degree`.
    Hermite(usize),
    /// `elementwise_numerical` `fn`, `degree`.
    Numerical(NamedFn, usize),
}

impl NonlinearSpec {
    /// The nonlinearity object; refuses a quadrature degree outside `1..=1000`.
    pub fn build(&self) -> Result<Nonlinearity> {
        Ok(match *self {
            NonlinearSpec::Relu => Nonlinearity::Relu,
            NonlinearSpec::Gelu(None) => Nonlinearity::Gelu,
            NonlinearSpec::Gelu(Some(d)) => Nonlinearity::gelu_numerical(d)?,
            NonlinearSpec::Identity => Nonlinearity::Identity,
            NonlinearSpec::Erf(a, b, c) => Nonlinearity::Erf { a, b, c },
            NonlinearSpec::LeakyRelu(s) => Nonlinearity::leaky_relu(s),
            NonlinearSpec::AbRelu(a, b) => Nonlinearity::AbRelu { a, b },
            NonlinearSpec::Abs => Nonlinearity::Abs,
            NonlinearSpec::Sin(a, b, c) => Nonlinearity::Sin { a, b, c },
            NonlinearSpec::Cos(a, b, c) => Nonlinearity::Cos { a, b, c },
            NonlinearSpec::Rbf(gamma) => Nonlinearity::Rbf { gamma },
            NonlinearSpec::Gaussian(a, b) => Nonlinearity::Gaussian { a, b },
            NonlinearSpec::Exp(a, b) => Nonlinearity::Exp { a, b },
            NonlinearSpec::Sign => Nonlinearity::Sign,
            NonlinearSpec::Monomial(degree) => Nonlinearity::Monomial { degree },
            NonlinearSpec::RectifiedMonomial(d) => Nonlinearity::rectified_monomial(d),
            NonlinearSpec::Polynomial(ref coef) => Nonlinearity::Polynomial { coef: coef.clone() },
            NonlinearSpec::Hermite(degree) => Nonlinearity::Hermite { degree },
            NonlinearSpec::Numerical(f, d) => Nonlinearity::named_numerical(f, d)?,
        })
    }
}

/// A parsed architecture spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchSpec {
    /// Parameterisation of every linear layer.
    pub parameterization: Parameterization,
    /// The layers.
    pub layers: Vec<LayerSpec>,
}

const LINEAR: &[&str] = &["w_std", "b_std", "width"];

/// The largest `degree` of `monomial`, `rectified_monomial`, `hermite` and `polynomial`
/// (neural-tangents allows any for the latter three and 0..=5 for `monomial`; beyond a few
/// tens the moments overflow f64 at unit variance anyway).
const MAX_DEGREE: usize = 64;

fn fields_of(ty: &str) -> Option<Vec<&'static str>> {
    let mut v: Vec<&'static str> = match ty {
        "dense" => vec![],
        "conv" => vec!["filter", "padding", "strides"],
        "lift_conv" => vec!["group", "filter", "padding", "strides"],
        "group_conv" => vec!["group", "filter", "padding", "strides", "group_support"],
        "s2_lift_conv" => vec!["bandlimit_out", "max_beta", "group"],
        "so3_conv" => vec!["bandlimit_out", "max_beta"],
        "so3_pool" => return Some(vec![]),
        "flatten" | "global_avg_pool" | "group_pool" | "relu" | "identity" | "fan_in_sum"
        | "fan_in_concat" => return Some(vec![]),
        "gelu" => return Some(vec!["degree"]),
        "erf" => return Some(vec!["a", "b", "c"]),
        "leaky_relu" => return Some(vec!["slope"]),
        "abrelu" => return Some(vec!["a", "b"]),
        "avg_pool" => {
            return Some(vec![
                "window",
                "strides",
                "stride",
                "padding",
                "normalize_edges",
            ])
        }
        "sum_pool" => return Some(vec!["window", "strides", "stride", "padding"]),
        "global_sum_pool" | "fan_in_prod" => return Some(vec![]),
        "repeat" => return Some(vec!["n", "layers"]),
        "deep_set" => return Some(vec!["reduce", "layers"]),
        "layer_norm" => return Some(vec!["axis", "eps"]),
        "dropout" => return Some(vec!["rate", "mode"]),
        "abs" | "sign" => return Some(vec![]),
        "sin" | "cos" => return Some(vec!["a", "b", "c"]),
        "rbf" => return Some(vec!["gamma"]),
        "gaussian" | "exp" => return Some(vec!["a", "b"]),
        "exp_normalized" => return Some(vec!["gamma", "shift", "do_clip"]),
        "monomial" | "rectified_monomial" | "hermite" => return Some(vec!["degree"]),
        "polynomial" => return Some(vec!["coef"]),
        "elementwise_numerical" => return Some(vec!["fn", "degree", "deg"]),
        "serial" => return Some(vec!["layers"]),
        "fan_out" => return Some(vec!["n"]),
        "parallel" => return Some(vec!["branches"]),
        _ => return None,
    };
    v.extend_from_slice(LINEAR);
    Some(v)
}

/// Largest filter side (`filter`) a spec may ask for. Larger windows exceed every image entk
/// can hold a kernel for; group layers are further limited by their stencil memory.
pub const MAX_FILTER: usize = 1025;
/// Largest `bandlimit_out` of the SO(3) layers: at `L = 64` one pair's kernel already holds
/// `127·(128·127)²` ≈ 3.4e10 values; the plan's memory estimate refuses most smaller ones.
pub const MAX_BANDLIMIT: usize = 64;
/// Smallest `max_beta` (radians) of a local SO(3) support.
pub const MIN_MAX_BETA: f64 = 1e-3;
/// Largest Gauss–Hermite `degree` (the dual costs `degree²` per kernel entry).
pub const MAX_QUADRATURE_DEGREE: usize = 1000;
/// Largest `fan_out` count.
pub const MAX_BRANCHES: usize = 1024;
/// Largest `width` (finite channel count) of a linear layer.
pub const MAX_WIDTH: usize = 1 << 20;

const KNOWN_TYPES: &str = "dense, conv, flatten, global_avg_pool, global_sum_pool, avg_pool, sum_pool, layer_norm, dropout, relu, gelu, identity, erf, leaky_relu, abrelu, abs, sign, sin, cos, rbf, gaussian, exp, exp_normalized, monomial, rectified_monomial, polynomial, hermite, elementwise_numerical, lift_conv, group_conv, group_pool, s2_lift_conv, so3_conv, so3_pool, serial, fan_out, parallel, fan_in_sum, fan_in_concat, fan_in_prod, repeat, deep_set";

struct Ctx<'a> {
    path: String,
    ty: &'a str,
    obj: &'a Map<String, Value>,
    registry: &'a GroupRegistry,
}

impl Ctx<'_> {
    fn err_as(&self, kind: SpecErrorKind, msg: impl std::fmt::Display) -> NtkError {
        NtkError::Spec(SpecError {
            path: self.path.clone(),
            kind,
            message: msg.to_string(),
        })
    }
    /// A [`SpecErrorKind::Invalid`] error at this layer.
    fn err(&self, msg: impl std::fmt::Display) -> NtkError {
        self.err_as(SpecErrorKind::Invalid, msg)
    }
    /// The option `field` names among `options` (see [`one_of`]); a [`SpecErrorKind::BadValue`]
    /// error listing them otherwise.
    fn choice<T: Copy>(&self, field: &str, options: &[(&str, T)]) -> Result<T> {
        one_of(self.obj.get(field), options).map_err(|v| {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            let msg = format!(
                "unknown {field} {v} in `{}` ({})",
                self.ty,
                names.join(", ")
            );
            self.bad(field, msg)
        })
    }
    /// A [`SpecErrorKind::BadValue`] error for `field` of this layer.
    fn bad(&self, field: &str, msg: impl std::fmt::Display) -> NtkError {
        let (layer, field) = (self.ty.to_string(), field.to_string());
        self.err_as(SpecErrorKind::BadValue { layer, field }, msg)
    }
    /// A [`SpecErrorKind::MissingField`] error for `field` of this layer.
    fn missing(&self, field: &str, msg: impl std::fmt::Display) -> NtkError {
        let (layer, field) = (self.ty.to_string(), field.to_string());
        self.err_as(SpecErrorKind::MissingField { layer, field }, msg)
    }
    /// A [`SpecErrorKind::Group`] error at this layer.
    fn group_err(&self, msg: impl std::fmt::Display) -> NtkError {
        self.err_as(SpecErrorKind::Group, msg)
    }
    fn f64(&self, key: &str, default: f64) -> Result<f64> {
        match self.obj.get(key) {
            None => Ok(default),
            Some(v) => v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                self.bad(
                    key,
                    format!(
                        "field `{key}` of `{}` must be a finite number, got {v}",
                        self.ty
                    ),
                )
            }),
        }
    }
    fn usize(&self, key: &str, default: Option<usize>) -> Result<usize> {
        match self.obj.get(key) {
            None => default.ok_or_else(|| {
                self.missing(key, format!("missing field `{key}` in `{}`", self.ty))
            }),
            Some(v) => v.as_u64().map(|x| x as usize).ok_or_else(|| {
                self.bad(
                    key,
                    format!(
                        "field `{key}` of `{}` must be a non-negative integer, got {v}",
                        self.ty
                    ),
                )
            }),
        }
    }
    /// [`Ctx::usize`] within `lo..=hi` (sizes are validated before anything is allocated).
    fn usize_in(&self, key: &str, default: Option<usize>, lo: usize, hi: usize) -> Result<usize> {
        let v = self.usize(key, default)?;
        if v < lo || v > hi {
            return Err(self.bad(
                key,
                format!(
                    "field `{key}` of `{}` must lie in {lo}..={hi}, got {v}",
                    self.ty
                ),
            ));
        }
        Ok(v)
    }
    /// `degree` of the polynomial-type nonlinearities: required, an integer in 0..=64.
    fn degree(&self) -> Result<usize> {
        let d = self.usize("degree", None)?;
        if d > MAX_DEGREE {
            return Err(self.bad(
                "degree",
                format!(
                    "field `degree` of `{}` is {d}; at most {MAX_DEGREE} is supported",
                    self.ty
                ),
            ));
        }
        Ok(d)
    }
    /// `coef` of `polynomial`: a non-empty list of finite numbers.
    fn coef(&self) -> Result<Vec<f64>> {
        let v = self.obj.get("coef").ok_or_else(|| {
            self.missing(
                "coef",
                "missing field `coef` in `polynomial` (a list of numbers, constant term first)",
            )
        })?;
        let list = v.as_array().ok_or_else(|| {
            self.bad(
                "coef",
                format!("field `coef` of `polynomial` must be a list of numbers, got {v}"),
            )
        })?;
        if list.len() > MAX_DEGREE + 1 {
            return Err(self.bad("coef", format!(
                "field `coef` of `polynomial` has {} entries; at most {} (degree {MAX_DEGREE}) are supported",
                list.len(),
                MAX_DEGREE + 1
            )));
        }
        list.iter()
            .map(|x| {
                x.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    self.bad(
                        "coef",
                        format!("entry {x} of `coef` in `polynomial` must be a finite number"),
                    )
                })
            })
            .collect()
    }
    fn nonneg(&self, key: &str, default: f64) -> Result<f64> {
        let v = self.f64(key, default)?;
        if v < 0.0 {
            return Err(self.bad(
                key,
                format!("field `{key}` of `{}` must be ≥ 0, got {v}", self.ty),
            ));
        }
        Ok(v)
    }
    fn affine(&self, param: Parameterization) -> Result<Affine> {
        let width = self.usize_in("width", Some(1), 1, MAX_WIDTH)?;
        Ok(Affine {
            w_std: self.nonneg("w_std", 1.0)?,
            b_std: self.nonneg("b_std", 0.0)?,
            width,
            param,
        })
    }
    fn padding(&self) -> Result<Padding> {
        match self.obj.get("padding") {
            None => Ok(Padding::Valid),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "same" => Ok(Padding::Same),
                "valid" => Ok(Padding::Valid),
                "circular" => Ok(Padding::Circular),
                _ => Err(self.bad(
                    "padding",
                    format!(
                        "unknown padding `{s}` in `{}` (same, valid, circular)",
                        self.ty
                    ),
                )),
            },
            Some(v) => Err(self.bad(
                "padding",
                format!("field `padding` of `{}` must be a string, got {v}", self.ty),
            )),
        }
    }
    /// A positive integer or `[h, w]` of positive integers (`window`, `strides`).
    fn pair(&self, key: &str, default: Option<(usize, usize)>) -> Result<(usize, usize)> {
        let bad = || {
            self.bad(
                key,
                format!(
                "field `{key}` of `{}` must be a positive integer or [h, w] of positive integers",
                self.ty
            ),
            )
        };
        let pos = |x: &Value| x.as_u64().filter(|v| *v > 0).map(|v| v as usize);
        match self.obj.get(key) {
            None => default.ok_or_else(|| {
                self.missing(key, format!("missing field `{key}` in `{}`", self.ty))
            }),
            Some(Value::Array(a)) if a.len() == 2 => match (pos(&a[0]), pos(&a[1])) {
                (Some(h), Some(w)) => Ok((h, w)),
                _ => Err(bad()),
            },
            Some(v) => pos(v).map(|q| (q, q)).ok_or_else(bad),
        }
        .and_then(|(h, w)| {
            if h > MAX_FILTER || w > MAX_FILTER {
                Err(self.bad(
                    key,
                    format!(
                    "field `{key}` of `{}` is too large: {h}×{w} (at most {MAX_FILTER} per side)",
                    self.ty
                ),
                ))
            } else {
                Ok((h, w))
            }
        })
    }
    /// `strides` (neural-tangents' name), or the older `stride`; default 1.
    fn strides(&self) -> Result<(usize, usize)> {
        if self.obj.contains_key("strides") && self.obj.contains_key("stride") {
            return Err(self.bad(
                "stride",
                format!(
                    "`{}` has both `strides` and `stride`; use `strides`",
                    self.ty
                ),
            ));
        }
        let key = if self.obj.contains_key("stride") {
            "stride"
        } else {
            "strides"
        };
        self.pair(key, Some((1, 1)))
    }
    fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.obj.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.bad(
                key,
                format!(
                    "field `{key}` of `{}` must be true or false, got {v}",
                    self.ty
                ),
            )),
        }
    }
    fn filter(&self) -> Result<(usize, usize)> {
        let v = self.obj.get("filter").ok_or_else(|| {
            self.missing("filter", format!("missing field `filter` in `{}`", self.ty))
        })?;
        let (h, w) = match v {
            Value::Number(n) => {
                let q = n.as_u64().ok_or_else(|| {
                    self.bad(
                        "filter",
                        format!("filter {n} of `{}` must be a positive odd integer", self.ty),
                    )
                })? as usize;
                (q, q)
            }
            Value::Array(a) if a.len() == 2 => {
                let g = |x: &Value| {
                    x.as_u64().map(|v| v as usize).ok_or_else(|| {
                        self.bad(
                            "filter",
                            format!(
                                "filter {v} of `{}` must be [h, w] with odd integers",
                                self.ty
                            ),
                        )
                    })
                };
                (g(&a[0])?, g(&a[1])?)
            }
            _ => {
                return Err(self.bad(
                    "filter",
                    format!(
                        "filter {v} of `{}` must be an odd integer or [h, w]",
                        self.ty
                    ),
                ))
            }
        };
        if h > MAX_FILTER || w > MAX_FILTER {
            return Err(self.bad(
                "filter",
                format!(
                    "filter size {h}×{w} of `{}` is too large (at most {MAX_FILTER} per side)",
                    self.ty
                ),
            ));
        }
        if h.is_multiple_of(2) || w.is_multiple_of(2) {
            return Err(self.bad(
                "filter",
                format!(
                    "filter size {h}×{w} of `{}` must be odd (even filters have no centre)",
                    self.ty
                ),
            ));
        }
        Ok((h, w))
    }
    fn square_filter(&self) -> Result<usize> {
        let (h, w) = self.filter()?;
        if h != w {
            return Err(self.bad(
                "filter",
                format!("`{}` needs a square filter, got {h}×{w}", self.ty),
            ));
        }
        Ok(h)
    }
    /// The finite group named by `group` (looked up in the registry), or `last` when the field
    /// is absent.
    fn group(&self, last: Option<Arc<GroupStructure>>) -> Result<Arc<GroupStructure>> {
        match self.obj.get("group") {
            None => last.ok_or_else(|| {
                self.group_err(format!(
                    "`{}` has no `group` and there is no lift_conv before it",
                    self.ty
                ))
            }),
            Some(Value::String(s)) => match self
                .registry
                .get(s)
                .map_err(|e| self.group_err(format!("group `{s}`: {e}")))?
                .kind()
            {
                GroupKind::Finite(structure) => Ok(structure.clone()),
                _ => Err(self.group_err(format!(
                    "`{}` works on pixel grids; so3 needs s2_lift_conv/so3_conv",
                    self.ty
                ))),
            },
            Some(v) => Err(self.bad(
                "group",
                format!("field `group` of `{}` must be a string, got {v}", self.ty),
            )),
        }
    }
    /// `s2_lift_conv`'s optional `group`: `None` for SO(3) (absent or `so3`), otherwise a
    /// registered finite group acting on the sphere.
    fn sphere_group(&self) -> Result<Option<Arc<GroupStructure>>> {
        if !self.obj.contains_key("group") {
            return Ok(None);
        }
        if let Some(Value::String(s)) = self.obj.get("group") {
            if let Ok(entry) = self.registry.get(s) {
                if matches!(entry.kind(), GroupKind::So3) {
                    return Ok(None);
                }
            }
        }
        let g = self.group(None)?;
        if g.sphere().is_none() {
            return Err(self.group_err(format!(
                "group {} does not act on the sphere: `s2_lift_conv` takes so3 (the default) or a \
                 finite rotation group such as octahedral or icosahedral",
                g.group_name()
            )));
        }
        Ok(Some(g))
    }
    /// Refuses the spatial fields of a layer over a group without a plane action.
    fn no_spatial_fields(&self, group: &GroupStructure) -> Result<()> {
        for key in ["filter", "padding", "strides"] {
            if self.obj.contains_key(key) {
                return Err(self.bad(
                    key,
                    format!(
                    "`{}` over {} has no spatial part (its features are functions on the group \
                     alone): `{key}` is not allowed",
                    self.ty,
                    group.group_name()
                ),
                ));
            }
        }
        Ok(())
    }
}

fn parse_layers(
    list: &[Value],
    prefix: &str,
    param: Parameterization,
    last_group: &mut Option<Arc<GroupStructure>>,
    registry: &GroupRegistry,
) -> Result<Vec<LayerSpec>> {
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            parse_layer(
                v,
                &format!("{prefix}layer {i}"),
                param,
                last_group,
                registry,
            )
        })
        .collect()
}

fn parse_layer(
    v: &Value,
    path: &str,
    param: Parameterization,
    last_group: &mut Option<Arc<GroupStructure>>,
    registry: &GroupRegistry,
) -> Result<LayerSpec> {
    let obj = v.as_object().ok_or_else(|| {
        NtkError::Spec(SpecError {
            path: path.to_string(),
            kind: SpecErrorKind::Invalid,
            message: format!("must be a JSON object with a `type`, got {v}"),
        })
    })?;
    let ty = match obj.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(NtkError::Spec(SpecError {
                path: path.to_string(),
                kind: SpecErrorKind::BadValue {
                    layer: String::new(),
                    field: "type".into(),
                },
                message: format!("`type` must be a string, got {other}"),
            }))
        }
        None => {
            return Err(NtkError::Spec(SpecError {
                path: path.to_string(),
                kind: SpecErrorKind::MissingField {
                    layer: String::new(),
                    field: "type".into(),
                },
                message: "missing field `type`".into(),
            }))
        }
    };
    let allowed = fields_of(ty).ok_or_else(|| {
        NtkError::Spec(SpecError {
            path: path.to_string(),
            kind: SpecErrorKind::UnknownType { ty: ty.to_string() },
            message: format!("unknown layer type `{ty}` (known: {KNOWN_TYPES})"),
        })
    })?;
    for k in obj.keys() {
        if k != "type" && !allowed.contains(&k.as_str()) {
            let known = if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(NtkError::Spec(SpecError {
                path: path.to_string(),
                kind: SpecErrorKind::UnknownField {
                    layer: ty.to_string(),
                    field: k.clone(),
                },
                message: format!("unknown field `{k}` in `{ty}` (known fields: {known})"),
            }));
        }
    }
    let c = Ctx {
        path: path.to_string(),
        ty,
        obj,
        registry,
    };
    Ok(match ty {
        "dense" => LayerSpec::Dense(c.affine(param)?),
        "conv" => LayerSpec::Conv {
            filter: c.filter()?,
            padding: c.padding()?,
            strides: c.pair("strides", Some((1, 1)))?,
            affine: c.affine(param)?,
        },
        "flatten" => LayerSpec::Flatten,
        "global_avg_pool" => LayerSpec::GlobalAvgPool,
        "group_pool" => LayerSpec::GroupPool,
        "s2_lift_conv" | "so3_conv" => {
            let bandlimit_out = c.usize_in("bandlimit_out", None, 1, MAX_BANDLIMIT)?;
            let max_beta = c.f64("max_beta", std::f64::consts::PI)?;
            if !(MIN_MAX_BETA..=std::f64::consts::PI).contains(&max_beta) {
                return Err(c.bad("max_beta", format!(
                    "field `max_beta` of `{ty}` must lie in [{MIN_MAX_BETA}, π], got {max_beta} \
                     (smaller supports leave no resolvable filter at any bandlimit ≤ {MAX_BANDLIMIT})"
                )));
            }
            let affine = c.affine(param)?;
            if ty == "s2_lift_conv" {
                let group = c.sphere_group()?;
                if group.is_some() {
                    *last_group = group.clone();
                }
                LayerSpec::S2LiftConv {
                    group,
                    bandlimit_out,
                    max_beta,
                    affine,
                }
            } else {
                LayerSpec::So3Conv {
                    bandlimit_out,
                    max_beta,
                    affine,
                }
            }
        }
        "so3_pool" => LayerSpec::So3Pool,
        "avg_pool" | "sum_pool" => LayerSpec::Pool {
            kind: if ty == "avg_pool" {
                PoolKind::Avg
            } else {
                PoolKind::Sum
            },
            window: c.pair("window", None)?,
            strides: c.strides()?,
            padding: c.padding()?,
            normalize_edges: c.bool("normalize_edges", false)?,
        },
        "global_sum_pool" => LayerSpec::GlobalSumPool,
        "layer_norm" => LayerSpec::LayerNorm {
            axis: match obj.get("axis") {
                None => vec![-1],
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_i64().filter(|x| x.abs() < 8))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| c.bad("axis", "field `axis` of `layer_norm` must be an integer or a list of integers (NHWC axes, e.g. -1 or [1, 2, 3])"))?,
                Some(v) => vec![v.as_i64().filter(|x| x.abs() < 8).ok_or_else(|| {
                    c.bad("axis", format!("field `axis` of `layer_norm` must be an integer or a list of integers, got {v}"))
                })?],
            },
            eps: c.f64("eps", 1e-12)?,
        },
        "dropout" => LayerSpec::Dropout {
            rate: match obj.get("rate") {
                None => return Err(c.missing("rate", "`dropout` needs `rate`, the keep probability in (0, 1] (neural-tangents' convention)")),
                Some(_) => c.f64("rate", 1.0)?,
            },
            train: match obj.get("mode") {
                None => true,
                Some(Value::String(m)) if m == "train" => true,
                Some(Value::String(m)) if m == "test" => false,
                Some(v) => return Err(c.bad("mode", format!("unknown mode {v} of `dropout` (train, test)"))),
            },
        },
        "relu" => LayerSpec::Nonlinear(NonlinearSpec::Relu),
        "identity" => LayerSpec::Nonlinear(NonlinearSpec::Identity),
        "gelu" => LayerSpec::Nonlinear(NonlinearSpec::Gelu(match obj.get("degree") {
            None => None,
            Some(_) => Some(c.usize_in("degree", None, 1, MAX_QUADRATURE_DEGREE)?),
        })),
        "erf" => LayerSpec::Nonlinear(NonlinearSpec::Erf(
            c.f64("a", 1.0)?,
            c.f64("b", 1.0)?,
            c.f64("c", 0.0)?,
        )),
        "leaky_relu" => LayerSpec::Nonlinear(NonlinearSpec::LeakyRelu(c.f64("slope", 0.01)?)),
        "abrelu" => LayerSpec::Nonlinear(NonlinearSpec::AbRelu(c.f64("a", 0.0)?, c.f64("b", 1.0)?)),
        "abs" => LayerSpec::Nonlinear(NonlinearSpec::Abs),
        "sign" => LayerSpec::Nonlinear(NonlinearSpec::Sign),
        "sin" | "cos" => {
            let (a, b, cc) = (c.f64("a", 1.0)?, c.f64("b", 1.0)?, c.f64("c", 0.0)?);
            LayerSpec::Nonlinear(if ty == "sin" {
                NonlinearSpec::Sin(a, b, cc)
            } else {
                NonlinearSpec::Cos(a, b, cc)
            })
        }
        "rbf" => LayerSpec::Nonlinear(NonlinearSpec::Rbf(c.nonneg("gamma", 1.0)?)),
        "gaussian" => {
            LayerSpec::Nonlinear(NonlinearSpec::Gaussian(c.f64("a", 1.0)?, c.f64("b", -1.0)?))
        }
        "exp" => LayerSpec::Nonlinear(NonlinearSpec::Exp(c.f64("a", 1.0)?, c.f64("b", 1.0)?)),
        "exp_normalized" => LayerSpec::ExpNormalized(ExpNormalized {
            gamma: c.nonneg("gamma", 1.0)?,
            shift: c.f64("shift", -1.0)?,
            do_clip: c.bool("do_clip", false)?,
        }),
        "monomial" => LayerSpec::Nonlinear(NonlinearSpec::Monomial(c.degree()?)),
        "rectified_monomial" => LayerSpec::Nonlinear(NonlinearSpec::RectifiedMonomial(c.degree()?)),
        "hermite" => LayerSpec::Nonlinear(NonlinearSpec::Hermite(c.degree()?)),
        "polynomial" => LayerSpec::Nonlinear(NonlinearSpec::Polynomial(c.coef()?)),
        "elementwise_numerical" => {
            let name = match obj.get("fn") {
                Some(Value::String(s)) => s.as_str(),
                Some(v) => {
                    return Err(c.bad("fn", format!(
                        "field `fn` of `elementwise_numerical` must be a string, got {v}"
                    )))
                }
                None => {
                    return Err(c.missing("fn", format!(
                        "missing field `fn` in `elementwise_numerical` (one of {})",
                        crate::nonlin::named_fn_names()
                    )))
                }
            };
            let f = NamedFn::from_str(name)
                .map_err(|e| c.err(format!("`elementwise_numerical`: {e}")))?;
            let key = match (obj.contains_key("degree"), obj.contains_key("deg")) {
                (true, true) => return Err(c.bad("deg", "`elementwise_numerical` takes `degree` or its neural-tangents name `deg`, not both")),
                (false, true) => "deg",
                _ => "degree",
            };
            let degree = c.usize_in(key, None, 1, MAX_QUADRATURE_DEGREE)?;
            LayerSpec::Nonlinear(NonlinearSpec::Numerical(f, degree))
        }
        "lift_conv" => {
            let group = c.group(None)?;
            if group.plane().is_none() {
                return Err(c.group_err(format!(
                    "`lift_conv` works on pixel grids; {g} acts on the sphere: use s2_lift_conv \
                     with \"group\": \"{g}\"",
                    g = group.group_name()
                )));
            }
            *last_group = Some(group.clone());
            LayerSpec::LiftConv {
                group,
                filter: c.square_filter()?,
                padding: c.padding()?,
                strides: c.pair("strides", Some((1, 1)))?,
                affine: c.affine(param)?,
            }
        }
        "group_conv" => {
            let support = c.choice(
                "group_support",
                &[("all", GroupSupport::All), ("identity", GroupSupport::Identity)],
            )?;
            if last_group.is_none() {
                return Err(c.group_err("group_conv before any lift_conv: group convolutions need group features; add a lift_conv first"));
            }
            let group = c.group(last_group.clone())?;
            if group.plane().is_none() {
                c.no_spatial_fields(&group)?;
                LayerSpec::GroupConv {
                    group,
                    filter: 1,
                    padding: Padding::Valid,
                    strides: (1, 1),
                    support,
                    affine: c.affine(param)?,
                }
            } else {
                LayerSpec::GroupConv {
                    group,
                    filter: c.square_filter()?,
                    padding: c.padding()?,
                    strides: c.pair("strides", Some((1, 1)))?,
                    support,
                    affine: c.affine(param)?,
                }
            }
        }
        "serial" => {
            let list = obj
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| c.bad("layers", "`serial` needs `layers`: a list"))?;
            LayerSpec::Serial(parse_layers(
                list,
                &format!("{path} > "),
                param,
                last_group,
                registry,
            )?)
        }
        "fan_out" => LayerSpec::FanOut(c.usize_in("n", None, 1, MAX_BRANCHES)?),
        "parallel" => {
            let list = obj
                .get("branches")
                .and_then(Value::as_array)
                .ok_or_else(|| c.bad("branches", "`parallel` needs `branches`: a list of layer lists"))?;
            let mut out = Vec::new();
            for (b, br) in list.iter().enumerate() {
                let layers = br
                    .as_array()
                    .ok_or_else(|| c.bad("branches", format!("branch {b} must be a list of layers")))?;
                let mut g = last_group.clone();
                out.push(parse_layers(
                    layers,
                    &format!("{path} > branch {b} > "),
                    param,
                    &mut g,
                    registry,
                )?);
            }
            LayerSpec::Parallel(out)
        }
        "fan_in_sum" => LayerSpec::FanInSum,
        "fan_in_concat" => LayerSpec::FanInConcat,
        "fan_in_prod" => LayerSpec::FanInProd,
        "repeat" => {
            let n = c.usize_in("n", None, 1, MAX_BRANCHES)?;
            let list = obj
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| c.bad("layers", "`repeat` needs `layers`: a list"))?;
            LayerSpec::Repeat {
                n,
                layers: parse_layers(list, &format!("{path} > "), param, last_group, registry)?,
            }
        }
        "deep_set" => {
            let reduce = c.choice("reduce", &[("sum", SetReduce::Sum), ("mean", SetReduce::Mean)])?;
            let list = obj
                .get("layers")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or_else(|| {
                    c.bad("layers", "`deep_set` needs `layers`: a non-empty list, the network applied to every element")
                })?;
            LayerSpec::DeepSet {
                reduce,
                layers: parse_layers(list, &format!("{path} > "), param, last_group, registry)?,
            }
        }
        _ => unreachable!("checked by fields_of"),
    })
}

/// Refuses a `train` dropout that no linear layer precedes (neural-tangents: "Dropout cannot
/// be applied to the input layer"): the input's finitely many channels do not average the mask
/// out. `linear`: a linear layer came before `layers`. Returns whether one has after them.
fn check_dropout_after_linear(layers: &[LayerSpec], mut linear: bool) -> Result<bool> {
    for l in layers {
        match l {
            LayerSpec::Dense(_)
            | LayerSpec::Conv { .. }
            | LayerSpec::LiftConv { .. }
            | LayerSpec::GroupConv { .. }
            | LayerSpec::S2LiftConv { .. }
            | LayerSpec::So3Conv { .. } => linear = true,
            LayerSpec::Dropout { train: true, .. } if !linear => {
                return Err(NtkError::Spec(SpecError {
                    path: String::new(),
                    kind: SpecErrorKind::Placement,
                    message: "dropout cannot act on the network input (its finitely many \
                              channels do not average the mask out; neural-tangents refuses it \
                              too): put a dense or conv layer before it"
                        .into(),
                }))
            }
            LayerSpec::Serial(v)
            | LayerSpec::Repeat { layers: v, .. }
            | LayerSpec::DeepSet { layers: v, .. } => {
                linear = check_dropout_after_linear(v, linear)?
            }
            LayerSpec::Parallel(b) => {
                let mut all = true;
                for br in b {
                    all &= check_dropout_after_linear(br, linear)?;
                }
                linear = all;
            }
            _ => {}
        }
    }
    Ok(linear)
}

/// Refuses a `deep_set` anywhere but as the first top-level layer (`prefix` empty): only the
/// first layer reads the network's set inputs.
fn check_set_position(layers: &[LayerSpec], prefix: &str) -> Result<()> {
    for (i, l) in layers.iter().enumerate() {
        let path = format!("{prefix}layer {i}");
        let inner: Vec<&[LayerSpec]> = match l {
            LayerSpec::DeepSet { layers, .. } => {
                if i > 0 || !prefix.is_empty() {
                    return Err(NtkError::Spec(SpecError {
                        path,
                        kind: SpecErrorKind::Placement,
                        message: "`deep_set` must be the first layer of the network (it reads \
                                  the set inputs) and cannot be nested; put per-element layers \
                                  inside its `layers`"
                            .into(),
                    }));
                }
                vec![layers]
            }
            LayerSpec::Serial(v) | LayerSpec::Repeat { layers: v, .. } => vec![v],
            LayerSpec::Parallel(b) => b.iter().map(Vec::as_slice).collect(),
            _ => vec![],
        };
        for v in inner {
            check_set_position(v, &format!("{path} > "))?;
        }
    }
    Ok(())
}

/// The option that `value` names, ASCII case-insensitively, among `options` (the first one
/// when `value` is absent); the value itself when it names none of them.
fn one_of<'v, T: Copy>(
    value: Option<&'v Value>,
    options: &[(&str, T)],
) -> std::result::Result<T, &'v Value> {
    let Some(v) = value else {
        return Ok(options[0].1);
    };
    v.as_str()
        .and_then(|s| {
            options
                .iter()
                .find(|(name, _)| s.eq_ignore_ascii_case(name))
        })
        .map(|&(_, t)| t)
        .ok_or(v)
}

/// A [`SpecError`] at `path` (`"spec"` or empty).
fn top_level(kind: SpecErrorKind, path: &str, message: impl Into<String>) -> NtkError {
    NtkError::Spec(SpecError {
        path: path.into(),
        kind,
        message: message.into(),
    })
}

/// [`SpecErrorKind::BadValue`] for a field of the top-level object.
fn bad_top(field: &str) -> SpecErrorKind {
    SpecErrorKind::BadValue {
        layer: "spec".into(),
        field: field.into(),
    }
}

impl ArchSpec {
    /// Parses the JSON text of a spec, with the built-in groups
    /// (`entk_reps::default_registry`).
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_json_in(text, &entk_reps::default_registry())
    }
    /// Parses the JSON text of a spec; group names are looked up in `registry`.
    pub fn from_json_in(text: &str, registry: &GroupRegistry) -> Result<Self> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            top_level(
                SpecErrorKind::Json,
                "",
                format!("spec is not valid JSON: {e}"),
            )
        })?;
        Self::from_value_in(&v, registry)
    }
    /// Parses a JSON value, with the built-in groups.
    pub fn from_value(v: &Value) -> Result<Self> {
        Self::from_value_in(v, &entk_reps::default_registry())
    }
    /// Parses a JSON value; group names are looked up in `registry`.
    pub fn from_value_in(v: &Value, registry: &GroupRegistry) -> Result<Self> {
        let obj = v.as_object().ok_or_else(|| {
            top_level(
                SpecErrorKind::Json,
                "",
                "spec must be a JSON object with `layers`",
            )
        })?;
        for k in obj.keys() {
            if k != "layers" && k != "parameterization" {
                let kind = SpecErrorKind::UnknownField {
                    layer: "spec".into(),
                    field: k.clone(),
                };
                let msg = format!("unknown field `{k}` (known fields: parameterization, layers)");
                return Err(top_level(kind, "spec", msg));
            }
        }
        let options = [
            ("ntk", Parameterization::Ntk),
            ("standard", Parameterization::Standard),
        ];
        let parameterization = one_of(obj.get("parameterization"), &options).map_err(|v| {
            let msg = format!("unknown parameterization {v} (ntk, standard)");
            top_level(bad_top("parameterization"), "spec", msg)
        })?;
        let list = obj.get("layers").and_then(Value::as_array).ok_or_else(|| {
            let kind = SpecErrorKind::MissingField {
                layer: "spec".into(),
                field: "layers".into(),
            };
            top_level(kind, "spec", "missing field `layers` (a list)")
        })?;
        if list.is_empty() {
            return Err(top_level(bad_top("layers"), "spec", "`layers` is empty"));
        }
        let mut g = None;
        let layers = parse_layers(list, "", parameterization, &mut g, registry)?;
        check_dropout_after_linear(&layers, false)?;
        check_set_position(&layers, "")?;
        Ok(ArchSpec {
            parameterization,
            layers,
        })
    }

    /// The same spec with every linear layer's `width` set to `width`, except a final `dense`
    /// (the readout keeps its width; in a network that ends with `deep_set`, the element
    /// network's final `dense`). Used for finite-width and Monte-Carlo networks.
    pub fn with_width(&self, width: usize) -> ArchSpec {
        fn set(l: &mut LayerSpec, width: usize) {
            match l {
                LayerSpec::Dense(a)
                | LayerSpec::Conv { affine: a, .. }
                | LayerSpec::LiftConv { affine: a, .. }
                | LayerSpec::GroupConv { affine: a, .. }
                | LayerSpec::S2LiftConv { affine: a, .. }
                | LayerSpec::So3Conv { affine: a, .. } => a.width = width,
                LayerSpec::Serial(v)
                | LayerSpec::Repeat { layers: v, .. }
                | LayerSpec::DeepSet { layers: v, .. } => v.iter_mut().for_each(|l| set(l, width)),
                LayerSpec::Parallel(b) => b.iter_mut().flatten().for_each(|l| set(l, width)),
                _ => {}
            }
        }
        /// Every layer but a final `dense` (the readout).
        fn set_all_but_readout(layers: &mut [LayerSpec], width: usize) {
            let n = layers.len();
            for (i, l) in layers.iter_mut().enumerate() {
                match l {
                    LayerSpec::Dense(_) if i + 1 == n => {}
                    // A network that ends in `deep_set` reads out through the element
                    // network's last layer.
                    LayerSpec::DeepSet { layers: v, .. } if i + 1 == n => {
                        set_all_but_readout(v, width)
                    }
                    _ => set(l, width),
                }
            }
        }
        let mut s = self.clone();
        set_all_but_readout(&mut s.layers, width);
        s
    }
}

impl FromStr for ArchSpec {
    type Err = NtkError;
    fn from_str(s: &str) -> Result<Self> {
        ArchSpec::from_json(s)
    }
}

impl LayerSpec {
    /// Builds the layer object.
    pub fn build(&self) -> Result<Box<dyn Layer>> {
        Ok(match self {
            LayerSpec::Dense(a) => Box::new(Dense::new(*a)),
            LayerSpec::Conv {
                filter,
                padding,
                strides,
                affine,
            } => {
                Box::new(Conv::new(filter.0, filter.1, *padding, *affine)?.with_strides(*strides)?)
            }
            LayerSpec::Flatten => Box::new(Flatten),
            LayerSpec::GlobalAvgPool => Box::new(GlobalAvgPool),
            LayerSpec::GroupPool => Box::new(GroupPool),
            LayerSpec::S2LiftConv {
                group: None,
                bandlimit_out,
                max_beta,
                affine,
            } => Box::new(S2LiftConv::new(*bandlimit_out, *max_beta, *affine)?),
            LayerSpec::S2LiftConv {
                group: Some(group),
                bandlimit_out,
                max_beta,
                affine,
            } => Box::new(S2GroupLiftConv::new(
                group.clone(),
                *bandlimit_out,
                *max_beta,
                *affine,
            )?),
            LayerSpec::So3Conv {
                bandlimit_out,
                max_beta,
                affine,
            } => Box::new(So3Conv::new(*bandlimit_out, *max_beta, *affine)?),
            LayerSpec::So3Pool => Box::new(So3Pool::default()),
            LayerSpec::GlobalSumPool => Box::new(GlobalSumPool),
            LayerSpec::LayerNorm { axis, eps } => Box::new(LayerNorm::new(axis.clone(), *eps)?),
            LayerSpec::Dropout { rate, train } => Box::new(Dropout::new(*rate, *train)?),
            LayerSpec::Pool {
                kind,
                window,
                strides,
                padding,
                normalize_edges,
            } => Box::new(WindowPool::new(
                *kind,
                *window,
                *strides,
                *padding,
                *normalize_edges,
            )?),
            LayerSpec::Nonlinear(n) => Box::new(Elementwise::new(n.build()?)),
            LayerSpec::ExpNormalized(e) => Box::new(*e),
            LayerSpec::LiftConv {
                group,
                filter,
                padding,
                strides,
                affine,
            } => Box::new(
                LiftConv::from_structure(group.clone(), *filter, *padding, *affine)?
                    .with_strides(*strides)?,
            ),
            LayerSpec::GroupConv {
                group,
                filter,
                padding,
                strides,
                support,
                affine,
            } => {
                if group.plane().is_some() {
                    Box::new(
                        GroupConv::from_structure(
                            group.clone(),
                            *filter,
                            *padding,
                            *support,
                            *affine,
                        )?
                        .with_strides(*strides)?,
                    )
                } else {
                    Box::new(GroupConv::without_space(group.clone(), *support, *affine)?)
                }
            }
            LayerSpec::Serial(v) => Box::new(Serial::new(
                v.iter().map(LayerSpec::build).collect::<Result<_>>()?,
            )),
            LayerSpec::FanOut(n) => Box::new(FanOut(*n)),
            LayerSpec::Parallel(b) => Box::new(Parallel {
                branches: b
                    .iter()
                    .map(|br| {
                        Ok(Box::new(Serial::new(
                            br.iter().map(LayerSpec::build).collect::<Result<_>>()?,
                        )) as Box<dyn Layer>)
                    })
                    .collect::<Result<_>>()?,
            }),
            LayerSpec::FanInSum => Box::new(FanInSum),
            LayerSpec::FanInConcat => Box::new(FanInConcat),
            LayerSpec::FanInProd => Box::new(FanInProd),
            LayerSpec::DeepSet { reduce, layers } => Box::new(DeepSet::new(
                layers.iter().map(LayerSpec::build).collect::<Result<_>>()?,
                *reduce,
            )?),
            LayerSpec::Repeat { n, layers } => Box::new(Serial::new(
                (0..*n)
                    .map(|_| {
                        Ok(Box::new(Serial::new(
                            layers.iter().map(LayerSpec::build).collect::<Result<_>>()?,
                        )) as Box<dyn Layer>)
                    })
                    .collect::<Result<_>>()?,
            )),
        })
    }
}
