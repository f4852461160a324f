//! The head parameters' share of a network's NTK, Rao–Blackwellised over the tail layer's
//! backward weights ([`HeadShare`]).

use entk_ntk::{ArchSpec, Features, Kernel, LayerSpec, Network, Nonlinearity, Parameterization};

use crate::experiments::ExperimentError;

/// A zero-mean control variate for the head parameters' share `Θ̂_head` of a network's NTK,
/// for a tail `[linear layer L, nonlinearity φ₂, pool P, dense readout v]` (NTK
/// parameterisation).
///
/// With `a(x) = ∂f/∂h(x)` the backward signal at the head's output,
/// `a(x) = Lᵀ[φ₂′(z(x)) ⊙ Pᵀ v]` (`z = L h` the tail's pre-activations, `v_d` the readout weights
/// times `σ_v/√w`), the head's share is `Θ̂_head(x, x′) = Σ_c Σ_{p,p′} φ₁′(u_c(p)) φ₁′(u_c(p′))
/// Θ_u(p, p′) a_c(p; x) a_c(p′; x′)`. Its tail weights enter twice: in `z` (through `φ₂′`) and
/// in the backward map `Lᵀ`. Replacing the backward map's weights by an independent copy and
/// averaging over it gives
///
/// `Z(x, x′) = P[D̂ ⊙ S](x, x′)`, `D̂(r, r′) = w⁻¹ Σ_d σ_v² v_d² φ₂′(z_d(r; x)) φ₂′(z_d(r′; x′))`,
/// `S = A(Θ̂₁)`,
///
/// with `A` the tail layer's linear kernel map without its bias (`σ_w² ⊙` the filter average:
/// `E[∂z(r)/∂h ⊗ ∂z(r′)/∂h′]` contracted with any matrix), `Θ̂₁` the head's empirical NTK and
/// `P` the pool's kernel map (`v` standard normal, so `E[σ_v² v_d²] = σ_v²`). Given the head,
/// `z` is Gaussian with covariance `A(K̂₁) + σ_b²` and independent of `v`, so
/// `E[Z | head] = σ_v² P[K̇(A(K̂₁) + σ_b²) ⊙ A(Θ̂₁)] = T(K̂₁, Θ̂₁) − T₀(K̂₁)`, the tail's analytic
/// NTK with input kernels `(K̂₁, Θ̂₁)` minus the same with `(K̂₁, 0)`: exactly, for any width.
/// `Θ̂_head − Z` keeps the tail weights' shared randomness (`z` and `v` are the network's own).
/// With `X_{dd′}` the contraction of the backward weights of tail units `d` and `d′`
/// (`Σ_c ω_{dc} ω_{d′c}` over the layer's fan-in `C`, through `A`'s filter average), what is
/// left is, by counting terms (derived, not measured term by term):
///
/// - the readout's cross terms `w⁻¹ Σ_{d≠d′} σ_v² v_d v_d′ φ₂′(z_d(x)) φ₂′(z_{d′}(x′)) X_{dd′}`
///   (mean 0): `w²` terms of size `1/√C`, uncorrelated, so a fluctuation of order
///   `1/√C ∝ 1/√width`, the order of `Θ̂_head`'s own; the diagnostic that averages them out
///   over the readout's signs measured a further 3.0× (C4, width 16) and 2.5× (SO(3), width
///   8) lower noise;
/// - the diagonal's fluctuation `X_dd − E X_dd`: `w` terms, independent given the head, each
///   of sd `∝ 1/√C`, so sd `∝ 1/√(w·C)`, of order 1/width; its Stein correlation with `z`
///   shifts the mean (part of the bias, of order 1/width).
///
/// So `Θ̂_head − Z` still fluctuates as 1/√width, by a constant factor less than `Θ̂_head`, and
/// `Θ̂_head − Z + T(K̂₁, Θ̂₁)` has the same mean as `Θ̂_head + T₀(K̂₁)`.
pub(super) struct HeadShare {
    /// The tail's linear layer alone (its kernel map `A`, plus the bias).
    linear: Network,
    /// The fixed maps between the tail's nonlinearity and the readout (the pool).
    pool: Network,
    /// The tail's nonlinearity `φ₂`.
    phi: Nonlinearity,
    /// `σ_v` of the readout.
    readout_std: f64,
}

impl HeadShare {
    /// The control variate of `spec` split after layer `split`: the layers after the split
    /// must be a linear layer, a nonlinearity, one pooling layer and a dense readout, and the
    /// network must use the NTK parameterisation.
    pub(super) fn new(spec: &ArchSpec, split: usize) -> Result<Self, ExperimentError> {
        let shape = || {
            ExperimentError::Usage(
                "the NTK head share's control variate needs a tail of one linear layer, a nonlinearity, a pool and a dense readout (NTK parameterisation)".into(),
            )
        };
        let tail = spec.layers.get(split..).ok_or_else(shape)?;
        let [linear, LayerSpec::Nonlinear(phi), pool, LayerSpec::Dense(readout)] = tail else {
            return Err(shape());
        };
        let linear_ok = matches!(
            linear,
            LayerSpec::Dense(_)
                | LayerSpec::Conv { .. }
                | LayerSpec::GroupConv { .. }
                | LayerSpec::So3Conv { .. }
        );
        let pool_ok = matches!(
            pool,
            LayerSpec::GroupPool | LayerSpec::So3Pool | LayerSpec::GlobalAvgPool
        );
        if !linear_ok || !pool_ok || spec.parameterization != Parameterization::Ntk {
            return Err(shape());
        }
        let one = |l: &LayerSpec| {
            Network::from_spec(&ArchSpec {
                parameterization: spec.parameterization,
                layers: vec![l.clone()],
            })
        };
        Ok(HeadShare {
            linear: one(linear)?,
            pool: one(pool)?,
            phi: phi.build()?,
            readout_std: readout.w_std,
        })
    }

    /// The readout-weighted slopes `σ_v v_d φ₂′(z_d)` of one input's tail pre-activations `z`
    /// (channels last), `v` the readout's standard-normal weights (one per channel).
    pub(super) fn slopes(&self, z: &Features, v: &[f64]) -> Result<Features, ExperimentError> {
        let c = z.sig.channels;
        if c == 0 || !z.data.len().is_multiple_of(c) {
            return Err(ExperimentError::Usage(format!(
                "the tail's pre-activations have {} values, not a whole number of rows of {c} channels",
                z.data.len()
            )));
        }
        if v.len() != c {
            return Err(ExperimentError::Usage(format!(
                "the readout has {} weights for {c} channels",
                v.len()
            )));
        }
        let mut q = z.clone();
        for row in q.data.chunks_exact_mut(c) {
            for (e, vd) in row.iter_mut().zip(v) {
                *e = self.readout_std * vd * self.phi.derivative(*e);
            }
        }
        Ok(q)
    }

    /// `Z(x, x′)` for the head's empirical kernels `head = (K̂₁, Θ̂₁)` of the pair (only its
    /// NTK `Θ̂₁`, layout and channels are read) and `d = D̂`, the kernel (NNGP slot) of the two
    /// inputs' [`HeadShare::slopes`] (`Kernel::from_features` of them).
    pub(super) fn control(&self, head: &Kernel, d: Kernel) -> Result<f64, ExperimentError> {
        // `A(Θ̂₁)` through the layer's NTK slot: with input kernels `(0, Θ̂₁)` the output is
        // `(σ_b², σ_b² + A(Θ̂₁))` in the NTK parameterisation.
        let input = Kernel {
            layout: head.layout.clone(),
            nngp: vec![0.0; head.ntk.len()],
            ntk: head.ntk.clone(),
            channels: head.channels,
        };
        let s = self.linear.cross_kernel(input, &[], &[])?.to_full();
        if d.layout != s.layout || d.nngp.len() != s.nngp.len() {
            return Err(ExperimentError::Usage(
                "the tail layer's finite and analytic kernels have different layouts".into(),
            ));
        }
        let prod: Vec<f64> = s
            .ntk
            .iter()
            .zip(&s.nngp)
            .zip(&d.nngp)
            .map(|((t, b), dd)| (t - b) * dd)
            .collect();
        let len = prod.len();
        let k = self.pool.cross_kernel(
            Kernel {
                layout: d.layout,
                nngp: prod,
                ntk: vec![0.0; len],
                channels: d.channels,
            },
            &[],
            &[],
        )?;
        Ok(k.nngp[0])
    }
}
