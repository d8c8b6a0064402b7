"""Chapter 02's page text, assembled from the computed tables: the verdict paragraph."""

from __future__ import annotations

import pandas as pd

from ksc.evidence import claims


def noise_sentence(noise_ratio: pd.Series | None) -> str:
    """What training on uniform noise shows: the range of the per-K variance ratio noise / logistic, and, when every
    ratio lies within 10 % of 1, that the K table is the architecture's; empty without noise runs (None)."""
    if noise_ratio is None:
        return ""
    sentence = (
        f" Trained on uniform noise instead, the variance at each K is {noise_ratio.min():.2f}–"
        f"{noise_ratio.max():.2f}× its value on logistic images"
    )
    if (noise_ratio - 1).abs().max() < 0.1:
        return sentence + ": the K table is a property of the architecture, whatever the data."
    return sentence + "."


def verdict(
    claim_table: pd.DataFrame,
    per_fit: pd.DataFrame,
    sweep: dict,
    variance_by_k: pd.Series,
    noise_ratio: pd.Series | None,
) -> str:
    """The verdict: the claims' verdicts counted, the variance's course along K and its trend violations, the most
    dead units, the best score's K, the test MSE's range against the per-pixel mean, then :func:`noise_sentence`."""
    ks = list(variance_by_k.index)
    floor = per_fit.mean_predictor_mse.mean()
    return (
        f"**Verdict.** {claims.count_sentence(claim_table)}. "
        f"Across K = {ks[0]}…{ks[-1]} the mean variance goes from {variance_by_k.iloc[0]:.3f} to "
        f"{variance_by_k.iloc[-1]:.3f} with {sweep['variance_trend_violations']} trend violation(s); the most dead "
        f"units in any run is {int(per_fit.dead_units.max())}. "
        f"The best score is at K = {sweep['best_score_k']}. Every K's test MSE lies between "
        f"{per_fit.test_mse.min():.4f} and {per_fit.test_mse.max():.4f}, against {floor:.4f} for the per-pixel mean "
        f"(FVE from {per_fit.fve.min():+.3f} to {per_fit.fve.max():+.3f}): the loss hardly depends on K because no K "
        "reconstructs the images better than their mean." + noise_sentence(noise_ratio)
    )
