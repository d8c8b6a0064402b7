"""TopK sparse autoencoders and their variational twin (vSAE), in backend-agnostic Keras 3.

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

:class:`TopKSAE` holds M independent dictionaries (members) with a leading member axis on every
weight, each with its own k, initialisation and data order, trained in one computation: the loss is
the sum of the members' own losses, so each member's gradient is the one it would get alone.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from keras import ops

from .backend import keras
from .chaos import Splits
from .members import member_topk
from .metrics import sae_metrics
from .superposition import feature_recovery
from .training import train_many

SAE_KINDS = ("topk_sae", "vsae", "vsae_mean")  # vsae_mean: KL penalty, no sampling


class TopKSAE(keras.Model):
    """M dictionaries of ``n_latents`` directions in R^``dim`` (one per seed and k); ``variational`` makes them vSAEs.

    The model holds the training samples; its input is one row index per (batch row, member), so every
    member reads its own data order.
    """

    def __init__(
        self,
        samples_ND,
        n_latents: int,
        ks,
        seeds,
        variational: bool = False,
        sample: bool = True,
        beta: float = 1.0,
        warmup_steps: int = 0,
        auxk_alpha: float = 0.0,
        dead_after: int = 10_000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.samples = ops.convert_to_tensor(np.asarray(samples_ND, "float32"))
        M, dim = len(seeds), samples_ND.shape[1]
        self.ks, self.n_latents = [int(k) for k in ks], int(n_latents)
        self.variational, self.sample, self.beta = bool(variational), bool(sample), float(beta)
        self.warmup_steps, self.auxk_alpha, self.dead_after = int(warmup_steps), float(auxk_alpha), int(dead_after)
        # member m's decoder is drawn from seeds[m] alone: the same seed gives the same start in any group
        W = np.stack([np.random.default_rng([int(s), 2]).standard_normal((n_latents, dim)) for s in seeds])
        W /= np.linalg.norm(W, axis=-1, keepdims=True)
        self.W_dec = self.add_weight(
            shape=(M, n_latents, dim),
            initializer=keras.initializers.Constant(W),
            constraint=keras.constraints.UnitNorm(axis=-1),
            name="W_dec",
        )
        self.W_enc = self.add_weight(
            shape=(M, dim, n_latents), name="W_enc", initializer=keras.initializers.Constant(np.swapaxes(W, 1, 2))
        )
        self.b_enc = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="b_enc")
        mean = np.broadcast_to(np.mean(samples_ND, axis=0), (M, 1, dim))
        self.b_dec = self.add_weight(shape=(M, 1, dim), initializer=keras.initializers.Constant(mean), name="b_dec")
        # training state the optimiser must not touch: steps taken, samples since each latent fired
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="steps")
        self.since_fired = self.add_weight(
            shape=(M, n_latents), initializer="zeros", trainable=False, name="since_fired"
        )
        self.noise = keras.random.SeedGenerator(int(np.random.default_rng(list(seeds)).integers(2**31)))

    def encode(self, x_MBD, training: bool = False):
        """Codes z (members, batch, latents) and, for the losses, the pre-activation and the mean mu."""
        pre_MBL = ops.matmul(x_MBD - self.b_dec, self.W_enc) + self.b_enc
        mu_MBL = ops.relu(pre_MBL)
        s_MBL = mu_MBL
        if training and self.variational and self.sample:
            s_MBL = mu_MBL + keras.random.normal(ops.shape(mu_MBL), seed=self.noise)
        return ops.relu(member_topk(s_MBL, self.ks, by="value")), pre_MBL, mu_MBL

    def decode(self, z_MBL):
        return ops.matmul(z_MBL, self.W_dec) + self.b_dec

    def call(self, rows_BM, training: bool = False):
        x_MBD = ops.transpose(ops.take(self.samples, rows_BM, axis=0), (1, 0, 2))
        z_MBL, pre_MBL, mu_MBL = self.encode(x_MBD, training)
        x_hat_MBD = self.decode(z_MBL)
        self.add_loss(ops.sum(ops.mean(ops.sum(ops.square(x_MBD - x_hat_MBD), axis=-1), axis=1)))
        if training:
            self.steps.assign_add(1.0)
            if self.variational:
                ramp = ops.minimum(1.0, self.steps / max(self.warmup_steps, 1))
                self.add_loss(self.beta * ramp * 0.5 * ops.sum(ops.mean(ops.sum(ops.square(mu_MBL), axis=-1), axis=1)))
            if self.auxk_alpha > 0:
                self.add_loss(self.auxk_alpha * ops.sum(self._auxk_loss(x_MBD, x_hat_MBD, z_MBL, pre_MBL)))
        return x_hat_MBD

    def _auxk_loss(self, x_MBD, x_hat_MBD, z_MBL, pre_MBL):
        k_aux = [min(2 * k, self.n_latents) for k in self.ks]
        loss_M, since_ML = auxk_loss(
            x_MBD, x_hat_MBD, z_MBL, pre_MBL, self.W_dec, self.since_fired, self.dead_after, k_aux
        )
        self.since_fired.assign(since_ML)
        return loss_M


def auxk_loss(x_MBD, x_hat_MBD, z_MBL, pre_MBL, W_dec_MLD, since_fired_ML, dead_after: int, k_aux):
    """Gao et al.'s AuxK loss per member: how well the top ``k_aux[m]`` latents among those silent for more
    than ``dead_after`` samples explain the residual, relative to the residual itself; also the updated
    samples-since-fired counts."""
    fired_ML = ops.cast(ops.any(z_MBL > 0, axis=1), "float32")
    since_ML = (since_fired_ML + ops.cast(ops.shape(x_MBD)[1], "float32")) * (1.0 - fired_ML)
    dead_MBL = ops.relu(pre_MBL) * ops.cast(since_ML > dead_after, "float32")[:, None, :]
    z_aux_MBL = member_topk(dead_MBL, k_aux, by="value")
    residual_MBD = ops.stop_gradient(x_MBD - x_hat_MBD)
    error_M = ops.mean(ops.sum(ops.square(residual_MBD - ops.matmul(z_aux_MBL, W_dec_MLD)), axis=-1), axis=1)
    return error_M / (ops.mean(ops.sum(ops.square(residual_MBD), axis=-1), axis=1) + 1e-8), since_ML


def input_scale(train_ND: np.ndarray, rms: float = 1.0) -> float:
    """Factor that gives the training inputs a root-mean-square of ``rms`` per dimension
    (mean squared norm = rms^2 times the dimension)."""
    return float(rms * np.sqrt(train_ND.shape[1] / np.mean(np.sum(np.square(train_ND, dtype=np.float64), axis=1))))


class SAEFit(NamedTuple):
    """One trained SAE measured on its evaluation set (inputs in their original units)."""

    kind: str
    seed: int
    metrics: dict
    codes: np.ndarray  # (n_eval, latents) TopK(mu)
    decoder: np.ndarray  # (latents, d) unit-norm decoder directions
    history: list  # training loss per epoch
    wall_seconds: float


def epoch_batches(seeds, n: int, batch_size: int, epoch: int) -> np.ndarray:
    """(steps * batch_size, members) row indices of one epoch: a fresh permutation per member, drawn from
    its seed and the epoch alone; the last partial batch is dropped (a different remainder each epoch)."""
    steps = n // batch_size
    orders = [np.random.default_rng([int(s), 3, epoch]).permutation(n)[: steps * batch_size] for s in seeds]
    return np.stack(orders, axis=1).astype(np.int32)


def train_saes(
    kind: str,
    train_ND: np.ndarray,
    eval_ND: np.ndarray,
    ks,
    seeds,
    n_latents: int,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    beta: float = 1.0,
    warmup_fraction: float = 0.1,
    auxk_alpha: float = 0.0,
    input_rms: float | None = 1.0,
) -> list[SAEFit]:
    """Trains one SAE of ``kind`` per (k, seed) pair of ``ks`` and ``seeds`` in one computation, with Adam,
    and measures each on ``eval_ND``; one :class:`SAEFit` per member, in order.

    Unless ``input_rms`` is None, both sets are multiplied by :func:`input_scale` of the training set,
    so the vSAE's unit-variance noise has the same size relative to the inputs on every data set;
    metrics are computed after scaling back to the original units. Each run's ``wall_seconds`` is the
    wall time of the whole group divided by its size.
    """
    if kind not in SAE_KINDS:
        raise ValueError(f"kind must be one of {SAE_KINDS}, got {kind!r}")
    ks, seeds = [int(k) for k in ks], [int(s) for s in seeds]
    if len(ks) != len(seeds) or batch_size > len(train_ND):
        raise ValueError(
            f"need one k per seed and a batch no larger than the training set; got {len(ks)} ks, "
            f"{len(seeds)} seeds, batch {batch_size} of {len(train_ND)} samples"
        )
    start = time.perf_counter()
    keras.utils.set_random_seed(seeds[0])
    scale = 1.0 if input_rms is None else input_scale(train_ND, input_rms)
    x_train, x_eval = (train_ND * scale).astype("float32"), (eval_ND * scale).astype("float32")
    steps = len(x_train) // batch_size
    sae = TopKSAE(
        x_train,
        n_latents,
        ks,
        seeds,
        variational=kind != "topk_sae",
        sample=kind == "vsae",
        beta=beta,
        warmup_steps=round(warmup_fraction * epochs * steps),
        auxk_alpha=auxk_alpha,
        name=kind,
    )
    sae.compile(optimizer=keras.optimizers.Adam(learning_rate), steps_per_execution=steps)
    history = []
    for epoch in range(epochs):
        fit = sae.fit(
            epoch_batches(seeds, len(x_train), batch_size, epoch),
            batch_size=batch_size,
            shuffle=False,
            epochs=1,
            verbose=0,
        )
        history.append(fit.history["loss"][0] / len(seeds))
    codes, _, _ = sae.encode(ops.broadcast_to(ops.convert_to_tensor(x_eval), (len(seeds),) + x_eval.shape))
    codes = keras.ops.convert_to_numpy(codes)
    reconstructions = keras.ops.convert_to_numpy(sae.decode(codes)) / scale
    decoders = keras.ops.convert_to_numpy(sae.W_dec)
    wall = (time.perf_counter() - start) / len(seeds)
    runs = []
    for m, (k, seed) in enumerate(zip(ks, seeds)):
        metrics = {
            "model": kind,
            "seed": seed,
            "k": k,
            "n_latents": n_latents,
            **sae_metrics(eval_ND, reconstructions[m], codes[m], train_ND),
            "wall_seconds": wall,
        }
        runs.append(SAEFit(kind, seed, metrics, codes[m], decoders[m], history, wall))
    return runs


def train_sae(
    kind: str, train_ND: np.ndarray, eval_ND: np.ndarray, k: int, n_latents: int, seed: int = 0, **settings
) -> SAEFit:
    """One SAE: :func:`train_saes` with a single member."""
    return train_saes(kind, train_ND, eval_ND, [k], [seed], n_latents, **settings)[0]


def train_grid(
    kinds,
    train_ND: np.ndarray,
    eval_ND: np.ndarray,
    ks,
    seeds,
    n_latents: int,
    features: np.ndarray | None = None,
    log=print,
    **settings,
) -> list[SAEFit]:
    """Every SAE kind at every k for every seed (one computation per kind); with the true ``features``,
    adds feature recovery."""
    runs = []
    for kind in kinds:
        start = time.perf_counter()
        pairs = [(k, seed) for k in ks for seed in seeds]
        group = train_saes(kind, train_ND, eval_ND, [k for k, _ in pairs], [s for _, s in pairs], n_latents, **settings)
        if features is not None:
            for run in group:
                run.metrics.update(feature_recovery(features, run.decoder, run.codes.any(axis=0)))
        runs += group
        log(f"{kind:10s} k {list(ks)} x {len(seeds)} seeds, one computation: {time.perf_counter() - start:6.1f} s")
    return runs


def v4_fits(images: Splits, ks, seeds, latent_dim: int, **train_kwargs) -> list[SAEFit]:
    """V4 (the KSC draft's model) at every k for every seed, trained the authors' way as one computation
    (:func:`ksc.training.train_many`), measured like an SAE on the flattened test images."""
    pairs = [(k, seed) for k in ks for seed in seeds]
    trained = train_many(
        "v4", images, [s for _, s in pairs], ks=[k for k, _ in pairs], latent_dim=latent_dim, **train_kwargs
    )
    runs = []
    for (k, seed), run in zip(pairs, trained):
        flat = [a.reshape(len(a), -1) for a in (images.test, run.reconstruction, images.train)]
        metrics = {
            "model": "v4",
            "seed": seed,
            "k": k,
            "n_latents": latent_dim,
            **sae_metrics(flat[0], flat[1], run.z_test, flat[2]),
            "wall_seconds": run.wall_seconds,
        }
        runs.append(SAEFit("v4", seed, metrics, run.z_test, None, list(run.history["loss"]), run.wall_seconds))
    return runs


def decoder_embedding(decoder_LD: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE map of decoder directions by cosine distance (the vSAE paper's Figures 10-11 use t-SNE)."""
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(decoder_LD) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed).fit_transform(
        decoder_LD.astype(np.float64)
    )
