//! Durable, resumable Gram matrices: the matrix is cut into tiles ([`TileGrid`]), each finished
//! tile is written durably to a [`TileStore`] under the output folder, and a rerun computes only
//! the missing ones. The result is assembled on disk ([`assemble()`]) once every tile is there.
//!
//! Each tile is computed by the engine's own Gram routine on its block of inputs, so the numbers
//! are bit-for-bit those of [`entk_ntk::Network::gram`] on the whole set, for any tile size and
//! thread count: a diagonal tile of a symmetric grid uses the symmetric routine (self-kernels
//! on its diagonal), every other tile the cross routine; both evaluate each pair alone.

pub mod assemble;
pub mod grid;
pub mod hash;
pub mod store;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use entk_ntk::{Features, GramOptions, Network};

pub use assemble::{assemble, load_matrix, npy_header, NpyGram, NpyRows, Which};
pub use grid::{default_tile, TileGrid, TileId};
pub use store::{Manifest, Opened, Tile, TileStore};

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
) -> Result<Tile, CliError> {
    let (r, c) = grid.extent(id);
    let rows = &x1[r.clone()];
    let gram = if grid.symmetric && id.row == id.col {
        net.gram_features(rows, None, opts)?
    } else {
        let other = x2.unwrap_or(x1);
        net.gram_features(rows, Some(&other[c.clone()]), opts)?
    };
    check_tile(&gram.nngp, &gram.ntk, r.start, c.start, grid.symmetric)?;
    Ok(Tile {
        rows: r.len(),
        cols: c.len(),
        nngp: gram.nngp.iter().copied().collect(),
        ntk: gram.ntk.iter().copied().collect(),
    })
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

/// Progress of one tile inside the bar of the whole run.
struct Offset<'a> {
    bar: &'a Bar,
    base: usize,
    total: usize,
}

impl entk_ntk::Progress for Offset<'_> {
    fn update(&self, done: usize, _tile_total: usize) {
        entk_ntk::Progress::update(self.bar, self.base + done, self.total);
    }
}

/// Computes every tile missing from `store` (tiles in block-row order, each in parallel over
/// its pairs on `threads` threads) and saves each durably as soon as it is done. `message`
/// labels the progress bar; when stderr is not a terminal, a one-line progress report with an
/// ETA is printed at most every 30 s instead.
pub fn compute_missing(
    store: &TileStore,
    net: &Network,
    x1: &[Features],
    x2: Option<&[Features]>,
    threads: usize,
    message: &str,
) -> Result<TileRun, CliError> {
    let grid = store.manifest().grid();
    let tiles = grid.tiles();
    let mut run = TileRun {
        total: tiles.len(),
        ..TileRun::default()
    };
    let mut missing = Vec::new();
    for &id in &tiles {
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
    let work: usize = missing.iter().map(|&id| grid.work(id)).sum();
    let bar = Bar::new(message);
    let log = !std::io::stderr().is_terminal();
    let (start, mut last_log) = (Instant::now(), Instant::now());
    let mut done = 0;
    for (k, &id) in missing.iter().enumerate() {
        let progress = Offset {
            bar: &bar,
            base: done,
            total: work,
        };
        let opts = GramOptions {
            threads,
            memory_budget: None,
            progress: Some(&progress),
        };
        let tile = compute_tile(net, &grid, id, x1, x2, &opts)?;
        store.save(id, &tile)?;
        run.computed += 1;
        done += grid.work(id);
        if log && (last_log.elapsed() >= Duration::from_secs(30) || k + 1 == missing.len()) {
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
    }
    bar.finish();
    Ok(run)
}
