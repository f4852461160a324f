# %% [markdown]
# # Rotated-MNIST kernel regression from Python
#
# The infinite-width CNN and C4-GCNN NTKs as classifiers on rotated MNIST: entk's embedded
# 2,000-digit MNIST sample, every train and test digit rotated by a uniform random angle and
# area-downsampled to 10×10 (the data of `entk experiment rotmnist`), centred one-hot targets,
# the NTK mean prediction at t = ∞ with a small relative diag_reg, then argmax.
#
#     pip install ./crates/python
#     python examples/python/rotmnist_regression.py [--train 200] [--test 500]
#
# Cells are marked `# %%` (VS Code / Jupytext run them one by one).

# %%
import argparse
import time

import numpy as np

import entk
from entk import stax

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--train", type=int, default=200)
parser.add_argument("--test", type=int, default=500)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

# %% The data: (N, 10, 10, 1) float64 images in [0, 1] and int labels 0-9.
x_train, y_train, x_test, y_test = entk.datasets.rotated_mnist(args.train, args.test, seed=args.seed)
targets = np.eye(10)[y_train] - 0.1  # centred one-hot
print(f"train {x_train.shape}, test {x_test.shape}")

# %% The models of docs/theory.md#histology, written the neural-tangents way.
models = {
    "cnn": stax.serial(
        stax.Conv(1, (3, 3)), stax.Relu(), stax.Conv(1, (3, 3)), stax.Relu(),
        stax.GlobalAvgPool(), stax.Dense(1), stax.Relu(), stax.Dense(1)),
    "c4_gcnn": stax.serial(
        stax.LiftConv(1, 3, group="c4"), stax.Relu(), stax.GroupConv(1, 3), stax.Relu(),
        stax.GroupPool(), stax.Dense(1), stax.Relu(), stax.Dense(1)),
}

# %% Kernel regression: NTK mean prediction at t = ∞, accuracy of the argmax.
for name, model in models.items():
    start = time.perf_counter()
    prediction = entk.predict(model.spec, x_train, targets, x_test, diag_reg=1e-4)
    accuracy = np.mean(prediction.ntk_mean.argmax(axis=1) == y_test)
    nngp_accuracy = np.mean(prediction.nngp_mean.argmax(axis=1) == y_test)
    print(f"{name:8s} NTK accuracy {accuracy:6.1%}   NNGP {nngp_accuracy:6.1%}   "
          f"({time.perf_counter() - start:.1f} s)")
