"""Section 1 of chapter 10: every architecture at its initial weights next to the same network after training.

- :func:`train_untrained_and_trained`: trains each architecture on every (data set, seed) of a grid and measures
  the very network each training started from (same seed) on the same test images: one row per run and state.
- :func:`before_after_table`: the means over seeds of a few quantities, untrained and trained side by side.
- :func:`mean_of`: one architecture's mean of one quantity on one data set, untrained or trained.
"""

from __future__ import annotations

import pandas as pd

from ksc.chapters.training_controls.diagnostics import kept_values, untrained
from ksc.data import chaos
from ksc.models.training import train_many

QUANTITIES = ("variance", "dead_fraction", "scale_free_variance", "fve")
STATES = ("untrained", "trained")


def train_untrained_and_trained(models, data: dict, grid, log=print, **settings):
    """Each architecture in ``models`` trained (``train_many``, all of ``grid`` as one computation) and at its initial
    weights, on every (data set, seed) of ``grid``; ``data`` maps a data set's name to its splits (or to one per seed,
    :func:`ksc.data.chaos.splits_per_seed`) and ``settings``
    holds train_many's epochs, batch_size, learning_rate, latent_dim and k.

    Returns (runs, fits, initial): ``runs`` one row per run and state (``training`` 'untrained' or 'trained', with the
    untrained metrics of :func:`~ksc.chapters.training_controls.diagnostics.untrained` and the trained fit's metrics,
    each with the size of the kept values); ``fits`` and ``initial`` map (architecture, data set, seed) to the trained
    fit and the untrained autoencoder. ``log`` gets one line per architecture with its training seconds per model.
    """
    latent_dim, k = settings["latent_dim"], settings["k"]
    rows, fits, initial = [], {}, {}
    for name in models:
        trained = train_many(
            name,
            [chaos.for_seed(data[d], s) for d, s in grid],
            seeds=[s for _, s in grid],
            labels=[f"{name} on {d}" for d, _ in grid],
            **settings,
        )
        for (dataset, s), fit in zip(grid, trained):
            fits[name, dataset, s] = fit
            before, initial[name, dataset, s] = untrained(
                name, chaos.for_seed(data[dataset], s), s, label=fit.model_name, latent_dim=latent_dim, k=k
            )
            common = {"architecture": name, "dataset": dataset}
            rows.append({**before, **common, "training": "untrained"})
            rows.append({**fit.metrics, **kept_values(fit.z_test), **common, "training": "trained"})
        log(f"{name:10s}: {len(grid)} models trained, {trained[0].wall_seconds:.2f} s per model")
    return pd.DataFrame(rows), fits, initial


def before_after_table(runs: pd.DataFrame, quantities=QUANTITIES) -> pd.DataFrame:
    """Mean over seeds of each quantity per (architecture, data set), its untrained column next to its trained one."""
    quantities = list(quantities)
    table = runs.pivot_table(index=["architecture", "dataset"], columns="training", values=quantities, aggfunc="mean")
    return table[[(q, t) for q in quantities for t in STATES]]


def mean_of(runs: pd.DataFrame, architecture: str, dataset: str, training: str, quantity: str) -> float:
    """Mean of ``quantity`` over the seeds of ``architecture`` on ``dataset``, 'untrained' or 'trained'."""
    picked = runs[(runs.architecture == architecture) & (runs.dataset == dataset) & (runs.training == training)]
    return float(picked[quantity].mean())
