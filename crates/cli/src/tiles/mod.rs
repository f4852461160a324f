//! Durable, resumable Gram matrices: the matrix is cut into tiles ([`TileGrid`]), each finished
//! tile is saved to a [`TileStore`] under the output folder (fsynced in the background as soon
//! as it is saved, and all of them before the computation returns: [`store`]), and a rerun
//! computes only the missing ones. The result is assembled on disk ([`assemble()`]) once every tile is there.
//!
//! A tile is the [`Gram`] of its block of inputs (rows × columns of the whole matrix), computed
//! by the engine's own Gram routine, so the numbers
//! are bit-for-bit those of [`entk_ntk::Network::gram`] on the whole set, for any tile size and
//! thread count: a diagonal tile of a symmetric grid uses the symmetric routine (self-kernels
//! on its diagonal), every other tile the cross routine; both evaluate each pair alone.
//!
//! Users: `entk kernel` (one process, or MPI ranks sharing one store: [`crate::distributed`]),
//! `entk predict`, and the experiments ([`gram_in_store`], stores named by what they hold).
//! Before tiles or results are written, [`space`] checks that they fit on the disk. Finished
//! work that is not a tile (a finite network's results) is kept in [`records`], checksummed
//! too, each record made durable as it is written.

pub mod assemble;
pub mod grid;
pub mod hash;
pub mod records;
pub mod space;
pub mod store;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use entk_ntk::{Features, Gram, GramBlocks, GramOptions, Network};

pub(crate) use assemble::assemble_with;
pub use assemble::{assemble, load_matrix, npy_header, NpyGram, NpyRows, Which};
pub use grid::{default_tile, TileGrid, TileId};
pub use store::{Manifest, Opened, TileStore};

use crate::progress::Bar;
use crate::CliError;

/// What a tile run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileRun {
    /// Tiles of the grid.
    pub total: usize,
    /// Tiles found finished in the store.
    pub reused: usize,
    /// Tiles computed now.
    pub computed: usize,
    /// Tile files that were there but unusable (truncated, damaged, foreign), recomputed.
    pub damaged: Vec<String>,
}

/// Computes one tile of the store's grid.
pub fn compute_tile(
    net: &Network,
    grid: &TileGrid,
    id: TileId,
    x1: &[Features],
    x2: Option<&[Features]>,
    opts: &GramOptions<'_>,
) -> Result<Gram, CliError> {
    let (r, c) = grid.extent(id);
    let rows = &x1[r.clone()];
    let gram = if grid.symmetric && id.row == id.col {
        net.gram_features(rows, None, opts)?
    } else {
        let other = x2.unwrap_or(x1);
        net.gram_features(rows, Some(&other[c.clone()]), opts)?
    };
    check_tile(&gram.nngp, &gram.ntk, r.start, c.start, grid.symmetric)?;
    Ok(gram)
}

/// [`compute_tile`] through the blocks of one computation ([`GramBlocks`]: one thread pool for
/// every tile, each input's self pass shared by its tiles); the same numbers.
fn compute_block(
    blocks: &GramBlocks<'_>,
    grid: &TileGrid,
    id: TileId,
    opts: &GramOptions<'_>,
) -> Result<Gram, CliError> {
    let (r, c) = grid.extent(id);
    let gram = blocks.block(r.clone(), c.clone(), opts)?;
    check_tile(&gram.nngp, &gram.ntk, r.start, c.start, grid.symmetric)?;
    Ok(gram)
}

/// A kernel value that is not finite, or a negative self-kernel, is an error naming the pair.
fn check_tile(
    nngp: &ndarray::Array2<f64>,
    ntk: &ndarray::Array2<f64>,
    r0: usize,
    c0: usize,
    symmetric: bool,
) -> Result<(), CliError> {
    for (name, a) in [("NNGP", nngp), ("NTK", ntk)] {
        if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(CliError::Usage(format!(
                "the {name} of inputs ({}, {}) is {v}: the kernel overflows or is undefined in f64; \
                 check the input scale and the layer parameters (w_std, b_std, nonlinearity parameters)",
                r0 + i,
                c0 + j
            )));
        }
        if symmetric && r0 == c0 {
            if let Some((i, v)) = a.diag().iter().enumerate().find(|(_, v)| **v < 0.0) {
                return Err(CliError::Usage(format!(
                    "the {name} self-kernel of input {} is negative ({v:e}), which no network has: \
                     rounding failed at this input scale or with these layer parameters",
                    r0 + i
                )));
            }
        }
    }
    Ok(())
}

/// Progress of one tile inside the progress of the whole run: the engine counts the tile's
/// pairs from 0, the run's progress continues from `base`.
struct Offset<'a> {
    inner: &'a dyn entk_ntk::Progress,
    base: usize,
    total: usize,
}

impl entk_ntk::Progress for Offset<'_> {
    fn update(&self, done: usize, _tile_total: usize) {
        self.inner.update(self.base + done, self.total);
    }
    fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }
}

/// The tiles of a store: those found finished, and those still to compute.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Counts so far (`computed` is 0).
    pub run: TileRun,
    /// Tiles to compute, block-row by block-row.
    pub missing: Vec<TileId>,
}

impl Pending {
    /// Bytes the missing tiles will take on disk.
    pub fn bytes(&self, store: &TileStore) -> u64 {
        self.missing.iter().map(|&id| store.file_bytes(id)).sum()
    }

    /// Work units of the missing tiles ([`TileGrid::work`]).
    pub fn work(&self, grid: &TileGrid) -> usize {
        self.missing.iter().map(|&id| grid.work(id)).sum()
    }
}

/// Reads every tile of `store` (checking each one's checksum and identity): the finished ones
/// are counted as reused; missing and unusable ones (a note on stderr names each unusable file)
/// are to be computed.
pub fn scan(store: &TileStore) -> Pending {
    let tiles = store.manifest().grid().tiles();
    let mut run = TileRun {
        total: tiles.len(),
        ..TileRun::default()
    };
    let mut missing = Vec::new();
    for id in tiles {
        match store.load(id) {
            Ok(Some(_)) => run.reused += 1,
            Ok(None) => missing.push(id),
            Err(why) => {
                run.damaged.push(why);
                missing.push(id);
            }
        }
    }
    for why in &run.damaged {
        eprintln!("note: {why}; recomputing it");
    }
    Pending { run, missing }
}

/// Refuses to start when the missing tiles of `pending` plus `then` more bytes (the results
/// written after them) do not fit on the store's disk.
pub fn check_pending_space(
    store: &TileStore,
    pending: &Pending,
    then: u64,
) -> Result<(), CliError> {
    space::check_space(
        store.dir(),
        pending.bytes(store) + then,
        &format!(
            "the {} missing tiles and the results",
            pending.missing.len()
        ),
    )
}

/// Computes every tile missing from `store` (tiles in block-row order, each in parallel over
/// its pairs on `threads` threads) and saves each as soon as it is done, fsynced in the
/// background as soon as it is saved and all before it returns. Before any
/// work, the missing tiles and `results_bytes` more (what the caller writes afterwards) must
/// fit on the disk ([`check_pending_space`]). `message` labels the progress bar; when stderr
/// is not a terminal, a one-line progress report with an ETA is printed at most every 30 s
/// instead.
pub fn compute_missing(
    store: &TileStore,
    net: &Network,
    x1: &[Features],
    x2: Option<&[Features]>,
    threads: usize,
    message: &str,
    results_bytes: u64,
) -> Result<TileRun, CliError> {
    compute_missing_then(
        store,
        (net, x1, x2),
        threads,
        message,
        results_bytes,
        |_| Ok(()),
    )
    .map(|(run, ())| run)
}

/// [`compute_missing`], then `then` on the run's counts (when every tile is there) while the
/// last tiles' `fsync`s run on another thread (`TileStore::sync_while_then`): `entk kernel`
/// writes its results from the saved tiles meanwhile. Both have ended when it returns.
pub fn compute_missing_then<U>(
    store: &TileStore,
    (net, x1, x2): (&Network, &[Features], Option<&[Features]>),
    threads: usize,
    message: &str,
    results_bytes: u64,
    then: impl FnOnce(&TileRun) -> Result<U, CliError>,
) -> Result<(TileRun, U), CliError> {
    let pending = scan(store);
    check_pending_space(store, &pending, results_bytes)?;
    let grid = store.manifest().grid();
    let work = pending.work(&grid);
    let bar = Bar::new(message);
    let log = !std::io::stderr().is_terminal();
    let (start, mut last_log) = (Instant::now(), Instant::now());
    let count = pending.missing.len();
    compute_pending(
        store,
        net,
        (x1, x2),
        threads,
        pending,
        &bar,
        0,
        |run, done| {
            if log && (last_log.elapsed() >= Duration::from_secs(30) || run.computed == count) {
                last_log = Instant::now();
                let secs = start.elapsed().as_secs_f64();
                let eta = secs * (work - done) as f64 / done.max(1) as f64;
                eprintln!(
                    "{message}: {} of {} tiles ({:.1} %), {secs:.0} s elapsed, eta {eta:.0} s",
                    run.reused + run.computed,
                    run.total,
                    100.0 * done as f64 / work.max(1) as f64
                );
            }
        },
        |run| {
            bar.finish();
            then(run)
        },
    )
}

/// Computes and saves the missing tiles of `pending` one after the other, reporting the
/// engine's pairs to `progress` as one count that starts at `base`; `after` sees the counts
/// and the work done so far after each saved tile; `then` sees the final counts once every
/// tile is saved, while the last ones are synced. The tiles are synced while it runs and
/// before it returns, also on an error ([`TileStore::sync_while_then`]).
#[allow(clippy::too_many_arguments)]
fn compute_pending<U>(
    store: &TileStore,
    net: &Network,
    (x1, x2): (&[Features], Option<&[Features]>),
    threads: usize,
    pending: Pending,
    progress: &dyn entk_ntk::Progress,
    base: usize,
    mut after: impl FnMut(&TileRun, usize),
    then: impl FnOnce(&TileRun) -> Result<U, CliError>,
) -> Result<(TileRun, U), CliError> {
    let grid = store.manifest().grid();
    let total = base + pending.work(&grid);
    let Pending { mut run, missing } = pending;
    if missing.is_empty() {
        let next = then(&run)?;
        return Ok((run, next));
    }
    let blocks = net.gram_blocks(x1, x2, threads)?;
    let mut done = 0;
    store.sync_while_then(
        || {
            for &id in &missing {
                let offset = Offset {
                    inner: progress,
                    base: base + done,
                    total,
                };
                let opts = GramOptions {
                    threads,
                    memory_budget: None,
                    progress: Some(&offset),
                };
                let tile = compute_block(&blocks, &grid, id, &opts)?;
                store.save(id, &tile)?;
                run.computed += 1;
                done += grid.work(id);
                after(&run, done);
            }
            Ok(run)
        },
        then,
    )
}

/// The Gram matrices of `x1` against `x2` (`None`: itself), through a durable tile store in
/// `root` that is named by what it holds: the network (`key`, any text that identifies the
/// network and its parameters), the inputs' signature and values, and the code version. A rerun
/// after a kill finds the same store and computes only its missing tiles (a note on stderr
/// says how many were reused); another computation gets another store. The numbers are bit for
/// bit those of [`Network::gram_features`] on the whole set. `progress` sees the engine's
/// pairs, reused tiles credited at once.
pub fn gram_in_store(
    root: &std::path::Path,
    net: &Network,
    key: &str,
    x1: &[Features],
    x2: Option<&[Features]>,
    threads: usize,
    progress: Option<&dyn entk_ntk::Progress>,
) -> Result<entk_ntk::Gram, CliError> {
    let manifest = cache_manifest(key, x1, x2);
    let dir = root.join(format!("{:032x}", manifest.identity()));
    let store = match TileStore::open(&dir, manifest.clone(), false) {
        Ok((store, _)) => store,
        // The folder cannot be written (read-only, full, no permission): say so.
        Err(e @ CliError::Io { .. }) => return Err(e),
        // A damaged manifest: the store is only a cache, start it over.
        Err(e) => {
            eprintln!("note: {e}; starting it over");
            TileStore::open(&dir, manifest, true)?.0
        }
    };
    let pending = scan(&store);
    check_pending_space(&store, &pending, 0)?;
    let grid = store.manifest().grid();
    let all = grid.tiles().iter().map(|&id| grid.work(id)).sum::<usize>();
    let reused_work = all - pending.work(&grid);
    if pending.run.reused > 0 {
        eprintln!(
            "note: reused {} of {} tiles of a Gram matrix from {}",
            pending.run.reused,
            pending.run.total,
            dir.display()
        );
    }
    let quiet = NoProgress;
    let progress = progress.unwrap_or(&quiet);
    progress.update(reused_work, all);
    compute_pending(
        &store,
        net,
        (x1, x2),
        threads,
        pending,
        progress,
        reused_work,
        |_, _| {},
        |_| Ok(()),
    )?;
    Ok(entk_ntk::Gram {
        nngp: load_matrix(&store, Which::Nngp)?,
        ntk: load_matrix(&store, Which::Ntk)?,
    })
}

/// The manifest of [`gram_in_store`]'s store for these inputs: named by `key` and the inputs'
/// signature and values, default tile.
fn cache_manifest(key: &str, x1: &[Features], x2: Option<&[Features]>) -> Manifest {
    let record = |name: &str, x: &[Features]| store::InputRecord {
        name: name.to_string(),
        path: String::new(),
        shape: vec![x.len(), x.first().map_or(0, |f| f.data.len())],
        hash: hash::array_hash(
            &[x.len(), x.first().map_or(0, |f| f.data.len())],
            x.iter().flat_map(|f| f.data.iter()),
        ),
    };
    let spec = format!("{key}; inputs {:?}", x1.first().map(|f| &f.sig));
    let (rows, cols) = (x1.len(), x2.map_or(x1.len(), <[Features]>::len));
    Manifest {
        format: store::STORE_FORMAT,
        code_version: store::code_version(),
        spec_hash: store::spec_hash(&spec),
        spec,
        inputs: std::iter::once(record("x1", x1))
            .chain(x2.map(|x| record("x2", x)))
            .collect(),
        symmetric: x2.is_none(),
        rows,
        cols,
        tile: default_tile(rows, cols),
        // The network's full description in `key` names its groups' structure.
        groups: Vec::new(),
    }
}

struct NoProgress;

impl entk_ntk::Progress for NoProgress {
    fn update(&self, _done: usize, _total: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use entk_ntk::image_features;
    use ndarray::{Array4, Axis};

    const C4_GCNN: &str = r#"{"layers": [
        {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
        {"type": "group_pool"}, {"type": "dense"}]}"#;

    fn features(n: usize, seed: f64) -> Vec<Features> {
        let x = Array4::from_shape_fn((n, 5, 5, 1), |(b, h, w, _)| {
            (0.7 * h as f64 + 1.3 * w as f64 + seed * b as f64).sin()
        });
        x.axis_iter(Axis(0)).map(image_features).collect()
    }

    fn stores(root: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    /// A store of 5×5 tiles of the Gram of `x` (19 inputs: 10 tiles) in `dir`.
    fn small_tiles(dir: &std::path::Path, x: &[Features]) -> TileStore {
        let manifest = Manifest {
            tile: 5,
            ..cache_manifest("c4", x, None)
        };
        TileStore::open(dir, manifest, false).unwrap().0
    }

    /// Cancels the engine's work once `stop` is set.
    struct CancelWhen<'a>(&'a std::sync::atomic::AtomicBool);

    impl entk_ntk::Progress for CancelWhen<'_> {
        fn update(&self, _done: usize, _total: usize) {}
        fn cancelled(&self) -> bool {
            self.0.load(std::sync::atomic::Ordering::Relaxed)
        }
    }

    #[test]
    fn compute_pending_leaves_no_tile_unsynced_when_it_returns_or_fails() {
        let net = Network::from_json(C4_GCNN).unwrap();
        let x = features(19, 1.0);
        let root = tempfile::tempdir().unwrap();
        // Returns normally: every tile is synced.
        let store = small_tiles(&root.path().join("whole"), &x);
        let pending = scan(&store);
        assert_eq!(pending.missing.len(), 10);
        let run = compute_pending(
            &store,
            &net,
            (&x[..], None),
            1,
            pending,
            &NoProgress,
            0,
            |_, _| {},
            |_| Ok(()),
        )
        .unwrap()
        .0;
        assert_eq!(run.computed, 10);
        assert_eq!(store.unsynced_count(), 0, "tiles left unsynced at the end");
        // Fails at the third tile (the engine is cancelled after two were saved): the two
        // saved ones are synced all the same, and a rerun reuses them.
        let store = small_tiles(&root.path().join("failed"), &x);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let mut saved = 0;
        let e = compute_pending(
            &store,
            &net,
            (&x[..], None),
            1,
            scan(&store),
            &CancelWhen(&stop),
            0,
            |run, _| {
                saved = run.computed;
                if saved == 2 {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(saved, 2, "{e}");
        assert_eq!(store.unsynced_count(), 0, "tiles left unsynced after {e}");
        assert_eq!(scan(&store).run.reused, 2);
        // The work after the last tile (`then`: results written from the tiles) sees every
        // tile saved; its error is returned, and the tiles are synced all the same.
        let store = small_tiles(&root.path().join("then"), &x);
        let e = compute_pending(
            &store,
            &net,
            (&x[..], None),
            1,
            scan(&store),
            &NoProgress,
            0,
            |_, _| {},
            |run| {
                assert_eq!(run.computed, 10);
                assert_eq!(
                    scan(&store).run.reused,
                    10,
                    "every tile saved before `then`"
                );
                Err::<(), _>(CliError::Usage("then failed".into()))
            },
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "then failed");
        assert_eq!(store.unsynced_count(), 0, "tiles left unsynced after {e}");
    }

    /// Tile `id` of `store`, all zeros.
    fn zero_tile(store: &TileStore, id: TileId) -> Gram {
        let (r, c) = store.manifest().grid().extent(id);
        Gram {
            nngp: ndarray::Array2::zeros((r.len(), c.len())),
            ntk: ndarray::Array2::zeros((r.len(), c.len())),
        }
    }

    #[test]
    fn a_failed_sync_is_reported_and_joined_with_a_failed_then() {
        let x = features(19, 1.0);
        let root = tempfile::tempdir().unwrap();
        let store = small_tiles(root.path(), &x);
        let id = store.manifest().grid().tiles()[0];
        let zero = zero_tile(&store, id);
        // A saved tile removed before any sync could take it: its sync fails (no such file).
        let run = |then: Result<(), CliError>| {
            store
                .sync_every(
                    Duration::from_secs(3600),
                    || {
                        let _held = store.hold_syncs();
                        store.save(id, &zero)?;
                        std::fs::remove_file(store.tile_path(id)).unwrap();
                        Ok(())
                    },
                    |_| then,
                )
                .unwrap_err()
                .to_string()
        };
        let tile = store.tile_path(id).display().to_string();
        let sync = run(Ok(()));
        assert!(sync.contains(&tile), "{sync}");
        assert!(!sync.contains("also"), "{sync}");
        // How the last sync's error and `then`'s are joined, on their own: whether the failed
        // sync above happened in the background (before `then` ran) or at the end depends on
        // scheduling, so the joining is checked here and not through another run.
        let failed = |m: &str| CliError::Usage(m.into());
        let both = store::joined::<()>(Err(failed(&sync)), Err(failed("then failed")));
        assert_eq!(
            both.unwrap_err().to_string(),
            format!("{sync}; also: then failed")
        );
        let only_sync = store::joined(Err(failed(&sync)), Ok(7));
        assert_eq!(only_sync.unwrap_err().to_string(), sync);
        let only_then = store::joined::<()>(Ok(()), Err(failed("then failed")));
        assert_eq!(only_then.unwrap_err().to_string(), "then failed");
        assert_eq!(store::joined(Ok(()), Ok(7)).unwrap(), 7);
    }

    #[test]
    fn saved_tiles_are_synced_while_the_work_goes_on_and_the_end_waits_for_no_interval() {
        let x = features(19, 1.0);
        let root = tempfile::tempdir().unwrap();
        let store = small_tiles(root.path(), &x);
        let zero = |id: TileId| zero_tile(&store, id);
        let tiles = store.manifest().grid().tiles();
        // A tile saved while the work continues (here: waits) is synced by the background
        // thread, not only at the end.
        store
            .sync_every(
                Duration::from_millis(10),
                || {
                    store.save(tiles[0], &zero(tiles[0]))?;
                    let start = Instant::now();
                    while store.unsynced_count() > 0 {
                        assert!(start.elapsed() < Duration::from_secs(60), "never synced");
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Ok(())
                },
                |_| Ok(()),
            )
            .unwrap();
        // The end syncs at once. The hour-long pause follows only a failed batch, which no
        // sync here is, so this half checks the end itself, not that the pause is skipped.
        let start = Instant::now();
        store
            .sync_every(
                Duration::from_secs(3600),
                || {
                    store.save(tiles[1], &zero(tiles[1]))?;
                    // One tile saved: at most it is unsynced (a bound that holds by construction;
                    // the background thread may have taken it already).
                    assert!(store.unsynced_count() <= 1);
                    Ok(())
                },
                |_| Ok(()),
            )
            .unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(store.unsynced_count(), 0);
        assert_eq!(scan(&store).run.reused, 2);
    }

    #[test]
    fn gram_in_store_is_the_engine_gram_and_resumes_from_its_store() {
        let net = Network::from_json(C4_GCNN).unwrap();
        let (x, z) = (features(19, 1.0), features(11, 2.0));
        let opts = GramOptions {
            threads: 1,
            ..GramOptions::default()
        };
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for x2 in [None, Some(&z[..])] {
            let want = net.gram_features(&x, x2, &opts).unwrap();
            let got = gram_in_store(r, &net, "c4", &x, x2, 2, None).unwrap();
            assert_eq!(got, want, "bit for bit");
        }
        let dirs = stores(r);
        assert_eq!(dirs.len(), 2, "one store per computation");
        // Lose some tiles: they are recomputed, the rest reused, and the numbers are the same.
        let sym = dirs
            .iter()
            .find(|d| {
                std::fs::read_to_string(d.join("manifest.json"))
                    .unwrap()
                    .contains("\"symmetric\": true")
            })
            .unwrap();
        std::fs::remove_file(sym.join("tile_0_1.bin")).unwrap();
        std::fs::write(sym.join("tile_1_1.bin"), b"torn").unwrap();
        let again = gram_in_store(r, &net, "c4", &x, None, 1, None).unwrap();
        assert_eq!(again, net.gram_features(&x, None, &opts).unwrap());
        // Another network (key) or other inputs get stores of their own.
        gram_in_store(r, &net, "another", &x, None, 1, None).unwrap();
        gram_in_store(r, &net, "c4", &z, None, 1, None).unwrap();
        assert_eq!(stores(r).len(), 4);
    }
}
