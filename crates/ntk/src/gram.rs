//! Gram matrices of invariant scalar-output networks: parallel over pairs, bounded memory,
//! deterministic for any thread count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ndarray::{Array2, ArrayView2, ArrayView4, ArrayView5, Axis};
use rayon::prelude::*;

use crate::error::InputProblem;
use crate::error::{NtkError, Result};
use crate::layers::{DeepSet, Features, Layer, Signature};
use crate::layout::{Kernel, Layout, Stream};
use crate::network::{
    check_finite, count_recorders, image_features, so3_features, Network, PreparedInput,
};

/// Receives progress updates `(done, total)` in work units (pairs, self-pairs included). Called
/// from worker threads.
pub trait Progress: Sync {
    /// `done` of `total` units finished.
    fn update(&self, done: usize, total: usize);
    /// True when the caller wants the computation stopped (e.g. Ctrl-C in the Python binding).
    /// Polled before every pair; the computation then ends with [`NtkError::Interrupted`] and
    /// nothing half-done is returned. Default: never.
    fn cancelled(&self) -> bool {
        false
    }
}

impl<F: Fn(usize, usize) + Sync> Progress for F {
    fn update(&self, done: usize, total: usize) {
        self(done, total)
    }
}

/// Options of a Gram computation.
#[derive(Clone, Copy, Default)]
pub struct GramOptions<'a> {
    /// Worker threads (a local rayon pool); 0 = rayon's default. Results are identical for
    /// every value.
    pub threads: usize,
    /// Refuse when the estimated peak bytes exceed this; `None` = the machine's available
    /// memory (from `/proc/meminfo`, 8 GiB if unknown).
    pub memory_budget: Option<u64>,
    /// Progress sink.
    pub progress: Option<&'a dyn Progress>,
}

impl std::fmt::Debug for GramOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GramOptions")
            .field("threads", &self.threads)
            .field("memory_budget", &self.memory_budget)
            .finish()
    }
}

/// NNGP and NTK Gram matrices, `N1×N2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gram {
    /// `K(x1_i, x2_j)`.
    pub nngp: Array2<f64>,
    /// `Θ(x1_i, x2_j)`.
    pub ntk: Array2<f64>,
}

/// Available memory in bytes (`MemAvailable`), if known.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl Network {
    /// NNGP and NTK Gram matrices of images `x1` (`N1×H×W×C`) against `x2` (`x2 = None` means
    /// `x1`, and the result is then exactly symmetric: each unordered pair is computed once).
    ///
    /// Each input's self-kernel diagonals, and the first layer's per-input summary where it
    /// offers one ([`crate::Layer::prepare_input`]), are computed once; pairs run in parallel
    /// on a local thread pool of `opts.threads` threads, each pair sequentially, so the numbers
    /// do not depend on the thread count. Only the two output matrices and the recorded diagonals are
    /// kept. Errors: NaN/Inf inputs, mismatched shapes/channels, a network whose output is not
    /// pooled to a scalar, or a peak-memory estimate over the budget.
    pub fn gram(
        &self,
        x1: ArrayView4<f64>,
        x2: Option<ArrayView4<f64>>,
        opts: &GramOptions<'_>,
    ) -> Result<Gram> {
        check_finite("x1", &x1)?;
        if let Some(x2) = &x2 {
            check_finite("x2", x2)?;
            let (a, b) = (x1.dim(), x2.dim());
            if a.3 != b.3 {
                return Err(NtkError::input(
                    InputProblem::Mismatch,
                    format!("x1 has {} channels but x2 has {}", a.3, b.3),
                ));
            }
            if (a.1, a.2) != (b.1, b.2) {
                return Err(NtkError::input(
                    InputProblem::Mismatch,
                    format!(
                        "x1 images are {}×{} but x2 images are {}×{}",
                        a.1, a.2, b.1, b.2
                    ),
                ));
            }
        }
        let f1: Vec<Features> = x1.axis_iter(Axis(0)).map(image_features).collect();
        let f2: Option<Vec<Features>> =
            x2.map(|x| x.axis_iter(Axis(0)).map(image_features).collect());
        self.gram_features(&f1, f2.as_deref(), opts)
    }

    /// [`Network::gram`] for raw SO(3) signals `(N, 2L−1, 2L, 2L−1, C)`, indexed `(γ, β, α)` on
    /// the Driscoll–Healy grid of bandlimit `L` (docs/spec.md#input-arrays, docs/conventions.md#so3;
    /// [`so3_signal_bandlimit`](crate::so3_signal_bandlimit) states the shape rule). The network
    /// must start with `so3_conv` (or `so3_pool`). Errors as [`Network::gram`], plus a one-line
    /// error for a shape that is not an SO(3) grid.
    pub fn gram_so3(
        &self,
        x1: ArrayView5<f64>,
        x2: Option<ArrayView5<f64>>,
        opts: &GramOptions<'_>,
    ) -> Result<Gram> {
        let conv = |name: &str, x: &ArrayView5<f64>| -> Result<Vec<Features>> {
            if let Some((i, v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
                return Err(NtkError::input(
                    InputProblem::NonFinite,
                    format!(
                        "{name}[{},{},{},{},{}] is {v} (inputs must be finite)",
                        i.0, i.1, i.2, i.3, i.4
                    ),
                ));
            }
            x.axis_iter(Axis(0)).map(so3_features).collect()
        };
        let f1 = conv("x1", &x1)?;
        let f2 = match &x2 {
            Some(x2) => {
                let (a, b) = (x1.dim(), x2.dim());
                if a.4 != b.4 {
                    return Err(NtkError::input(
                        InputProblem::Mismatch,
                        format!("x1 has {} channels but x2 has {}", a.4, b.4),
                    ));
                }
                if (a.1, a.2, a.3) != (b.1, b.2, b.3) {
                    return Err(NtkError::input(
                        InputProblem::Mismatch,
                        format!(
                            "x1 SO(3) signals are {}×{}×{} but x2 signals are {}×{}×{} (γ×β×α)",
                            a.1, a.2, a.3, b.1, b.2, b.3
                        ),
                    ));
                }
                Some(conv("x2", x2)?)
            }
            None => None,
        };
        self.gram_features(&f1, f2.as_deref(), opts)
    }

    /// [`Network::gram`] for `N×D` vector inputs (MLPs: the first layer is `dense`,
    /// `K⁰ = x·x′/D`).
    pub fn gram_vectors(
        &self,
        x1: ArrayView2<f64>,
        x2: Option<ArrayView2<f64>>,
        opts: &GramOptions<'_>,
    ) -> Result<Gram> {
        let conv = |name: &str, x: ArrayView2<f64>| -> Result<Vec<Features>> {
            if let Some(((i, j), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
                return Err(NtkError::input(
                    InputProblem::NonFinite,
                    format!("{name}[{i},{j}] is {v} (inputs must be finite)"),
                ));
            }
            let d = x.dim().1;
            Ok(x.axis_iter(Axis(0))
                .map(|r| Features {
                    sig: Signature {
                        layout: Layout::Scalar,
                        channels: d,
                    },
                    data: r.to_vec(),
                })
                .collect())
        };
        let f1 = conv("x1", x1)?;
        let f2 = match x2 {
            Some(x) => {
                if x.dim().1 != x1.dim().1 {
                    return Err(NtkError::input(
                        InputProblem::Mismatch,
                        format!("x1 has {} features but x2 has {}", x1.dim().1, x.dim().1),
                    ));
                }
                Some(conv("x2", x)?)
            }
            None => None,
        };
        self.gram_features(&f1, f2.as_deref(), opts)
    }

    /// The Gram engine on inputs given as [`Features`] (all of one signature).
    ///
    /// Every output is checked before it is returned: a non-finite value or a negative
    /// self-kernel is an [`NtkError::Numerical`] naming the first layer whose kernel went
    /// non-finite and the likely cause. For positively homogeneous networks
    /// ([`crate::Layer::homogeneous`]: bias-free, ReLU-like) inputs of extreme scale are computed
    /// at a power-of-two rescaled size and scaled back, so `1e100` or `1e-100` inputs give the
    /// right answer rather than overflow or underflow. Power-of-two factors are exact.
    pub fn gram_features(
        &self,
        x1: &[Features],
        x2: Option<&[Features]>,
        opts: &GramOptions<'_>,
    ) -> Result<Gram> {
        if x1.is_empty() {
            return Err(NtkError::input(InputProblem::Empty, "x1 is empty"));
        }
        let sig = &x1[0].sig;
        if sig.channels == 0 || sig.positions() == 0 {
            return Err(NtkError::input(
                InputProblem::Empty,
                format!(
                    "inputs have {} channels and {} positions per channel; both must be ≥ 1",
                    sig.channels,
                    sig.positions()
                ),
            ));
        }
        let rescaled = self.homogeneous_rescaling(x1, x2);
        let mut gram = match &rescaled {
            None => self.gram_unchecked(x1, x2, opts)?,
            Some((y1, y2, _, _)) => self.gram_unchecked(y1, y2.as_deref(), opts)?,
        };
        if let Some((_, _, e1, e2)) = &rescaled {
            let e2 = e2.as_ref().unwrap_or(e1);
            for ((i, j), v) in gram.nngp.indexed_iter_mut() {
                *v = scale_pow2(*v, e1[i] + e2[j]);
            }
            for ((i, j), v) in gram.ntk.indexed_iter_mut() {
                *v = scale_pow2(*v, e1[i] + e2[j]);
            }
        }
        self.check_output(&gram, x1, x2)?;
        Ok(gram)
    }

    /// For a homogeneous network and inputs whose largest magnitude lies outside
    /// `2^±SAFE_EXPONENT`: inputs scaled by `2^−e` (each its own `e`) and the exponents.
    #[allow(clippy::type_complexity)]
    fn homogeneous_rescaling(
        &self,
        x1: &[Features],
        x2: Option<&[Features]>,
    ) -> Option<(
        Vec<Features>,
        Option<Vec<Features>>,
        Vec<i32>,
        Option<Vec<i32>>,
    )> {
        const SAFE_EXPONENT: i32 = 64;
        let exponent = |f: &Features| {
            let m = f.data.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if m > 0.0 && m.is_finite() {
                m.log2().floor() as i32
            } else {
                0
            }
        };
        let extreme = x1
            .iter()
            .chain(x2.unwrap_or(&[]))
            .any(|f| exponent(f).abs() > SAFE_EXPONENT);
        if !extreme || !self.root.homogeneous() {
            return None;
        }
        let scale = |xs: &[Features]| -> (Vec<Features>, Vec<i32>) {
            xs.iter()
                .map(|f| {
                    let e = exponent(f);
                    let data = f.data.iter().map(|v| scale_pow2(*v, -e)).collect();
                    (
                        Features {
                            sig: f.sig.clone(),
                            data,
                        },
                        e,
                    )
                })
                .unzip()
        };
        let (y1, e1) = scale(x1);
        let (y2, e2) = match x2 {
            Some(x) => {
                let (y, e) = scale(x);
                (Some(y), Some(e))
            }
            None => (None, None),
        };
        Some((y1, y2, e1, e2))
    }

    /// Refuses non-finite outputs and negative self-kernels, naming the layer where the kernel
    /// of the offending input first stopped being finite.
    fn check_output(&self, g: &Gram, x1: &[Features], x2: Option<&[Features]>) -> Result<()> {
        let symmetric = x2.is_none();
        let bad = g
            .nngp
            .indexed_iter()
            .map(|(ij, v)| ("NNGP", ij, *v))
            .chain(g.ntk.indexed_iter().map(|(ij, v)| ("NTK", ij, *v)))
            .find(|&(_, (i, j), v)| !v.is_finite() || (symmetric && i == j && v < 0.0));
        let Some((which, (i, j), v)) = bad else {
            return Ok(());
        };
        let xa = &x1[i];
        let xb = x2.map_or(&x1[j], |x| &x[j]);
        let scale = [xa, xb]
            .iter()
            .flat_map(|f| f.data.iter())
            .fold(0.0f64, |a, v| a.max(v.abs()));
        let second = if symmetric { "x1" } else { "x2" };
        let place = match [xa, xb].iter().find_map(|f| self.first_nonfinite_layer(f)) {
            Some((k, name)) => {
                format!("the kernel first becomes non-finite at layer {k} (`{name}`)")
            }
            None => "every layer's self-kernel is finite, so the cross kernel or the final value \
                     lost precision"
                .to_string(),
        };
        Err(NtkError::Numerical(format!(
            "the {which} entry for (x1[{i}], {second}[{j}]) is {v}; {place}; likely cause: input \
             scale (largest |x| = {scale:e}) or w_std/b_std/nonlinearity parameters too large or \
             too small for f64 — rescale the inputs or the parameters"
        )))
    }

    /// The first top-level layer whose self-kernel output for `x` has a non-finite value.
    fn first_nonfinite_layer(&self, x: &Features) -> Option<(usize, String)> {
        let mut rec = Vec::new();
        let mut ctx = crate::layout::KernelCtx {
            diag: crate::layout::DiagMode::Record(&mut rec),
        };
        let mut k = crate::layout::Stream::One(crate::layout::Kernel::from_features(x, x).ok()?);
        for (i, layer) in self.root.layers.iter().enumerate() {
            k = layer.kernel(k, &mut ctx).ok()?;
            let finite =
                |k: &crate::layout::Kernel| k.nngp.iter().chain(&k.ntk).all(|v| v.is_finite());
            let ok = match &k {
                crate::layout::Stream::One(k) => finite(k),
                crate::layout::Stream::Many(v) => v.iter().all(finite),
            };
            if !ok {
                return Some((i, layer.describe()));
            }
        }
        None
    }

    fn gram_unchecked(
        &self,
        x1: &[Features],
        x2: Option<&[Features]>,
        opts: &GramOptions<'_>,
    ) -> Result<Gram> {
        let threads = self.check_block(x1.iter().chain(x2.unwrap_or(&[])), opts.threads)?;
        // Kernel-sized buffers are recycled across pairs, threads and calls (crate::scratch).
        let _buffers = crate::scratch::session(threads);
        if let Some(ds) = self.root.layers.first().and_then(|l| l.as_deep_set()) {
            if let Some(g) = self.gram_of_sets(ds, x1, x2, threads, opts)? {
                return Ok(g);
            }
        }
        self.check_memory(x1, x2, threads, opts)?;
        on_pool(threads, || self.gram_on_pool(x1, x2, opts, None))
    }

    /// The checks of a Gram computation before any work, over all its `inputs` (at least one):
    /// one signature for every input, a pooled plan; returns the thread count (`threads`, or
    /// rayon's default for 0).
    fn check_block<'f>(
        &self,
        mut inputs: impl Iterator<Item = &'f Features>,
        threads: usize,
    ) -> Result<usize> {
        let sig = inputs.next().expect("at least one input").sig.clone();
        if let Some(bad) = inputs.find(|f| f.sig != sig) {
            return Err(NtkError::input(
                InputProblem::Mismatch,
                format!(
                    "inputs differ in shape: {} × {} vs {} × {}",
                    sig.layout, sig.channels, bad.sig.layout, bad.sig.channels
                ),
            ));
        }
        let plan = self.plan(&sig)?;
        if !plan.is_pooled() {
            return Err(NtkError::spec(format!("the network output is `{}`, not one scalar per input; end with group_pool / global_avg_pool / flatten and dense", plan.output)));
        }
        Ok(resolve_threads(threads))
    }

    /// Refuses a computation whose peak-memory estimate exceeds the budget.
    fn check_memory(
        &self,
        x1: &[Features],
        x2: Option<&[Features]>,
        threads: usize,
        opts: &GramOptions<'_>,
    ) -> Result<()> {
        let plan = self.plan(&x1[0].sig)?;
        let estimate = plan.peak_bytes(x1.len(), x2.map(|x| x.len()), threads);
        let budget = opts
            .memory_budget
            .or_else(available_memory)
            .unwrap_or(8 << 30);
        if estimate > budget {
            return Err(NtkError::OutOfMemory {
                estimated_bytes: estimate,
                budget_bytes: budget,
            });
        }
        Ok(())
    }

    /// The Gram matrices of `x1` against `x2` on the current thread pool: a parallel pass over
    /// the distinct inputs (first-layer summary, self-kernel and its recorded diagonals), then
    /// one over the cross pairs. With `shared`, each input's self pass is looked up in (and
    /// added to) the cache of a [`GramBlocks`] under its key (side, index in the whole set);
    /// the numbers are the same either way.
    fn gram_on_pool<'a>(
        &self,
        x1: &'a [Features],
        x2: Option<&'a [Features]>,
        opts: &GramOptions<'_>,
        shared: Option<(&SelfCache<'a>, &[(usize, usize)])>,
    ) -> Result<Gram> {
        let n1 = x1.len();
        let symmetric = x2.is_none();
        let x2v = x2.unwrap_or(x1);
        let n2v = x2v.len();
        let cross: Vec<(usize, usize)> = if symmetric {
            (0..n1)
                .flat_map(|i| (i + 1..n1).map(move |j| (i, j)))
                .collect()
        } else {
            (0..n1)
                .flat_map(|i| (0..n2v).map(move |j| (i, j)))
                .collect()
        };
        let n_self = if symmetric { n1 } else { n1 + n2v };
        let total = n_self + cross.len();
        let done = AtomicUsize::new(0);
        let tick = || {
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = opts.progress {
                p.update(d, total);
            }
        };
        let check = || match opts.progress {
            Some(p) if p.cancelled() => Err(NtkError::Interrupted),
            _ => Ok(()),
        };
        // Self pass over every distinct input: its pooled value and recorded diagonals.
        let selves: Vec<&'a Features> = x1
            .iter()
            .chain(if symmetric { &[][..] } else { x2v })
            .collect();
        let cached: Vec<Option<Arc<SelfTerms<'a>>>> = match shared {
            Some((cache, keys)) => keys.iter().map(|k| cache.get(k)).collect(),
            None => vec![None; selves.len()],
        };
        for _ in cached.iter().flatten() {
            tick();
        }
        let computed: Vec<Option<Arc<SelfTerms<'a>>>> = selves
            .par_iter()
            .zip(&cached)
            .map(|(x, have)| {
                if have.is_some() {
                    return Ok(None);
                }
                let prepared = self.prepare_input(x)?;
                Ok(Some(prepared))
            })
            .collect::<Result<Vec<_>>>()?
            .into_par_iter()
            .map(|prepared| {
                let Some(prepared) = prepared else {
                    return Ok(None);
                };
                check()?;
                let (k, rec) = self.self_kernel_prepared(&prepared)?;
                tick();
                Ok(Some(Arc::new(SelfTerms {
                    prepared,
                    nngp: k.nngp[0],
                    ntk: k.ntk[0],
                    rec,
                })))
            })
            .collect::<Result<_>>()?;
        let terms: Vec<Arc<SelfTerms<'a>>> = cached
            .into_iter()
            .zip(computed)
            .enumerate()
            .map(|(i, (have, new))| match (have, new) {
                (Some(t), _) => t,
                (None, Some(t)) => {
                    if let Some((cache, keys)) = shared {
                        cache.insert(keys[i], &t);
                    }
                    t
                }
                (None, None) => unreachable!("every input is cached or computed"),
            })
            .collect();
        let rec2_base = if symmetric { 0 } else { n1 };
        let vals: Vec<(f64, f64)> = cross
            .par_iter()
            .map(|&(i, j)| {
                check()?;
                let (a, b) = (&terms[i], &terms[rec2_base + j]);
                let k = self.cross_kernel_prepared(&a.prepared, &b.prepared, &a.rec, &b.rec)?;
                tick();
                Ok((k.nngp[0], k.ntk[0]))
            })
            .collect::<Result<_>>()?;
        let diag = (0..n1)
            .filter(|_| symmetric)
            .map(|i| ((i, i), (terms[i].nngp, terms[i].ntk)));
        let entries = diag.chain(cross.iter().copied().zip(vals.iter().copied()));
        Ok(gram_of_entries(n1, n2v, symmetric, entries))
    }
}

/// Runs `f` on a pool of `threads` workers: the current rayon pool when the caller already runs
/// on one of that size (the blocks of a [`GramBlocks`] share one), else a new local pool.
fn on_pool<R: Send>(threads: usize, f: impl FnOnce() -> Result<R> + Send) -> Result<R> {
    if rayon::current_thread_index().is_some() && rayon::current_num_threads() == threads {
        return f();
    }
    thread_pool(threads)?.install(f)
}

/// `threads` workers, or rayon's default for 0.
fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        rayon::current_num_threads()
    } else {
        threads
    }
}

/// A new local pool of `threads` workers.
fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| NtkError::Threads(e.to_string()))
}

/// One input's self pass: its first-layer summary, pooled self-kernel and recorded diagonals.
struct SelfTerms<'a> {
    prepared: PreparedInput<'a>,
    nngp: f64,
    ntk: f64,
    rec: Vec<Vec<f64>>,
}

impl SelfTerms<'_> {
    /// Bytes of the recorded diagonals (what the cache's budget counts).
    fn bytes(&self) -> usize {
        self.rec.iter().map(|r| 8 * r.len()).sum::<usize>() + 64
    }
}

/// The self passes of a [`GramBlocks`] computation, by (side, index): up to a byte budget;
/// inputs beyond it are recomputed by every block that holds them.
struct SelfCache<'a> {
    entries: Mutex<Cached<'a>>,
    budget: usize,
}

/// The cached self passes by (side, index), and their bytes.
type Cached<'a> = (HashMap<(usize, usize), Arc<SelfTerms<'a>>>, usize);

impl<'a> SelfCache<'a> {
    fn lock(&self) -> MutexGuard<'_, Cached<'a>> {
        // Inserts and lookups cannot leave the map inconsistent: keep using it after a panic.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn get(&self, key: &(usize, usize)) -> Option<Arc<SelfTerms<'a>>> {
        self.lock().0.get(key).cloned()
    }
    fn insert(&self, key: (usize, usize), terms: &Arc<SelfTerms<'a>>) {
        let mut guard = self.lock();
        let (map, bytes) = &mut *guard;
        let size = terms.bytes();
        if *bytes + size <= self.budget && !map.contains_key(&key) {
            *bytes += size;
            map.insert(key, Arc::clone(terms));
        }
    }
}

/// Byte budget of a [`GramBlocks`] self-pass cache.
const SELF_CACHE_BYTES: usize = 256 << 20;

/// A Gram matrix computed block by block (the tiles of `entk kernel`): every block is bit for
/// bit [`Network::gram_features`] of its inputs (a diagonal block of a symmetric matrix is the
/// symmetric computation of its inputs), but all blocks run on one thread pool, and each
/// input's self pass (first-layer summary, self-kernel and its recorded diagonals) is done once
/// and shared by the blocks that hold it, up to 256 MiB of recorded diagonals; inputs beyond
/// that are redone per block as [`Network::gram_features`] does. Make one with
/// [`Network::gram_blocks`].
pub struct GramBlocks<'a> {
    net: &'a Network,
    x1: &'a [Features],
    x2: Option<&'a [Features]>,
    threads: usize,
    pool: rayon::ThreadPool,
    cache: SelfCache<'a>,
    /// Inputs of extreme scale for a homogeneous network: blocks go through
    /// [`Network::gram_features`] (which rescales them) without sharing.
    plain: bool,
}

impl Network {
    /// A block-by-block Gram computation of `x1` against `x2` (`None`: itself) on a pool of
    /// `threads` workers (0: rayon's default), [`GramBlocks`].
    pub fn gram_blocks<'a>(
        &'a self,
        x1: &'a [Features],
        x2: Option<&'a [Features]>,
        threads: usize,
    ) -> Result<GramBlocks<'a>> {
        let threads = resolve_threads(threads);
        let pool = thread_pool(threads)?;
        let deep_set = self
            .root
            .layers
            .first()
            .is_some_and(|l| l.as_deep_set().is_some());
        Ok(GramBlocks {
            net: self,
            x1,
            x2,
            threads,
            pool,
            cache: SelfCache {
                entries: Mutex::new((HashMap::new(), 0)),
                budget: SELF_CACHE_BYTES,
            },
            plain: deep_set || self.homogeneous_rescaling(x1, x2).is_some(),
        })
    }
}

impl GramBlocks<'_> {
    /// The block of rows `rows` (of `x1`) and columns `cols` (of `x2`, or of `x1` when
    /// symmetric): equal to `gram_features(&x1[rows], Some(&x2[cols]))`, or, for
    /// `rows == cols` of a symmetric computation, `gram_features(&x1[rows], None)`.
    /// `opts.threads` is ignored (the blocks' pool runs them); its progress counts the block's
    /// units from 0, inputs whose self pass is shared credited at once.
    pub fn block(
        &self,
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
        opts: &GramOptions<'_>,
    ) -> Result<Gram> {
        let opts = GramOptions {
            threads: self.threads,
            ..*opts
        };
        let net = self.net;
        let symmetric = self.x2.is_none() && rows == cols;
        let a = &self.x1[rows.clone()];
        let b = (!symmetric).then(|| &self.x2.unwrap_or(self.x1)[cols.clone()]);
        self.pool.install(|| {
            // Extreme scales, empty blocks and empty signals: gram_features' own paths.
            let empty = a.is_empty()
                || b.is_some_and(<[Features]>::is_empty)
                || a[0].sig.channels == 0
                || a[0].sig.positions() == 0;
            if self.plain || empty {
                return net.gram_features(a, b, &opts);
            }
            let threads = net.check_block(a.iter().chain(b.unwrap_or(&[])), opts.threads)?;
            let _buffers = crate::scratch::session(threads);
            net.check_memory(a, b, threads, &opts)?;
            // Keys: side 0 for x1, side 1 for a separate x2.
            let side = usize::from(self.x2.is_some());
            let keys: Vec<(usize, usize)> = rows
                .clone()
                .map(|i| (0, i))
                .chain(cols.clone().filter(|_| !symmetric).map(|j| (side, j)))
                .collect();
            let gram = net.gram_on_pool(a, b, &opts, Some((&self.cache, &keys)))?;
            net.check_output(&gram, a, b)?;
            Ok(gram)
        })
    }
}

impl Network {
    /// The Gram matrices of a network that starts with `deep_set`, from one element-level Gram
    /// matrix over the unique elements ([`DeepSet`]); `None` when the element network's output
    /// is not one scalar per element (the generic per-pair path then sums element kernels per
    /// pair of sets). The layers after `deep_set` run per pair of sets on the pooled kernels,
    /// with each set's self-kernel recorded once, as in the generic engine.
    fn gram_of_sets(
        &self,
        ds: &DeepSet,
        x1: &[Features],
        x2: Option<&[Features]>,
        threads: usize,
        opts: &GramOptions<'_>,
    ) -> Result<Option<Gram>> {
        let head_records = self.root.layers[1..]
            .iter()
            .any(|l| count_recorders(&**l) > 0);
        let (n1, n2) = (x1.len(), x2.map_or(x1.len(), <[Features]>::len));
        let symmetric = x2.is_none();
        let units = if symmetric {
            n1 * (n1 + 1) / 2
        } else {
            n1 * n2 + n1 + n2
        };
        let opts = GramOptions { threads, ..*opts };
        let Some(pooled) = ds.pooled_grams(x1, x2, !symmetric && head_records, units, &opts)?
        else {
            return Ok(None);
        };
        let (k, t) = &pooled.cross;
        let scalar = |nngp: f64, ntk: f64| {
            Stream::One(Kernel {
                layout: Layout::Scalar,
                nngp: vec![nngp],
                ntk: vec![ntk],
                channels: pooled.channels,
            })
        };
        let head_self = |v: &[(f64, f64)]| -> Result<Vec<(Kernel, Vec<Vec<f64>>)>> {
            v.par_iter()
                .map(|&(a, b)| self.self_kernel_from(1, scalar(a, b)))
                .collect()
        };
        let gram = on_pool(threads, || -> Result<Gram> {
            let (selves1, selves2) = match (&pooled.selves, symmetric) {
                (_, true) => {
                    let diag: Vec<(f64, f64)> = (0..n1).map(|i| (k[[i, i]], t[[i, i]])).collect();
                    (head_self(&diag)?, None)
                }
                (Some((s1, s2)), false) => (head_self(s1)?, Some(head_self(s2)?)),
                (None, false) => (Vec::new(), None),
            };
            let none: Vec<Vec<f64>> = Vec::new();
            let rows: Vec<Vec<(f64, f64)>> = (0..n1)
                .into_par_iter()
                .map(|i| {
                    if opts.progress.is_some_and(|p| p.cancelled()) {
                        return Err(NtkError::Interrupted);
                    }
                    let r1 = selves1.get(i).map_or(&none, |s| &s.1);
                    (0..n2)
                        .map(|j| {
                            if symmetric && j == i {
                                let s = &selves1[i].0;
                                return Ok((s.nngp[0], s.ntk[0]));
                            }
                            if symmetric && j < i {
                                return Ok((0.0, 0.0));
                            }
                            let r2 = match &selves2 {
                                Some(v) => v.get(j).map_or(&none, |s| &s.1),
                                None => selves1.get(j).map_or(&none, |s| &s.1),
                            };
                            let o =
                                self.cross_kernel_from(1, scalar(k[[i, j]], t[[i, j]]), r1, r2)?;
                            Ok((o.nngp[0], o.ntk[0]))
                        })
                        .collect()
                })
                .collect::<Result<_>>()?;
            let entries = rows.iter().enumerate().flat_map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .filter(move |(j, _)| !symmetric || *j >= i)
                    .map(move |(j, &v)| ((i, j), v))
            });
            Ok(gram_of_entries(n1, n2, symmetric, entries))
        })?;
        if let Some(p) = opts.progress {
            p.update(units, units);
        }
        Ok(Some(gram))
    }
}

/// The `n1 × n2` Gram matrices holding `((i, j), (nngp, ntk))` entries, each also at `(j, i)`
/// when `symmetric`.
fn gram_of_entries(
    n1: usize,
    n2: usize,
    symmetric: bool,
    entries: impl Iterator<Item = ((usize, usize), (f64, f64))>,
) -> Gram {
    let mut nngp = Array2::zeros((n1, n2));
    let mut ntk = Array2::zeros((n1, n2));
    for ((i, j), (a, b)) in entries {
        nngp[[i, j]] = a;
        ntk[[i, j]] = b;
        if symmetric {
            nngp[[j, i]] = a;
            ntk[[j, i]] = b;
        }
    }
    Gram { nngp, ntk }
}

/// `v · 2^e`, exactly (two steps so that `2^e` itself never overflows).
fn scale_pow2(v: f64, e: i32) -> f64 {
    let half = e / 2;
    v * 2f64.powi(half) * 2f64.powi(e - half)
}
