//! Per-thread reuse of kernel-sized buffers.
//!
//! A pair's kernel passes through several layers, each producing arrays of up to
//! `|G|·H²W²` values (2 MiB for a 16×16 C4 network). Freshly allocated arrays that large are
//! mapped and zero-filled page by page by the operating system, which cost about a tenth of a
//! Gram computation; recycling them within the worker thread removes that. The pool holds at most
//! [`MAX_BUFFERS`] arrays, each no larger than the largest kernel of the computation; in the
//! steady state a worker holds about four of them in use (input and output of a layer, NNGP and
//! NTK), which is what [`crate::KernelPlan`]'s memory model counts (measured within 15 % of the
//! peak RSS). Gram computations run on their own threads, whose
//! pools go with them; one-off kernels on a caller's thread empty its pool afterwards.

use std::cell::RefCell;

/// Most arrays kept per thread (the memory model's six per pair).
const MAX_BUFFERS: usize = 6;
/// Arrays shorter than this are not worth keeping.
const MIN_LEN: usize = 1 << 12;

thread_local! {
    static POOL: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
}

/// A vector of `len` values whose contents are unspecified (stale values of an earlier
/// array): for callers that overwrite every entry.
pub(crate) fn take(len: usize) -> Vec<f64> {
    let reused = if len >= MIN_LEN {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            // Best fit: the smallest array that is large enough, and not so large that a kernel
            // handed to the caller would carry much unused capacity.
            let best = p
                .iter()
                .enumerate()
                .filter(|(_, v)| (len..=2 * len).contains(&v.capacity()))
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i);
            best.map(|i| p.swap_remove(i))
        })
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

/// Returns an array to this thread's pool (dropping the smallest when full).
pub(crate) fn recycle(v: Vec<f64>) {
    if v.capacity() < MIN_LEN {
        return;
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.push(v);
        if p.len() > MAX_BUFFERS {
            let smallest = p
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i)
                .expect("nonempty");
            p.swap_remove(smallest);
        }
    });
}

/// Empties this thread's pool (after one-off computations on a caller's thread, whose pool
/// would otherwise keep its arrays until the thread ends).
pub(crate) fn release() {
    POOL.with(|p| p.borrow_mut().clear());
}
