"""Kernel work releases the GIL, and Ctrl-C (SIGINT) stops it."""

import _thread
import signal
import sys
import threading
import time

import numpy as np
import pytest

import entk
from conftest import C4_GCNN, images


def test_other_python_threads_run_while_a_kernel_computes():
    # With a huge switch interval CPython never preempts a thread: the counting loop below can
    # only run while the kernel thread has released the GIL (or has finished). The kernel
    # thread reads the counter as soon as its call returns, so a positive count proves that the
    # main thread ran *during* the kernel call.
    x = images(24, 6, 1)
    counter = [0]
    seen = {}

    def compute():
        entk.kernel(C4_GCNN, x)
        seen["count_at_return"] = counter[0]

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        worker = threading.Thread(target=compute)
        worker.start()
        while worker.is_alive():
            counter[0] += 1
            if counter[0] % 1000 == 0:
                time.sleep(0)  # let the kernel thread take the GIL to return
        worker.join()
    finally:
        sys.setswitchinterval(old)
    assert seen["count_at_return"] >= 1000


def test_ctrl_c_interrupts_a_long_kernel():
    # About 1.1·10⁶ pairs of 10×10 C4-GCNN kernels: minutes of work. SIGINT arrives every 0.5 s
    # (as from a user pressing Ctrl-C) until the call returns; the call must end with
    # KeyboardInterrupt long before it could have finished. The lock makes sure no interrupt is
    # sent after the call has ended, so none can escape the `pytest.raises` block.
    #
    # Python's Ctrl-C handler is installed for the test: a process started in the background by
    # a non-interactive shell (`cmd &` in a script, as CI runners and nohup jobs do) inherits
    # SIGINT as ignored, Python then leaves it ignored, and `interrupt_main` does nothing. That,
    # not the engine, is why this test once ran the whole kernel in such runs.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _interrupt_a_long_kernel()
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_a_long_kernel():
    x = images(1500, 10, 1)
    done = False
    lock = threading.Lock()

    def press_ctrl_c():
        for _ in range(120):
            time.sleep(0.5)
            with lock:
                if done:
                    return
                _thread.interrupt_main()

    presser = threading.Thread(target=press_ctrl_c)
    start = time.monotonic()
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            try:
                entk.kernel(C4_GCNN, x)
            finally:
                with lock:
                    done = True
                # A Ctrl-C sent while the call was returning is delivered here, inside the block.
                time.sleep(0.01)
    finally:
        with lock:
            done = True
        presser.join()
    elapsed = time.monotonic() - start
    assert elapsed < 60, f"the interrupt took {elapsed:.1f} s to stop the kernel"
    # The engine is usable again afterwards.
    assert entk.kernel(C4_GCNN, x[:2]).ntk.shape == (2, 2)
