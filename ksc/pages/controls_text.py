"""The Markdown and printed lines of chapter 07's page (controls), assembled from its computed results."""

from __future__ import annotations

import numpy as np
import pandas as pd


def training_times(fits: dict, datasets) -> str:
    """One line per architecture: the data sets it trained on, how many models, and their summed wall time."""
    return "\n".join(
        f"{name:10s} on {', '.join(datasets)}: {len(group)} models, {sum(fit.wall_seconds for fit in group):6.1f} s"
        for name, group in fits.items()
    )


def what_the_controls_say(
    floors: pd.DataFrame,
    n_components: int,
    fve_by_architecture: pd.Series,
    v4_ratio: float,
    identical: pd.DataFrame,
    n_identical: int,
) -> str:
    """The closing paragraph: PCA's FVE with ``n_components`` against the trained models' (logistic images);
    V4's variance on noise over that on logistic images (said only where it is finite, and whether it is within
    10 % of 1); and the largest per-unit variance of the identical-inputs test."""
    pca = floors.loc[f"PCA, {n_components} components", "fve"]
    text = (
        f"**What the controls say.** On logistic images PCA with {n_components} components explains {pca:+.3f} of "
        "the pixel variance; the trained models explain "
        + ", ".join(f"{v:+.3f} ({a})" for a, v in fve_by_architecture.items())
        + ". "
    )
    if np.isfinite(v4_ratio):
        text += f"V4's latent variance on uniform noise is {v4_ratio:.2f}× its variance on logistic images: " + (
            "the figure barely depends on whether the input is chaotic."
            if abs(v4_ratio - 1) < 0.1
            else "the figure does depend on the data."
        )
    return text + (
        f" Encoding {n_identical} copies of one image gives a largest per-unit variance of "
        f"{identical['max unit variance'].max():.1e} over all models — float32 rounding of the same arithmetic on "
        "different rows of a batch, the size of the values the draft lists. The draft's 'variance collapse' is a "
        "property of the test set, not of any model."
    )
