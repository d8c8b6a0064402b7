"""Chapter 10's measured values for the draft's claims: the Section 1.2 divergence test's first latent distance
and ratio, and V4's validation loss after epoch 4 next to the per-pixel mean image's (Section 6.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.evidence.claims import summarise

CLAIM_IDS = ("s1.2-origin-d0", "s1.2-origin-ratio", "s6.1-v4-valloss-epoch4")
V4_EPOCH = 4  # the epoch whose validation loss the draft reports


def measured_for_claims(origin_divergence: pd.DataFrame, v4_histories, mean_image_val_mse: float) -> pd.DataFrame:
    """Long table (model, quantity, mean, sd, n) for :func:`ksc.evidence.claims.compare`: the origin model's first
    latent distance and distance ratio over seeds, V4's validation loss after epoch 4 over the ``v4_histories`` that
    reach it (NaN if none), and the mean image's validation MSE (the floor the draft's loss is judged against)."""
    at_epoch = [h.val_loss.iloc[V4_EPOCH - 1] for h in v4_histories if len(h) >= V4_EPOCH]
    model = f"v4 (epoch {V4_EPOCH})"
    return pd.concat(
        [
            summarise(origin_divergence.assign(model="origin dense-64"), ["first_latent_distance", "distance_ratio"]),
            pd.DataFrame(
                [
                    {
                        "model": model,
                        "quantity": "val_loss",
                        "mean": float(np.mean(at_epoch)) if at_epoch else np.nan,
                        "sd": float(np.std(at_epoch, ddof=1)) if len(at_epoch) > 1 else np.nan,
                        "n": len(at_epoch),
                    },
                    {
                        "model": model,
                        "quantity": "mean_predictor_mse",
                        "mean": mean_image_val_mse,
                        "sd": np.nan,
                        "n": 1,
                    },
                ]
            ),
        ],
        ignore_index=True,
    )
