"""Chapter 00's page text, assembled from the computed tables: the Hénon clip note and the summary paragraph."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.data import chaos


def henon_clip_note(pinned: np.ndarray) -> str:
    """The paragraph on Hénon images pinned at the clip; ``pinned`` holds one flag per Hénon training image."""
    return (
        f"**A property of the Hénon protocol.** {pinned.mean():.1%} of the Hénon training images ({pinned.sum()} of "
        f"{len(pinned)}) start outside the attractor's basin: the orbit runs away, is pinned at the clip, and the "
        "image becomes constant (pixel 0) after a few iterates. The authors' protocol keeps such images, and so do we; "
        "they are easy to reconstruct and they inflate the spread of any latent code."
    )


def summary(
    r: float,
    delta: float,
    lyapunov: pd.DataFrame,
    floor: pd.DataFrame,
    claim_table: pd.DataFrame,
    pixel_table: pd.DataFrame,
    r_text: float,
) -> str:
    """The summary paragraph: the logistic exponent at ``r`` and the iterates a separation ``delta`` needs to reach the
    attractor's size, the per-pixel-mean floor on logistic and Hénon images, every claim's verdict (both judged at
    the code's ``r``) and the same two quantities at the draft text's ``r_text``."""
    lam = lyapunov.loc[f"logistic r={r:g}", "lambda (derivative)"]
    text = f"logistic r={r_text:g}"
    at_text = (
        f" Both claims are judged at the r the authors' code used ({r:g}), the same for both; at the r the draft's "
        f"text states ({r_text:g}) the byte entropy is {pixel_table.loc[text, 'byte_entropy']:.3f} bits and the "
        f"exponent {lyapunov.loc[text, 'lambda (derivative)']:.3f}."
        if text in pixel_table.index and text in lyapunov.index and r_text != r
        else ""
    )
    best = floor["mean-predictor test MSE"]
    return (
        f"**Summary.** At r = {r:g} the logistic map's exponent is {lam:.3f} per iterate, so a separation of "
        f"{delta:g} reaches the attractor's size after about {chaos.decorrelation_iterates(lam, delta):.0f} iterates "
        f"(an image has 784). The per-pixel-mean predictor already reaches a test MSE of "
        f"{best[f'logistic r={r:g}']:.4f} on logistic images and {best['henon']:.4f} on Hénon images: a reconstruction "
        f"error near these values means the autoencoder has learnt little beyond the mean. Verdicts: "
        + ", ".join(f"`{i}` {v}" for i, v in zip(claim_table.id, claim_table.verdict))
        + "."
        + at_text
    )
