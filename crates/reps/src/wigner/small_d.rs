//! Wigner small-d `d^l_{mn}(β)` by the three-term recursion in `l` (Kostelec–Rockmore).
//!
//! For fixed orders `(m, n)` the recursion starts at `l₀ = max(|m|, |n|)`, where `d^{l₀}_{mn}` is
//! a single monomial `±√C(2l₀, k) cos^a(β/2) sin^b(β/2)` evaluated in log space (no factorials,
//! no overflow or premature underflow), and then runs upwards:
//!
//! ```text
//! d^{l+1}_{mn} = (l+1)(2l+1) / √(((l+1)²−m²)((l+1)²−n²))
//!                · [ (cos β − mn/(l(l+1))) d^l_{mn} − √((l²−m²)(l²−n²))/(l(2l+1)) d^{l−1}_{mn} ]
//! ```
//!
//! (P. J. Kostelec and D. N. Rockmore, "FFTs on the rotation group", J. Fourier Anal. Appl. 14
//! (2008), eq. (2.9); the `l = 0` step is the Legendre one, `d¹₀₀ = cos β`.) The recursion is
//! forward-stable; the tests check orthogonality to 1e-10 at `l = 100`.

/// `ln k!` for `k = 0..=max`, summed with Neumaier compensation so that the entries are accurate
/// to a few ulps (they feed `exp` in the seeds).
#[derive(Debug, Clone)]
pub(crate) struct LogFactorials {
    table: Vec<f64>,
}

impl LogFactorials {
    pub(crate) fn new(max: usize) -> Self {
        let mut table = vec![0.0, 0.0];
        let (mut sum, mut compensation) = (0.0_f64, 0.0_f64);
        for k in 2..=max {
            let term = (k as f64).ln();
            let t = sum + term;
            compensation += if sum.abs() >= term.abs() {
                (sum - t) + term
            } else {
                (term - t) + sum
            };
            sum = t;
            table.push(sum + compensation);
        }
        table.truncate(max + 1);
        Self { table }
    }

    /// `ln k!`.
    fn get(&self, k: usize) -> f64 {
        self.table[k]
    }
}

/// The seed `d^{l₀}_{mn}(β) = sign · exp(log_norm) · cos^{cos_pow}(β/2) · sin^{sin_pow}(β/2)` at
/// `l₀ = max(|m|, |n|)`.
#[derive(Debug, Clone, Copy)]
struct Seed {
    log_norm: f64,
    cos_pow: u32,
    sin_pow: u32,
    negative: bool,
}

impl Seed {
    /// The four edge cases of Wigner's formula (a single term of the sum survives):
    /// `d^l_{l,n} = (−1)^{l−n} √C(2l,l+n) c^{l+n} s^{l−n}`, `d^l_{−l,n} = √C(2l,l+n) c^{l−n} s^{l+n}`,
    /// `d^l_{m,l} = √C(2l,l+m) c^{l+m} s^{l−m}`, `d^l_{m,−l} = (−1)^{l+m} √C(2l,l+m) c^{l−m} s^{l+m}`,
    /// with `c = cos(β/2)`, `s = sin(β/2)`.
    fn new(m: i64, n: i64, log_factorials: &LogFactorials) -> Self {
        let l0 = m.abs().max(n.abs());
        let (k, cos_pow, sin_pow, sign_exponent) = if m.abs() >= n.abs() {
            if m >= 0 {
                (l0 + n, l0 + n, l0 - n, l0 - n)
            } else {
                (l0 + n, l0 - n, l0 + n, 0)
            }
        } else if n > 0 {
            (l0 + m, l0 + m, l0 - m, 0)
        } else {
            (l0 + m, l0 - m, l0 + m, l0 + m)
        };
        let two_l0 = (2 * l0) as usize;
        let log_binomial = log_factorials.get(two_l0)
            - log_factorials.get(k as usize)
            - log_factorials.get(two_l0 - k as usize);
        Self {
            log_norm: 0.5 * log_binomial,
            cos_pow: cos_pow as u32,
            sin_pow: sin_pow as u32,
            negative: sign_exponent % 2 != 0,
        }
    }

    /// The seed at a half angle with `ln|cos(β/2)|`, `ln|sin(β/2)|` and their signs given.
    fn value(&self, half: &HalfAngle) -> f64 {
        let mut exponent = self.log_norm;
        let mut negative = self.negative;
        if self.cos_pow > 0 {
            exponent += self.cos_pow as f64 * half.ln_cos;
            negative ^= half.cos_negative && self.cos_pow % 2 == 1;
        }
        if self.sin_pow > 0 {
            exponent += self.sin_pow as f64 * half.ln_sin;
            negative ^= half.sin_negative && self.sin_pow % 2 == 1;
        }
        let magnitude = exponent.exp();
        if negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

/// `ln|cos(β/2)|`, `ln|sin(β/2)|` and the signs, shared by all seeds at one `β` (any real `β`).
struct HalfAngle {
    ln_cos: f64,
    ln_sin: f64,
    cos_negative: bool,
    sin_negative: bool,
}

impl HalfAngle {
    fn new(beta: f64) -> Self {
        let (s, c) = (0.5 * beta).sin_cos();
        Self {
            ln_cos: c.abs().ln(),
            ln_sin: s.abs().ln(),
            cos_negative: c < 0.0,
            sin_negative: s < 0.0,
        }
    }
}

/// One step `l → l+1` of the recursion for fixed `(m, n)`:
/// `d^{l+1} = a·(cos β − b)·d^l − c·d^{l−1}`.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    a: f64,
    b: f64,
    c: f64,
}

impl Step {
    fn new(l: i64, m: i64, n: i64) -> Self {
        let lp = l + 1;
        let a = (lp * (2 * l + 1)) as f64 / (((lp * lp - m * m) * (lp * lp - n * n)) as f64).sqrt();
        if l == 0 {
            // Only m = n = 0 reaches here: d¹₀₀ = cos β · d⁰₀₀.
            return Self { a, b: 0.0, c: 0.0 };
        }
        let b = (m * n) as f64 / (l * lp) as f64;
        let c = (((l * l - m * m) * (l * l - n * n)) as f64).sqrt() / (l * (2 * l + 1)) as f64;
        Self { a, b, c: a * c }
    }

    #[inline(always)]
    fn apply(&self, cos_beta: f64, current: f64, previous: f64) -> f64 {
        self.a * (cos_beta - self.b) * current - self.c * previous
    }
}

/// β-independent recursion data for `d^l_{mn}(β)` with one fixed `n` and every `m`, `l < L`.
///
/// [`FixedOrderRecursion::fill`] writes the `L × (2L−1)` array `out[l·(2L−1) + m + L − 1]`, which
/// is exactly one `n`-block of the SO(3) coefficient layout. Building costs `O(L²)` square roots,
/// filling `O(L²)` flops and `2L−1` exponentials per `β`.
#[derive(Debug, Clone)]
pub(crate) struct FixedOrderRecursion {
    bandlimit: usize,
    n: i64,
    /// Seeds of `m = −(L−1)..=L−1`, index `m + L − 1`; only those with `|m| ≤ |n|` or at the
    /// row `|m| > |n|` are used.
    seeds: Vec<Seed>,
    /// `steps[l·(2L−1) + m + L − 1]` is the step `l → l+1` (used for `l ≥ max(|m|, |n|)`).
    steps: Vec<Step>,
}

impl FixedOrderRecursion {
    /// Recursion data for order `n` (`|n| < L`, `L ≥ 1`).
    pub(crate) fn new(bandlimit: usize, n: i64, log_factorials: &LogFactorials) -> Self {
        assert!(
            bandlimit >= 1 && n.unsigned_abs() < bandlimit as u64,
            "order out of range"
        );
        let width = 2 * bandlimit - 1;
        let half = bandlimit as i64 - 1;
        let seeds = (-half..=half)
            .map(|m| Seed::new(m, n, log_factorials))
            .collect();
        let mut steps = vec![Step::default(); (bandlimit - 1) * width];
        for l in 0..bandlimit as i64 - 1 {
            for m in -l..=l {
                if n.abs() <= l {
                    steps[l as usize * width + (m + half) as usize] = Step::new(l, m, n);
                }
            }
        }
        Self {
            bandlimit,
            n,
            seeds,
            steps,
        }
    }

    /// Writes `out[l·(2L−1) + m + L − 1] = d^l_{mn}(β)` for `l < L`, `|m| < L` (zero where
    /// `l < max(|m|, |n|)`).
    pub(crate) fn fill(&self, beta: f64, out: &mut [f64]) {
        let bandlimit = self.bandlimit;
        let width = 2 * bandlimit - 1;
        let centre = bandlimit - 1;
        assert_eq!(
            out.len(),
            bandlimit * width,
            "d-table slice has the wrong length"
        );
        out.fill(0.0);
        let half = HalfAngle::new(beta);
        let cos_beta = beta.cos();
        let an = self.n.unsigned_abs() as usize;
        // Row l = |n|: every |m| ≤ |n| starts here.
        for m_index in centre - an..=centre + an {
            out[an * width + m_index] = self.seeds[m_index].value(&half);
        }
        for l in an..bandlimit - 1 {
            let (done, rest) = out.split_at_mut((l + 1) * width);
            let next = &mut rest[..width];
            let current = &done[l * width..];
            let steps = &self.steps[l * width..(l + 1) * width];
            if l == 0 {
                next[centre] = steps[centre].apply(cos_beta, current[centre], 0.0);
            } else {
                let previous = &done[(l - 1) * width..l * width];
                for m_index in centre - l..=centre + l {
                    next[m_index] =
                        steps[m_index].apply(cos_beta, current[m_index], previous[m_index]);
                }
            }
            // Row l + 1 > |n| starts the orders m = ±(l+1).
            next[centre - l - 1] = self.seeds[centre - l - 1].value(&half);
            next[centre + l + 1] = self.seeds[centre + l + 1].value(&half);
        }
    }
}

/// A single `d^l_{mn}(β)` by the recursion for one `(m, n)` pair: `O(l)` flops.
///
/// Standard (Wigner-formula, Sakurai) convention, `d^l_{mn}(β) = ⟨l m| e^{−iβJ_y} |l n⟩`, so that
/// `d¹₁₀(β) = −sin β/√2` and `d¹₁₁(β) = (1 + cos β)/2`. Returns `0` when `|m| > l` or `|n| > l`.
/// Any real `β` is accepted; a non-finite `β` gives NaN.
///
/// Laws (tested): `d^l_{mn}(β) = (−1)^{m−n} d^l_{nm}(β) = d^l_{−n,−m}(β)`,
/// `d^l_{mn}(−β) = d^l_{nm}(β)`, `Σ_n d^l_{mn}(β) d^l_{m′n}(β) = δ_{mm′}` and
/// `Σ_k d^l_{mk}(β₁) d^l_{kn}(β₂) = d^l_{mn}(β₁ + β₂)`.
pub fn wigner_small_d_entry(l: usize, m: i32, n: i32, beta: f64) -> f64 {
    let (m, n, l) = (m as i64, n as i64, l as i64);
    let l0 = m.abs().max(n.abs());
    if l0 > l {
        return 0.0;
    }
    let log_factorials = LogFactorials::new(2 * l0 as usize);
    let mut current = Seed::new(m, n, &log_factorials).value(&HalfAngle::new(beta));
    let mut previous = 0.0;
    let cos_beta = beta.cos();
    for k in l0..l {
        let next = Step::new(k, m, n).apply(cos_beta, current, previous);
        previous = current;
        current = next;
    }
    current
}

/// The `(2l+1) × (2l+1)` matrix `d^l(β)`, indexed `[m + l, n + l]`: `O(l³)` flops and `O(l²)`
/// memory.
///
/// Same convention and laws as [`wigner_small_d_entry`]; in matrix form `d^l(β)` is real
/// orthogonal, `d^l(β)ᵀ = d^l(−β)` and `d^l(β₁) d^l(β₂) = d^l(β₁ + β₂)`.
pub fn wigner_small_d(l: usize, beta: f64) -> nalgebra::DMatrix<f64> {
    let bandlimit = l + 1;
    let width = 2 * l + 1;
    let log_factorials = LogFactorials::new(2 * l);
    let mut buffer = vec![0.0; bandlimit * width];
    let mut d = nalgebra::DMatrix::zeros(width, width);
    for n in -(l as i64)..=l as i64 {
        FixedOrderRecursion::new(bandlimit, n, &log_factorials).fill(beta, &mut buffer);
        let column = (n + l as i64) as usize;
        for row in 0..width {
            d[(row, column)] = buffer[l * width + row];
        }
    }
    d
}

/// All `d^l_{mn}(β)` for `l < L`, `|m|, |n| ≤ l` at one `β`: the table the transforms and the
/// off-grid evaluation of SO(3) expansions use. `O(L³)` time and memory.
///
/// Storage is `[n + L − 1][l][m + L − 1]`, zero where `l < max(|m|, |n|)`. Convention and laws
/// as in [`wigner_small_d_entry`].
#[derive(Debug, Clone, PartialEq)]
pub struct WignerSmallDTable {
    bandlimit: usize,
    beta: f64,
    values: Vec<f64>,
}

impl WignerSmallDTable {
    /// The table for bandlimit `L ≥ 1` at a finite `β`.
    pub fn new(bandlimit: usize, beta: f64) -> Result<Self, crate::RepsError> {
        if bandlimit == 0 {
            return Err(entk_groups::GroupError::ZeroBandlimit.into());
        }
        if !beta.is_finite() {
            return Err(crate::RepsError::NonFinite {
                what: "Wigner d angle beta",
                index: 0,
            });
        }
        Ok(Self::compute(bandlimit, beta))
    }

    /// [`WignerSmallDTable::new`] without the checks (`L ≥ 1`; a non-finite `β` gives NaNs).
    pub(crate) fn compute(bandlimit: usize, beta: f64) -> Self {
        let width = 2 * bandlimit - 1;
        let block = bandlimit * width;
        let log_factorials = LogFactorials::new(2 * bandlimit);
        let mut values = vec![0.0; width * block];
        for (n_index, out) in values.chunks_mut(block).enumerate() {
            let n = n_index as i64 - (bandlimit as i64 - 1);
            FixedOrderRecursion::new(bandlimit, n, &log_factorials).fill(beta, out);
        }
        Self {
            bandlimit,
            beta,
            values,
        }
    }

    /// The bandlimit `L` (degrees `l < L`).
    pub fn bandlimit(&self) -> usize {
        self.bandlimit
    }

    /// The angle `β`.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// `d^l_{mn}(β)`; zero when `|m| > l` or `|n| > l`.
    ///
    /// # Panics
    /// If `l ≥ L` or `|m|, |n| ≥ L`.
    pub fn get(&self, l: usize, m: i32, n: i32) -> f64 {
        let width = 2 * self.bandlimit - 1;
        let centre = self.bandlimit as i64 - 1;
        assert!(
            l < self.bandlimit,
            "degree {l} out of range for bandlimit {}",
            self.bandlimit
        );
        let (mi, ni) = (m as i64 + centre, n as i64 + centre);
        assert!(
            (0..width as i64).contains(&mi) && (0..width as i64).contains(&ni),
            "order out of range"
        );
        self.values[(ni as usize * self.bandlimit + l) * width + mi as usize]
    }

    /// The `(2l+1) × (2l+1)` matrix `d^l(β)`, indexed `[m + l, n + l]`.
    ///
    /// # Panics
    /// If `l ≥ L`.
    pub fn degree(&self, l: usize) -> nalgebra::DMatrix<f64> {
        let li = l as i32;
        nalgebra::DMatrix::from_fn(2 * l + 1, 2 * l + 1, |r, c| {
            self.get(l, r as i32 - li, c as i32 - li)
        })
    }

    /// The raw storage `[n + L − 1][l][m + L − 1]`.
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }
}
