"""The augmentation theorem (docs/theory.md#data-augmentation-and-group-convolution, pair (a)) through the Python API: the C4 GCNN with
identity-supported group convolution has the orbit-averaged CNN kernel, and a CNN trained on
the C4-augmented set predicts the same mean as that GCNN trained at rate η|G|, at every t."""

import numpy as np

import entk


def cnn(padding):
    return {"layers": [
        {"type": "conv", "filter": 3, "padding": padding}, {"type": "relu"},
        {"type": "conv", "filter": 3, "padding": padding, "b_std": 0.2}, {"type": "relu"},
        {"type": "global_avg_pool"}, {"type": "dense", "b_std": 0.1}]}


def gcnn(padding):
    return {"layers": [
        {"type": "lift_conv", "group": "c4", "filter": 3, "padding": padding}, {"type": "relu"},
        {"type": "group_conv", "filter": 3, "padding": padding, "group_support": "identity", "b_std": 0.2},
        {"type": "relu"}, {"type": "group_pool"}, {"type": "dense", "b_std": 0.1}]}


def orbit(x):
    """The C4 orbit of each image, image-major: [x0, r x0, r² x0, r³ x0, x1, ...]."""
    return np.stack([np.rot90(x, k, axes=(1, 2)) for k in range(4)], axis=1).reshape(-1, *x.shape[1:])


def rel_err(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def test_gcnn_kernel_is_the_orbit_averaged_cnn_kernel():
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((3, 5, 5, 1)), rng.standard_normal((2, 5, 5, 1))
    for padding in ("same", "circular"):
        k_cnn = entk.kernel(cnn(padding), x1, orbit(x2))
        k_gcnn = entk.kernel(gcnn(padding), x1, x2)
        for name in ("nngp", "ntk"):
            averaged = getattr(k_cnn, name).reshape(3, 2, 4).mean(axis=2)
            assert rel_err(averaged, getattr(k_gcnn, name)) < 1e-12, (padding, name)
        # ... and the plain CNN kernel is not (the theorem is not trivially true here).
        assert rel_err(entk.kernel(cnn(padding), x1, x2).ntk, k_gcnn.ntk) > 1e-3


def test_augmented_cnn_predicts_like_the_gcnn_at_every_time():
    rng = np.random.default_rng(1)
    x_train, x_test = rng.standard_normal((4, 5, 5, 1)), rng.uniform(-1, 1, (3, 5, 5, 1))
    y = rng.standard_normal((4, 2))
    eta = 0.7
    for t in (0.05, 1.0, 20.0, None):
        aug = entk.predict(cnn("same"), orbit(x_train), np.repeat(y, 4, axis=0), x_test, t=t, learning_rate=eta)
        eq = entk.predict(gcnn("same"), x_train, y, x_test, t=t, learning_rate=4 * eta)
        assert rel_err(aug.ntk_mean, eq.ntk_mean) < 1e-10, t
        assert rel_err(aug.nngp_mean, eq.nngp_mean) < 1e-10, t
