"""TopK sparse autoencoders and their variational twin (vSAE), in backend-agnostic Keras 3.

TopK SAE (Gao et al. 2024)::

    pre = W_enc (x - b_dec) + b_enc,   z = TopK(ReLU(pre)),   x_hat = W_dec z + b_dec

with every decoder direction (row of ``W_dec``, shape (latents, d)) put back to unit length after each
optimiser step (a Keras constraint), ``W_enc`` starting as ``W_dec`` transposed and ``b_dec`` as the
training mean. Loss: squared error summed over the input dimensions, averaged over the batch, plus
(optionally) the AuxK loss that asks dead latents to explain the residual.

vSAE (the vSAE paper): the same encoder gives the mean mu = ReLU(pre); in training the code is sampled,
mu + eps with eps ~ N(0, 1) (fixed unit variance), before TopK; the loss adds beta * KL with
KL = 1/2 ||mu||^2, beta rising linearly from 0 over the first ``warmup_fraction`` of training. At
evaluation the code is TopK(mu).

The two ingredients are separate switches per member, so one computation holds a factorial design:
``noise`` (1: sample, 0: z = TopK(mu)), ``beta`` (0: no KL term) and ``auxk_alpha`` (0: no AuxK). The
TopK SAE is (noise 0, beta 0), the paper's vSAE (noise 1, beta > 0). AuxK lets the d/2 most active dead
latents (d: input width; Gao et al. use 512 for d = 768 or more) explain the residual.

``form="authors"`` follows the vSAE authors' public code instead (``VSAETopK`` and ``VSAETopKTrainer`` in
``dictionary_learning/trainers/vsae_topk.py`` of ZachData/SPAR-Variational-Sparse-Autoencoders, commit
8e1581ad8b0cfb127b7c1e7297cdb79393a1fe60, with its default ``var_flag = 0`` and ``use_april_update_mode``):
the input is not centred, the decoder has its own bias starting at 0, decoder rows start at length 0.1 and
are never renormalised, Top-K ranks by absolute value, the KL term is 1/2 ||clip(z, -10, 10)||^2, AuxK lets
in d/2 dead latents ranked by |z| and divides by the residual's variance about its batch mean, and training
uses a learning-rate warm-up and decay and clips each member's gradient norm at 1
(:func:`train_members`). Chapter 06 lists every difference.

:class:`TopKSAE` holds M independent dictionaries (members) with a leading member axis on every
weight, each with its own k, switches, initialisation and data order, trained in one computation: the
loss is the sum of the members' own losses, so each member's gradient is the one it would get alone.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from keras import ops

from ksc.measures.metrics import sae_metrics
from ksc.models.fused_adam import FusedAdam, FusedUpdate
from ksc.models.members import member_topk
from ksc.runtime.backend import keras

SAE_KINDS = ("topk_sae", "vsae", "vsae_mean")  # vsae_mean: KL penalty, no sampling
FORMS = ("ours", "authors")
AUTHORS_KL_CLIP = 10.0  # the authors' code clamps latents to [-10, 10] inside the KL term
AUTHORS_INIT_NORM = 0.1  # and starts decoder rows at this length


def kind_switches(kind: str, beta: float) -> dict:
    """The per-member switches of a named kind: TopK SAE, vSAE (noise and KL), vSAE without sampling."""
    if kind not in SAE_KINDS:
        raise ValueError(f"kind must be one of {SAE_KINDS}, got {kind!r}")
    return {"noise": float(kind == "vsae"), "beta": 0.0 if kind == "topk_sae" else float(beta)}


def _per_member(value, M: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, "float32"), (M,)).copy()


class TopKSAE(keras.Model):
    """M dictionaries of ``n_latents`` directions in R^``dim`` (one per member: k, seed and switches).

    The model holds the training samples; its input is one row index per (batch row, member), so every
    member reads its own data order. ``noise``, ``beta`` and ``auxk_alpha`` are one value for all members
    or one per member.
    """

    def __init__(
        self,
        samples_ND,
        n_latents: int,
        ks,
        seeds,
        noise=0.0,
        beta=0.0,
        auxk_alpha=0.0,
        warmup_steps: int = 0,
        dead_after: int = 10_000,
        form: str = "ours",
        scales=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        self.samples = ops.convert_to_tensor(np.asarray(samples_ND, "float32"))
        M, dim = len(seeds), samples_ND.shape[1]
        self.form, self.dim = form, int(dim)
        self.ks, self.n_latents = [int(k) for k in ks], int(n_latents)
        self.noise_M, self.beta_M, self.auxk_M = (_per_member(v, M) for v in (noise, beta, auxk_alpha))
        self.scale_M = _per_member(scales, M)  # member m sees the samples times scale_M[m]
        self.warmup_steps, self.dead_after = int(warmup_steps), int(dead_after)
        authors = form == "authors"
        # member m's decoder is drawn from seeds[m] alone: the same seed gives the same start in any group
        W = np.stack([np.random.default_rng([int(s), 2]).standard_normal((n_latents, dim)) for s in seeds])
        W *= (AUTHORS_INIT_NORM if authors else 1.0) / np.linalg.norm(W, axis=-1, keepdims=True)
        self.W_dec = self.add_weight(
            shape=(M, n_latents, dim),
            initializer=keras.initializers.Constant(W),
            constraint=None if authors else keras.constraints.UnitNorm(axis=-1),
            name="W_dec",
        )
        self.W_enc = self.add_weight(
            shape=(M, dim, n_latents), name="W_enc", initializer=keras.initializers.Constant(np.swapaxes(W, 1, 2))
        )
        self.b_enc = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="b_enc")
        mean = np.mean(samples_ND, axis=0)[None, None, :] * self.scale_M[:, None, None]
        start = np.zeros((M, 1, dim)) if authors else mean
        self.b_dec = self.add_weight(shape=(M, 1, dim), initializer=keras.initializers.Constant(start), name="b_dec")
        # training state the optimiser must not touch: steps taken, samples since each latent fired
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="steps")
        self.since_fired = self.add_weight(
            shape=(M, n_latents), initializer="zeros", trainable=False, name="since_fired"
        )
        self.noise = keras.random.SeedGenerator(int(np.random.default_rng(list(seeds)).integers(2**31)))

    def _column(self, values_M):
        return ops.reshape(ops.convert_to_tensor(values_M), (-1, 1, 1))

    def encode(self, x_MBD, training: bool = False):
        """Codes z (members, batch, latents) and, for the losses, the pre-activation and the latent before
        Top-K (mu, plus noise for sampling members in training)."""
        centred = x_MBD if self.form == "authors" else x_MBD - self.b_dec
        pre_MBL = ops.matmul(centred, self.W_enc) + self.b_enc
        latent_MBL = ops.relu(pre_MBL)
        if training and self.noise_M.any():  # noise drawn for the sampling members only, then put in place
            noisy = np.flatnonzero(self.noise_M)
            shape = ops.shape(latent_MBL)
            eps = keras.random.normal((len(noisy), shape[1], shape[2]), seed=self.noise)
            eps = eps * ops.reshape(ops.convert_to_tensor(self.noise_M[noisy]), (-1, 1, 1))
            place = np.zeros(len(self.ks), "int32")
            place[noisy] = np.arange(1, len(noisy) + 1)
            padded = ops.concatenate([ops.zeros_like(eps[:1]), eps], axis=0)
            latent_MBL = latent_MBL + ops.take(padded, ops.convert_to_tensor(place), axis=0)
        if self.form == "authors":  # ranked by |z|, signs kept
            return member_topk(latent_MBL, self.ks, by="abs"), pre_MBL, latent_MBL
        return ops.relu(member_topk(latent_MBL, self.ks, by="value")), pre_MBL, latent_MBL

    def silent_codes(self, x_ND, members) -> np.ndarray:
        """(len(members), samples, latents) evaluation codes of only the given members for the same samples
        (original units): the counting of dead latents needs no other member's work."""
        pick = lambda t: ops.take(t, ops.convert_to_tensor(np.asarray(members, "int32")), axis=0)
        x = ops.convert_to_tensor(np.asarray(x_ND, "float32"))[None] * ops.reshape(
            ops.convert_to_tensor(self.scale_M[members]), (-1, 1, 1)
        )
        centred = x if self.form == "authors" else x - pick(self.b_dec)
        latent = ops.relu(ops.matmul(centred, pick(self.W_enc)) + pick(self.b_enc))
        ks = [self.ks[m] for m in members]
        if self.form == "authors":
            return member_topk(latent, ks, by="abs")
        return ops.relu(member_topk(latent, ks, by="value"))

    def decode(self, z_MBL):
        return ops.matmul(z_MBL, self.W_dec) + self.b_dec

    def call(self, rows_BM, training: bool = False):
        x_MBD = ops.transpose(ops.take(self.samples, rows_BM, axis=0), (1, 0, 2)) * self._column(self.scale_M)
        z_MBL, pre_MBL, latent_MBL = self.encode(x_MBD, training)
        x_hat_MBD = self.decode(z_MBL)
        self.add_loss(ops.sum(ops.mean(ops.sum(ops.square(x_MBD - x_hat_MBD), axis=-1), axis=1)))
        if training:
            self.steps.assign_add(1.0)
            if self.beta_M.any():
                ramp = ops.minimum(1.0, self.steps / max(self.warmup_steps, 1))
                if self.form == "authors":
                    kl_MB = 0.5 * ops.sum(ops.square(ops.clip(latent_MBL, -AUTHORS_KL_CLIP, AUTHORS_KL_CLIP)), -1)
                else:
                    kl_MB = 0.5 * ops.sum(ops.square(ops.relu(pre_MBL)), axis=-1)
                beta_M = ops.convert_to_tensor(self.beta_M)
                self.add_loss(ramp * ops.sum(beta_M * ops.mean(kl_MB, axis=1)))
            if self.auxk_M.any():
                self.add_loss(self._auxk_loss(x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL))
        return x_hat_MBD

    def _auxk_loss(self, x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL):
        """The AuxK term summed over the members that use it (computed for those members only)."""
        used = np.flatnonzero(self.auxk_M)
        pick = lambda t: ops.take(t, ops.convert_to_tensor(used.astype("int32")), axis=0)
        x, x_hat, z, pre, latent, W_dec = (pick(t) for t in (x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL, self.W_dec))
        since = pick(self.since_fired)
        if self.form == "authors":
            loss_M, since_ML = authors_auxk_loss(x, x_hat, z, latent, W_dec, pick(self.b_dec), since, self.dead_after)
        else:
            k_aux = [min(self.dim // 2, self.n_latents)] * len(used)  # Gao et al.: about half the input width
            loss_M, since_ML = auxk_loss(x, x_hat, z, pre, W_dec, since, self.dead_after, k_aux)
        if len(used) == len(self.ks):
            self.since_fired.assign(since_ML)
        else:  # rows of members without AuxK stay as they are
            place = np.full(len(self.ks), len(used), "int32")
            place[used] = np.arange(len(used))
            kept = ops.concatenate([since_ML, ops.zeros_like(since_ML[:1])], axis=0)
            self.since_fired.assign(ops.take(kept, ops.convert_to_tensor(place), axis=0))
        return ops.sum(ops.convert_to_tensor(self.auxk_M[used]) * loss_M)


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


def authors_auxk_loss(x_MBD, x_hat_MBD, z_MBL, latent_MBL, W_dec_MLD, b_dec_M1D, since_fired_ML, dead_after: int):
    """The AuxK loss as the vSAE authors' code forms it: a latent is dead after ``dead_after`` samples in
    which its code summed over the batch was not positive; the d/2 dead latents of largest |z| (signs kept)
    are decoded with the decoder's bias; the squared error is divided by the residual's variance about its
    batch mean. Members with no dead latent get 0."""
    dim, n_latents = int(x_MBD.shape[-1]), int(latent_MBL.shape[-1])
    fired_ML = ops.cast(ops.sum(z_MBL, axis=1) > 0, "float32")
    since_ML = (since_fired_ML + ops.cast(ops.shape(x_MBD)[1], "float32")) * (1.0 - fired_ML)
    dead_ML = ops.cast(since_ML >= dead_after, "float32")
    k_aux = min(dim // 2, n_latents)
    candidates_MBL = latent_MBL * dead_ML[:, None, :]
    z_aux_MBL = member_topk(candidates_MBL, [k_aux] * int(x_MBD.shape[0]), by="abs") * dead_ML[:, None, :]
    residual_MBD = ops.stop_gradient(x_MBD - x_hat_MBD)
    error_M = ops.mean(
        ops.sum(ops.square(residual_MBD - ops.matmul(z_aux_MBL, W_dec_MLD) - b_dec_M1D), axis=-1), axis=1
    )
    centred_MBD = residual_MBD - ops.mean(residual_MBD, axis=1, keepdims=True)
    denominator_M = ops.mean(ops.sum(ops.square(centred_MBD), axis=-1), axis=1) + 1e-8
    any_dead_M = ops.cast(ops.sum(dead_ML, axis=-1) > 0, "float32")
    return any_dead_M * error_M / denominator_M, since_ML


class MemberClipAdam(FusedUpdate, keras.optimizers.Adam):
    """Adam that first scales each member's gradient (all its weights together) to norm at most ``clip_norm``,
    as ``torch.nn.utils.clip_grad_norm_`` does for one model."""

    def __init__(self, clip_norm: float, **kwargs):
        super().__init__(**kwargs)
        self.clip_norm = float(clip_norm)

    def _clip_gradients(self, grads):
        squares = [ops.sum(ops.reshape(ops.square(g), (ops.shape(g)[0], -1)), axis=1) for g in grads]
        factor_M = ops.minimum(1.0, self.clip_norm / (ops.sqrt(sum(squares)) + 1e-12))
        return [g * ops.reshape(factor_M, (-1,) + (1,) * (len(g.shape) - 1)) for g in grads]


class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The authors' learning-rate schedule: linear warm-up from 0 over ``warmup`` steps, constant, then a
    linear decay to 0 from step ``decay_start`` to ``total``."""

    def __init__(self, rate: float, total: int, warmup: int, decay_start: int):
        self.rate, self.total, self.warmup, self.decay_start = float(rate), int(total), int(warmup), int(decay_start)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        up = ops.minimum(1.0, step / max(self.warmup, 1))
        down = ops.clip((self.total - step) / max(self.total - self.decay_start, 1), 0.0, 1.0)
        return self.rate * ops.minimum(up, down)

    def get_config(self):
        return {"rate": self.rate, "total": self.total, "warmup": self.warmup, "decay_start": self.decay_start}


def authors_schedule(rate: float, total_steps: int) -> WarmupDecay:
    """Warm-up over max(200, 2 % of the steps), decay from 80 % of the steps (the authors' training config);
    with fewer steps than that warm-up the decay is off there too, and the warm-up is cut to 2 %."""
    warmup = max(200, int(0.02 * total_steps))
    if int(0.8 * total_steps) <= warmup:
        return WarmupDecay(rate, total_steps, max(1, int(0.02 * total_steps)), total_steps)
    return WarmupDecay(rate, total_steps, warmup, int(0.8 * total_steps))


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
    history: list  # per epoch: training loss (and, where probed, validation FVE and silent fraction)
    wall_seconds: float
    extra_codes: np.ndarray | None = None  # codes of a second sample set, where one was given


def epoch_batches(seeds, n: int, batch_size: int, epoch: int) -> np.ndarray:
    """(steps * batch_size, members) row indices of one epoch: a fresh permutation per member, drawn from
    its seed and the epoch alone; the last partial batch is dropped (a different remainder each epoch)."""
    steps = n // batch_size
    orders = [np.random.default_rng([int(s), 3, epoch]).permutation(n)[: steps * batch_size] for s in seeds]
    return np.stack(orders, axis=1).astype(np.int32)


def _member_inputs(sae: TopKSAE, x_ND: np.ndarray):
    """The same samples (original units) as every member sees them: (members, samples, dim), each scaled."""
    x = ops.convert_to_tensor(np.asarray(x_ND, "float32"))
    return ops.broadcast_to(x, (len(sae.ks),) + tuple(x.shape)) * sae._column(sae.scale_M)


def _stacked(sae: TopKSAE, x_ND: np.ndarray, chunk: int = 2048):
    """(codes along unit decoder directions, reconstructions) of every member for the same samples, in chunks,
    both in the samples' original units."""
    norms_M1L = ops.norm(sae.W_dec, axis=-1)[:, None, :]
    unscale = 1.0 / sae.scale_M[:, None, None]
    codes, recon = [], []
    for i in range(0, len(x_ND), chunk):
        z, _, _ = sae.encode(_member_inputs(sae, x_ND[i : i + chunk]))
        codes.append(ops.convert_to_numpy(z * norms_M1L) * unscale)
        recon.append(ops.convert_to_numpy(sae.decode(z)) * unscale)
    return np.concatenate(codes, axis=1), np.concatenate(recon, axis=1)


def firing_counts(sae: TopKSAE, x_ND: np.ndarray, members=None, chunk: int = 2048) -> np.ndarray:
    """(members, latents): how many of the samples ``x_ND`` (original units) each latent fires on, for the given
    member indices (all by default)."""
    members = np.arange(len(sae.ks)) if members is None else np.asarray(members, int)
    counts = np.zeros((len(members), sae.n_latents), np.int64)
    for i in range(0, len(x_ND), chunk):
        z = sae.silent_codes(x_ND[i : i + chunk], members)
        counts += ops.convert_to_numpy(ops.sum(ops.cast(z != 0, "int32"), axis=1))
    return counts


class _Probe(keras.callbacks.Callback):
    """Each member's FVE and fraction of silent latents on held-out samples after every epoch."""

    def __init__(self, sae: TopKSAE, probe_ND: np.ndarray):
        super().__init__()
        self.sae, self.probe, self.rows = sae, probe_ND, []

    def on_epoch_end(self, epoch, logs=None):
        codes, recon = _stacked(self.sae, self.probe)
        total = np.sum(np.square(self.probe - self.probe.mean(axis=0)))
        fve = 1.0 - np.sum(np.square(self.probe[None] - recon), axis=(1, 2)) / total
        self.rows.append({"fve": fve, "dead": np.mean(~np.any(codes != 0, axis=1), axis=-1)})


def train_members(
    train_ND: np.ndarray,
    eval_ND: np.ndarray,
    members: list,
    n_latents: int,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    warmup_fraction: float = 0.1,
    input_rms: float | None = 1.0,
    dead_after: int = 10_000,
    form: str = "ours",
    clip_norm: float | None = None,
    probe_ND: np.ndarray | None = None,
    count_ND: np.ndarray | None = None,
    extra_ND: np.ndarray | None = None,
) -> list[SAEFit]:
    """Trains one SAE per member in one computation, with Adam, and measures each on ``eval_ND``.

    A member is a dict with ``k``, ``seed``, ``noise``, ``beta`` and ``auxk_alpha`` (the switches of
    :class:`TopKSAE`); any other keys (labels) are copied into its metrics. ``form="authors"`` also gives
    the authors' learning-rate schedule, and ``clip_norm`` clips each member's gradient norm.
    Unless ``input_rms`` is None, every member sees the samples times :func:`input_scale` of the training set
    (at its own ``rms`` where the member gives one), so the vSAE's unit-variance noise has a stated size
    relative to the inputs on every data set; metrics are in the
    original units, codes along unit-length decoder directions. With ``probe_ND``, each member's history holds
    its FVE and fraction of silent latents on those samples after every epoch; with ``count_ND``, its metrics
    add ``dead_counted``, the fraction of latents that fire on none of those samples nor of ``eval_ND``; with
    ``extra_ND``, each fit also carries its codes of those samples. One :class:`SAEFit` per member, in order;
    ``wall_seconds`` is the group's wall time divided by its size.
    """
    ks, seeds = [int(m["k"]) for m in members], [int(m["seed"]) for m in members]
    if batch_size > len(train_ND) or not members:
        raise ValueError(
            f"need members and a batch no larger than the training set; got {len(members)} members, "
            f"batch {batch_size} of {len(train_ND)} samples"
        )
    start = time.perf_counter()
    keras.utils.set_random_seed(seeds[0])
    rms = [m.get("rms", input_rms) for m in members]
    scales = [1.0 if r is None else input_scale(train_ND, r) for r in rms]
    x_train = np.asarray(train_ND, "float32")
    steps = len(x_train) // batch_size
    sae = TopKSAE(
        x_train,
        n_latents,
        ks,
        seeds,
        noise=[m["noise"] for m in members],
        beta=[m["beta"] for m in members],
        auxk_alpha=[m["auxk_alpha"] for m in members],
        warmup_steps=round(warmup_fraction * epochs * steps),
        dead_after=dead_after,
        form=form,
        scales=scales,
    )
    rate = authors_schedule(learning_rate, epochs * steps) if form == "authors" else learning_rate
    optimizer = MemberClipAdam(clip_norm, learning_rate=rate) if clip_norm else FusedAdam(rate)
    sae.compile(optimizer=optimizer, steps_per_execution=steps)
    probe = _Probe(sae, probe_ND) if probe_ND is not None else None
    losses = []
    for epoch in range(epochs):
        fit = sae.fit(
            epoch_batches(seeds, len(x_train), batch_size, epoch),
            batch_size=batch_size,
            shuffle=False,
            epochs=1,
            verbose=0,
            callbacks=[probe] if probe else None,
        )
        losses.append(fit.history["loss"][0] / len(members))
    codes, reconstructions = _stacked(sae, eval_ND)
    counted = None
    if count_ND is not None:  # silent on the evaluation set and the counting samples; only members with a latent
        silent = ~np.any(codes != 0, axis=1)  # silent on the evaluation set can have one (the rest count 0)
        counted = np.zeros_like(silent, dtype=np.int64)
        suspects = np.flatnonzero(silent.any(axis=1))
        if len(suspects):
            counted[suspects] = firing_counts(sae, count_ND, suspects)
        counted = np.where(silent, counted, 1)
    extra = _stacked(sae, extra_ND)[0] if extra_ND is not None else None
    decoders = ops.convert_to_numpy(sae.W_dec)
    decoders = decoders / np.maximum(np.linalg.norm(decoders, axis=-1, keepdims=True), 1e-12)
    wall = (time.perf_counter() - start) / len(members)
    runs = []
    for m, member in enumerate(members):
        labels = {key: value for key, value in member.items() if key not in ("k", "seed")}
        metrics = {
            "seed": seeds[m],
            "k": ks[m],
            "n_latents": n_latents,
            "form": form,
            **labels,
            **sae_metrics(eval_ND, reconstructions[m], codes[m], train_ND),
            "wall_seconds": wall,
        }
        if counted is not None:
            metrics |= {"dead_counted": float(np.mean(counted[m] == 0)), "n_counted": len(count_ND) + len(eval_ND)}
        history = [
            {
                "epoch": e + 1,
                "loss": losses[e],
                **({"probe_fve": float(r["fve"][m]), "probe_dead": float(r["dead"][m])} if probe else {}),
            }
            for e, r in enumerate(probe.rows if probe else [{}] * epochs)
        ]
        fit = SAEFit(str(member.get("model", form)), seeds[m], metrics, codes[m], decoders[m], history, wall)
        runs.append(fit._replace(extra_codes=extra[m]) if extra is not None else fit)
    return runs


def train_saes(
    kind: str,
    train_ND: np.ndarray,
    eval_ND: np.ndarray,
    ks,
    seeds,
    n_latents: int,
    beta: float = 1.0,
    auxk_alpha: float = 0.0,
    **settings,
) -> list[SAEFit]:
    """One SAE of a named ``kind`` (:data:`SAE_KINDS`) per (k, seed) pair, in one computation
    (:func:`train_members`)."""
    switches = kind_switches(kind, beta)
    ks, seeds = [int(k) for k in ks], [int(s) for s in seeds]
    if len(ks) != len(seeds):
        raise ValueError(f"need one k per seed; got {len(ks)} ks and {len(seeds)} seeds")
    members = [{"model": kind, "k": k, "seed": s, **switches, "auxk_alpha": auxk_alpha} for k, s in zip(ks, seeds)]
    return train_members(train_ND, eval_ND, members, n_latents, **settings)


def train_sae(
    kind: str, train_ND: np.ndarray, eval_ND: np.ndarray, k: int, n_latents: int, seed: int = 0, **settings
) -> SAEFit:
    """One SAE: :func:`train_saes` with a single member."""
    return train_saes(kind, train_ND, eval_ND, [k], [seed], n_latents, **settings)[0]


def decoder_embedding(decoder_LD: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE map of decoder directions by cosine distance (the vSAE paper's Figures 10-11 use t-SNE)."""
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(decoder_LD) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed).fit_transform(
        decoder_LD.astype(np.float64)
    )
