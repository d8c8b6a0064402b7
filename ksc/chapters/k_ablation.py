"""Chapter 02's analysis: V4 trained for every (K, seed) of the sweep as one computation, the draft's efficiency
score, the draft's Section 6.2 values by K, the same sweep on uniform noise and the measured rows of the claims."""

from __future__ import annotations

import pandas as pd

from ksc.data import chaos
from ksc.evidence import claims
from ksc.models.training import Fit, train_many

QUANTITIES = [
    "sparsity",
    "variance",
    "dead_units",
    "dead_fraction",
    "val_loss",
    "test_mse",
    "mean_predictor_mse",
    "fve",
    "score",
]
NOISE_QUANTITIES = ["variance", "dead_fraction", "sparsity", "fve"]


def train_sweep(data, ks, seeds, **train_kwargs) -> list[Fit]:
    """V4 for every (K, seed) pair, K-major, as one computation; each fit is labelled ``K=<k>``. ``data`` is one
    splits or one per seed (:func:`ksc.data.chaos.splits_per_seed`; every K of a seed then sees the same images).

    ``train_kwargs`` (epochs, batch size, learning rate, latent_dim, topk_by, variance_penalty) go to
    :func:`~ksc.models.training.train_many`."""
    grid = [(k, s) for k in ks for s in seeds]
    return train_many(
        "v4",
        [chaos.for_seed(data, s) for _, s in grid],
        seeds=[s for _, s in grid],
        ks=[k for k, _ in grid],
        labels=[f"K={k}" for k, _ in grid],
        **train_kwargs,
    )


def per_fit_table(fits: list[Fit]) -> pd.DataFrame:
    """One row of metrics per fit, with its K and the draft's efficiency score variance / (1 - sparsity + 0.01)."""
    per_fit = pd.DataFrame([fit.metrics for fit in fits])
    per_fit["K"] = per_fit.model.str.removeprefix("K=").astype(int)
    per_fit["score"] = per_fit.variance / (1 - per_fit.sparsity + 0.01)
    return per_fit


def claimed_by_k(ks) -> dict[str, dict[int, float]]:
    """The draft's Section 6.2 values of the variance and the validation loss, per K of ``ks`` the registry holds."""
    registry = claims.load_registry().set_index("id")
    return {
        q: {k: registry.loc[f"s6.2-k{k}-{tag}", "claimed"] for k in ks if f"s6.2-k{k}-{tag}" in registry.index}
        for q, tag in (("variance", "variance"), ("val_loss", "valloss"))
    }


def sweep_table(sweep: dict, per_seed_violations: dict) -> pd.DataFrame:
    """The sweep's statements (:func:`ksc.measures.stats.k_sweep`) and each seed's trend violations, one value a row."""
    return pd.DataFrame({"value": sweep | {f"violations, seed {s}": v for s, v in per_seed_violations.items()}})


def noise_tables(per_fit: pd.DataFrame, noise_fits: list[Fit]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-K means on noise of the variance, dead fraction, sparsity and FVE; the mean latent variance per K on
    logistic images and on noise, with their ratio noise / logistic)."""
    noise_per_fit = pd.DataFrame([fit.metrics for fit in noise_fits])
    on_noise = noise_per_fit.groupby("model", sort=False)[NOISE_QUANTITIES].mean().reset_index()
    both = pd.DataFrame(
        {
            "logistic": per_fit.groupby("model", sort=False).variance.mean(),
            "noise": on_noise.set_index("model").variance,
        }
    )
    both["noise / logistic"] = both.noise / both.logistic
    return on_noise, both


def measured_rows(summary: pd.DataFrame, sweep: dict, n_seeds: int) -> pd.DataFrame:
    """The claims registry's measured rows: the summary over seeds and the sweep's statements (model ``K sweep``)."""
    return pd.concat([summary, claims.rows("K sweep", sweep, n_seeds)], ignore_index=True)
