"""Readable tables for the pages: mean ± sd cells from the long (model, quantity, mean, sd, n) form, and a
chapter's claims table as the reader sees it."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pandas' Styler needs jinja2, which only showing a table does
    from pandas.io.formats.style import Styler

# the claims-table columns that :func:`shown_claims` folds into its one ``spread`` column
SPREAD_COLUMNS = ("sd", "n", "ci_low", "ci_high")


def mean_sd_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per model, one 'mean ± sd' cell per quantity, and the number of seeds."""
    cells = [f"{m:.4g} ± {s:.2g}" if np.isfinite(s) else f"{m:.4g}" for m, s in zip(summary["mean"], summary["sd"])]
    wide = summary.assign(cell=cells).pivot(index="model", columns="quantity", values="cell")
    wide = wide.loc[summary.model.unique(), list(summary.quantity.unique())]
    wide["n"] = summary.groupby("model", sort=False)["n"].first()
    wide.columns.name = None
    return wide


def _finite(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)


def _cell(value) -> str:
    """A number with 4 significant digits, text as it is, and '' for a missing value."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{value:.4g}" if math.isfinite(value) else ""
    return "" if value is None or value is pd.NA or value is pd.NaT else str(value)


def spread(row) -> str:
    """'± sd', '95 % CI low–high' or both, with '(n = …)'; '' where the row has neither."""
    parts = []
    if _finite(row.get("sd")):
        parts.append(f"± {row['sd']:.4g}")
    low, high = row.get("ci_low"), row.get("ci_high")
    if _finite(low) and _finite(high):
        joint = " to " if min(low, high) < 0 else "–"
        parts.append(f"95 % CI {low:.4g}{joint}{high:.4g}")
    if not parts:
        return ""
    n = row.get("n")
    return ", ".join(parts) + (f" (n = {int(n)})" if _finite(n) and n >= 1 else "")


def shown_claims(claim_table: pd.DataFrame) -> Styler:
    """A claims table (``ksc.evidence.claims.compare``) as the page shows it; the table written to the results
    file keeps every column.

    sd, n and the interval become one text column ``spread``; numbers have 4 significant digits; a missing value
    is an empty cell; a column empty in every row (``floor`` where no claim has one) is left out; no index.
    """
    shown = claim_table.reset_index(drop=True)
    spreads = [spread(row) for _, row in shown.iterrows()]
    at = next((i for i, c in enumerate(shown.columns) if c in SPREAD_COLUMNS), len(shown.columns))
    shown = shown.drop(columns=[c for c in SPREAD_COLUMNS if c in shown.columns])
    shown.insert(min(at, len(shown.columns)), "spread", spreads)
    shown = shown.astype(object).map(_cell)
    if len(shown):
        shown = shown.loc[:, [c for c in shown.columns if (shown[c] != "").any()]]
    try:
        return shown.style.hide(axis="index")
    except ImportError:  # pandas' Styler needs jinja2: the table with its index, then
        return shown
