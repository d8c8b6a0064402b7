"""Chapter 03's page text, assembled from the computed tables: the verdict paragraph."""

from __future__ import annotations

import pandas as pd

from ksc.evidence import claims


def verdict(
    claim_table: pd.DataFrame,
    summary: pd.DataFrame,
    ratios: pd.DataFrame,
    welch: pd.Series,
    per_fit: pd.DataFrame,
    models,
    tests_agree: bool,
) -> str:
    """The verdict: the claims' verdicts counted, V4's variance over each baseline's (with the bootstrap interval and
    Welch's test against the same-size one), whether the larger baseline has less variance than the smaller (the
    "capacity paradox"), the test MSE's range against the per-pixel mean, and whether the two t-tests agree.

    ``models`` is (small baseline, same-size baseline, V4), as labelled in the tables; ``tests_agree`` says whether
    Welch's and Student's tests reach the same decision at the 5 % level for every comparison."""
    small, large, v4 = models
    m = summary.set_index(["model", "quantity"])["mean"]
    ratio = ratios.set_index("model")
    n_seeds = per_fit.seed.nunique()
    return (
        f"**Verdict.** {claims.count_sentence(claim_table)} ({n_seeds} seeds). "
        f"V4's variance is ×{ratio.loc[f'{v4}/{large}', 'mean']:.2f} that of {large} "
        f"(95 % CI {ratio.loc[f'{v4}/{large}', 'ci_low']:.2f}–{ratio.loc[f'{v4}/{large}', 'ci_high']:.2f}; "
        f"Welch t = {welch.t:.1f}, p = {welch.p:.1e}) and ×{ratio.loc[f'{v4}/{small}', 'mean']:.2f} that of {small}. "
        f"{large} has {'less' if m[(large, 'variance')] < m[(small, 'variance')] else 'more'} variance than {small}. "
        f"The models' test MSE ranges from {per_fit.test_mse.min():.4f} to {per_fit.test_mse.max():.4f}, against "
        f"{per_fit.mean_predictor_mse.mean():.4f} for the per-pixel-mean predictor "
        f"(best FVE {per_fit.fve.max():+.3f}): "
        "the variance ratios compare latent codes of models none of which reconstructs the images. "
        + (
            "Welch's and Student's tests reach the same decision at the 5 % level for every comparison."
            if tests_agree
            else "Welch's and Student's tests disagree at the 5 % level for at least one comparison: "
            "see the significance table."
        )
    )
