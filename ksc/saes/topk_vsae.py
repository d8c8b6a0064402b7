"""TopK sparse autoencoders and their variational twin (vSAE), in backend-agnostic Keras 3, on the shared member-axis
base (:class:`ksc.saes.base.MemberSAE`: start, forward pass, loss, warm-up, AuxK and epoch loop).

TopK SAE (Gao et al. 2024)::

    pre = W_enc (x - b_dec) + b_enc,   z = TopK(ReLU(pre)),   x_hat = W_dec z + b_dec

with every decoder direction (row of ``W_dec``, shape (latents, d)) put back to unit length after each
optimiser step, ``W_enc`` starting as ``W_dec`` transposed and ``b_dec`` as the training mean. Loss: squared error
summed over the input dimensions, averaged over the batch, plus (optionally) the AuxK loss that asks dead latents
to explain the residual (:mod:`ksc.saes.auxk`; how many it lets in, ``k_aux``, is a rule the caller names).

vSAE (the vSAE paper): the same encoder gives the mean mu = ReLU(pre); in training the code is sampled,
mu + eps with eps ~ N(0, 1) (fixed unit variance), before TopK; the loss adds beta * KL with
KL = 1/2 ||mu||^2, beta rising linearly from 0 over the first ``warmup_fraction`` of training. At
evaluation the code is TopK(mu).

The two ingredients are separate switches per member, so one computation holds a factorial design:
``noise`` (1: sample, 0: z = TopK(mu)), ``beta`` (0: no KL term) and ``auxk_alpha`` (0: no AuxK). The
TopK SAE is (noise 0, beta 0), the paper's vSAE (noise 1, beta > 0).

``form="authors"`` follows the vSAE authors' public code instead (``VSAETopK`` and ``VSAETopKTrainer`` in
``dictionary_learning/trainers/vsae_topk.py`` of ZachData/SPAR-Variational-Sparse-Autoencoders, commit
8e1581ad8b0cfb127b7c1e7297cdb79393a1fe60, with its default ``var_flag = 0`` and ``use_april_update_mode``):
the input is not centred, the decoder has its own bias starting at 0, decoder rows start at length 0.1 and
are never renormalised, Top-K ranks by absolute value, the KL term is 1/2 ||clip(z, -10, 10)||^2, AuxK is theirs
(:func:`ksc.saes.auxk.authors_auxk_loss`: dead latents ranked by |z|, decoded with the bias, divided by the
residual's variance about its batch mean), and training uses a learning-rate warm-up and decay and clips each
member's gradient norm at 1 (:func:`train_members`). Chapter 06 lists every difference.
"""

from __future__ import annotations

import time

import numpy as np
from keras import ops

from ksc.measures.metrics import sae_metrics
from ksc.models.fused_adam import FusedAdam
from ksc.models.members import member_topk
from ksc.runtime.backend import keras
from ksc.saes.auxk import KAuxRule, authors_auxk_loss
from ksc.saes.base import MemberSAE, SAEFit, input_scale, per_member, train_epochs

SAE_KINDS = ("topk_sae", "vsae", "vsae_mean")  # vsae_mean: KL penalty, no sampling
FORMS = ("ours", "authors")
AUTHORS_KL_CLIP = 10.0  # the authors' code clamps latents to [-10, 10] inside the KL term
AUTHORS_INIT_NORM = 0.1  # and starts decoder rows at this length


def kind_switches(kind: str, beta: float) -> dict:
    """The per-member switches of a named kind: TopK SAE, vSAE (noise and KL), vSAE without sampling."""
    if kind not in SAE_KINDS:
        raise ValueError(f"kind must be one of {SAE_KINDS}, got {kind!r}")
    return {"noise": float(kind == "vsae"), "beta": 0.0 if kind == "topk_sae" else float(beta)}


class TopKSAE(MemberSAE):
    """M TopK SAEs / vSAEs of ``n_latents`` directions in R^``dim`` (one per member: k, seed and switches), on the
    shared :class:`~ksc.saes.base.MemberSAE`.

    ``noise``, ``beta`` and ``auxk_alpha`` are one value for all members or one per member; ``k_aux`` is the rule
    for AuxK's number of dead latents (:mod:`ksc.saes.auxk`), needed where some member has ``auxk_alpha`` > 0.
    The decoder bias starts at the training mean (times each member's scale), at 0 in the authors' form.
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
        k_aux: KAuxRule | None = None,
        warmup_steps: int = 0,
        dead_after: int = 10_000,
        form: str = "ours",
        scales=1.0,
        **kwargs,
    ):
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        M = len(seeds)
        self.form = form
        self.noise_M, self.beta_M = per_member(noise, M), per_member(beta, M)
        scale_M = per_member(scales, M)  # member m sees the samples times scale_M[m]
        authors = form == "authors"
        mean = np.mean(samples_ND, axis=0)[None, :] * scale_M[:, None]
        super().__init__(
            samples_ND,
            n_latents,
            seeds,
            np.zeros((M, samples_ND.shape[1])) if authors else mean,
            init_length=AUTHORS_INIT_NORM if authors else 1.0,
            unit_norm=not authors,
            scales=scale_M,
            ks=ks,
            auxk_alpha=per_member(auxk_alpha, M),
            k_aux=k_aux,
            warmup_steps=warmup_steps,
            dead_after=dead_after,
            **kwargs,
        )
        if self.beta_M.any():  # the KL term is the penalty, beta its coefficient
            self.penalty_M = ops.convert_to_tensor(self.beta_M)
        self.noise = keras.random.SeedGenerator(int(np.random.default_rng(list(seeds)).integers(2**31)))

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

    def penalty_MB(self, z_MBL, pre_MBL, latent_MBL):
        """The KL term per sample, 1/2 ||mu||^2 (the authors' form: 1/2 ||clip(z, -10, 10)||^2 of the latent
        before Top-K, noise included)."""
        if self.form == "authors":
            return 0.5 * ops.sum(ops.square(ops.clip(latent_MBL, -AUTHORS_KL_CLIP, AUTHORS_KL_CLIP)), -1)
        return 0.5 * ops.sum(ops.square(ops.relu(pre_MBL)), axis=-1)

    def auxk_terms(self, pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL, k_aux):
        """Gao et al.'s AuxK (the base's), or in the authors' form theirs (:func:`ksc.saes.auxk.authors_auxk_loss`)."""
        if self.form != "authors":
            return super().auxk_terms(pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL, k_aux)
        x, x_hat, z, latent, W_dec, b_dec = (
            pick(t) for t in (x_MBD, x_hat_MBD, z_MBL, latent_MBL, self.W_dec, self.b_dec)
        )
        return authors_auxk_loss(x, x_hat, z, latent, W_dec, b_dec, pick(self.since_fired), self.dead_after, k_aux)

    def silent_codes(self, x_ND, members) -> np.ndarray:
        """(len(members), samples, latents) evaluation codes of only the given members for the same samples
        (original units): the counting of dead latents needs no other member's work."""
        index = ops.convert_to_tensor(np.asarray(members, "int32"))

        def pick(t):
            return ops.take(t, index, axis=0)

        x = ops.convert_to_tensor(np.asarray(x_ND, "float32"))[None] * ops.reshape(
            ops.convert_to_tensor(self.scale_M[members]), (-1, 1, 1)
        )
        centred = x if self.form == "authors" else x - pick(self.b_dec)
        latent = ops.relu(ops.matmul(centred, pick(self.W_enc)) + pick(self.b_enc))
        ks = [self.ks[m] for m in members]
        if self.form == "authors":
            return member_topk(latent, ks, by="abs")
        return ops.relu(member_topk(latent, ks, by="value"))


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


def _member_inputs(sae: TopKSAE, x_ND: np.ndarray):
    """The same samples (original units) as every member sees them: (members, samples, dim), each scaled."""
    x = ops.convert_to_tensor(np.asarray(x_ND, "float32"))
    return ops.broadcast_to(x, (len(sae.ks),) + tuple(x.shape)) * sae.member_column(sae.scale_M)


def _stacked(sae: TopKSAE, x_ND: np.ndarray, chunk: int = 2048):
    """(codes along unit decoder directions, reconstructions) of every member for the same samples, in chunks,
    both in the samples' original units."""
    unscale = 1.0 / sae.scale_M[:, None, None]
    codes, recon = [], []
    for i in range(0, len(x_ND), chunk):
        z, _, _ = sae.encode(_member_inputs(sae, x_ND[i : i + chunk]))
        codes.append(ops.convert_to_numpy(sae.unit_codes(z)) * unscale)
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
    k_aux: KAuxRule | None = None,
    probe_ND: np.ndarray | None = None,
    count_ND: np.ndarray | None = None,
    extra_ND: np.ndarray | None = None,
) -> list[SAEFit]:
    """Trains one SAE per member in one computation, with Adam, and measures each on ``eval_ND``.

    A member is a dict with ``k``, ``seed``, ``noise``, ``beta`` and ``auxk_alpha`` (the switches of
    :class:`TopKSAE`); any other keys (labels) are copied into its metrics. ``form="authors"`` also gives
    the authors' learning-rate schedule, and ``clip_norm`` clips each member's gradient norm. ``k_aux`` is the
    rule for AuxK's number of dead latents (:mod:`ksc.saes.auxk`), needed where some member has ``auxk_alpha`` > 0.
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
        k_aux=k_aux,
        warmup_steps=round(warmup_fraction * epochs * steps),
        dead_after=dead_after,
        form=form,
        scales=scales,
    )
    rate = authors_schedule(learning_rate, epochs * steps) if form == "authors" else learning_rate
    optimizer = FusedAdam(rate, member_clip_norm=clip_norm or None)
    probe = _Probe(sae, probe_ND) if probe_ND is not None else None
    losses = train_epochs(sae, optimizer, seeds, len(x_train), batch_size, epochs, callbacks=[probe] if probe else None)
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
    decoders = sae.unit_decoders()
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
