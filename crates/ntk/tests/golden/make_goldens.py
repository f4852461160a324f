#!/usr/bin/env python3
"""Golden NNGP/NTK kernels from neural-tangents for entk's non-equivariant layers.

How to run (from this folder, crates/ntk/tests/golden/):

    python3 -m venv /tmp/ntvenv
    /tmp/ntvenv/bin/pip install -r requirements.txt
    /tmp/ntvenv/bin/python make_goldens.py            # writes *.npy and manifest.json here

The committed files were produced by CPython 3.11.7 with neural-tangents 0.6.5, jax/jaxlib
0.4.23, numpy 1.26.4, scipy 1.11.4, tensorflow 2.15.1, tf2jax 0.3.5 (requirements.txt), on
CPU with float64 (jax_enable_x64). Re-running is deterministic: inputs come from a seeded numpy
Generator.

For every case the network is written once in entk's architecture-spec format (docs/spec.md) and
translated to neural_tangents.stax, so spec and network cannot drift apart. Every network ends
with a Dense(1) readout, so kernel_fn(x1, x2, ('nngp', 'ntk')) gives N1×N2 matrices. The script
also
  * asserts docs/theory.md#golden-values's "CNN golden (input 1)" to all printed digits, and
  * pins down neural-tangents' layout of an *unpooled* Conv kernel against a direct numpy
    implementation of docs/theory.md#linear-layers-the-a-operator on a non-square image with a non-square filter (this
    is the "compare layouts explicitly" warning of docs/conventions.md#pixel-grid-and-planar-groups).

Conventions of the translation (also in README.md):
  * spec b_std == 0  ->  stax b_std=None (no bias). With b_std=0.0 neural-tangents would still
    add the +1 bias term to the standard-parameterisation NTK (docs/theory.md#linear-layers-the-a-operator).
  * conv "filter": q or [h, w]  ->  filter_shape=(h, w) on (H, W) of NHWC images, HWIO weights.
  * conv "padding": same/valid/circular -> 'SAME'/'VALID'/'CIRCULAR'; strides 1.
  * avg_pool {"window": k} -> stax.AvgPool((k, k)) with neural-tangents' defaults
    strides=(1, 1), padding='VALID', normalize_edges=False: an output of (H-k+1)×(W-k+1), each
    the plain mean of a k×k window.
  * erf {a, b, c} -> stax.Erf(a, b, c) = a·erf(b·u) + c; leaky_relu {slope} -> LeakyRelu(slope);
    abrelu {a, b} -> ABRelu(a, b) = a·min(u,0) + b·max(u,0); gelu -> Gelu() (exact erf GELU);
    identity -> stax.Identity().
  * parameterization "standard": every Dense/Conv gets parameterization='standard' and the
    default width scale s=(1, 1). Its NTK depends on the nominal widths (out_dim / out_chan) of
    the hidden layers (fan_in = previous nominal width × |S|; docs/theory.md#linear-layers-the-a-operator); those widths are
    stored per case in the manifest field "widths" (one per dense/conv layer, readout = 1). For
    "ntk" parameterisation the widths do not affect the kernels.
"""
import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import neural_tangents as nt  # noqa: E402
from neural_tangents import stax  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240606


# --------------------------------------------------------------------------------------------
# spec -> stax


def _b(layer):
    b = layer.get("b_std", 0.0)
    return None if b == 0.0 else b


def to_stax(arch, widths):
    """Translate an entk spec (docs/spec.md) into a stax.serial network."""
    param = arch.get("parameterization", "ntk")
    widths = list(widths)
    out = []
    for layer in arch["layers"]:
        t = layer["type"]
        if t == "dense":
            out.append(stax.Dense(widths.pop(0), W_std=layer.get("w_std", 1.0), b_std=_b(layer),
                                  parameterization=param))
        elif t == "conv":
            f = layer["filter"]
            shape = (f, f) if isinstance(f, int) else tuple(f)
            out.append(stax.Conv(widths.pop(0), shape, padding=layer["padding"].upper(),
                                 W_std=layer.get("w_std", 1.0), b_std=_b(layer),
                                 parameterization=param))
        elif t == "flatten":
            out.append(stax.Flatten())
        elif t == "global_avg_pool":
            out.append(stax.GlobalAvgPool())
        elif t == "avg_pool":
            k = layer["window"]
            out.append(stax.AvgPool((k, k)))
        elif t == "relu":
            out.append(stax.Relu())
        elif t == "gelu":
            out.append(stax.Gelu())
        elif t == "identity":
            out.append(stax.Identity())
        elif t == "erf":
            out.append(stax.Erf(layer.get("a", 1.0), layer.get("b", 1.0), layer.get("c", 0.0)))
        elif t == "leaky_relu":
            out.append(stax.LeakyRelu(layer["slope"]))
        elif t == "abrelu":
            out.append(stax.ABRelu(layer["a"], layer["b"]))
        else:
            raise ValueError(f"unknown layer type {t}")
    assert not widths, "more widths than dense/conv layers"
    return stax.serial(*out)


def dense(w=1.0, b=0.0):
    return {"type": "dense", "w_std": w, "b_std": b}


def conv(padding, w=1.0, b=0.0, filt=3):
    return {"type": "conv", "filter": filt, "padding": padding, "w_std": w, "b_std": b}


RELU = {"type": "relu"}
GAP = {"type": "global_avg_pool"}
FLAT = {"type": "flatten"}


# --------------------------------------------------------------------------------------------
# inputs

rng = np.random.default_rng(SEED)
VEC1, VEC2 = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
IMG1, IMG2 = rng.standard_normal((3, 6, 6, 2)), rng.standard_normal((2, 6, 6, 2))


def theory_input1():
    """docs/theory.md#golden-values input 1: x[b,h,w,0] = sin(0.7h + 1.3w + b) + 0.1·h·w, shape 2×5×5×1."""
    h = np.arange(5.0)[:, None]
    w = np.arange(5.0)[None, :]
    return np.stack([np.sin(0.7 * h + 1.3 * w + b) + 0.1 * h * w for b in range(2)])[..., None]


VEC = "MLP on vectors: x1 (3, 5), x2 (2, 5), i.i.d. N(0,1); input kernel x·x'/5."
IMG = "images NHWC: x1 (3, 6, 6, 2), x2 (2, 6, 6, 2), i.i.d. N(0,1)."

# name, parameterization, layers, widths (None: all 1), inputs, notes
CASES = [
    # ---- MLPs on vectors: every closed-form nonlinearity, bias / no bias, both parameterisations
    ("mlp_relu_bias", "ntk", [dense(1.5, 0.2), RELU, dense(1.2, 0.1), RELU, dense(0.9, 0.3)], None, "vec", VEC),
    ("mlp_relu_nobias", "ntk", [dense(1.5), RELU, dense(1.2), RELU, dense(0.9)], None, "vec", VEC),
    ("mlp_leaky_relu", "ntk", [dense(1.3, 0.1), {"type": "leaky_relu", "slope": 0.1}, dense(1.1, 0.2),
                               {"type": "leaky_relu", "slope": 0.1}, dense(1.0)], None, "vec", VEC),
    ("mlp_abrelu", "ntk", [dense(1.2, 0.3), {"type": "abrelu", "a": -0.4, "b": 1.3}, dense(1.0),
                           {"type": "abrelu", "a": -0.4, "b": 1.3}, dense(0.8, 0.1)], None, "vec", VEC),
    ("mlp_erf", "ntk", [dense(1.4, 0.2), {"type": "erf", "a": 1.2, "b": 0.7, "c": 0.1}, dense(1.1, 0.1),
                        {"type": "erf", "a": 1.2, "b": 0.7, "c": 0.1}, dense(1.0)], None, "vec",
     VEC + " Erf(a=1.2, b=0.7, c=0.1); c != 0 adds c^2 to the NNGP."),
    ("mlp_erf_default", "ntk", [dense(1.0), {"type": "erf", "a": 1.0, "b": 1.0, "c": 0.0}, dense(1.0)], None,
     "vec", VEC + " Erf(1, 1, 0) = plain erf."),
    ("mlp_gelu", "ntk", [dense(1.0, 0.1), {"type": "gelu"}, dense(1.0, 0.1), {"type": "gelu"}, dense(1.0)], None,
     "vec", VEC + " Exact (erf) GELU, closed-form in neural-tangents; pre-activation variances <= ~2, so "
     "a Gauss-Hermite dual needs d >= 40 for ~1e-8 (docs/theory.md#nonlinearities-dual-activations)."),
    ("mlp_identity", "ntk", [dense(1.3, 0.4), {"type": "identity"}, dense(0.7, 0.2)], None, "vec", VEC),
    ("mlp_relu_standard_bias", "standard", [dense(1.5, 0.2), RELU, dense(1.2, 0.1), RELU, dense(0.9, 0.3)],
     None, "vec", VEC + " Standard parameterisation, s=(1,1), all hidden widths 1."),
    ("mlp_relu_standard_nobias", "standard", [dense(1.5), RELU, dense(1.2), RELU, dense(0.9)], None, "vec",
     VEC + " Standard parameterisation, s=(1,1), all hidden widths 1."),
    ("mlp_erf_standard_widths", "standard", [dense(1.2, 0.1), {"type": "erf", "a": 1.0, "b": 1.0, "c": 0.0},
                                             dense(0.9, 0.2), RELU, dense(1.1, 0.1)], [4, 3, 1], "vec",
     VEC + " Standard parameterisation, s=(1,1), hidden widths 4 and 3 (field 'widths'): the NTK "
     "depends on them."),
    # ---- CNNs on images
    ("cnn_same_relu_gap_bias", "ntk", [conv("same", 1.3, 0.2), RELU, conv("same", 1.1, 0.1), RELU, GAP,
                                      dense(0.9, 0.3)], None, "img", IMG),
    ("cnn_valid_relu_flatten", "ntk", [conv("valid", 1.2), RELU, conv("valid", 1.0), RELU, FLAT, dense(1.0)],
     None, "img", IMG + " VALID: 6x6 -> 4x4 -> 2x2, then Flatten."),
    ("cnn_circular_erf_gap", "ntk", [conv("circular", 1.0, 0.1), {"type": "erf", "a": 1.0, "b": 1.0, "c": 0.0},
                                    conv("circular", 1.2), {"type": "erf", "a": 1.0, "b": 1.0, "c": 0.0}, GAP,
                                    dense(1.0)], None, "img", IMG),
    ("cnn_same_avgpool_flatten", "ntk", [conv("same", 1.2, 0.1), RELU, {"type": "avg_pool", "window": 2}, FLAT,
                                        dense(1.0, 0.1)], None, "img",
     IMG + " avg_pool window 2 = stax.AvgPool((2,2)) with strides (1,1), padding VALID, "
     "normalize_edges=False: 6x6 -> 5x5."),
    ("cnn_valid_avgpool_gap", "ntk", [conv("valid", 1.0), RELU, {"type": "avg_pool", "window": 2},
                                     conv("same", 1.1, 0.2), RELU, GAP, dense(1.0)], None, "img",
     IMG + " avg_pool window 2, strides (1,1), VALID: 4x4 -> 3x3."),
    ("cnn_rect_filter_same", "ntk", [conv("same", 1.2, 0.1, [3, 1]), RELU, conv("valid", 1.0, 0.0, [1, 3]), RELU,
                                    FLAT, dense(1.0)], None, "img",
     IMG + " Non-square filters [h, w] = [3, 1] then [1, 3] (H first, as in HWIO): pins down H vs W."),
    ("cnn_same_leaky_abrelu", "ntk", [conv("same", 1.1, 0.1), {"type": "leaky_relu", "slope": 0.2},
                                     conv("same", 1.0), {"type": "abrelu", "a": -0.5, "b": 1.1}, GAP, dense(1.0)],
     None, "img", IMG),
    ("cnn_same_gelu_identity", "ntk", [conv("same", 1.0, 0.1), {"type": "gelu"}, conv("circular", 1.0),
                                      {"type": "identity"}, GAP, dense(1.0, 0.2)], None, "img", IMG),
    ("flatten_mlp_images", "ntk", [FLAT, dense(1.3, 0.1), RELU, dense(1.0)], None, "img",
     IMG + " Flatten of raw images: input kernel = mean over all H*W*C entries."),
    ("gap_first", "ntk", [GAP, dense(1.0, 0.5), {"type": "erf", "a": 1.0, "b": 1.0, "c": 0.0}, dense(1.0)], None,
     "img", IMG + " GlobalAvgPool of raw images: mean over all position pairs of the input kernel."),
    ("cnn_standard_same_relu_gap", "standard", [conv("same", 1.3, 0.2), RELU, conv("same", 1.1), RELU, GAP,
                                               dense(0.9, 0.3)], None, "img",
     IMG + " Standard parameterisation, s=(1,1), all hidden widths 1: first conv fan_in = 2*9, second 1*9, "
     "readout 1."),
    ("cnn_standard_valid_flatten_widths", "standard", [conv("valid", 1.2, 0.1), RELU, conv("valid", 1.0), RELU,
                                                      FLAT, dense(1.0, 0.1)], [3, 2, 1], "img",
     IMG + " Standard parameterisation, s=(1,1), conv widths 3 and 2 (field 'widths'): fan_in 2*9, 3*9, "
     "and 2*2*2 = 8 for the readout after Flatten of 2x2x2."),
    ("cnn_golden_input1", "ntk", [conv("same"), RELU, conv("same"), RELU, GAP, dense(1.0)], None, "theory1",
     "docs/theory.md#golden-values 'CNN golden (input 1)': x[b,h,w,0] = sin(0.7h + 1.3w + b) + 0.1*h*w, shape "
     "(2, 5, 5, 1); x2 = x1. All w_std 1, no biases."),
]

# docs/theory.md#golden-values, CNN golden (input 1), as printed (10 decimals).
THEORY_CNN_NNGP = np.array([[0.0496483127, 0.0560029807], [0.0560029807, 0.0642979651]])
THEORY_CNN_NTK = np.array([[0.0835055112, 0.0921219094], [0.0921219094, 0.1089959559]])


def inputs(kind):
    if kind == "vec":
        return VEC1, VEC2
    if kind == "img":
        return IMG1, IMG2
    if kind == "theory1":
        x = theory_input1()
        return x, x.copy()
    raise ValueError(kind)


# --------------------------------------------------------------------------------------------
# explicit layout check of an unpooled Conv kernel


def check_conv_layout():
    """nt's unpooled Conv NNGP vs a direct numpy evaluation of K1 = w²/(fh·fw) Σ_v K0(t+v, t'+v) + b²
    (SAME padding) on a non-square image with a non-square filter. Returns a sentence."""
    r = np.random.default_rng(SEED + 1)
    x1, x2 = r.standard_normal((2, 5, 4, 3)), r.standard_normal((1, 5, 4, 3))
    fh, fw, w_std, b_std = 3, 1, 1.3, 0.4
    _, _, kfn = stax.Conv(1, (fh, fw), padding="SAME", W_std=w_std, b_std=b_std)
    k_nt = np.asarray(kfn(x1, x2, "nngp"))
    # direct: K0[n1,n2,h1,h2,w1,w2] = mean_c x1 x2 on zero-padded inputs
    ph, pw = fh // 2, fw // 2
    p1 = np.pad(x1, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    p2 = np.pad(x2, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    H, W = x1.shape[1:3]
    k = np.zeros((2, 1, H, H, W, W))
    for a in range(fh):
        for b in range(fw):
            s1 = p1[:, a:a + H, b:b + W, :]
            s2 = p2[:, a:a + H, b:b + W, :]
            k += np.einsum("nhwc,mgvc->nmhgwv", s1, s2) / x1.shape[-1]
    k = w_std**2 * k / (fh * fw) + b_std**2
    layouts = {
        "(N1, N2, H1, H2, W1, W2) (entk's interleaved layout)": k,
        "(N1, N2, W1, W2, H1, H2) (spatial axes reversed)": k.transpose(0, 1, 4, 5, 2, 3),
    }
    for name, ref in layouts.items():
        if ref.shape == k_nt.shape and np.allclose(ref, k_nt, rtol=1e-13, atol=1e-14):
            return f"unpooled stax.Conv NNGP on NHWC inputs comes back as {name}; shape {k_nt.shape}"
    raise AssertionError(f"nt Conv kernel layout not recognised: shape {k_nt.shape}")


# --------------------------------------------------------------------------------------------
# independent numpy evaluation of docs/theory.md for the MLP cases (checks nt's conventions)


def _dual(layer, k11, k22, k12):
    """(E[φ(u)φ(v)], E[φ'(u)φ'(v)]) for the bivariate Gaussian of docs/theory.md#nonlinearities-dual-activations."""
    t = layer["type"]
    if t == "identity":
        return k12, np.ones_like(k12)
    if t in ("relu", "leaky_relu", "abrelu"):
        a, b = {"relu": (0.0, 1.0), "leaky_relu": (layer.get("slope"), 1.0)}.get(t, (layer.get("a"), layer.get("b")))
        det = np.sqrt(np.maximum(k11 * k22 - k12**2, 0.0))
        theta = np.arctan2(det, k12)
        dphi = (a**2 + b**2) / 2 - (a - b) ** 2 * theta / (2 * np.pi)
        return (a - b) ** 2 / (2 * np.pi) * det + dphi * k12, dphi
    if t == "erf":
        a, b, c = layer.get("a", 1.0), layer.get("b", 1.0), layer.get("c", 0.0)
        k11, k22, k12 = b * b * k11, b * b * k22, b * b * k12
        den = (1 + 2 * k11) * (1 + 2 * k22)
        kk = a**2 * (2 / np.pi) * np.arctan2(2 * k12, np.sqrt(den - 4 * k12**2)) + c**2
        return kk, a**2 * b**2 * (4 / np.pi) / np.sqrt(den - 4 * k12**2)
    raise ValueError(t)


def mlp_numpy(arch, widths, x1, x2):
    """NNGP and NTK of a dense/pointwise network on vectors, straight from docs/theory.md."""
    std = arch["parameterization"] == "standard"
    widths = list(widths)
    d = x1.shape[1]
    k12, k11, k22 = x1 @ x2.T / d, np.sum(x1 * x1, 1)[:, None] / d, np.sum(x2 * x2, 1)[None, :] / d
    th = np.zeros_like(k12)
    fan_in = d
    for layer in arch["layers"]:
        if layer["type"] == "dense":
            w, b = layer["w_std"], layer["b_std"]
            aff = lambda k: w * w * k + b * b  # noqa: E731
            if std:
                th = fan_in * k12 + w * w * th + (1.0 if b != 0.0 else 0.0)
                k12, k11, k22 = aff(k12), aff(k11), aff(k22)
            else:
                k12, k11, k22 = aff(k12), aff(k11), aff(k22)
                th = k12 + w * w * th
            fan_in = widths.pop(0)
        else:
            new12, dot = _dual(layer, k11, k22, k12)
            new11, _ = _dual(layer, k11, k11, k11)
            new22, _ = _dual(layer, k22, k22, k22)
            th = th * dot
            k12, k11, k22 = new12, new11, new22
    return k12, th


# --------------------------------------------------------------------------------------------


def main():
    layout = check_conv_layout()
    print("layout check:", layout)
    manifest = []
    total = 0
    for name, param, layers, widths, kind, notes in CASES:
        arch = {"parameterization": param, "layers": layers}
        n_param = sum(l["type"] in ("dense", "conv") for l in layers)
        widths = widths or [1] * n_param
        assert len(widths) == n_param and widths[-1] == 1
        _, _, kernel_fn = to_stax(arch, widths)
        x1, x2 = inputs(kind)
        k = kernel_fn(x1, x2, ("nngp", "ntk"))
        nngp, ntk = np.asarray(k.nngp, dtype=np.float64), np.asarray(k.ntk, dtype=np.float64)
        assert nngp.shape == (x1.shape[0], x2.shape[0]) == ntk.shape, (name, nngp.shape)
        assert np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk)), name
        files = {}
        for suffix, arr in (("x1", x1), ("x2", x2), ("nngp", nngp), ("ntk", ntk)):
            fname = f"{name}.{suffix}.npy"
            np.save(os.path.join(HERE, fname), np.ascontiguousarray(arr, dtype="<f8"))
            total += os.path.getsize(os.path.join(HERE, fname))
            files[suffix] = fname
        if kind == "vec" and not any(l["type"] == "gelu" for l in layers):
            ref_nngp, ref_ntk = mlp_numpy(arch, widths, x1, x2)
            err = max(np.max(np.abs(ref_nngp - nngp)), np.max(np.abs(ref_ntk - ntk)))
            assert err <= 1e-13 * max(1.0, np.max(np.abs(ntk))), (name, err)
            notes += f" Matches an independent numpy evaluation of docs/theory.md to {err:.1e}."
        if name == "cnn_golden_input1":
            # to all printed digits: within half a unit of the 10th decimal
            assert np.max(np.abs(nngp - THEORY_CNN_NNGP)) <= 0.5e-10, nngp
            assert np.max(np.abs(ntk - THEORY_CNN_NTK)) <= 0.5e-10, ntk
            notes += " Reproduces docs/theory.md#golden-values to all printed digits (asserted by make_goldens.py)."
        manifest.append({
            "name": name,
            "arch": arch,
            "x1": files["x1"],
            "x2": files["x2"],
            "nngp": files["nngp"],
            "ntk": files["ntk"],
            "widths": widths,
            "s": [1, 1],
            "notes": notes,
        })
        print(f"{name:36s} nngp[0,0]={nngp[0, 0]:.12g} ntk[0,0]={ntk[0, 0]:.12g}")
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    total += os.path.getsize(os.path.join(HERE, "manifest.json"))
    print(f"{len(manifest)} cases, {total} bytes; neural-tangents {nt.__version__ if hasattr(nt, '__version__') else '?'}, "
          f"jax {jax.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
