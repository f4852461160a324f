//! `entk kernel` and `entk predict` (docs/spec.md).

use std::path::{Path, PathBuf};
use std::time::Instant;

use entk_groups::GroupRegistry;
use ndarray::{Array2, Array4, ArrayD, Axis};
use serde::Serialize;

use entk_ntk::regression::{
    conjugate_gradient_solve, gradient_flow_mean, ntk_gp_covariance, ntk_gp_variance, CgOptions,
    DiagReg, GradientFlowOptions, NtkGpDiagGrams, NtkGpGrams, SolveMethod, TrainingTime,
};
use entk_ntk::{so3_signal_bandlimit, Features, Gram, GramOptions, Network, NtkError, Signature};

use crate::npy::{read_array, read_array_ranks, read_counts, read_labels, write_array, write_text};
use crate::progress::Bar;
use crate::tiles::hash::array_hash;
use crate::tiles::store::partial_path;
use crate::tiles::store::{canonical_spec, code_version, spec_hash, InputRecord, STORE_FORMAT};
use crate::tiles::{self, Manifest, TileStore, Which};
use crate::CliError;

/// Options of `entk kernel`; the field docs are its `--help`.
#[derive(Debug, Clone, clap::Args)]
pub struct KernelOptions {
    /// Architecture spec (JSON; see docs/spec.md).
    #[arg(long, value_name = "SPEC.json")]
    pub arch: PathBuf,
    /// Inputs as .npy (f64 or f32): 4-D (N1, H, W, C) images or S² signals (N1, 2L, 2L−1, C),
    /// or 5-D (N1, 2L−1, 2L, 2L−1, C) SO(3) signals on the (γ, β, α) grid (first layer so3_conv).
    /// For a spec that starts with deep_set: padded sets (N1, n_max, D) or
    /// (N1, n_max, H, W, C), with --x1-counts.
    #[arg(long, value_name = "A.npy")]
    pub x1: PathBuf,
    /// Second inputs, of the kind and per-input shape of x1; default x1 (the result is then
    /// exactly symmetric).
    #[arg(long, value_name = "B.npy")]
    pub x2: Option<PathBuf>,
    /// Sets only: the number of real elements of each set of x1, a 1-D integer array (N1,);
    /// the other element slots of each set are padding and must be zero.
    #[arg(long, value_name = "COUNTS.npy")]
    pub x1_counts: Option<PathBuf>,
    /// Sets only: the element counts of x2 (N2,).
    #[arg(long, value_name = "COUNTS.npy")]
    pub x2_counts: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). The numbers do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Tile edge: the matrix is computed and saved in TILE×TILE blocks (any TILE ≥ 1; edge
    /// tiles may be smaller). Default: a resumed store's own edge; else one tile for a Gram
    /// matrix of at most 2^24 kernel values over all its pairs and layers (the plan's values
    /// per pair; well under a second), except for set networks, networks with composite
    /// (`repeat`, `serial`, `parallel`) layers or strided convolutions, and a job an MPI
    /// launcher started as one of several processes or without saying how many (so the work
    /// is split over tiles); else 64, or less so that small problems have ~16 tiles. The
    /// numbers do not depend on it.
    #[arg(long, value_name = "TILE")]
    pub tile: Option<usize>,
    /// Discard a tile store in DIR/tiles that belongs to another computation (another
    /// spec, inputs or --tile) and start over, instead of refusing.
    #[arg(long)]
    pub force: bool,
}

/// The tiles behind a result (`tiles_total`, `tiles_reused` in `report.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TileCounts {
    /// Tiles of every store's grid.
    pub tiles_total: usize,
    /// Tiles found finished in a store (from an earlier run).
    pub tiles_reused: usize,
}

impl TileCounts {
    /// The counts of tile runs, summed.
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a tiles::TileRun>) -> Self {
        runs.into_iter().fold(
            TileCounts {
                tiles_total: 0,
                tiles_reused: 0,
            },
            |c, r| TileCounts {
                tiles_total: c.tiles_total + r.total,
                tiles_reused: c.tiles_reused + r.reused,
            },
        )
    }
}

/// What a result was computed from, as its tile manifests record it (the last keys of
/// `report.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// Hash of the canonical spec.
    pub spec_hash: String,
    /// The inputs (and, for `entk predict`, the labels) with their shapes and value hashes.
    pub inputs: Vec<InputRecord>,
    /// The code that computed it.
    pub code_version: String,
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
    /// Wall-clock seconds of the kernel computation (this run's tiles only).
    pub seconds: f64,
    /// The engine's peak-memory estimate in bytes for one tile.
    pub peak_bytes_estimate: u64,
    /// Threads used (per process).
    pub threads: usize,
    /// Processes that computed tiles: 1, or the MPI ranks of `mpirun -n R`.
    pub ranks: usize,
    /// The kernel plan, one line per layer.
    pub plan: Vec<String>,
    /// Tile edge.
    pub tile: usize,
    /// Tiles of the grid, and those found finished in the store.
    #[serde(flatten)]
    pub tiles: TileCounts,
    /// Tiles computed by this run.
    pub tiles_computed: usize,
    /// The spec, inputs and code behind the numbers.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// Loads a network from a spec file, naming groups from the built-in registry
/// ([`entk_reps::default_registry`]); see [`load_network_in`].
pub fn load_network(path: &Path) -> Result<Network, CliError> {
    load_network_in(&entk_reps::default_registry(), path)
}

/// Loads a network from a spec file whose `"group"` names are looked up in `registry`.
pub fn load_network_in(registry: &GroupRegistry, path: &Path) -> Result<Network, CliError> {
    Ok(load_spec(registry, path)?.0)
}

/// Loads a spec file: the network (groups named in `registry`) and the spec text.
fn load_spec(registry: &GroupRegistry, path: &Path) -> Result<(Network, String), CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    Ok((Network::from_json_in(&text, registry)?, text))
}

/// An input array of `entk kernel` and `entk predict`, told apart by its rank (docs/spec.md
/// "Input arrays"): 4-D `(N, H, W, C)` are images or S² signals `(N, 2L, 2L−1, C)` (the first
/// layer decides which: `s2_lift_conv` reads `(2L, 2L−1)` as the sphere's `(θ, φ)` grid), 5-D
/// `(N, 2L−1, 2L, 2L−1, C)` are SO(3) signals on the `(γ, β, α)` grid of bandlimit `L`, for
/// networks that start with `so3_conv`.
#[derive(Debug, Clone)]
pub struct Inputs {
    array: ArrayD<f64>,
    signature: Signature,
}

impl Inputs {
    /// The inputs of an array, or a one-line error for a rank other than 4 or 5 or an SO(3)
    /// shape that is not a grid (`what` names the array in it).
    pub fn new(array: ArrayD<f64>, what: &str) -> Result<Self, CliError> {
        let signature = match *array.shape() {
            [_, h, w, c] => Network::image_signature(h, w, c),
            [_, g, b, a, c] => Network::so3_signature(
                so3_signal_bandlimit(g, b, a).map_err(|e| match e {
                    NtkError::Input { message, .. } => {
                        CliError::Usage(format!("{what}: {message}"))
                    }
                    other => other.into(),
                })?,
                c,
            ),
            _ => {
                return Err(CliError::Usage(format!(
                    "{what} must have {RANKS}, got shape {:?}",
                    array.shape()
                )))
            }
        };
        Ok(Self { array, signature })
    }
    /// Number of inputs `N`.
    pub fn len(&self) -> usize {
        self.array.shape()[0]
    }
    /// True when there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        self.array.shape()
    }
    /// The signature of one input.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }
    /// The inputs as engine features.
    pub fn features(&self) -> Vec<Features> {
        self.array
            .axis_iter(Axis(0))
            .map(|x| Features {
                sig: self.signature.clone(),
                data: x.iter().copied().collect(),
            })
            .collect()
    }
    /// `4-D` or `5-D` and what the axes are, for messages.
    fn kind(&self) -> &'static str {
        if self.array.ndim() == 5 {
            "5-D SO(3) signals (N, 2L−1, 2L, 2L−1, C)"
        } else {
            "4-D images or S² signals (N, H, W, C)"
        }
    }
}

/// The accepted input ranks, for messages.
const RANKS: &str = "4 dimensions (N, H, W, C): images, or S² signals (N, 2L, 2L−1, C); or 5 \
                     dimensions (N, 2L−1, 2L, 2L−1, C): SO(3) signals";

/// Loads an input array ([`Inputs`]): 4-D images or S² signals, or 5-D SO(3) signals.
pub fn load_inputs(path: &Path, what: &str) -> Result<Inputs, CliError> {
    Inputs::new(read_array_ranks(path, &[4, 5], what, RANKS)?, what)
}

/// At most this many threads per core are used; more only slows the work down.
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The thread count to use for a requested one: 0 means all cores, and requests above
/// [`MAX_THREADS_PER_CORE`] × cores are capped (with a note on stderr).
pub fn effective_threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cap = MAX_THREADS_PER_CORE * cores;
    if requested == 0 {
        cores
    } else if requested > cap {
        eprintln!(
            "note: --threads {requested} capped at {cap} ({MAX_THREADS_PER_CORE} per core on {cores} cores)"
        );
        cap
    } else {
        requested
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
        threads: effective_threads(threads),
        memory_budget: None,
        progress: Some(&bar),
    };
    let gram = net.gram(x1.view(), x2.map(|x| x.view()), &opts);
    bar.finish();
    Ok(gram?)
}

fn create_dir(out: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(out).map_err(CliError::io(out))
}

/// Removes results of an earlier run from `out` before new work starts, so a killed run never
/// leaves old numbers that look like new ones. `report.json` goes first: it marks a complete
/// result and is written last.
fn remove_stale(out: &Path, files: &[&str]) -> Result<(), CliError> {
    let mut removed = Vec::new();
    for name in files {
        if remove_if_present(&out.join(name))? {
            removed.push(*name);
        }
    }
    if !removed.is_empty() {
        eprintln!(
            "note: removed the earlier results {} from {}",
            removed.join(", "),
            out.display()
        );
    }
    Ok(())
}

/// The manifest record of an input array.
fn input_record(name: &str, path: &Path, x: &Inputs) -> InputRecord {
    InputRecord {
        name: name.to_string(),
        path: path.display().to_string(),
        shape: x.shape().to_vec(),
        hash: array_hash(x.shape(), x.array.iter()),
    }
}

/// The inputs of a Gram computation read from disk: engine features, the element (or input)
/// signature, and the tile-manifest records (the array, and the counts of sets).
pub struct LoadedInputs {
    /// One feature value per input (a whole set for `deep_set` networks).
    pub features: Vec<Features>,
    /// The signature of an input, or of a set's elements.
    pub signature: Signature,
    /// The array's shape as read.
    pub shape: Vec<usize>,
    /// Manifest records: the array, then the counts for sets.
    pub records: Vec<InputRecord>,
    /// The array of inputs that are not sets (their kind and shape checks).
    single: Option<Inputs>,
}

/// Reads the inputs of `name` (`x1`, `train`, ...) for `net`: an [`Inputs`] array (images, S²
/// or SO(3) signals), or, when the network starts with `deep_set`, padded sets `(N, n_max, D)`
/// or `(N, n_max, H, W, C)` with the counts file `counts` (the option `--NAME-counts`).
pub fn load_inputs_for(
    net: &Network,
    name: &str,
    path: &Path,
    counts: Option<&Path>,
) -> Result<LoadedInputs, CliError> {
    let flag = format!("--{name}-counts");
    if !net.takes_sets() {
        if counts.is_some() {
            return Err(CliError::Usage(format!(
                "{flag} gives element counts of sets, but the network does not start with deep_set"
            )));
        }
        let x = load_inputs(path, name)?;
        if x.is_empty() {
            return Err(CliError::Usage(format!("{name} has no inputs")));
        }
        return Ok(LoadedInputs {
            features: x.features(),
            signature: x.signature().clone(),
            shape: x.shape().to_vec(),
            records: vec![input_record(name, path, &x)],
            single: Some(x),
        });
    }
    let Some(counts_path) = counts else {
        return Err(CliError::Usage(format!(
            "the network starts with deep_set, so {name} holds padded sets (N, n_max, D) or (N, \
             n_max, H, W, C): give {flag} COUNTS.npy, the number of real elements of each set"
        )));
    };
    let x = read_array(path)?;
    let n = read_counts(counts_path, name)?;
    let features =
        entk_ntk::layers::sets_from_padded(name, x.view(), &n).map_err(|e| CliError::Npy {
            path: path.to_path_buf(),
            reason: e.to_string().trim_start_matches("bad input: ").to_string(),
        })?;
    let signature = features
        .first()
        .map(|f| f.sig.clone())
        .ok_or_else(|| CliError::Usage(format!("{name} has no inputs")))?;
    let counts_f64: Vec<f64> = n.iter().map(|&c| c as f64).collect();
    let records = vec![
        InputRecord {
            name: name.to_string(),
            path: path.display().to_string(),
            shape: x.shape().to_vec(),
            hash: array_hash(x.shape(), x.iter()),
        },
        InputRecord {
            name: format!("{name} counts"),
            path: counts_path.display().to_string(),
            shape: vec![n.len()],
            hash: array_hash(&[n.len()], &counts_f64),
        },
    ];
    Ok(LoadedInputs {
        features,
        signature,
        shape: x.shape().to_vec(),
        records,
        single: None,
    })
}

/// Checks that two input sets share their signature (element signature for sets).
fn same_signature(a: (&str, &LoadedInputs), b: (&str, &LoadedInputs)) -> Result<(), CliError> {
    if let (Some(x), Some(y)) = (&a.1.single, &b.1.single) {
        return same_input_shape((a.0, x), (b.0, y)).map(|_| ());
    }
    let (sa, sb) = (&a.1.signature, &b.1.signature);
    if sa.channels != sb.channels {
        return Err(CliError::Usage(format!(
            "{} has {} channels but {} has {}",
            a.0, sa.channels, b.0, sb.channels
        )));
    }
    if sa.layout != sb.layout {
        let dims = |l: &LoadedInputs| {
            let d = &l.shape[2..l.shape.len() - 1];
            d.iter().map(usize::to_string).collect::<Vec<_>>().join("×")
        };
        return Err(CliError::Usage(format!(
            "{} inputs are {} but {} inputs are {}: both need the same size",
            a.0,
            dims(a.1),
            b.0,
            dims(b.1)
        )));
    }
    Ok(())
}

/// An `entk kernel` job, read and checked with nothing written yet: the network, the inputs as
/// engine features and the tile-store manifest. Every MPI rank prepares its own and they
/// compare manifests ([`crate::distributed`]).
pub struct KernelJob {
    net: Network,
    f1: Vec<Features>,
    f2: Option<Vec<Features>>,
    /// The tile store's manifest (spec, input hashes, tile edge, code version).
    pub manifest: Manifest,
    x1_shape: Vec<usize>,
    x2_shape: Vec<usize>,
    plan: Vec<String>,
    peak: u64,
    /// Worker threads (per process).
    pub threads: usize,
    inputs: Vec<InputRecord>,
}

/// Reads and checks everything `entk kernel` needs (spec, with its groups named in
/// `registry`; inputs, plan, `--tile`) and builds the tile-store manifest; writes nothing.
pub fn prepare_kernel_in(
    registry: &GroupRegistry,
    opts: &KernelOptions,
) -> Result<KernelJob, CliError> {
    let (net, spec_text) = load_spec(registry, &opts.arch)?;
    if opts.x2.is_none() && opts.x2_counts.is_some() {
        return Err(CliError::Usage(
            "--x2-counts without --x2: the counts belong to the sets of --x2".into(),
        ));
    }
    let x1 = load_inputs_for(&net, "x1", &opts.x1, opts.x1_counts.as_deref())?;
    let x2 = opts
        .x2
        .as_deref()
        .map(|p| load_inputs_for(&net, "x2", p, opts.x2_counts.as_deref()))
        .transpose()?;
    let threads = effective_threads(opts.threads);
    let n1 = x1.features.len();
    if let Some(x2) = &x2 {
        same_signature(("x1", &x1), ("x2", x2))?;
    }
    let plan = pooled_plan(&net, &x1.signature)?;
    let n2 = x2.as_ref().map_or(n1, |x| x.features.len());
    let spec = canonical_spec(&spec_text)?;
    let inputs: Vec<InputRecord> = x1
        .records
        .iter()
        .chain(x2.iter().flat_map(|x| &x.records))
        .cloned()
        .collect();
    let tile = opts
        .tile
        .or_else(|| TileStore::stored_tile(&opts.out.join("tiles")))
        .or_else(|| {
            (!net.takes_sets() && !several_ranks())
                .then(|| one_tile(&net, &plan, n1, x2.as_ref().map(|_| n2)))
                .flatten()
        });
    let groups = group_identities(registry, &spec_text)?;
    let manifest = store_manifest(
        &spec,
        &groups,
        &x1.records,
        x2.as_ref().map(|x| &x.records[..]),
        tile,
    )?;
    let tile = manifest.tile;
    let peak = plan.peak_bytes(tile.min(n1), x2.as_ref().map(|_| tile.min(n2)), threads);
    Ok(KernelJob {
        net,
        x1_shape: x1.shape.clone(),
        x2_shape: x2.as_ref().unwrap_or(&x1).shape.clone(),
        f1: x1.features,
        f2: x2.map(|x| x.features),
        manifest,
        plan: plan.to_string().lines().map(str::to_string).collect(),
        peak,
        threads,
        inputs,
    })
}

impl KernelJob {
    /// Creates `out` and opens (or resumes) the tile store `out/tiles`, then removes the
    /// results of an earlier run; `force` discards a store of another computation.
    pub fn open(&self, out: &Path, force: bool) -> Result<TileStore, CliError> {
        create_dir(out)?;
        let (store, _) = TileStore::open(&out.join("tiles"), self.manifest.clone(), force)?;
        remove_stale(out, &["report.json", "nngp.npy", "ntk.npy"])?;
        Ok(store)
    }

    /// The store `out/tiles` that another process opened for this job
    /// ([`TileStore::attach`]).
    pub fn attach(&self, out: &Path) -> Result<TileStore, CliError> {
        TileStore::attach(&out.join("tiles"), self.manifest.clone())
    }

    /// Computes one tile of the job with its thread count, reporting pairs to `progress`.
    pub fn compute_tile(
        &self,
        id: tiles::TileId,
        progress: Option<&dyn entk_ntk::Progress>,
    ) -> Result<Gram, CliError> {
        let opts = GramOptions {
            threads: self.threads,
            memory_budget: None,
            progress,
        };
        tiles::compute_tile(
            &self.net,
            &self.manifest.grid(),
            id,
            &self.f1,
            self.f2.as_deref(),
            &opts,
        )
    }

    /// Bytes of `nngp.npy` and `ntk.npy`.
    pub fn results_bytes(&self) -> u64 {
        2 * tiles::space::npy_bytes(self.manifest.rows, self.manifest.cols)
    }

    /// Writes `nngp.npy` and `ntk.npy` into `out` from the complete `store` and returns the
    /// report, which [`write_report`] then writes last (an MPI run first waits until every
    /// rank's tiles are durable); `run` and `seconds` describe this run's tile work, done by
    /// `ranks` processes.
    pub fn assemble(
        &self,
        store: &TileStore,
        out: &Path,
        run: &tiles::TileRun,
        seconds: f64,
        ranks: usize,
    ) -> Result<KernelReport, CliError> {
        tiles::assemble(store, out)?;
        Ok(self.report(run, seconds, ranks))
    }

    /// The report of a run whose tile work `run` took `seconds` on `ranks` processes.
    fn report(&self, run: &tiles::TileRun, seconds: f64, ranks: usize) -> KernelReport {
        KernelReport {
            command: "kernel".into(),
            x1_shape: self.x1_shape.clone(),
            x2_shape: self.x2_shape.clone(),
            output_shape: [self.manifest.rows, self.manifest.cols],
            seconds,
            peak_bytes_estimate: self.peak,
            threads: self.threads,
            ranks,
            plan: self.plan.clone(),
            tile: self.manifest.tile,
            tiles: TileCounts::of([run]),
            tiles_computed: run.computed,
            provenance: Provenance {
                spec_hash: self.manifest.spec_hash.clone(),
                inputs: self.inputs.clone(),
                code_version: self.manifest.code_version.clone(),
            },
        }
    }

    /// Computes the missing tiles of `store` in this process, then writes `nngp.npy`,
    /// `ntk.npy` and `report.json.partial` into `out` while the last tiles are synced
    /// ([`tiles::compute_missing_then`], `tiles::assemble_with`), and renames
    /// `report.json` into place only once that sync succeeded: when it returns, the tiles
    /// and the results are durable. `start` is when the tile work started.
    pub fn compute_and_write(
        &self,
        store: &TileStore,
        out: &Path,
        start: Instant,
    ) -> Result<KernelReport, CliError> {
        let write = |run: &tiles::TileRun| {
            let report = self.report(run, start.elapsed().as_secs_f64(), 1);
            let json = report_json(&report);
            let unpublished = tiles::assemble_with(store, out, ("report.json", json.as_bytes()))?;
            Ok((report, unpublished))
        };
        let (_, (report, unpublished)) = tiles::compute_missing_then(
            store,
            (&self.net, &self.f1, self.f2.as_deref()),
            self.threads,
            "kernel",
            self.results_bytes(),
            write,
        )?;
        unpublished.publish()?;
        Ok(report)
    }
}

/// The text of `report.json`.
fn report_json(report: &KernelReport) -> String {
    serde_json::to_string_pretty(report).expect("serialisable")
}

/// Writes `report.json` (durably: [`write_text`]), the mark of a finished result, into `out`.
pub fn write_report(out: &Path, report: &KernelReport) -> Result<(), CliError> {
    write_text(&out.join("report.json"), &report_json(report))
}

/// Removes the results from `out` after the job failed while or after assembling them, so a
/// failed job leaves no result: `report.json` first (it may be there if only the folder's
/// `fsync` after its rename failed), then `nngp.npy` and `ntk.npy`, then the `.partial` files
/// that a failed write leaves behind (absent files are fine).
pub fn discard_results(out: &Path) -> Result<(), CliError> {
    let names = ["report.json", "nngp.npy", "ntk.npy"].map(|name| out.join(name));
    let partials = names.clone().map(|path| partial_path(&path));
    for path in names.into_iter().chain(partials) {
        remove_if_present(&path)?;
    }
    Ok(())
}

/// Removes the file `path`; whether it was there (an absent file is fine).
fn remove_if_present(path: &Path) -> Result<bool, CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CliError::io(path)(e)),
    }
}

/// `result`, or its error after [`discard_results`] (whose own failure is added to it).
pub fn discarding_on_error<T>(out: &Path, result: Result<T, CliError>) -> Result<T, CliError> {
    result.map_err(|e| match discard_results(out) {
        Ok(()) => e,
        Err(also) => e.also(also),
    })
}

/// Runs `entk kernel` in this process: computes the Gram matrices tile by tile into the store
/// `out/tiles` (resuming a matching one), then writes `nngp.npy`, `ntk.npy` and, last,
/// `report.json` into `out`. (`mpirun -n R entk kernel` in an MPI build spreads the tiles over
/// R processes instead: [`crate::distributed`].) Groups are named in the built-in registry;
/// [`run_kernel_in`] takes another.
pub fn run_kernel(opts: &KernelOptions) -> Result<KernelReport, CliError> {
    run_kernel_in(&entk_reps::default_registry(), opts)
}

/// [`run_kernel`] for a spec whose `"group"` names are looked up in `registry` (a downstream
/// binary's groups besides the built-in ones).
pub fn run_kernel_in(
    registry: &GroupRegistry,
    opts: &KernelOptions,
) -> Result<KernelReport, CliError> {
    // The GEMMs' one-time set-up on the idle core, while this thread reads the spec and inputs
    // (a short run otherwise waits for it on both workers).
    // A warm-up only: where the OS refuses a thread, the first product reads the caches itself.
    let _ = std::thread::Builder::new().spawn(entk_ntk::so3::warm_up_gemm);
    let job = prepare_kernel_in(registry, opts)?;
    let store = job.open(&opts.out, opts.force)?;
    // A failed job leaves no result (as an MPI job: [`crate::distributed`]).
    let done = job.compute_and_write(&store, &opts.out, Instant::now());
    discarding_on_error(&opts.out, done)
}

/// The parser of a flag whose values are `names`, mapped to a typed option by `to`; `--help`
/// lists the names.
fn flag<T: Clone + Send + Sync + 'static, const N: usize>(
    names: [&'static str; N],
    to: fn(&str) -> T,
) -> impl clap::builder::TypedValueParser<Value = T> {
    clap::builder::TypedValueParser::map(
        clap::builder::PossibleValuesParser::new(names),
        move |s: String| to(&s),
    )
}

/// Which kernels `entk predict` uses (neural-tangents' `get`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GetKernels {
    /// Both, NTK and NNGP.
    #[default]
    Both,
    /// The NNGP only.
    Nngp,
    /// The NTK only.
    Ntk,
}

/// Predictive covariances of `entk predict` (neural-tangents' `compute_cov`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CovMode {
    /// Means only.
    #[default]
    None,
    /// The full `M×M` covariance (needs the `M×M` test–test NNGP).
    Full,
    /// The `M` variances only (needs only each test input's self-kernel).
    Diag,
}

/// How `--time` and `--learning-rate` are read (`entk` or `nt` in `report.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeConvention {
    /// entk's: gradient flow at rate `η` on `½ Σ_i |f(x_i) − y_i|²`.
    #[default]
    Entk,
    /// neural-tangents' `gradient_descent_mse`: the loss is normalised by `y_train.size = N·K`,
    /// so `η_entk = η / (N·K)` and a neural-tangents `t` carries over unchanged.
    Nt,
}

/// How `entk predict` solves `Θ_reg α = Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Solver {
    /// Direct while three `N×N` matrices fit in half the available memory, else CG (at
    /// `t = ∞` without covariances; otherwise direct).
    #[default]
    Auto,
    /// Cholesky (eigendecomposition at finite `t`), in memory.
    Direct,
    /// Preconditioned conjugate gradients on the Gram matrix streamed from disk (`t = ∞`, no
    /// covariances).
    Cg,
}

/// How one kernel's system was solved, for `report.json`: `kernel` (`ntk` or `nngp`), then
/// the [`Solve`]'s `method`, `iterations` and `relative_residual`.
#[derive(Debug, Clone, Serialize)]
pub struct SolveRecord {
    /// The kernel whose system was solved.
    pub kernel: Which,
    /// How.
    #[serde(flatten)]
    pub solve: Solve,
}

/// How a system `Θ_reg α = Y` was solved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solve {
    /// In memory: `cholesky` or `eigendecomposition` (`iterations` and `relative_residual` are
    /// `null`).
    Direct(SolveMethod),
    /// Conjugate gradients (`cg`): iterations, and the final relative residual
    /// `‖Θ_reg α − y‖/‖y‖` (worst column).
    Cg {
        /// Iterations.
        iterations: usize,
        /// Final relative residual.
        relative_residual: f64,
    },
}

impl Serialize for Solve {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (method, iterations, relative_residual) = match *self {
            Solve::Direct(m) => (m.to_string(), None, None),
            Solve::Cg {
                iterations,
                relative_residual,
            } => ("cg".to_string(), Some(iterations), Some(relative_residual)),
        };
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("method", &method)?;
        map.serialize_entry("iterations", &iterations)?;
        map.serialize_entry("relative_residual", &relative_residual)?;
        map.end()
    }
}

/// Options of `entk predict`; the field docs are its `--help`.
#[derive(Debug, Clone, clap::Args)]
pub struct PredictOptions {
    /// Architecture spec (JSON).
    #[arg(long, value_name = "SPEC.json")]
    pub arch: PathBuf,
    /// Training inputs: 4-D (N, H, W, C) or 5-D SO(3) signals (N, 2L−1, 2L, 2L−1, C).
    #[arg(long, value_name = "X.npy")]
    pub train: PathBuf,
    /// Training targets (N, K) or (N,).
    #[arg(long, value_name = "Y.npy")]
    pub labels: PathBuf,
    /// Test inputs, of the kind and per-input shape of the training inputs.
    #[arg(long, value_name = "T.npy")]
    pub test: PathBuf,
    /// Sets only (a spec that starts with deep_set): element counts of the padded training
    /// sets (N,), as `entk kernel --x1-counts`.
    #[arg(long, value_name = "COUNTS.npy")]
    pub train_counts: Option<PathBuf>,
    /// Sets only: element counts of the padded test sets (M,).
    #[arg(long, value_name = "COUNTS.npy")]
    pub test_counts: Option<PathBuf>,
    /// Training time t ≥ 0 (default ∞: kernel regression).
    #[arg(long)]
    pub time: Option<f64>,
    /// Relative diagonal regularisation λ: adds λ·tr(Θ)/n·I (neural-tangents' diag_reg).
    #[arg(long, default_value_t = 0.0)]
    pub diag_reg: f64,
    /// Learning rate η of gradient flow on ½Σ|f(x_i) − y_i|².
    #[arg(long, default_value_t = 1.0)]
    pub learning_rate: f64,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Kernels to predict with (neural-tangents' `get`): both, nngp or ntk.
    #[arg(long, default_value = "both", value_parser = flag(["both", "nngp", "ntk"], |s| match s {
        "nngp" => GetKernels::Nngp,
        "ntk" => GetKernels::Ntk,
        _ => GetKernels::Both,
    }))]
    pub get: GetKernels,
    /// Predictive covariance over initialisations (neural-tangents' compute_cov): `full`
    /// writes DIR/KERNEL_cov.npy (M×M; computes the M×M test×test NNGP), `diag` writes
    /// DIR/KERNEL_var.npy (M; needs only each test input's self-kernel).
    #[arg(long, default_value = "none", value_parser = flag(["none", "full", "diag"], |s| match s {
        "full" => CovMode::Full,
        "diag" => CovMode::Diag,
        _ => CovMode::None,
    }))]
    pub cov: CovMode,
    /// `entk`: flow at rate η on ½Σ|f(x_i) − y_i|². `nt`: neural-tangents'
    /// gradient_descent_mse, whose loss is divided by N·K, so η_entk = η/(N·K) and a
    /// neural-tangents t carries over.
    #[arg(long, default_value = "entk", value_parser = flag(["entk", "nt"], |s| match s {
        "nt" => TimeConvention::Nt,
        _ => TimeConvention::Entk,
    }))]
    pub time_convention: TimeConvention,
    /// Tile edge of the kernel stores in DIR/tiles (see `entk kernel --help`).
    #[arg(long, value_name = "TILE")]
    pub tile: Option<usize>,
    /// Discard tile stores in DIR/tiles of another computation and start over.
    #[arg(long)]
    pub force: bool,
    /// `direct`: Cholesky (eigendecomposition at finite t) in memory. `cg`: preconditioned
    /// conjugate gradients on the Gram matrix streamed from disk (t = ∞, no --cov).
    /// `auto`: direct while three N×N matrices fit in half the available memory.
    #[arg(long, default_value = "auto", value_parser = flag(["auto", "direct", "cg"], |s| match s {
        "direct" => Solver::Direct,
        "cg" => Solver::Cg,
        _ => Solver::Auto,
    }))]
    pub solver: Solver,
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
    /// Learning rate as given.
    pub learning_rate: f64,
    /// `entk` or `nt`.
    pub time_convention: TimeConvention,
    /// The rate of entk's unnormalised gradient flow actually used (`learning_rate`, or
    /// `learning_rate / (N·K)` under `nt`).
    pub effective_learning_rate: f64,
    /// Seconds for the kernels (this run's tiles only).
    pub kernel_seconds: f64,
    /// Tiles of all kernel stores, and how many were reused from an earlier run.
    #[serde(flatten)]
    pub tiles: TileCounts,
    /// Solver warnings (regularised or clipped eigenvalues), NTK then NNGP.
    pub warnings: Vec<String>,
    /// How each kernel's system was solved.
    pub solves: Vec<SolveRecord>,
    /// Files written.
    pub files: Vec<String>,
    /// The spec, inputs and code behind the numbers.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// Kernel values (NNGP, summed over a Gram matrix's pairs and its layers' outputs) up to which
/// `entk kernel` computes the matrix as one tile: well under a second of work (2.4e6 and
/// 1.2e7 values for 16 SO(3) inputs at L = 6 and 8, which take milliseconds), so a kill loses
/// little, while every tile costs its own synchronisation of the workers (idle cores at each
/// of its passes' ends) and its file (measured in the README, "SO(3) L = 6 start-up and end").
const ONE_TILE_VALUES: u64 = 1 << 24;

/// The tile edge that makes the `n1 × n2` Gram matrix (`n2 = None`: symmetric) one tile when
/// its work by `plan` is at most [`ONE_TILE_VALUES`]; `None` otherwise (the default tile).
/// The work is the plan's values per pair over its top-level layers, which counts every
/// layer's work only when each is a leaf (no `repeat`, `serial` or `parallel`, whose inner
/// layers the plan does not list) holding no values besides its input and output (no
/// strided convolution's stride-1 kernel, [`entk_ntk::Layer::extra_values`]); any other
/// network gets the default tile.
fn one_tile(
    net: &Network,
    plan: &entk_ntk::KernelPlan,
    n1: usize,
    n2: Option<usize>,
) -> Option<usize> {
    let mut input = entk_ntk::Stream::One(plan.input.clone());
    for (layer, step) in net.layers().iter().zip(&plan.steps) {
        if !layer.children().is_empty() || layer.extra_values(&input) > 0 {
            return None;
        }
        input = match &step.outputs[..] {
            [one] => entk_ntk::Stream::One(one.clone()),
            many => entk_ntk::Stream::Many(many.to_vec()),
        };
    }
    let pairs = match n2 {
        None => n1 * (n1 + 1) / 2,
        // Every pair, and the self pass of every input on either side.
        Some(n2) => n1 * n2 + n1 + n2,
    } as u64;
    let per_pair: u64 = plan.steps.iter().map(|s| s.values_per_pair as u64).sum();
    (pairs.saturating_mul(per_pair) <= ONE_TILE_VALUES).then(|| n1.max(n2.unwrap_or(n1)))
}

/// Whether an MPI launcher started this process as one of several (or did not say how many):
/// such a job keeps the default tile, so that every rank gets tiles to compute.
fn several_ranks() -> bool {
    crate::distributed::launcher_size().is_some_and(|size| size.is_none_or(|n| n > 1))
}

/// The manifest of the Gram matrix of `x1` against `x2` (`None`: itself; each is its array's
/// record, then for sets its counts' record) with tile edge
/// `tile` (`None`: [`tiles::default_tile`]; callers pass the edge of a store they resume).
fn store_manifest(
    spec: &str,
    groups: &[String],
    x1: &[InputRecord],
    x2: Option<&[InputRecord]>,
    tile: Option<usize>,
) -> Result<Manifest, CliError> {
    let (rows, cols) = (x1[0].shape[0], x2.map_or(x1[0].shape[0], |x| x[0].shape[0]));
    let tile = match tile {
        Some(0) => return Err(CliError::Usage("--tile must be at least 1".into())),
        Some(t) => t,
        None => tiles::default_tile(rows, cols),
    };
    Ok(Manifest {
        format: STORE_FORMAT,
        code_version: code_version(),
        spec_hash: spec_hash(spec),
        spec: spec.to_string(),
        inputs: x1.iter().chain(x2.into_iter().flatten()).cloned().collect(),
        symmetric: x2.is_none(),
        rows,
        cols,
        tile,
        groups: groups.to_vec(),
    })
}

/// The groups that `spec_text` names (every `"group"` value, at any depth), each identified by
/// its structure in `registry` ([`Manifest::groups`]), sorted.
fn group_identities(registry: &GroupRegistry, spec_text: &str) -> Result<Vec<String>, CliError> {
    fn names(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("group", serde_json::Value::String(name)) => {
                            out.insert(name.clone());
                        }
                        _ => names(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| names(v, out)),
            _ => {}
        }
    }
    let value: serde_json::Value = serde_json::from_str(spec_text)
        .map_err(|e| CliError::Usage(format!("the architecture spec is not valid JSON: {e}")))?;
    let mut found = std::collections::BTreeSet::new();
    names(&value, &mut found);
    found
        .into_iter()
        .map(|name| {
            let entry = registry
                .get(&name)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            Ok(match (entry.structure(), entry.order()) {
                (Some(s), Some(order)) => {
                    format!("{name}: order {order}, structure {:016x}", s.fingerprint())
                }
                _ => format!("{name}: so3"),
            })
        })
        .collect()
}

/// The plan of `net` for inputs of `signature`, which must end in one scalar per input.
fn pooled_plan(net: &Network, signature: &Signature) -> Result<entk_ntk::KernelPlan, CliError> {
    let plan = net.plan(signature)?;
    if !plan.is_pooled() {
        return Err(CliError::Usage(format!(
            "the network output is `{}`, not one scalar per input; end with group_pool / global_avg_pool / flatten and dense",
            plan.output
        )));
    }
    Ok(plan)
}

/// Opens (or resumes) a tile store for the Gram matrix of `x1` against `x2` (`None`: itself);
/// each is its array's record, then (for sets) its counts' record.
fn open_store(
    dir: &Path,
    spec: &str,
    groups: &[String],
    x1: &[InputRecord],
    x2: Option<&[InputRecord]>,
    tile: Option<usize>,
    force: bool,
) -> Result<TileStore, CliError> {
    let tile = tile.or_else(|| TileStore::stored_tile(dir));
    let manifest = store_manifest(spec, groups, x1, x2, tile)?;
    Ok(TileStore::open(dir, manifest, force)?.0)
}

/// Checks that two input sets have one kind and per-input shape, and returns their signature.
fn same_input_shape(a: (&str, &Inputs), b: (&str, &Inputs)) -> Result<Signature, CliError> {
    for (name, x) in [a, b] {
        if x.is_empty() {
            return Err(CliError::Usage(format!("{name} has no inputs")));
        }
    }
    let (sa, sb) = (a.1.shape(), b.1.shape());
    if sa.len() != sb.len() {
        return Err(CliError::Usage(format!(
            "{} holds {} but {} holds {}: both must be of one kind",
            a.0,
            a.1.kind(),
            b.0,
            b.1.kind()
        )));
    }
    let (ca, cb) = (sa[sa.len() - 1], sb[sb.len() - 1]);
    if ca != cb {
        return Err(CliError::Usage(format!(
            "{} has {ca} channels but {} has {cb}",
            a.0, b.0
        )));
    }
    let (ga, gb) = (&sa[1..sa.len() - 1], &sb[1..sb.len() - 1]);
    if ga != gb {
        let size = |g: &[usize]| g.iter().map(usize::to_string).collect::<Vec<_>>().join("×");
        let axes = if ga.len() == 3 { " (γ×β×α)" } else { "" };
        return Err(CliError::Usage(format!(
            "{} inputs are {}{axes} but {} inputs are {}: both need the same size",
            a.0,
            size(ga),
            b.0,
            size(gb)
        )));
    }
    Ok(a.1.signature().clone())
}

/// Runs `entk predict`: writes `ntk_mean.npy` and `nngp_mean.npy` (`M×K` mean test predictions
/// of gradient-flow training with the NTK, and of the NNGP-kernel flow), optionally their
/// covariances (`*_cov.npy`, `M×M`) or variances (`*_var.npy`, `M`), and, last, `report.json`.
/// The Gram matrices go through durable tile stores under `out/tiles/`, so a killed run
/// resumes. Every argument is checked before any kernel work. Groups are named in the
/// built-in registry; [`run_predict_in`] takes another.
pub fn run_predict(opts: &PredictOptions) -> Result<PredictReport, CliError> {
    run_predict_in(&entk_reps::default_registry(), opts)
}

/// [`run_predict`] for a spec whose `"group"` names are looked up in `registry`.
pub fn run_predict_in(
    registry: &GroupRegistry,
    opts: &PredictOptions,
) -> Result<PredictReport, CliError> {
    let (net, spec_text) = load_spec(registry, &opts.arch)?;
    let train = load_inputs_for(&net, "train", &opts.train, opts.train_counts.as_deref())?;
    let test = load_inputs_for(&net, "test", &opts.test, opts.test_counts.as_deref())?;
    let labels: Array2<f64> = read_labels(&opts.labels)?;
    let (n, m, k) = (train.features.len(), test.features.len(), labels.ncols());
    same_signature(("--train", &train), ("--test", &test))?;
    if labels.nrows() != n {
        return Err(CliError::Usage(format!(
            "--labels has {} rows but --train has {n} inputs",
            labels.nrows()
        )));
    }
    if k == 0 {
        return Err(CliError::Usage("--labels has no columns".into()));
    }
    if !(opts.diag_reg.is_finite() && opts.diag_reg >= 0.0) {
        return Err(CliError::Usage(format!(
            "--diag-reg must be a finite number ≥ 0, got {}",
            opts.diag_reg
        )));
    }
    if !(opts.learning_rate.is_finite() && opts.learning_rate > 0.0) {
        return Err(CliError::Usage(format!(
            "--learning-rate must be a finite number > 0, got {}",
            opts.learning_rate
        )));
    }
    let time = TrainingTime::from_f64(opts.time.unwrap_or(f64::INFINITY))?;
    pooled_plan(&net, &train.signature)?;
    if opts.tile == Some(0) {
        return Err(CliError::Usage("--tile must be at least 1".into()));
    }
    let cg_possible = time == TrainingTime::Infinite && opts.cov == CovMode::None;
    if opts.solver == Solver::Cg && !cg_possible {
        return Err(CliError::Usage(
            "--solver cg solves the t = ∞ system only and gives no covariances; drop --time and --cov, or use --solver direct".into(),
        ));
    }
    let use_cg = match opts.solver {
        Solver::Cg => true,
        Solver::Direct => false,
        Solver::Auto => {
            let need = 3 * 8 * (n as u64) * (n as u64);
            cg_possible && need > entk_ntk::available_memory().unwrap_or(8 << 30) / 2
        }
    };
    let learning_rate = match opts.time_convention {
        TimeConvention::Entk => opts.learning_rate,
        TimeConvention::Nt => opts.learning_rate / (n * k) as f64,
    };
    let threads = effective_threads(opts.threads);
    let spec = canonical_spec(&spec_text)?;
    let groups = group_identities(registry, &spec_text)?;
    let (train_rec, test_rec) = (&train.records[..], &test.records[..]);
    let labels_rec = InputRecord {
        name: "labels".into(),
        path: opts.labels.display().to_string(),
        shape: labels.shape().to_vec(),
        hash: array_hash(labels.shape(), labels.iter()),
    };

    create_dir(&opts.out)?;
    let dir = opts.out.join("tiles");
    let open = |name: &str, x1, x2| {
        open_store(
            &dir.join(name),
            &spec,
            &groups,
            x1,
            x2,
            opts.tile,
            opts.force,
        )
    };
    let tt_store = open("train_train", train_rec, None)?;
    let xt_store = open("test_train", test_rec, Some(train_rec))?;
    let xx_store = match opts.cov {
        CovMode::Full => Some(open("test_test", test_rec, None)?),
        _ => None,
    };
    let mut stale = vec!["report.json".to_string()];
    for kernel in ["ntk", "nngp"] {
        for what in ["mean", "cov", "var"] {
            stale.push(format!("{kernel}_{what}.npy"));
        }
    }
    remove_stale(
        &opts.out,
        &stale.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;

    let start = Instant::now();
    let (f_train, f_test) = (&train.features, &test.features);
    // With CG, each store's `nngp.npy` and `ntk.npy` are assembled beside its tiles.
    let assembled = |rows: usize, cols: usize| {
        if use_cg {
            2 * tiles::space::npy_bytes(rows, cols)
        } else {
            0
        }
    };
    let mut runs = vec![tiles::compute_missing(
        &tt_store,
        &net,
        f_train,
        None,
        threads,
        "train×train",
        assembled(n, n),
    )?];
    runs.push(tiles::compute_missing(
        &xt_store,
        &net,
        f_test,
        Some(f_train),
        threads,
        "test×train",
        assembled(m, n),
    )?);
    if let Some(store) = &xx_store {
        runs.push(tiles::compute_missing(
            store,
            &net,
            f_test,
            None,
            threads,
            "test×test",
            0,
        )?);
    }
    let test_diag = match opts.cov {
        CovMode::Diag => Some(self_kernels(&net, f_test, threads)?),
        _ => None,
    };
    let kernel_seconds = start.elapsed().as_secs_f64();

    let flow = GradientFlowOptions {
        learning_rate,
        diag_reg: DiagReg::relative(opts.diag_reg),
        ..GradientFlowOptions::default()
    };
    let mut warnings = Vec::new();
    let mut files = Vec::new();
    let kernels: &[Which] = match opts.get {
        GetKernels::Both => &[Which::Ntk, Which::Nngp],
        GetKernels::Ntk => &[Which::Ntk],
        GetKernels::Nngp => &[Which::Nngp],
    };
    let mut write = |file: String, a: &dyn Fn(&Path) -> Result<(), CliError>| {
        a(&opts.out.join(&file))?;
        files.push(file);
        Ok::<(), CliError>(())
    };
    let mut solves = Vec::new();
    if use_cg {
        tiles::assemble(&tt_store, tt_store.dir())?;
        tiles::assemble(&xt_store, xt_store.dir())?;
    }
    // One kernel at a time, so at most the train–train matrices of the covariance are held.
    for &which in kernels {
        let name = which.name();
        if use_cg {
            let file = format!("{name}.npy");
            let mut gram = tiles::NpyGram::open(&tt_store.dir().join(&file), 256)?;
            let sol = conjugate_gradient_solve(
                &mut gram,
                labels.view(),
                &CgOptions {
                    diag_reg: DiagReg::relative(opts.diag_reg),
                    ..CgOptions::default()
                },
            )?;
            if !sol.converged {
                warnings.push(format!(
                    "{name}: conjugate gradients stopped after {} iterations at relative residual {:e}; consider a larger --diag-reg",
                    sol.iterations, sol.relative_residual
                ));
            }
            let mut rows = tiles::NpyRows::open(&xt_store.dir().join(&file))?;
            let mut mean = Array2::<f64>::zeros((m, k));
            rows.for_each_block(256, |r0, v| {
                let block = ndarray::ArrayView2::from_shape((v.len() / n, n), v).expect("rows");
                mean.slice_mut(ndarray::s![r0..r0 + block.nrows(), ..])
                    .assign(&block.dot(&sol.coefficients));
            })?;
            write(format!("{name}_mean.npy"), &|p| write_array(p, &mean))?;
            solves.push(SolveRecord {
                kernel: which,
                solve: Solve::Cg {
                    iterations: sol.iterations,
                    relative_residual: sol.relative_residual,
                },
            });
            continue;
        }
        let tt = tiles::load_matrix(&tt_store, which)?;
        let xt = tiles::load_matrix(&xt_store, which)?;
        let prediction = gradient_flow_mean(tt.view(), xt.view(), labels.view(), time, &flow)?;
        solves.push(SolveRecord {
            kernel: which,
            solve: Solve::Direct(prediction.info.method),
        });
        warnings.extend(
            prediction
                .info
                .warnings
                .iter()
                .map(|w| format!("{name}: {w}")),
        );
        write(format!("{name}_mean.npy"), &|p| {
            write_array(p, &prediction.test)
        })?;
        if opts.cov == CovMode::None {
            continue;
        }
        // The covariance over initialisations: NTK-trained, or (neural-tangents' get='nngp')
        // the NNGP in both roles.
        let (k_tt, k_xt) = match which {
            Which::Ntk => (
                tiles::load_matrix(&tt_store, Which::Nngp)?,
                tiles::load_matrix(&xt_store, Which::Nngp)?,
            ),
            Which::Nngp => (tt.clone(), xt.clone()),
        };
        if let Some(store) = &xx_store {
            let k_xx = tiles::load_matrix(store, Which::Nngp)?;
            let cov = ntk_gp_covariance(
                &NtkGpGrams {
                    ntk_train_train: tt.view(),
                    ntk_test_train: xt.view(),
                    nngp_train_train: k_tt.view(),
                    nngp_test_train: k_xt.view(),
                    nngp_test_test: k_xx.view(),
                },
                time,
                &flow,
            )?;
            write(format!("{name}_cov.npy"), &|p| {
                write_array(p, &cov.covariance)
            })?;
        }
        if let Some(diag) = &test_diag {
            let (var, _) = ntk_gp_variance(
                &NtkGpDiagGrams {
                    ntk_train_train: tt.view(),
                    ntk_test_train: xt.view(),
                    nngp_train_train: k_tt.view(),
                    nngp_test_train: k_xt.view(),
                    nngp_test_test: diag.view(),
                },
                time,
                &flow,
            )?;
            write(format!("{name}_var.npy"), &|p| write_array(p, &var))?;
        }
    }
    let report = PredictReport {
        command: "predict".into(),
        train: n,
        test: m,
        outputs: k,
        time: opts.time.filter(|t| t.is_finite()),
        diag_reg: opts.diag_reg,
        learning_rate: opts.learning_rate,
        time_convention: opts.time_convention,
        effective_learning_rate: learning_rate,
        kernel_seconds,
        tiles: TileCounts::of(&runs),
        warnings,
        solves,
        files,
        provenance: Provenance {
            spec_hash: spec_hash(&spec),
            inputs: train_rec
                .iter()
                .chain(test_rec)
                .cloned()
                .chain([labels_rec])
                .collect(),
            code_version: code_version(),
        },
    };
    write_text(
        &opts.out.join("report.json"),
        &serde_json::to_string_pretty(&report).expect("serialisable"),
    )?;
    Ok(report)
}

/// The NNGP self-kernels `K(x_i, x_i)` of each input, in parallel (each input alone, so the
/// numbers equal the diagonal of a symmetric Gram matrix).
fn self_kernels(
    net: &Network,
    x: &[Features],
    threads: usize,
) -> Result<ndarray::Array1<f64>, CliError> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start {threads} threads: {e}")))?;
    let values: Vec<f64> = pool.install(|| {
        x.par_iter()
            .map(|f| {
                let p = net.prepare_input(f)?;
                Ok(net.self_kernel_prepared(&p)?.0.nngp[0])
            })
            .collect::<Result<_, entk_ntk::NtkError>>()
    })?;
    Ok(ndarray::Array1::from(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_gram_is_one_tile_and_a_large_one_gets_the_default() {
        const CNN: &str = r#"{"layers": [{"type": "conv", "filter": 3}, {"type": "relu"},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#;
        let net = Network::from_json(CNN).unwrap();
        // 8×8 images, a valid 3×3 convolution: 6×6 outputs, 36² values per pair for the
        // convolution and the ReLU each, 1 for each scalar layer after them (the plan's counts).
        let plan = net.plan(&Network::image_signature(8, 8, 1)).unwrap();
        let per_pair: u64 = plan.steps.iter().map(|s| s.values_per_pair as u64).sum();
        assert_eq!(per_pair, 2 * 36 * 36 + 2);
        // Symmetric: n(n+1)/2 pairs; cross: n1·n2 pairs and n1 + n2 selves.
        let fits = |pairs: u64| pairs * per_pair <= ONE_TILE_VALUES;
        for n in [1, 16, 64, 113, 114, 200] {
            let sym = one_tile(&net, &plan, n, None);
            assert_eq!(sym.is_some(), fits((n * (n + 1) / 2) as u64), "n = {n}");
            assert!(sym.is_none_or(|t| t == n));
            let cross = one_tile(&net, &plan, n, Some(3));
            assert_eq!(cross.is_some(), fits((3 * n + n + 3) as u64), "n = {n}");
            assert!(cross.is_none_or(|t| t == n.max(3)));
        }
        // The boundary: 113·114/2 · 2594 = 16 707 954 ≤ 2^24 < 114·115/2 · 2594.
        assert_eq!(one_tile(&net, &plan, 113, None), Some(113));
        assert_eq!(one_tile(&net, &plan, 114, None), None);
    }

    #[test]
    fn work_the_plan_does_not_list_gets_the_default_tile() {
        // 1024 repeats of a 3×3 convolution and a ReLU on 8×8 images: 1024 · 2 · 64² values
        // per pair, which the plan's one `repeat` row (its output's 64² values) does not show;
        // and a strided convolution, whose stride-1 kernel the plan's row does not show.
        const REPEAT: &str = r#"{"layers": [{"type": "repeat", "n": 1024, "layers": [
            {"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"}]},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#;
        const STRIDED: &str = r#"{"layers": [{"type": "conv", "filter": 3, "strides": 2},
            {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#;
        for spec in [REPEAT, STRIDED] {
            let net = Network::from_json(spec).unwrap();
            let plan = net.plan(&Network::image_signature(8, 8, 1)).unwrap();
            let listed: u64 = plan.steps.iter().map(|s| s.values_per_pair as u64).sum();
            assert!(
                5 * listed <= ONE_TILE_VALUES,
                "{listed}: the plan's rows would fit"
            );
            assert_eq!(one_tile(&net, &plan, 2, None), None, "{spec}");
            assert_eq!(one_tile(&net, &plan, 2, Some(1)), None, "{spec}");
        }
    }

    #[test]
    fn discarding_removes_the_results_and_their_partial_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let results = [
            "report.json",
            "nngp.npy",
            "ntk.npy",
            "report.json.partial",
            "nngp.npy.partial",
            "ntk.npy.partial",
        ];
        for name in results {
            std::fs::write(out.join(name), b"x").unwrap();
        }
        std::fs::create_dir(out.join("tiles")).unwrap();
        std::fs::write(out.join("tiles").join("manifest.json"), b"{}").unwrap();
        std::fs::write(out.join("notes.txt"), b"kept").unwrap();
        let e = discarding_on_error::<()>(out, Err(CliError::Usage("it failed".into())));
        assert_eq!(e.unwrap_err().to_string(), "it failed");
        for name in results {
            assert!(!out.join(name).exists(), "{name} was left");
        }
        assert!(out.join("tiles").join("manifest.json").exists());
        assert!(out.join("notes.txt").exists());
        // Absent files are fine, and a success is passed through untouched.
        discard_results(out).unwrap();
        std::fs::write(out.join("report.json"), b"x").unwrap();
        assert_eq!(discarding_on_error(out, Ok(5)).unwrap(), 5);
        assert!(out.join("report.json").exists());
    }
}
