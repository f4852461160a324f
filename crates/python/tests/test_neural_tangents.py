"""entk.stax against neural-tangents (PyPI, JAX on CPU, x64): the same network code, only the
import changes, gives the same NNGP and NTK to ≤ 1e-10."""

import numpy as np
import pytest

import jax  # installed by the test set-up (scripts/test-all)
jax.config.update("jax_enable_x64", True)
from neural_tangents import stax as nt_stax  # noqa: E402

from entk import stax as entk_stax  # noqa: E402

TOL = 1e-10


def cnn(stax):
    return stax.serial(
        stax.Conv(8, (3, 3), padding="SAME", W_std=1.5, b_std=0.1),
        stax.Relu(),
        stax.Conv(8, (3, 3), padding="VALID", W_std=1.2),
        stax.Erf(),
        stax.GlobalAvgPool(),
        stax.Dense(1, W_std=1.1, b_std=0.05),
    )


def strided_cnn_with_pools(stax):
    return stax.serial(
        stax.Conv(6, (3, 3), strides=(2, 2), padding="SAME", b_std=0.3),
        stax.Gelu(),
        stax.AvgPool((2, 2), strides=(1, 1), padding="SAME"),
        stax.Conv(5, (3, 3), padding="CIRCULAR"),
        stax.LeakyRelu(0.1),
        stax.SumPool((2, 2), padding="VALID"),
        stax.Conv(4, (1, 1)),
        stax.ABRelu(-0.5, 1.5),
        stax.GlobalSumPool(),
        stax.Dense(1),
    )


def mlp_standard(stax):
    return stax.serial(
        stax.Dense(64, W_std=1.3, b_std=0.2, parameterization="standard"),
        stax.Relu(),
        stax.Dense(32, W_std=0.9, b_std=0.1, parameterization="standard"),
        stax.Erf(a=1.2, b=0.7, c=0.1),
        stax.Dense(1, W_std=1.1, b_std=0.3, parameterization="standard"),
    )


def fan_in_concat(stax):
    return stax.serial(
        stax.Conv(4, (3, 3), padding="SAME"),
        stax.FanOut(2),
        stax.parallel(
            stax.serial(stax.Relu(), stax.Conv(4, (3, 3), padding="SAME", b_std=0.2)),
            stax.serial(stax.Erf(), stax.Conv(6, (1, 1), padding="SAME", W_std=1.4)),
        ),
        stax.FanInConcat(),
        stax.Conv(3, (3, 3), padding="CIRCULAR", W_std=1.3, b_std=0.1),
        stax.Relu(),
        stax.Flatten(),
        stax.Dense(1),
    )


def compare(build, x1, x2):
    _, _, entk_fn = build(entk_stax)
    _, _, nt_fn = build(nt_stax)
    ours = entk_fn(x1, x2, ("nngp", "ntk"))
    theirs = nt_fn(x1, x2, ("nngp", "ntk"))
    for name, a, b in zip(("nngp", "ntk"), ours, theirs):
        b = np.asarray(b, dtype=np.float64)
        assert a.shape == b.shape, name
        err = np.max(np.abs(a - b))
        assert err <= TOL, f"{name}: max |entk − neural-tangents| = {err:.3e} (scale {np.max(np.abs(b)):.3e})"
        assert np.max(np.abs(b)) > 1e-3  # not a comparison of zeros


def test_cnn_matches_neural_tangents():
    rng = np.random.default_rng(0)
    compare(cnn, rng.standard_normal((3, 6, 6, 2)), rng.standard_normal((2, 6, 6, 2)))


def test_strided_cnn_with_pools_matches_neural_tangents():
    rng = np.random.default_rng(4)
    compare(strided_cnn_with_pools, rng.standard_normal((3, 7, 7, 2)), rng.standard_normal((2, 7, 7, 2)))


def test_standard_parameterisation_mlp_matches_neural_tangents():
    rng = np.random.default_rng(1)
    compare(mlp_standard, rng.standard_normal((4, 5)), rng.standard_normal((3, 5)))


def test_fan_in_concat_network_matches_neural_tangents():
    rng = np.random.default_rng(2)
    compare(fan_in_concat, rng.standard_normal((3, 5, 5, 1)), rng.standard_normal((2, 5, 5, 1)))


def test_kernel_fn_get_like_neural_tangents():
    x = np.random.default_rng(3).standard_normal((3, 5))
    _, _, kernel_fn = mlp_standard(entk_stax)
    k = kernel_fn(x)  # x2=None: x2 = x1
    assert np.array_equal(kernel_fn(x, None, "ntk"), k.ntk)
    nngp, ntk = kernel_fn(x, x, ("nngp", "ntk"))
    assert np.array_equal(nngp, k.nngp) and np.array_equal(ntk, k.ntk)
    with pytest.raises(ValueError, match="get must be"):
        kernel_fn(x, None, "cov1")
