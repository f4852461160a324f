#!/usr/bin/env python3
"""Golden NNGP/NTK kernels from neural-tangents for entk's pools, strided convolutions,
layer norm, dropout and the repeat / fan_in_prod combinators (issue 15).

How to run (from this folder, crates/ntk/tests/golden/), in the pinned environment of
requirements.txt (see README.md):

    python3 -m venv /tmp/ntvenv
    /tmp/ntvenv/bin/pip install -r requirements.txt
    /tmp/ntvenv/bin/python make_goldens_layers.py     # writes layers_*.npy, layers_manifest.json

CPU, float64 (jax_enable_x64); inputs come from a seeded numpy Generator, so re-running gives
the same files. Every network is written once in entk's spec format and translated to
neural_tangents.stax by `to_stax`, so spec and network cannot drift apart. Every network ends
with a Dense(1) readout; `x2` is None (the manifest says `"x2": null`) where the case needs
neural-tangents' `x1_is_x2` (dropout's same-sample scaling).

Translation (besides make_goldens.py's): avg_pool/sum_pool {window, strides, padding,
normalize_edges} -> stax.AvgPool / SumPool(window_shape, strides, padding.upper(),
normalize_edges); global_sum_pool -> GlobalSumPool(); conv "strides" -> Conv(strides=...);
layer_norm {axis, eps} -> LayerNorm(axis, eps); dropout {rate, mode} -> Dropout(rate, mode);
repeat {n, layers} -> stax.repeat(stax.serial(*layers), n); fan_out/parallel/fan_in_sum/
fan_in_prod -> FanOut/parallel/FanInSum/FanInProd.

The script also checks independently of neural-tangents' kernel code:
  * lax's SAME rule used by the pools: 8 -> 4 at window 3, stride 2 pads (0, 1);
  * every avg_pool/sum_pool case's first pool against a direct numpy evaluation of
    K_out = (P⊗P⊗Q⊗Q) K_in on a raw-image input kernel (`check_pool_direct`).
"""
import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import neural_tangents as nt  # noqa: E402
from jax import lax  # noqa: E402
from neural_tangents import stax  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20251215


def _b(layer):
    b = layer.get("b_std", 0.0)
    return None if b == 0.0 else b


def _pair(v, default):
    if v is None:
        return default
    return (v, v) if isinstance(v, int) else tuple(v)


def to_stax_list(layers):
    out = []
    for layer in layers:
        t = layer["type"]
        if t == "dense":
            out.append(stax.Dense(1, W_std=layer.get("w_std", 1.0), b_std=_b(layer)))
        elif t == "conv":
            out.append(stax.Conv(1, _pair(layer["filter"], None), strides=_pair(layer.get("strides"), None),
                                 padding=layer.get("padding", "valid").upper(),
                                 W_std=layer.get("w_std", 1.0), b_std=_b(layer)))
        elif t == "flatten":
            out.append(stax.Flatten())
        elif t == "global_avg_pool":
            out.append(stax.GlobalAvgPool())
        elif t == "global_sum_pool":
            out.append(stax.GlobalSumPool())
        elif t in ("avg_pool", "sum_pool"):
            window = _pair(layer["window"], None)
            strides = _pair(layer.get("strides"), (1, 1))
            padding = layer.get("padding", "valid").upper()
            if t == "avg_pool":
                out.append(stax.AvgPool(window, strides, padding, layer.get("normalize_edges", False)))
            else:
                out.append(stax.SumPool(window, strides, padding))
        elif t == "relu":
            out.append(stax.Relu())
        elif t == "erf":
            out.append(stax.Erf(layer.get("a", 1.0), layer.get("b", 1.0), layer.get("c", 0.0)))
        elif t == "identity":
            out.append(stax.Identity())
        elif t == "layer_norm":
            out.append(stax.LayerNorm(axis=layer.get("axis", -1), eps=layer.get("eps", 1e-12)))
        elif t == "dropout":
            out.append(stax.Dropout(layer["rate"], mode=layer.get("mode", "train")))
        elif t == "repeat":
            out.append(stax.repeat(stax.serial(*to_stax_list(layer["layers"])), layer["n"]))
        elif t == "serial":
            out.append(stax.serial(*to_stax_list(layer["layers"])))
        elif t == "fan_out":
            out.append(stax.FanOut(layer["n"]))
        elif t == "parallel":
            out.append(stax.parallel(*[stax.serial(*to_stax_list(b)) for b in layer["branches"]]))
        elif t == "fan_in_sum":
            out.append(stax.FanInSum())
        elif t == "fan_in_prod":
            out.append(stax.FanInProd())
        else:
            raise ValueError(f"unknown layer type {t}")
    return out


def dense(w=1.0, b=0.0):
    return {"type": "dense", "w_std": w, "b_std": b}


def conv(padding, w=1.0, b=0.0, filt=3, strides=None):
    d = {"type": "conv", "filter": filt, "padding": padding, "w_std": w, "b_std": b}
    if strides is not None:
        d["strides"] = strides
    return d


def pool(kind, window, strides=None, padding="valid", normalize_edges=None):
    d = {"type": kind, "window": window, "padding": padding}
    if strides is not None:
        d["strides"] = strides
    if normalize_edges is not None:
        d["normalize_edges"] = normalize_edges
    return d


RELU = {"type": "relu"}


def LN(axis, eps=None):
    d = {"type": "layer_norm", "axis": axis}
    if eps is not None:
        d["eps"] = eps
    return d


def DROP(rate, mode="train"):
    return {"type": "dropout", "rate": rate, "mode": mode}


ERF = {"type": "erf", "a": 1.0, "b": 1.0, "c": 0.0}
GAP = {"type": "global_avg_pool"}
FLAT = {"type": "flatten"}

rng = np.random.default_rng(SEED)
VEC1, VEC2 = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
IMG1, IMG2 = rng.standard_normal((3, 8, 8, 2)), rng.standard_normal((2, 8, 8, 2))
ODD1, ODD2 = rng.standard_normal((3, 7, 9, 2)), rng.standard_normal((2, 7, 9, 2))

VEC = "vectors x1 (3, 5), x2 (2, 5), i.i.d. N(0,1)."
IMG = "images NHWC x1 (3, 8, 8, 2), x2 (2, 8, 8, 2), i.i.d. N(0,1)."
ODD = "images NHWC x1 (3, 7, 9, 2), x2 (2, 7, 9, 2), i.i.d. N(0,1) (non-square, odd sizes)."

# name, layers, inputs ("vec", "img", "odd"; suffix "_self": x2 = None), notes
CASES = [
    # ---- pools
    ("pool_avg_same_stride2", [conv("same", 1.2, 0.1), RELU, pool("avg_pool", 3, 2, "same"), FLAT, dense(1.0, 0.1)],
     "img", IMG + " avg_pool 3x3 strides 2 SAME: 8 -> 4, lax pads (0, 1) per axis; window-size normalisation."),
    ("pool_sum_valid_rect", [conv("same", 1.1), RELU, pool("sum_pool", [2, 3], [1, 2], "valid"), GAP, dense(1.0)],
     "odd", ODD + " sum_pool window [2, 3], strides [1, 2], VALID: 7x9 -> 6x4."),
    ("pool_avg_circular_stride2", [conv("circular", 1.0, 0.2), ERF, pool("avg_pool", 3, 2, "circular"), FLAT,
                                   dense(1.0)], "img", IMG + " avg_pool 3, strides 2, CIRCULAR (SAME pads, wrapped)."),
    ("pool_avg_same_normalize_edges", [conv("valid", 1.3), RELU, pool("avg_pool", 3, 1, "same", True), FLAT,
                                       dense(1.0)], "odd", ODD + " avg_pool 3, SAME, normalize_edges=True."),
    ("pool_sum_same_stride_rect", [conv("same", 1.0), RELU, pool("sum_pool", [3, 2], [2, 3], "same"), FLAT,
                                   dense(0.8)], "odd", ODD + " sum_pool [3, 2] strides [2, 3] SAME: 7x9 -> 4x3."),
    ("pool_first_layer_sum", [pool("sum_pool", 2, 2, "valid"), conv("same", 1.0, 0.1), RELU, GAP, dense(1.0)],
     "img", IMG + " sum_pool 2, strides 2 on the raw images (input kernel), then a CNN."),
    ("global_sum_pool", [conv("same", 1.2, 0.1), RELU, {"type": "global_sum_pool"}, dense(0.3)], "img",
     IMG + " GlobalSumPool: (H*W)^2 times the GlobalAvgPool kernel."),
    # ---- strided convolutions
    ("conv_strided_same_valid", [conv("same", 1.2, 0.1, 3, 2), RELU, conv("valid", 1.1, 0.0, 3, [2, 1]), RELU, FLAT,
                                 dense(1.0)], "img",
     IMG + " conv 3x3 strides 2 SAME: 8 -> 4 (pads (0, 1)); then strides [2, 1] VALID: 4x4 -> 1x2."),
    ("conv_strided_circular_gap", [conv("circular", 1.0, 0.2, 3, 2), ERF, conv("circular", 1.3, 0.0, 3, 3), RELU,
                                   GAP, dense(1.0)], "odd",
     ODD + " CIRCULAR strides 2 (7x9 -> 4x5) then 3 (4x5 -> 2x2)."),
    ("conv_strided_rect_filter", [conv("same", 1.1, 0.1, [3, 5], [3, 2]), RELU, conv("valid", 1.0, 0.0, [1, 3], 2),
                                  RELU, FLAT, dense(1.0)], "odd",
     ODD + " filter [3, 5] strides [3, 2] SAME (7x9 -> 3x5), filter [1, 3] strides 2 VALID (3x5 -> 2x2)."),
    # ---- layer norm
    ("ln_mlp", [dense(1.2, 0.1), LN(-1), ERF, dense(1.1, 0.2), LN(-1), RELU, dense(1.0)], "vec",
     VEC + " LayerNorm(axis=-1) after dense layers (channel axis only)."),
    ("ln_cnn_channel_then_all", [conv("same", 1.2, 0.1), LN(-1), RELU, conv("same", 1.0), LN([1, 2, 3]), RELU,
                                 GAP, dense(1.0)], "img", IMG + " LayerNorm over channels, then over [1, 2, 3]."),
    ("ln_cnn_partial_axes", [conv("same", 1.1, 0.3), LN([2, 3]), RELU, conv("valid", 1.0), LN([1, -1], 1e-3), ERF,
                             FLAT, dense(1.0)], "odd",
     ODD + " LayerNorm over [2, 3] (W and C), then over [1, -1] (H and C) with eps 1e-3."),
    # ---- dropout (rate = keep probability)
    ("dropout_mlp_self", [dense(1.3, 0.1), RELU, DROP(0.6), dense(1.1, 0.2), RELU, DROP(0.8), dense(1.0)],
     "vec_self", VEC + " x2 = None: the Gram's diagonal gets the 1/rate same-sample factor."),
    ("dropout_mlp_cross", [dense(1.3, 0.1), RELU, DROP(0.6), dense(1.1, 0.2), RELU, DROP(0.8), dense(1.0)],
     "vec", VEC + " x1 vs a separate x2: no same-sample entries, dropout leaves the kernel unchanged."),
    ("dropout_cnn_self", [conv("same", 1.2, 0.1), RELU, DROP(0.5), conv("same", 1.0), RELU, GAP, dense(1.0)],
     "img_self", IMG + " x2 = None; dropout 0.5 between convolutions scales same-sample same-pixel entries."),
    ("dropout_flatten_self", [conv("valid", 1.0), ERF, FLAT, DROP(0.7), dense(1.0, 0.1)], "odd_self",
     ODD + " x2 = None; dropout after Flatten. Erf, not ReLU: with ReLU neural-tangents' self-pair NTK "
     "diagonal comes out up to 1.7e-10 (relative) low, because arctan2(sqrt(k11*k22 - k12^2), k12) sees a "
     "rounding residue instead of 0 at correlation 1 and the ReLU derivative dual (pi - theta)/(2 pi) has "
     "slope 1/(2 pi) there; entk takes theta = 0 exactly on self pairs."),
    ("dropout_test_mode", [conv("same", 1.0), RELU, DROP(0.3, "test"), conv("same", 1.0), RELU, GAP, dense(1.0)],
     "img_self", IMG + " mode test: identity."),
    # ---- combinators
    ("repeat_mlp", [dense(1.2, 0.1), {"type": "repeat", "n": 3, "layers": [RELU, dense(1.3, 0.2)]}, ERF, dense(1.0)],
     "vec", VEC + " stax.repeat(serial(Relu, Dense), 3): independent parameters per copy."),
    ("repeat_cnn_two_convs", [conv("same", 1.1, 0.1), {"type": "repeat", "n": 2, "layers": [
        RELU, conv("same", 1.2, 0.1), RELU, conv("circular", 1.0)]}, RELU, GAP, dense(1.0)], "img",
     IMG + " repeat of a block with two convolutions (neural-tangents' repeat needs an even number of convs "
     "per block: each flips its is_reversed flag)."),
    ("fan_in_prod_mlp", [dense(1.2, 0.1), {"type": "fan_out", "n": 2},
                         {"type": "parallel", "branches": [[dense(1.1, 0.2), RELU], [dense(0.9), ERF, dense(1.3, 0.1)]]},
                         {"type": "fan_in_prod"}, dense(1.0)], "vec",
     VEC + " FanOut(2) -> parallel(serial(Dense, Relu), serial(Dense, Erf, Dense)) -> FanInProd."),
    ("fan_in_prod_cnn_three", [conv("same", 1.0, 0.1), RELU, {"type": "fan_out", "n": 3},
                               {"type": "parallel", "branches": [[conv("same", 1.1)], [conv("same", 0.8, 0.3), RELU],
                                                                 [conv("circular", 1.0)]]},
                               {"type": "fan_in_prod"}, pool("avg_pool", 2, 2), FLAT, dense(1.0)], "img",
     IMG + " three conv branches multiplied, then avg_pool 2 strides 2 and Flatten."),
]

THEORY_SAME = None


def inputs(kind):
    base, _, selfish = kind.partition("_")
    a, b = {"vec": (VEC1, VEC2), "img": (IMG1, IMG2), "odd": (ODD1, ODD2)}[base]
    return a, (None if selfish == "self" else b)


def axis_map(n, k, s, padding, normalize_edges=False, kind="avg_pool"):
    """The pooling matrix P (n_out x n) of one axis, straight from lax's padding rule."""
    if padding == "valid":
        n_out, lo = (n - k) // s + 1, 0
    else:
        n_out = -(-n // s)
        total = max((n_out - 1) * s + k - n, 0)
        lo = total // 2
    p = np.zeros((n_out, n))
    for o in range(n_out):
        idx = [o * s - lo + j for j in range(k)]
        if padding == "circular":
            idx = [i % n for i in idx]
        else:
            idx = [i for i in idx if 0 <= i < n]
        w = 1.0 if kind == "sum_pool" else (1.0 / len(idx) if normalize_edges else 1.0 / k)
        for i in idx:
            p[o, i] += w
    return p


def check_same_rule():
    pads = lax.padtype_to_pads((8,), (3,), (2,), "SAME")
    assert tuple(pads[0]) == (0, 1), pads
    return "lax SAME pads 8 -> 4 at window 3, stride 2 as (0, 1)"


def check_pool_direct():
    """Every pool setting used above, applied to the raw-image input kernel, against the direct
    (P⊗P⊗Q⊗Q) K0 evaluation (unpooled kernels; nt returns (N1, N2, H1, H2, W1, W2) for pools of
    raw inputs, which this checks too)."""
    worst = 0.0
    for name, layers, kind, _ in CASES:
        for layer in layers:
            if layer["type"] not in ("avg_pool", "sum_pool"):
                continue
            x1, x2 = inputs(kind)
            x2 = x1[:2] if x2 is None else x2
            kh, kw = _pair(layer["window"], None)
            sh, sw = _pair(layer.get("strides"), (1, 1))
            pad = layer["padding"]
            ne = layer.get("normalize_edges", False)
            P = axis_map(x1.shape[1], kh, sh, pad, ne, layer["type"])
            Q = axis_map(x1.shape[2], kw, sw, pad, ne, layer["type"])
            k0 = np.einsum("nhwc,mgvc->nmhgwv", x1, x2) / x1.shape[-1]
            ref = np.einsum("ah,bg,cw,dv,nmhgwv->nmabcd", P, P, Q, Q, k0)
            (pl,) = to_stax_list([layer])
            k_nt = np.asarray(pl[2](x1, x2, "nngp"))
            assert k_nt.shape == ref.shape, (name, k_nt.shape, ref.shape)
            err = np.max(np.abs(k_nt - ref))
            assert err <= 1e-13 * np.max(np.abs(ref)), (name, err)
            worst = max(worst, err)
    return f"every pool of CASES on raw inputs equals the direct (P⊗P⊗Q⊗Q)K0 to {worst:.1e}"


def main():
    checks = [check_same_rule(), check_pool_direct()]
    for c in checks:
        print("check:", c)
    manifest = []
    for name, layers, kind, notes in CASES:
        arch = {"parameterization": "ntk", "layers": layers}
        _, _, kernel_fn = stax.serial(*to_stax_list(layers))
        x1, x2 = inputs(kind)
        k = kernel_fn(x1, x2, ("nngp", "ntk"))
        nngp, ntk = np.asarray(k.nngp, dtype=np.float64), np.asarray(k.ntk, dtype=np.float64)
        n2 = x1.shape[0] if x2 is None else x2.shape[0]
        assert nngp.shape == (x1.shape[0], n2) == ntk.shape, (name, nngp.shape)
        assert np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk)), name
        files = {}
        for suffix, arr in (("x1", x1), ("x2", x2), ("nngp", nngp), ("ntk", ntk)):
            if arr is None:
                files[suffix] = None
                continue
            fname = f"layers_{name}.{suffix}.npy"
            np.save(os.path.join(HERE, fname), np.ascontiguousarray(arr, dtype="<f8"))
            files[suffix] = fname
        manifest.append({"name": name, "arch": arch, **files, "notes": notes})
        print(f"{name:36s} nngp[0,0]={nngp[0, 0]:.12g} ntk[0,0]={ntk[0, 0]:.12g}")
    with open(os.path.join(HERE, "layers_manifest.json"), "w") as f:
        json.dump({"checks": checks, "cases": manifest}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(manifest)} cases; neural-tangents {getattr(nt, '__version__', '?')}, jax {jax.__version__}, "
          f"numpy {np.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
