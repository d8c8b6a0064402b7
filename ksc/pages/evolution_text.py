"""Chapter 01's page text, assembled from the computed tables: the verdict paragraph."""

from __future__ import annotations

import pandas as pd

from ksc.evidence import claims


def verdict(claim_table: pd.DataFrame, summary: pd.DataFrame, n_seeds: int) -> str:
    """The verdict: the claims' verdicts counted, V4's and V3's sparsity, dead units, variance and reconstruction
    next to the per-pixel mean, and whether any model explains 5 % of the pixel variance."""
    v4 = summary.query("model == 'v4'").set_index("quantity")["mean"]
    v3 = summary.query("model == 'v3'").set_index("quantity")["mean"]
    return (
        f"**Verdict.** {claims.count_sentence(claim_table)}. "
        f"V4 ({n_seeds} seeds) reaches sparsity {v4['sparsity']:.1%} with {v4['dead_fraction']:.1%} dead units and "
        f"latent variance {v4['variance']:.3f}; V3 has {v3['dead_fraction']:.1%} dead units and variance "
        f"{v3['variance']:.2g}. "
        f"On reconstruction, V4's test MSE is {v4['test_mse']:.4f} against {v4['mean_predictor_mse']:.4f} for "
        f"predicting every pixel by its mean (FVE {v4['fve']:+.3f}; V3: {v3['fve']:+.3f}). "
        + (
            "No model explains even 5 % of the pixel variance, so none of them reconstructs these images in any useful "
            "sense, and 'reconstruction quality maintained' only means 'about as good as the mean image'."
            if summary.query("quantity == 'fve'")["mean"].max() < 0.05
            else "At least one model explains more than 5 % of the pixel variance; see the table for which."
        )
    )
