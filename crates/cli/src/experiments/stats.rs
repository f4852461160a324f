//! The statistics behind every Monte-Carlo or seed-dependent number of the experiments:
//! confidence intervals, the bootstrap, weighted least squares, and the rules that decide a
//! claim from intervals.
//!
//! Conventions (one place, used everywhere):
//!
//! - **Level.** Every interval is a two-sided 95 % interval ([`LEVEL`]).
//! - **Means over a few independent runs** (accuracies over seeds) use Student's t:
//!   `mean ± t_{0.975, n−1} · s/√n` ([`mean_estimate`]).
//! - **Everything else is bootstrapped over the independent units** (ensemble members, or
//!   antithetic pairs when members come in pairs): the statistic is recomputed on
//!   [`Bootstrap::resamples`] resamples drawn with replacement, and the interval is the 2.5 % and
//!   97.5 % percentiles of those replicates **re-centred on the estimate**: shifted by
//!   `estimate − mean(replicates)`. For a mean this shift is zero up to resampling noise (plain
//!   percentile interval); for a norm of a noisy mean, such as `‖mean K̂ − K‖`, the replicates sit
//!   systematically above the estimate (resampling adds its own noise to the mean, so
//!   `E*‖m* − K‖² = ‖m − K‖² + tr Σ̂/S`), and the plain percentile interval can miss its own
//!   estimate ("0.0033 [0.0051, 0.14]"); the re-centred one removes that bootstrap bias. The
//!   interval is finally widened, if need be, to contain the estimate (this only happens when the
//!   replicates are so skewed that their mean lies outside their own central 95 %; the widening
//!   is conservative).
//! - **Noise-corrected squared norms.** `‖E X‖²` is estimated without the noise floor by the
//!   U-statistic `‖x̄‖² − tr Σ̂/S` ([`debiased_sq_norm`]); its root is reported as
//!   `√max(0, ·)` with the interval mapped through the same monotone root, and the effect counts
//!   as *resolved above the noise* when the lower end of the squared interval is positive.
//! - **Slopes** are weighted least squares of `ln y` on `ln x` with weights `1/σ²`, `σ` the
//!   standard error of `ln y` from each point's interval ([`loglog_wls`]); the slope's standard
//!   error is the known-variance one, inflated by the Birge ratio `√(χ²/dof)` when the points
//!   scatter more than their errors allow, and the interval is `slope ± 1.96·SE`.
//! - **Decisions** ([`decide_less`], [`decide_slope`], [`decide_positive`]): a claim holds
//!   (`Some(true)`) only when the intervals are disjoint in the claimed direction, fails
//!   (`Some(false)`) when they are disjoint the other way (or the slope interval excludes the
//!   law), and is *not resolved* (`None`) otherwise. Overlapping intervals never give "yes".

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::report::{Series, Table};

/// Two-sided level of every interval.
pub const LEVEL: f64 = 0.95;

/// Bootstrap resamples of the experiments (Monte-Carlo error of a 2.5 % percentile from 2000
/// replicates ≈ 0.35 percentage points of coverage).
pub const RESAMPLES: usize = 2000;

/// A closed interval `[lo, hi]`, serialised as the JSON array `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 2]", into = "[f64; 2]")]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl From<[f64; 2]> for Interval {
    fn from(v: [f64; 2]) -> Self {
        Interval::new(v[0], v[1])
    }
}

impl From<Interval> for [f64; 2] {
    fn from(i: Interval) -> Self {
        [i.lo, i.hi]
    }
}

impl Interval {
    /// The interval between `a` and `b` (in either order).
    pub fn new(a: f64, b: f64) -> Self {
        if a <= b {
            Interval { lo: a, hi: b }
        } else {
            Interval { lo: b, hi: a }
        }
    }
    /// True when `x` lies in the interval.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
    /// True when every point of `self` lies below every point of `other`.
    pub fn below(&self, other: &Interval) -> bool {
        self.hi < other.lo
    }
    /// The smallest interval containing `self` and `x`.
    pub fn including(self, x: f64) -> Interval {
        Interval {
            lo: self.lo.min(x),
            hi: self.hi.max(x),
        }
    }
    /// The image under an increasing function.
    pub fn map(self, f: impl Fn(f64) -> f64) -> Interval {
        Interval::new(f(self.lo), f(self.hi))
    }
}

/// A number with its standard error and 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Its standard error.
    pub se: f64,
    /// Its 95 % interval (always contains `value`).
    pub ci: Interval,
}

impl Estimate {
    /// Relative standard error `se/|value|` (infinite for a zero estimate).
    pub fn relative_se(&self) -> f64 {
        if self.value == 0.0 {
            f64::INFINITY
        } else {
            self.se / self.value.abs()
        }
    }
    /// `value [lo, hi]` with `digits` significant digits.
    pub fn display(&self, digits: usize) -> String {
        use crate::report::sig;
        format!(
            "{} [{}, {}]",
            sig(self.value, digits),
            sig(self.ci.lo, digits),
            sig(self.ci.hi, digits)
        )
    }
    /// The image under an increasing function (standard error by the delta method, from the
    /// interval's half-width on the new scale).
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Estimate {
        let ci = self.ci.map(&f);
        Estimate {
            value: f(self.value),
            se: (ci.hi - ci.lo) / (2.0 * normal_quantile(0.5 + LEVEL / 2.0)),
            ci,
        }
    }
}

/// The standard normal quantile `Φ⁻¹(p)`, `0 < p < 1` (Acklam's rational approximation,
/// relative error < 1.2e-9, refined by one Halley step on `erfc` to ≈1e-15).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Halley step: e = Φ(x) − p.
    let e = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// The complementary error function, `erfc(x) = Q(½, x²)` for `x ≥ 0` (regularised upper
/// incomplete gamma function) and `2 − erfc(−x)` below.
fn erfc(x: f64) -> f64 {
    let q = upper_gamma_q(0.5, x * x);
    if x >= 0.0 {
        q
    } else {
        2.0 - q
    }
}

/// The regularised upper incomplete gamma function `Q(a, x) = Γ(a, x)/Γ(a)`: the power series
/// of `P = 1 − Q` for `x < a + 1`, Legendre's continued fraction (modified Lentz) otherwise.
fn upper_gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let log_front = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * log_front.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        log_front.exp() * h
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error ≈ 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.5203681218851,
        -1259.1392167224028,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507343278686905,
        -0.13857109526572012,
        9.984_369_578_019_572e-6,
        1.5056327351493116e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function `I_x(a, b)` (continued fraction, Lentz).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(b, a, 1.0 - x);
    }
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..100_000 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + num / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-16 {
            break;
        }
    }
    front * f / a
}

/// Student's t distribution function with `dof` degrees of freedom.
pub fn t_cdf(t: f64, dof: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(dof / 2.0, 0.5, dof / (dof + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Student's t quantile with `dof ≥ 1` degrees of freedom (bisection on [`t_cdf`]).
pub fn t_quantile(p: f64, dof: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let mut half = normal_quantile(p).abs().max(1.0);
    while t_cdf(half, dof) < p.max(1.0 - p) {
        half *= 2.0;
    }
    let (mut lo, mut hi) = (-half, half);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, dof) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * mid.abs().max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Mean of independent values with its standard error and 95 % Student-t interval
/// (`n ≥ 2`; with one value the standard error and interval are NaN).
pub fn mean_estimate(values: &[f64]) -> Estimate {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return Estimate {
            value: mean,
            se: f64::NAN,
            ci: Interval::new(f64::NAN, f64::NAN),
        };
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let se = (var / n).sqrt();
    let t = t_quantile(0.5 + LEVEL / 2.0, n - 1.0);
    Estimate {
        value: mean,
        se,
        ci: Interval::new(mean - t * se, mean + t * se),
    }
}

/// Percentile `q` in `[0, 1]` of a sample (linear interpolation; sorts a copy; NaN and ±∞ are
/// dropped).
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 < v.len() {
        v[i] * (1.0 - f) + v[i + 1] * f
    } else {
        v[i]
    }
}

/// A seeded nonparametric bootstrap over `units` independent units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootstrap {
    /// Number of resamples.
    pub resamples: usize,
    /// Seed of the resampling (ChaCha8).
    pub seed: u64,
}

impl Bootstrap {
    /// [`RESAMPLES`] resamples with this seed.
    pub fn new(seed: u64) -> Self {
        Bootstrap {
            resamples: RESAMPLES,
            seed,
        }
    }

    /// The multiplicities of the `units` units in each resample (each row sums to `units`).
    pub fn counts(&self, units: usize) -> Vec<Vec<u32>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        (0..self.resamples)
            .map(|_| {
                let mut c = vec![0u32; units];
                for _ in 0..units {
                    c[rng.random_range(0..units)] += 1;
                }
                c
            })
            .collect()
    }

    /// Estimates of several statistics at once. `stat(weights)` returns the statistics for
    /// unit weights (`1` for each unit on the original sample, the multiplicities on a
    /// resample); the result has one [`Estimate`] per statistic: the value on the original
    /// sample, the standard deviation of the replicates as standard error, and the re-centred
    /// percentile interval (module docs).
    pub fn estimates(&self, units: usize, stat: impl Fn(&[f64]) -> Vec<f64>) -> Vec<Estimate> {
        let values = stat(&vec![1.0; units]);
        let replicates = self.counts(units).into_iter().map(|c| stat(&weights(&c)));
        per_statistic(&values, self.resamples, replicates)
    }

    /// [`Bootstrap::estimates`] for several independent samples (strata) resampled separately:
    /// `stat` gets one weight vector per stratum.
    pub fn estimates_strata(
        &self,
        sizes: &[usize],
        stat: impl Fn(&[Vec<f64>]) -> Vec<f64>,
    ) -> Vec<Estimate> {
        let ones: Vec<Vec<f64>> = sizes.iter().map(|&n| vec![1.0; n]).collect();
        let values = stat(&ones);
        let counts: Vec<Vec<Vec<u32>>> = sizes
            .iter()
            .enumerate()
            .map(|(k, &n)| {
                Bootstrap {
                    resamples: self.resamples,
                    seed: self
                        .seed
                        .wrapping_add(0x51_7cc1_b727_220a_u64.wrapping_mul(k as u64)),
                }
                .counts(n)
            })
            .collect();
        let replicates = (0..self.resamples).map(|r| {
            let w: Vec<Vec<f64>> = counts.iter().map(|c| weights(&c[r])).collect();
            stat(&w)
        });
        per_statistic(&values, self.resamples, replicates)
    }

    /// [`Bootstrap::estimates`] of one statistic.
    pub fn estimate(&self, units: usize, stat: impl Fn(&[f64]) -> f64) -> Estimate {
        self.estimates(units, |w| vec![stat(w)])[0]
    }
}

/// Resample multiplicities as unit weights.
fn weights(counts: &[u32]) -> Vec<f64> {
    counts.iter().map(|&k| f64::from(k)).collect()
}

/// One [`Estimate`] per statistic from its `values` on the original sample and `replicates`
/// (all statistics on one resample per item, `resamples` items).
fn per_statistic(
    values: &[f64],
    resamples: usize,
    replicates: impl Iterator<Item = Vec<f64>>,
) -> Vec<Estimate> {
    let mut reps: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); values.len()];
    for stats in replicates {
        for (r, v) in reps.iter_mut().zip(stats) {
            r.push(v);
        }
    }
    values
        .iter()
        .zip(&reps)
        .map(|(&v, r)| from_replicates(v, r))
        .collect()
}

/// An [`Estimate`] from the estimate and its bootstrap replicates (module docs: re-centred
/// percentile interval, widened to contain the estimate).
pub fn from_replicates(value: f64, replicates: &[f64]) -> Estimate {
    let finite: Vec<f64> = replicates
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if finite.len() < 2 || !value.is_finite() {
        return Estimate {
            value,
            se: f64::NAN,
            ci: Interval::new(f64::NAN, f64::NAN),
        };
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let se = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let shift = value - mean;
    let a = (1.0 - LEVEL) / 2.0;
    let ci = Interval::new(
        percentile(&finite, a) + shift,
        percentile(&finite, 1.0 - a) + shift,
    )
    .including(value);
    Estimate { value, se, ci }
}

/// The weighted mean `Σ wᵢ xᵢ / Σ wᵢ` of vectors (rows of `rows`), as one vector.
pub fn weighted_mean(rows: &[&[f64]], weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut m = vec![0.0; rows.first().map_or(0, |r| r.len())];
    for (r, &w) in rows.iter().zip(weights) {
        if w != 0.0 {
            for (a, b) in m.iter_mut().zip(r.iter()) {
                *a += w * b;
            }
        }
    }
    m.iter_mut().for_each(|a| *a /= total);
    m
}

/// The unbiased estimate of `‖E x − c‖²` from draws `x_i` (rows of `rows`) with integer
/// weights `w_i` (multiplicities; all 1 for the sample itself): the U-statistic
/// `‖x̄ − c‖² − tr Σ̂ / S` with `S = Σ w_i` draws, `x̄` their mean and `Σ̂` their sample covariance
/// (denominator `S − 1`). Also returns the plug-in `‖x̄ − c‖²`, whose expectation carries the
/// noise floor `tr Σ / S`.
pub fn debiased_sq_norm(rows: &[&[f64]], weights: &[f64], c: &[f64]) -> (f64, f64) {
    debiased_sq_norm_groups(&[(rows, weights)], c)
}

/// [`debiased_sq_norm`] of a sum of means of independent samples: the unbiased estimate of
/// `‖Σ_g E x_g − c‖²` is `‖Σ_g x̄_g − c‖² − Σ_g tr Σ̂_g / S_g`. Each group is its rows and their
/// weights. Returns `(unbiased, plug-in)`.
pub fn debiased_sq_norm_groups(groups: &[(&[&[f64]], &[f64])], c: &[f64]) -> (f64, f64) {
    let mut total = c.iter().map(|v| -v).collect::<Vec<f64>>();
    let mut noise = 0.0;
    for (rows, weights) in groups {
        let s: f64 = weights.iter().sum();
        let mean = weighted_mean(rows, weights);
        let mut tr = 0.0;
        for (r, &w) in rows.iter().zip(weights.iter()) {
            if w != 0.0 {
                tr += w * r
                    .iter()
                    .zip(&mean)
                    .map(|(x, m)| (x - m).powi(2))
                    .sum::<f64>();
            }
        }
        noise += tr / (s - 1.0) / s;
        total.iter_mut().zip(&mean).for_each(|(t, m)| *t += m);
    }
    let plug: f64 = total.iter().map(|v| v * v).sum();
    (plug - noise, plug)
}

/// Samples needed for a relative standard error `target`, from a relative standard error
/// `relative_se` measured on `n` samples (standard errors fall as 1/√n); `usize::MAX` when the
/// measured one is not finite.
pub fn samples_needed(n: usize, relative_se: f64, target: f64) -> usize {
    let r = relative_se / target;
    if r.is_finite() {
        ((n as f64) * r * r).ceil().min(1e12) as usize
    } else {
        usize::MAX
    }
}

/// A weighted least-squares line `y = intercept + slope · x`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LineFit {
    /// Slope with its standard error and 95 % interval (module docs).
    pub slope: Estimate,
    /// Intercept.
    pub intercept: f64,
    /// `Σ wᵢ rᵢ²` of the residuals.
    pub chi2: f64,
    /// Degrees of freedom `n − 2`.
    pub dof: usize,
    /// The factor the known-variance standard error was multiplied by, `max(1, √(χ²/dof))`.
    pub scale: f64,
}

/// Weighted least squares of `y` on `x` with standard errors `sigma` (weights `1/σ²`). `None`
/// with fewer than two usable points (finite, `σ > 0`) or equal abscissae.
pub fn wls(x: &[f64], y: &[f64], sigma: &[f64]) -> Option<LineFit> {
    let pts: Vec<(f64, f64, f64)> = x
        .iter()
        .zip(y)
        .zip(sigma)
        .filter(|((a, b), s)| a.is_finite() && b.is_finite() && s.is_finite() && **s > 0.0)
        .map(|((a, b), s)| (*a, *b, 1.0 / (s * s)))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let sw: f64 = pts.iter().map(|p| p.2).sum();
    let mx = pts.iter().map(|p| p.2 * p.0).sum::<f64>() / sw;
    let my = pts.iter().map(|p| p.2 * p.1).sum::<f64>() / sw;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let chi2: f64 = pts
        .iter()
        .map(|p| p.2 * (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let dof = pts.len() - 2;
    let scale = if dof > 0 {
        (chi2 / dof as f64).sqrt().max(1.0)
    } else {
        1.0
    };
    let se = scale / sxx.sqrt();
    let z = normal_quantile(0.5 + LEVEL / 2.0);
    Some(LineFit {
        slope: Estimate {
            value: slope,
            se,
            ci: Interval::new(slope - z * se, slope + z * se),
        },
        intercept,
        chi2,
        dof,
        scale,
    })
}

/// The log-log slope of positive estimates against `x` by [`wls`]: `ln y` with standard error
/// `(ln hi − ln lo)/(2·1.96)` from each interval. Points whose interval reaches 0 (not resolved
/// above zero) carry no slope information on the log scale and are left out; the second value
/// lists the abscissae used.
pub fn loglog_wls(x: &[f64], y: &[Estimate]) -> (Option<LineFit>, Vec<f64>) {
    let z = normal_quantile(0.5 + LEVEL / 2.0);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let mut ss = Vec::new();
    for (&a, e) in x.iter().zip(y) {
        if a > 0.0 && e.value > 0.0 && e.ci.lo > 0.0 && e.ci.hi.is_finite() {
            xs.push(a.ln());
            ys.push(e.value.ln());
            ss.push((e.ci.hi.ln() - e.ci.lo.ln()) / (2.0 * z));
        }
    }
    let used = xs.iter().map(|v| v.exp()).collect();
    (wls(&xs, &ys, &ss), used)
}

/// "`a < b`" from two intervals: `Some(true)` when disjoint with `a` below, `Some(false)` when
/// disjoint with `a` above, `None` (not resolved) when they overlap.
pub fn decide_less(a: &Interval, b: &Interval) -> Option<bool> {
    if a.below(b) {
        Some(true)
    } else if b.below(a) {
        Some(false)
    } else {
        None
    }
}

/// "The slope follows the `law`" (e.g. −1 for 1/width): `Some(true)` when the interval contains
/// `law` and excludes 0, `Some(false)` when it excludes `law`, `None` when it contains both.
pub fn decide_slope(ci: &Interval, law: f64) -> Option<bool> {
    match (ci.contains(law), ci.contains(0.0)) {
        (true, false) => Some(true),
        (false, _) => Some(false),
        (true, true) => None,
    }
}

/// "The quantity is positive": `Some(true)` when the interval lies above 0, `Some(false)` when
/// below, `None` when it contains 0.
pub fn decide_positive(ci: &Interval) -> Option<bool> {
    if ci.lo > 0.0 {
        Some(true)
    } else if ci.hi < 0.0 {
        Some(false)
    } else {
        None
    }
}

/// A claim of the paper decided from intervals, as in the JSON `"claims"` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// What is claimed.
    pub claim: String,
    /// `true` / `false` when the intervals decide it, `null` when they do not or when there are
    /// too few samples for a verdict (the evidence says which).
    pub holds: Option<bool>,
    /// The numbers and the rule that decided it.
    pub evidence: String,
}

impl Claim {
    /// A claim with its verdict and evidence.
    pub fn new(claim: impl Into<String>, holds: Option<bool>, evidence: impl Into<String>) -> Self {
        Claim {
            claim: claim.into(),
            holds,
            evidence: evidence.into(),
        }
    }
    /// The verdict as printed in tables: `yes`, `NO`, `not resolved`.
    pub fn verdict(&self) -> &'static str {
        verdict(self.holds)
    }
    /// The claim as a table row: claim, verdict, evidence.
    pub fn row(&self) -> Vec<String> {
        vec![
            self.claim.clone(),
            self.verdict().into(),
            self.evidence.clone(),
        ]
    }
}

/// A curve of estimates over `xs` with their 95 % intervals as error bars.
pub fn interval_series(name: impl Into<String>, xs: &[f64], est: &[Estimate]) -> Series {
    Series::new(name, xs.to_vec(), est.iter().map(|e| e.value).collect()).with_band(
        est.iter().map(|e| e.ci.lo).collect(),
        est.iter().map(|e| e.ci.hi).collect(),
    )
}

/// The table of an experiment's claims, one [`Claim::row`] each.
pub fn claims_table(claims: &[Claim]) -> Table {
    let mut t = Table::new(
        "Claims, decided from the 95 % intervals",
        &["claim", "holds?", "evidence"],
    );
    for c in claims {
        t.push(c.row());
    }
    t
}

/// `yes`, `NO` or `not resolved`.
pub fn verdict(holds: Option<bool>) -> &'static str {
    match holds {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "not resolved",
    }
}

/// The conjunction of verdicts: false if any is false, otherwise unresolved if any is, otherwise
/// true.
pub fn all_hold(v: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let mut out = Some(true);
    for h in v {
        match h {
            Some(false) => return Some(false),
            None => out = None,
            Some(true) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    fn normals(rng: &mut rand_chacha::ChaCha8Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                mean + sd * z
            })
            .collect()
    }

    #[test]
    fn quantiles_match_tables() {
        // Abramowitz & Stegun 26.2 and 26.7 (Student t), to the digits tabulated.
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813).abs() < 1e-11);
        assert!(normal_quantile(0.5).abs() < 1e-15);
        assert!((t_quantile(0.975, 1.0) - 12.706_204_736_174_7).abs() < 1e-9);
        assert!((t_quantile(0.975, 4.0) - 2.776_445_105_197_8).abs() < 1e-10);
        assert!((t_quantile(0.975, 30.0) - 2.042_272_456_301_2).abs() < 1e-10);
        assert!((t_quantile(0.025, 9.0) + 2.262_157_162_740_99).abs() < 1e-10);
        assert!((t_quantile(0.975, 1e4) - 1.960_201_2).abs() < 1e-6);
        // Closed form for one degree of freedom: t = tan(π(p − ½)).
        let p: f64 = 0.9;
        assert!((t_quantile(p, 1.0) - (std::f64::consts::PI * (p - 0.5)).tan()).abs() < 1e-10);
    }

    #[test]
    fn the_t_interval_covers_a_normal_mean_95_percent_of_the_time() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let trials = 4000;
        let hits = (0..trials)
            .filter(|_| {
                mean_estimate(&normals(&mut rng, 5, 3.0, 2.0))
                    .ci
                    .contains(3.0)
            })
            .count();
        // Binomial SE of the coverage: √(0.95·0.05/4000) = 0.0034; allow 4 SE.
        let cov = hits as f64 / trials as f64;
        assert!((cov - 0.95).abs() < 0.014, "coverage {cov}");
    }

    #[test]
    fn the_bootstrap_interval_covers_a_normal_mean() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let trials = 800;
        let mut hits = 0;
        for t in 0..trials {
            let x = normals(&mut rng, 40, -1.0, 3.0);
            let boot = Bootstrap {
                resamples: 400,
                seed: t,
            };
            let e = boot.estimate(x.len(), |w| {
                x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w.iter().sum::<f64>()
            });
            assert!(e.ci.contains(e.value));
            // The bootstrap standard error of a mean is s·√((n−1)/n)/√n: close to 3/√40.
            assert!((e.se / (3.0 / 40f64.sqrt()) - 1.0).abs() < 0.5);
            hits += usize::from(e.ci.contains(-1.0));
        }
        // The percentile bootstrap of a mean of 40 normals covers ≈ 94 %; binomial SE of 800
        // trials 0.008; allow 4 SE around 0.94.
        let cov = hits as f64 / trials as f64;
        assert!((cov - 0.94).abs() < 0.035, "coverage {cov}");
    }

    #[test]
    fn the_debiased_squared_norm_is_unbiased_and_its_interval_contains_it() {
        // Draws x ~ N(μ, I) in 6 dimensions with ‖μ‖² = 0.09, S = 10: the plug-in ‖x̄‖² has
        // expectation 0.09 + 6/10 = 0.69, the U-statistic 0.09.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mu = [0.3, 0.0, 0.0, 0.0, 0.0, 0.0];
        let (trials, s) = (3000, 10);
        let (mut sum_u, mut sum_u2, mut sum_p) = (0.0, 0.0, 0.0);
        for t in 0..trials {
            let rows: Vec<Vec<f64>> = (0..s)
                .map(|_| {
                    mu.iter()
                        .map(|m| normals(&mut rng, 1, *m, 1.0)[0])
                        .collect()
                })
                .collect();
            let r: Vec<&[f64]> = rows.iter().map(|v| v.as_slice()).collect();
            let (u, p) = debiased_sq_norm(&r, &[1.0; 10], &[0.0; 6]);
            sum_u += u;
            sum_u2 += u * u;
            sum_p += p;
            if t < 50 {
                let e = Bootstrap {
                    resamples: 200,
                    seed: t,
                }
                .estimate(s, |w| debiased_sq_norm(&r, w, &[0.0; 6]).0);
                assert!(e.ci.contains(e.value), "{e:?}");
            }
        }
        let n = trials as f64;
        let mean_u = sum_u / n;
        let se_u = ((sum_u2 / n - mean_u * mean_u) / n).sqrt();
        assert!((mean_u - 0.09).abs() < 4.0 * se_u, "{mean_u} ± {se_u}");
        assert!((sum_p / n - 0.69).abs() < 0.05, "{}", sum_p / n);
    }

    #[test]
    fn the_grouped_debiased_norm_is_unbiased_for_a_sum_of_means() {
        // Two independent samples with means (0.2, 0) and (0.1, 0.1), sizes 5 and 12, unit
        // noise: ‖Σ means‖² = 0.09 + 0.01 = 0.1.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let (trials, mut sum, mut sum2) = (4000, 0.0, 0.0);
        // `n` vectors with unit-variance normal entries about `means`, drawn row by row.
        let sample = |rng: &mut rand_chacha::ChaCha8Rng, n: usize, means: [f64; 2]| {
            (0..n)
                .map(|_| means.map(|m| normals(rng, 1, m, 1.0)[0]).to_vec())
                .collect::<Vec<Vec<f64>>>()
        };
        for t in 0..trials {
            let a = sample(&mut rng, 5, [0.2, 0.0]);
            let b = sample(&mut rng, 12, [0.1, 0.1]);
            let ra: Vec<&[f64]> = a.iter().map(|v| v.as_slice()).collect();
            let rb: Vec<&[f64]> = b.iter().map(|v| v.as_slice()).collect();
            let (u, _) =
                debiased_sq_norm_groups(&[(&ra, &[1.0; 5]), (&rb, &[1.0; 12])], &[0.0, 0.0]);
            sum += u;
            sum2 += u * u;
            if t < 20 {
                let e = Bootstrap {
                    resamples: 200,
                    seed: t,
                }
                .estimates_strata(&[5, 12], |w| {
                    vec![debiased_sq_norm_groups(&[(&ra, &w[0]), (&rb, &w[1])], &[0.0, 0.0]).0]
                });
                assert!(e[0].ci.contains(e[0].value));
            }
        }
        let n = trials as f64;
        let (m, se) = (sum / n, ((sum2 / n - (sum / n).powi(2)) / n).sqrt());
        assert!((m - 0.1).abs() < 4.0 * se, "{m} ± {se}");
        assert_eq!(samples_needed(16, 0.4, 0.2), 64);
        assert_eq!(samples_needed(16, f64::INFINITY, 0.2), usize::MAX);
    }

    #[test]
    fn the_recentred_interval_contains_a_biased_statistic() {
        // The norm of a mean of pure noise: resampling adds noise, so every replicate lies
        // above the estimate; the plain percentile interval would miss it.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let rows: Vec<Vec<f64>> = (0..20).map(|_| normals(&mut rng, 50, 0.0, 1.0)).collect();
        let r: Vec<&[f64]> = rows.iter().map(|v| v.as_slice()).collect();
        let stat = |w: &[f64]| debiased_sq_norm(&r, w, &[0.0; 50]).1.sqrt();
        let value = stat(&[1.0; 20]);
        let boot = Bootstrap {
            resamples: 500,
            seed: 9,
        };
        let reps: Vec<f64> = boot
            .counts(20)
            .iter()
            .map(|c| stat(&c.iter().map(|&k| k as f64).collect::<Vec<_>>()))
            .collect();
        assert!(percentile(&reps, 0.025) > value, "plain percentile misses");
        let e = boot.estimate(20, stat);
        assert!(e.ci.contains(e.value) && e.ci.lo < value && value < e.ci.hi);
    }

    #[test]
    fn wls_matches_a_hand_computation() {
        // x = 0, 1, 2; y = 1, 2, 4; σ = 1, 1, 2 (weights 1, 1, ¼):
        // S = 9/4, Sx = 3/2, Sy = 4, Sxx = 2, Sxy = 4, Δ = S·Sxx − Sx² = 9/4;
        // slope = (S·Sxy − Sx·Sy)/Δ = 4/3, intercept = (Sxx·Sy − Sx·Sxy)/Δ = 8/9,
        // Var(slope) = S/Δ = 1, χ² = (1/9)² + (2/9)² + ¼(4/9)² = 1/9 < dof = 1: no inflation.
        let f = wls(&[0.0, 1.0, 2.0], &[1.0, 2.0, 4.0], &[1.0, 1.0, 2.0]).unwrap();
        assert!((f.slope.value - 4.0 / 3.0).abs() < 1e-14);
        assert!((f.intercept - 8.0 / 9.0).abs() < 1e-14);
        assert!((f.slope.se - 1.0).abs() < 1e-14);
        assert!((f.chi2 - 1.0 / 9.0).abs() < 1e-14);
        assert_eq!((f.dof, f.scale), (1, 1.0));
        let z = 1.959_963_984_540_054;
        assert!((f.slope.ci.lo - (4.0 / 3.0 - z)).abs() < 1e-9);
        // Scatter beyond the errors inflates the standard error by √(χ²/dof).
        let g = wls(&[0.0, 1.0, 2.0], &[1.0, 3.0, 1.0], &[0.1, 0.1, 0.1]).unwrap();
        assert!(g.scale > 1.0);
        assert!((g.slope.se - g.scale * 0.1 / 2f64.sqrt()).abs() < 1e-12);
        assert!(wls(&[1.0], &[1.0], &[1.0]).is_none());
        assert!(wls(&[1.0, 1.0], &[1.0, 2.0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn the_wls_slope_interval_covers_the_true_slope() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let x: Vec<f64> = (0..5).map(|i| (8.0 * 2f64.powi(i)).ln()).collect();
        let sigma = [0.05, 0.08, 0.1, 0.15, 0.2];
        let trials = 2000;
        let hits = (0..trials)
            .filter(|_| {
                let y: Vec<f64> = x
                    .iter()
                    .zip(&sigma)
                    .map(|(a, s)| 0.5 - a + normals(&mut rng, 1, 0.0, *s)[0])
                    .collect();
                wls(&x, &y, &sigma).unwrap().slope.ci.contains(-1.0)
            })
            .count();
        // The Birge inflation only widens: coverage ≥ 95 % − 4 SE (SE 0.005).
        let cov = hits as f64 / trials as f64;
        assert!(cov > 0.93 && cov < 0.995, "coverage {cov}");
    }

    #[test]
    fn loglog_wls_recovers_a_power_law_and_skips_unresolved_points() {
        let x = [8.0, 16.0, 32.0, 64.0];
        let y: Vec<Estimate> = x
            .iter()
            .map(|w: &f64| Estimate {
                value: 3.0 / w,
                se: 0.3 / w,
                ci: Interval::new(2.5 / w, 3.6 / w),
            })
            .chain(std::iter::once(Estimate {
                value: 0.01,
                se: 0.02,
                ci: Interval::new(-0.03, 0.05),
            }))
            .collect();
        let (fit, used) = loglog_wls(&[8.0, 16.0, 32.0, 64.0, 128.0], &y);
        let fit = fit.unwrap();
        assert!((fit.slope.value + 1.0).abs() < 1e-12);
        assert_eq!(used.len(), 4);
        assert!((used[3] - 64.0).abs() < 1e-9);
    }

    #[test]
    fn decisions_need_disjoint_intervals() {
        let a = Interval::new(0.1, 0.2);
        let b = Interval::new(0.3, 0.4);
        let c = Interval::new(0.15, 0.35);
        assert_eq!(decide_less(&a, &b), Some(true));
        assert_eq!(decide_less(&b, &a), Some(false));
        assert_eq!(decide_less(&a, &c), None);
        assert_eq!(decide_slope(&Interval::new(-1.3, -0.8), -1.0), Some(true));
        assert_eq!(decide_slope(&Interval::new(-1.3, 0.2), -1.0), None);
        assert_eq!(decide_slope(&Interval::new(-0.6, -0.3), -1.0), Some(false));
        assert_eq!(decide_positive(&Interval::new(-0.1, 0.2)), None);
        assert_eq!(decide_positive(&Interval::new(0.01, 0.2)), Some(true));
        assert_eq!(all_hold([Some(true), None]), None);
        assert_eq!(all_hold([None, Some(false)]), Some(false));
        assert_eq!(all_hold([Some(true), Some(true)]), Some(true));
        assert_eq!(verdict(None), "not resolved");
        let j = serde_json::to_value(Claim::new("x", None, "e")).unwrap();
        assert_eq!(j["holds"], serde_json::Value::Null);
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::json!([0.1, 0.2])
        );
    }
}
