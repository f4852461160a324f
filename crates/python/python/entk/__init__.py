"""entk: exact infinite-width NNGP and NTK kernels of equivariant networks, from NumPy.

The functional API (an interface other code relies on):

- ``entk.kernel(spec, x1, x2=None, *, threads=None) -> entk.Kernels`` with ``.nngp`` and
  ``.ntk`` (float64, shape (N1, N2)), bit-identical to ``entk kernel``;
- ``entk.predict(spec, x_train, y_train, x_test, *, t=None, diag_reg=0.0,
  learning_rate=1.0) -> entk.Prediction`` with ``.ntk_mean`` and ``.nngp_mean``, equal to
  ``entk predict``;
- ``entk.verify_group(name, bandlimit=None) -> dict``, the report of ``entk verify-group``;
- ``entk.groups()``, the registered group names.

``spec`` is a dict or a JSON string in the docs/spec.md architecture format. ``entk.stax`` builds
the same networks the neural-tangents way: ``init_fn, apply_fn, kernel_fn = stax.serial(...)``.
``entk.datasets`` exposes the embedded rotated-MNIST sample.

Inputs are float32 or float64 arrays of any memory layout. Kernel work releases the GIL,
stops on Ctrl-C (KeyboardInterrupt) and draws a progress bar when stderr is a terminal. Bad
specs and inputs raise ValueError with the command line's one-line messages.
"""

from ._entk import Kernels, Prediction, __version__, groups, kernel, predict, verify_group
from . import datasets, stax

__all__ = [
    "Kernels",
    "Prediction",
    "__version__",
    "datasets",
    "groups",
    "kernel",
    "predict",
    "stax",
    "verify_group",
]
