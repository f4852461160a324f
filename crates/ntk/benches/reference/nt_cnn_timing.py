"""Reference timing for the `c4_gcnn_ntk_n16_16x16` criterion bench: neural-tangents' plain-CNN
NTK + NNGP Gram of 16 random 16x16x3 images, jit-compiled and warm, on CPU in float64.

The CNN is the non-equivariant partner of the docs/theory.md#golden-values C4 GCNN:
[Conv 3x3 SAME, ReLU, Conv 3x3 SAME, ReLU, GlobalAvgPool, Dense(1)].

Run (versions as in crates/ntk/tests/golden/requirements.txt):
    pip install -r crates/ntk/tests/golden/requirements.txt
    python3 crates/ntk/benches/reference/nt_cnn_timing.py
"""

import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402
from neural_tangents import stax  # noqa: E402

_, _, kernel_fn = stax.serial(
    stax.Conv(1, (3, 3), padding="SAME", W_std=1.0, b_std=None),
    stax.Relu(),
    stax.Conv(1, (3, 3), padding="SAME", W_std=1.0, b_std=None),
    stax.Relu(),
    stax.GlobalAvgPool(),
    stax.Dense(1, W_std=1.0, b_std=None),
)
kernel_fn = jax.jit(kernel_fn, static_argnames="get")
x = np.random.default_rng(0).standard_normal((16, 16, 16, 3))


def run():
    k = kernel_fn(x, None, get=("nngp", "ntk"))
    k.ntk.block_until_ready()
    return k


run()  # compile
times = []
for _ in range(10):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
print(f"neural-tangents CNN NTK+NNGP, 16 images 16x16x3, warm: median {statistics.median(times):.3f} s "
      f"(min {min(times):.3f}, max {max(times):.3f}) over {len(times)} runs; jax {jax.__version__}")
