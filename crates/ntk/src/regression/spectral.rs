//! The spectral functions of gradient flow, evaluated stably at every eigenvalue.

/// Below this `x = λ·η·t` the filters use their Taylor series (avoids `expm1(-x)/x` losing
/// digits when `x` is subnormal; the truncation error is `< x⁴/120`).
const SERIES_BELOW: f64 = 1e-5;

/// `(1 − e^{−λ·s})/λ` with `s = η·t >= 0`: the gradient-flow filter that multiplies each
/// eigen-direction of `Θ(X,X)`, so that `μ_t(x) = Θ(x,X) U diag(flow_filter(λ_i, ηt)) Uᵀ Y`.
///
/// Finite for every `λ`: it tends to `s` as `λ → 0` (docs/theory.md#data-augmentation-and-group-convolution: a singular Gram matrix is
/// harmless at finite `t`). Negative `λ` (rounding in a PSD Gram matrix) is clamped to 0, as
/// docs/theory.md#prediction prescribes. Uses `expm1` for accuracy at small `λ·s`.
pub fn flow_filter(lambda: f64, s: f64) -> f64 {
    let lambda = lambda.max(0.0);
    let x = lambda * s;
    if x < SERIES_BELOW {
        s * (1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0)
    } else {
        -(-x).exp_m1() / lambda
    }
}

/// `1 − e^{−λ·s}` with `s = η·t >= 0` and `λ` clamped at 0: the fraction of the target reached
/// along an eigen-direction, so that the training-set prediction is
/// `f_t(X) = U diag(flow_fraction(λ_i, ηt)) Uᵀ Y` (equal to `λ · flow_filter(λ, s)`).
pub fn flow_fraction(lambda: f64, s: f64) -> f64 {
    -(-(lambda.max(0.0) * s)).exp_m1()
}
