"""TopK sparse autoencoder and its variational twin (vSAE), in backend-agnostic Keras 3.

TopK SAE (Gao et al. 2024)::

    pre = W_enc (x - b_dec) + b_enc,   z = TopK(ReLU(pre)),   x_hat = W_dec z + b_dec

with every decoder direction (row of ``W_dec``, shape (latents, d)) put back to unit length after each
optimiser step (a Keras constraint), ``W_enc`` starting as ``W_dec`` transposed and ``b_dec`` as the
training mean. Loss: squared error summed over the input dimensions, averaged over the batch, plus
(optionally) the AuxK loss that asks dead latents to explain the residual.

vSAE (the vSAE paper): the same encoder gives the mean mu = ReLU(pre); in training the code is sampled,
mu + eps with eps ~ N(0, 1) (fixed unit variance), before TopK; the loss adds beta * KL with
KL = 1/2 ||mu||^2, beta rising linearly from 0 over the first ``warmup_fraction`` of training. With
``sample=False`` nothing is sampled (the vSAE authors' public code by default): only the KL penalty
remains. At evaluation the code is TopK(mu).
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from .backend import keras
from keras import ops

from .chaos import Splits
from .layers import topk_mask
from .metrics import sae_metrics
from .superposition import feature_recovery
from .training import train

SAE_KINDS = ("topk_sae", "vsae", "vsae_mean")  # vsae_mean: KL penalty, no sampling


@keras.saving.register_keras_serializable(package="ksc")
class TopKSAE(keras.Model):
    """One dictionary of ``n_latents`` directions in R^``dim``; ``variational`` turns it into the vSAE."""

    def __init__(self, dim: int, n_latents: int, k: int, variational: bool = False, sample: bool = True,
                 beta: float = 1.0, warmup_steps: int = 0, auxk_alpha: float = 0.0, aux_k: int | None = None,
                 dead_after: int = 10_000, b_dec_init=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.n_latents, self.k = int(dim), int(n_latents), int(k)
        self.variational, self.sample, self.beta = bool(variational), bool(sample), float(beta)
        self.warmup_steps, self.auxk_alpha = int(warmup_steps), float(auxk_alpha)
        self.aux_k, self.dead_after = int(aux_k or 2 * k), int(dead_after)
        self.W_dec = self.add_weight(shape=(n_latents, dim), initializer=keras.initializers.RandomNormal(seed=seed),
                                     constraint=keras.constraints.UnitNorm(axis=1), name="W_dec")
        self.W_dec.assign(self.W_dec / ops.norm(self.W_dec, axis=1, keepdims=True))
        self.W_enc = self.add_weight(shape=(dim, n_latents), initializer="zeros", name="W_enc")
        self.W_enc.assign(ops.transpose(self.W_dec))
        self.b_enc = self.add_weight(shape=(n_latents,), initializer="zeros", name="b_enc")
        self.b_dec = self.add_weight(shape=(dim,), initializer="zeros", name="b_dec")
        if b_dec_init is not None:
            self.b_dec.assign(ops.convert_to_tensor(np.asarray(b_dec_init, "float32")))
        # training state that the optimiser must not touch: steps taken, samples since each latent fired
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="steps")
        self.since_fired = self.add_weight(shape=(n_latents,), initializer="zeros", trainable=False, name="since_fired")
        self.noise = keras.random.SeedGenerator(seed)

    def encode(self, x_BD, training: bool = False):
        """Code z (batch, latents) and, for the losses, the pre-activation and the mean mu."""
        pre_BL = ops.matmul(x_BD - self.b_dec, self.W_enc) + self.b_enc
        mu_BL = ops.relu(pre_BL)
        s_BL = mu_BL
        if training and self.variational and self.sample:
            s_BL = mu_BL + keras.random.normal(ops.shape(mu_BL), seed=self.noise)
        z_BL = ops.relu(s_BL * ops.stop_gradient(topk_mask(s_BL, self.k, by="value")))
        return z_BL, pre_BL, mu_BL

    def decode(self, z_BL):
        return ops.matmul(z_BL, self.W_dec) + self.b_dec

    def call(self, x_BD, training: bool = False):
        z_BL, pre_BL, mu_BL = self.encode(x_BD, training)
        x_hat_BD = self.decode(z_BL)
        if training:
            self.steps.assign_add(1.0)
            if self.variational:
                ramp = ops.minimum(1.0, self.steps / max(self.warmup_steps, 1))
                self.add_loss(self.beta * ramp * 0.5 * ops.mean(ops.sum(ops.square(mu_BL), axis=-1)))
            if self.auxk_alpha > 0:
                self.add_loss(self.auxk_alpha * self._auxk_loss(x_BD, x_hat_BD, z_BL, pre_BL))
        return x_hat_BD

    def _auxk_loss(self, x_BD, x_hat_BD, z_BL, pre_BL):
        """Residual explained by the top aux_k latents that have not fired for ``dead_after`` samples."""
        fired_L = ops.cast(ops.any(z_BL > 0, axis=0), "float32")
        since_L = (self.since_fired + ops.cast(ops.shape(x_BD)[0], "float32")) * (1.0 - fired_L)
        self.since_fired.assign(since_L)
        dead_pre_BL = ops.relu(pre_BL) * ops.cast(since_L > self.dead_after, "float32")
        z_aux_BL = dead_pre_BL * ops.stop_gradient(topk_mask(dead_pre_BL, min(self.aux_k, self.n_latents), by="value"))
        residual_BD = ops.stop_gradient(x_BD - x_hat_BD)
        error = ops.mean(ops.sum(ops.square(residual_BD - ops.matmul(z_aux_BL, self.W_dec)), axis=-1))
        return error / (ops.mean(ops.sum(ops.square(residual_BD), axis=-1)) + 1e-8)


def summed_squared_error(x_BD, x_hat_BD):
    """Per-sample ||x - x_hat||^2 (Keras averages it over the batch)."""
    return ops.sum(ops.square(x_BD - x_hat_BD), axis=-1)


def build_sae(kind: str, dim: int, n_latents: int, k: int, beta: float = 1.0, warmup_steps: int = 0,
              auxk_alpha: float = 0.0, b_dec_init=None, seed: int | None = None) -> TopKSAE:
    """One of :data:`SAE_KINDS`."""
    if kind not in SAE_KINDS:
        raise ValueError(f"kind must be one of {SAE_KINDS}, got {kind!r}")
    return TopKSAE(dim, n_latents, k, variational=kind != "topk_sae", sample=kind == "vsae", beta=beta,
                   warmup_steps=warmup_steps, auxk_alpha=auxk_alpha, b_dec_init=b_dec_init, seed=seed, name=kind)


def input_scale(train_ND: np.ndarray, rms: float = 1.0) -> float:
    """Factor that gives the training inputs a root-mean-square of ``rms`` per dimension
    (mean squared norm = rms^2 times the dimension)."""
    return float(rms * np.sqrt(train_ND.shape[1] / np.mean(np.sum(np.square(train_ND, dtype=np.float64), axis=1))))


class SAERun(NamedTuple):
    """One trained SAE measured on its evaluation set (inputs in their original units)."""
    kind: str
    seed: int
    metrics: dict
    codes: np.ndarray          # (n_eval, latents) TopK(mu)
    decoder: np.ndarray        # (latents, d) unit-norm decoder directions
    history: list              # training loss per epoch
    wall_seconds: float


def train_sae(kind: str, train_ND: np.ndarray, eval_ND: np.ndarray, k: int, n_latents: int, seed: int = 0,
              epochs: int = 10, batch_size: int = 64, learning_rate: float = 1e-3, beta: float = 1.0,
              warmup_fraction: float = 0.1, auxk_alpha: float = 0.0, input_rms: float | None = 1.0) -> SAERun:
    """Trains one SAE with Adam on ``train_ND`` (rows are samples) and measures it on ``eval_ND``.

    Unless ``input_rms`` is None, both sets are multiplied by :func:`input_scale` of the training set,
    so the vSAE's unit-variance noise has the same size relative to the inputs on every data set;
    metrics are computed after scaling back to the original units.
    """
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    scale = 1.0 if input_rms is None else input_scale(train_ND, input_rms)
    x_train, x_eval = (train_ND * scale).astype("float32"), (eval_ND * scale).astype("float32")
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    sae = build_sae(kind, x_train.shape[1], n_latents, k, beta=beta,
                    warmup_steps=round(warmup_fraction * epochs * steps_per_epoch), auxk_alpha=auxk_alpha,
                    b_dec_init=x_train.mean(axis=0), seed=seed)
    sae.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=summed_squared_error,
                steps_per_execution=steps_per_epoch)
    fit = sae.fit(x_train, x_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    codes, _, _ = sae.encode(ops.convert_to_tensor(x_eval))
    codes = keras.ops.convert_to_numpy(codes)
    reconstruction = keras.ops.convert_to_numpy(sae.decode(codes)) / scale
    metrics = {"model": kind, "seed": seed, "k": k, "n_latents": n_latents,
               **sae_metrics(eval_ND, reconstruction, codes, train_ND)}
    wall = time.perf_counter() - start
    metrics["wall_seconds"] = wall
    return SAERun(kind, seed, metrics, codes, keras.ops.convert_to_numpy(sae.W_dec), list(fit.history["loss"]), wall)


def decoder_embedding(decoder_LD: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE map of decoder directions by cosine distance (the vSAE paper's Figures 10-11 use t-SNE)."""
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(decoder_LD) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                random_state=seed).fit_transform(decoder_LD.astype(np.float64))


def train_grid(kinds, train_ND: np.ndarray, eval_ND: np.ndarray, ks, seeds, n_latents: int,
               features: np.ndarray | None = None, log=print, **train_kwargs) -> list[SAERun]:
    """Every SAE kind at every k for every seed; with the true ``features``, adds feature recovery."""
    runs = []
    for kind in kinds:
        start = time.perf_counter()
        for k in ks:
            for seed in seeds:
                run = train_sae(kind, train_ND, eval_ND, k=k, n_latents=n_latents, seed=seed, **train_kwargs)
                if features is not None:
                    run.metrics.update(feature_recovery(features, run.decoder, run.codes.any(axis=0)))
                runs.append(run)
        log(f"{kind:10s} k {list(ks)} x {len(seeds)} seeds: {time.perf_counter() - start:6.1f} s")
    return runs


def v4_run(images: Splits, k: int, seed: int, latent_dim: int, **train_kwargs) -> SAERun:
    """V4 (the KSC draft's model) trained the authors' way, measured like an SAE on the flattened test images."""
    run = train("v4", images, seed=seed, k=k, latent_dim=latent_dim, **train_kwargs)
    flat = [a.reshape(len(a), -1) for a in (images.test, run.reconstruction, images.train)]
    metrics = {"model": "v4", "seed": seed, "k": k, "n_latents": latent_dim,
               **sae_metrics(flat[0], flat[1], run.z_test, flat[2]), "wall_seconds": run.wall_seconds}
    return SAERun("v4", seed, metrics, run.z_test, None, list(run.history["loss"]), run.wall_seconds)
