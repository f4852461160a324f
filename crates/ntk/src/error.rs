//! The error type of the kernel engine.

use thiserror::Error;

/// Everything that can go wrong when parsing a spec, planning or computing a kernel.
///
/// Messages are one line and name the offending layer, field or input.
#[derive(Debug, Error)]
pub enum NtkError {
    /// The architecture spec or a layer's settings are malformed (unknown type or field, bad
    /// value, bad JSON); [`SpecError::kind`] says which, and names the field.
    #[error("{0}")]
    Spec(SpecError),
    /// A layer cannot accept its input (wrong layout, wrong group, shape too small, ...).
    #[error("layer {index} (`{layer}`): {reason}")]
    Layer {
        /// Zero-based index of the layer in its serial container.
        index: usize,
        /// The layer's type name.
        layer: String,
        /// The kind of problem, for callers that handle some of them.
        kind: Rejection,
        /// What is wrong, in words.
        reason: String,
    },
    /// A layer rejected its input or parameters, before its position is known: what a
    /// [`crate::Layer`] method returns. The walker that calls the layer ([`crate::layers::Serial`],
    /// [`crate::layers::Parallel`], [`crate::Network`]) knows its index and name and turns this
    /// into [`NtkError::Layer`], so callers of [`crate::Network`] see only the located form.
    #[error("{reason}")]
    Rejected {
        /// The kind of problem.
        kind: Rejection,
        /// What is wrong, in words.
        reason: String,
    },
    /// Input arrays are unusable (NaN/Inf, mismatched shapes or channel counts); `kind` says
    /// how, for a caller to match. Build it with [`NtkError::input`].
    #[error("bad input: {message}")]
    Input {
        /// What is wrong.
        kind: InputProblem,
        /// The problem in words, naming the array and the entry.
        message: String,
    },
    /// The computation would exceed the memory budget.
    #[error(
        "kernel would need about {estimated_bytes} bytes ({:.2} GiB) of memory, over the budget of \
         {budget_bytes} bytes ({:.2} GiB, the available memory unless set); use fewer threads, \
         fewer or smaller inputs, or a smaller network",
        *estimated_bytes as f64 / 1073741824.0,
        *budget_bytes as f64 / 1073741824.0
    )]
    OutOfMemory {
        /// The estimated peak bytes.
        estimated_bytes: u64,
        /// The allowed budget.
        budget_bytes: u64,
    },
    /// The computation produced a non-finite value or a negative self-kernel; the message
    /// names the entry, the layer and the likely cause.
    #[error("numerical range: {0}")]
    Numerical(String),
    /// Kernel regression refused its Gram matrices or targets ([`crate::Network::predict`]).
    #[error("kernel regression: {0}")]
    Regression(#[from] crate::regression::RegressionError),
    /// A representation-layer (transform, Wigner table) failure.
    #[error("{0}")]
    Reps(#[from] entk_reps::RepsError),
    /// An SO(3) kernel operator or finite SO(3) layer refused its settings or inputs.
    #[error("so3: {0}")]
    So3(#[from] crate::so3::So3Error),
    /// A group could not be constructed.
    #[error("group: {0}")]
    Group(#[from] entk_groups::GroupError),
    /// The caller stopped the computation ([`crate::Progress::cancelled`]).
    #[error("interrupted")]
    Interrupted,
    /// Building the thread pool failed.
    #[error("thread pool: {0}")]
    Threads(String),
}

/// A refused spec or layer setting: where (`path`), what kind of problem (`kind`, matchable,
/// naming the field), and the one-line message. Displays as `"{path}: {message}"` (just the
/// message when `path` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Where in the spec: `"layer 3"`, `"layer 2 > branch 1 > layer 0"`, `"spec"` for the
    /// top-level object; empty when the whole text is unreadable or no position applies.
    pub path: String,
    /// The kind of problem.
    pub kind: SpecErrorKind,
    /// What is wrong, in words (without the path).
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

impl From<SpecError> for NtkError {
    fn from(e: SpecError) -> Self {
        NtkError::Spec(e)
    }
}

/// The kind of a [`SpecError`]. `layer` is the layer's `type` (`"spec"` for the top-level
/// object), `field` the offending field.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecErrorKind {
    /// The text is not JSON, or not an object.
    Json,
    /// An unknown layer `type`.
    UnknownType {
        /// The type that was given.
        ty: String,
    },
    /// A field the layer does not have.
    UnknownField {
        /// The layer's type.
        layer: String,
        /// The unknown field.
        field: String,
    },
    /// A required field is absent.
    MissingField {
        /// The layer's type.
        layer: String,
        /// The missing field.
        field: String,
    },
    /// A field has the wrong JSON type or a value outside its range.
    BadValue {
        /// The layer's type.
        layer: String,
        /// The field.
        field: String,
    },
    /// The group named is unknown, absent where needed, or does not suit the layer.
    Group,
    /// A layer where it cannot stand (dropout on the network input, `deep_set` not first).
    Placement,
    /// Any other inconsistency of the settings.
    Invalid,
}

/// Why a layer refused its input, parameters or position: the `kind` of [`NtkError::Layer`]
/// and [`NtkError::Rejected`]. The message says the same in words.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The input has the wrong kind of features for the layer (pixels where group features
    /// are needed, S² signals where SO(3) features are needed, ...).
    Layout,
    /// The input's size does not suit the layer: a filter or window larger than the image,
    /// a non-square image for a rotating group, a grid that is not Driscoll–Healy, two inputs
    /// of different bandlimits.
    Shape,
    /// The input lives on another group than the layer.
    GroupMismatch,
    /// A dual activation would see a non-Gaussian input (the network input or the output of
    /// a nonlinearity); a linear layer must come before it.
    NotGaussian,
    /// Parameters, activations or prepared inputs that were made for another network or
    /// another input shape.
    ForeignParameters,
    /// The branches between `fan_out`/`parallel` and a `fan_in_*` disagree (in number,
    /// layout, channels or shape), or a layer got several branches where it needs one.
    Branches,
    /// The layer cannot stand where it is (its position in the network, or a
    /// parameterisation it does not support).
    Placement,
    /// Anything else.
    Other,
}

/// What is wrong with the input arrays of an [`NtkError::Input`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputProblem {
    /// A value is NaN or infinite.
    NonFinite,
    /// Nothing to compute with: no inputs, an empty set, no channels or no values.
    Empty,
    /// Two arrays that must agree do not: `x1` and `x2`, a cotangent and the output,
    /// parameters and the network, a set's elements and the set, sets and their counts.
    Mismatch,
    /// An array of a shape the entry point does not accept (an SO(3) signal that is not
    /// `(N, 2L−1, 2L, 2L−1, C)`, set counts that do not fit the padded array, an input prepared
    /// by another layer).
    Shape,
    /// A setting other than the arrays is out of range (Monte-Carlo samples, quadrature degree).
    Argument,
}

impl NtkError {
    /// A [`NtkError::Input`] error of the given kind.
    pub fn input(kind: InputProblem, message: impl Into<String>) -> Self {
        NtkError::Input {
            kind,
            message: message.into(),
        }
    }
    /// The [`InputProblem`] of a [`NtkError::Input`]; `None` for every other error.
    pub fn input_problem(&self) -> Option<InputProblem> {
        match self {
            NtkError::Input { kind, .. } => Some(*kind),
            _ => None,
        }
    }
    /// A [`NtkError::Spec`] error of kind [`SpecErrorKind::Invalid`] with no path: a layer
    /// constructor refusing its settings.
    pub fn spec(message: impl Into<String>) -> Self {
        NtkError::Spec(SpecError {
            path: String::new(),
            kind: SpecErrorKind::Invalid,
            message: message.into(),
        })
    }
    /// The [`SpecError`] of a [`NtkError::Spec`]; `None` for every other error.
    pub fn spec_error(&self) -> Option<&SpecError> {
        match self {
            NtkError::Spec(e) => Some(e),
            _ => None,
        }
    }
    /// A [`NtkError::Layer`] error of kind [`Rejection::Other`].
    pub fn layer(index: usize, layer: &str, reason: impl Into<String>) -> Self {
        NtkError::Rejected {
            kind: Rejection::Other,
            reason: reason.into(),
        }
        .at_layer(index, || layer.to_string())
    }
    /// A [`NtkError::Rejected`] error of kind [`Rejection::Other`]: what a layer method returns
    /// when its input is unsuitable. [`NtkError::reject_as`] names the kind.
    pub fn reject(reason: impl Into<String>) -> Self {
        Self::reject_as(Rejection::Other, reason)
    }
    /// A [`NtkError::Rejected`] error of the given kind.
    pub fn reject_as(kind: Rejection, reason: impl Into<String>) -> Self {
        NtkError::Rejected {
            kind,
            reason: reason.into(),
        }
    }
    /// The kind of a layer's refusal ([`NtkError::Layer`] or [`NtkError::Rejected`]); `None`
    /// for every other error.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            NtkError::Layer { kind, .. } | NtkError::Rejected { kind, .. } => Some(*kind),
            _ => None,
        }
    }
    /// Locates an error raised inside the layer at `index` named `layer`: a
    /// [`NtkError::Rejected`] becomes [`NtkError::Layer`]; any other error (already located by
    /// an inner walker, or not about a layer) is returned unchanged.
    pub fn at_layer(self, index: usize, layer: impl FnOnce() -> String) -> Self {
        match self {
            NtkError::Rejected { kind, reason } => NtkError::Layer {
                index,
                layer: layer(),
                kind,
                reason,
            },
            other => other,
        }
    }
}

/// Result alias of the crate.
pub type Result<T, E = NtkError> = std::result::Result<T, E>;
