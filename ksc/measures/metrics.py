"""Latent-space and reconstruction metrics, on plain numpy arrays.

Definitions follow the authors' code (threshold 1e-6):
- sparsity: fraction of all (sample, unit) entries with |z| < threshold;
- dead unit: |z| < threshold for every sample;
- variance: mean over units of the per-unit variance over samples (zeros included);
- active variance: the same, each unit's variance taken over its non-zero entries only
  (units with fewer than two such entries are left out).
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 1e-6


def sparsity(z_ND: np.ndarray, threshold: float = THRESHOLD) -> float:
    return float(np.mean(np.abs(z_ND) < threshold))


def dead_units(z_ND: np.ndarray, threshold: float = THRESHOLD) -> int:
    return int(np.sum(np.all(np.abs(z_ND) < threshold, axis=0)))


def mean_variance(z_ND: np.ndarray) -> float:
    return float(np.mean(np.var(np.asarray(z_ND, dtype=np.float64), axis=0)))


def active_variance(z_ND: np.ndarray, threshold: float = THRESHOLD) -> float:
    z = np.asarray(z_ND, dtype=np.float64)
    variances = [np.var(col[np.abs(col) >= threshold]) for col in z.T if np.sum(np.abs(col) >= threshold) > 1]
    return float(np.mean(variances)) if variances else 0.0


def scale_free_variance(z_ND: np.ndarray) -> float:
    """Mean per-unit variance divided by the mean per-unit second moment E[z^2]: in [0, 1], blind to the
    activation's output scale (0 = every unit constant, 1 = every unit zero-mean)."""
    z = np.asarray(z_ND, dtype=np.float64)
    second_moment = float(np.mean(z**2))
    return float(np.mean(np.var(z, axis=0)) / second_moment) if second_moment > 0 else 0.0


def coefficient_of_variation(z_ND: np.ndarray, threshold: float = THRESHOLD) -> float:
    """Mean over live units of sd / |mean| (units whose mean is 0 are left out)."""
    z = np.asarray(z_ND, dtype=np.float64)
    mean, sd = z.mean(axis=0), z.std(axis=0)
    live = np.abs(mean) >= threshold
    return float(np.mean(sd[live] / np.abs(mean[live]))) if live.any() else float("nan")


def active_per_sample(z_ND: np.ndarray, threshold: float = THRESHOLD) -> float:
    """Mean number of non-zero units per sample (the draft's 'active neurons')."""
    return float(np.mean(np.sum(np.abs(z_ND) >= threshold, axis=1)))


def mse(x: np.ndarray, x_hat: np.ndarray) -> float:
    return float(np.mean((np.asarray(x, np.float64) - np.asarray(x_hat, np.float64)) ** 2))


def mean_predictor_mse(train: np.ndarray, test: np.ndarray) -> float:
    """MSE on ``test`` of predicting every image by the per-pixel mean of ``train``."""
    return mse(test, np.broadcast_to(np.mean(train, axis=0), test.shape))


def principal_axes(train: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """The training images' mean (pixels,) and their top ``n_components`` principal axes (n_components, pixels)."""
    x_train = train.reshape(len(train), -1).astype(np.float64)
    centre = x_train.mean(axis=0)
    return centre, np.linalg.svd(x_train - centre, full_matrices=False)[2][:n_components]


def pca_reconstruction(train: np.ndarray, test: np.ndarray, n_components: int) -> np.ndarray:
    """Linear baseline: project test images on the top principal axes of the training images and back."""
    centre, axes = principal_axes(train, n_components)
    x_test = test.reshape(len(test), -1).astype(np.float64) - centre
    return ((x_test @ axes.T) @ axes + centre).reshape(test.shape)


def fve(test_mse: float, baseline_mse: float) -> float:
    """Fraction of variance explained: 1 - MSE / MSE of the per-pixel-mean predictor (0 = no better than the mean)."""
    return float(1.0 - test_mse / baseline_mse)


def latent_metrics(z_ND: np.ndarray, threshold: float = THRESHOLD) -> dict:
    """All latent metrics of one encoded test set, as a flat dict."""
    n_units = z_ND.shape[1]
    dead = dead_units(z_ND, threshold)
    return {
        "sparsity": sparsity(z_ND, threshold),
        "dead_units": dead,
        "dead_fraction": dead / n_units,
        "variance": mean_variance(z_ND),
        "active_variance": active_variance(z_ND, threshold),
        "active_per_sample": active_per_sample(z_ND, threshold),
        "scale_free_variance": scale_free_variance(z_ND),
        "coefficient_of_variation": coefficient_of_variation(z_ND, threshold),
        "latent_dim": n_units,
    }


def reconstruction_metrics(test: np.ndarray, reconstruction: np.ndarray, train: np.ndarray) -> dict:
    """Test MSE next to the per-pixel-mean predictor's MSE, and the fraction of variance explained."""
    test_mse, baseline = mse(test, reconstruction), mean_predictor_mse(train, test)
    return {"test_mse": test_mse, "mean_predictor_mse": baseline, "fve": fve(test_mse, baseline)}


def firing_frequency(z_ND: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Per unit, the fraction of samples on which it is active (the SAE literature's feature density)."""
    return np.mean(np.abs(z_ND) >= threshold, axis=0)


def cosine_similarity(x_ND: np.ndarray, x_hat_ND: np.ndarray) -> float:
    """Mean over samples of cos(x, x_hat)."""
    x, x_hat = np.asarray(x_ND, np.float64), np.asarray(x_hat_ND, np.float64)
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(x_hat, axis=1)
    return float(np.mean(np.sum(x * x_hat, axis=1) / np.where(norms > 0, norms, 1.0)))


def relative_reconstruction_bias(x_ND: np.ndarray, x_hat_ND: np.ndarray) -> float:
    """gamma = E||x_hat||^2 / E<x, x_hat>, the gamma minimising E||x_hat / gamma - x||^2 (Rajamanoharan et al.
    2024): 1 is unbiased, below 1 means reconstructions shrunk towards zero."""
    x, x_hat = np.asarray(x_ND, np.float64), np.asarray(x_hat_ND, np.float64)
    return float(np.sum(x_hat * x_hat) / np.sum(x * x_hat))


def sae_metrics(x_ND: np.ndarray, x_hat_ND: np.ndarray, z_NL: np.ndarray, train_ND: np.ndarray) -> dict:
    """Latent metrics of a code plus the SAE literature's reconstruction metrics, on flattened samples."""
    x, x_hat = x_ND.reshape(len(x_ND), -1), x_hat_ND.reshape(len(x_hat_ND), -1)
    latent = latent_metrics(z_NL)
    return {
        **latent,
        "l0": latent["active_per_sample"],
        **reconstruction_metrics(x, x_hat, train_ND.reshape(len(train_ND), -1)),
        "cosine": cosine_similarity(x, x_hat),
        "relative_bias": relative_reconstruction_bias(x, x_hat),
    }


def reconstruction_floors(train: np.ndarray, test: np.ndarray, components) -> list[dict]:
    """The reconstruction metrics of the per-pixel-mean predictor and of PCA with each number of components."""
    floors = [
        {
            "baseline": "per-pixel mean",
            **reconstruction_metrics(test, np.broadcast_to(train.mean(axis=0), test.shape), train),
        }
    ]
    floors += [
        {"baseline": f"PCA, {c} components", **reconstruction_metrics(test, pca_reconstruction(train, test, c), train)}
        for c in components
    ]
    return floors
