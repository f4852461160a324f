"""A neural-tangents-style ``stax`` API over entk's kernels and finite networks.

Every constructor returns ``(init_fn, apply_fn, kernel_fn)`` with neural-tangents' names and
argument order, so a neural-tangents CNN or MLP ports by changing the import::

    from entk import stax
    init_fn, apply_fn, kernel_fn = stax.serial(
        stax.Conv(32, (3, 3), padding="SAME"), stax.Relu(),
        stax.Flatten(), stax.Dense(1))
    ntk = kernel_fn(x1, x2, "ntk")                       # (N1, N2) float64
    out_shape, params = init_fn(0, x1.shape)             # finite-width twin
    y = apply_fn(params, x1)

- ``kernel_fn(x1, x2=None, get=None, *, threads=None)``: ``get=None`` returns an
  :class:`entk.Kernels` (``.nngp``, ``.ntk``), ``get="ntk"`` an array, ``get=("nngp", "ntk")``
  a tuple, like neural-tangents. ``x2=None`` means ``x1``. It is :func:`entk.kernel` on the
  network's spec, so it needs a network with one invariant scalar per output (end with
  ``Flatten``/``GlobalAvgPool``/``GroupPool``/``SO3Pool`` and ``Dense``).
- ``init_fn(rng, input_shape) -> (output_shape, params)``: draws the finite network's
  parameters (``out_dim``/``out_chan`` are the finite widths). ``rng`` is an int seed, a
  ``numpy.random.Generator`` or an array of unsigned integers such as a JAX ``PRNGKey``;
  entk draws with its own generator (ChaCha8), so the numbers differ from JAX's.
- ``apply_fn(params, inputs) -> outputs``: the finite forward pass on a NumPy batch.

Inputs are (N, H, W, C) images (NHWC, neural-tangents' default), (N, 2L, 2L-1, C) S² signals
for ``S2LiftConv`` networks, (N, 2L-1, 2L, 2L-1, C) SO(3) signals indexed (γ, β, α) for networks
that start with ``SO3Conv``, or (N, D) vectors. ``layer.spec`` is the docs/spec.md spec dict that
:func:`entk.kernel` accepts.

Decisions where the two libraries differ: entk convolutions have odd filters;
``b_std=None`` and ``b_std=0`` both mean no bias (in neural-tangents' standard
parameterisation a zero-variance bias still adds 1 to the NTK); one parameterisation per
network; the ``s`` width scalings of neural-tangents' standard parameterisation are fixed at
``(1, 1)``. Arguments entk cannot honour raise ``ValueError`` instead of being ignored.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _entk

__all__ = [
    "serial", "parallel", "FanOut", "FanInSum", "FanInConcat",
    "Dense", "Conv", "Relu", "Erf", "Gelu", "LeakyRelu", "ABRelu", "Identity",
    "Flatten", "GlobalAvgPool", "AvgPool", "SumPool", "GlobalSumPool",
    "LiftConv", "GroupConv", "GroupPool", "S2LiftConv", "SO3Conv", "SO3Pool",
    "Layer",
]

Get = Union[None, str, Sequence[str]]
_KERNELS = ("nngp", "ntk")


def _seed(rng: Any) -> int:
    """A 64-bit seed from an int, a numpy Generator or an unsigned-integer key array."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng) % 2**64
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63))
    try:
        key = np.asarray(rng)
    except Exception as e:  # noqa: BLE001 - any failure means "not a key"
        raise TypeError(f"rng must be an int seed, a numpy Generator or a key array, got {type(rng).__name__}") from e
    if key.dtype.kind not in "ui" or key.size == 0:
        raise TypeError(f"rng must be an int seed, a numpy Generator or a key array, got {type(rng).__name__}")
    seed = 0
    for v in key.ravel():
        seed = (seed * 2**32 + int(v)) % 2**64
    return seed


class Layer(tuple):
    """``(init_fn, apply_fn, kernel_fn)`` of an entk.stax layer or network.

    A tuple, so ``init_fn, apply_fn, kernel_fn = layer`` works as in neural-tangents; it also
    carries its docs/spec.md layer list (``layers``), its parameterisation (``None`` when it has
    no linear layer) and the whole spec (``spec``).
    """

    layers: List[Dict[str, Any]]
    parameterization: Optional[str]

    def __new__(cls, layers: List[Dict[str, Any]], parameterization: Optional[str] = None) -> "Layer":
        spec = {"parameterization": parameterization or "ntk", "layers": layers}

        def init_fn(rng: Any, input_shape: Sequence[int]) -> Tuple[Tuple[int, ...], Any]:
            """Draws the finite network's parameters: returns (output_shape, params)."""
            out_shape, params = _entk.init(spec, [int(n) for n in input_shape], _seed(rng))
            return tuple(out_shape), params

        def apply_fn(params: Any, inputs: Any, **kwargs: Any) -> np.ndarray:
            """The finite network's outputs for a batch of inputs."""
            if kwargs:
                raise TypeError(f"apply_fn got unsupported arguments: {', '.join(sorted(kwargs))}")
            return _entk.apply(spec, params, inputs)

        def kernel_fn(x1: Any, x2: Any = None, get: Get = None, *, threads: Optional[int] = None) -> Any:
            """Infinite-width NNGP/NTK: get=None -> entk.Kernels, "ntk" -> array, tuple -> tuple."""
            names = _check_get(get)
            k = _entk.kernel(spec, x1, x2, threads=threads)
            if get is None:
                return k
            if isinstance(get, str):
                return getattr(k, get)
            return tuple(getattr(k, n) for n in names)

        self = super().__new__(cls, (init_fn, apply_fn, kernel_fn))
        self.layers = layers
        self.parameterization = parameterization
        return self

    @property
    def spec(self) -> Dict[str, Any]:
        """The docs/spec.md spec of this network (for :func:`entk.kernel`, ``entk kernel``)."""
        return {"parameterization": self.parameterization or "ntk", "layers": self.layers}

    def __repr__(self) -> str:
        return f"entk.stax.Layer({self.spec!r})"


def _check_get(get: Get) -> Tuple[str, ...]:
    names = (get,) if isinstance(get, str) else tuple(get) if get is not None else _KERNELS
    bad = [n for n in names if n not in _KERNELS]
    if bad or not names:
        raise ValueError(f"get must be 'nngp', 'ntk', a tuple of them or None, got {get!r}")
    return names


def _layers(what: str, layers: Sequence[Any]) -> Tuple[List[List[Dict[str, Any]]], Optional[str]]:
    """The layer lists of entk.stax layers and their common parameterisation."""
    lists, params = [], set()
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"{what}: argument {i} is not an entk.stax layer ({type(layer).__name__}); "
                "neural-tangents layers cannot be mixed in"
            )
        lists.append(layer.layers)
        if layer.parameterization is not None:
            params.add(layer.parameterization)
    if len(params) > 1:
        raise ValueError(f"{what}: entk uses one parameterization per network, got {sorted(params)}")
    return lists, params.pop() if params else None


def _parameterization(parameterization: str) -> str:
    p = parameterization.lower()
    if p not in ("ntk", "standard"):
        raise ValueError(f"parameterization must be 'ntk' or 'standard', got {parameterization!r}")
    return p


def _affine(out: int, W_std: float, b_std: Optional[float], s: Sequence[int]) -> Dict[str, Any]:
    if tuple(s) != (1, 1):
        raise ValueError(f"entk supports the width scalings s=(1, 1) only, got {tuple(s)}")
    if int(out) != out or out < 1:
        raise ValueError(f"the output width must be a positive integer, got {out!r}")
    return {"width": int(out), "w_std": float(W_std), "b_std": float(b_std or 0.0)}


def _padding(padding: str, what: str) -> str:
    p = str(padding).lower()
    if p not in ("same", "valid", "circular"):
        raise ValueError(f"{what}: padding must be 'SAME', 'VALID' or 'CIRCULAR', got {padding!r}")
    return p


def _filter(filter_shape: Union[int, Sequence[int]]) -> Union[int, List[int]]:
    if isinstance(filter_shape, (int, np.integer)):
        return int(filter_shape)
    return [int(n) for n in filter_shape]


def _strides(strides: Union[None, int, Sequence[int]]) -> Dict[str, Any]:
    """The spec's ``strides`` field (absent for None: stride 1)."""
    if strides is None:
        return {}
    return {"strides": _filter(strides)}


def _default(what: str, **given: Any) -> None:
    """Raises for neural-tangents arguments that entk does not support, when not at default."""
    for name, (value, default) in given.items():
        if value != default:
            raise ValueError(f"{what}: entk supports only {name}={default!r}, got {value!r}")


# ----------------------------------------------------------------------------- combinators


def serial(*layers: Layer) -> Layer:
    """Layers one after another."""
    lists, p = _layers("serial", layers)
    return Layer([l for ls in lists for l in ls], p)


def parallel(*layers: Layer) -> Layer:
    """Applies the i-th layer to the i-th branch (after ``FanOut``)."""
    lists, p = _layers("parallel", layers)
    return Layer([{"type": "parallel", "branches": lists}], p)


def FanOut(num: int) -> Layer:
    """Copies the input into ``num`` branches."""
    return Layer([{"type": "fan_out", "n": int(num)}])


def FanInSum() -> Layer:
    """Sums the branches."""
    return Layer([{"type": "fan_in_sum"}])


def FanInConcat(axis: int = -1) -> Layer:
    """Concatenates the branches along the channel axis (the only axis entk supports)."""
    _default("FanInConcat", axis=(axis, -1))
    return Layer([{"type": "fan_in_concat"}])


# ----------------------------------------------------------------------------- linear layers


def Dense(
    out_dim: int,
    W_std: float = 1.0,
    b_std: Optional[float] = None,
    batch_axis: int = 0,
    channel_axis: int = -1,
    parameterization: str = "ntk",
    s: Tuple[int, int] = (1, 1),
) -> Layer:
    """Fully connected layer of width ``out_dim``."""
    _default("Dense", batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))
    return Layer([{"type": "dense", **_affine(out_dim, W_std, b_std, s)}], _parameterization(parameterization))


def Conv(
    out_chan: int,
    filter_shape: Union[int, Sequence[int]],
    strides: Optional[Sequence[int]] = None,
    padding: str = "VALID",
    W_std: float = 1.0,
    b_std: Optional[float] = None,
    dimension_numbers: Optional[Tuple[str, str, str]] = None,
    parameterization: str = "ntk",
    s: Tuple[int, int] = (1, 1),
) -> Layer:
    """2-D convolution (NHWC, odd filters) with ``out_chan`` channels."""
    if dimension_numbers is not None and tuple(dimension_numbers) != ("NHWC", "HWIO", "NHWC"):
        raise ValueError(f"Conv: entk uses dimension_numbers ('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}")
    layer = {"type": "conv", "filter": _filter(filter_shape), "padding": _padding(padding, "Conv"),
             **_strides(strides)}
    return Layer([{**layer, **_affine(out_chan, W_std, b_std, s)}], _parameterization(parameterization))


# ----------------------------------------------------------------------------- nonlinearities


def Relu(do_stabilize: bool = False) -> Layer:
    """max(x, 0)."""
    return Layer([{"type": "relu"}])


def Erf(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> Layer:
    """a·erf(b·x) + c."""
    return Layer([{"type": "erf", "a": float(a), "b": float(b), "c": float(c)}])


def Gelu(approximate: bool = False) -> Layer:
    """x·Φ(x) (the exact GELU; entk has no tanh approximation)."""
    _default("Gelu", approximate=(approximate, False))
    return Layer([{"type": "gelu"}])


def LeakyRelu(alpha: float, do_stabilize: bool = False) -> Layer:
    """max(x, 0) + alpha·min(x, 0)."""
    return Layer([{"type": "leaky_relu", "slope": float(alpha)}])


def ABRelu(a: float, b: float, do_stabilize: bool = False) -> Layer:
    """a·min(x, 0) + b·max(x, 0)."""
    return Layer([{"type": "abrelu", "a": float(a), "b": float(b)}])


def Identity() -> Layer:
    """The identity."""
    return Layer([{"type": "identity"}])


# ----------------------------------------------------------------------------- pooling


def Flatten(batch_axis: int = 0, batch_axis_out: int = 0) -> Layer:
    """Flattens each input to a vector (neural-tangents' normalisation)."""
    _default("Flatten", batch_axis=(batch_axis, 0), batch_axis_out=(batch_axis_out, 0))
    return Layer([{"type": "flatten"}])


def GlobalAvgPool(batch_axis: int = 0, channel_axis: int = -1) -> Layer:
    """Mean over all spatial positions."""
    _default("GlobalAvgPool", batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))
    return Layer([{"type": "global_avg_pool"}])


def _pool(kind: str, window_shape: Union[int, Sequence[int]], strides: Union[None, int, Sequence[int]],
          padding: str, batch_axis: int, channel_axis: int, **extra: Any) -> Layer:
    _default(kind, batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))
    layer = {"type": kind, "window": _filter(window_shape), "padding": _padding(padding, kind), **_strides(strides)}
    return Layer([{**layer, **extra}])


def AvgPool(
    window_shape: Union[int, Sequence[int]],
    strides: Union[None, int, Sequence[int]] = None,
    padding: str = "VALID",
    normalize_edges: bool = False,
    batch_axis: int = 0,
    channel_axis: int = -1,
) -> Layer:
    """Average pooling (strides default 1 as in neural-tangents; ``normalize_edges=False``
    divides by the window size, padding included)."""
    return _pool("avg_pool", window_shape, strides, padding, batch_axis, channel_axis,
                 normalize_edges=bool(normalize_edges))


def SumPool(
    window_shape: Union[int, Sequence[int]],
    strides: Union[None, int, Sequence[int]] = None,
    padding: str = "VALID",
    batch_axis: int = 0,
    channel_axis: int = -1,
) -> Layer:
    """Sum pooling."""
    return _pool("sum_pool", window_shape, strides, padding, batch_axis, channel_axis)


def GlobalSumPool(batch_axis: int = 0, channel_axis: int = -1) -> Layer:
    """Sum over all spatial positions."""
    _default("GlobalSumPool", batch_axis=(batch_axis, 0), channel_axis=(channel_axis, -1))
    return Layer([{"type": "global_sum_pool"}])


# ----------------------------------------------------------------------------- group layers


def LiftConv(
    out_chan: int,
    filter_shape: Union[int, Sequence[int]],
    group: str = "c4",
    padding: str = "VALID",
    W_std: float = 1.0,
    b_std: Optional[float] = None,
    parameterization: str = "ntk",
    strides: Union[None, int, Sequence[int]] = None,
) -> Layer:
    """Lifting convolution Z² → ``group`` ⋉ Z² (``group``: "c4", "d4", "cN", "dN")."""
    layer = {"type": "lift_conv", "group": str(group), "filter": _filter(filter_shape),
             "padding": _padding(padding, "LiftConv"), **_strides(strides)}
    return Layer([{**layer, **_affine(out_chan, W_std, b_std, (1, 1))}], _parameterization(parameterization))


def GroupConv(
    out_chan: int,
    filter_shape: Union[int, Sequence[int]],
    group: Optional[str] = None,
    padding: str = "VALID",
    group_support: str = "all",
    W_std: float = 1.0,
    b_std: Optional[float] = None,
    parameterization: str = "ntk",
    strides: Union[None, int, Sequence[int]] = None,
) -> Layer:
    """Group convolution on ``group`` ⋉ Z² (default: the preceding LiftConv's group);
    ``group_support`` "all" or "identity"."""
    layer = {"type": "group_conv", "filter": _filter(filter_shape), "padding": _padding(padding, "GroupConv"),
             "group_support": str(group_support), **_strides(strides)}
    if group is not None:
        layer["group"] = str(group)
    return Layer([{**layer, **_affine(out_chan, W_std, b_std, (1, 1))}], _parameterization(parameterization))


def GroupPool() -> Layer:
    """Mean over the group and space: an invariant vector."""
    return Layer([{"type": "group_pool"}])


def _so3_layer(kind: str, out_chan: int, bandlimit_out: int, max_beta: float, W_std: float,
               b_std: Optional[float]) -> Layer:
    layer = {"type": kind, "bandlimit_out": int(bandlimit_out), "max_beta": float(max_beta)}
    return Layer([{**layer, **_affine(out_chan, W_std, b_std, (1, 1))}], "ntk")


def S2LiftConv(
    out_chan: int,
    bandlimit_out: int,
    max_beta: float = math.pi,
    W_std: float = 1.0,
    b_std: Optional[float] = None,
) -> Layer:
    """Lifting convolution S² → SO(3) to bandlimit ``bandlimit_out``, filters on the cap
    θ ≤ ``max_beta`` (NTK parameterisation)."""
    return _so3_layer("s2_lift_conv", out_chan, bandlimit_out, max_beta, W_std, b_std)


def SO3Conv(
    out_chan: int,
    bandlimit_out: int,
    max_beta: float = math.pi,
    W_std: float = 1.0,
    b_std: Optional[float] = None,
) -> Layer:
    """Group convolution on SO(3) to bandlimit ``bandlimit_out``, filters on β ≤ ``max_beta``
    (NTK parameterisation)."""
    return _so3_layer("so3_conv", out_chan, bandlimit_out, max_beta, W_std, b_std)


def SO3Pool() -> Layer:
    """Haar mean over SO(3): an invariant vector."""
    return Layer([{"type": "so3_pool"}])


InitFn = Callable[[Any, Sequence[int]], Tuple[Tuple[int, ...], Any]]
ApplyFn = Callable[..., np.ndarray]
KernelFn = Callable[..., Any]
