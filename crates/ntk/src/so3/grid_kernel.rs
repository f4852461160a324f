//! Kernels between two signals on the SO(3) Driscoll–Healy grid, stored in Δγ-reduced form.

use entk_groups::So3Grid;
use std::f64::consts::PI;

/// The kernel `K(R, R′)` of one input pair on the SO(3) grid of bandlimit `L` (docs/conventions.md#so3:
/// points `(γ, β, α)`, `R = R_z(α)R_y(β)R_z(γ)`).
///
/// Every SO(3) layer (lifting, group convolution, pointwise nonlinearities) commutes with
/// `γ → γ + 2πk/(2L−1)` applied to both slots (a right translation by a grid-preserving
/// z-rotation; docs/theory.md#tested-properties, property 4), so `K` depends on `(γ₁, γ₂)` only through
/// `Δ = γ₁ − γ₂ (mod 2L−1)`. Storage is `[Δ][p₁][p₂]`, row-major, with the in-plane index
/// `p = β·(2L−1) + α` (β major, α fastest): `(2L−1)·P²` numbers for `P = 2L(2L−1)` instead of
/// `(2L−1)²P²`.
#[derive(Debug, Clone, PartialEq)]
pub struct So3PairKernel {
    bandlimit: usize,
    values: Vec<f64>,
}

/// One raw SO(3) signal stored `(γ, β, α, C)`, prepared for [`So3PairKernel::from_operands`]:
/// its `2L−1` γ-shifted `P × (2L−1)C` row matrices (rows `p`, columns `(γ, c)`, shift `Δ`
/// reading γ + Δ) and the transpose of the unshifted one. It holds `2L` copies of the signal.
#[derive(Debug, Clone)]
pub struct So3Operand {
    bandlimit: usize,
    channels: usize,
    shifted: Vec<nalgebra::DMatrix<f64>>,
    transposed: nalgebra::DMatrix<f64>,
}

impl So3Operand {
    /// The operand of signal `x` at bandlimit `L` with `channels` channels; `None` when `x`
    /// has the wrong length, `L = 0` or `channels = 0`.
    pub fn new(bandlimit: usize, x: &[f64], channels: usize) -> Option<Self> {
        if bandlimit == 0 || channels == 0 {
            return None;
        }
        let (d, _) = So3PairKernel::dims(bandlimit);
        let shifted: Vec<_> = (0..d)
            .map(|shift| shifted_rows(bandlimit, x, channels, shift))
            .collect::<Option<_>>()?;
        let transposed = shifted[0].transpose();
        Some(Self {
            bandlimit,
            channels,
            shifted,
            transposed,
        })
    }
}

/// The `P × (2L−1)C` rows of signal `x` (stored `(γ, β, α, C)`) read at γ + `shift` (the
/// [`So3Operand`] layout); `None` when `x` has the wrong length.
fn shifted_rows(
    bandlimit: usize,
    x: &[f64],
    channels: usize,
    shift: usize,
) -> Option<nalgebra::DMatrix<f64>> {
    let (d, p) = So3PairKernel::dims(bandlimit);
    (x.len() == d * p * channels).then(|| {
        nalgebra::DMatrix::from_fn(p, d * channels, |q, j| {
            let (g, c) = (j / channels, j % channels);
            x[(((g + shift) % d) * p + q) * channels + c]
        })
    })
}

impl So3PairKernel {
    /// All zeros at bandlimit `L`.
    pub fn zeros(bandlimit: usize) -> Self {
        let (d, p) = Self::dims(bandlimit);
        Self {
            bandlimit,
            values: vec![0.0; d * p * p],
        }
    }

    /// Wraps `[Δ][p₁][p₂]` values; `None` when the length is wrong.
    pub fn from_values(bandlimit: usize, values: Vec<f64>) -> Option<Self> {
        let (d, p) = Self::dims(bandlimit);
        (bandlimit > 0 && values.len() == d * p * p).then_some(Self { bandlimit, values })
    }

    /// The input kernel of two raw SO(3) signals stored `(γ, β, α, C)`, averaged over the grid's
    /// common γ-shifts: `K̄(R, R′) = (2L−1)⁻¹ Σ_k K⁰(R Z_k, R′ Z_k)` with
    /// `K⁰(R, R′) = (1/C) Σ_c x_c(R) x′_c(R′)` and `Z_k = R_z(2πk/(2L−1))`.
    ///
    /// `K⁰` itself is not γ-shift invariant, so it has no Δγ-reduced form; `K̄` is its
    /// projection onto the invariant kernels. The layers that may read a raw SO(3) input
    /// (`so3_conv`, whose region `β ≤ β_max` is invariant under left multiplication by
    /// z-rotations, and `so3_pool`) give the same output for `K⁰` and `K̄` (docs/theory.md).
    /// `None` when a slice has the wrong length or `channels = 0`.
    pub fn from_signals(bandlimit: usize, x1: &[f64], x2: &[f64], channels: usize) -> Option<Self> {
        // The second signal enters only through its unshifted rows' transpose.
        let first = So3Operand::new(bandlimit, x1, channels)?;
        let second = shifted_rows(bandlimit, x2, channels, 0)?.transpose();
        Some(Self::product(&first, &second))
    }

    /// [`So3PairKernel::from_signals`] of the signals of two operands (bitwise), `None` when
    /// their bandlimits or channel counts differ. Prepare each signal once to take the kernels
    /// of many pairs.
    pub fn from_operands(first: &So3Operand, second: &So3Operand) -> Option<Self> {
        let same = (second.bandlimit, second.channels) == (first.bandlimit, first.channels);
        same.then(|| Self::product(first, &second.transposed))
    }

    /// `K̄[Δ] = (1/(dC)) X₁ Π_Δ X₂ᵀ` from the first operand and the second signal's transposed
    /// unshifted rows `X₂ᵀ` (of the same bandlimit and channels).
    fn product(first: &So3Operand, second: &nalgebra::DMatrix<f64>) -> Self {
        let (bandlimit, channels) = (first.bandlimit, first.channels);
        // K̄[Δ] = (1/(dC)) X₁ Π_Δ X₂ᵀ, with Π_Δ rotating the γ blocks.
        let (d, p) = Self::dims(bandlimit);
        let scale = 1.0 / (d * channels) as f64;
        let mut values = vec![0.0; d * p * p];
        for (shifted, slab) in first.shifted.iter().zip(values.chunks_exact_mut(p * p)) {
            let product = shifted * second;
            for p1 in 0..p {
                for p2 in 0..p {
                    slab[p1 * p + p2] = product[(p1, p2)] * scale;
                }
            }
        }
        Self { bandlimit, values }
    }

    /// `(2L−1, 2L(2L−1))`: number of `Δ` values and of in-plane points.
    pub fn dims(bandlimit: usize) -> (usize, usize) {
        let a = 2 * bandlimit - 1;
        (a, 2 * bandlimit * a)
    }

    /// The bandlimit `L` of the grid.
    pub fn bandlimit(&self) -> usize {
        self.bandlimit
    }

    /// The raw `[Δ][p₁][p₂]` values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Mutable raw values.
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// The raw values, without a copy.
    pub(crate) fn into_values(self) -> Vec<f64> {
        self.values
    }

    /// `K(R, R′)` at grid points given as `(γ, β, α)` index triples.
    pub fn get(&self, first: [usize; 3], second: [usize; 3]) -> f64 {
        let (d, p) = Self::dims(self.bandlimit);
        let a = d;
        let delta = (first[0] + d - second[0] % d) % d;
        let p1 = first[1] * a + first[2];
        let p2 = second[1] * a + second[2];
        self.values[(delta * p + p1) * p + p2]
    }

    /// The position diagonal `K(R, R)` as a function of `p` (independent of `γ`).
    pub fn diagonal(&self) -> Vec<f64> {
        let (_, p) = Self::dims(self.bandlimit);
        (0..p).map(|i| self.values[i * p + i]).collect()
    }

    /// The full kernel in docs/conventions.md#so3's layout `(γ₁, γ₂, β₁, β₂, α₁, α₂)`, row-major.
    pub fn to_full(&self) -> Vec<f64> {
        let a = 2 * self.bandlimit - 1;
        let b = 2 * self.bandlimit;
        let mut out = Vec::with_capacity(a * a * b * b * a * a);
        for g1 in 0..a {
            for g2 in 0..a {
                for b1 in 0..b {
                    for b2 in 0..b {
                        for a1 in 0..a {
                            for a2 in 0..a {
                                out.push(self.get([g1, b1, a1], [g2, b2, a2]));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The Haar-pooled kernel `(8π²)⁻² Σ_{R,R′} w_R w_{R′} K(R, R′)` (docs/theory.md#the-so3-layers-in-fourier-space).
    pub fn pool(&self) -> f64 {
        let grid = So3Grid::new(self.bandlimit).expect("bandlimit ≥ 1");
        let (d, p) = Self::dims(self.bandlimit);
        let a = d;
        // The weight depends on β only: one evaluation per β row, not per point.
        let beta_weights: Vec<f64> = (0..grid.n_beta()).map(|j| grid.weight(j)).collect();
        let weights: Vec<f64> = (0..p).map(|i| beta_weights[i / a]).collect();
        let mut total = 0.0;
        for delta in 0..d {
            for p1 in 0..p {
                let row = &self.values[(delta * p + p1) * p..(delta * p + p1 + 1) * p];
                let inner: f64 = row.iter().zip(&weights).map(|(k, w)| k * w).sum();
                total += weights[p1] * inner;
            }
        }
        let volume = 8.0 * PI * PI;
        // Σ over (γ₁, γ₂) = (2L−1) Σ over Δ.
        total * d as f64 / (volume * volume)
    }

    /// `self ← scale·self + shift`, entrywise.
    pub fn scale_shift(&mut self, scale: f64, shift: f64) {
        self.values.iter_mut().for_each(|v| *v = scale * *v + shift);
    }
}
