"""The Markdown of chapter 04's page (Hénon against logistic images), assembled from its computed results."""

from __future__ import annotations

import pandas as pd

from ksc.evidence import claims
from ksc.measures.stats import equivalence

RATIO_MARGIN = (
    0.05  # the equivalence margin of the Hénon/logistic ratio: within 5 % of 1, the band of ksc-henon-general
)


def verdict(claim_table: pd.DataFrame, n_seeds: int, ratio: pd.DataFrame, tests: pd.DataFrame, per_fit) -> str:
    """The verdict paragraph: the claims' count, the variance ratio with its interval read as an equivalence test
    (within ``RATIO_MARGIN`` of 1), Welch's p as the test of a difference, the attractor-only Hénon variance and the
    mean FVE per model."""
    welch = tests[tests.test == "Welch"].iloc[0]
    row = ratio.iloc[0]
    lower, upper = 1 - RATIO_MARGIN, 1 + RATIO_MARGIN
    reading = {
        "equivalent": f"lies inside {lower:g}–{upper:g}: the two variances are equivalent within {RATIO_MARGIN:.0%}",
        "different": f"lies outside {lower:g}–{upper:g}: the variances differ by more than {RATIO_MARGIN:.0%}",
        "cannot tell": f"reaches across the edge of {lower:g}–{upper:g}: equivalence within {RATIO_MARGIN:.0%} cannot "
        "be told",
    }[equivalence(row.ci_low, row.ci_high, lower, upper)]
    difference = (
        "a significant difference at the 5 % level"
        if welch.p < 0.05
        else "no significant difference at the 5 % level, which alone would not show the variances are the same"
    )
    return (
        f"**Verdict.** {claims.count_sentence(claim_table)} ({n_seeds} seeds each). "
        f"The variance ratio Hénon / logistic is {row['mean']:.3f}; its 95 % interval ({row.ci_low:.4f}–"
        f"{row.ci_high:.4f}) {reading} (two one-sided tests at 2.5 % each). Welch's test of the difference gives "
        f"p = {welch.p:.2g}: {difference}. Whether the ratio says anything about attractors is a separate question: "
        "chapter 07 trains the same V4 on i.i.d. noise images, and the ledger's conclusion ksc-henon-general sets this "
        "ratio against V4's noise/logistic ratio. "
        f"Without the pinned Hénon images the Hénon variance is {per_fit.variance_attractor_only.mean():.3f}. "
        f"FVE: {per_fit.groupby('model').fve.mean().round(3).to_dict()}."
    )
