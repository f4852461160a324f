//! One Gram matrix, several processes: `mpirun -n R entk kernel ...` in a build with the cargo
//! feature `mpi` (README, "More than one machine").
//!
//! Rank 0 hands out tiles on request (dynamic scheduling: a rank asks for the next missing tile
//! when it has saved its last one, so a slow rank or machine never holds the others back, and
//! at most one tile per rank is in flight). Every rank computes tiles with the same engine
//! call as a single process and saves them into the shared tile store in the same durable
//! format, so the result is byte-identical to a one-process run for any R, `--threads` and
//! `--tile`, and an MPI run resumes like a one-process run (and vice versa). Rank 0 also
//! computes tiles, on a thread beside the one that answers requests; it alone opens, scans
//! and assembles the store and writes `report.json`.
//!
//! Before any tile, every rank reads the spec and inputs itself and sends its manifest to rank
//! 0; ranks that disagree (another file, another spec, another `--tile`) are a one-line error
//! naming the rank and the difference, and so is a rank that does not see the store rank 0
//! created (an `--out` that is not on a shared filesystem). Errors are printed once, by rank 0,
//! which also sets the exit status; the other ranks print nothing of their own (but a rank
//! whose tile panics also has Rust's panic message and location on its stderr). Every rank `fsync`s its own
//! tiles (rank 0 before it assembles the result; every other rank its last ones while rank 0
//! assembles) and tells rank 0 whether they are durable; rank 0 writes `report.json` and
//! reports success only after all have said so (otherwise it removes `nngp.npy` and `ntk.npy`
//! again). A panic while a rank computes or saves a tile is caught and fails the job like an
//! error (its message on one line); a panic elsewhere (rank 0 assembling, say) is not caught,
//! and the job may then hang until it is killed.
//!
//! Waiting ranks poll for messages and sleep in between, instead of MPI's busy-waiting
//! receives, so a rank with nothing to do leaves its core to the ranks that compute (several
//! ranks often share one machine).
//!
//! What decides whether a process belongs to an MPI job is its launcher's environment
//! ([`launcher_size`]); that part is compiled in every build, so a build without MPI refuses to
//! run as R competing copies, and an MPI build refuses to start `entk kernel` without a
//! launcher (`mpirun -n 1` runs it as one process).

use crate::CliError;

/// Environment variables that MPI launchers set in every process they start: Open MPI's
/// `mpirun`, and the PMI / PMIx process-management interfaces of MPICH's and Intel MPI's
/// launchers and of Slurm's `srun --mpi=...`.
const LAUNCHER_VARS: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"];

/// `Some(size)` when an MPI launcher started this process (`size` is `None` where the launcher
/// does not say how many processes it started), `None` otherwise.
pub fn launcher_size() -> Option<Option<usize>> {
    launcher_size_in(|k| std::env::var(k).ok())
}

fn launcher_size_in(var: impl Fn(&str) -> Option<String>) -> Option<Option<usize>> {
    if !LAUNCHER_VARS.iter().any(|k| var(k).is_some()) {
        return None;
    }
    Some(
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
            .iter()
            .find_map(|k| var(k)?.trim().parse().ok()),
    )
}

/// Whether this build spreads `entk kernel` over MPI ranks (cargo feature `mpi`).
pub const MPI_BUILD: bool = cfg!(feature = "mpi");

/// Refuses to run `entk COMMAND` where it would go wrong: as several copies started by an MPI
/// launcher (only `entk kernel` in an MPI build divides its work; any other copies would
/// compute the same things and race on the same files), or, in an MPI build, `entk kernel`
/// without a launcher.
pub fn check_launch(command: &str) -> Result<(), CliError> {
    check_launch_with(command, launcher_size(), MPI_BUILD)
}

fn check_launch_with(
    command: &str,
    launched: Option<Option<usize>>,
    mpi_build: bool,
) -> Result<(), CliError> {
    let kernel = command == "kernel";
    match launched {
        None if kernel && mpi_build => Err(CliError::Usage(
            "this entk is built with MPI (cargo feature `mpi`): start `entk kernel` with an MPI launcher, `mpirun -n R entk kernel ...` (`mpirun -n 1` for one process)".into(),
        )),
        Some(size) if size != Some(1) && !(kernel && mpi_build) => {
            let copies = size.map_or("several".to_string(), |n| n.to_string());
            Err(CliError::Usage(if kernel {
                format!(
                    "this entk is built without MPI, but an MPI launcher started {copies} copies of it, which would compute the same tiles; rebuild with `cargo build --release -p entk-cli --features mpi`, or run one process without mpirun"
                )
            } else {
                format!(
                    "`entk {command}` runs as one process, but an MPI launcher started {copies} copies; run it without mpirun (only `entk kernel` spreads over MPI ranks)"
                )
            }))
        }
        _ => Ok(()),
    }
}

/// Runs `f`, catching a panic: `Err` holds the panic's message on one line (a message over
/// several lines, like `assert_eq!`'s, has its lines joined by spaces; "no message" where the
/// payload is not a string). Rust's panic hook still prints the panic and its location on this
/// process's stderr.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
fn catching<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .map_or("no message".to_string(), |what| {
                what.split_whitespace().collect::<Vec<_>>().join(" ")
            })
    })
}

#[cfg(feature = "mpi")]
pub use ranks::{run_kernel_mpi, run_kernel_mpi_in};

#[cfg(feature = "mpi")]
mod ranks {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use mpi::environment::Threading;
    use mpi::point_to_point::MatchedReceiveVec;
    use mpi::topology::{Rank, SimpleCommunicator};
    use mpi::traits::*;

    use entk_groups::GroupRegistry;

    use crate::kernel_cmd::{
        discarding_on_error, prepare_kernel_in, write_report, KernelJob, KernelOptions,
        KernelReport,
    };
    use crate::progress::Tracker;
    use crate::tiles::{self, Manifest, TileId, TileRun, TileStore};
    use crate::CliError;

    use super::catching;

    /// Message kinds (the first byte of every message; all messages use one tag, and MPI keeps
    /// the order of messages between two ranks).
    const SETUP: u8 = 1; // rank → 0: the rank's manifest (JSON) or its error
    const GO: u8 = 2; // 0 → rank: the store is open, start asking for tiles
    const STOP: u8 = 3; // 0 → rank: the job failed before any tile; exit
    const REQUEST: u8 = 4; // rank → 0: give me a tile (payload: the tile just saved, if any)
    const FAILED: u8 = 5; // rank → 0: this rank failed (payload: the error); it stops asking
    const ASSIGN: u8 = 6; // 0 → rank: compute this tile (payload: index in the grid)
    const NO_MORE: u8 = 7; // 0 → rank: no tile left (or the job failed); wait for FINAL
    const FINAL: u8 = 8; // 0 → rank: the job is over (payload: 1 = success)
    const SYNCED: u8 = 9; // rank → 0: its tiles are durable (payload 1) or not (0, then why)

    /// Test hook (the MPI integration tests'): the rank named by this variable (a rank ≥ 1;
    /// rank 0 does not read it) reports that its tiles could not be made durable, half a second
    /// after it has synced them (so rank 0 has finished assembling and must wait for it), as a
    /// failed `fsync` would.
    const FAIL_SYNC_RANK: &str = "ENTK_TEST_FAIL_TILE_SYNC_RANK";

    fn send(world: &SimpleCommunicator, to: Rank, kind: u8, payload: &[u8]) {
        let mut msg = Vec::with_capacity(1 + payload.len());
        msg.push(kind);
        msg.extend_from_slice(payload);
        world.process_at_rank(to).send(&msg[..]);
    }

    /// Waits for the next message (from `from`, or any rank), polling and sleeping so a
    /// waiting rank does not spin on a core. Returns the kind, the payload and the sender.
    fn receive(world: &SimpleCommunicator, from: Option<Rank>) -> (u8, Vec<u8>, Rank) {
        let mut nap = Duration::from_micros(50);
        loop {
            if let Some(m) = try_receive(world, from) {
                return m;
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(5));
        }
    }

    fn try_receive(world: &SimpleCommunicator, from: Option<Rank>) -> Option<(u8, Vec<u8>, Rank)> {
        let probe = match from {
            Some(r) => world.process_at_rank(r).immediate_matched_probe(),
            None => world.any_process().immediate_matched_probe(),
        };
        let (bytes, status) = probe?.matched_receive_vec::<u8>();
        let kind = bytes.first().copied().unwrap_or(0);
        Some((
            kind,
            bytes.get(1..).unwrap_or(&[]).to_vec(),
            status.source_rank(),
        ))
    }

    fn unexpected(rank: Rank, kind: u8) -> String {
        format!("rank {rank} sent an unexpected message (kind {kind})")
    }

    /// Computes tile `id` and saves it into `store`; a panic in either is caught and returned
    /// as an error (an unwinding rank would otherwise leave the others waiting for it).
    fn compute_and_save(job: &KernelJob, store: &TileStore, id: TileId) -> Result<(), CliError> {
        catching(|| {
            job.compute_tile(id, None)
                .and_then(|tile| store.save(id, &tile))
        })
        .unwrap_or_else(|what| {
            Err(CliError::Usage(format!(
                "internal error: tile ({}, {}) panicked ({what})",
                id.row, id.col
            )))
        })
    }

    fn index_bytes(i: usize) -> [u8; 8] {
        (i as u64).to_le_bytes()
    }

    fn index_of(payload: &[u8]) -> Option<usize> {
        Some(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?) as usize)
    }

    /// Runs `entk kernel` as one rank of an MPI job (every rank calls it with its own
    /// arguments). Rank 0 calls `report` once with the outcome (the report, or the job's error
    /// from whichever rank it came) before it releases the other ranks, so its output is the
    /// last word; the other ranks print nothing of their own (a panic in a tile also prints
    /// Rust's panic message and location on the panicking rank's stderr). Rank 0 reports success only after every rank
    /// has said that its tiles are durable (`fsync`ed); a rank whose tiles could not be synced
    /// fails the job. Returns whether the job succeeded. Groups are named in the built-in
    /// registry; [`run_kernel_mpi_in`] takes another.
    pub fn run_kernel_mpi(
        opts: &KernelOptions,
        report: &dyn Fn(Result<&KernelReport, &CliError>),
    ) -> bool {
        run_kernel_mpi_in(&entk_reps::default_registry(), opts, report)
    }

    /// [`run_kernel_mpi`] for a spec whose `"group"` names are looked up in `registry` (every
    /// rank must pass the same registry: their manifests hash the spec text, not the groups).
    pub fn run_kernel_mpi_in(
        registry: &GroupRegistry,
        opts: &KernelOptions,
        report: &dyn Fn(Result<&KernelReport, &CliError>),
    ) -> bool {
        let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Funneled)
        else {
            report(Err(&CliError::Usage(
                "MPI could not be initialised (or was initialised twice)".into(),
            )));
            return false;
        };
        let world = universe.world();
        if threading == Threading::Single {
            if world.rank() == 0 {
                report(Err(&CliError::Usage(
                    "the MPI library offers no thread support (MPI_THREAD_FUNNELED is needed: rank 0 computes tiles beside the thread that hands them out)".into(),
                )));
            }
            return false;
        }
        let job = prepare_kernel_in(registry, opts);
        if world.rank() == 0 {
            coordinator(&world, opts, job, report)
        } else {
            worker(&world, opts, job)
        }
    }

    /// The SETUP message of a rank: its manifest, or why it could not prepare the job.
    #[derive(serde::Serialize, serde::Deserialize)]
    enum Setup {
        Ready(Manifest),
        Failed(String),
    }

    fn worker(
        world: &SimpleCommunicator,
        opts: &KernelOptions,
        job: Result<KernelJob, CliError>,
    ) -> bool {
        let setup = match &job {
            Ok(job) => Setup::Ready(job.manifest.clone()),
            Err(e) => Setup::Failed(e.to_string()),
        };
        let text = serde_json::to_vec(&setup).expect("serialisable");
        send(world, 0, SETUP, &text);
        let (kind, _, _) = receive(world, Some(0));
        let job = match (kind, job) {
            (GO, Ok(job)) => job,
            _ => return false,
        };
        let synced = match job.attach(&opts.out) {
            Ok(store) => {
                let mut saved: Option<usize> = None;
                let tiles = store.manifest().grid().tiles();
                // This rank's tiles are fsynced as they are saved while it computes, and the last
                // ones once it is told there are no more (or fails), while rank 0 assembles
                // the result from the tile files, which every rank wrote and closed.
                store.sync_while(|| {
                    loop {
                        // Empty before the first tile: eight zero bytes would read as tile 0,
                        // counted as computed (and its work as done) once more.
                        let last = saved.map_or_else(Vec::new, |i| index_bytes(i).to_vec());
                        send(world, 0, REQUEST, &last);
                        let (kind, payload, _) = receive(world, Some(0));
                        let Some(i) = index_of(&payload).filter(|_| kind == ASSIGN) else {
                            break;
                        };
                        match compute_and_save(&job, &store, tiles[i]) {
                            Ok(()) => saved = Some(i),
                            Err(e) => {
                                send(world, 0, FAILED, e.to_string().as_bytes());
                                break;
                            }
                        }
                    }
                    Ok(())
                })
            }
            Err(e) => {
                send(world, 0, FAILED, e.to_string().as_bytes());
                Ok(())
            }
        };
        let injected = std::env::var(FAIL_SYNC_RANK).ok() == Some(world.rank().to_string());
        // Rank 0 reports the job's outcome only after this message: its success includes this
        // rank's tiles being durable.
        let why = match synced {
            Ok(()) if !injected => None,
            Ok(()) => {
                std::thread::sleep(Duration::from_millis(500));
                Some(format!("tile sync failed ({FAIL_SYNC_RANK})"))
            }
            Err(e) => Some(e.to_string()),
        };
        let durable = match why {
            None => vec![1],
            Some(why) => [&[0][..], why.as_bytes()].concat(),
        };
        send(world, 0, SYNCED, &durable);
        loop {
            let (kind, payload, _) = receive(world, Some(0));
            if kind == FINAL {
                return payload.first() == Some(&1);
            }
        }
    }

    /// Rank 0: agrees on the job with every rank, opens the store, hands out the missing tiles
    /// while computing some itself, assembles the result and releases the ranks.
    fn coordinator(
        world: &SimpleCommunicator,
        opts: &KernelOptions,
        job: Result<KernelJob, CliError>,
        report: &dyn Fn(Result<&KernelReport, &CliError>),
    ) -> bool {
        let size = world.size();
        let mut first_error: Option<CliError> = job.as_ref().err().map(again);
        for r in 1..size {
            let (_, payload, _) = receive(world, Some(r));
            if first_error.is_some() {
                continue;
            }
            let theirs = match serde_json::from_slice::<Setup>(&payload) {
                Ok(Setup::Ready(m)) => m,
                Ok(Setup::Failed(e)) => {
                    first_error = Some(CliError::Usage(format!("rank {r}: {e}")));
                    continue;
                }
                Err(e) => {
                    first_error = Some(CliError::Usage(format!(
                        "rank {r} sent an unreadable set-up message ({e}); are all ranks the same entk build?"
                    )));
                    continue;
                }
            };
            // As on a resume, input paths do not count: machines may mount the same files at
            // different places.
            let mine = &job.as_ref().expect("no error yet").manifest;
            if let Some(diff) = mine.difference(&theirs) {
                first_error = Some(CliError::Usage(format!(
                    "the ranks disagree: compared with rank 0 (`this run`), rank {r} has {diff}; give every rank the same spec, inputs and --tile"
                )));
            }
        }
        let opened = match (first_error, job) {
            // The other ranks read the manifest as soon as they are told to go.
            (None, Ok(job)) => job
                .open(&opts.out, opts.force)
                .and_then(|store| store.manifest_durable().map(|()| (job, store))),
            (Some(e), _) | (None, Err(e)) => Err(e),
        };
        let (job, store) = match opened {
            Ok(pair) => pair,
            Err(e) => {
                report(Err(&e));
                for r in 1..size {
                    send(world, r, STOP, &[]);
                }
                return false;
            }
        };
        for r in 1..size {
            send(world, r, GO, &[]);
        }
        let start = Instant::now();
        // Each rank's SYNCED payload (by rank); some come while tiles are still handed out.
        let mut synced: Vec<Option<Vec<u8>>> = vec![None; size as usize];
        let assembled = distribute(world, &job, &store, &mut synced).and_then(|run| {
            job.assemble(
                &store,
                &opts.out,
                &run,
                start.elapsed().as_secs_f64(),
                size as usize,
            )
        });
        // Every rank has been told there are no more tiles (or failed) and syncs its last
        // ones while rank 0 assembles; the job succeeds, and `report.json` is written, only
        // once each says they are durable. Every rank's failure is named, the first one first.
        let mut not_durable = Vec::new();
        for r in 1..size {
            let (kind, payload) = match synced[r as usize].take() {
                Some(payload) => (SYNCED, payload),
                None => {
                    let (kind, payload, _) = receive(world, Some(r));
                    (kind, payload)
                }
            };
            let theirs = match (kind, payload.split_first()) {
                (SYNCED, Some((1, _))) => continue,
                (SYNCED, Some((_, why))) => format!(
                    "rank {r}: its tiles may not be durable: {}",
                    String::from_utf8_lossy(why)
                ),
                _ => unexpected(r, kind),
            };
            not_durable.push(theirs);
        }
        let outcome = match (assembled, not_durable.is_empty()) {
            (Ok(done), true) => write_report(&opts.out, &done).map(|()| done),
            (Ok(_), false) => Err(CliError::Usage(not_durable.join("; also: "))),
            (Err(e), true) => Err(e),
            (Err(e), false) => Err(e.also(not_durable.join("; also: "))),
        };
        // A failed job leaves no result: `report.json` (if written) and the matrices go.
        let outcome = discarding_on_error(&opts.out, outcome);
        report(outcome.as_ref());
        let ok = outcome.is_ok();
        for r in 1..size {
            send(world, r, FINAL, &[u8::from(ok)]);
        }
        ok
    }

    /// A copy of an error, for reporting it from rank 0 (CliError holds an io::Error, which
    /// does not clone).
    fn again(e: &CliError) -> CliError {
        CliError::Usage(e.to_string())
    }

    /// What rank 0 shares between its dispatching thread and its computing thread.
    struct Dispatch {
        next: usize,
        computed: usize,
        failure: Option<CliError>,
    }

    /// Computes every missing tile of `store` on all ranks: rank 0's main thread answers
    /// requests (every rank's first request, then one per saved tile), a second thread
    /// computes tiles on rank 0. After a failure anywhere, no tile is handed out any more,
    /// tiles in flight finish, and the first failure is returned. A rank that was told there
    /// are no more tiles may say that its tiles are durable before the others are done: those
    /// SYNCED messages' payloads are kept in `synced` (by rank).
    fn distribute(
        world: &SimpleCommunicator,
        job: &KernelJob,
        store: &TileStore,
        synced: &mut [Option<Vec<u8>>],
    ) -> Result<TileRun, CliError> {
        let grid = store.manifest().grid();
        let tiles = grid.tiles();
        let pending = tiles::scan(store);
        let mut failure = tiles::check_pending_space(store, &pending, job.results_bytes()).err();
        let index: std::collections::HashMap<TileId, usize> =
            tiles.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let missing: Vec<usize> = pending.missing.iter().map(|id| index[id]).collect();
        let size = world.size();
        let tracker = Tracker::new("kernel", pending.work(&grid) as f64);
        let stage = tracker.stage(
            &format!(
                "{} of {} tiles on {size} ranks",
                missing.len(),
                pending.run.total
            ),
            pending.work(&grid),
            1.0,
        );
        let state = Mutex::new(Dispatch {
            next: if failure.is_some() { missing.len() } else { 0 },
            computed: 0,
            failure: None,
        });
        let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
        let take = || {
            let mut s = lock();
            if s.failure.is_some() || s.next >= missing.len() {
                return None;
            }
            s.next += 1;
            Some(missing[s.next - 1])
        };
        let saved = |i: usize| {
            lock().computed += 1;
            stage.inc(grid.work(tiles[i]));
        };
        let fail = |e: CliError| {
            let mut s = lock();
            if s.failure.is_none() {
                s.failure = Some(e);
            }
        };
        // Rank 0's tiles are fsynced as they are saved while it computes and before it assembles
        // them ([`TileStore::sync_while`]); every other rank syncs its own ([`worker`]).
        let ours = store.sync_while(|| {
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    while let Some(i) = take() {
                        match compute_and_save(job, store, tiles[i]) {
                            Ok(()) => saved(i),
                            Err(e) => fail(e),
                        }
                    }
                });
                let mut asking = size - 1;
                let mut nap = Duration::from_micros(50);
                while asking > 0 {
                    let Some((kind, payload, from)) = try_receive(world, None) else {
                        std::thread::sleep(nap);
                        nap = (nap * 2).min(Duration::from_millis(5));
                        continue;
                    };
                    nap = Duration::from_micros(50);
                    match kind {
                        REQUEST => {
                            if let Some(i) = index_of(&payload) {
                                saved(i);
                            }
                            match take() {
                                Some(i) => send(world, from, ASSIGN, &index_bytes(i)),
                                None => {
                                    send(world, from, NO_MORE, &[]);
                                    asking -= 1;
                                }
                            }
                        }
                        FAILED => {
                            fail(CliError::Usage(format!(
                                "rank {from}: {}",
                                String::from_utf8_lossy(&payload)
                            )));
                            asking -= 1;
                        }
                        SYNCED => synced[from as usize] = Some(payload),
                        _ => fail(CliError::Usage(unexpected(from, kind))),
                    }
                }
            });
            Ok(())
        });
        drop(stage);
        let s = state.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = failure.take().or(s.failure) {
            return Err(e);
        }
        ours?;
        tracker.finish();
        Ok(TileRun {
            computed: s.computed,
            ..pending.run
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_caught_panic_is_one_line_of_its_message() {
        assert_eq!(catching(|| 7), Ok(7));
        assert_eq!(
            catching::<()>(|| { std::panic::panic_any("static text") }),
            Err("static text".to_string())
        );
        let n = 3;
        assert_eq!(
            catching::<()>(|| { panic!("formatted {n}") }),
            Err("formatted 3".to_string())
        );
        assert_eq!(
            catching::<()>(|| { panic!("first line\n  second\tline\n") }),
            Err("first line second line".to_string())
        );
        let e = catching(|| assert_eq!(1 + 1, 3)).unwrap_err();
        assert!(
            !e.contains('\n') && e.contains("left: 2") && e.contains("right: 3"),
            "{e}"
        );
        assert_eq!(
            catching::<()>(|| { std::panic::panic_any(42_u32) }),
            Err("no message".to_string())
        );
    }

    #[test]
    fn launchers_are_recognised_by_their_environment() {
        assert_eq!(launcher_size_in(env(&[("HOME", "/root")])), None);
        assert_eq!(
            launcher_size_in(env(&[("OMPI_COMM_WORLD_SIZE", "3")])),
            Some(Some(3))
        );
        assert_eq!(
            launcher_size_in(env(&[("PMI_RANK", "0"), ("PMI_SIZE", "2")])),
            Some(Some(2))
        );
        assert_eq!(launcher_size_in(env(&[("PMIX_RANK", "1")])), Some(None));
    }

    #[test]
    fn only_an_mpi_build_runs_kernel_over_several_ranks() {
        // Without a launcher: everything runs, except `kernel` in an MPI build.
        assert!(check_launch_with("kernel", None, false).is_ok());
        assert!(check_launch_with("predict", None, true).is_ok());
        let e = check_launch_with("kernel", None, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("mpirun -n R entk kernel"), "{e}");
        // One process under a launcher is one process.
        assert!(check_launch_with("kernel", Some(Some(1)), false).is_ok());
        assert!(check_launch_with("reproduce", Some(Some(1)), true).is_ok());
        // Several.
        assert!(check_launch_with("kernel", Some(Some(4)), true).is_ok());
        let e = check_launch_with("kernel", Some(Some(4)), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("built without MPI") && e.contains("4 copies"),
            "{e}"
        );
        let e = check_launch_with("predict", Some(None), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`entk predict` runs as one process"), "{e}");
        assert!(!e.contains('\n'));
    }
}
