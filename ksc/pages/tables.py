"""Readable tables for the pages: mean ± sd cells from the long (model, quantity, mean, sd, n) form."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mean_sd_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per model, one 'mean ± sd' cell per quantity, and the number of seeds."""
    cells = [f"{m:.4g} ± {s:.2g}" if np.isfinite(s) else f"{m:.4g}" for m, s in zip(summary["mean"], summary["sd"])]
    wide = summary.assign(cell=cells).pivot(index="model", columns="quantity", values="cell")
    wide = wide.loc[summary.model.unique(), list(summary.quantity.unique())]
    wide["n"] = summary.groupby("model", sort=False)["n"].first()
    wide.columns.name = None
    return wide
