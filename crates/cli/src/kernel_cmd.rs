//! `entk kernel` and `entk predict` (DESIGN.md).

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Array2, Array4, Ix4};
use serde::Serialize;

use entk_ntk::regression::{gradient_flow_mean, DiagReg, GradientFlowOptions, TrainingTime};
use entk_ntk::{Gram, GramOptions, Network};

use crate::npy::{read_array_ndim, read_labels, write_array, write_text};
use crate::progress::Bar;
use crate::CliError;

/// Options of `entk kernel`.
#[derive(Debug, Clone)]
pub struct KernelOptions {
    /// Architecture spec (JSON, DESIGN.md).
    pub arch: PathBuf,
    /// First inputs `(N1, H, W, C)`.
    pub x1: PathBuf,
    /// Second inputs; `None` means `x1` (exactly symmetric result).
    pub x2: Option<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Worker threads (0 = all cores). Results do not depend on it.
    pub threads: usize,
}

/// `report.json` of `entk kernel`.
#[derive(Debug, Clone, Serialize)]
pub struct KernelReport {
    /// Always `"kernel"`.
    pub command: String,
    /// Shape of `x1`.
    pub x1_shape: Vec<usize>,
    /// Shape of `x2` (equal to `x1`'s when omitted).
    pub x2_shape: Vec<usize>,
    /// Shape of `nngp.npy` and `ntk.npy`.
    pub output_shape: [usize; 2],
    /// Wall-clock seconds of the kernel computation.
    pub seconds: f64,
    /// The engine's peak-memory estimate in bytes.
    pub peak_bytes_estimate: u64,
    /// Threads used.
    pub threads: usize,
    /// The kernel plan, one line per layer.
    pub plan: Vec<String>,
}

/// Loads a network from a spec file.
pub fn load_network(path: &Path) -> Result<Network, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    Ok(Network::from_json(&text)?)
}

/// Loads a 4-D input array `(N, H, W, C)` (images, or S² signals `(N, 2L, 2L−1, C)`).
pub fn load_inputs(path: &Path, what: &str) -> Result<Array4<f64>, CliError> {
    let a = read_array_ndim(path, 4, what)?;
    Ok(a.into_dimensionality::<Ix4>()
        .expect("checked 4 dimensions"))
}

fn threads_or_default(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        threads
    }
}

/// Computes a Gram matrix with a progress bar.
pub fn gram_with_progress(
    net: &Network,
    x1: &Array4<f64>,
    x2: Option<&Array4<f64>>,
    threads: usize,
    message: &str,
) -> Result<Gram, CliError> {
    let bar = Bar::new(message);
    let opts = GramOptions {
        threads,
        memory_budget: None,
        progress: Some(&bar),
    };
    let gram = net.gram(x1.view(), x2.map(|x| x.view()), &opts);
    bar.finish();
    Ok(gram?)
}

fn create_dir(out: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(out).map_err(|e| CliError::Io {
        path: out.to_path_buf(),
        source: e,
    })
}

/// Runs `entk kernel`: writes `nngp.npy`, `ntk.npy` and `report.json` into `out`.
pub fn run_kernel(opts: &KernelOptions) -> Result<KernelReport, CliError> {
    let net = load_network(&opts.arch)?;
    let x1 = load_inputs(&opts.x1, "x1")?;
    let x2 = opts
        .x2
        .as_deref()
        .map(|p| load_inputs(p, "x2"))
        .transpose()?;
    let threads = threads_or_default(opts.threads);
    let (_, h, w, c) = x1.dim();
    let plan = net.plan(&Network::image_signature(h, w, c))?;
    let peak = plan.peak_bytes(x1.dim().0, x2.as_ref().map(|x| x.dim().0), threads);
    create_dir(&opts.out)?;
    let start = Instant::now();
    let gram = gram_with_progress(&net, &x1, x2.as_ref(), threads, "kernel")?;
    let seconds = start.elapsed().as_secs_f64();
    write_array(&opts.out.join("nngp.npy"), &gram.nngp)?;
    write_array(&opts.out.join("ntk.npy"), &gram.ntk)?;
    let report = KernelReport {
        command: "kernel".into(),
        x1_shape: x1.shape().to_vec(),
        x2_shape: x2.as_ref().unwrap_or(&x1).shape().to_vec(),
        output_shape: [gram.nngp.nrows(), gram.nngp.ncols()],
        seconds,
        peak_bytes_estimate: peak,
        threads,
        plan: plan.to_string().lines().map(str::to_string).collect(),
    };
    write_text(
        &opts.out.join("report.json"),
        &serde_json::to_string_pretty(&report).expect("serialisable"),
    )?;
    Ok(report)
}

/// Options of `entk predict`.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Architecture spec.
    pub arch: PathBuf,
    /// Training inputs `(N, H, W, C)`.
    pub train: PathBuf,
    /// Training targets `(N, K)`.
    pub labels: PathBuf,
    /// Test inputs `(M, H, W, C)`.
    pub test: PathBuf,
    /// Training time `t` (`∞` when `None`).
    pub time: Option<f64>,
    /// Relative diagonal regularisation `λ` (adds `λ·tr(Θ)/n·I`).
    pub diag_reg: f64,
    /// Learning rate `η`.
    pub learning_rate: f64,
    /// Output folder.
    pub out: PathBuf,
    /// Worker threads (0 = all cores).
    pub threads: usize,
}

/// `report.json` of `entk predict`.
#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    /// Always `"predict"`.
    pub command: String,
    /// Training-set size.
    pub train: usize,
    /// Test-set size.
    pub test: usize,
    /// Output dimension `K`.
    pub outputs: usize,
    /// `t`, or `null` for `t = ∞`.
    pub time: Option<f64>,
    /// Relative diagonal regularisation.
    pub diag_reg: f64,
    /// Learning rate.
    pub learning_rate: f64,
    /// Seconds for the kernels.
    pub kernel_seconds: f64,
    /// Solver warnings (regularised or clipped eigenvalues), NTK then NNGP.
    pub warnings: Vec<String>,
    /// Files written.
    pub files: Vec<String>,
}

/// Runs `entk predict`: writes `ntk_mean.npy` and `nngp_mean.npy` (`M×K` mean test predictions
/// of gradient-flow training with the NTK, and of the NNGP-kernel flow), plus `report.json`.
pub fn run_predict(opts: &PredictOptions) -> Result<PredictReport, CliError> {
    let net = load_network(&opts.arch)?;
    let train = load_inputs(&opts.train, "train")?;
    let test = load_inputs(&opts.test, "test")?;
    let labels: Array2<f64> = read_labels(&opts.labels)?;
    if labels.nrows() != train.dim().0 {
        return Err(CliError::Usage(format!(
            "--labels has {} rows but --train has {} inputs",
            labels.nrows(),
            train.dim().0
        )));
    }
    if !(opts.diag_reg.is_finite() && opts.diag_reg >= 0.0) {
        return Err(CliError::Usage(format!(
            "--diag-reg must be a finite number ≥ 0, got {}",
            opts.diag_reg
        )));
    }
    let time = TrainingTime::from_f64(opts.time.unwrap_or(f64::INFINITY))?;
    let threads = threads_or_default(opts.threads);
    create_dir(&opts.out)?;
    let start = Instant::now();
    let train_gram = gram_with_progress(&net, &train, None, threads, "train×train")?;
    let test_gram = gram_with_progress(&net, &test, Some(&train), threads, "test×train")?;
    let kernel_seconds = start.elapsed().as_secs_f64();
    let flow = GradientFlowOptions {
        learning_rate: opts.learning_rate,
        diag_reg: DiagReg::relative(opts.diag_reg),
        ..GradientFlowOptions::default()
    };
    let mut warnings = Vec::new();
    let mut files = Vec::new();
    for (name, tt, xt) in [
        ("ntk", &train_gram.ntk, &test_gram.ntk),
        ("nngp", &train_gram.nngp, &test_gram.nngp),
    ] {
        let prediction = gradient_flow_mean(tt.view(), xt.view(), labels.view(), time, &flow)?;
        warnings.extend(
            prediction
                .info
                .warnings
                .iter()
                .map(|w| format!("{name}: {w}")),
        );
        let file = format!("{name}_mean.npy");
        write_array(&opts.out.join(&file), &prediction.test)?;
        files.push(file);
    }
    let report = PredictReport {
        command: "predict".into(),
        train: train.dim().0,
        test: test.dim().0,
        outputs: labels.ncols(),
        time: opts.time.filter(|t| t.is_finite()),
        diag_reg: opts.diag_reg,
        learning_rate: opts.learning_rate,
        kernel_seconds,
        warnings,
        files,
    };
    write_text(
        &opts.out.join("report.json"),
        &serde_json::to_string_pretty(&report).expect("serialisable"),
    )?;
    Ok(report)
}
