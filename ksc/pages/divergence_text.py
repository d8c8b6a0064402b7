"""The Markdown of chapter 05's page (do latent codes diverge like the orbits?), assembled from its computed results."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters import divergence
from ksc.data import chaos
from ksc.evidence import claims


def verdict(
    claim_table: pd.DataFrame,
    reached: list[int],
    draft: pd.DataFrame,
    draft_summary: pd.DataFrame,
    rates: pd.DataFrame,
    lyapunov: float,
) -> str:
    """The verdict paragraph: the claims' count; where in frame 0 the draft protocol's orbits become unrelated
    (``reached``: iterates per run) and the input distances that follow; the window protocol's input and latent
    growth rates, and whether every encoder's latent distance follows the input's growth within 20 %."""
    mean_reached = np.mean(reached)
    follows = divergence.latent_follows_input(rates)
    latent_rates = ", ".join(f"{rates.loc[n, 'latent growth rate']:.3f} for {n}" for n in rates.index)
    if follows.all():
        conclusion = (
            "Every encoder's latent distance follows the input's exponential growth within 20 %: both encoders "
            "transmit the divergence, as any smooth map must for small differences."
        )
    else:
        conclusion = (
            "Not every encoder's latent distance follows the input's growth within 20 %: "
            + ", ".join(rates.index[~follows])
            + "."
        )
    return (
        f"**Verdict.** {claims.count_sentence(claim_table)}. "
        f"In the draft's protocol the two orbits reach 10 % of the attractor's size after {mean_reached:.0f} iterates "
        f"on average, i.e. in row {int(np.ceil(mean_reached / chaos.IMAGE_SIDE))} of the {chaos.IMAGE_SIDE} rows of "
        "frame 0; from there on the frames of a pair are unrelated, so every frame pair is a pair of unrelated "
        "images and the latent distance is that of two random inputs (mean input distance "
        f"{draft_summary.input_distance_mean.mean():.1f}, sd over frames and runs {draft.input_distance.std():.2f}). "
        "The flat ratios say nothing about the encoders. In the window protocol the input difference grows at "
        f"{rates['input growth rate'].mean():.3f} per iterate (λ = {lyapunov:.3f}); the latent distance grows at "
        f"{latent_rates}. {conclusion}"
    )
