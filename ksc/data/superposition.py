"""A synthetic superposition benchmark with known features, and how well a dictionary recovers them.

Language-model activations (the vSAE paper's data) cannot be downloaded here, so chapter 06 uses a
stand-in whose ground truth is known: G unit-norm random directions in d dimensions (G > d, so the
features are in superposition), each sample a sparse positive combination of them. Feature i fires
with probability proportional to (i + 1)^-decay, scaled so that ``n_active`` features fire per
sample on average; a firing feature's coefficient is Uniform(0, 1), as in Elhage et al.'s toy models.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment


class Superposition(NamedTuple):
    """Samples and the ground truth that made them."""

    train: np.ndarray  # (n_train, d) float32
    test: np.ndarray  # (n_test, d) float32
    features: np.ndarray  # (G, d) unit-norm true directions
    probabilities: np.ndarray  # (G,) firing probability of each true feature


def max_active(n_features: int, decay: float) -> float:
    """The largest mean number of firing features for which the most common one fires with probability <= 1."""
    return float(np.sum(np.arange(1, n_features + 1, dtype=np.float64) ** -decay))


def firing_probabilities(n_features: int, n_active: float, decay: float) -> np.ndarray:
    """p_i proportional to (i + 1)^-decay with sum(p) = n_active (capped at 1)."""
    weights = np.arange(1, n_features + 1, dtype=np.float64) ** -decay
    p = n_active * weights / weights.sum()
    if p.max() > 1:
        raise ValueError(
            f"n_active = {n_active} with decay = {decay} asks feature 0 to fire with probability "
            f"{p.max():.2f} > 1; lower n_active or decay"
        )
    return p


def random_features(n_features: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """G directions drawn uniformly on the unit sphere of R^d."""
    f = rng.standard_normal((n_features, dim))
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def sample(features: np.ndarray, probabilities: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples: each feature fires independently with its probability, with a Uniform(0, 1) coefficient."""
    fires_NG = rng.random((n, len(probabilities))) < probabilities
    coefficients_NG = rng.random((n, len(probabilities))) * fires_NG
    return (coefficients_NG @ features).astype(np.float32)


def make_superposition(
    n_train: int = 20000,
    n_test: int = 4000,
    dim: int = 64,
    n_features: int = 256,
    n_active: float = 5.0,
    decay: float = 1.0,
    seed: int = 0,
) -> Superposition:
    """The benchmark's train and test samples; the same seed gives the same features and samples."""
    rng = np.random.default_rng(seed)
    features = random_features(n_features, dim, rng)
    p = firing_probabilities(n_features, n_active, decay)
    return Superposition(sample(features, p, n_train, rng), sample(features, p, n_test, rng), features, p)


def cosine_matrix(true_GD: np.ndarray, learned_LD: np.ndarray) -> np.ndarray:
    """Cosine similarity of every true feature (rows) with every learned direction (columns)."""
    a = true_GD / np.linalg.norm(true_GD, axis=1, keepdims=True)
    norms = np.linalg.norm(learned_LD, axis=1, keepdims=True)
    b = learned_LD / np.where(norms > 0, norms, 1.0)
    return a @ b.T


def feature_recovery(true_GD: np.ndarray, learned_LD: np.ndarray, alive_L: np.ndarray | None = None) -> dict:
    """How well the learned decoder directions cover the true features.

    - ``mmcs``: mean over true features of the best cosine with any learned direction;
    - ``matched_cosine``: mean cosine of the best one-to-one assignment (Hungarian algorithm), so one
      learned direction cannot stand in for several true features;
    - ``recovered_fraction``: true features whose best match has cosine > 0.9.
    ``alive_L`` restricts the learned directions to latents that ever fire (a dead latent recovers nothing).
    """
    if alive_L is not None:
        learned_LD = learned_LD[np.asarray(alive_L, bool)]
    if len(learned_LD) == 0:
        return {"mmcs": 0.0, "matched_cosine": 0.0, "recovered_fraction": 0.0}
    cos_GL = cosine_matrix(true_GD, learned_LD)
    best_G = cos_GL.max(axis=1)
    rows, cols = linear_sum_assignment(-cos_GL)
    # features left without a partner (fewer live latents than true features) count as cosine 0
    matched = cos_GL[rows, cols].sum() / len(true_GD)
    return {
        "mmcs": float(best_G.mean()),
        "matched_cosine": float(matched),
        "recovered_fraction": float(np.mean(best_G > 0.9)),
    }
