//! Process-wide reuse of kernel-sized buffers.
//!
//! A pair's kernel passes through several layers, each producing arrays of up to
//! `|G|·H²W²` values (2 MiB for a 16×16 C4 network, 20 MiB at 28×28, 315 MiB for C8 at 28×28
//! in the full layout). Freshly allocated arrays that large are mapped and zero-filled page by
//! page by the operating system, which cost a tenth or more of a Gram computation; recycling
//! them removes that.
//!
//! The pool is shared by all threads, so it outlives the worker threads of one Gram
//! computation: a caller that computes many Gram matrices in a row (the tiles of `entk kernel`,
//! the experiments' model and draw loops) faults its buffers in once, not once per call.
//! What it may keep is bounded twice:
//! - by count: at most [`MAX_BUFFERS`] free arrays per worker thread of the computations
//!   running ([`Session`]; [`MAX_BUFFERS`] when none runs). A free array is one that a worker
//!   used and handed back, so the pool holds at most the arrays one pair's layers use in turn
//!   per worker (for C4 at 28×28, about 100 MB per worker: the `4·8·|G|·H²W²` bytes of
//!   [`crate::KernelPlan`]'s memory model plus the smaller first-layer and padded arrays);
//! - in time: when the last running computation ends, the arrays it did not use are freed,
//!   so between computations the process keeps only the working set of the latest one, ready
//!   for the next call. [`release_buffers`] frees that too.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Most free arrays kept per worker thread: the distinct arrays one pair uses in turn (a kernel
/// and its NTK per layer shape, and the padded copies of the stencils).
const MAX_BUFFERS: usize = 12;
/// Arrays shorter than this are not worth keeping (the allocator serves them from its heap).
const MIN_LEN: usize = 1 << 12;

/// The process's pool.
static GLOBAL: Pool = Pool::new();

/// A vector of `len` values whose contents are unspecified (stale values of an earlier
/// array): for callers that overwrite every entry.
pub(crate) fn take(len: usize) -> Vec<f64> {
    GLOBAL.take(len)
}

/// Returns an array to the pool (dropping the smallest when full).
pub(crate) fn recycle(v: Vec<f64>) {
    GLOBAL.recycle(v)
}

/// Frees every array the pool keeps. Gram computations keep the working set of the latest
/// one for the next call (a few kernel-sized arrays per worker thread: see the module
/// documentation of `scratch`); a program that computes no more kernels may hand that memory
/// back with this.
pub fn release_buffers() {
    GLOBAL.release();
}

/// One kernel computation on `threads` worker threads, for the pool's bounds: while it runs
/// the pool may keep [`MAX_BUFFERS`] free arrays per worker; when it ends and no other
/// computation runs, the arrays it did not use are freed.
pub(crate) fn session(threads: usize) -> Session<'static> {
    GLOBAL.begin(threads)
}

/// One free array and the value of the pool's clock when it was returned.
struct Free {
    v: Vec<f64>,
    stamp: u64,
}

/// Free arrays and the bookkeeping of the computations that use them.
struct Pool {
    free: Mutex<Vec<Free>>,
    /// Ticks once per started [`Session`].
    clock: AtomicU64,
    /// Worker threads of the sessions running now.
    workers: AtomicUsize,
    /// Sessions running now.
    sessions: AtomicUsize,
}

impl Pool {
    const fn new() -> Self {
        Pool {
            free: Mutex::new(Vec::new()),
            clock: AtomicU64::new(0),
            workers: AtomicUsize::new(0),
            sessions: AtomicUsize::new(0),
        }
    }

    fn free(&self) -> MutexGuard<'_, Vec<Free>> {
        // A panic while the lock was held cannot leave the list inconsistent (every operation
        // on it is a push, a swap_remove or a partition): keep using it.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, len: usize) -> Vec<f64> {
        let reused = if len >= MIN_LEN {
            let mut p = self.free();
            // Best fit: the smallest array that is large enough, and not so large that a
            // kernel handed to the caller would carry much unused capacity.
            let best = p
                .iter()
                .enumerate()
                .filter(|(_, f)| (len..=2 * len).contains(&f.v.capacity()))
                .min_by_key(|(_, f)| f.v.capacity())
                .map(|(i, _)| i);
            best.map(|i| p.swap_remove(i).v)
        } else {
            None
        };
        match reused {
            Some(mut v) => {
                v.resize(len, 0.0);
                v
            }
            None => vec![0.0; len],
        }
    }

    fn recycle(&self, v: Vec<f64>) {
        if v.capacity() < MIN_LEN {
            return;
        }
        let cap = MAX_BUFFERS * self.workers.load(Ordering::Relaxed).max(1);
        let stamp = self.clock.load(Ordering::Relaxed);
        let dropped = {
            let mut p = self.free();
            p.push(Free { v, stamp });
            let mut dropped = Vec::new();
            while p.len() > cap {
                let smallest = p
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, f)| f.v.capacity())
                    .map(|(i, _)| i)
                    .expect("nonempty");
                dropped.push(p.swap_remove(smallest));
            }
            dropped
        };
        // Freed outside the lock (unmapping a large array takes a while).
        drop(dropped);
    }

    fn release(&self) {
        let freed = std::mem::take(&mut *self.free());
        drop(freed);
    }

    fn begin(&self, threads: usize) -> Session<'_> {
        let threads = threads.max(1);
        self.workers.fetch_add(threads, Ordering::Relaxed);
        self.sessions.fetch_add(1, Ordering::Relaxed);
        let start = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        Session {
            pool: self,
            start,
            threads,
        }
    }
}

/// A running kernel computation ([`session`]); it ends when dropped.
pub(crate) struct Session<'a> {
    pool: &'a Pool,
    start: u64,
    threads: usize,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let pool = self.pool;
        pool.workers.fetch_sub(self.threads, Ordering::Relaxed);
        if pool.sessions.fetch_sub(1, Ordering::Relaxed) == 1 {
            let stale: Vec<Free> = {
                let mut p = pool.free();
                let (keep, stale) = std::mem::take(&mut *p)
                    .into_iter()
                    .partition(|f| f.stamp >= self.start);
                *p = keep;
                stale
            };
            drop(stale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_reused_across_threads_and_computations_and_stale_ones_freed() {
        let pool = Pool::new();
        let count = || pool.free().len();
        let len = 1 << 14;
        // A computation's arrays outlive its worker threads and serve the next computation.
        let session = pool.begin(2);
        let ptr = std::thread::scope(|s| {
            s.spawn(|| {
                let v = pool.take(len);
                let p = v.as_ptr() as usize;
                pool.recycle(v);
                p
            })
            .join()
            .unwrap()
        });
        drop(session);
        let session = pool.begin(1);
        let v = pool.take(len);
        assert_eq!(v.as_ptr() as usize, ptr, "the freed array is reused");
        assert_eq!(v.len(), len);
        // An array much larger than asked for is not handed out.
        pool.recycle(v);
        let small = pool.take(len / 4);
        assert_ne!(small.as_ptr() as usize, ptr);
        drop(small);
        // While another computation runs, ending one frees nothing.
        let other = pool.begin(1);
        drop(pool.begin(1));
        assert_eq!(count(), 1);
        drop(other);
        drop(session);
        // The array was used by the last computation: kept. A computation that does not use
        // it frees it when it ends.
        assert_eq!(count(), 1);
        drop(pool.begin(1));
        assert_eq!(
            count(),
            0,
            "arrays the latest computation did not use are freed"
        );
        // The count is bounded by MAX_BUFFERS per worker (one worker outside computations,
        // three inside these two).
        for _ in 0..4 * MAX_BUFFERS {
            pool.recycle(vec![0.0; len]);
        }
        assert_eq!(count(), MAX_BUFFERS);
        let (a, b) = (pool.begin(1), pool.begin(2));
        for _ in 0..4 * MAX_BUFFERS {
            pool.recycle(vec![0.0; len]);
        }
        assert_eq!(count(), 3 * MAX_BUFFERS);
        drop((a, b));
        pool.release();
        assert_eq!(count(), 0);
        // Short arrays are never kept.
        pool.recycle(vec![0.0; MIN_LEN - 1]);
        assert_eq!(count(), 0);
    }
}
