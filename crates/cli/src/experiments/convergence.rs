//! `entk experiment convergence`: the mean empirical NNGP/NTK of finite networks approaches the
//! analytic kernel as the width grows (THEORY.md §9 item 8), for a C4 GCNN and, when the SO(3)
//! layers are available, for an SO(3) network.
//!
//! For each width `w`, `S` networks are drawn (seeds `seed, seed+1, …`), every hidden layer and
//! the readout of width `w`. Per network:
//!
//! - empirical NNGP `K̂(x,x′) = w⁻¹ Σ_o f_o(x) f_o(x′)` (readout channels averaged, so it
//!   concentrates like the hidden layers);
//! - empirical NTK `Θ̂(x,x′) = ⟨∂_θ f_0(x), ∂_θ f_0(x′)⟩` of the first output (one reverse pass
//!   per input).
//!
//! The error of the mean is `‖mean_S K̂ − K‖_F / ‖K‖_F` with a percentile bootstrap confidence
//! interval over the `S` networks (resampling networks with replacement). Its expectation is
//! `√(bias² + variance/S)` with bias ∝ 1/w and variance ∝ 1/w, so `S` grows with the width
//! (`S = samples · w / w_min`, capped at `max_samples`): then both terms fall like 1/w and the
//! fitted log-log slope of the error against the width should be ≈ −1. The table also gives the
//! debiased bias estimate `√max(0, ‖mean − K‖² − Σ var/S)/‖K‖` (0 when the bias is below the
//! noise).

use std::time::Instant;

use ndarray::{Array2, Array4, Axis};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use entk_datasets::mnist::embedded_mnist_sample;
use entk_ntk::{image_features, ArchSpec, Features, LayerSpec, Network};

use super::common::{announce, gram, loglog_fit, percentile, resize_images, CODE_VERSION};
use super::{ExperimentError, ExperimentOptions};
use crate::progress::Tracker;
use crate::report::{sig, ExperimentReport, Figure, ModelResult, Series, Table};

/// Default number of inputs of the Gram matrices.
pub const DEFAULT_INPUTS: usize = 4;

/// One network family of the experiment.
#[derive(Debug, Clone, Serialize)]
pub struct ConvergenceModel {
    /// Name in the report.
    pub name: String,
    /// Spec (widths are set per run).
    pub spec: Value,
    /// Input description.
    pub inputs: String,
}

/// Settings of the convergence experiment.
#[derive(Debug, Clone, Serialize)]
pub struct ConvergenceConfig {
    /// Code version.
    pub code_version: &'static str,
    /// Number of inputs (the Gram matrices are `inputs × inputs`).
    pub inputs: usize,
    /// Seed of inputs and initialisations.
    pub seed: u64,
    /// Widths (hidden layers and readout).
    pub widths: Vec<usize>,
    /// Networks at the smallest width; `S(w) = min(samples · w / w_min, max_samples)`.
    pub samples: usize,
    /// Cap on networks per width.
    pub max_samples: usize,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// C4 GCNN on MNIST digits.
    pub c4: ConvergenceModel,
    /// SO(3) network on smooth S² signals.
    pub so3: ConvergenceModel,
    /// SO(3) widths (its finite layers are costlier).
    pub so3_widths: Vec<usize>,
}

impl ConvergenceConfig {
    /// The settings for command-line options (`--train` = number of inputs).
    pub fn from_options(o: &ExperimentOptions) -> Self {
        ConvergenceConfig {
            code_version: CODE_VERSION,
            inputs: o.train.unwrap_or(DEFAULT_INPUTS),
            seed: o.seed,
            widths: vec![8, 16, 32, 64, 128],
            samples: 32,
            max_samples: 256,
            bootstrap: 300,
            c4: ConvergenceModel {
                name: "c4_gcnn".into(),
                spec: json!({"layers": [
                    {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "valid"}, {"type": "relu"},
                    {"type": "group_conv", "group": "c4", "filter": 3, "padding": "valid", "group_support": "all"}, {"type": "relu"},
                    {"type": "group_pool"}, {"type": "dense"}]}),
                inputs: "MNIST digits (embedded sample), area-downsampled to 7×7".into(),
            },
            so3: ConvergenceModel {
                name: "so3_cnn".into(),
                spec: json!({"layers": [
                    {"type": "s2_lift_conv", "bandlimit_out": 2}, {"type": "erf"},
                    {"type": "so3_conv", "bandlimit_out": 2}, {"type": "erf"},
                    {"type": "so3_pool"}, {"type": "dense"}]}),
                inputs: "random degree-≤2 polynomials in (X, Y, Z) on the L = 4 Driscoll–Healy grid, 2 channels".into(),
            },
            so3_widths: vec![8, 16, 32, 64],
        }
    }

    /// Runs the experiment.
    pub fn run(&self, threads: usize) -> Result<ExperimentReport, ExperimentError> {
        let start = Instant::now();
        let mut report =
            ExperimentReport::new("convergence", self.inputs, 0, self.seed, json!(self));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| ExperimentError::Usage(format!("thread pool: {e}")))?;
        let mut table = Table::new(
            "Relative Frobenius error of the mean empirical kernel, ‖mean K̂ − K‖/‖K‖ [95 % bootstrap CI], and the debiased bias estimate (0: below the Monte-Carlo noise)",
            &["model", "width", "networks", "NNGP error", "NNGP bias", "NTK error", "NTK bias"],
        );
        let mut fig_ntk =
            Figure::new("NTK: error of the mean vs width", "width", "relative error").log_log();
        let mut fig_nngp = Figure::new(
            "NNGP: error of the mean vs width",
            "width",
            "relative error",
        )
        .log_log();
        let mut extra = Vec::new();

        let digits = embedded_mnist_sample()?;
        let (chosen, _) = digits.train_test_split(self.inputs, 0, self.seed)?;
        let x_c4 = resize_images(chosen.images(), 7)?;
        let mut families = vec![(&self.c4, x_c4, &self.widths)];
        let so3_spec = ArchSpec::from_json(&self.so3.spec.to_string());
        match &so3_spec {
            Ok(_) => families.push((
                &self.so3,
                sphere_inputs(self.inputs, 4, 2, self.seed),
                &self.so3_widths,
            )),
            Err(e) => report.notes.push(format!(
                "SO(3) network skipped: the kernel engine does not build it yet ({e})."
            )),
        }
        // Pass 1: analytic kernels, and one network per width, timed (kept as draw 0).
        let mut prepared = Vec::new();
        let mut networks = 0;
        for (model, x, widths) in families {
            let spec = ArchSpec::from_json(&model.spec.to_string())?;
            let analytic = gram(&Network::from_spec(&spec)?, &x, None, threads, None)?;
            let feats: Vec<Features> = x.axis_iter(Axis(0)).map(image_features).collect();
            let w_min = widths.iter().copied().min().unwrap_or(1).max(1);
            let mut per_width = Vec::new();
            for &w in widths {
                let s = (self.samples * w / w_min).min(self.max_samples).max(2);
                let net = Network::from_spec(&full_width(&spec, w))?;
                let t0 = Instant::now();
                let first = empirical(&net, &feats, self.seed.wrapping_add(1))?;
                per_width.push((w, s, net, first, t0.elapsed().as_secs_f64()));
                networks += s;
            }
            prepared.push((model, analytic, feats, per_width));
        }
        let parallel = threads.max(1) as f64;
        let total: f64 = prepared
            .iter()
            .flat_map(|p| p.3.iter())
            .map(|(_, s, _, _, t)| (s - 1) as f64 * t / parallel)
            .sum();
        announce(
            "convergence",
            &format!(
                "{} network families, {networks} finite networks on {} inputs",
                prepared.len(),
                self.inputs
            ),
            total,
            threads,
            "timed on one network per width",
        );
        let tracker = Tracker::new("convergence", total);
        // Pass 2: the other networks, in parallel.
        for (model, analytic, feats, per_width) in prepared {
            let mut rows = Vec::new();
            for (w, s, net, first, t) in per_width {
                let stage =
                    tracker.stage(&format!("{} width {w}", model.name), s - 1, t / parallel);
                let rest: Vec<(Array2<f64>, Array2<f64>)> = pool.install(|| {
                    (1..s)
                        .into_par_iter()
                        .map(|i| {
                            let r = empirical(&net, &feats, self.seed.wrapping_add(1 + i as u64));
                            stage.inc(1);
                            r
                        })
                        .collect::<Result<_, _>>()
                })?;
                drop(stage);
                let draws: Vec<(Array2<f64>, Array2<f64>)> =
                    std::iter::once(first).chain(rest).collect();
                let nngp = summarise(
                    draws.iter().map(|d| &d.0).collect(),
                    &analytic.nngp,
                    self.bootstrap,
                    self.seed ^ w as u64,
                );
                let ntk = summarise(
                    draws.iter().map(|d| &d.1).collect(),
                    &analytic.ntk,
                    self.bootstrap,
                    self.seed ^ (w as u64) << 1,
                );
                table.push(vec![
                    model.name.clone(),
                    w.to_string(),
                    s.to_string(),
                    format!(
                        "{} [{}, {}]",
                        sig(nngp.error, 2),
                        sig(nngp.lo, 2),
                        sig(nngp.hi, 2)
                    ),
                    sig(nngp.bias, 2),
                    format!(
                        "{} [{}, {}]",
                        sig(ntk.error, 2),
                        sig(ntk.lo, 2),
                        sig(ntk.hi, 2)
                    ),
                    sig(ntk.bias, 2),
                ]);
                rows.push((w, s, nngp, ntk));
            }
            let wx: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
            let pick = |f: &dyn Fn(&WidthRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
            let (ntk_e, nngp_e) = (pick(&|r| r.3.error), pick(&|r| r.2.error));
            let slope = |y: &[f64]| loglog_fit(&wx, y).map(|p| p.0).unwrap_or(f64::NAN);
            let (s_ntk, s_nngp) = (slope(&ntk_e), slope(&nngp_e));
            fig_ntk.series.push(
                Series::new(
                    format!("{} (slope {})", model.name, sig(s_ntk, 2)),
                    wx.clone(),
                    ntk_e.clone(),
                )
                .with_band(pick(&|r| r.3.lo), pick(&|r| r.3.hi)),
            );
            fig_nngp.series.push(
                Series::new(
                    format!("{} (slope {})", model.name, sig(s_nngp, 2)),
                    wx.clone(),
                    nngp_e.clone(),
                )
                .with_band(pick(&|r| r.2.lo), pick(&|r| r.2.hi)),
            );
            if let (Some(&w0), Some(&e0)) = (wx.first(), ntk_e.first()) {
                fig_ntk.series.push(
                    Series::new(
                        format!("{} ∝ 1/width", model.name),
                        wx.clone(),
                        wx.iter().map(|w| e0 * w0 / w).collect(),
                    )
                    .as_reference(),
                );
            }
            if let (Some(&w0), Some(&e0)) = (wx.first(), nngp_e.first()) {
                fig_nngp.series.push(
                    Series::new(
                        format!("{} ∝ 1/width", model.name),
                        wx.clone(),
                        wx.iter().map(|w| e0 * w0 / w).collect(),
                    )
                    .as_reference(),
                );
            }
            report.models.push(
                ModelResult::new(&model.name)
                    .with("ntk_slope", s_ntk)
                    .with("nngp_slope", s_nngp)
                    .with("ntk_error_at_max_width", *ntk_e.last().unwrap_or(&f64::NAN))
                    .with(
                        "nngp_error_at_max_width",
                        *nngp_e.last().unwrap_or(&f64::NAN),
                    ),
            );
            report.notes.push(format!(
                "{}: least-squares log-log slope of the error of the mean against width: NTK {}, NNGP {} (−1 is the 1/width law; with S ∝ width both the bias and the Monte-Carlo noise of the mean fall like 1/width, −0.5 would mean noise at fixed S). Inputs: {}.",
                model.name,
                sig(s_ntk, 2),
                sig(s_nngp, 2),
                model.inputs
            ));
            extra.push(json!({
                "model": model.name,
                "widths": wx,
                "networks": rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "ntk": rows.iter().map(|r| json!(r.3)).collect::<Vec<_>>(),
                "nngp": rows.iter().map(|r| json!(r.2)).collect::<Vec<_>>(),
            }));
        }
        tracker.finish();
        report.tables.push(table);
        report.figures.extend([fig_ntk, fig_nngp]);
        report.extra = json!({ "families": extra });
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }
}

/// `spec` with every linear layer, the readout included, of width `w`.
fn full_width(spec: &ArchSpec, w: usize) -> ArchSpec {
    let mut s = spec.with_width(w);
    if let Some(LayerSpec::Dense(a)) = s.layers.last_mut() {
        a.width = w;
    }
    s
}

/// One network's empirical NNGP (readout channels averaged) and NTK (first output).
fn empirical(
    net: &Network,
    xs: &[Features],
    seed: u64,
) -> Result<(Array2<f64>, Array2<f64>), ExperimentError> {
    let params = net.init_seeded(&xs[0].sig, seed)?;
    let n = xs.len();
    let mut outs = Vec::with_capacity(n);
    let mut grads = Vec::with_capacity(n);
    for x in xs {
        let y = net.apply(&params, x)?;
        let mut e0 = Features::zeros(y.sig.clone());
        e0.data[0] = 1.0;
        grads.push(net.gradient(&params, x, &e0)?.flatten());
        outs.push(y.data);
    }
    let c = outs[0].len() as f64;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let k = Array2::from_shape_fn((n, n), |(i, j)| dot(&outs[i], &outs[j]) / c);
    let t = Array2::from_shape_fn((n, n), |(i, j)| dot(&grads[i], &grads[j]));
    Ok((k, t))
}

/// One width's results: width, networks, NNGP and NTK summaries.
type WidthRow = (usize, usize, Summary, Summary);

/// Error of a mean of draws against the analytic kernel.
#[derive(Debug, Clone, Copy, Serialize)]
struct Summary {
    /// ‖mean − K‖/‖K‖.
    error: f64,
    /// Bootstrap 2.5 % point.
    lo: f64,
    /// Bootstrap 97.5 % point.
    hi: f64,
    /// √max(0, ‖mean − K‖² − Σ var/S)/‖K‖.
    bias: f64,
}

fn summarise(
    draws: Vec<&Array2<f64>>,
    analytic: &Array2<f64>,
    resamples: usize,
    seed: u64,
) -> Summary {
    let s = draws.len();
    let norm = analytic.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mean_of = |idx: &mut dyn Iterator<Item = usize>| -> Array2<f64> {
        let mut m = Array2::zeros(analytic.raw_dim());
        for i in idx {
            m += draws[i];
        }
        m / s as f64
    };
    let err = |m: &Array2<f64>| {
        m.iter()
            .zip(analytic)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt()
            / norm
    };
    let mean = mean_of(&mut (0..s));
    let error = err(&mean);
    let var_sum: f64 = {
        let mut v = 0.0;
        for d in &draws {
            v += d
                .iter()
                .zip(&mean)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>();
        }
        v / (s as f64 - 1.0)
    };
    let bias = ((error * norm).powi(2) - var_sum / s as f64)
        .max(0.0)
        .sqrt()
        / norm;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let boots: Vec<f64> = (0..resamples)
        .map(|_| {
            let idx: Vec<usize> = (0..s).map(|_| rng.random_range(0..s)).collect();
            err(&mean_of(&mut idx.into_iter()))
        })
        .collect();
    Summary {
        error,
        lo: percentile(&boots, 0.025),
        hi: percentile(&boots, 0.975),
        bias,
    }
}

/// `n` smooth S² signals on the bandlimit-`l` Driscoll–Healy grid, `channels` channels each:
/// random combinations of `1, X, Y, Z, XY, XZ, YZ, X², Z²` (seeded).
fn sphere_inputs(n: usize, l: usize, channels: usize, seed: u64) -> Array4<f64> {
    use std::f64::consts::PI;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_5eed);
    let (nt, np) = (2 * l, 2 * l - 1);
    let coef: Vec<[f64; 9]> = (0..n * channels)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect();
    Array4::from_shape_fn((n, nt, np, channels), |(b, j, k, c)| {
        let theta = PI * (2 * j + 1) as f64 / (4 * l) as f64;
        let phi = 2.0 * PI * k as f64 / np as f64;
        let (x, y, z) = (
            theta.sin() * phi.cos(),
            theta.sin() * phi.sin(),
            theta.cos(),
        );
        let basis = [1.0, x, y, z, x * y, x * z, y * z, x * x, z * z];
        coef[b * channels + c]
            .iter()
            .zip(basis)
            .map(|(a, v)| a * v)
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_exact_draws_has_zero_error() {
        let k = Array2::from_shape_fn((2, 2), |(i, j)| 1.0 + (i + j) as f64);
        let s = summarise(vec![&k, &k, &k], &k, 10, 0);
        assert_eq!((s.error, s.lo, s.hi, s.bias), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn full_width_sets_the_readout_too() {
        let cfg = ConvergenceConfig::from_options(&ExperimentOptions::default());
        let spec = full_width(&ArchSpec::from_json(&cfg.c4.spec.to_string()).unwrap(), 5);
        assert!(matches!(spec.layers.last(), Some(LayerSpec::Dense(a)) if a.width == 5));
    }
}
