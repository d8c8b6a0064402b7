"""A real trained network's activations, made offline, and two probing evaluations of SAEs fitted to them.

The vSAE paper fits its SAEs to Pythia-70M's residual stream and scores them with SAEBench's probing
evaluations; neither the language model nor SAEBench's data sets can be downloaded here. The stand-in:
a one-hidden-layer ReLU network trained on scikit-learn's bundled handwritten digits (1,797 8 x 8 images,
ten classes), shown images shifted by up to one pixel and with pixel noise so that it sees many distinct
inputs, and the SAEs fitted to its hidden activations. The labels make two evaluations possible:

- *sparse probing* (SAEBench's "sparse probing", in spirit): for each digit against the rest, the latents
  whose mean code differs most between the two are kept (1 or 5 of them) and a logistic regression on them
  is scored on held-out samples (balanced accuracy, averaged over the ten tasks);
- *targeted probe perturbation* (TPP, SAEBench's Figure 5 evaluation): a logistic probe per digit is trained
  on the network's activations; for digit i the SAE latents most specific to i are removed from the
  activations (their decoded contribution subtracted); TPP is the mean accuracy drop of probe i minus the
  mean drop of the other probes. A high TPP means concepts live in separate latents.

SAEBench selects latents with probes of its own and averages over thresholds; we select by mean difference at
one size, stated in the chapter.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

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


def specific_latents(codes_NL: np.ndarray, y_N: np.ndarray, label: int, n: int) -> np.ndarray:
    """The n latents whose mean code is most larger on samples of ``label`` than on the others."""
    inside = y_N == label
    difference = codes_NL[inside].mean(axis=0) - codes_NL[~inside].mean(axis=0)
    return np.argsort(-difference, kind="stable")[:n]


def _probe(x_train, y_train, seed: int = 0) -> LogisticRegression:
    return LogisticRegression(max_iter=500, class_weight="balanced", random_state=seed).fit(x_train, y_train)


def sparse_probing(
    codes_train: np.ndarray, y_train: np.ndarray, codes_test: np.ndarray, y_test: np.ndarray, sizes=(1, 5), fit_on=2048
) -> dict:
    """Mean over the ten one-against-rest tasks of the balanced test accuracy of a logistic probe on the
    ``size`` most label-specific latents (chosen and fitted on the first ``fit_on`` training samples)."""
    codes_fit, y_fit = codes_train[:fit_on], y_train[:fit_on]
    out = {}
    for size in sizes:
        scores = []
        for label in range(10):
            chosen = specific_latents(codes_fit, y_fit, label, size)
            probe = _probe(codes_fit[:, chosen], y_fit == label)
            scores.append(balanced_accuracy_score(y_test == label, probe.predict(codes_test[:, chosen])))
        out[f"sparse_probe_{size}"] = float(np.mean(scores))
    return out


def activation_probes(x_train: np.ndarray, y_train: np.ndarray, fit_on: int = 4096) -> list:
    """One logistic probe per digit (against the rest) on the network's activations: TPP's probes."""
    return [_probe(x_train[:fit_on], y_train[:fit_on] == label) for label in range(10)]


def targeted_probe_perturbation(
    probes: list,
    x_test: np.ndarray,
    y_test: np.ndarray,
    codes_train: np.ndarray,
    y_train: np.ndarray,
    codes_test: np.ndarray,
    decoder_LD: np.ndarray,
    n_ablate: int,
) -> dict:
    """TPP: removing the ``n_ablate`` latents most specific to digit i (their codes times their unit decoder
    directions, subtracted from the activations) should hurt probe i and spare the others.
    Returns the mean drop of the targeted probe, the mean drop of the others and their difference (TPP)."""
    base = np.array([balanced_accuracy_score(y_test == j, p.predict(x_test)) for j, p in enumerate(probes)])
    drops = np.zeros((10, 10))
    for i in range(10):
        chosen = specific_latents(codes_train, y_train, i, n_ablate)
        ablated = x_test - codes_test[:, chosen] @ decoder_LD[chosen]
        drops[i] = base - [balanced_accuracy_score(y_test == j, p.predict(ablated)) for j, p in enumerate(probes)]
    targeted, others = float(np.mean(np.diag(drops))), float(np.mean(drops[~np.eye(10, dtype=bool)]))
    return {"tpp_targeted": targeted, "tpp_others": others, "tpp": targeted - others}
