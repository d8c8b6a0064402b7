"""The Markdown of chapter 04's page (Hénon against logistic images), assembled from its computed results."""

from __future__ import annotations

import pandas as pd

from ksc.evidence import claims


def verdict(claim_table: pd.DataFrame, n_seeds: int, ratio: pd.DataFrame, tests: pd.DataFrame, per_fit) -> str:
    """The verdict paragraph: the claims' count, the variance ratio with its interval, Welch's p and what it says
    at the 5 % level, the attractor-only Hénon variance and the mean FVE per model."""
    welch = tests[tests.test == "Welch"].iloc[0]
    row = ratio.iloc[0]
    significance = (
        "differ significantly at the 5 % level" if welch.p < 0.05 else "do not differ significantly at the 5 % level"
    )
    return (
        f"**Verdict.** {claims.count_sentence(claim_table)} ({n_seeds} seeds each). "
        f"The variance ratio Hénon / logistic is {row['mean']:.3f} (95 % CI {row.ci_low:.3f}–{row.ci_high:.3f}); "
        f"Welch's test gives p = {welch.p:.2g} for the difference, i.e. the two systems' variances {significance}. "
        f"Without the pinned Hénon images the Hénon variance is {per_fit.variance_attractor_only.mean():.3f}. "
        f"FVE: {per_fit.groupby('model').fve.mean().round(3).to_dict()}."
    )
