"""Shared fixtures of the entk Python tests.

The CLI tests need the `entk` binary of this checkout: $ENTK_BIN, or target/release/entk
(scripts/test-all builds it). They fail, not skip, when it is missing.
"""

import os
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def entk_bin() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("ENTK_BIN", REPO / "target" / "release" / "entk"))
    if not path.is_file():
        pytest.fail(f"the entk binary is missing at {path}: run `cargo build --release -p entk-cli` or set ENTK_BIN")
    return path


def images(n: int, size: int, channels: int = 1, seed: int = 0, dtype=np.float64) -> np.ndarray:
    """Seeded random images (N, size, size, channels)."""
    return np.random.default_rng(seed).standard_normal((n, size, size, channels)).astype(dtype)


C4_GCNN = {
    "layers": [
        {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"},
        {"type": "relu"},
        {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "b_std": 0.1},
        {"type": "relu"},
        {"type": "group_pool"},
        {"type": "dense"},
    ]
}
