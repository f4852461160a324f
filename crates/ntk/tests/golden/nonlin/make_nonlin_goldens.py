#!/usr/bin/env python3
"""Golden NNGP/NTK kernels from neural-tangents for entk's closed-form and numerical
nonlinearities, plus the evidence for the four places where neural-tangents 0.6.5 is wrong.

How to run (from this folder, crates/ntk/tests/golden/nonlin/), with the pinned environment of
../requirements.txt:

    python3 -m venv /tmp/ntvenv
    /tmp/ntvenv/bin/pip install -r ../requirements.txt
    /tmp/ntvenv/bin/python make_nonlin_goldens.py     # writes *.npy, manifest.json, defects.json

Everything is f64 (jax_enable_x64) and deterministic (seeded numpy inputs). Spec -> stax
translation: sin/cos {a, b, c} -> stax.Sin/Cos(a, b, c); rbf {gamma} -> Rbf(gamma);
gaussian {a, b} -> Gaussian(a, b); exp {a, b} -> Exp(a, b); exp_normalized {gamma, shift,
do_clip} -> ExpNormalized(...); sign -> Sign(); abs -> Abs(); monomial / rectified_monomial /
hermite {degree} -> Monomial / RectifiedMonomial / Hermite(degree); polynomial {coef} ->
Polynomial(coef); elementwise_numerical {fn, degree} -> ElementwiseNumerical(FN, deg=degree)
with FN the jax.nn function (jnp.tanh, jax.nn.sigmoid, softplus, silu, elu, selu, soft_sign,
gelu(approximate=False), and mish = x·tanh(softplus(x)), which jax 0.4.23 lacks) and df left
to jax.grad, as a neural-tangents user would write it. dense/conv/pools as in
../make_goldens.py (b_std 0 -> None).

Golden cases are only where neural-tangents is right. `defects.json` records, for each defect,
neural-tangents' value and an independent reference computed here in numpy (closed forms
written out by hand, or 2-D quadrature), so the Rust tests can check entk against the
reference and not against neural-tangents.
"""
import json
import math
import os
import sys
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from neural_tangents import stax  # noqa: E402

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20251201


def mish(x):
    return x * jnp.tanh(jax.nn.softplus(x))


def gelu_exact(x):
    return jax.nn.gelu(x, approximate=False)


NAMED = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "silu": jax.nn.silu,
    "elu": jax.nn.elu,
    "selu": jax.nn.selu,
    "mish": mish,
    "softsign": jax.nn.soft_sign,
    "gelu": gelu_exact,
}


def _b(layer):
    b = layer.get("b_std", 0.0)
    return None if b == 0.0 else b


def to_stax_layer(layer):
    t = layer["type"]
    g = layer.get
    if t == "dense":
        return stax.Dense(1, W_std=g("w_std", 1.0), b_std=_b(layer))
    if t == "conv":
        f = layer["filter"]
        return stax.Conv(1, (f, f), padding=layer["padding"].upper(), W_std=g("w_std", 1.0),
                         b_std=_b(layer))
    if t == "avg_pool":
        return stax.AvgPool((layer["window"], layer["window"]))
    if t == "global_avg_pool":
        return stax.GlobalAvgPool()
    if t == "flatten":
        return stax.Flatten()
    if t == "erf":
        return stax.Erf(g("a", 1.0), g("b", 1.0), g("c", 0.0))
    if t == "relu":
        return stax.Relu()
    if t == "sin":
        return stax.Sin(g("a", 1.0), g("b", 1.0), g("c", 0.0))
    if t == "cos":
        return stax.Cos(g("a", 1.0), g("b", 1.0), g("c", 0.0))
    if t == "rbf":
        return stax.Rbf(g("gamma", 1.0))
    if t == "gaussian":
        return stax.Gaussian(g("a", 1.0), g("b", -1.0))
    if t == "exp":
        return stax.Exp(g("a", 1.0), g("b", 1.0))
    if t == "exp_normalized":
        return stax.ExpNormalized(g("gamma", 1.0), g("shift", -1.0), g("do_clip", False))
    if t == "sign":
        return stax.Sign()
    if t == "abs":
        return stax.Abs()
    if t == "monomial":
        return stax.Monomial(layer["degree"])
    if t == "rectified_monomial":
        return stax.RectifiedMonomial(layer["degree"])
    if t == "hermite":
        return stax.Hermite(layer["degree"])
    if t == "polynomial":
        return stax.Polynomial(layer["coef"])
    if t == "elementwise_numerical":
        return stax.ElementwiseNumerical(NAMED[layer["fn"]], deg=layer["degree"])
    raise ValueError(t)


def kernel_fn_of(layers):
    return stax.serial(*[to_stax_layer(l) for l in layers])[2]


def dense(w=1.0, b=0.0):
    return {"type": "dense", "w_std": w, "b_std": b}


def conv(padding="same", w=1.0, b=0.0):
    return {"type": "conv", "filter": 3, "padding": padding, "w_std": w, "b_std": b}


def mlp(phi, w=(1.2, 1.0, 0.9), b=(0.1, 0.2, 0.0), depth=2):
    layers = [dense(w[0], b[0])]
    for i in range(depth):
        layers += [phi, dense(w[i + 1], b[i + 1])]
    return layers


def cnn(phi, pool="global_avg_pool"):
    return [conv("same", 1.1, 0.1), phi, conv("same", 1.0, 0.0), phi, {"type": pool}, dense(0.9, 0.1)]


# --------------------------------------------------------------------------------------------
# inputs

rng = np.random.default_rng(SEED)
VEC1, VEC2 = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
IMG1, IMG2 = rng.standard_normal((3, 5, 5, 2)), rng.standard_normal((2, 5, 5, 2))


def unit(x):
    """Rows rescaled to ‖x‖² = D, so that the input kernel x·x′/D has unit diagonal."""
    return x / np.sqrt(np.mean(x * x, axis=1, keepdims=True))


INPUTS = {
    "vec": (VEC1, VEC2),
    # x2 correlated with x1 (correlations ≈ 0.9), so that k12ⁿ is not negligible.
    "unit": (unit(VEC1), unit(VEC1[:2] + 0.4 * VEC2)),
    "img": (IMG1, IMG2),
}
NOTES = {
    "vec": "MLP on vectors x1 (3, 5), x2 (2, 5), i.i.d. N(0,1).",
    "unit": "MLP on vectors of equal norm ‖x‖² = 5 (input kernel diagonal 1; x2 = unit(x1[:2] + 0.4·noise)): every variance in the network is the same for all inputs.",
    "img": "CNN on NHWC images x1 (3, 5, 5, 2), x2 (2, 5, 5, 2), i.i.d. N(0,1).",
}

P = {"type": "polynomial", "coef": [0.3, -0.5, 0.2, 0.1]}
CASES = [
    ("mlp_sin", mlp({"type": "sin", "a": 1.3, "b": 0.7, "c": 0.4}), "vec"),
    ("mlp_sin_default", mlp({"type": "sin"}), "vec"),
    ("mlp_cos", mlp({"type": "cos", "a": 0.9, "b": 1.1, "c": 0.2}), "vec"),
    ("mlp_rbf", mlp({"type": "rbf", "gamma": 0.6}), "vec"),
    ("mlp_gaussian", mlp({"type": "gaussian", "a": 1.2, "b": -0.8}), "vec"),
    ("mlp_gaussian_default", mlp({"type": "gaussian"}), "vec"),
    ("mlp_gaussian_positive_b", mlp({"type": "gaussian", "a": 0.8, "b": 0.05}, w=(0.8, 0.8, 1.0)), "vec"),
    ("mlp_exp", mlp({"type": "exp", "a": 0.7, "b": 0.5}), "vec"),
    ("mlp_exp_normalized", mlp({"type": "exp_normalized", "gamma": 1.5, "shift": -1.0, "do_clip": False}), "vec"),
    ("mlp_exp_normalized_clip", mlp({"type": "exp_normalized", "gamma": 0.7, "shift": -0.5, "do_clip": True}), "vec"),
    ("mlp_sign", mlp({"type": "sign"}), "vec"),
    ("mlp_abs", mlp({"type": "abs"}), "vec"),
    ("mlp_polynomial", mlp(P), "vec"),
] + [
    (f"mlp_monomial_{d}", mlp({"type": "monomial", "degree": d}, depth=2 if d <= 3 else 1), "vec")
    for d in range(6)
] + [
    # One layer only: neural-tangents' self-covariance after RectifiedMonomial is NaN (see
    # defects.json), so a second nonlinearity would see NaN variances.
    (f"mlp_rectified_monomial_{d}", mlp({"type": "rectified_monomial", "degree": d}, depth=1), "vec")
    for d in range(5)
] + [
    (f"mlp_hermite_{d}_unit_variance", mlp({"type": "hermite", "degree": d}, w=(1.0, 1.0, 1.0), b=(0.0, 0.0, 0.0)), "unit")
    for d in range(5)
] + [
    (f"cnn_{name}", cnn(phi), "img") for name, phi in [
        ("sin", {"type": "sin", "a": 1.1, "b": 0.8, "c": 0.3}),
        ("rbf", {"type": "rbf", "gamma": 0.4}),
        ("gaussian", {"type": "gaussian", "a": 1.0, "b": -0.5}),
        ("exp", {"type": "exp", "a": 0.8, "b": 0.4}),
        ("exp_normalized", {"type": "exp_normalized", "gamma": 1.2}),
        ("sign", {"type": "sign"}),
        ("abs", {"type": "abs"}),
        ("monomial_2", {"type": "monomial", "degree": 2}),
        ("polynomial", P),
    ]
] + [
    # The same rule at the same degree: equal variances everywhere, so neural-tangents' factored
    # rule is symmetric and entk's symmetrised one equals it, even far from convergence (deg 6).
    (f"mlp_numerical_{fn}_deg6_equal_norms", mlp({"type": "elementwise_numerical", "fn": fn, "degree": 6}), "unit")
    for fn in NAMED
] + [
    # Unequal variances at a degree where the rule has converged (both orders agree to 1e-12).
    # ELU, SELU and softsign have kinks in φ′ or φ″ at 0 and converge only algebraically
    # (asymmetry still 6e-4–3e-3 at degree 120), so they have only the equal-norm cases.
    (f"mlp_numerical_{fn}_deg{d}", mlp({"type": "elementwise_numerical", "fn": fn, "degree": d}, w=(0.7, 1.0, 1.0), b=(0.1, 0.1, 0.0)), "vec")
    for fn, d in [("tanh", 80), ("sigmoid", 40), ("softplus", 40), ("silu", 40), ("mish", 40), ("gelu", 40)]
] + [
    ("cnn_numerical_sigmoid_deg40", cnn({"type": "elementwise_numerical", "fn": "sigmoid", "degree": 40}), "img"),
]


# --------------------------------------------------------------------------------------------
# independent references for the defects


def gh2_sym(f, k11, k22, k12, deg=200):
    """E[f(u, v)] by a symmetric Gauss–Hermite rule of high degree: (u, v) = √2·S·(z_i, z_j)
    with S the symmetric square root of the covariance (not neural-tangents' factored rule)."""
    z, w = np.polynomial.hermite.hermgauss(deg)
    cov = np.array([[k11, k12], [k12, k22]])
    ev, V = np.linalg.eigh(cov)
    S = V @ np.diag(np.sqrt(np.maximum(ev, 0.0))) @ V.T
    Z1, Z2 = np.meshgrid(z, z, indexing="ij")
    W = np.outer(w, w) / np.pi
    u = np.sqrt(2) * (S[0, 0] * Z1 + S[0, 1] * Z2)
    v = np.sqrt(2) * (S[1, 0] * Z1 + S[1, 1] * Z2)
    return float(np.sum(W * f(u, v)))


def mlp_numpy(layers, x1, x2, dual):
    """NNGP/NTK of dense/pointwise nets (docs/theory.md); dual(layer, k11, k22, k12)."""
    d = x1.shape[1]
    k12 = x1 @ x2.T / d
    k11 = np.sum(x1 * x1, 1)[:, None] / d + 0 * k12
    k22 = np.sum(x2 * x2, 1)[None, :] / d + 0 * k12
    th = np.zeros_like(k12)
    for layer in layers:
        if layer["type"] == "dense":
            w, b = layer["w_std"], layer["b_std"]
            k12, k11, k22 = w * w * k12 + b * b, w * w * k11 + b * b, w * w * k22 + b * b
            th = k12 + w * w * th
        else:
            n12, dot = np.vectorize(lambda a, b, c: dual(layer, a, b, c))(k11, k22, k12)
            n11 = np.vectorize(lambda a: dual(layer, a, a, a)[0])(k11)
            n22 = np.vectorize(lambda a: dual(layer, a, a, a)[0])(k22)
            th = th * dot
            k12, k11, k22 = n12, n11, n22
    return k12, th


def rect_mono2_dual(layer, k11, k22, k12):
    """1{u≥0}u² by Cho & Saul's J_2(θ) = 3 sin θ cos θ + (π − θ)(1 + 2cos²θ), written out by hand;
    E[φ′φ′] = 4·E[relu(u)relu(v)] with J_1 = sin θ + (π − θ) cos θ."""
    assert layer["degree"] == 2
    prod = k11 * k22
    rho = np.clip(k12 / np.sqrt(prod), -1, 1)
    th = np.arccos(rho)
    s = np.sqrt(1 - rho * rho)
    j2 = 3 * s * rho + (np.pi - th) * (1 + 2 * rho * rho)
    j1 = s + (np.pi - th) * rho
    return prod * j2 / (2 * np.pi), 4 * np.sqrt(prod) * j1 / (2 * np.pi)


def hermite_dual_quadrature(layer, k11, k22, k12):
    """He_n/√n! by 2-D Gauss–Hermite of degree 200 (exact for polynomials of this degree)."""
    n = layer["degree"]
    c = np.zeros(n + 1)
    c[n] = 1 / math.sqrt(math.factorial(n))
    he = np.polynomial.hermite_e.HermiteE(c)
    dhe = he.deriv()
    return (gh2_sym(lambda u, v: he(u) * he(v), k11, k22, k12),
            gh2_sym(lambda u, v: dhe(u) * dhe(v), k11, k22, k12))


def conv_kernel_same(k_in, th_in, w, b):
    """3×3 SAME conv on a full spatial kernel (H1, W1, H2, W2) [docs/theory.md#linear-layers-the-a-operator, A-operator]."""
    H, W = k_in.shape[0], k_in.shape[1]
    pad = np.zeros((H + 2, W + 2, H + 2, W + 2))
    pad_t = np.zeros_like(pad)
    pad[1:-1, 1:-1, 1:-1, 1:-1] = k_in
    pad_t[1:-1, 1:-1, 1:-1, 1:-1] = th_in
    a = np.zeros_like(k_in)
    at = np.zeros_like(k_in)
    for di in range(3):
        for dj in range(3):
            a += pad[di:di + H, dj:dj + W, di:di + H, dj:dj + W]
            at += pad_t[di:di + H, dj:dj + W, di:di + H, dj:dj + W]
    k = w * w * a / 9 + b * b
    return k, k + w * w * at / 9


def avg_pool_valid(k, q):
    H, W = k.shape[0], k.shape[1]
    Ho, Wo = H - q + 1, W - q + 1
    out = np.zeros((Ho, Wo, Ho, Wo))
    for a in range(q):
        for bb in range(q):
            for c in range(q):
                for d in range(q):
                    out += k[a:a + Ho, bb:bb + Wo, c:c + Ho, d:d + Wo]
    return out / q ** 4


def sign_pool_reference(x1, x2):
    """conv 3×3 SAME → avg_pool(2) → sign → global_avg_pool → dense → erf → dense, all in
    numpy on full spatial kernels (self kernels from the (x, x) pair, as docs/theory.md#nonlinearities-dual-activations says)."""
    def pair(a, b):
        k0 = np.einsum("ijc,klc->ijkl", a, b) / a.shape[-1]
        k, _ = conv_kernel_same(k0, 0 * k0, 1.0, 0.0)
        return avg_pool_valid(k, 2)

    def sign_then_gap(kab, kaa, kbb):
        d1 = np.einsum("ijij->ij", kaa)[:, :, None, None]
        d2 = np.einsum("ijij->ij", kbb)[None, None, :, :]
        s = np.sqrt(np.maximum(d1 * d2 - kab ** 2, 0))
        return np.mean(2 / np.pi * np.arctan2(kab, s))

    n1, n2 = len(x1), len(x2)
    self1 = [pair(a, a) for a in x1]
    self2 = [pair(b, b) for b in x2]
    v1 = np.array([sign_then_gap(k, k, k) for k in self1])
    v2 = np.array([sign_then_gap(k, k, k) for k in self2])
    nngp, ntk = np.zeros((n1, n2)), np.zeros((n1, n2))
    for i in range(n1):
        for j in range(n2):
            k12 = sign_then_gap(pair(x1[i], x2[j]), self1[i], self2[j])
            # dense(1, 0): K = k12, Θ = K (the sign stops the NTK below it).
            k11, k22 = v1[i], v2[j]
            root = np.sqrt((1 + 2 * k11) * (1 + 2 * k22) - 4 * k12 ** 2)
            e = 2 / np.pi * np.arctan2(2 * k12, root)
            de = 4 / np.pi / root
            # dense(1, 0) readout
            nngp[i, j] = e
            ntk[i, j] = e + k12 * de
    return nngp, ntk


def sign_pool_nt_cov1(x1):
    """neural-tangents' self-covariance right after conv → avg_pool → sign, and the true one."""
    _, _, kf = stax.serial(stax.Conv(1, (3, 3), padding="SAME", b_std=None), stax.AvgPool((2, 2)),
                           stax.Sign(), stax.GlobalAvgPool())
    k = kf(x1, x1[:1])
    return np.asarray(k.cov1)


# --------------------------------------------------------------------------------------------


def save(name, suffix, arr):
    fname = f"{name}.{suffix}.npy"
    np.save(os.path.join(HERE, fname), np.ascontiguousarray(arr, dtype="<f8"))
    return fname


def golden_cases():
    manifest = []
    for name, layers, kind in CASES:
        x1, x2 = INPUTS[kind]
        kf = kernel_fn_of(layers)
        k = kf(x1, x2, ("nngp", "ntk"))
        nngp, ntk = np.asarray(k.nngp), np.asarray(k.ntk)
        assert np.all(np.isfinite(nngp)) and np.all(np.isfinite(ntk)), name
        notes = NOTES[kind]
        if any(l["type"] == "elementwise_numerical" for l in layers):
            # Where neural-tangents' factored rule is right it is symmetric: check.
            kt = kf(x2, x1, ("nngp", "ntk"))
            asym = max(np.max(np.abs(np.asarray(kt.nngp).T - nngp)), np.max(np.abs(np.asarray(kt.ntk).T - ntk)))
            scale = max(np.max(np.abs(nngp)), np.max(np.abs(ntk)))
            assert asym <= 1e-12 * scale, (name, asym)
            notes += f" neural-tangents' K(x1,x2) and K(x2,x1)ᵀ agree to {asym / scale:.1e} (relative)."
        files = {s: save(name, s, a) for s, a in (("x1", x1), ("x2", x2), ("nngp", nngp), ("ntk", ntk))}
        manifest.append({"name": name, "arch": {"parameterization": "ntk", "layers": layers}, **files,
                         "notes": notes})
        print(f"{name:44s} nngp[0,0]={nngp[0, 0]:.12g} ntk[0,0]={ntk[0, 0]:.12g}")
    return manifest


def defect_case(layers, x1, x2, k, reference, notes, after_nt=None, after_reference=None):
    """One entry of defects.json: neural-tangents' kernels `k` and the independent
    `reference = (nngp, ntk)` on (x1, x2), with optional extra fields after each; the keys
    stand in this order in the file."""
    ref_k, ref_t = reference
    return {"arch": {"layers": layers}, "x1": x1.tolist(), "x2": x2.tolist(),
            "nt_nngp": np.asarray(k.nngp).tolist(), "nt_ntk": np.asarray(k.ntk).tolist(),
            **(after_nt or {}),
            "reference_nngp": ref_k.tolist(), "reference_ntk": ref_t.tolist(),
            **(after_reference or {}),
            "notes": notes}


def defects():
    out = {}
    x1, x2 = VEC1, VEC2

    # 1. RectifiedMonomial: NaN at correlation exactly 1, i.e. in the self-covariance, so any
    #    later nonlinearity sees NaN variances.
    layers = mlp({"type": "rectified_monomial", "degree": 2}, b=(0.1, 0.2, 0.0))
    k = kernel_fn_of(layers)(x1, x2, ("nngp", "ntk"))
    out["rectified_monomial_self_kernel"] = defect_case(
        layers, x1, x2, k, mlp_numpy(layers, x1, x2, rect_mono2_dual),
        "neural-tangents: NaN wherever the correlation is exactly 1 (its self-covariance, "
        "hence every kernel after a second rectified_monomial); reference: Cho & Saul's J_2 written out in numpy.")

    # 2. Hermite: unit variance assumed.
    layers = mlp({"type": "hermite", "degree": 3}, w=(1.5, 0.8, 1.0), b=(0.3, 0.1, 0.0))
    k = kernel_fn_of(layers)(x1, x2, ("nngp", "ntk"))
    out["hermite_non_unit_variance"] = defect_case(
        layers, x1, x2, k, mlp_numpy(layers, x1, x2, hermite_dual_quadrature),
        "neural-tangents returns k12^n (exact only at unit variance); reference: 2-D "
        "Gauss–Hermite of degree 200 (exact for polynomials) of He_3/√6.")

    # 3. Sign after a pool: every nonzero self-covariance entry set to 1.
    xi1, xi2 = IMG1[:, :4, :4, :], IMG2[:, :4, :4, :]
    layers = [conv("same", 1.0, 0.0), {"type": "avg_pool", "window": 2}, {"type": "sign"},
              {"type": "global_avg_pool"}, dense(1.0, 0.0), {"type": "erf"}, dense(1.0, 0.0)]
    k = kernel_fn_of(layers)(xi1, xi2, ("nngp", "ntk"))
    ref = sign_pool_reference(xi1, xi2)
    cov1 = sign_pool_nt_cov1(xi1)
    out["sign_after_pool"] = defect_case(layers, xi1, xi2, k, ref, after_reference={
        "nt_self_cov_after_sign_gap": cov1.tolist(),
        "reference_self_cov_after_sign_gap": [float(np.mean(2 / np.pi * np.arctan2(
            kk, np.sqrt(np.maximum(np.einsum('ijij->ij', kk)[:, :, None, None] * np.einsum('ijij->ij', kk)[None, None] - kk ** 2, 0)))))
            for kk in [avg_pool_valid(conv_kernel_same(np.einsum('ijc,klc->ijkl', a, a) / 2, 0 * np.einsum('ijc,klc->ijkl', a, a), 1.0, 0.0)[0], 2) for a in xi1]]},
        notes="4×4×2 images. neural-tangents sets the self-covariance after Sign to 1 at every "
              "nonzero entry, so after the pool the variance fed to erf is 1 instead of the mean "
              "of (2/π)·asin(ρ) over position pairs; reference: numpy on full spatial kernels.")

    # 4. ElementwiseNumerical is not symmetric in its two arguments.
    layers = mlp({"type": "elementwise_numerical", "fn": "tanh", "degree": 8}, w=(1.5, 1.2, 1.0), b=(0.1, 0.1, 0.0))
    kf = kernel_fn_of(layers)
    k = kf(x1, x2, ("nngp", "ntk"))
    kt = kf(x2, x1, ("nngp", "ntk"))

    def tanh_dual(layer, a, b, c):
        return (gh2_sym(lambda u, v: np.tanh(u) * np.tanh(v), a, b, c),
                gh2_sym(lambda u, v: (1 - np.tanh(u) ** 2) * (1 - np.tanh(v) ** 2), a, b, c))

    out["numerical_asymmetry"] = defect_case(
        layers, x1, x2, k, mlp_numpy(layers, x1, x2, tanh_dual),
        "tanh at Gauss–Hermite degree 8 with unequal variances: kernel_fn(x1, x2) differs "
        "from kernel_fn(x2, x1)ᵀ; reference: symmetric-square-root Gauss–Hermite of degree 200.",
        after_nt={"nt_nngp_swapped_transposed": np.asarray(kt.nngp).T.tolist(),
                  "nt_ntk_swapped_transposed": np.asarray(kt.ntk).T.tolist()})
    for key, d in out.items():
        nk, rk = np.array(d["nt_nngp"]), np.array(d["reference_nngp"])
        nt_, rt = np.array(d["nt_ntk"]), np.array(d["reference_ntk"])
        with np.errstate(invalid="ignore"):
            ek = np.max(np.abs(nk - rk)) / np.max(np.abs(rk))
            et = np.max(np.abs(nt_ - rt)) / np.max(np.abs(rt))
        d["nt_relative_error"] = {"nngp": float(ek), "ntk": float(et)}
        print(f"defect {key}: neural-tangents relative error nngp {ek:.3e}, ntk {et:.3e}")
    return out


def main():
    if "--defects-only" not in sys.argv:
        manifest = golden_cases()
        with open(os.path.join(HERE, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"{len(manifest)} golden cases")
    with open(os.path.join(HERE, "defects.json"), "w") as f:
        json.dump(defects(), f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"jax {jax.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
