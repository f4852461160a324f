//! Finite-width networks: exact empirical NNGP/NTK from the parameter Jacobian, and Monte-Carlo
//! averages over random initialisations (docs/theory.md#tested-properties, properties 7–8).
//!
//! For a network with outputs `f_o(x)(p)` (channel `o < C_out`, position `p`), the empirical
//! kernels are channel averages:
//! `K̂(x,x′)(p,p′) = C_out⁻¹ Σ_o f_o(x)(p) f_o(x′)(p′)` and
//! `Θ̂(x,x′)(p,p′) = C_out⁻¹ Σ_o ⟨∂_θ f_o(x)(p), ∂_θ f_o(x′)(p′)⟩`, the gradient taken with
//! respect to the parameters as stored (N(0,1) in NTK parameterisation). The Jacobian comes
//! from one reverse pass ([`Layer::vjp`](crate::Layer::vjp)) per output entry.

use ndarray::{Array2, ArrayView4, Axis};
use rayon::prelude::*;

use crate::error::InputProblem;
use crate::error::{NtkError, Result};
use crate::layers::{Features, Params};
use crate::layout::{Kernel, Layout};
use crate::network::{check_finite, image_features, Network};
use crate::spec::ArchSpec;

/// The Jacobian of all outputs of one sample: `(outputs, rows)` with one flattened gradient per
/// output entry, in the output's storage order (position-major, channel last).
pub fn jacobian(net: &Network, params: &Params, x: &Features) -> Result<(Features, Vec<Vec<f64>>)> {
    let y = net.apply(params, x)?;
    let mut rows = Vec::with_capacity(y.data.len());
    for e in 0..y.data.len() {
        let mut dy = Features::zeros(y.sig.clone());
        dy.data[e] = 1.0;
        rows.push(net.gradient(params, x, &dy)?.flatten());
    }
    Ok((y, rows))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The empirical NNGP and NTK of one pair in the layout of the output (`Scalar`,
/// `Pixels (H1,H2,W1,W2)`, `Group (G1,G2,H1,H2,W1,W2)`, or the Δγ-reduced `So3`, where pairs
/// with equal `γ₁ − γ₂` are averaged), averaged over output channels.
pub fn empirical_kernel_pair(
    net: &Network,
    params: &Params,
    x1: &Features,
    x2: &Features,
) -> Result<Kernel> {
    let (y1, j1) = jacobian(net, params, x1)?;
    let (y2, j2) = jacobian(net, params, x2)?;
    let c = y1.sig.channels;
    let layout = y1.sig.layout.clone();
    let np = y1.sig.positions();
    let mut nngp = vec![0.0; layout.len()];
    let mut ntk = vec![0.0; layout.len()];
    // Where the pair (p1, p2) of full output positions lands in the kernel layout, and with
    // which weight. The SO(3) layout is Δγ-reduced: the 2L−1 pairs sharing Δ = γ₁ − γ₂ are
    // averaged (exact for kernels that are Δγ-invariant, as every expected SO(3) kernel is).
    let index = |p1: usize, p2: usize| -> (usize, f64) {
        match &layout {
            Layout::Scalar => (0, 1.0),
            Layout::Pixels { h, w } => {
                let (i1, k1, i2, k2) = (p1 / w, p1 % w, p2 / w, p2 % w);
                (((i1 * h + i2) * w + k1) * w + k2, 1.0)
            }
            Layout::Group { group, h, w } => {
                let hw = h * w;
                let (s1, s2, q1, q2) = (p1 / hw, p2 / hw, p1 % hw, p2 % hw);
                let (i1, k1, i2, k2) = (q1 / w, q1 % w, q2 / w, q2 % w);
                (
                    (s1 * group.order + s2) * h * h * w * w + ((i1 * h + i2) * w + k1) * w + k2,
                    1.0,
                )
            }
            Layout::So3 { bandlimit } => {
                let (d, p) = crate::so3::So3PairKernel::dims(*bandlimit);
                let (g1, g2, q1, q2) = (p1 / p, p2 / p, p1 % p, p2 % p);
                let delta = (g1 + d - g2) % d;
                ((delta * p + q1) * p + q2, 1.0 / d as f64)
            }
            _ => unreachable!("finite outputs use full layouts"),
        }
    };
    if layout == Layout::Scalar {
        // A vector output: the kernel is the channel average of the single position.
        for o in 0..c {
            nngp[0] += y1.data[o] * y2.data[o] / c as f64;
            ntk[0] += dot(&j1[o], &j2[o]) / c as f64;
        }
    } else {
        for p1 in 0..np {
            for p2 in 0..np {
                let (mut a, mut b) = (0.0, 0.0);
                for o in 0..c {
                    a += y1.data[p1 * c + o] * y2.data[p2 * c + o];
                    b += dot(&j1[p1 * c + o], &j2[p2 * c + o]);
                }
                let (e, weight) = index(p1, p2);
                nngp[e] += weight * a / c as f64;
                ntk[e] += weight * b / c as f64;
            }
        }
    }
    Ok(Kernel {
        layout,
        nngp,
        ntk,
        channels: c,
    })
}

/// Empirical NNGP/NTK Gram matrices of a network with vector (pooled) outputs, averaged over
/// output channels. `x2 = None` means `x1` (result exactly symmetric).
pub fn empirical_gram(
    net: &Network,
    params: &Params,
    x1: ArrayView4<f64>,
    x2: Option<ArrayView4<f64>>,
) -> Result<(Array2<f64>, Array2<f64>)> {
    let (f1, f2) = image_batches(x1, x2)?;
    empirical_gram_features(net, params, &f1, f2.as_deref())
}

/// Two batches of images as [`Features`], after checking that they are finite.
#[allow(clippy::type_complexity)]
fn image_batches(
    x1: ArrayView4<f64>,
    x2: Option<ArrayView4<f64>>,
) -> Result<(Vec<Features>, Option<Vec<Features>>)> {
    check_finite("x1", &x1)?;
    if let Some(x2) = &x2 {
        check_finite("x2", x2)?;
    }
    let images = |x: ArrayView4<f64>| -> Vec<Features> {
        x.axis_iter(Axis(0)).map(image_features).collect()
    };
    Ok((images(x1), x2.map(images)))
}

/// [`empirical_gram`] for inputs given as [`Features`] (SO(3) signals, vectors, …).
pub fn empirical_gram_features(
    net: &Network,
    params: &Params,
    x1: &[Features],
    x2: Option<&[Features]>,
) -> Result<(Array2<f64>, Array2<f64>)> {
    type OutputsAndJacobian = (Vec<f64>, Vec<Vec<f64>>);
    let grads = |x: &[Features]| -> Result<Vec<OutputsAndJacobian>> {
        x.iter()
            .map(|f| {
                let (y, j) = jacobian(net, params, f)?;
                if y.sig.layout != Layout::Scalar {
                    return Err(NtkError::spec(format!(
                        "empirical_gram needs pooled outputs, got {}",
                        y.sig.layout
                    )));
                }
                Ok((y.data, j))
            })
            .collect()
    };
    let g1 = grads(x1)?;
    let g2 = match x2 {
        Some(x2) => grads(x2)?,
        None => g1.clone(),
    };
    let (n1, n2) = (g1.len(), g2.len());
    let mut k = Array2::zeros((n1, n2));
    let mut t = Array2::zeros((n1, n2));
    for i in 0..n1 {
        for j in 0..n2 {
            if x2.is_none() && j < i {
                k[[i, j]] = k[[j, i]];
                t[[i, j]] = t[[j, i]];
                continue;
            }
            let c = g1[i].0.len();
            k[[i, j]] = dot(&g1[i].0, &g2[j].0) / c as f64;
            t[[i, j]] = (0..c).map(|o| dot(&g1[i].1[o], &g2[j].1[o])).sum::<f64>() / c as f64;
        }
    }
    Ok((k, t))
}

/// Monte-Carlo estimate of the NNGP and NTK Gram matrices at a finite width.
#[derive(Debug, Clone, PartialEq)]
pub struct MonteCarlo {
    /// Mean empirical NNGP.
    pub nngp: Array2<f64>,
    /// Mean empirical NTK.
    pub ntk: Array2<f64>,
    /// Standard error of the NNGP mean (sample std / √samples).
    pub nngp_stderr: Array2<f64>,
    /// Standard error of the NTK mean.
    pub ntk_stderr: Array2<f64>,
    /// Hidden width used.
    pub width: usize,
    /// Number of initialisations.
    pub samples: usize,
}

/// Averages the empirical kernels of `samples` networks built from `spec` at hidden width
/// `width` ([`ArchSpec::with_width`]), initialised with seeds `seed, seed+1, …` (ChaCha8).
/// Samples run in parallel; the reduction is sequential, so results are reproducible.
pub fn monte_carlo_gram(
    spec: &ArchSpec,
    width: usize,
    samples: usize,
    seed: u64,
    x1: ArrayView4<f64>,
    x2: Option<ArrayView4<f64>>,
) -> Result<MonteCarlo> {
    let (f1, f2) = image_batches(x1, x2)?;
    monte_carlo_gram_features(spec, width, samples, seed, &f1, f2.as_deref())
}

/// [`monte_carlo_gram`] for inputs given as [`Features`] (SO(3) signals, vectors, …), all of the
/// signature of `x1[0]`.
pub fn monte_carlo_gram_features(
    spec: &ArchSpec,
    width: usize,
    samples: usize,
    seed: u64,
    x1: &[Features],
    x2: Option<&[Features]>,
) -> Result<MonteCarlo> {
    if samples < 2 {
        return Err(NtkError::input(
            InputProblem::Argument,
            "monte_carlo_gram needs at least 2 samples for a standard error",
        ));
    }
    let Some(first) = x1.first() else {
        return Err(NtkError::input(InputProblem::Empty, "x1 is empty"));
    };
    let net = Network::from_spec(&spec.with_width(width))?;
    let sig = first.sig.clone();
    let draws: Vec<(Array2<f64>, Array2<f64>)> = (0..samples as u64)
        .into_par_iter()
        .map(|s| {
            let params = net.init_seeded(&sig, seed.wrapping_add(s))?;
            empirical_gram_features(&net, &params, x1, x2)
        })
        .collect::<Result<_>>()?;
    let n = samples as f64;
    type Draw = (Array2<f64>, Array2<f64>);
    let stats = |pick: fn(&Draw) -> &Array2<f64>| {
        let mut m = Array2::<f64>::zeros(pick(&draws[0]).dim());
        for d in &draws {
            m += pick(d);
        }
        m /= n;
        let mut v = Array2::<f64>::zeros(m.dim());
        for d in &draws {
            let e = pick(d) - &m;
            v += &(&e * &e);
        }
        let se = (v / (n - 1.0) / n).mapv(f64::sqrt);
        (m, se)
    };
    let (nngp, nngp_stderr) = stats(|d| &d.0);
    let (ntk, ntk_stderr) = stats(|d| &d.1);
    Ok(MonteCarlo {
        nngp_stderr,
        ntk_stderr,
        nngp,
        ntk,
        width,
        samples,
    })
}
