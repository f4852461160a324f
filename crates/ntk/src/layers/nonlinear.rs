//! Pointwise nonlinearity layers.

use rand::RngCore;

use super::{Features, Layer, Params, SigMode, Signature};
use crate::error::Result;
use crate::layout::{Kernel, KernelCtx, Stream};
use crate::nonlin::Nonlinearity;

/// A pointwise nonlinearity `φ` (THEORY.md §3): `K ← E[φ(u)φ(v)]`, `Θ ← Θ ⊙ E[φ′(u)φ′(v)]`
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
            Nonlinearity::Relu | Nonlinearity::AbRelu { .. } | Nonlinearity::Identity
        )
    }
    fn gaussian(&self, index: usize, input: Stream<bool>) -> Result<Stream<bool>> {
        let gaussian = input.one(index, &self.name())?;
        if matches!(self.phi, Nonlinearity::Identity) {
            return Ok(Stream::One(gaussian));
        }
        if !gaussian {
            return Err(crate::error::NtkError::layer(
                index,
                &self.name(),
                "its input is not Gaussian (the network input, or the output of a nonlinearity, \
                 pooled or not), but the dual activation assumes Gaussian pre-activations; put a \
                 linear layer (dense, conv, lift_conv, group_conv, ...) before it",
            ));
        }
        Ok(Stream::One(false))
    }
    fn describe(&self) -> String {
        format!("{:?}", self.phi)
    }
    fn signature(
        &self,
        index: usize,
        input: Stream<Signature>,
        _: SigMode,
    ) -> Result<Stream<Signature>> {
        Ok(Stream::One(input.one(index, &self.name())?))
    }
    fn kernel(
        &self,
        index: usize,
        input: Stream<Kernel>,
        ctx: &mut KernelCtx<'_>,
    ) -> Result<Stream<Kernel>> {
        let mut k = input.one(index, &self.name())?;
        if matches!(self.phi, Nonlinearity::Identity) {
            return Ok(Stream::One(k));
        }
        let (d1, d2) = {
            let (a, b) = ctx.diagonals(&k);
            (a.into_owned(), b.into_owned())
        };
        // Dispatch once per layer so the per-entry loop is monomorphised and, for the branch-free
        // closed forms, vectorised.
        match &self.phi {
            Nonlinearity::Relu => map_rows(&mut k, &d1, &d2, crate::nonlin::relu_dual),
            &Nonlinearity::Erf { a, b, c } => map_rows(&mut k, &d1, &d2, move |k11, k22, k12| {
                crate::nonlin::erf_dual(a, b, c, k11, k22, k12)
            }),
            phi => map_rows(&mut k, &d1, &d2, |a, b, c| phi.dual(a, b, c)),
        }
        Ok(Stream::One(k))
    }
    fn records_diagonal(&self) -> bool {
        !matches!(self.phi, Nonlinearity::Identity)
    }
    fn init(&self, _: usize, _: &Stream<Signature>, _: &mut dyn RngCore) -> Result<Params> {
        Ok(Params::default())
    }
    fn apply(&self, index: usize, _: &Params, x: &Stream<Features>) -> Result<Stream<Features>> {
        let x = x.as_one(index, &self.name())?;
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: x.data.iter().map(|v| self.phi.apply(*v)).collect(),
        }))
    }
    fn vjp(
        &self,
        index: usize,
        _: &Params,
        x: &Stream<Features>,
        dy: &Stream<Features>,
        _: &mut Params,
    ) -> Result<Stream<Features>> {
        let x = x.as_one(index, &self.name())?;
        let dy = dy.as_one(index, &self.name())?;
        let data = x
            .data
            .iter()
            .zip(&dy.data)
            .map(|(u, g)| g * self.phi.derivative(*u))
            .collect();
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data,
        }))
    }
}

/// `K ← E[φφ]`, `Θ ← Θ·E[φ′φ′]` over all entries, variances from the diagonals.
#[inline(always)]
fn map_rows(k: &mut Kernel, d1: &[f64], d2: &[f64], dual: impl Fn(f64, f64, f64) -> (f64, f64)) {
    let (nngp, ntk) = (&mut k.nngp, &mut k.ntk);
    k.layout.for_each_row(|row| {
        let k11 = d1[row.d1];
        let kk = &mut nngp[row.offset..row.offset + row.len];
        let tt = &mut ntk[row.offset..row.offset + row.len];
        for ((kv, tv), k22) in kk
            .iter_mut()
            .zip(tt.iter_mut())
            .zip(&d2[row.d2..row.d2 + row.len])
        {
            let (a, b) = dual(k11, *k22, *kv);
            *kv = a;
            *tv *= b;
        }
    });
}
