"""Section 5 of chapter 10: dead units without the chaos activation. V3 (ReLU + Top-K) with the two remedies of
:mod:`ksc.chapters.training_controls.revival` (AuxK at each weight, resampling), next to plain V3 and V4.

- :func:`train_remedies`: one row per variant, data set and seed, with the trained model's metrics.
- :func:`remedy_table`: the mean and sd over seeds of a few quantities per variant and data set.
"""

from __future__ import annotations

import pandas as pd

from ksc.chapters.training_controls.revival import train_v3
from ksc.data import chaos

QUANTITIES = ("dead_fraction", "variance", "scale_free_variance", "fve")
RESAMPLING = "v3 + resampling"


def auxk_label(alpha: float) -> str:
    """The variant name of V3 trained with the AuxK loss at weight ``alpha``."""
    return f"v3 + AuxK (α={alpha:g})"


def train_remedies(fits: dict, data: dict, grid, auxk_alphas, k_aux: int, resample_epochs, **settings) -> pd.DataFrame:
    """Plain V3 and V4 (their fits from section 1, ``fits`` keyed by (architecture, data set, seed)), V3 with AuxK at
    each weight in ``auxk_alphas`` (every weight, data set and seed as one computation) and V3 with resampling after
    ``resample_epochs``, each on every (data set, seed) of ``grid``; ``settings`` are section 1's training settings.

    One row per variant and run: the fit's metrics, ``variant`` (the name shown), its ``architecture``, ``remedy``
    (none, AuxK or resampling) and ``auxk_alpha``, ``dataset`` and ``seed`` (resampled runs also have
    ``resampled_units`` and ``resampled_dead_again``)."""
    rows = []

    def add(label, variant_fits, architecture="v3", remedy="none", alpha=float("nan")):
        for (dataset, s), fit in zip(grid, variant_fits):
            parts = {"architecture": architecture, "remedy": remedy, "auxk_alpha": alpha}
            rows.append({**fit.metrics, "variant": label, **parts, "dataset": dataset, "seed": s})

    for name in ("v3", "v4"):
        add(name, [fits[name, d, s] for d, s in grid], architecture=name)
    labels = [f"v3 on {d}" for d, _ in grid]
    auxk_fits = train_v3(
        "auxk",
        [chaos.for_seed(data[d], s) for _ in auxk_alphas for d, s in grid],
        [s for _ in auxk_alphas for _, s in grid],
        k_aux=k_aux,
        auxk_alpha=[alpha for alpha in auxk_alphas for _ in grid],
        labels=labels * len(auxk_alphas),
        **settings,
    )
    for i, alpha in enumerate(auxk_alphas):
        add(auxk_label(alpha), auxk_fits[i * len(grid) : (i + 1) * len(grid)], remedy="AuxK", alpha=alpha)
    resampled = train_v3(
        "resample",
        [chaos.for_seed(data[d], s) for d, s in grid],
        [s for _, s in grid],
        resample_epochs=resample_epochs,
        labels=labels,
        **settings,
    )
    add(RESAMPLING, resampled, remedy="resampling")
    return pd.DataFrame(rows)


def remedy_table(remedies: pd.DataFrame, quantities=QUANTITIES) -> pd.DataFrame:
    """Mean and sd over seeds of each quantity per (variant, data set), in order of first appearance."""
    return remedies.groupby(["variant", "dataset"], sort=False)[list(quantities)].agg(["mean", "std"])
