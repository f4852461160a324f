//! The durable tile store: a manifest and one file per finished tile, under `DIR/tiles/`.
//!
//! The manifest is written durably: to `NAME.partial`, `fsync`, rename, then `fsync` of the
//! folder, so a crash or SIGKILL leaves either the whole old file, the whole new one, or a
//! `.partial` that is ignored. [`TileStore::open`] writes the `.partial` and leaves the rest to
//! a background thread, which the first tile saved (or synced) waits for: the `fsync`s overlap
//! the first tile's computation, and no tile is on disk before the manifest is. A tile file
//! carries the store's identity (a hash of the manifest), its position and size, the NNGP and
//! NTK values and a checksum; a tile that is short, torn, foreign or fails its checksum is
//! treated as missing and recomputed.
//!
//! Tiles are made durable in batches: [`TileStore::save`] writes each to `NAME.partial` and
//! renames it at once (a SIGKILL loses nothing: the page cache keeps it), and
//! [`TileStore::sync`] `fsync`s every file saved since the last batch, then the folder. Whoever
//! saves tiles does so inside [`TileStore::sync_while`], whose background thread starts a batch
//! as soon as a tile is saved (the tiles saved while one batch is being synced make the next),
//! and which syncs once more when the work ends (returning, failing or panicking). So a power
//! loss or kernel crash loses at most the tiles saved during the last batch's `fsync`s (after a
//! failed batch, during [`RETRY_INTERVAL`] too), however long the tile in progress takes, and
//! nothing once the work has returned; a tile torn by it is caught by its length and checksum
//! and recomputed. The computation waits for an `fsync` only for the manifest (a fresh
//! store's first tile is saved after the manifest is durable, and an MPI run's rank 0 waits for
//! it before the other ranks start) and at its end, for the last batch (issue #14: one `fsync` pair per tile on the computing thread cost more than the whole
//! 16 × 16 SO(3) Gram), and saving a tile never waits for a lock held during an `fsync`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use entk_ntk::Gram;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::grid::{TileGrid, TileId};
use super::hash::{file_start, seal, text_hash, Fnv128, Sealed, CHECKSUM_BYTES};
use crate::CliError;

/// Version of the tile file format and manifest layout.
pub const STORE_FORMAT: u32 = 1;

/// The code version recorded in a manifest: a store is reused only by the same release, since
/// another one may compute different rounding.
pub fn code_version() -> String {
    format!("entk {}", env!("CARGO_PKG_VERSION"))
}

/// One input of a Gram computation as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// Role: `x1` or `x2` (or `train` / `test` in `entk predict`).
    pub name: String,
    /// The file it was read from (informational, not compared).
    pub path: String,
    /// Shape as read.
    pub shape: Vec<usize>,
    /// [`super::hash::array_hash`] of the values read.
    pub hash: String,
}

/// What a tile store holds: enough to refuse any other computation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`STORE_FORMAT`].
    pub format: u32,
    /// [`code_version`].
    pub code_version: String,
    /// The architecture spec, canonicalised (keys sorted, no whitespace).
    pub spec: String,
    /// Hash of `spec`.
    pub spec_hash: String,
    /// The inputs, `x1` first.
    pub inputs: Vec<InputRecord>,
    /// `x2 = x1`: only the upper triangle of tiles is stored.
    pub symmetric: bool,
    /// Rows of the result.
    pub rows: usize,
    /// Columns of the result.
    pub cols: usize,
    /// Tile edge.
    pub tile: usize,
    /// Every group the spec names, by structure: `NAME: order N, structure FINGERPRINT` (the
    /// 64-bit fingerprint of its Cayley table and actions, `entk_groups::GroupStructure`), or
    /// `NAME: so3`. Two registries that give one name to different groups never share a store.
    /// Absent (and not serialised) for specs without groups, so their stores keep their identity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl Manifest {
    /// The tile grid of this manifest.
    pub fn grid(&self) -> TileGrid {
        TileGrid::new(self.rows, self.cols, self.tile, self.symmetric)
    }

    /// Hash of the whole manifest: stamped into every tile file.
    pub fn identity(&self) -> u128 {
        let mut h = Fnv128::default();
        h.update(
            serde_json::to_string(self)
                .expect("serialisable")
                .as_bytes(),
        );
        h.finish()
    }

    /// The first difference from `other` (the manifest found on disk), in words, or `None`.
    pub fn difference(&self, found: &Manifest) -> Option<String> {
        let joined = |groups: &[String], none: &str| {
            if groups.is_empty() {
                none.to_string()
            } else {
                groups.join("; ")
            }
        };
        let input = |(mine, theirs): (&InputRecord, &InputRecord)| {
            if mine.shape != theirs.shape {
                Some(format!(
                    "{} of shape {:?} (this run's {} has shape {:?})",
                    theirs.name, theirs.shape, mine.name, mine.shape
                ))
            } else {
                (mine.hash != theirs.hash).then(|| {
                    format!(
                        "other {} values (hash {}, this run's {} hashes to {})",
                        theirs.name, theirs.hash, mine.path, mine.hash
                    )
                })
            }
        };
        [
            (self.format != found.format).then(|| {
                format!(
                    "store format {} (this build writes {})",
                    found.format, self.format
                )
            }),
            (self.code_version != found.code_version).then(|| {
                format!(
                    "code version `{}` (this is `{}`)",
                    found.code_version, self.code_version
                )
            }),
            (self.spec_hash != found.spec_hash || self.spec != found.spec).then(|| {
                format!(
                    "another architecture spec (hash {}, this run's is {})",
                    found.spec_hash, self.spec_hash
                )
            }),
            (self.groups != found.groups).then(|| {
                format!(
                    "groups with another structure under these names ({} there, this run's: {})",
                    joined(&found.groups, "none recorded"),
                    joined(&self.groups, "none")
                )
            }),
            (self.symmetric != found.symmetric).then(|| {
                if found.symmetric {
                    "x2 = x1 (no --x2), this run gives --x2".to_string()
                } else {
                    "a separate --x2, this run has none".to_string()
                }
            }),
            self.inputs.iter().zip(&found.inputs).find_map(input),
            (self.inputs.len() != found.inputs.len()).then(|| {
                format!(
                    "{} inputs, this run has {}",
                    found.inputs.len(),
                    self.inputs.len()
                )
            }),
            (self.tile != found.tile).then(|| {
                format!(
                    "--tile {} (this run asks for --tile {}; omit --tile to reuse the store)",
                    found.tile, self.tile
                )
            }),
            ((self.rows, self.cols) != (found.rows, found.cols)).then(|| {
                format!(
                    "a {}×{} result, this run's is {}×{}",
                    found.rows, found.cols, self.rows, self.cols
                )
            }),
        ]
        .into_iter()
        .flatten()
        .next()
    }
}

/// Canonical form of a spec text: parsed and re-serialised with sorted keys, so whitespace and
/// key order do not count as a different spec.
pub fn canonical_spec(text: &str) -> Result<String, CliError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| CliError::Usage(format!("the architecture spec is not valid JSON: {e}")))?;
    Ok(value.to_string())
}

const MAGIC: &[u8; 8] = b"ENTKTILE";
/// magic, format, identity (16), bi, bj, rows, cols.
const HEADER_BYTES: usize = 8 + 8 + 16 + 4 * 8;

/// How a store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// No store was there; a new one was made.
    Created,
    /// A matching store was found.
    Resumed,
    /// A store was there and `--force` wiped it.
    Replaced,
}

/// After a background sync failed ([`TileStore::sync_while`]), the next try waits this long.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// A tile store under a folder (`DIR/tiles`).
#[derive(Debug)]
pub struct TileStore {
    dir: PathBuf,
    manifest: Manifest,
    identity: u128,
    /// Tile files saved but not yet fsynced.
    unsynced: Mutex<Vec<PathBuf>>,
    /// Held by [`TileStore::sync`] throughout, so a sync that returns has seen every earlier
    /// batch through (taken before `unsynced`; [`TileStore::save`] takes only `unsynced`).
    syncing: Mutex<()>,
    /// Signalled (with `unsynced` held) when a tile is saved and when the work of
    /// [`TileStore::sync_while`] ends.
    saved: Condvar,
    /// The manifest's durable write, which [`TileStore::open`] leaves running in the background.
    manifest_write: Mutex<ManifestWrite>,
}

/// Where the durable write of a new store's manifest stands.
#[derive(Debug)]
enum ManifestWrite {
    /// On disk and durable (or the store was resumed: nothing to write).
    Durable,
    /// The fsync, rename and folder fsync running on this thread.
    Running(std::thread::JoinHandle<Result<(), CliError>>),
    /// It failed, with this message (the error was returned once; later waits repeat it).
    Failed(String),
}

/// A lock whose holder panicked is still usable: the data is a list that is only pushed to and
/// drained whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells the background thread of [`TileStore::sync_while`] that the work has ended (also when
/// it panics), when dropped.
struct EndOfWork<'a>(&'a TileStore, &'a AtomicBool);

impl Drop for EndOfWork<'_> {
    fn drop(&mut self) {
        // Set with the lock held, so the thread cannot miss it between its check and its wait.
        let _held = lock(&self.0.unsynced);
        self.1.store(true, Ordering::Relaxed);
        self.0.saved.notify_all();
    }
}

/// Syncs the store when dropped, ignoring errors: the last word of [`TileStore::sync_while`] on
/// its error returns and panics.
struct SyncOnDrop<'a>(&'a TileStore);

impl Drop for SyncOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.sync();
    }
}

/// Writes `bytes` to `path` durably: `path.partial`, fsync, rename, fsync of the folder.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let file = write_partial(path, bytes)?;
    make_durable(file, path)
}

/// The first step of [`write_durably`]: `bytes` written (not yet synced) to `path.partial`.
fn write_partial(path: &Path, bytes: &[u8]) -> Result<File, CliError> {
    let tmp = partial_path(path);
    let mut f = File::create(&tmp).map_err(CliError::io(&tmp))?;
    f.write_all(bytes).map_err(CliError::io(&tmp))?;
    Ok(f)
}

/// The rest of [`write_durably`] for the file [`write_partial`] wrote: fsync, rename, fsync of
/// the folder.
fn make_durable(file: File, path: &Path) -> Result<(), CliError> {
    let tmp = partial_path(path);
    file.sync_all().map_err(CliError::io(&tmp))?;
    drop(file);
    rename_durably(&tmp, path)
}

/// Renames the durable file `tmp` to `path` and fsyncs the folder, so the rename is durable.
pub(crate) fn rename_durably(tmp: &Path, path: &Path) -> Result<(), CliError> {
    std::fs::rename(tmp, path).map_err(CliError::io(path))?;
    // A bare file name's parent is "", the current folder.
    sync_dir(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
}

/// `fsync` of a folder, so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> Result<(), CliError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(CliError::io(dir))
}

/// `NAME.partial` beside `NAME`.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

impl Drop for TileStore {
    /// Lets a manifest write still running finish (its error, if any, is the caller's only
    /// through [`TileStore::manifest_durable`]).
    fn drop(&mut self) {
        let _ = self.manifest_durable();
    }
}

impl TileStore {
    /// Opens the store in `dir` for `manifest`: creates it when absent; resumes when the
    /// manifest on disk is the same ([`Manifest::difference`]: input paths do not count, so a
    /// moved input file resumes); otherwise refuses with the first difference, unless
    /// `force`, which deletes the old store and starts over.
    pub fn open(
        dir: &Path,
        mut manifest: Manifest,
        force: bool,
    ) -> Result<(Self, Opened), CliError> {
        let manifest_path = dir.join("manifest.json");
        let opened = if force && dir.exists() {
            std::fs::remove_dir_all(dir).map_err(CliError::io(dir))?;
            Opened::Replaced
        } else {
            let verdict = match read_manifest(&manifest_path) {
                Ok(Some(found)) => match manifest.difference(&found) {
                    // The store keeps the manifest it was made with (the input paths, which
                    // are not compared, may differ), so its tiles keep their identity.
                    None => {
                        manifest = found;
                        Ok(Opened::Resumed)
                    }
                    Some(diff) => Err(format!("it holds tiles of another computation: {diff}")),
                },
                Ok(None) if has_tiles(dir)? => Err(
                    "it holds tile files but no manifest (not an entk tile store, or a damaged one)"
                        .to_string(),
                ),
                Ok(None) => Ok(Opened::Created),
                Err(reason) => Err(format!("{}: {reason}", manifest_path.display())),
            };
            verdict.map_err(|why| {
                CliError::Usage(format!(
                    "{} cannot be resumed: {why}; use another --out, or --force to discard it",
                    dir.display()
                ))
            })?
        };
        std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
        let manifest_write = if opened == Opened::Resumed {
            ManifestWrite::Durable
        } else {
            // Written now (so a folder that cannot take it fails here); its fsync, rename and
            // folder fsync (milliseconds on some disks, as long as a small Gram takes) run
            // beside the work, which waits for them before it saves the first tile.
            let text = serde_json::to_string_pretty(&manifest).expect("serialisable");
            let file = write_partial(&manifest_path, text.as_bytes())?;
            let sync = move || make_durable(file, &manifest_path);
            ManifestWrite::Running(std::thread::Builder::new().spawn(sync).map_err(|e| {
                CliError::Usage(format!("cannot start the manifest's sync thread: {e}"))
            })?)
        };
        let identity = manifest.identity();
        Ok((
            TileStore {
                dir: dir.to_path_buf(),
                manifest,
                identity,
                unsynced: Mutex::default(),
                syncing: Mutex::default(),
                saved: Condvar::new(),
                manifest_write: Mutex::new(manifest_write),
            },
            opened,
        ))
    }

    /// Waits until the manifest of a store that [`TileStore::open`] created is durable (it is
    /// written in the background; a resumed store's already is). [`TileStore::save`] and
    /// [`TileStore::sync`] wait for it themselves, so no tile is ever saved before the manifest
    /// is on disk; another process that reads the store ([`TileStore::attach`]) must be told
    /// of it only after this returns. The manifest write's error, if it failed.
    pub fn manifest_durable(&self) -> Result<(), CliError> {
        let mut state = lock(&self.manifest_write);
        if let ManifestWrite::Running(_) = *state {
            let ManifestWrite::Running(writer) =
                std::mem::replace(&mut *state, ManifestWrite::Durable)
            else {
                unreachable!("matched above")
            };
            let outcome = writer.join().unwrap_or_else(|_| {
                Err(CliError::Usage(format!(
                    "{}: the manifest's writer panicked",
                    self.dir.display()
                )))
            });
            if let Err(e) = &outcome {
                *state = ManifestWrite::Failed(e.to_string());
            }
            return outcome;
        }
        match &*state {
            ManifestWrite::Failed(why) => Err(CliError::Usage(why.clone())),
            _ => Ok(()),
        }
    }

    /// Opens, without writing anything, the store that another process (MPI rank 0) opened in
    /// `dir` for `manifest`: its manifest must be there and the same (so every rank computes
    /// tiles of one computation, and a folder that is not shared between machines is caught).
    pub fn attach(dir: &Path, manifest: Manifest) -> Result<Self, CliError> {
        let manifest_path = dir.join("manifest.json");
        let why = match read_manifest(&manifest_path) {
            Ok(Some(found)) => match manifest.difference(&found) {
                None => {
                    let identity = found.identity();
                    return Ok(TileStore {
                        dir: dir.to_path_buf(),
                        manifest: found,
                        identity,
                        unsynced: Mutex::default(),
                        syncing: Mutex::default(),
                        saved: Condvar::new(),
                        manifest_write: Mutex::new(ManifestWrite::Durable),
                    });
                }
                Some(diff) => format!("it holds tiles of another computation: {diff}"),
            },
            Ok(None) => {
                "it has no manifest (is the output folder on a filesystem that every rank shares?)"
                    .to_string()
            }
            Err(reason) => format!("{}: {reason}", manifest_path.display()),
        };
        Err(CliError::Usage(format!(
            "cannot use the tile store {}: {why}",
            dir.display()
        )))
    }

    /// The tile edge of the store in `dir`, if one is there: a run without `--tile` resumes
    /// with it rather than with the default.
    pub fn stored_tile(dir: &Path) -> Option<usize> {
        read_manifest(&dir.join("manifest.json"))
            .ok()
            .flatten()
            .map(|m| m.tile)
            .filter(|&t| t >= 1)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a tile.
    pub fn tile_path(&self, id: TileId) -> PathBuf {
        self.dir.join(format!("tile_{}_{}.bin", id.row, id.col))
    }

    /// Bytes of a tile's file.
    pub fn file_bytes(&self, id: TileId) -> u64 {
        let (r, c) = self.manifest.grid().extent(id);
        (HEADER_BYTES + 16 * r.len() * c.len() + CHECKSUM_BYTES) as u64
    }

    /// Writes a finished tile (its block's NNGP and NTK, row-major after the header): to
    /// `NAME.partial`, renamed at once; made durable by the next [`TileStore::sync`] (call it
    /// inside [`TileStore::sync_while`], which starts one at once: module docs).
    pub fn save(&self, id: TileId, tile: &Gram) -> Result<(), CliError> {
        let (r, c) = self.manifest.grid().extent(id);
        let (rows, cols) = tile.nngp.dim();
        debug_assert_eq!((r.len(), c.len()), (rows, cols));
        debug_assert_eq!(tile.ntk.dim(), (rows, cols));
        let values = rows * cols;
        let mut bytes = file_start(
            MAGIC,
            u64::from(STORE_FORMAT),
            self.identity,
            HEADER_BYTES + 16 * values + CHECKSUM_BYTES,
        );
        for v in [id.row, id.col, rows, cols] {
            bytes.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for v in tile.nngp.iter().chain(&tile.ntk) {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        seal(&mut bytes);
        self.manifest_durable()?;
        let path = self.tile_path(id);
        let tmp = partial_path(&path);
        std::fs::write(&tmp, &bytes).map_err(CliError::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(CliError::io(&path))?;
        lock(&self.unsynced).push(path);
        self.saved.notify_all();
        Ok(())
    }

    /// Makes every tile saved so far durable now (`fsync` of each, then of the folder). A file
    /// that could not be synced stays listed, so the next sync tries again.
    pub fn sync(&self) -> Result<(), CliError> {
        self.manifest_durable()?;
        let _one_at_a_time = lock(&self.syncing);
        let files = std::mem::take(&mut *lock(&self.unsynced));
        if files.is_empty() {
            return Ok(());
        }
        let synced = files
            .iter()
            .try_for_each(|path| {
                File::open(path)
                    .and_then(|f| f.sync_all())
                    .map_err(CliError::io(path))
            })
            .and_then(|()| sync_dir(&self.dir));
        if synced.is_err() {
            lock(&self.unsynced).extend(files);
        }
        synced
    }

    /// Runs `work` (which saves tiles) while a background thread syncs each tile as soon as it
    /// is saved (in batches: the tiles saved during one batch's `fsync`s make the next; after a
    /// failed batch it waits [`RETRY_INTERVAL`] before trying again); then syncs what is left:
    /// the first error of a background sync, or else of that last sync, is returned when
    /// `work` succeeded; after an error of `work` (or a panic) it is attempted all the same
    /// and ignored. The background thread stops as soon as `work` ends (it never sleeps out an
    /// interval), and it never holds the lock [`TileStore::save`] takes while it `fsync`s.
    pub fn sync_while<T>(&self, work: impl FnOnce() -> Result<T, CliError>) -> Result<T, CliError> {
        self.sync_every(RETRY_INTERVAL, work, |_| Ok(()))
            .map(|(out, ())| out)
    }

    /// [`TileStore::sync_while`], then `then` on `work`'s value (when it succeeded) while the
    /// last sync runs on another thread: both have ended when it returns, with the sync's
    /// error, `then`'s, or both joined by "; also: " (the writing of results from the saved
    /// tiles overlaps their last `fsync`s; whoever reports success must still wait for both,
    /// as this does, and publish nothing that marks success before).
    pub(crate) fn sync_while_then<T, U>(
        &self,
        work: impl FnOnce() -> Result<T, CliError>,
        then: impl FnOnce(&T) -> Result<U, CliError>,
    ) -> Result<(T, U), CliError> {
        self.sync_every(RETRY_INTERVAL, work, then)
    }

    /// [`TileStore::sync_while_then`] with another pause after a failed batch (the tests').
    pub(super) fn sync_every<T, U>(
        &self,
        retry: Duration,
        work: impl FnOnce() -> Result<T, CliError>,
        then: impl FnOnce(&T) -> Result<U, CliError>,
    ) -> Result<(T, U), CliError> {
        let _last_word = SyncOnDrop(self);
        let done = AtomicBool::new(false);
        let (out, background) = std::thread::scope(|scope| {
            let syncer = scope.spawn(|| {
                // Ends when `done` is set. It keeps the first error: a failed fsync's files
                // stay listed and are tried again, but on Linux a retry need not report the
                // write-back error again, so the first report is the one that counts.
                let mut first = Ok(());
                let mut not_before = Instant::now();
                loop {
                    {
                        let mut pending = lock(&self.unsynced);
                        loop {
                            if done.load(Ordering::Relaxed) {
                                return first;
                            }
                            let now = Instant::now();
                            if !pending.is_empty() && now >= not_before {
                                break;
                            }
                            pending = if pending.is_empty() {
                                self.saved.wait(pending).unwrap_or_else(|e| e.into_inner())
                            } else {
                                self.saved
                                    .wait_timeout(pending, not_before - now)
                                    .unwrap_or_else(|e| e.into_inner())
                                    .0
                            };
                        }
                    }
                    if let Err(e) = self.sync() {
                        first = first.and(Err(e));
                        not_before = Instant::now() + retry;
                    }
                }
            });
            let out = {
                let _end = EndOfWork(self, &done);
                work()
            };
            // The thread only syncs; a panic there (none is expected) counts as no error, and
            // the last sync below runs all the same.
            (out, syncer.join().unwrap_or(Ok(())))
        });
        let out = out?;
        background?;
        let (last, next) = std::thread::scope(|scope| {
            let last = std::thread::Builder::new().spawn_scoped(scope, || self.sync());
            let next = then(&out);
            let last = match last {
                Ok(thread) => thread.join().unwrap_or_else(|_| {
                    Err(CliError::Usage(format!(
                        "{}: the tiles' sync thread panicked",
                        self.dir.display()
                    )))
                }),
                // No thread to spare: the sync runs here, after `then`.
                Err(_) => self.sync(),
            };
            (last, next)
        });
        joined(last, next).map(|next| (out, next))
    }

    /// Holds off every sync while the guard lives (the tests').
    #[cfg(test)]
    pub(super) fn hold_syncs(&self) -> MutexGuard<'_, ()> {
        lock(&self.syncing)
    }

    /// Tiles saved and not yet synced.
    #[cfg(test)]
    pub(super) fn unsynced_count(&self) -> usize {
        lock(&self.unsynced).len()
    }

    /// Reads a tile: `Ok(None)` when it is missing, `Err(reason)` when a file is there but
    /// unusable (short, torn, foreign, wrong checksum), so the caller recomputes it.
    pub fn load(&self, id: TileId) -> Result<Option<Gram>, String> {
        let path = self.tile_path(id);
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => f
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let (r, c) = self.manifest.grid().extent(id);
        let (rows, cols) = (r.len(), c.len());
        let expected = HEADER_BYTES + 16 * rows * cols + CHECKSUM_BYTES;
        let name = path.display();
        if bytes.len() != expected {
            return Err(format!(
                "{name} has {} bytes, a {rows}×{cols} tile has {expected} (truncated or damaged)",
                bytes.len()
            ));
        }
        let Some(file) = Sealed::open(&bytes) else {
            return Err(format!("{name} fails its checksum (damaged)"));
        };
        if !file.is(MAGIC, u64::from(STORE_FORMAT), self.identity) {
            return Err(format!("{name} belongs to another tile store"));
        }
        let header = [32, 40, 48, 56].map(|at| file.u64_at(at));
        if header != [id.row as u64, id.col as u64, rows as u64, cols as u64] {
            return Err(format!("{name} holds another tile ({header:?})"));
        }
        let values = file.f64s_from(HEADER_BYTES);
        let (nngp, ntk) = values.split_at(rows * cols);
        let block = |v: &[f64]| {
            Array2::from_shape_vec((rows, cols), v.to_vec()).map_err(|e| format!("{name}: {e}"))
        };
        Ok(Some(Gram {
            nngp: block(nngp)?,
            ntk: block(ntk)?,
        }))
    }
}

fn has_tiles(dir: &Path) -> Result<bool, CliError> {
    if !dir.exists() {
        return Ok(false);
    }
    let mut entries = std::fs::read_dir(dir).map_err(CliError::io(dir))?;
    Ok(entries.any(|e| {
        e.map(|e| e.file_name().to_string_lossy().starts_with("tile_"))
            .unwrap_or(false)
    }))
}

/// `Ok(None)`: no manifest; `Err`: a manifest that cannot be read.
fn read_manifest(path: &Path) -> Result<Option<Manifest>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("not an entk tile-store manifest ({e})")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// [`text_hash`] of a canonical spec.
pub fn spec_hash(canonical: &str) -> String {
    text_hash(canonical)
}

/// The last sync's result with `then`'s: `then`'s value when both succeeded, else the sync's
/// error, `then`'s, or both joined by "; also: " (the sync's first).
pub(super) fn joined<U>(
    sync: Result<(), CliError>,
    then: Result<U, CliError>,
) -> Result<U, CliError> {
    match (sync, then) {
        (Ok(()), then) => then,
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(then)) => Err(e.also(then)),
    }
}
