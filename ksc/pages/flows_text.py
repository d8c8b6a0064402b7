"""The Markdown of chapter 08's page (the V1 -> V4 evolution on real chaotic flows), assembled from its results."""

from __future__ import annotations

import pandas as pd

from ksc.chapters import flows
from ksc.evidence import claims


def verdict(
    claim_table: pd.DataFrame,
    n_seeds: int,
    summary: pd.DataFrame,
    ratios: pd.DataFrame,
    per_fit: pd.DataFrame,
    systems,
    models,
) -> str:
    """The verdict paragraph: the count of the plan's claims, then per system each architecture's mean dead
    fraction, V4's variance over V3's (where both were trained) and the best FVE of any model."""
    plan = "claims of the draft's Section 7.2 plan"
    lines = [f"**Verdict.** {claims.count_sentence(claim_table, plan)} ({n_seeds} seeds per system and model)."]
    table = summary.set_index(["model", "quantity"])["mean"]
    for system in systems:
        cells = [f"{m.upper()} {table[(flows.label(m, system), 'dead_fraction')]:.0%} dead" for m in models]
        line = f"On {system}: " + ", ".join(cells)
        if {"v3", "v4"} <= set(models):
            ratio = ratios.set_index("model").loc[f"v4/v3 ({system})", "mean"]
            line += f"; V4/V3 variance ×{ratio:.3g}"
        best = per_fit[per_fit.system == system].fve.max()
        lines.append(line + f"; best FVE of any model {best:+.3f}.")
    return " ".join(lines)
