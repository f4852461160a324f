"""SO(3)-signal inputs (N, 2L−1, 2L, 2L−1, C), indexed (γ, β, α), through entk.kernel, entk.predict
and entk.stax: the same numbers as `entk kernel`, docs/theory.md#golden-values's golden values through the
north-pole delta lift x(R) = f(R e_z), and one-line errors for bad shapes."""

import json
import subprocess

import numpy as np
import pytest

import entk
from entk import stax

SO3_NET = {
    "layers": [
        {"type": "so3_conv", "bandlimit_out": 2},
        {"type": "erf"},
        {"type": "so3_conv", "bandlimit_out": 2},
        {"type": "erf"},
        {"type": "so3_pool"},
        {"type": "dense"},
    ]
}


def golden_so3_input() -> np.ndarray:
    """docs/theory.md#golden-values "input 2" on the L = 4 Driscoll–Healy grid, lifted to SO(3) by the
    north-pole delta: constant in γ, shape (2, 7, 8, 7, 2)."""
    theta = np.pi * (2 * np.arange(8) + 1) / 16
    phi = 2 * np.pi * np.arange(7) / 7
    t, p = np.meshgrid(theta, phi, indexing="ij")
    x, y, z = np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)
    s2 = np.stack([
        np.stack([1 + z + 0.5 * x * y, x - 0.3 * z * z], axis=-1),
        np.stack([0.2 + y + x * z, 0.5 * y * y - x], axis=-1),
    ])
    return np.ascontiguousarray(np.broadcast_to(s2[:, None], (2, 7, 8, 7, 2)))


def test_kernel_on_so3_signals_gives_the_golden_values_and_the_cli_numbers(entk_bin, tmp_path):
    x = golden_so3_input()
    k = entk.kernel(SO3_NET, x)
    np.testing.assert_allclose(k.ntk, [[0.5442469202, 0.1254721109], [0.1254721109, 0.0673205485]], atol=1e-9)
    np.testing.assert_allclose(k.nngp, [[0.1732614935, 0.0412707749], [0.0412707749, 0.0214151883]], atol=1e-9)
    (tmp_path / "s.json").write_text(json.dumps(SO3_NET))
    np.save(tmp_path / "x.npy", x)
    subprocess.run([str(entk_bin), "kernel", "--arch", tmp_path / "s.json", "--x1", tmp_path / "x.npy",
                    "--out", tmp_path / "o"], check=True, capture_output=True)
    assert np.array_equal(np.load(tmp_path / "o" / "ntk.npy"), k.ntk)
    assert np.array_equal(np.load(tmp_path / "o" / "nngp.npy"), k.nngp)
    # float32 and an explicit x2 work too; predict interpolates its training labels.
    k32 = entk.kernel(SO3_NET, x.astype(np.float32), x[:1])
    assert k32.ntk.shape == (2, 1)
    pred = entk.predict(SO3_NET, x, np.array([1.0, -1.0]), x)
    np.testing.assert_allclose(pred.ntk_mean, [1.0, -1.0], atol=1e-8)


def test_stax_finite_network_on_so3_signals():
    init_fn, apply_fn, kernel_fn = stax.serial(stax.SO3Conv(3, 2, max_beta=1.2), stax.Relu(), stax.SO3Pool(),
                                               stax.Dense(1))
    x = golden_so3_input()
    out_shape, params = init_fn(0, x.shape)
    assert tuple(out_shape) == (2, 1)
    assert apply_fn(params, x).shape == (2, 1)
    assert kernel_fn(x, get="ntk").shape == (2, 2)


@pytest.mark.parametrize("shape, fragment", [
    ((2, 7, 8, 6, 1), "the γ and α axes differ (7 vs 6)"),
    ((2, 6, 7, 6, 1), "need an odd number 2L−1"),
    ((2, 7, 7, 7, 1), "need 2L = 8"),
])
def test_bad_so3_shapes_raise_one_line_errors(shape, fragment):
    with pytest.raises(ValueError) as e:
        entk.kernel(SO3_NET, np.zeros(shape))
    assert fragment in str(e.value) and "(N, 2L−1, 2L, 2L−1, C)" in str(e.value)
    assert "\n" not in str(e.value)


def test_so3_signals_need_a_first_so3_conv_and_one_kind_of_input():
    lift = {"layers": [{"type": "s2_lift_conv", "bandlimit_out": 2}, {"type": "so3_pool"}, {"type": "dense"}]}
    with pytest.raises(ValueError, match="must go straight into so3_conv"):
        entk.kernel(lift, golden_so3_input())
    with pytest.raises(ValueError, match="both 5-D"):
        entk.kernel(SO3_NET, golden_so3_input(), np.zeros((2, 8, 7, 2)))
