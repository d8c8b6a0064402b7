"""Section 3 of chapter 10: why V4 cannot fit one constant image when ReLU models fit it almost exactly.

- :func:`constant_image_runs`: V4, V4 with only its output layer trained, and dense ReLU, each trained on copies
  of one image epoch by epoch (:func:`~ksc.chapters.training_controls.diagnostics.constant_image_run`).
- :func:`constant_image_table`: one row per run: the error on the image at the start and the end, how far the last
  hidden layer's features move per epoch and how many latent units enter or leave the Top-K.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.training_controls.diagnostics import constant_image_run

V4, FROZEN, RELU = "v4", "v4, output layer only", "dense_relu"  # the runs, by their labels


def constant_image_runs(
    copies: np.ndarray, seed: int, epochs: int, batch_size: int, learning_rate: float, latent_dim: int, k: int
) -> dict[str, pd.DataFrame]:
    """Label -> per-epoch rows of :func:`constant_image_run` on ``copies``, for V4 trained whole, V4 with every
    layer but the output layer frozen, and dense ReLU (all from ``seed``)."""
    training = (copies, seed, epochs, batch_size, learning_rate)
    return {
        V4: constant_image_run("v4", *training, latent_dim=latent_dim, k=k),
        FROZEN: constant_image_run("v4", *training, output_layer_only=True, latent_dim=latent_dim, k=k),
        RELU: constant_image_run("dense_relu", *training, latent_dim=latent_dim),
    }


def constant_image_table(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run (indexed by its label): MSE on the image at the start and the end, the mean relative feature
    change per epoch and that of the last epoch, and the mean fraction of Top-K flips per epoch."""
    return pd.DataFrame(
        [
            {
                "run": label,
                "MSE at start": rows.mse.iloc[0],
                "MSE at end": rows.mse.iloc[-1],
                "feature change per epoch (mean)": rows.feature_change.iloc[1:].mean(),
                "feature change, last epoch": rows.feature_change.iloc[-1],
                "Top-K flips per epoch (mean)": rows.topk_change.iloc[1:].mean(),
            }
            for label, rows in runs.items()
        ]
    ).set_index("run")
