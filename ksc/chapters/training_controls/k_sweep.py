"""Section 6 of chapter 10: the K table before and after training.

:func:`k_table`: V4 trained with each K (one seed, one computation) and at its initial weights, next to the draft's
Section 6.2 values, the size of the values its code keeps and the bound (K / L) m^2 that the chaos activation's
largest value m puts on the mean per-unit variance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.training_controls.diagnostics import kept_values, topk_variance_prediction, untrained
from ksc.data.chaos import Splits
from ksc.evidence.claims import load_registry
from ksc.models.layers import chaos_activation
from ksc.models.training import train_many


def largest_activation_value(low: float = -4.0, high: float = 4.0, n: int = 400_001) -> float:
    """m, the largest |f(x)| of the chaos activation on a grid of ``n`` points from ``low`` to ``high``."""
    return float(np.abs(chaos_activation(np.linspace(low, high, n))).max())


def k_table(data: Splits, ks, seed: int, **settings) -> pd.DataFrame:
    """One row per K in ``ks``: the draft's variance (NaN where it lists none), V4's variance trained and untrained,
    the kept values' E[z^2] trained and untrained, the bound (K / L) m^2, and the untrained / trained ratio.

    ``settings`` are train_many's (epochs, batch_size, learning_rate, latent_dim, k); each K replaces k."""
    sweep = train_many("v4", data, seeds=[seed] * len(ks), ks=ks, labels=[f"K={K}" for K in ks], **settings)
    claimed = load_registry().set_index("id").claimed
    latent_dim = settings["latent_dim"]
    largest = largest_activation_value()
    rows = []
    for K, fit in zip(ks, sweep):
        before, _ = untrained("v4", data, seed, latent_dim=latent_dim, k=K)
        rows.append(
            {
                "K": K,
                "draft": claimed.get(f"s6.2-k{K}-variance", np.nan),
                "trained": fit.metrics["variance"],
                "untrained": before["variance"],
                "kept E[z²], trained": kept_values(fit.z_test)["kept_second_moment"],
                "kept E[z²], untrained": before["kept_second_moment"],
                "bound": float(topk_variance_prediction(K, latent_dim, largest**2)),
            }
        )
    table = pd.DataFrame(rows)
    table["untrained / trained"] = table.untrained / table.trained
    return table
