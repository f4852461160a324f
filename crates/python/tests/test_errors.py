"""Bad input raises a Python exception with the command line's one-line message, never a crash."""

import json
import subprocess

import numpy as np
import pytest

import entk
from entk import stax
from conftest import C4_GCNN, images

X = images(2, 5, 1)


def cli_error(entk_bin, tmp_path, spec, x):
    (tmp_path / "s.json").write_text(json.dumps(spec))
    np.save(tmp_path / "x.npy", x)
    r = subprocess.run([str(entk_bin), "kernel", "--arch", tmp_path / "s.json", "--x1", tmp_path / "x.npy",
                        "--out", tmp_path / "o"], capture_output=True, text=True)
    assert r.returncode != 0
    line = r.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line
    return line[len("error: "):]


@pytest.mark.parametrize("spec, fragment", [
    ({"layers": [{"type": "dens"}]}, "unknown layer type `dens`"),
    ({"layers": [{"type": "conv", "filter": 3, "filtr": 3}]}, "unknown field `filtr`"),
    ({"layers": [{"type": "conv", "filter": 2}, {"type": "global_avg_pool"}, {"type": "dense"}]}, "must be odd"),
    ({"layers": [{"type": "conv", "filter": 3, "padding": "same"}]}, "not one scalar per input"),
    ({"layers": [{"type": "conv", "filter": 9}, {"type": "global_avg_pool"}, {"type": "dense"}]}, "layer 0"),
])
def test_bad_specs_raise_the_cli_message(entk_bin, tmp_path, spec, fragment):
    with pytest.raises(ValueError) as e:
        entk.kernel(spec, X)
    assert fragment in str(e.value)
    assert str(e.value) == cli_error(entk_bin, tmp_path, spec, X)


def test_non_finite_input_raises_the_engine_message():
    x = X.copy()
    x[1, 2, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"bad input: x1\[1,2,3,0\] is NaN"):
        entk.kernel(C4_GCNN, x)
    with pytest.raises(ValueError, match=r"x2\[0,0,0,0\] is inf"):
        entk.kernel(C4_GCNN, X, np.full((1, 5, 5, 1), np.inf))


def test_bad_arrays():
    with pytest.raises(ValueError, match="must have 4 dimensions"):
        entk.kernel(C4_GCNN, X[0])
    with pytest.raises(ValueError, match="dtype int64"):
        entk.kernel(C4_GCNN, X.astype(np.int64))
    with pytest.raises(ValueError, match="x1 has 1 channels but x2 has 2"):
        entk.kernel(C4_GCNN, X, images(1, 5, 2))
    with pytest.raises(ValueError, match="both be 4-D"):
        entk.kernel(C4_GCNN, X, np.zeros((2, 25)))
    with pytest.raises(ValueError, match="x1 is empty"):
        entk.kernel(C4_GCNN, np.zeros((0, 5, 5, 1)))
    with pytest.raises(ValueError, match="x1 has dtype object"):
        entk.kernel(C4_GCNN, object())


def test_bad_spec_objects():
    with pytest.raises(TypeError, match="spec must be a dict or a JSON string"):
        entk.kernel(42, X)
    with pytest.raises(ValueError, match="spec is not valid JSON"):
        entk.kernel("{layers", X)
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        entk.kernel({"layers": [{"type": "dense", "w_std": object()}]}, X)


def test_bad_prediction_arguments():
    y = np.zeros((2, 1))
    with pytest.raises(ValueError, match="y_train has 3 rows but x_train has 2 inputs"):
        entk.predict(C4_GCNN, X, np.zeros((3, 1)), X)
    with pytest.raises(ValueError, match="diag_reg must be a finite number"):
        entk.predict(C4_GCNN, X, y, X, diag_reg=-1.0)
    with pytest.raises(ValueError):
        entk.predict(C4_GCNN, X, y, X, t=-1.0)
    with pytest.raises(ValueError, match="y_train must have shape"):
        entk.predict(C4_GCNN, X, np.zeros((2, 1, 1)), X)
    with pytest.raises(ValueError, match="non-finite"):
        entk.predict(C4_GCNN, X, np.array([[np.nan], [0.0]]), X)


def test_unknown_group():
    with pytest.raises(ValueError, match="so3"):  # the message lists the known names
        entk.verify_group("q8")


def test_stax_refuses_what_entk_cannot_honour():
    with pytest.raises(ValueError, match="dimension_numbers"):
        stax.Conv(4, (3, 3), dimension_numbers=("NCHW", "OIHW", "NCHW"))
    with pytest.raises(ValueError, match="approximate=False"):
        stax.Gelu(approximate=True)
    with pytest.raises(ValueError, match="one parameterization"):
        stax.serial(stax.Dense(3), stax.Dense(1, parameterization="standard"))
    with pytest.raises(ValueError, match="not an entk.stax layer"):
        stax.serial(stax.Relu(), (None, None, None))
    with pytest.raises(ValueError, match="axis=-1"):
        stax.FanInConcat(axis=0)
    init_fn, apply_fn, _ = stax.serial(stax.Dense(3), stax.Relu(), stax.Dense(1))
    _, params = init_fn(0, (-1, 4))
    with pytest.raises(ValueError, match="per-sample shape"):
        apply_fn(params, np.zeros((2, 5)))
    _, other, _ = stax.serial(stax.Dense(2), stax.Dense(1))
    with pytest.raises(ValueError, match="different network"):
        other(params, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="input_shape"):
        init_fn(0, (-1, 0))
