//! Dual activations over many kernel entries at once, compiled for the vector level that
//! [`SimdLevel`] picks at run time.
//!
//! The closed forms of ReLU, ABReLU / LeakyReLU / Abs, Erf, GELU, Sign, Sin / Cos, Rbf,
//! Gaussian and Exp are branch-free (`atan_ratio`, `exp_branch_free`, selects), so the entry
//! loops below vectorise to 2 (baseline), 4 (AVX2) or 8 (AVX-512) lanes, with bitwise the same
//! results at every level and as [`Nonlinearity::dual`] entry by entry. The polynomial and the
//! rectified monomials have loops over their degree inside each entry; they run in chunks of
//! [`LANES`] entries with the degree loops outside and the lane loops inside
//! ([`PolynomialTable::dual_lanes`], [`ArcCosine::dual_lanes`]), which vectorise the same way;
//! so do the monomial and Hermite duals ([`SeriesTable::dual_lanes`], their terms tabulated
//! once per call and their powers by the same binary powering as the entry-by-entry dual).
//! The numerical (Gauss–Hermite) dual runs entry by entry (it allocates nothing per entry: its
//! rule is shared and its sums are scalars; each entry costs `2d²` calls of `φ` and `φ′`).

use std::f64::consts::FRAC_PI_2;

use super::closed::{ArcCosine, LanePair, PolynomialTable, SeriesTable};
use super::{abrelu_dual, closed, erf_dual, gelu_dual, relu_dual, Nonlinearity};
use crate::layout::{Layout, RowBlock};
use crate::simd::{SimdLevel, SimdOp};

/// Binds `$dual` to `φ`'s dual as a monomorphic `Fn(k11, k22, k12) -> (E[φφ], E[φ′φ′])` and
/// evaluates `$body` with it (one copy of `$body` per closed form, so each loop is compiled for
/// that form alone).
macro_rules! with_dual {
    ($phi:expr, $dual:ident => $body:expr) => {
        match $phi {
            Nonlinearity::Relu => {
                let $dual = relu_dual;
                $body
            }
            &Nonlinearity::AbRelu { a, b } => {
                let $dual = move |x, y, z| abrelu_dual(a, b, x, y, z);
                $body
            }
            Nonlinearity::Abs => {
                let $dual = |x, y, z| abrelu_dual(-1.0, 1.0, x, y, z);
                $body
            }
            &Nonlinearity::Erf { a, b, c } => {
                let $dual = move |x, y, z| erf_dual(a, b, c, x, y, z);
                $body
            }
            Nonlinearity::Gelu => {
                let $dual = gelu_dual;
                $body
            }
            Nonlinearity::Sign => {
                let $dual = closed::sign_dual;
                $body
            }
            &Nonlinearity::Sin { a, b, c } => {
                let cos2c = (2.0 * c).cos();
                let $dual = move |x, y, z| closed::sin_dual_cos2c(a, b, cos2c, x, y, z);
                $body
            }
            &Nonlinearity::Cos { a, b, c } => {
                let cos2c = (2.0 * (c + FRAC_PI_2)).cos();
                let $dual = move |x, y, z| closed::sin_dual_cos2c(a, b, cos2c, x, y, z);
                $body
            }
            &Nonlinearity::Rbf { gamma } => {
                let $dual = move |x, y, z| closed::rbf_dual(gamma, x, y, z);
                $body
            }
            &Nonlinearity::Gaussian { a, b } => {
                let $dual = move |x, y, z| closed::gaussian_dual(a, b, x, y, z);
                $body
            }
            &Nonlinearity::Exp { a, b } => {
                let $dual = move |x, y, z| closed::exp_dual(a, b, x, y, z);
                $body
            }
            Nonlinearity::Identity => {
                let $dual = |_: f64, _: f64, z: f64| (z, 1.0);
                $body
            }
            Nonlinearity::Polynomial { coef } => {
                let table = PolynomialTable::new(coef);
                let $dual = Lanes(&table);
                $body
            }
            Nonlinearity::RectifiedMonomial(r) => {
                let $dual = Lanes(r);
                $body
            }
            &Nonlinearity::Monomial { degree } => {
                let table = SeriesTable::monomial(degree);
                let $dual = Lanes(&table);
                $body
            }
            &Nonlinearity::Hermite { degree } => {
                let table = SeriesTable::hermite(degree);
                let $dual = Lanes(&table);
                $body
            }
            phi => {
                let $dual = move |x, y, z| phi.dual(x, y, z);
                $body
            }
        }
    };
}

/// Code generic over a dual activation, run with the monomorphic dual of a [`Nonlinearity`]
/// ([`Nonlinearity::visit_dual`]): each closed form gets its own compiled copy.
pub(crate) trait DualOp {
    /// What the code returns.
    type Output;
    /// Runs with the dual `(k11, k22, k12) ↦ (E[φφ], E[φ′φ′])` over runs of entries.
    fn call<D: RowDual + Copy>(self, dual: D) -> Self::Output;
}

/// A dual activation applied to runs of entries: `k ← E[φφ]`, `t ← t·E[φ′φ′]`. Closures
/// `Fn(k11, k22, k12) -> (E[φφ], E[φ′φ′])` go entry by entry; [`Lanes`] goes by chunks.
pub(crate) trait RowDual {
    /// One run of entries whose first variance is `k11` and second `k22[i]`.
    fn row(&self, k11: f64, k22: &[f64], k: &mut [f64], t: &mut [f64]);
    /// One run of entries with variances `k11[i]`, `k22[i]`.
    fn entries(&self, k11: &[f64], k22: &[f64], k: &mut [f64], t: &mut [f64]);
}

impl<D: Fn(f64, f64, f64) -> (f64, f64)> RowDual for D {
    #[inline(always)]
    fn row(&self, k11: f64, k22: &[f64], k: &mut [f64], t: &mut [f64]) {
        for ((kv, tv), k22) in k.iter_mut().zip(t.iter_mut()).zip(k22) {
            let (a, b) = self(k11, *k22, *kv);
            *kv = a;
            *tv *= b;
        }
    }
    #[inline(always)]
    fn entries(&self, k11: &[f64], k22: &[f64], k: &mut [f64], t: &mut [f64]) {
        for (((kv, tv), k11), k22) in k.iter_mut().zip(t.iter_mut()).zip(k11).zip(k22) {
            let (a, b) = self(*k11, *k22, *kv);
            *kv = a;
            *tv *= b;
        }
    }
}

/// Entries per chunk of a [`Lanes`] dual (the AVX-512 width; narrower levels split it).
pub(crate) const LANES: usize = 8;

/// A dual evaluated on [`LANES`] entries at once, each lane with the operations of one entry.
pub(crate) trait LaneDual {
    /// `(E[φφ], E[φ′φ′])` of each lane, for the lanes' `[k11, k22, k12]`.
    fn lanes(&self, k: [&[f64; LANES]; 3]) -> LanePair<LANES>;
}

impl LaneDual for PolynomialTable {
    #[inline(always)]
    fn lanes(&self, k: [&[f64; LANES]; 3]) -> LanePair<LANES> {
        self.dual_lanes(k)
    }
}

impl LaneDual for SeriesTable {
    #[inline(always)]
    fn lanes(&self, k: [&[f64; LANES]; 3]) -> LanePair<LANES> {
        self.dual_lanes(k)
    }
}

impl LaneDual for ArcCosine {
    #[inline(always)]
    fn lanes(&self, k: [&[f64; LANES]; 3]) -> LanePair<LANES> {
        self.dual_lanes(k)
    }
}

/// A [`LaneDual`] run over entries in chunks of [`LANES`]; the last chunk is padded with
/// unit variances and zero covariance, whose values are dropped.
pub(crate) struct Lanes<'a, L>(pub &'a L);

impl<L> Clone for Lanes<'_, L> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<L> Copy for Lanes<'_, L> {}

impl<L: LaneDual> Lanes<'_, L> {
    /// The chunk loop: `first(i)` and `second(i)` are entry `i`'s variances.
    #[inline(always)]
    fn run(
        &self,
        first: impl Fn(usize) -> f64,
        second: impl Fn(usize) -> f64,
        k: &mut [f64],
        t: &mut [f64],
    ) {
        let n = k.len().min(t.len());
        let mut at = 0;
        while at < n {
            let m = (n - at).min(LANES);
            let (mut a, mut b, mut c) = ([1.0; LANES], [1.0; LANES], [0.0; LANES]);
            for j in 0..m {
                a[j] = first(at + j);
                b[j] = second(at + j);
                c[j] = k[at + j];
            }
            let (kk, dd) = self.0.lanes([&a, &b, &c]);
            k[at..at + m].copy_from_slice(&kk[..m]);
            for (tv, d) in t[at..at + m].iter_mut().zip(&dd) {
                *tv *= d;
            }
            at += m;
        }
    }
}

impl<L: LaneDual> RowDual for Lanes<'_, L> {
    #[inline(always)]
    fn row(&self, k11: f64, k22: &[f64], k: &mut [f64], t: &mut [f64]) {
        self.run(|_| k11, |i| k22[i], k, t)
    }
    #[inline(always)]
    fn entries(&self, k11: &[f64], k22: &[f64], k: &mut [f64], t: &mut [f64]) {
        self.run(|i| k11[i], |i| k22[i], k, t)
    }
}

impl Nonlinearity {
    /// `k[i] ← E[φ(u)φ(v)]` and `t[i] ← t[i]·E[φ′(u)φ′(v)]` for the Gaussians
    /// `(k11[i], k22[i], k[i])`, compiled for `level` (or the widest level below it that the CPU
    /// has). Bitwise equal to [`Nonlinearity::dual`] entry by entry, at every level.
    ///
    /// # Panics
    /// When the four slices differ in length.
    pub fn dual_batch(
        &self,
        level: SimdLevel,
        k11: &[f64],
        k22: &[f64],
        k: &mut [f64],
        t: &mut [f64],
    ) {
        let n = k.len();
        assert!(
            k11.len() == n && k22.len() == n && t.len() == n,
            "dual_batch: slices of lengths {}, {}, {}, {}",
            k11.len(),
            k22.len(),
            n,
            t.len()
        );
        level.run(Entries {
            phi: self,
            k11,
            k22,
            k,
            t,
        })
    }

    /// Runs `op` with this nonlinearity's dual as a monomorphic closure (the same closure
    /// [`Nonlinearity::dual_batch`] and [`Nonlinearity::dual_layout`] use, so results are
    /// bitwise theirs).
    pub(crate) fn visit_dual<O: DualOp>(&self, op: O) -> O::Output {
        with_dual!(self, dual => op.call(dual))
    }

    /// [`Nonlinearity::dual_batch`] over a pair kernel in `layout`: the variances of entry `i`
    /// of row `r` are `d1[r.d1]` and `d2[r.d2 + i]`.
    ///
    /// Blocks of short rows (`h = 1`, fewer than [`SHORT_ROW`] entries a row: SO(3) kernels,
    /// whose rows have the `P` in-plane points of one grid) run as one flat loop over the whole
    /// block with each entry's variances spelled out, rather than row by row: a row of 30
    /// entries leaves a scalar tail of up to 7 entries that costs as much as a vector step,
    /// which made these duals about 1.6× slower per entry. Each entry's value is the same.
    pub(crate) fn dual_layout(
        &self,
        level: SimdLevel,
        layout: &Layout,
        d1: &[f64],
        d2: &[f64],
        nngp: &mut [f64],
        ntk: &mut [f64],
    ) {
        let (short, long): (Vec<RowBlock>, Vec<RowBlock>) = layout
            .row_blocks()
            .into_iter()
            .partition(|b| b.h == 1 && b.w < SHORT_ROW);
        if !long.is_empty() {
            level.run(Rows {
                phi: self,
                blocks: &long,
                d1,
                d2,
                nngp,
                ntk,
            });
        }
        if short.is_empty() {
            return;
        }
        let most = short.iter().map(|b| b.w * b.w).max().unwrap_or(0);
        let (mut k11, mut k22) = (crate::scratch::take(most), crate::scratch::take(most));
        for b in &short {
            let len = b.w * b.w;
            for j1 in 0..b.w {
                let row = b.row(0, 0, j1);
                let at = j1 * b.w..(j1 + 1) * b.w;
                k11[at.clone()].fill(d1[row.d1]);
                k22[at].copy_from_slice(&d2[row.d2..row.d2 + b.w]);
            }
            let range = b.offset..b.offset + len;
            self.dual_batch(
                level,
                &k11[..len],
                &k22[..len],
                &mut nngp[range.clone()],
                &mut ntk[range],
            );
        }
        crate::scratch::recycle(k11);
        crate::scratch::recycle(k22);
    }
}

/// Rows shorter than this run as one flat loop per block ([`Nonlinearity::dual_layout`]).
const SHORT_ROW: usize = 64;

/// The loop of [`Nonlinearity::dual_batch`].
struct Entries<'a> {
    phi: &'a Nonlinearity,
    k11: &'a [f64],
    k22: &'a [f64],
    k: &'a mut [f64],
    t: &'a mut [f64],
}

impl SimdOp for Entries<'_> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let Entries {
            phi,
            k11,
            k22,
            k,
            t,
        } = self;
        with_dual!(phi, dual => dual.entries(k11, k22, k, t))
    }
}

/// The loop of [`Nonlinearity::dual_layout`].
struct Rows<'a> {
    phi: &'a Nonlinearity,
    blocks: &'a [RowBlock],
    d1: &'a [f64],
    d2: &'a [f64],
    nngp: &'a mut [f64],
    ntk: &'a mut [f64],
}

impl SimdOp for Rows<'_> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let Rows {
            phi,
            blocks,
            d1,
            d2,
            nngp,
            ntk,
        } = self;
        with_dual!(phi, dual => {
            for b in blocks {
                for i1 in 0..b.h {
                    for i2 in 0..b.h {
                        for j1 in 0..b.w {
                            let row = b.row(i1, i2, j1);
                            let range = row.offset..row.offset + row.len;
                            dual.row(
                                d1[row.d1],
                                &d2[row.d2..row.d2 + row.len],
                                &mut nngp[range.clone()],
                                &mut ntk[range],
                            );
                        }
                    }
                }
            }
        })
    }
}
