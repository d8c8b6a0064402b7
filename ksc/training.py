"""Training one autoencoder for one seed, the authors' way: Adam(1e-3), MSE, batch 64, shuffled epochs."""
from __future__ import annotations

import time
from typing import NamedTuple

from .backend import keras
import numpy as np
import pandas as pd

from .chaos import Splits
from .metrics import latent_metrics, reconstruction_metrics
from .models import Autoencoder, build_model


class Run(NamedTuple):
    """Everything one training run produced."""
    model_name: str
    seed: int
    history: pd.DataFrame       # one row per epoch: loss, val_loss
    metrics: dict               # latent and reconstruction metrics on the test set
    wall_seconds: float         # build + fit + evaluation
    z_test: np.ndarray          # (n_test, latent_dim) latents of the test set
    reconstruction: np.ndarray  # (n_test, 28, 28)
    autoencoder: Autoencoder


class LatentProbe(keras.callbacks.Callback):
    """Latent metrics of held-out images after every epoch (the draft's training-stability figure)."""

    def __init__(self, encoder, images):
        super().__init__()
        self.encoder, self.images, self.rows = encoder, images, []

    def on_epoch_end(self, epoch, logs=None):
        z = keras.ops.convert_to_numpy(self.encoder(self.images, training=False))
        m = latent_metrics(z)
        self.rows.append({f"probe_{q}": m[q] for q in ("variance", "dead_units", "sparsity")})


def train(model_name: str, data: Splits, seed: int = 0, epochs: int = 10, batch_size: int = 64,
          learning_rate: float = 1e-3, label: str | None = None, probe: np.ndarray | None = None,
          **model_kwargs) -> Run:
    """Builds ``model_name`` with ``model_kwargs``, trains it on ``data.train`` and measures it on ``data.test``.

    On the CPU the same seed gives the same numbers: the seed fixes the weights and the data order.
    With ``probe`` (images), the history also holds latent variance, dead units and sparsity after
    every epoch.
    """
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    ae = build_model(model_name, **model_kwargs)
    ae.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    callbacks = [LatentProbe(ae.encoder, probe)] if probe is not None else []
    fit = ae.model.fit(data.train, data.train, validation_data=(data.val, data.val), epochs=epochs,
                       batch_size=batch_size, shuffle=True, verbose=0, callbacks=callbacks)
    history = pd.DataFrame(fit.history)
    if callbacks:
        history = pd.concat([history, pd.DataFrame(callbacks[0].rows)], axis=1)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    # One direct call on the whole test set: no per-call tracing as predict() would do.
    z_test = keras.ops.convert_to_numpy(ae.encoder(data.test, training=False))
    reconstruction = keras.ops.convert_to_numpy(ae.model(data.test, training=False))
    metrics = {
        "model": label or model_name,
        "seed": seed,
        **latent_metrics(z_test),
        **reconstruction_metrics(data.test, reconstruction, data.train),
        "val_loss": float(history["val_loss"].iloc[-1]),
        "train_loss": float(history["loss"].iloc[-1]),
    }
    wall = time.perf_counter() - start
    metrics["wall_seconds"] = wall
    return Run(label or model_name, seed, history, metrics, wall, z_test, reconstruction, ae)
