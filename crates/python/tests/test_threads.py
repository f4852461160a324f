"""Kernel work releases the GIL, and Ctrl-C (SIGINT) stops it."""

import _thread
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
    # KeyboardInterrupt long before it could have finished. (A single interrupt_main once went
    # unseen late in a full pytest run, never alone; repeating it keeps the test about the
    # engine stopping, not about that first signal.) The lock makes sure no interrupt is sent
    # after the call has ended, so none can escape the `pytest.raises` block.
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
