"""A real trained network's activations, made offline, for SAEs to be fitted to and probed.

The vSAE paper fits its SAEs to Pythia-70M's residual stream and scores them with SAEBench's probing
evaluations; neither the language model nor SAEBench's data sets can be downloaded here. The stand-in:
a one-hidden-layer ReLU network trained on scikit-learn's bundled handwritten digits (1,797 8 x 8 images,
ten classes), shown images shifted by up to one pixel and with pixel noise so that it sees many distinct
inputs, and the SAEs fitted to its hidden activations. The digits' labels make SAEBench's sparse probing and
targeted probe perturbation possible; those evaluations are in :mod:`ksc.measures.saebench`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.datasets import load_digits

from ksc.runtime.backend import keras


class NetworkActivations(NamedTuple):
    """Hidden activations of the trained network on jittered digits, with the digits' labels."""

    train: np.ndarray  # (n_train, hidden) float32
    val: np.ndarray
    test: np.ndarray  # activations of jittered copies of digits the network never trained on
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    accuracy: float  # the network's own test accuracy
    silent_units: float  # fraction of hidden units that never fire on the test samples


def jittered(images_N88: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.05) -> tuple:
    """n copies drawn from the images: each shifted by -1, 0 or 1 pixel in each direction (zeros shifted in)
    and given Gaussian pixel noise of sd ``noise``, clipped to [0, 1]; returns (flattened copies, indices)."""
    index = rng.integers(len(images_N88), size=n)
    out = np.zeros((n, 8, 8), np.float32)
    shifts = rng.integers(-1, 2, size=(n, 2))
    for dy, dx in {tuple(s) for s in shifts}:
        rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        moved = np.roll(images_N88[index[rows]], (dy, dx), axis=(1, 2))
        if dy:
            moved[:, 0 if dy > 0 else -1, :] = 0
        if dx:
            moved[:, :, 0 if dx > 0 else -1] = 0
        out[rows] = moved
    out += noise * rng.standard_normal(out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).reshape(n, 64), index


def network_activations(
    hidden: int = 32, n_train: int = 16384, n_val: int = 1024, n_test: int = 4096, epochs: int = 20, seed: int = 0
) -> NetworkActivations:
    """Trains the network (Adam, cross-entropy, batch 128) on jittered copies of 70 % of the digits and
    returns its hidden ReLU activations on fresh jittered copies: train and validation from the same digits,
    test from the other 30 %."""
    digits = load_digits()
    images, labels = (digits.images / 16.0).astype(np.float32), digits.target
    rng = np.random.default_rng([seed, 6])
    order = rng.permutation(len(images))
    cut = int(0.7 * len(images))
    seen, unseen = order[:cut], order[cut:]
    x_fit, i_fit = jittered(images[seen], n_train, rng)
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((64,))
    hidden_layer = keras.layers.Dense(hidden, activation="relu", name="hidden")(inputs)
    network = keras.Model(inputs, keras.layers.Dense(10)(hidden_layer))
    network.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    network.fit(x_fit, labels[seen][i_fit], batch_size=128, epochs=epochs, verbose=0, shuffle=True)
    encoder = keras.Model(inputs, hidden_layer)
    sets = {}
    for name, pool, n in (("train", seen, n_train), ("val", seen, n_val), ("test", unseen, n_test)):
        x, i = jittered(images[pool], n, rng)
        sets[name] = (np.asarray(encoder.predict(x, batch_size=2048, verbose=0), np.float32), labels[pool][i], x)
    logits = network.predict(sets["test"][2], batch_size=2048, verbose=0)
    return NetworkActivations(
        sets["train"][0],
        sets["val"][0],
        sets["test"][0],
        sets["train"][1],
        sets["val"][1],
        sets["test"][1],
        float(np.mean(np.argmax(logits, axis=1) == sets["test"][1])),
        float(np.mean(~np.any(sets["test"][0] > 0, axis=0))),
    )
