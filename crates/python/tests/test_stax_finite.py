"""entk.stax init_fn / apply_fn: the finite-width twin on NumPy arrays."""

import numpy as np

from entk import stax


def gcnn():
    return stax.serial(
        stax.LiftConv(6, 3, group="c4", padding="SAME"), stax.Relu(),
        stax.GroupConv(6, 3, padding="SAME", b_std=0.1), stax.Relu(),
        stax.GroupPool(), stax.Dense(3))


def test_shapes_and_seeds():
    init_fn, apply_fn, _ = gcnn()
    x = np.random.default_rng(0).standard_normal((4, 7, 7, 2))
    out_shape, params = init_fn(0, x.shape)
    assert out_shape == (4, 3)
    y = apply_fn(params, x)
    assert y.shape == (4, 3) and y.dtype == np.float64
    _, same = init_fn(0, (-1, 7, 7, 2))
    _, other = init_fn(1, (-1, 7, 7, 2))
    assert np.array_equal(same.flat(), params.flat()) and params.size == same.size
    assert not np.array_equal(other.flat(), params.flat())
    assert np.array_equal(apply_fn(same, x.astype(np.float32)), apply_fn(same, x.astype(np.float32)))
    # rng may be a numpy Generator or a JAX-style key array.
    init_fn(np.random.default_rng(5), x.shape)
    init_fn(np.array([0, 7], dtype=np.uint32), x.shape)


def test_finite_gcnn_is_rotation_invariant():
    init_fn, apply_fn, _ = gcnn()
    x = np.random.default_rng(1).standard_normal((3, 7, 7, 1))
    _, params = init_fn(3, x.shape)
    y = apply_fn(params, x)
    for k in (1, 2, 3):
        yk = apply_fn(params, np.rot90(x, k, axes=(1, 2)))
        assert np.max(np.abs(yk - y)) < 1e-12 * max(1.0, np.max(np.abs(y)))
    # A plain CNN is not.
    init_c, apply_c, _ = stax.serial(stax.Conv(6, (3, 3), padding="SAME"), stax.Relu(),
                                     stax.GlobalAvgPool(), stax.Dense(1))
    _, pc = init_c(3, x.shape)
    assert np.max(np.abs(apply_c(pc, np.rot90(x, 1, axes=(1, 2))) - apply_c(pc, x))) > 1e-6


def test_monte_carlo_nngp_of_finite_networks_matches_kernel_fn():
    # E_θ[f(x1) f(x2)] over random finite networks is the NNGP; 2000 draws of a width-64
    # Erf MLP, compared within 5 standard errors. With one hidden layer the pre-activations are
    # exactly Gaussian at any width, so the finite-width expectation is exactly the NNGP.
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Dense(64, W_std=1.5, b_std=0.2), stax.Erf(), stax.Dense(1, W_std=1.2, b_std=0.1))
    x = np.random.default_rng(2).standard_normal((2, 4))
    nngp = kernel_fn(x, None, "nngp")
    draws = []
    for seed in range(2000):
        _, p = init_fn(seed, x.shape)
        y = apply_fn(p, x)[:, 0]
        draws.append(np.outer(y, y))
    draws = np.array(draws)
    mean, se = draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(mean - nngp) < 5 * se + 1e-12), (mean, nngp, se)
