"""Chapter 01's analysis: V1-V4 trained over seeds (with V4's protocol variants), the measured rows of the draft's
Sections 5 and 6.1, the variants next to their main run and the check that V3's Top-K selection cannot matter.

A run configuration is ``label -> (model name, model settings)``; a variant's label differs from its model name
(``v4 [top-k by value]``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.data.chaos import Splits
from ksc.evidence import claims
from ksc.models.architectures import pre_topk_latents
from ksc.models.layers import topk_mask
from ksc.models.training import Fit

MAIN_MODELS = ["v1", "v2", "v3", "v4"]
QUANTITIES = [
    "variance",
    "active_variance",
    "dead_fraction",
    "sparsity",
    "active_per_sample",
    "val_loss",
    "test_mse",
    "mean_predictor_mse",
    "fve",
]
VARIANT_QUANTITIES = ["variance", "active_variance", "dead_fraction", "fve"]


def configurations(latent_dim: int, k: int, topk_by: str, variance_penalty: str, run_variants: bool) -> dict:
    """``label -> (model, settings)`` of every run: V1-V4 with the chapter's settings, then, with ``run_variants``,
    V4 with the other Top-K selection and (unless the main runs already use it) V4 with the code's penalty.

    V3's Top-K acts on ReLU outputs, which are never negative: selecting by value or by absolute value picks the
    same units (:func:`topk_selections_agree`), so only V4 is retrained with the other selection.
    """
    settings = dict(latent_dim=latent_dim, k=k, topk_by=topk_by, variance_penalty=variance_penalty)
    configs = {name: (name, settings) for name in MAIN_MODELS}
    if run_variants:
        other_topk = {"abs": "value", "value": "abs"}[topk_by]
        configs[f"v4 [top-k by {other_topk}]"] = ("v4", {**settings, "topk_by": other_topk})
        if variance_penalty != "code":
            configs["v4 [code's penalty]"] = ("v4", {**settings, "variance_penalty": "code"})
    return configs


def histories(fits: list[Fit]) -> pd.DataFrame:
    """Every fit's per-epoch losses in one table, with its model label and seed."""
    return pd.concat([fit.history.assign(model=fit.model_name, seed=fit.seed) for fit in fits])


def reconstruction_rows(data: Splits, first: dict) -> dict[str, np.ndarray]:
    """Image rows of the reconstruction figure: the test images, each main model's reconstruction of them (``first``:
    label -> fit of the first seed) and the per-pixel training mean."""
    return {
        "original": data.test,
        **{label: first[label].reconstruction for label in MAIN_MODELS},
        "per-pixel mean": np.broadcast_to(data.train.mean(axis=0), data.test.shape),
    }


def variant_table(per_fit: pd.DataFrame, summary: pd.DataFrame, configs: dict) -> pd.DataFrame:
    """Each protocol variant of ``configs`` next to its main run (:func:`ksc.evidence.claims.variant_table`)."""
    variants = [(name, label) for label, (name, _) in configs.items() if label != name]
    return claims.variant_table(per_fit, summary, variants, VARIANT_QUANTITIES)


def topk_selections_agree(model, images: np.ndarray, k: int) -> tuple[float, bool]:
    """(smallest pre-Top-K latent, whether Top-K by absolute value and by value keep the same units) of a trained
    V3/V4 ``model`` on ``images``."""
    pre_topk = pre_topk_latents(model, images)
    same_units = bool(np.array_equal(*(np.asarray(topk_mask(pre_topk, k, by)) for by in ("abs", "value"))))
    return float(pre_topk.min()), same_units


def measured_rows(summary: pd.DataFrame, per_fit: pd.DataFrame) -> pd.DataFrame:
    """The claims registry's measured rows: the summary over seeds and V4's variance over V3's, seed by seed."""
    return pd.concat([summary, claims.paired_ratio(per_fit, "v4", "v3", "variance")], ignore_index=True)
