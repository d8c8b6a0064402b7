"""What a latent code carries about its image: cross-validated probes and the code's effective rank.

Variance says how much a code moves, not what it moves with. A probe reads a quantity of the input back
from the code: a ridge regression (its penalty chosen by cross-validation) and a small MLP (early stopping
on a held-out tenth), each fitted on the training images' codes and scored by R^2 on the test images'
codes. R^2 near 0 means the code holds no linearly (or, for the MLP, simply) readable trace of the
quantity; 1 means it holds all of it; below 0, the probe's guesses are worse than the mean.

The targets are the orbit the image was made from: its start x0 (logistic images only: the image begins
with the first iterate x1 = r x0 (1 - x0), so x0 is fixed by the image only up to x0 <-> 1 - x0 and is
folded to min(x0, 1 - x0)), and the first iterates, which are the first pixels; and, as the most linearly
available thing a code could carry, the image's scores on the top principal axes of the training images,
read back together ("pcs").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ksc.measures.metrics import principal_axes

PROBES = ("ridge", "mlp")
# A cap on the MLP's epochs, far above where early stopping ends it: at the chapter's paper scale (2000 training
# codes, seed 0) the slowest probe, the one reading the raw pixels, stops after 677 epochs (its held-out score
# still rose by more than the tolerance at epoch 500, the cap before, so it was cut off there unconverged). The
# cap only ends a fit that has not converged, and then sklearn says so (ConvergenceWarning).
MLP_MAX_EPOCHS = 2000


def orbit_targets(
    images: np.ndarray, n_iterates: int, train_images: np.ndarray, starts: np.ndarray | None = None, n_components=32
) -> pd.DataFrame:
    """One column per target: 'x0' (the start folded to min(x0, 1 - x0), if ``starts`` is given), 'x1'..'x<n_iterates>'
    (the first pixels) and 'pc1'..'pc<n_components>' (the scores on the top principal axes of ``train_images``)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    columns = {}
    if starts is not None:
        starts = np.asarray(starts, np.float64)
        columns["x0"] = np.minimum(starts, 1.0 - starts)
    columns.update({f"x{t}": flat[:, t - 1] for t in range(1, n_iterates + 1)})
    centre, axes = principal_axes(train_images, n_components)
    scores = (flat - centre) @ axes.T
    columns.update({f"pc{i + 1}": scores[:, i] for i in range(scores.shape[1])})
    return pd.DataFrame(columns)


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    residual = np.sum((y - predicted) ** 2)
    total = np.sum((y - y.mean()) ** 2)
    return float(1.0 - residual / total) if total > 0 else float("nan")


def _probe(kind: str, seed: int):
    if kind == "ridge":  # penalty chosen by leave-one-out cross-validation on the training codes
        return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 4, 15)))
    if kind == "mlp":  # one hidden layer of 64; training stops when a held-out tenth stops improving
        return make_pipeline(
            StandardScaler(),
            MLPRegressor(
                hidden_layer_sizes=(64,),
                alpha=1.0,
                max_iter=MLP_MAX_EPOCHS,
                early_stopping=True,
                n_iter_no_change=20,
                random_state=seed,
            ),
        )
    raise ValueError(f"probe must be one of {PROBES}, got {kind!r}")


def probe_scores(
    train_codes: np.ndarray,
    train_targets: pd.DataFrame,
    test_codes: np.ndarray,
    test_targets: pd.DataFrame,
    kind: str = "ridge",
    seed: int = 0,
) -> dict:
    """R^2 on the test codes of each target, read by a probe ``kind`` fitted on the training codes (all targets
    at once, each standardised with the training targets' mean and sd). The principal-component targets are
    scored together, as 'pcs': the share of their summed variance the probe reads back."""
    x_train = np.asarray(train_codes, np.float64).reshape(len(train_codes), -1)
    x_test = np.asarray(test_codes, np.float64).reshape(len(test_codes), -1)
    mean, sd = train_targets.mean(), train_targets.std().replace(0, 1.0)
    probe = _probe(kind, seed).fit(x_train, ((train_targets - mean) / sd).to_numpy())
    predicted = probe.predict(x_test) * sd.to_numpy() + mean.to_numpy()
    y = test_targets.to_numpy()
    scores = {name: _r2(y[:, j], predicted[:, j]) for j, name in enumerate(test_targets.columns) if not _pc(name)}
    pcs = [j for j, name in enumerate(test_targets.columns) if _pc(name)]
    if pcs:  # the share of the principal subspace's variance the probe reads back, all components together
        residual = np.sum((y[:, pcs] - predicted[:, pcs]) ** 2)
        scores["pcs"] = float(1.0 - residual / np.sum((y[:, pcs] - y[:, pcs].mean(axis=0)) ** 2))
    return scores


def _pc(name: str) -> bool:
    return name.startswith("pc") and name[2:].isdigit()


def effective_rank(codes: np.ndarray) -> float:
    """exp of the entropy of the normalised singular values of the centred codes (Roy and Vetterli 2007):
    between 1 (one direction) and the code's width (all directions equal); 0 for a constant code."""
    x = np.asarray(codes, np.float64).reshape(len(codes), -1)
    s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    if s.sum() <= 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))
