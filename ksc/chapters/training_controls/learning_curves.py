"""Section 2 of chapter 10: is "no model reconstructs" just under-training? Learning curves at several learning rates.

- :func:`reconstruction_references`: what the per-pixel mean image and PCA reach on the validation images.
- :func:`train_to_convergence`: each architecture trained for many epochs at every learning rate (one computation
  per architecture), with its validation curve, its test error per epoch and where the curve ends.
- :func:`best_learning_rates`: each architecture's row at the learning rate with the lowest validation loss.
"""

from __future__ import annotations

import pandas as pd

from ksc.chapters.training_controls.diagnostics import HeldOutLoss, convergence
from ksc.data.chaos import Splits
from ksc.measures.metrics import fve, mean_predictor_mse, reconstruction_floors
from ksc.models.training import train_many

CONVERGED_BELOW = 0.01  # a curve has converged when its validation loss fell by less than 1 % over its last fifth


def reconstruction_references(data: Splits, pca_components) -> pd.DataFrame:
    """The per-pixel mean image's and PCA's MSE on the validation images (fitted on the training images), one row
    per baseline, indexed by its name (column ``test_mse``: the error on ``data.val``)."""
    return pd.DataFrame(reconstruction_floors(data.train, data.val, pca_components)).set_index("baseline")


def train_to_convergence(
    models, data: Splits, learning_rates, seed: int, epochs: int, **settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every architecture in ``models`` trained for ``epochs`` epochs from ``seed`` at each of ``learning_rates``
    (one member per rate; ``settings``: train_many's batch_size, latent_dim, k).

    Returns (curves, ends). ``curves``: the training history of every run with its test MSE per epoch
    (``test_mse``), its architecture and learning rate. ``ends``: one row per run with
    :func:`~ksc.chapters.training_controls.diagnostics.convergence`'s summary, ``converged`` (validation loss fell
    by less than 1 % over the last fifth), ``early_stopped_test_fve`` (the test FVE at the epoch of the lowest
    validation loss), and the last epoch's test FVE, latent variance and dead fraction.
    """
    test_floor = mean_predictor_mse(data.train, data.test)
    curves, ends = [], []
    for name in models:
        held_out = HeldOutLoss(data.test)
        rate_fits = train_many(
            name,
            data,
            seeds=[seed] * len(learning_rates),
            epochs=epochs,
            learning_rate=learning_rates,
            callbacks=[held_out],
            **settings,
        )
        for m, (rate, fit) in enumerate(zip(learning_rates, rate_fits)):
            history = fit.history.assign(test_mse=held_out.member(m))
            curves.append(history.assign(architecture=name, learning_rate=rate))
            summary = convergence(history)
            ends.append(
                {
                    "architecture": name,
                    "learning_rate": rate,
                    **summary,
                    "converged": bool(summary["tail_improvement"] < CONVERGED_BELOW),
                    "early_stopped_test_fve": fve(history.test_mse.iloc[summary["best_epoch"] - 1], test_floor),
                    "test_fve": fit.metrics["fve"],
                    "variance": fit.metrics["variance"],
                    "dead_fraction": fit.metrics["dead_fraction"],
                }
            )
    return pd.concat(curves, ignore_index=True), pd.DataFrame(ends)


def best_learning_rates(ends: pd.DataFrame) -> pd.DataFrame:
    """Each architecture's row of :func:`train_to_convergence`'s ``ends`` with the lowest best validation loss."""
    return ends.loc[ends.groupby("architecture").best_val_loss.idxmin()]
