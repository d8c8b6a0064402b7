"""Chapter 07: the controls behind the draft's reconstruction and variance figures.

Reconstruction floors (the per-pixel-mean predictor, PCA), the same architectures trained on chaotic images and
on null data (i.i.d. noise, identical images), and the draft's motivating test: models trained on logistic
images asked to encode many copies of one image.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.data import chaos
from ksc.evidence import claims
from ksc.measures import metrics
from ksc.models.training import Fit, train_many
from ksc.runtime.backend import keras

# the quantities summarised over seeds for every (architecture, data set)
QUANTITIES = [
    "variance",
    "scale_free_variance",
    "coefficient_of_variation",
    "dead_fraction",
    "test_mse",
    "mean_predictor_mse",
    "fve",
]

IDENTICAL = "identical inputs (draft's test)"  # the model label of the motivating test's measurement


def reconstruction_floors(splits, components) -> pd.DataFrame:
    """The per-pixel-mean predictor and PCA with each number of ``components``, fitted on the training images
    of ``splits`` and measured on its test images; indexed by baseline."""
    return pd.DataFrame(metrics.reconstruction_floors(splits.train, splits.test, components)).set_index("baseline")


def train_on_every_dataset(models, data: dict, seeds, **training) -> dict[str, list[Fit]]:
    """Per architecture in ``models``: its fits on every data set of ``data`` and every seed, trained as one
    computation (``train_many``), each model on its own data set and labelled ``<architecture> on <data set>``.
    ``data`` maps each data set to its splits, or to one splits per seed (:func:`ksc.data.chaos.splits_per_seed`).
    ``training`` goes to ``train_many``."""
    grid = [(dataset, s) for dataset in data for s in seeds]
    return {
        name: train_many(
            name,
            [chaos.for_seed(data[dataset], s) for dataset, s in grid],
            seeds=[s for _, s in grid],
            labels=[f"{name} on {dataset}" for dataset, _ in grid],
            **training,
        )
        for name in models
    }


def per_fit_table(fits) -> pd.DataFrame:
    """One row of metrics per fit, with its ``dataset`` and ``architecture`` read from the label."""
    per_fit = pd.DataFrame([fit.metrics for fit in fits])
    per_fit["dataset"] = per_fit.model.str.split(" on ").str[1]
    per_fit["architecture"] = per_fit.model.str.split(" on ").str[0]
    return per_fit


def by_architecture_and_dataset(per_fit: pd.DataFrame, quantity: str, datasets) -> pd.DataFrame:
    """The mean of ``quantity`` over seeds: architectures as rows, the ``datasets`` (in that order) as columns."""
    return per_fit.pivot_table(index="architecture", columns="dataset", values=quantity, aggfunc="mean")[datasets]


def identical_input_variances(fits, images: np.ndarray) -> pd.DataFrame:
    """Every model trained on logistic images encodes ``images`` (copies of one image): per model and seed, the
    mean and the largest per-unit variance of its codes."""
    rows = []
    for fit in fits:
        if fit.model_name.endswith("on logistic"):
            z = keras.ops.convert_to_numpy(fit.autoencoder.encoder(images, training=False))
            rows.append(
                {
                    "model": fit.model_name,
                    "seed": fit.seed,
                    "variance": metrics.mean_variance(z),
                    "max unit variance": float(np.var(z, axis=0).max()),
                }
            )
    return pd.DataFrame(rows)


def measured_identical(identical: pd.DataFrame) -> pd.DataFrame:
    """The motivating test's measurement for the claims registry: the largest per-unit variance over all models."""
    return claims.rows(IDENTICAL, {"max_unit_variance": identical["max unit variance"].max()}, len(identical))


def logistic_fve_by_architecture(per_fit: pd.DataFrame) -> pd.Series:
    """Mean FVE over seeds of each architecture trained on logistic images."""
    return per_fit[per_fit.dataset == "logistic"].groupby("architecture").fve.mean()


def v4_noise_over_logistic(variance: pd.DataFrame) -> float:
    """V4's mean latent variance on noise over that on logistic images (nan where either was not trained), from
    the table of ``by_architecture_and_dataset``."""
    if {"v4"} <= set(variance.index) and "noise" in variance:
        return variance.loc["v4", "noise"] / variance.loc["v4", "logistic"]
    return np.nan
