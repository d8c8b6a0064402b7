"""Is it training at all, and how far? Untrained networks, convergence, the constant-image failure and the K table.

- :func:`untrained`: a model's metrics at its initial weights (the ones ``train``/``train_many``
  start from for that seed), so every trained number can stand next to what the architecture gives
  before any learning.
- :func:`convergence`: where a validation-loss curve has its minimum and how much it still moved at the end.
- :func:`constant_image_run`: a model trained on copies of one image, epoch by epoch, with the quantities
  that say why it does or does not fit it: the loss, how far the last hidden layer's features move per
  epoch (relative change) and how many of the Top-K units change.
- :func:`topk_variance_prediction`: under Top-K the mean per-unit variance is (K / L) E[z^2 | kept] minus the
  mean squared unit mean; with kept values of a fixed size c and unit means near 0 it is (K / L) c^2.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ksc.data.chaos import Splits
from ksc.measures.metrics import THRESHOLD, latent_metrics, reconstruction_metrics
from ksc.models.architectures import build_model
from ksc.runtime.backend import keras


def untrained(model_name: str, data: Splits, seed: int, label: str | None = None, **model_kwargs):
    """``model_name`` at its initial weights for ``seed`` (no training): (metrics on ``data.test``, autoencoder)."""
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    ae = build_model(model_name, **model_kwargs)
    z = keras.ops.convert_to_numpy(ae.encoder(data.test, training=False))
    reconstruction = keras.ops.convert_to_numpy(ae.model(data.test, training=False))
    metrics = {
        "model": label or model_name,
        "seed": seed,
        **latent_metrics(z),
        **kept_values(z),
        **reconstruction_metrics(data.test, reconstruction, data.train),
        "wall_seconds": time.perf_counter() - start,
    }
    return metrics, ae


def kept_values(z_ND: np.ndarray) -> dict:
    """The size of the values a code keeps: E[z^2] over its non-zero entries, and the mean squared unit mean."""
    z = np.asarray(z_ND, np.float64)
    kept = z[np.abs(z) >= THRESHOLD]
    return {
        "kept_second_moment": float(np.mean(kept**2)) if kept.size else 0.0,
        "unit_mean_square": float(np.mean(z.mean(axis=0) ** 2)),
    }


def topk_variance_prediction(k, latent_dim: int, kept_second_moment: float) -> np.ndarray:
    """(K / L) c^2: the mean per-unit variance of a Top-K code whose kept values have E[z^2] = c^2, unit means 0."""
    return np.asarray(k, float) / latent_dim * kept_second_moment


def convergence(history: pd.DataFrame, tail: float = 0.2) -> dict:
    """Best validation loss and its epoch, the final one, and the relative fall of the validation loss over the
    last ``tail`` of the epochs (positive: still improving)."""
    val = history.val_loss.to_numpy()
    start = max(int(round(len(val) * (1 - tail))) - 1, 0)
    return {
        "best_epoch": int(np.argmin(val)) + 1,
        "best_val_loss": float(val.min()),
        "final_val_loss": float(val[-1]),
        "tail_improvement": float((val[start] - val[-1]) / val[start]) if val[start] else 0.0,
    }


def _last_hidden(ae) -> keras.Model:
    """image -> the input of the output layer (the features the output layer reads)."""
    return keras.Model(ae.model.input, ae.model.get_layer("pixels").input)


def constant_image_run(
    model_name: str,
    images: np.ndarray,
    seed: int,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    output_layer_only: bool = False,
    **model_kwargs,
) -> pd.DataFrame:
    """Trains ``model_name`` on ``images`` (copies of one image), one epoch at a time; one row per epoch.

    Columns: epoch, mse (on the image), feature_change (||h_t - h_(t-1)|| / ||h_(t-1)|| of the last hidden
    layer's features of the image), topk_change (fraction of the latent's non-zero units that changed) and
    the training loss. With ``output_layer_only`` every layer but the output layer is frozen.
    """
    keras.utils.set_random_seed(seed)
    ae = build_model(model_name, **model_kwargs)
    if output_layer_only:
        for layer in ae.model.layers:
            layer.trainable = layer.name == "pixels"
    ae.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    hidden = _last_hidden(ae)
    one = images[:1]

    def state():
        h = keras.ops.convert_to_numpy(hidden(one, training=False))[0]
        support = np.abs(keras.ops.convert_to_numpy(ae.encoder(one, training=False))[0]) >= THRESHOLD
        mse = float(np.mean((keras.ops.convert_to_numpy(ae.model(one, training=False)) - one) ** 2))
        return h, support, mse

    h, support, mse = state()
    rows = [{"epoch": 0, "mse": mse, "feature_change": np.nan, "topk_change": np.nan, "loss": np.nan}]
    for epoch in range(1, epochs + 1):
        fit = ae.model.fit(images, images, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
        h_new, support_new, mse = state()
        rows.append(
            {
                "epoch": epoch,
                "mse": mse,
                "feature_change": float(np.linalg.norm(h_new - h) / max(np.linalg.norm(h), 1e-12)),
                "topk_change": float(np.mean(support_new != support)),
                "loss": float(fit.history["loss"][-1]),
            }
        )
        h, support = h_new, support_new
    return pd.DataFrame(rows)


class HeldOutLoss(keras.callbacks.Callback):
    """Each member's MSE on held-out ``images`` after every epoch (a callback of ``train_many``): the test error at
    the epoch that early stopping on the validation loss would keep."""

    def __init__(self, images: np.ndarray):
        super().__init__()
        self.images, self.rows = np.asarray(images, "float32"), []

    def on_epoch_end(self, epoch, logs=None):
        reconstruction, _, _ = self.model.forward(self.images)
        error = (keras.ops.convert_to_numpy(reconstruction) - self.images[None]) ** 2
        self.rows.append(error.reshape(error.shape[0], -1).mean(axis=1))

    def member(self, m: int) -> np.ndarray:
        """Member m's held-out MSE per epoch."""
        return np.array([row[m] for row in self.rows])
