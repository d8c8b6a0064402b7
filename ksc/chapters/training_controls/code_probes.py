"""Section 4 of chapter 10: what the codes carry. Every code of the chapter's models, and two references, probed.

- :func:`probe_targets`: per data set, the targets of the training and the test images (the folded start x0 on
  logistic images, the first iterates, the scores on the top principal axes): :func:`ksc.measures.probes.orbit_targets`.
- :func:`codes_to_probe`: the codes read: the raw pixels, a PCA code, and each architecture's code after training
  and at its initial weights (V1 and V2 untrained are dense ReLU's network, so they are left out).
- :func:`probe_codes`: each code probed by ridge regression, and on logistic images also by the MLP (the first
  seed's trained codes and the references), with the code's effective rank; one row per code and probe.
- :func:`probe_summary` and :func:`scores_of`: the means over seeds, and one (data set, probe) slice of them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.measures.metrics import principal_axes
from ksc.measures.probes import effective_rank, orbit_targets, probe_scores
from ksc.runtime.backend import keras

UNTRAINED_SAME_AS_DENSE_RELU = ("v1", "v2")  # at their initial weights they are dense ReLU's network


class Code(NamedTuple):
    """One code to probe: its label, data set and seed, and the codes of the training and the test images."""

    label: str
    dataset: str
    seed: int
    train: np.ndarray
    test: np.ndarray


def probe_targets(data: dict, starts: np.ndarray, n_iterates: int, n_components: int) -> dict:
    """Data set name -> (training targets, test targets) of :func:`~ksc.measures.probes.orbit_targets`.

    ``starts`` holds the orbit start of every image of the splits in order (training, validation, test); only the
    'logistic' images were made from them, so only their targets include the folded start x0."""
    targets = {}
    for dataset, splits in data.items():
        n_train, n_val = len(splits.train), len(splits.val)
        parts = (starts[:n_train], starts[n_train + n_val :]) if dataset == "logistic" else (None, None)
        targets[dataset] = tuple(
            orbit_targets(images, n_iterates, splits.train, part, n_components=n_components)
            for images, part in zip((splits.train, splits.test), parts)
        )
    return targets


def encode(autoencoder, images: np.ndarray) -> np.ndarray:
    """The autoencoder's code of ``images`` (inference mode), as a NumPy array."""
    return keras.ops.convert_to_numpy(autoencoder.encoder(images, training=False))


def pca_codes(train: np.ndarray, test: np.ndarray, n: int) -> list[np.ndarray]:
    """The scores of the training and the test images on the top ``n`` principal axes of the training images."""
    centre, axes = principal_axes(train, n)
    return [(i.reshape(len(i), -1) - centre) @ axes.T for i in (train, test)]


def codes_to_probe(data: dict, fits: dict, initial: dict, models, seeds, k: int) -> list[Code]:
    """Per data set: the pixels and a PCA code of ``k`` components (both labelled with the first seed), then for each
    architecture in ``models`` and each seed its trained code (``fits``) and, but for V1 and V2, its code at the
    initial weights (``initial``); ``fits`` and ``initial`` are keyed by (architecture, data set, seed). Every code is
    of the same images, ``data`` (one splits per data set), whichever images each seed's model trained on."""
    first = seeds[0]
    codes = []
    for dataset, d in data.items():
        codes.append(Code("pixels", dataset, first, d.train, d.test))
        codes.append(Code(f"PCA-{k}", dataset, first, *pca_codes(d.train, d.test, k)))
        for name in models:
            for s in seeds:
                fit = fits[name, dataset, s]
                trained = fit.autoencoder  # each seed's model encodes the same probe images (``data``)
                codes.append(Code(f"{name} trained", dataset, s, encode(trained, d.train), encode(trained, d.test)))
                if name in UNTRAINED_SAME_AS_DENSE_RELU:
                    continue
                start = initial[name, dataset, s]
                codes.append(Code(f"{name} untrained", dataset, s, encode(start, d.train), encode(start, d.test)))
    return codes


def probe_codes(codes: list[Code], targets: dict, mlp_seed: int) -> pd.DataFrame:
    """One row per code and probe: code, dataset, seed, probe, the code's effective rank on the test images and the
    R² of every target (:func:`~ksc.measures.probes.probe_scores`). Every code gets the ridge probe; the MLP reads
    the codes of logistic images labelled with ``mlp_seed``, trained or references (not the untrained ones)."""
    rows = []
    for code in codes:
        train_targets, test_targets = targets[code.dataset]
        mlp = code.dataset == "logistic" and code.seed == mlp_seed and "untrained" not in code.label
        for kind in ["ridge", "mlp"] if mlp else ["ridge"]:
            rows.append(
                {
                    "code": code.label,
                    "dataset": code.dataset,
                    "seed": code.seed,
                    "probe": kind,
                    "effective_rank": effective_rank(code.test),
                    **probe_scores(code.train, train_targets, code.test, test_targets, kind, seed=code.seed),
                }
            )
    return pd.DataFrame(rows)


def target_names(probe_runs: pd.DataFrame) -> list[str]:
    """The target columns of :func:`probe_codes`'s table: x0, the iterates x1 ... xn and pcs, in its order."""
    return [name for name in probe_runs.columns if name in ("x0", "pcs") or name[1:].isdigit()]


def probe_summary(probe_runs: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of every target's R² and of the effective rank, per (dataset, probe, code), in order of
    first appearance."""
    columns = target_names(probe_runs) + ["effective_rank"]
    return probe_runs.groupby(["dataset", "probe", "code"], sort=False)[columns].mean()


def scores_of(summary: pd.DataFrame, dataset: str = "logistic", probe: str = "ridge") -> pd.DataFrame:
    """The rows of :func:`probe_summary` for one data set and probe, indexed by code (order kept).

    Picked with a mask on the index levels: the summary's index is in order of appearance, not sorted, and a
    partial key lookup (``.loc[(dataset, probe)]``) on such an index searches past its sorted depth."""
    index = summary.index
    picked = (index.get_level_values("dataset") == dataset) & (index.get_level_values("probe") == probe)
    return summary[picked].droplevel(["dataset", "probe"])
