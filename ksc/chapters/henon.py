"""Chapter 04 (Section 6.2, Figure 5): V4 trained on Hénon-map images beside logistic-map images.

The two data sets share their seeds and sizes; each V4 model trains on its own system's images. About one Hénon
start in ten escapes the attractor and gives a constant image (``chaos.escaped_orbits``), so the Hénon models are
also measured on the attractor images alone.
"""

from __future__ import annotations

import pandas as pd

from ksc.data import chaos
from ksc.evidence import claims
from ksc.measures import metrics
from ksc.models.training import Fit, train_many

LOGISTIC, HENON = "v4 logistic", "v4 henon"  # the model labels, one per system

# the quantities summarised over seeds for both systems
QUANTITIES = ["variance", "dead_fraction", "sparsity", "val_loss", "test_mse", "mean_predictor_mse", "fve"]

# the columns of the t-test table the page shows
TEST_COLUMNS = ["comparison", "test", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "t", "df", "p", "cohens_d"]


def make_systems(n_train: int, n_val: int, n_test: int, r: float, seed: int) -> dict:
    """The logistic and the Hénon splits, keyed by the label of the V4 model that trains on each."""
    return {
        LOGISTIC: chaos.make_splits("logistic", n_train, n_val, n_test, r=r, seed=seed),
        HENON: chaos.make_splits("henon", n_train, n_val, n_test, seed=seed),
    }


def train_on_both_systems(systems: dict, seeds, pinned, **training) -> list[Fit]:
    """V4 on every system and seed in one computation (``train_many``), each model on its own system's images.

    ``training`` goes to ``train_many`` (epochs, batch size, latent size, ...). Every Hénon fit gets the metric
    ``variance_attractor_only``: its mean latent variance over the test images that are not ``pinned``.
    """
    grid = [(label, s) for label in systems for s in seeds]
    fits = train_many(
        "v4",
        [systems[label] for label, _ in grid],
        seeds=[s for _, s in grid],
        labels=[label for label, _ in grid],
        **training,
    )
    for fit in fits:
        if fit.model_name == HENON:
            fit.metrics["variance_attractor_only"] = metrics.mean_variance(fit.z_test[~pinned])
    return fits


def attractor_only_summary(per_fit: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of ``variance_attractor_only``, for the models that have it (the Hénon ones)."""
    return claims.summarise(per_fit.dropna(subset=["variance_attractor_only"]), ["variance_attractor_only"])
