//! Long work without the GIL, with a progress bar and Ctrl-C.
//!
//! The work runs on a helper thread while the calling thread, with the GIL released, waits for
//! it and every 50 ms briefly re-attaches to run Python's signal handlers
//! (`PyErr_CheckSignals`, which only acts on the main thread). A `KeyboardInterrupt` (or any
//! exception a signal handler raises) sets the stop flag that the kernel engine polls before
//! every pair ([`entk_ntk::Progress::cancelled`]); the helper returns within one pair and the
//! exception propagates to Python. Other Python threads run freely meanwhile.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use entk_cli::progress::Bar;
use entk_ntk::Progress;

/// The progress sink handed to the engine: the CLI's bar on stderr and the stop flag. The bar
/// exists only when stderr is a terminal: off a terminal (scripts, notebooks, logs) the binding
/// prints nothing, unlike the CLI's periodic progress lines.
pub struct Watch {
    bar: Mutex<Option<Bar>>,
    stop: AtomicBool,
}

fn bar(message: &str) -> Option<Bar> {
    std::io::stderr().is_terminal().then(|| Bar::new(message))
}

impl Progress for Watch {
    fn update(&self, done: usize, total: usize) {
        if let Ok(Some(bar)) = self.bar.lock().as_deref() {
            bar.update(done, total);
        }
    }
    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl Watch {
    /// Starts a new bar labelled `message` (work with several Gram matrices calls this between
    /// them).
    pub fn stage(&self, message: &str) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.as_ref() {
                old.finish();
            }
            *slot = bar(message);
        }
    }
    fn finish(&self) {
        if let Ok(Some(bar)) = self.bar.lock().as_deref() {
            bar.finish();
        }
    }
}

/// Runs `work` without the GIL (see the module docs). Errors of `work` are mapped by `to_py`;
/// an interrupt wins over whatever the stopped work returned.
pub fn run<T, E, W, M>(py: Python<'_>, message: &str, work: W, to_py: M) -> PyResult<T>
where
    T: Send,
    E: Send,
    W: FnOnce(&Watch) -> Result<T, E> + Send,
    M: FnOnce(E) -> PyErr,
{
    let watch = Watch {
        bar: Mutex::new(bar(message)),
        stop: AtomicBool::new(false),
    };
    let (outcome, interrupt) = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel();
            let watch = &watch;
            let handle = s.spawn(move || {
                let _ = tx.send(work(watch));
            });
            let mut interrupt: Option<PyErr> = None;
            let outcome = loop {
                match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(r) => break Some(r),
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if interrupt.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                watch.stop.store(true, Ordering::Relaxed);
                                interrupt = Some(e);
                            }
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                }
            };
            let panicked = handle.join().is_err();
            (outcome.filter(|_| !panicked), interrupt)
        })
    });
    watch.finish();
    if let Some(e) = interrupt {
        return Err(e);
    }
    match outcome {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(to_py(e)),
        None => Err(PyRuntimeError::new_err(
            "internal error: the computation panicked (a bug in entk; please report it with the spec and input shapes)",
        )),
    }
}
