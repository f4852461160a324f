//! The S² lifting kernel sampled at a finite set of rotations: the kernel of `s2_lift_conv`
//! onto a finite rotation group (docs/theory.md, "Lifting onto a finite rotation group").
//!
//! With real spherical harmonics `Y^real_{lm}` and real Wigner matrices
//! (`Y^real_l(Ru) = D^l(R) Y^real_l(u)`), the lifted feature of the finite layer is
//! `y(R) = σ_w/√(C|S|) Σ_c Σ_{l<L} Σ_{m,n} f̂_{c,lm} D^l_{mn}(R) κ̂_{c,ln} + σ_b b`
//! ([`super::S2LiftFinite`]) with filter coefficients of covariance `M` (the Gram matrix of the
//! real harmonics over the support `S`, `M = I` on the sphere). Its NNGP is therefore
//!
//! ```text
//! A[K⁰](R, R′) = |S|⁻¹ Σ_{a,b} K̂[a, b] · (W(R) M W(R′)ᵀ)[a, b],     K̂ = Hᵀ K⁰ H,
//! ```
//!
//! where `W(R)` is the block-diagonal `L²×L²` matrix of the `D^l(R)`, `a = (l, m)` runs over
//! degrees `l < L_out`, and `H[p, (l,m)] = w_p Y^real_{lm}(u_p)` is the quadrature projection on
//! the input grid (so `K̂` are the real harmonic coefficients of the input kernel in both slots;
//! for `K⁰ = C⁻¹ Σ_c x_c x′_c` it is `C⁻¹ Σ_c f̂_cᵀ f̂′_c`). On the whole sphere,
//! `W(R) W(R′)ᵀ = W(RR′⁻¹)`, so the kernel depends on `RR′⁻¹` only (right invariance).

use entk_groups::{DriscollHealyGrid, Rotation};
use entk_reps::real_wigner_d;
use nalgebra::DMatrix;
use std::f64::consts::PI;

use super::finite::{cap_gram, weighted_real_harmonics};
use super::{check_bandlimits, check_max_beta, So3Error};

/// The linear part `A[K⁰](R_s, R_t)` of the S² lifting kernel at given rotations (module
/// documentation).
#[derive(Debug, Clone)]
pub struct S2RotationLiftOperator {
    bandlimit_in: usize,
    bandlimit_out: usize,
    /// `w_p Y^real_{lm}(u_p)`, `P_in × L_out²`.
    weighted_harmonics: DMatrix<f64>,
    /// `W(R_s)` for every output rotation.
    wigner: Vec<DMatrix<f64>>,
    /// `M / |S|`.
    covariance: DMatrix<f64>,
    /// `M = I` (whole sphere): the kernel depends on `R R′⁻¹` only.
    whole_sphere: bool,
}

impl S2RotationLiftOperator {
    /// The operator from S² signals of bandlimit `L_in` to the rotations `rotations`, with the
    /// filter bandlimited to `L_out ≤ L_in` and supported on the cap `θ ≤ max_beta ∈ (0, π]`.
    pub fn new(
        bandlimit_in: usize,
        bandlimit_out: usize,
        max_beta: f64,
        rotations: &[Rotation],
    ) -> Result<Self, So3Error> {
        check_bandlimits(bandlimit_in, bandlimit_out)?;
        check_max_beta(max_beta)?;
        let grid = DriscollHealyGrid::new(bandlimit_in).map_err(entk_reps::RepsError::from)?;
        let lo = bandlimit_out;
        let whole_sphere = max_beta >= PI;
        let covariance = if whole_sphere {
            DMatrix::identity(lo * lo, lo * lo) / (4.0 * PI)
        } else {
            cap_gram(lo, max_beta) / (2.0 * PI * (1.0 - max_beta.cos()))
        };
        Ok(Self {
            bandlimit_in,
            bandlimit_out,
            weighted_harmonics: weighted_real_harmonics(&grid, lo),
            wigner: rotations.iter().map(|r| block_wigner(r, lo)).collect(),
            covariance,
            whole_sphere,
        })
    }

    /// `L_in`.
    pub fn bandlimit_in(&self) -> usize {
        self.bandlimit_in
    }
    /// `L_out`.
    pub fn bandlimit_out(&self) -> usize {
        self.bandlimit_out
    }
    /// True when the filter covers the whole sphere (the kernel is right-invariant).
    pub fn whole_sphere(&self) -> bool {
        self.whole_sphere
    }
    /// Number of output rotations.
    pub fn len(&self) -> usize {
        self.wigner.len()
    }
    /// True without output rotations.
    pub fn is_empty(&self) -> bool {
        self.wigner.is_empty()
    }

    /// The real quadrature coefficients `f̂_c = Σ_p w_p Y^real(u_p) x_c(u_p)` of a signal stored
    /// `(θ, φ, C)`, as a `C × L_out²` matrix.
    pub fn coefficients(&self, signal: &[f64], channels: usize) -> Result<DMatrix<f64>, So3Error> {
        let p = self.weighted_harmonics.nrows();
        super::check_signal_len(("S²", self.bandlimit_in, p), channels, signal.len())?;
        // Row-major (P, C) read column-major is the C × P matrix Xᵀ.
        Ok(nalgebra::DMatrixView::from_slice(signal, channels, p) * &self.weighted_harmonics)
    }

    /// `K̂ = C⁻¹ aᵀ b` from the coefficients of two signals.
    pub fn khat_from_coefficients(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
        a.tr_mul(b) / a.nrows() as f64
    }

    /// `K̂ = Hᵀ K⁰ H` from the input kernel `k0[p₁·P + p₂]` on the S² grid.
    pub fn khat_from_input_kernel(&self, k0: &[f64]) -> Result<DMatrix<f64>, So3Error> {
        let p = self.weighted_harmonics.nrows();
        super::check_kernel_len(p, self.bandlimit_in, k0.len())?;
        // Row-major k0 read column-major is K⁰ᵀ; Hᵀ K⁰ᵀ H = (Hᵀ K⁰ H)ᵀ.
        let k0_t = nalgebra::DMatrixView::from_slice(k0, p, p);
        let h = &self.weighted_harmonics;
        Ok((h.tr_mul(&(k0_t * h))).transpose())
    }

    /// `A[K⁰](R_s, R_t)` for each pair `(s, t)` of output-rotation indices.
    pub fn apply(&self, khat: &DMatrix<f64>, pairs: &[(usize, usize)]) -> Vec<f64> {
        // Σ_ab K̂[a,b] (W_s M W_tᵀ)[a,b] = Σ_cd (W_sᵀ K̂ W_t)[c,d] M[c,d] / |S|; precompute
        // K̂ W_t Mᵀ per t, then a Frobenius product with W_s.
        let mut per_t: Vec<Option<DMatrix<f64>>> = vec![None; self.wigner.len()];
        pairs
            .iter()
            .map(|&(s, t)| {
                let y = per_t[t]
                    .get_or_insert_with(|| khat * &self.wigner[t] * self.covariance.transpose());
                self.wigner[s].dot(y)
            })
            .collect()
    }
}

/// The block-diagonal `L²×L²` matrix of the real Wigner matrices `D^l(R)`, `l < L`, rows and
/// columns `(l, m) ↦ l² + l + m`.
fn block_wigner(rotation: &Rotation, bandlimit: usize) -> DMatrix<f64> {
    let n = bandlimit * bandlimit;
    let mut w = DMatrix::zeros(n, n);
    for l in 0..bandlimit {
        let d = real_wigner_d(l, rotation);
        w.view_mut((l * l, l * l), (2 * l + 1, 2 * l + 1))
            .copy_from(&d);
    }
    w
}
