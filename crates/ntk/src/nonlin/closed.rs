//! Closed-form duals of neural-tangents' remaining `stax` nonlinearities (docs/theory.md#nonlinearities-dual-activations).
//!
//! Every function returns `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])` for the centred Gaussian `(u, v)` with
//! covariance `[[k11, k12], [k12, k22]]`. Where neural-tangents 0.6.5 has a defect (Sign's
//! self-kernel after a pool, RectifiedMonomial at correlation 1, Hermite's unit-variance
//! assumption) these are the exact expectations, not neural-tangents' values; README.md lists
//! each difference.

use std::f64::consts::{FRAC_2_PI, PI};

use super::{atan2_right_half, atan_ratio, exp_branch_free};

/// `φ(u) = a·sin(b·u + c)`: with `Σ = k11 + k22`,
/// `E[φφ] = a²/2·(e^{b²(k12 − Σ/2)} − cos(2c)·e^{−b²(k12 + Σ/2)})`,
/// `E[φ′φ′] = a²b²/2·(e^{b²(k12 − Σ/2)} + cos(2c)·e^{−b²(k12 + Σ/2)})`.
///
/// The exponentials are [`exp_branch_free`], so loops over kernel entries vectorise.
pub fn sin_dual(a: f64, b: f64, c: f64, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    sin_dual_cos2c(a, b, (2.0 * c).cos(), k11, k22, k12)
}

/// [`sin_dual`] with `cos(2c)` given (the batch loops compute it once per layer).
#[inline(always)]
pub(crate) fn sin_dual_cos2c(
    a: f64,
    b: f64,
    cos2c: f64,
    k11: f64,
    k22: f64,
    k12: f64,
) -> (f64, f64) {
    let b2 = b * b;
    let half_sum = 0.5 * (k11 + k22);
    let s1 = exp_branch_free(b2 * (k12 - half_sum));
    let s2 = exp_branch_free(-b2 * (k12 + half_sum)) * cos2c;
    let h = 0.5 * a * a;
    (h * (s1 - s2), h * b2 * (s1 + s2))
}

/// `φ(u) = √2·sin(√(2γ)·u + π/4)`, whose NNGP is the RBF kernel
/// `E[φφ] = e^{−γ(k11 + k22 − 2k12)}` (`= exp(−γ‖x − x′‖²/d)` on a dense input), and
/// `E[φ′φ′] = 2γ·E[φφ]`.
#[inline(always)]
pub fn rbf_dual(gamma: f64, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let e = exp_branch_free(gamma * (2.0 * k12 - k11 - k22));
    (e, 2.0 * gamma * e)
}

/// `φ(u) = a·e^{b·u²}` (neural-tangents' `Gaussian`, default `b = −1`): with
/// `D = (1 − 2bk11)(1 − 2bk22) − 4b²k12²`, `E[φφ] = a²/√D` and
/// `E[φ′φ′] = 4a²b²·k12/D^{3/2}`. Finite only while `4b·k < 1` for every variance `k`
/// (always for `b ≤ 0`); callers check [`gaussian_domain`] first.
#[inline(always)]
pub fn gaussian_dual(a: f64, b: f64, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let d = (1.0 - 2.0 * b * k11) * (1.0 - 2.0 * b * k22) - 4.0 * b * b * k12 * k12;
    let root = d.max(0.0).sqrt();
    (
        a * a / root,
        4.0 * a * a * b * b * k12 / (root * root * root),
    )
}

/// `Err` with the reason when `a·e^{b·u²}` has no finite second moment at variance `max_var`
/// (`b > 0` and `4b·max_var ≥ 1`).
pub fn gaussian_domain(b: f64, max_var: f64) -> Result<(), String> {
    if b > 0.0 && 4.0 * b * max_var >= 1.0 {
        return Err(format!(
            "E[exp(2b·u²)] diverges: b = {b} needs every input variance below 1/(4b) = {}, got {max_var}",
            0.25 / b
        ));
    }
    Ok(())
}

/// `φ(u) = a·e^{b·u}`: `E[φφ] = a²·e^{b²(k11 + k22 + 2k12)/2}`, `E[φ′φ′] = b²·E[φφ]`.
#[inline(always)]
pub fn exp_dual(a: f64, b: f64, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let b2 = b * b;
    let e = a * a * exp_branch_free(b2 * (0.5 * (k11 + k22) + k12));
    (e, b2 * e)
}

/// `φ(u) = sign(u)`: `E[φφ] = (2/π)·atan2(k12, √(k11k22 − k12²))` (`= 1 − 2θ/π`), and 0 when
/// `k11·k22 = 0` (θ = π/2, docs/theory.md#nonlinearities-dual-activations). `E[φ′φ′] = 0`: neural-tangents' convention that the
/// derivative vanishes almost everywhere (the `2δ(u)` of the distributional derivative is
/// dropped), so a sign layer stops the NTK of everything below it.
/// Branch-free ([`atan2_right_half`], `s ≥ 0`).
#[inline(always)]
pub fn sign_dual(k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let prod = k11 * k22;
    let s = (prod - k12 * k12).max(0.0).sqrt();
    let v = FRAC_2_PI * atan2_right_half(k12, s);
    (if prod <= 0.0 { 0.0 } else { v }, 0.0)
}

/// `Σ_l l!·k12^l·H_l(k11)·H_l(k22)` and its `k12`-derivative `Σ_l l·l!·k12^{l−1}·H_l·H_l`, for a
/// `φ` whose expansion at variance `k` in the probabilists' Hermite polynomials of the
/// standardised variable is `φ(√k·x) = Σ_l k^{l/2} H_l(k) He_l(x)` (Mehler's formula, with
/// `E[He_l He_m] = l!·δ_lm`). By Price's theorem the derivative is `E[φ′(u)φ′(v)]`. Written
/// with `k12^l` instead of `ρ^l·(k11k22)^{l/2}`, there is no division: zero variances are fine.
fn hermite_series(
    n: usize,
    h: impl Fn(usize, f64) -> f64,
    k11: f64,
    k22: f64,
    k12: f64,
) -> (f64, f64) {
    let (mut kk, mut dd) = (0.0, 0.0);
    let (mut fact, mut pow, mut pow_prev) = (1.0, 1.0, 0.0);
    for l in 0..=n {
        if l > 0 {
            fact *= l as f64;
            pow_prev = pow;
            pow *= k12;
        }
        let hh = h(l, k11) * h(l, k22);
        kk += fact * pow * hh;
        dd += l as f64 * fact * pow_prev * hh;
    }
    (kk, dd)
}

/// `H_l(k)` of the polynomial `Σ_n coef[n]·uⁿ` (see [`hermite_series`]): from
/// `xⁿ = Σ_i n!/(l!·2^i·i!) He_l(x)`, `l = n − 2i`,
/// `H_l(k) = Σ_i coef[l+2i]·(l+2i)!/(l!·2^i·i!)·k^i`.
fn polynomial_h(coef: &[f64], l: usize, k: f64) -> f64 {
    let (mut sum, mut ratio, mut kp) = (0.0, 1.0, 1.0);
    let mut i = 0;
    while l + 2 * i < coef.len() {
        sum += coef[l + 2 * i] * ratio * kp;
        // (l+2i+2)!/(l!·2^{i+1}·(i+1)!) = previous · (l+2i+1)(l+2i+2)/(2(i+1)).
        ratio *= ((l + 2 * i + 1) * (l + 2 * i + 2)) as f64 / (2 * (i + 1)) as f64;
        kp *= k;
        i += 1;
    }
    sum
}

/// `φ(u) = Σ_n coef[n]·uⁿ` (neural-tangents' `Polynomial`, numpy's coefficient order): the
/// exact moments of the bivariate Gaussian through `hermite_series`. An empty list is `φ = 0`.
pub fn polynomial_dual(coef: &[f64], k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    if coef.is_empty() {
        return (0.0, 0.0);
    }
    hermite_series(
        coef.len() - 1,
        |l, k| polynomial_h(coef, l, k),
        k11,
        k22,
        k12,
    )
}

/// `(E[φφ], E[φ′φ′])` of `N` entries.
pub(crate) type LanePair<const N: usize> = ([f64; N], [f64; N]);

/// [`polynomial_dual`] prepared for many entries: the products `coef[l+2i]·(l+2i)!/(l!·2^i·i!)`
/// of [`polynomial_h`] tabulated once, so each entry's arithmetic is that of
/// [`polynomial_dual`], in the same order (bitwise its values).
#[derive(Debug, Clone)]
pub(crate) struct PolynomialTable {
    /// `h[l][i] = coef[l+2i]·ratio_{l,i}`, for `l = 0..coef.len()`.
    h: Vec<Vec<f64>>,
}

impl PolynomialTable {
    /// The table of `Σ_n coef[n]·uⁿ`.
    pub(crate) fn new(coef: &[f64]) -> Self {
        let h = (0..coef.len())
            .map(|l| {
                let (mut ratio, mut i, mut row) = (1.0, 0, Vec::new());
                while l + 2 * i < coef.len() {
                    row.push(coef[l + 2 * i] * ratio);
                    ratio *= ((l + 2 * i + 1) * (l + 2 * i + 2)) as f64 / (2 * (i + 1)) as f64;
                    i += 1;
                }
                row
            })
            .collect();
        PolynomialTable { h }
    }

    /// [`polynomial_dual`] of `N` entries, lane by lane (the loops over the degree are outside
    /// the loops over the lanes, which vectorise).
    #[inline(always)]
    pub(crate) fn dual_lanes<const N: usize>(&self, k: [&[f64; N]; 3]) -> LanePair<N> {
        series_lanes(self, k)
    }
}

impl LaneTerms for PolynomialTable {
    #[inline(always)]
    fn count(&self) -> usize {
        self.h.len()
    }
    #[inline(always)]
    fn h_pair<const N: usize>(&self, l: usize, k11: &[f64; N], k22: &[f64; N]) -> LanePair<N> {
        let (mut h1, mut h2) = ([0.0; N], [0.0; N]);
        let (mut p1, mut p2) = ([1.0; N], [1.0; N]);
        for c in &self.h[l] {
            for j in 0..N {
                h1[j] += c * p1[j];
                p1[j] *= k11[j];
                h2[j] += c * p2[j];
                p2[j] *= k22[j];
            }
        }
        (h1, h2)
    }
}

/// The terms `H_l(k11)`, `H_l(k22)` of a [`hermite_series`], `N` lanes at a time.
trait LaneTerms {
    /// How many terms (`l = 0..count`).
    fn count(&self) -> usize;
    /// `(H_l(k11), H_l(k22))` of each lane.
    fn h_pair<const N: usize>(&self, l: usize, k11: &[f64; N], k22: &[f64; N]) -> LanePair<N>;
}

/// [`hermite_series`] of `N` entries with the loop over the terms outside the loops over the
/// lanes (which vectorise), each lane's arithmetic in the entry-by-entry order.
#[inline(always)]
fn series_lanes<T: LaneTerms, const N: usize>(terms: &T, k: [&[f64; N]; 3]) -> LanePair<N> {
    let [k11, k22, k12] = k;
    let (mut kk, mut dd) = ([0.0; N], [0.0; N]);
    let (mut pow, mut pow_prev) = ([1.0; N], [0.0; N]);
    let mut fact = 1.0;
    for l in 0..terms.count() {
        if l > 0 {
            fact *= l as f64;
            pow_prev = pow;
            for j in 0..N {
                pow[j] *= k12[j];
            }
        }
        let (h1, h2) = terms.h_pair(l, k11, k22);
        let lf = l as f64 * fact;
        for j in 0..N {
            let hh = h1[j] * h2[j];
            kk[j] += fact * pow[j] * hh;
            dd[j] += lf * pow_prev[j] * hh;
        }
    }
    (kk, dd)
}

/// `φ(u) = uⁿ`: [`polynomial_dual`] with a single coefficient, written out
/// (`H_l(k) = n!/(l!·2^i·i!)·k^i` for `l = n − 2i`). Degree 2 gives `2k12² + k11k22`.
pub fn monomial_dual(n: usize, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let h = |l: usize, k: f64| match monomial_term(n, l) {
        Some((c, i)) => c * pow_int(k, i),
        None => 0.0,
    };
    hermite_series(n, h, k11, k22, k12)
}

/// The term `l` of [`monomial_dual`]'s `H_l(k) = c·k^i`: `(c, i)`, or `None` where it is 0
/// (`l > n` or `n − l` odd).
fn monomial_term(n: usize, l: usize) -> Option<(f64, usize)> {
    if l > n || (n - l) % 2 == 1 {
        return None;
    }
    let i = (n - l) / 2;
    // n!/(l!·2^i·i!) as a product of i factors (m+1)(m+2)/(2j) with m = l + 2(j−1).
    let mut c = 1.0;
    for j in 1..=i {
        let m = l + 2 * (j - 1);
        c *= ((m + 1) * (m + 2)) as f64 / (2 * j) as f64;
    }
    Some((c, i))
}

/// `φ(u) = He_n(u)/√n!` (neural-tangents' `Hermite`, probabilists' polynomials normalised to
/// unit norm under N(0, 1)). Exact at any variance, from
/// `He_n(√k·x) = Σ_i n!/(i!·l!)·k^{l/2}·((k − 1)/2)^i He_l(x)`, `l = n − 2i`:
/// `E[φφ] = Σ_i n!/(l!·(i!)²)·k12^l·((k11 − 1)/2)^i·((k22 − 1)/2)^i`, which is `k12ⁿ` at unit
/// variances (all neural-tangents computes) with no cancellation there.
pub fn hermite_dual(n: usize, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
    let root_n = fact(n).sqrt();
    let h = |l: usize, k: f64| match hermite_term(root_n, n, l) {
        Some((c, i)) => c * pow_int(0.5 * (k - 1.0), i),
        None => 0.0,
    };
    hermite_series(n, h, k11, k22, k12)
}

/// The term `l` of [`hermite_dual`]'s `H_l(k) = c·((k − 1)/2)^i`: `(c, i)` with
/// `c = n!/(√n!·i!·l!) = √n!/(i!·l!)` (`root_n = √n!`, [`fact`]`(n).sqrt()`, computed once by
/// the caller), or `None` where it is 0. O(1): the factorials are looked up.
fn hermite_term(root_n: f64, n: usize, l: usize) -> Option<(f64, usize)> {
    if l > n || (n - l) % 2 == 1 {
        return None;
    }
    let i = (n - l) / 2;
    Some((root_n / (fact(i) * fact(l)), i))
}

/// The factorials that are finite in f64, `FACTORIALS[m] = m!` (`0! … 170!`), each the
/// product `1·2·…·m` rounded after every factor, in that order.
const FACTORIALS: [f64; 171] = {
    let mut t = [1.0; 171];
    let mut m = 1;
    while m < t.len() {
        t[m] = t[m - 1] * m as f64;
        m += 1;
    }
    t
};

/// `m!` as the product `1·2·…·m` (left to right, rounded after every factor) gives it, from
/// [`FACTORIALS`]; `∞` past `170!`, where that product overflows.
fn fact(m: usize) -> f64 {
    FACTORIALS.get(m).copied().unwrap_or(f64::INFINITY)
}

/// `xⁱ` by binary powering, the order of multiplications of `f64::powi` (compiler-builtins'
/// `__powidf2`), written out so that [`SeriesTable::dual_lanes`] can repeat it lane by lane.
#[inline(always)]
fn pow_int(x: f64, i: usize) -> f64 {
    let (mut base, mut e, mut acc) = (x, i, 1.0);
    loop {
        if e & 1 == 1 {
            acc *= base;
        }
        e >>= 1;
        if e == 0 {
            return acc;
        }
        base *= base;
    }
}

/// [`monomial_dual`] or [`hermite_dual`] prepared for many entries: each term's `(c, i)`
/// tabulated once, so each lane's arithmetic is that of the entry-by-entry dual, in the same
/// order (bitwise its values); the loops over the terms and the powers are outside the loops
/// over the lanes, which vectorise.
#[derive(Debug, Clone)]
pub(crate) struct SeriesTable {
    /// `H_l`'s `(c, i)` for `l = 0..=n` (`None`: the term is 0).
    terms: Vec<Option<(f64, usize)>>,
    /// Hermite (`H_l` in `(k − 1)/2`) rather than monomial (`H_l` in `k`).
    hermite: bool,
}

impl SeriesTable {
    /// The table of `uⁿ`.
    pub(crate) fn monomial(n: usize) -> Self {
        SeriesTable {
            terms: (0..=n).map(|l| monomial_term(n, l)).collect(),
            hermite: false,
        }
    }

    /// The table of `He_n(u)/√n!`.
    pub(crate) fn hermite(n: usize) -> Self {
        let root_n = fact(n).sqrt();
        SeriesTable {
            terms: (0..=n).map(|l| hermite_term(root_n, n, l)).collect(),
            hermite: true,
        }
    }

    /// `H_l` of `N` lanes: `c·xⁱ` by [`pow_int`]'s multiplications, lane by lane.
    #[inline(always)]
    fn h_lanes<const N: usize>(&self, term: (f64, usize), k: &[f64; N]) -> [f64; N] {
        let (c, i) = term;
        let mut base = *k;
        if self.hermite {
            for b in &mut base {
                *b = 0.5 * (*b - 1.0);
            }
        }
        let (mut e, mut acc) = (i, [1.0; N]);
        loop {
            if e & 1 == 1 {
                for j in 0..N {
                    acc[j] *= base[j];
                }
            }
            e >>= 1;
            if e == 0 {
                break;
            }
            for b in &mut base {
                *b *= *b;
            }
        }
        for a in &mut acc {
            *a *= c;
        }
        acc
    }

    /// [`monomial_dual`] / [`hermite_dual`] of `N` entries, lane by lane ([`hermite_series`]'s
    /// loop with the lanes inside).
    #[inline(always)]
    pub(crate) fn dual_lanes<const N: usize>(&self, k: [&[f64; N]; 3]) -> LanePair<N> {
        series_lanes(self, k)
    }
}

impl LaneTerms for SeriesTable {
    #[inline(always)]
    fn count(&self) -> usize {
        self.terms.len()
    }
    #[inline(always)]
    fn h_pair<const N: usize>(&self, l: usize, k11: &[f64; N], k22: &[f64; N]) -> LanePair<N> {
        match self.terms[l] {
            Some(t) => (self.h_lanes(t, k11), self.h_lanes(t, k22)),
            None => ([0.0; N], [0.0; N]),
        }
    }
}

/// The arc-cosine kernel of degree `d` (Cho & Saul 2009): `φ(u) = 1{u ≥ 0}·u^d`,
/// `E[φφ] = (k11k22)^{d/2}/(2π)·J_d(ρ)`. Writing `J_d = P_d(ρ)·√(1−ρ²) + Q_d(ρ)·(π − θ)`
/// (`ρ = cos θ`), the recurrence
/// `P_{d+1} = (1−ρ²)P_d′ + 2dρP_d + Q_d`, `Q_{d+1} = (1−ρ²)Q_d′ + (2d+1)ρQ_d`,
/// `P_0 = 0`, `Q_0 = 1`, follows from `J_d = (1−ρ²)^{d+½} ∂_ρ^d [(π−θ)/√(1−ρ²)]`. This form
/// is finite at `ρ = ±1` (`J_d(1) = π(2d−1)!!`), where neural-tangents' `0·∞` gives NaN.
/// `E[φ′φ′] = d²·E[1{u≥0}u^{d−1}·1{v≥0}v^{d−1}]` (Price's theorem, `J_d′ = d²J_{d−1}`);
/// 0 for `d = 0` (the step's derivative vanishes a.e., as in neural-tangents).
#[derive(Debug, Clone, PartialEq)]
pub struct ArcCosine {
    /// The degree `d`.
    pub degree: usize,
    /// `(P_d, Q_d)` and `(P_{d−1}, Q_{d−1})` as coefficient lists in `ρ` (ascending).
    polys: [(Vec<f64>, Vec<f64>); 2],
}

impl ArcCosine {
    /// The kernel of degree `degree`.
    pub fn new(degree: usize) -> Self {
        let derivative = |p: &[f64]| -> Vec<f64> {
            p.iter()
                .enumerate()
                .skip(1)
                .map(|(i, c)| i as f64 * c)
                .collect()
        };
        // (1−ρ²)·p′ + m·ρ·p (+ extra), on ascending coefficients.
        let step = |p: &[f64], m: f64, extra: &[f64]| -> Vec<f64> {
            let dp = derivative(p);
            let mut out = vec![0.0; p.len() + 2];
            for (i, c) in dp.iter().enumerate() {
                out[i] += c;
                out[i + 2] -= c;
            }
            for (i, c) in p.iter().enumerate() {
                out[i + 1] += m * c;
            }
            for (i, c) in extra.iter().enumerate() {
                out[i] += c;
            }
            out
        };
        let (mut p, mut q) = (vec![0.0], vec![1.0]);
        let mut prev = (p.clone(), q.clone());
        for n in 0..degree {
            let np = step(&p, 2.0 * n as f64, &q);
            let nq = step(&q, (2 * n + 1) as f64, &[]);
            prev = (p, q);
            p = np;
            q = nq;
        }
        ArcCosine {
            degree,
            polys: [(p, q), prev],
        }
    }

    /// `J(ρ)` from `(P, Q)` at `ρ`, `√(1−ρ²)` and `π − θ`.
    fn j(pq: &(Vec<f64>, Vec<f64>), rho: f64, s: f64, phi: f64) -> f64 {
        let horner = |c: &[f64]| c.iter().rev().fold(0.0, |acc, v| acc * rho + v);
        horner(&pq.0) * s + horner(&pq.1) * phi
    }

    /// `(E[φ(u)φ(v)], E[φ′(u)φ′(v)])`; `θ = π/2` when `k11·k22 = 0` (docs/theory.md#nonlinearities-dual-activations), so that
    /// degree 0 gives 1/4 there, like the ReLU derivative. Branch-free: `π − θ` through
    /// [`atan_ratio`] and `(k11k22)^{d/2}` by products (and one square root for odd `d`), so
    /// the batch loops vectorise (the crate's lane kernel with one lane; within about 1e-15
    /// of [`ArcCosine::dual_reference`], relative to the entry's scale `(k11k22)^{d/2}`).
    pub fn dual(&self, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
        let (kk, dd) = self.dual_lanes([&[k11], &[k22], &[k12]]);
        (kk[0], dd[0])
    }

    /// [`ArcCosine::dual`] of `N` entries, each lane computed with the same operations as
    /// one entry (so every lane width gives bitwise the same values). The loops over the
    /// coefficients are outside the loops over the lanes, which vectorise.
    #[inline(always)]
    pub(crate) fn dual_lanes<const N: usize>(&self, k: [&[f64; N]; 3]) -> LanePair<N> {
        let [k11, k22, k12] = k;
        let (mut prod, mut rho, mut s, mut phi, mut root) =
            ([0.0; N], [0.0; N], [0.0; N], [0.0; N], [0.0; N]);
        for j in 0..N {
            let p = (k11[j] * k22[j]).max(0.0);
            let r = p.sqrt();
            let c = (k12[j] / r).clamp(-1.0, 1.0);
            let sj = (1.0 - c * c).max(0.0).sqrt();
            // π − θ = atan2(√(1−ρ²), −ρ) for √(1−ρ²) ≥ 0.
            let a = atan_ratio(sj, c.abs());
            let f = if c > 0.0 { PI - a } else { a };
            let pos = p > 0.0;
            prod[j] = p;
            root[j] = r;
            rho[j] = if pos { c } else { 0.0 };
            s[j] = if pos { sj } else { 1.0 };
            phi[j] = if pos { f } else { 0.5 * PI };
        }
        let d = self.degree;
        let kk = self.scaled_j::<N>(0, d, (&prod, &root), (&rho, &s, &phi), 1.0);
        let dd = if d == 0 {
            [0.0; N]
        } else {
            self.scaled_j::<N>(1, d - 1, (&prod, &root), (&rho, &s, &phi), (d * d) as f64)
        };
        (kk, dd)
    }

    /// `factor·(k11k22)^{e/2}/(2π)·J(ρ)` with `J` from `polys[which]`, lane by lane.
    #[inline(always)]
    fn scaled_j<const N: usize>(
        &self,
        which: usize,
        e: usize,
        (prod, root): (&[f64; N], &[f64; N]),
        (rho, s, phi): (&[f64; N], &[f64; N], &[f64; N]),
        factor: f64,
    ) -> [f64; N] {
        let (p, q) = &self.polys[which];
        let (mut hp, mut hq) = ([0.0; N], [0.0; N]);
        for c in p.iter().rev() {
            for j in 0..N {
                hp[j] = hp[j] * rho[j] + c;
            }
        }
        for c in q.iter().rev() {
            for j in 0..N {
                hq[j] = hq[j] * rho[j] + c;
            }
        }
        let mut pw = if e % 2 == 1 { *root } else { [1.0; N] };
        for _ in 0..e / 2 {
            for j in 0..N {
                pw[j] *= prod[j];
            }
        }
        let mut out = [0.0; N];
        for j in 0..N {
            out[j] = factor * pw[j] / (2.0 * PI) * (hp[j] * s[j] + hq[j] * phi[j]);
        }
        out
    }

    /// [`ArcCosine::dual`] written with libm's `atan2` and `powf`, the reference the
    /// branch-free form is tested against.
    pub fn dual_reference(&self, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
        let prod = (k11 * k22).max(0.0);
        let (rho, s, phi) = if prod > 0.0 {
            let rho = (k12 / prod.sqrt()).clamp(-1.0, 1.0);
            let s = (1.0 - rho * rho).max(0.0).sqrt();
            (rho, s, s.atan2(-rho))
        } else {
            (0.0, 1.0, 0.5 * PI)
        };
        let d = self.degree;
        let kk = prod.powf(0.5 * d as f64) / (2.0 * PI) * Self::j(&self.polys[0], rho, s, phi);
        let dd = if d == 0 {
            0.0
        } else {
            (d * d) as f64 * prod.powf(0.5 * (d - 1) as f64) / (2.0 * PI)
                * Self::j(&self.polys[1], rho, s, phi)
        };
        (kk, dd)
    }
}

/// `(He_n(u)/√n!, He_n′(u)/√n!)` by the recurrence `He_{k+1} = u·He_k − k·He_{k−1}` and
/// `He_n′ = n·He_{n−1}`.
pub fn hermite_value(n: usize, u: f64) -> (f64, f64) {
    let (mut prev, mut cur) = (0.0, 1.0); // He_{−1} := 0, He_0 = 1
    for k in 0..n {
        let next = u * cur - k as f64 * prev;
        prev = cur;
        cur = next;
    }
    let norm = (1..=n).map(|j| j as f64).product::<f64>().sqrt();
    (cur / norm, n as f64 * prev / norm)
}

#[cfg(test)]
mod tests {
    use super::{fact, pow_int};

    /// `pow_int` is `f64::powi` bit for bit (the scalar duals used `powi` before; the lanes
    /// repeat `pow_int`), on zeros, subnormals, overflow, infinities, NaN and ordinary values.
    #[test]
    fn pow_int_is_powi_bitwise() {
        let xs = [
            0.0,
            -0.0,
            -1.0,
            -0.5,
            -3.7,
            -1e-3,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1e-310,
            -2.5e-320,
            1e10,
            -1e10,
            1e160,
            -3e200,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            1.0,
            0.5,
            0.9999999999999999,
            1.0000000000000002,
            1.7,
            2.0,
            3.0,
            0.1,
            1e-3,
            12.345,
            -0.75,
        ];
        for x in xs {
            for i in 0..=32_usize {
                let (ours, libm) = (pow_int(x, i), x.powi(i as i32));
                assert!(
                    ours.to_bits() == libm.to_bits() || (ours.is_nan() && libm.is_nan()),
                    "pow_int({x:e}, {i}) = {ours:e}, powi {libm:e}"
                );
            }
        }
    }

    /// The factorial table is the running product it replaced, bit for bit, past overflow.
    #[test]
    fn factorial_table_is_the_product() {
        for m in 0..=200_usize {
            let product: f64 = (1..=m).map(|j| j as f64).product();
            assert_eq!(fact(m).to_bits(), product.to_bits(), "{m}!");
        }
        assert!(fact(170).is_finite() && fact(171).is_infinite());
    }
}
