//! Pointwise nonlinearity layers.

use super::FixedMap;
use super::{Batch, BatchGrad, Features, Layer, Params, SigMode, Signature};
use crate::error::{NtkError, Rejection, Result};
use crate::layout::{Kernel, KernelCtx, Stream};
use crate::nonlin::Nonlinearity;
use crate::simd::{SimdLevel, SimdOp};

/// A pointwise nonlinearity `φ` (docs/theory.md#nonlinearities-dual-activations): `K ← E[φ(u)φ(v)]`, `Θ ← Θ ⊙ E[φ′(u)φ′(v)]`
/// at every entry, with the variances read from the self-kernel diagonals. No parameters.
#[derive(Debug, Clone)]
pub struct Elementwise {
    /// The nonlinearity.
    pub phi: Nonlinearity,
}

impl Elementwise {
    /// The layer for `phi`.
    pub fn new(phi: Nonlinearity) -> Self {
        Elementwise { phi }
    }
}

impl Layer for Elementwise {
    fn name(&self) -> String {
        self.phi.name()
    }
    fn homogeneous(&self) -> bool {
        matches!(
            self.phi,
            Nonlinearity::Relu
                | Nonlinearity::AbRelu { .. }
                | Nonlinearity::Abs
                | Nonlinearity::Identity
        )
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        if matches!(self.phi, Nonlinearity::Identity) {
            return Ok(Stream::One(input.one()?));
        }
        gaussian_nonlinear(input)
    }
    fn describe(&self) -> String {
        self.phi.to_string()
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        Ok(Stream::One(input.one()?))
    }
    fn kernel(&self, input: Stream<Kernel>, ctx: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let mut k = input.one()?;
        if matches!(self.phi, Nonlinearity::Identity) {
            return Ok(Stream::One(k));
        }
        let (d1, d2) = {
            let (a, b) = ctx.diagonals(&k);
            (a.into_owned(), b.into_owned())
        };
        check_diagonals(&self.phi, &d1, &d2)?;
        let layout = k.layout.clone();
        self.phi.dual_layout(
            SimdLevel::current(),
            &layout,
            &d1,
            &d2,
            &mut k.nngp,
            &mut k.ntk,
        );
        Ok(Stream::One(k))
    }
    fn records_diagonal(&self) -> bool {
        !matches!(self.phi, Nonlinearity::Identity)
    }
    fn as_nonlinearity(&self) -> Option<&Nonlinearity> {
        (!matches!(self.phi, Nonlinearity::Identity)).then_some(&self.phi)
    }
    super::fixed_map_passes!();
    fn apply_batch(&self, _: &Params, x: &Batch) -> Result<Batch> {
        Ok(Batch {
            sig: x.sig.clone(),
            n: x.n,
            // ReLU inline (what `apply` computes), the others through the general map.
            data: match self.phi {
                Nonlinearity::Relu => x.data.iter().map(|v| v.max(0.0)).collect(),
                _ => x.data.iter().map(|v| self.phi.apply(*v)).collect(),
            },
        })
    }
    fn vjp_batch(&self, _: &Params, x: &Batch, dy: &Batch, _: BatchGrad) -> Result<Batch> {
        super::check_len("cotangents", dy.data.len(), x.data.len())?;
        let pairs = x.data.iter().zip(&dy.data);
        let data = match self.phi {
            Nonlinearity::Relu => pairs
                .map(|(u, g)| g * if *u > 0.0 { 1.0 } else { 0.0 })
                .collect(),
            _ => pairs.map(|(u, g)| g * self.phi.derivative(*u)).collect(),
        };
        Ok(Batch {
            sig: x.sig.clone(),
            n: x.n,
            data,
        })
    }
}

/// Refuses variances outside `phi`'s domain (the largest of the diagonals `d1`, `d2`).
pub(super) fn check_diagonals(phi: &Nonlinearity, d1: &[f64], d2: &[f64]) -> Result<()> {
    let max_var = d1.iter().chain(d2.iter()).fold(0.0f64, |m, v| m.max(*v));
    phi.check_variance(max_var).map_err(NtkError::reject)
}

impl FixedMap for Elementwise {
    fn forward(&self, x: &Features) -> Result<Features> {
        Ok(Features {
            sig: x.sig.clone(),
            data: x.data.iter().map(|v| self.phi.apply(*v)).collect(),
        })
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        let data = x
            .data
            .iter()
            .zip(&dy.data)
            .map(|(u, g)| g * self.phi.derivative(*u))
            .collect();
        Ok(Features {
            sig: x.sig.clone(),
            data,
        })
    }
}

/// `K ← E[φφ]`, `Θ ← Θ·E[φ′φ′]` of [`ExpNormalized`] over all entries, variances from the
/// diagonals, vectorised.
struct ExpNormalizedRows<'a> {
    this: ExpNormalized,
    k: &'a mut Kernel,
    d1: &'a [f64],
    d2: &'a [f64],
}

impl SimdOp for ExpNormalizedRows<'_> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        let (this, d1, d2) = (self.this, self.d1, self.d2);
        let (nngp, ntk) = (&mut self.k.nngp, &mut self.k.ntk);
        for b in self.k.layout.row_blocks() {
            for i1 in 0..b.h {
                for i2 in 0..b.h {
                    for j1 in 0..b.w {
                        let row = b.row(i1, i2, j1);
                        let k11 = d1[row.d1];
                        let kk = &mut nngp[row.offset..row.offset + row.len];
                        let tt = &mut ntk[row.offset..row.offset + row.len];
                        for ((kv, tv), k22) in kk
                            .iter_mut()
                            .zip(tt.iter_mut())
                            .zip(&d2[row.d2..row.d2 + row.len])
                        {
                            let (a, b) = this.dual(k11, *k22, *kv);
                            *kv = a;
                            *tv *= b;
                        }
                    }
                }
            }
        }
    }
}

/// [`Layer::gaussian`] of a nonlinearity: its dual activation needs Gaussian pre-activations,
/// and its output is not Gaussian.
fn gaussian_nonlinear(input: Stream<bool>) -> Result<Stream<bool>> {
    if !input.one()? {
        return Err(NtkError::reject_as(
            Rejection::NotGaussian,
            "its input is not Gaussian (the network input, or the output of a nonlinearity, \
             pooled or not), but the dual activation assumes Gaussian pre-activations; put a \
             linear layer (dense, conv, lift_conv, group_conv, ...) before it",
        ));
    }
    Ok(Stream::One(false))
}

/// neural-tangents' `ExpNormalized(gamma, shift, do_clip)`, the "Gaussian normalised kernel" of
/// Shankar et al. (2020): `K ← √(k11k22)·e^{γ(ρ + shift)}`, `Θ ← Θ·γ·e^{γ(ρ + shift)}` with
/// `ρ = k12/√(k11k22)` (clamped to [−1, 1] only with `do_clip`, as in neural-tangents), and 0
/// where `k11·k22 = 0` (neural-tangents gives `10⁻¹⁵·e^{γ·shift}` there).
///
/// It is not a pointwise map, so neural-tangents has no finite network for it. The finite twin
/// here normalises each position's channel vector: with `r = ‖x‖/√C` (the channel RMS),
/// `y_c = r·φ(x_c/r)`, `φ(t) = e^{√γ·t + γ(shift − 1)/2}`. At infinite width `r² → k11`, and
/// since `E[φ(s)φ(t)] = e^{γ(ρ + shift)}` for unit-variance `(s, t)` with correlation `ρ`, the
/// twin's NNGP is the kernel above; the derivative of `r` contributes `O(1/C)`, so its NTK
/// factor is `E[φ′φ′] = γ·e^{γ(ρ + shift)}` (tested by Monte Carlo).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpNormalized {
    /// `γ` (default 1).
    pub gamma: f64,
    /// `shift` (default −1).
    pub shift: f64,
    /// Clamp the correlation to [−1, 1] (default false).
    pub do_clip: bool,
}

impl ExpNormalized {
    /// `(K, Θ factor)` of one entry.
    /// Branch-free ([`crate::nonlin::exp_branch_free`]), so the layer's loop vectorises.
    #[inline(always)]
    pub fn dual(&self, k11: f64, k22: f64, k12: f64) -> (f64, f64) {
        let prod = k11 * k22;
        let r = prod.max(0.0).sqrt();
        let (root, mut rho) = if prod > 0.0 { (r, k12 / r) } else { (0.0, 0.0) };
        if self.do_clip {
            rho = rho.clamp(-1.0, 1.0);
        }
        let e = crate::nonlin::exp_branch_free(self.gamma * (rho + self.shift));
        (root * e, self.gamma * e)
    }
    fn phi(&self, t: f64) -> f64 {
        (self.gamma.sqrt() * t + 0.5 * self.gamma * (self.shift - 1.0)).exp()
    }
    /// The channel RMS `r = ‖x‖/√C` of one position.
    fn rms(block: &[f64]) -> f64 {
        (block.iter().map(|v| v * v).sum::<f64>() / block.len() as f64).sqrt()
    }
}

impl Layer for ExpNormalized {
    fn name(&self) -> String {
        "exp_normalized".into()
    }
    fn gaussian(&self, input: Stream<bool>) -> Result<Stream<bool>> {
        gaussian_nonlinear(input)
    }
    fn describe(&self) -> String {
        format!(
            "exp_normalized(gamma={}, shift={}, do_clip={})",
            self.gamma, self.shift, self.do_clip
        )
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        Ok(Stream::One(input.one()?))
    }
    fn kernel(&self, input: Stream<Kernel>, ctx: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let mut k = input.one()?;
        let (d1, d2) = {
            let (a, b) = ctx.diagonals(&k);
            (a.into_owned(), b.into_owned())
        };
        SimdLevel::current().run(ExpNormalizedRows {
            this: *self,
            k: &mut k,
            d1: &d1,
            d2: &d2,
        });
        Ok(Stream::One(k))
    }
    fn records_diagonal(&self) -> bool {
        true
    }
    super::fixed_map_passes!();
}

impl FixedMap for ExpNormalized {
    fn forward(&self, x: &Features) -> Result<Features> {
        let c = x.sig.channels.max(1);
        let mut data = Vec::with_capacity(x.data.len());
        for block in x.data.chunks(c) {
            let r = Self::rms(block);
            if r > 0.0 {
                data.extend(block.iter().map(|v| r * self.phi(v / r)));
            } else {
                data.extend(block.iter().map(|_| 0.0));
            }
        }
        Ok(Features {
            sig: x.sig.clone(),
            data,
        })
    }
    fn backward(&self, x: &Features, dy: &Features) -> Result<Features> {
        let c = x.sig.channels.max(1);
        let sg = self.gamma.sqrt();
        let mut data = Vec::with_capacity(x.data.len());
        for (block, g) in x.data.chunks(c).zip(dy.data.chunks(c)) {
            let r = Self::rms(block);
            if r > 0.0 {
                // y_c = r·φ(t_c), t_c = x_c/r, ∂r/∂x_k = x_k/(C·r), φ′ = √γ·φ:
                // dx_k = g_k·φ′(t_k) + x_k/(C·r)·Σ_c g_c·(φ(t_c) − t_c·φ′(t_c)).
                let mut acc = 0.0;
                for (v, gc) in block.iter().zip(g) {
                    let t = v / r;
                    let p = self.phi(t);
                    acc += gc * (p - t * sg * p);
                }
                let scale = acc / (c as f64 * r);
                data.extend(
                    block
                        .iter()
                        .zip(g)
                        .map(|(v, gc)| gc * sg * self.phi(v / r) + v * scale),
                );
            } else {
                data.extend(g.iter().map(|gc| gc * sg * self.phi(0.0)));
            }
        }
        Ok(Features {
            sig: x.sig.clone(),
            data,
        })
    }
}
