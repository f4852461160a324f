"""entk.kernel / entk.predict are bit-identical to `entk kernel` / `entk predict` on the same
.npy inputs, for float64 and float32 inputs and any memory layout."""

import json
import subprocess

import numpy as np

import entk
from conftest import C4_GCNN, images


def run_cli(entk_bin, *args):
    subprocess.run([str(entk_bin), *map(str, args)], check=True, capture_output=True)


def test_kernel_is_bit_identical_to_the_cli(entk_bin, tmp_path):
    x1, x2 = images(4, 6, 2, seed=1), images(3, 6, 2, seed=2)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(C4_GCNN))
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    for x2_arg, x2_py in [([], None), (["--x2", tmp_path / "x2.npy"], x2)]:
        out = tmp_path / f"out{len(x2_arg)}"
        run_cli(entk_bin, "kernel", "--arch", spec, "--x1", tmp_path / "x1.npy", *x2_arg, "--out", out)
        k = entk.kernel(C4_GCNN, x1, x2_py)
        for name in ("nngp", "ntk"):
            cli = np.load(out / f"{name}.npy")
            py = getattr(k, name)
            assert py.dtype == np.float64 and py.shape == cli.shape
            assert np.array_equal(py, cli), name  # bit for bit
    # x2 = None is exactly symmetric, and the spec may be given as JSON text.
    k = entk.kernel(json.dumps(C4_GCNN), x1)
    assert np.array_equal(k.ntk, k.ntk.T)


def test_float32_and_strided_inputs_match_the_cli(entk_bin, tmp_path):
    x32 = images(3, 5, 1, seed=3, dtype=np.float32)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(C4_GCNN))
    np.save(tmp_path / "x.npy", x32)
    run_cli(entk_bin, "kernel", "--arch", spec, "--x1", tmp_path / "x.npy", "--out", tmp_path / "o")
    cli = np.load(tmp_path / "o" / "ntk.npy")
    assert np.array_equal(entk.kernel(C4_GCNN, x32).ntk, cli)
    # The same values in Fortran order, and as a strided view of a larger array.
    assert np.array_equal(entk.kernel(C4_GCNN, np.asfortranarray(x32.astype(np.float64))).ntk, cli)
    big = np.zeros((6, 10, 5, 3))
    big[::2, ::2, :, 1] = x32[..., 0]
    view = big[::2, ::2, :, 1:2]
    assert not view.flags.c_contiguous
    assert np.array_equal(entk.kernel(C4_GCNN, view).ntk, cli)


def test_predict_equals_the_cli(entk_bin, tmp_path):
    x_train, x_test = images(5, 5, 1, seed=4), images(3, 5, 1, seed=5)
    y = np.random.default_rng(6).standard_normal((5, 2))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(C4_GCNN))
    for name, a in [("train", x_train), ("test", x_test), ("y", y)]:
        np.save(tmp_path / f"{name}.npy", a)
    for t, diag_reg, lr in [(None, 0.0, 1.0), (2.5, 1e-3, 0.5)]:
        out = tmp_path / f"p{t}"
        extra = (["--time", t] if t is not None else []) + ["--diag-reg", diag_reg, "--learning-rate", lr]
        run_cli(entk_bin, "predict", "--arch", spec, "--train", tmp_path / "train.npy", "--labels",
                tmp_path / "y.npy", "--test", tmp_path / "test.npy", *extra, "--out", out)
        p = entk.predict(C4_GCNN, x_train, y, x_test, t=t, diag_reg=diag_reg, learning_rate=lr)
        assert np.array_equal(p.ntk_mean, np.load(out / "ntk_mean.npy"))
        assert np.array_equal(p.nngp_mean, np.load(out / "nngp_mean.npy"))
    # 1-D targets give 1-D means with the values of the (N, 1) case.
    p1 = entk.predict(C4_GCNN, x_train, y[:, 0], x_test)
    p2 = entk.predict(C4_GCNN, x_train, y[:, :1], x_test)
    assert p1.ntk_mean.shape == (3,) and np.array_equal(p1.ntk_mean, p2.ntk_mean[:, 0])


def test_verify_group_is_the_cli_report(entk_bin):
    out = subprocess.run([str(entk_bin), "verify-group", "d4"], check=True, capture_output=True, text=True)
    assert entk.verify_group("d4") == json.loads(out.stdout)
    names = entk.groups()
    assert "c4" in names and "d4" in names and "so3" in names
    report = entk.verify_group("so3", bandlimit=3)
    assert report["group"] == "so3" and report["bandlimit"] == 3 and report["passed"]


def test_so3_network_on_s2_signals_matches_the_cli(entk_bin, tmp_path):
    # S² signals (N, 2L, 2L−1, C) with L = 3 through the stax SO(3) layers.
    from entk import stax

    init_fn, apply_fn, kernel_fn = net = stax.serial(
        stax.S2LiftConv(4, 2), stax.Erf(), stax.SO3Conv(4, 2, b_std=0.1), stax.Erf(),
        stax.SO3Pool(), stax.Dense(1))
    x = np.random.default_rng(7).standard_normal((3, 6, 5, 2))
    (tmp_path / "spec.json").write_text(json.dumps(net.spec))
    np.save(tmp_path / "x.npy", x)
    run_cli(entk_bin, "kernel", "--arch", tmp_path / "spec.json", "--x1", tmp_path / "x.npy", "--out", tmp_path / "o")
    nngp, ntk = kernel_fn(x, None, ("nngp", "ntk"))
    assert np.array_equal(nngp, np.load(tmp_path / "o" / "nngp.npy"))
    assert np.array_equal(ntk, np.load(tmp_path / "o" / "ntk.npy"))
    out_shape, params = init_fn(0, x.shape)
    assert out_shape == (3, 1) and apply_fn(params, x).shape == (3, 1)
