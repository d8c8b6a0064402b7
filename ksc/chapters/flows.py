"""Chapter 08: the draft's Section 7.2 plan, V1 -> V4 trained on Lorenz-96 and Mackey-Glass images.

Images of the flows are built in ``ksc.data.flows`` like the logistic images (784 consecutive samples of one
observable); here every architecture trains on every system and seed, and the pattern the plan expects (V1 all
dead, V4 none dead, V4's variance far above V3's) is measured on each system.
"""

from __future__ import annotations

import pandas as pd

from ksc.data import chaos
from ksc.evidence import claims
from ksc.models.training import Fit, train_many

# the quantities summarised over seeds for every (architecture, system)
QUANTITIES = ["dead_fraction", "sparsity", "variance", "scale_free_variance", "test_mse", "fve"]

# the quantities of the figure of every seed
FIGURE_QUANTITIES = ["dead_fraction", "variance", "scale_free_variance", "fve"]


def label(model: str, system: str) -> str:
    """The label of one architecture trained on one system: ``<model> (<system>)``."""
    return f"{model} ({system})"


def image_statistics(data: dict) -> pd.DataFrame:
    """Per system (rows): the pixel statistics of its training images and the correlation of neighbouring pixels."""
    return pd.DataFrame(
        {
            system: {
                **chaos.pixel_statistics(splits.train),
                "neighbour_correlation": chaos.neighbour_correlation(splits.train),
            }
            for system, splits in data.items()
        }
    ).T


def train_every_model(models, data: dict, seeds, **training) -> list[Fit]:
    """Every architecture in ``models`` on every system of ``data`` and every seed; each architecture as one
    computation (``train_many``), each model on its own system's images. ``data`` maps each system to its splits,
    or to one splits per seed (:func:`ksc.data.chaos.splits_per_seed`). ``training`` goes to ``train_many``."""
    grid = [(system, s) for system in data for s in seeds]
    fits = []
    for model in models:
        fits += train_many(
            model,
            [chaos.for_seed(data[system], s) for system, s in grid],
            seeds=[s for _, s in grid],
            labels=[label(model, system) for system, _ in grid],
            **training,
        )
    return fits


def per_fit_table(fits) -> pd.DataFrame:
    """One row of metrics per fit, with its ``system`` read from the label."""
    per_fit = pd.DataFrame([fit.metrics for fit in fits])
    per_fit["system"] = per_fit.model.str.extract(r"\((.*)\)", expand=False)
    return per_fit


def figure_order(models, systems) -> list[str]:
    """The labels system by system, the architectures in their order within each."""
    return [label(model, system) for system in systems for model in models]


def v4_over_v3(per_fit: pd.DataFrame, systems, models) -> pd.DataFrame:
    """Per system: V4's latent variance over V3's, seed by seed, summarised over seeds in the long form
    (model ``v4/v3 (<system>)``, quantity ``variance_ratio``); no rows where V3 or V4 was not trained."""
    if not {"v3", "v4"} <= set(models):
        return pd.DataFrame(columns=["model", "quantity", "mean", "sd", "n"])
    return pd.concat(
        [
            claims.paired(
                per_fit, label("v4", system), label("v3", system), "variance", f"v4/v3 ({system})", "variance_ratio"
            )
            for system in systems
        ],
        ignore_index=True,
    )


def fve_against_v3(per_fit: pd.DataFrame, systems) -> pd.DataFrame:
    """Per system: V4's and V3's test FVE and the gap V4 - V3 paired by seed, each mean with its 95 % t-interval:
    what the ledger's ksc-reconstruction reads (V4 above the mean image and at most 0.02 of FVE below V3)."""
    rows = []
    for system in systems:
        mine = per_fit[per_fit.system == system]
        v4 = mine[mine.model == label("v4", system)].set_index("seed").fve
        v3 = mine[mine.model == label("v3", system)].set_index("seed").fve
        gap = (v4 - v3).dropna()
        if gap.empty:
            continue
        row = {"system": system, "n": len(gap)}
        for name, values in (("v4", v4), ("v3", v3), ("v4 - v3", gap)):
            mean, sd = float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            low, high = claims.interval(mean, sd, len(values))
            row |= {f"{name} FVE": mean, f"{name} low": low, f"{name} high": high}
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")
