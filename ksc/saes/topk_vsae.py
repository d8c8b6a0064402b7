"""TopK sparse autoencoders and their variational twin (vSAE), in backend-agnostic Keras 3, on the shared member-axis
base (:class:`ksc.saes.base.MemberSAE`: start, forward pass, loss, warm-up, AuxK and epoch loop).

TopK SAE (Gao et al. 2024), ``pre = W_enc (x - b_dec) + b_enc``, ``z = TopK(ReLU(pre))``, ``x_hat = W_dec z + b_dec``,
with every decoder row (shape (latents, d)) put back to unit length after each step, ``W_enc`` starting as ``W_dec``
transposed and ``b_dec`` as the training mean. Loss: squared error summed over the input dimensions, averaged over
the batch, plus (optionally) AuxK for dead latents (:mod:`ksc.saes.auxk`; its ``k_aux`` is a rule the caller names).

vSAE (the vSAE paper): the same encoder gives the mean mu = ReLU(pre); in training the code is sampled,
mu + eps with eps ~ N(0, 1) (fixed unit variance), before TopK; the loss adds beta * KL with
KL = 1/2 ||mu||^2, beta rising linearly from 0 over the first ``warmup_fraction`` of training. At
evaluation the code is TopK(mu).

The two ingredients are separate switches per member, so one computation holds a factorial design:
``noise`` (1: sample, 0: z = TopK(mu)), ``beta`` (0: no KL term) and ``auxk_alpha`` (0: no AuxK). The
TopK SAE is (noise 0, beta 0), the paper's vSAE (noise 1, beta > 0).

The vSAE authors' public code (``VSAETopK`` and ``VSAETopKTrainer`` in ``dictionary_learning/trainers/vsae_topk.py``
of ZachData/SPAR-Variational-Sparse-Autoencoders, commit 8e1581ad8b0cfb127b7c1e7297cdb79393a1fe60, with its default
``var_flag = 0`` and ``use_april_update_mode``) differs from ours in seven places, each a switch of its own
(:data:`SWITCHES`, one value for all members or one per member; :data:`PRESETS` holds both codes' values, and
``form="ours"`` / ``"authors"`` sets every switch not given):

- ``centre_input``: x - b_dec enters the encoder and b_dec starts at the training mean (ours), or the input enters as
  it is and the decoder's own bias starts at 0 (theirs);
- ``init_length``: decoder rows start at length 1 (ours) or 0.1 (theirs);
- ``unit_norm``: decoder rows put back to unit length after every step (ours) or never (theirs);
- ``auxk_form``: Gao et al.'s AuxK (``"gao"``, ours) or theirs (``"authors"``, :func:`ksc.saes.auxk.authors_auxk_loss`:
  dead latents ranked by |z|, decoded with the bias, divided by the residual's variance about its batch mean); with
  it goes the number of silent samples after which a latent is dead (``dead_after``, one per member where given);
- ``topk_by``: Top-K by value after ReLU (``"value"``, ours) or by absolute value with signs kept (``"abs"``, theirs);
- ``kl_clip``: the KL term 1/2 ||mu||^2 (False, ours) or 1/2 ||clip(z, -10, 10)||^2 of the latent before Top-K, noise
  included (True, theirs);
- the optimiser (:func:`train_members`, keys ``schedule``, ``learning_rate`` and ``clip_norm`` of a member): Adam
  at a constant rate without clipping (ours) or the authors' warm-up and decay with each member's gradient norm
  clipped at 1 (theirs).

Members that share a switch run that part exactly as a preset does (the same bits); where they differ, each gets
its own, in one computation either way. Chapter 06 lists every difference and trains each alone.
"""

from __future__ import annotations

import time

import numpy as np
from keras import ops

from ksc.measures.metrics import sae_metrics
from ksc.models.fused_adam import FusedAdam
from ksc.models.members import member_topk
from ksc.runtime.backend import keras
from ksc.saes.auxk import KAuxRule, authors_auxk_loss, auxk_loss
from ksc.saes.base import MemberSAE, SAEFit, decoder_start, input_scale, per_member, train_epochs

SAE_KINDS = ("topk_sae", "vsae", "vsae_mean")  # vsae_mean: KL penalty, no sampling
FORMS = ("ours", "authors")
AUTHORS_KL_CLIP = 10.0  # the authors' code clamps latents to [-10, 10] inside the KL term
AUTHORS_INIT_NORM = 0.1  # and starts decoder rows at this length
PRESETS = {  # every switch of the model, as each code sets it
    "ours": {
        "centre_input": True,
        "init_length": 1.0,
        "unit_norm": True,
        "auxk_form": "gao",
        "topk_by": "value",
        "kl_clip": False,
    },
    "authors": {
        "centre_input": False,
        "init_length": AUTHORS_INIT_NORM,
        "unit_norm": False,
        "auxk_form": "authors",
        "topk_by": "abs",
        "kl_clip": True,
    },
}
SWITCHES = tuple(PRESETS["ours"])
SCHEDULES = {"ours": "constant", "authors": "warmup_decay"}  # the optimiser's learning-rate schedule of each form
OPTIMISER_KEYS = ("schedule", "learning_rate", "clip_norm")  # a member's own optimiser (train_members)
_ALLOWED = {"auxk_form": ("gao", "authors"), "topk_by": ("value", "abs")}
_NOT_LABELS = ("k", "seed", "dead_after") + SWITCHES + OPTIMISER_KEYS  # a member's keys not copied into its metrics


def kind_switches(kind: str, beta: float) -> dict:
    """The per-member switches of a named kind: TopK SAE, vSAE (noise and KL), vSAE without sampling."""
    if kind not in SAE_KINDS:
        raise ValueError(f"kind must be one of {SAE_KINDS}, got {kind!r}")
    return {"noise": float(kind == "vsae"), "beta": 0.0 if kind == "topk_sae" else float(beta)}


def member_switches(form: str, M: int, **given) -> dict:
    """Switch name -> one value per member (numpy array): the value given (one for all or one per member) or, where
    None, the preset ``form``'s."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    unknown = set(given) - set(SWITCHES)
    if unknown:
        raise ValueError(f"unknown switches {sorted(unknown)}; the switches are {SWITCHES}")
    out = {}
    for name in SWITCHES:
        value = given.get(name)
        value = PRESETS[form][name] if value is None else value
        values = np.broadcast_to(np.asarray(value), (M,)).copy()
        if name in _ALLOWED and not set(values.tolist()) <= set(_ALLOWED[name]):
            raise ValueError(f"{name} must be one of {_ALLOWED[name]}, got {sorted(set(values.tolist()))}")
        out[name] = values
    return out


def _same(values: np.ndarray) -> bool:
    return bool(np.all(values == values[0]))


class MemberUnitNorm(keras.constraints.Constraint):
    """Keras's UnitNorm over the last axis for the members whose ``mask`` is True; the others' rows stay as they are."""

    def __init__(self, mask_M):
        self.mask_M = np.asarray(mask_M, bool)

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        unit = w / (keras.backend.epsilon() + ops.sqrt(ops.sum(ops.square(w), axis=-1, keepdims=True)))
        return ops.where(ops.convert_to_tensor(self.mask_M[:, None, None]), unit, w)

    def get_config(self):
        return {"mask_M": self.mask_M.tolist()}


class TopKSAE(MemberSAE):
    """M TopK SAEs / vSAEs of ``n_latents`` directions in R^``dim`` (one per member: k, seed and switches), on the
    shared :class:`~ksc.saes.base.MemberSAE`.

    ``noise``, ``beta`` and ``auxk_alpha`` are one value for all members or one per member; ``k_aux`` is the rule
    for AuxK's number of dead latents (:mod:`ksc.saes.auxk`), needed where some member has ``auxk_alpha`` > 0.
    The switches of :data:`SWITCHES` (one value or one per member; None: the preset ``form``'s) say which code each
    member follows, part by part; ``dead_after`` is one number or one per member.
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
        dead_after=10_000,
        form: str = "ours",
        scales=1.0,
        centre_input=None,
        init_length=None,
        unit_norm=None,
        auxk_form=None,
        topk_by=None,
        kl_clip=None,
        **kwargs,
    ):
        M = len(seeds)
        switches = member_switches(
            form,
            M,
            centre_input=centre_input,
            init_length=init_length,
            unit_norm=unit_norm,
            auxk_form=auxk_form,
            topk_by=topk_by,
            kl_clip=kl_clip,
        )
        self.form = form
        self.centre_M = switches["centre_input"].astype(bool)
        self.length_M = switches["init_length"].astype(np.float64)
        self.unit_norm_M = switches["unit_norm"].astype(bool)
        self.auxk_authors_M = switches["auxk_form"] == "authors"
        self.by_abs_M = switches["topk_by"] == "abs"
        self.kl_clip_M = switches["kl_clip"].astype(bool)
        self.dead_after_M = np.broadcast_to(np.asarray(dead_after, np.int64), (M,)).copy()
        self.noise_M, self.beta_M = per_member(noise, M), per_member(beta, M)
        scale_M = per_member(scales, M)  # member m sees the samples times scale_M[m]
        mean = np.mean(samples_ND, axis=0)[None, :] * scale_M[:, None]
        if self.centre_M.all():
            b_dec = mean
        elif not self.centre_M.any():
            b_dec = np.zeros((M, samples_ND.shape[1]))
        else:
            b_dec = np.where(self.centre_M[:, None], mean, 0.0)
        one_length, one_norm = _same(self.length_M), _same(self.unit_norm_M)
        super().__init__(
            samples_ND,
            n_latents,
            seeds,
            b_dec,
            init_length=float(self.length_M[0]) if one_length else 1.0,
            unit_norm=bool(self.unit_norm_M[0]) if one_norm else False,
            scales=scale_M,
            ks=ks,
            auxk_alpha=per_member(auxk_alpha, M),
            k_aux=k_aux,
            warmup_steps=warmup_steps,
            dead_after=int(self.dead_after_M[0]),
            **kwargs,
        )
        if not one_length:  # each member's rows drawn from its seed alone and scaled to its own length
            W = np.concatenate([decoder_start([s], n_latents, self.dim, n) for s, n in zip(seeds, self.length_M)])
            self.W_dec.assign(W.astype("float32"))
            self.W_enc.assign(np.swapaxes(W, 1, 2).astype("float32"))
        if not one_norm:
            self.W_dec.constraint = MemberUnitNorm(self.unit_norm_M)
        if self.beta_M.any():  # the KL term is the penalty, beta its coefficient
            self.penalty_M = ops.convert_to_tensor(self.beta_M)
        self.noise = keras.random.SeedGenerator(int(np.random.default_rng(list(seeds)).integers(2**31)))

    @staticmethod
    def _centred(x_MBD, b_dec, centre_M):
        """The encoder's input: x - b_dec for the members that centre, x for the others."""
        if centre_M.all():
            return x_MBD - b_dec
        if not centre_M.any():
            return x_MBD
        return x_MBD - b_dec * ops.reshape(ops.convert_to_tensor(centre_M.astype("float32")), (-1, 1, 1))

    @staticmethod
    def _top_k(latent_MBL, ks, by_abs_M):
        """Top-K by |z| with signs kept (the authors') or by value then ReLU (ours), member by member."""
        if by_abs_M.all():
            return member_topk(latent_MBL, ks, by="abs")
        if not by_abs_M.any():
            return ops.relu(member_topk(latent_MBL, ks, by="value"))
        kept = member_topk(latent_MBL, ks, by=["abs" if a else "value" for a in by_abs_M])
        return ops.where(ops.convert_to_tensor(by_abs_M[:, None, None]), kept, ops.relu(kept))

    def encode(self, x_MBD, training: bool = False):
        """Codes z (members, batch, latents) and, for the losses, the pre-activation and the latent before
        Top-K (mu, plus noise for sampling members in training)."""
        pre_MBL = ops.matmul(self._centred(x_MBD, self.b_dec, self.centre_M), self.W_enc) + self.b_enc
        latent_MBL = self.activation(pre_MBL)
        if training and self.noise_M.any():  # noise drawn for the sampling members only, then put in place
            noisy = np.flatnonzero(self.noise_M)
            shape = ops.shape(latent_MBL)
            eps = keras.random.normal((len(noisy), shape[1], shape[2]), seed=self.noise)
            eps = eps * ops.reshape(ops.convert_to_tensor(self.noise_M[noisy]), (-1, 1, 1))
            place = np.zeros(len(self.ks), "int32")
            place[noisy] = np.arange(1, len(noisy) + 1)
            padded = ops.concatenate([ops.zeros_like(eps[:1]), eps], axis=0)
            latent_MBL = latent_MBL + ops.take(padded, ops.convert_to_tensor(place), axis=0)
        return self._top_k(latent_MBL, self.ks, self.by_abs_M), pre_MBL, latent_MBL

    def penalty_MB(self, z_MBL, pre_MBL, latent_MBL):
        """The KL term per sample, 1/2 ||mu||^2 (with the authors' clip: 1/2 ||clip(z, -10, 10)||^2 of the latent
        before Top-K, noise included)."""

        def theirs():
            return 0.5 * ops.sum(ops.square(ops.clip(latent_MBL, -AUTHORS_KL_CLIP, AUTHORS_KL_CLIP)), -1)

        def ours():
            return 0.5 * ops.sum(ops.square(ops.relu(pre_MBL)), axis=-1)

        if self.kl_clip_M.all():
            return theirs()
        if not self.kl_clip_M.any():
            return ours()
        return ops.where(ops.convert_to_tensor(self.kl_clip_M[:, None]), theirs(), ours())

    def auxk_terms(self, pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL, k_aux):
        """Gao et al.'s AuxK (the base's) or the authors' (:func:`ksc.saes.auxk.authors_auxk_loss`), member by member,
        each with its own ``dead_after``; ``pick`` selects the members that use AuxK."""
        used = np.flatnonzero(self.auxk_M)
        theirs_U, after_U = self.auxk_authors_M[used], self.dead_after_M[used]
        if not theirs_U.any() and _same(after_U) and after_U[0] == self.dead_after:
            return super().auxk_terms(pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL, k_aux)
        parts, order = [], []
        for authors in (False, True):
            group = np.flatnonzero(theirs_U == authors)
            if not len(group):
                continue
            whole = len(group) == len(used)
            index = ops.convert_to_tensor(group.astype("int32"))

            def sub(t, whole=whole, index=index):  # this group's rows among the members that use AuxK
                return pick(t) if whole else ops.take(pick(t), index, axis=0)

            after = after_U[group]
            dead_after = int(after[0]) if _same(after) else ops.convert_to_tensor(after.astype("float32")[:, None])
            k = [k_aux[i] for i in group]
            x, x_hat, z, W_dec, since = (sub(t) for t in (x_MBD, x_hat_MBD, z_MBL, self.W_dec, self.since_fired))
            if authors:
                loss, since = authors_auxk_loss(
                    x, x_hat, z, sub(latent_MBL), W_dec, sub(self.b_dec), since, dead_after, k
                )
            else:
                loss, since = auxk_loss(x, x_hat, z, sub(pre_MBL), W_dec, since, dead_after, k)
            parts.append((loss, since))
            order.extend(group.tolist())
        if len(parts) == 1:
            return parts[0]
        back = ops.convert_to_tensor(np.argsort(np.asarray(order)).astype("int32"))
        loss = ops.take(ops.concatenate([p[0] for p in parts], axis=0), back, axis=0)
        since = ops.take(ops.concatenate([p[1] for p in parts], axis=0), back, axis=0)
        return loss, since

    def activation(self, pre_MBL):
        """The latent before Top-K (and before any noise) from the pre-activation: ReLU here."""
        return ops.relu(pre_MBL)

    def member_latents(self, x_ND, members):
        """(len(members), samples, latents) latents before Top-K of only the given members for the same samples
        (original units): counting dead latents needs no other member's work."""
        index = ops.convert_to_tensor(np.asarray(members, "int32"))
        scale = ops.reshape(ops.convert_to_tensor(self.scale_M[np.asarray(members)]), (-1, 1, 1))
        x = ops.convert_to_tensor(np.asarray(x_ND, "float32"))[None] * scale
        centred = self._centred(x, ops.take(self.b_dec, index, axis=0), self.centre_M[np.asarray(members)])
        pre = ops.matmul(centred, ops.take(self.W_enc, index, axis=0)) + ops.take(self.b_enc, index, axis=0)
        return self.activation(pre)

    def silent_codes(self, x_ND, members) -> np.ndarray:
        """(len(members), samples, latents) evaluation codes of only the given members (:meth:`member_latents`)."""
        members = np.asarray(members, "int32")
        return self._top_k(self.member_latents(x_ND, members), [self.ks[m] for m in members], self.by_abs_M[members])


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


class MemberAdam(FusedAdam):
    """:class:`~ksc.models.fused_adam.FusedAdam` with each member's own optimiser: a constant learning rate or the
    authors' warm-up and decay (:func:`authors_schedule`) of its own peak rate, and its own gradient-norm clip (None:
    none). ``plan``: one (schedule, rate, clip) per member, schedule ``"constant"`` or ``"warmup_decay"``."""

    def __init__(self, plan, total_steps: int, **kwargs):
        schedules, rates, clips = zip(*plan)
        unknown = set(schedules) - set(SCHEDULES.values())
        if unknown:
            raise ValueError(f"schedule must be one of {tuple(SCHEDULES.values())}, got {sorted(unknown)}")
        super().__init__(authors_schedule(1.0, total_steps), **kwargs)  # the schedule's shape, from 0 to 1
        self.scheduled_M = np.asarray([s == "warmup_decay" for s in schedules])
        self.rates_M = np.asarray(rates, "float32")
        self.clips_M = np.asarray([np.inf if c is None else float(c) for c in clips], "float32")

    def update_step(self, gradient, variable, learning_rate):
        factor_M = ops.where(ops.convert_to_tensor(self.scheduled_M), learning_rate, 1.0)
        rate = factor_M * ops.convert_to_tensor(self.rates_M)
        rate = ops.reshape(rate, (-1,) + (1,) * (len(variable.shape) - 1))
        keras.optimizers.Adam.update_step(self, gradient, variable, rate)

    def _clip_gradients(self, grads):
        if not np.isfinite(self.clips_M).any():
            return grads
        squares = [ops.sum(ops.reshape(ops.square(g), (ops.shape(g)[0], -1)), axis=1) for g in grads]
        clips = ops.convert_to_tensor(self.clips_M)
        factor_M = ops.minimum(1.0, clips / (ops.sqrt(sum(squares)) + 1e-12))  # no clip: inf, factor 1
        return [g * ops.reshape(factor_M, (-1,) + (1,) * (len(g.shape) - 1)) for g in grads]


def member_optimiser(members: list, form: str, learning_rate: float, clip_norm: float | None, total_steps: int):
    """The optimiser of one computation: each member's (schedule, learning rate, clip) from its keys
    ``schedule``, ``learning_rate`` and ``clip_norm`` where it has them, else the form's schedule (:data:`SCHEDULES`),
    ``learning_rate`` and ``clip_norm``. Where all members share one, :class:`FusedAdam` as it always was (the
    authors' schedule: :func:`authors_schedule`); otherwise :class:`MemberAdam`."""
    plan = [
        (
            member.get("schedule", SCHEDULES[form]),
            float(member.get("learning_rate", learning_rate)),
            member.get("clip_norm", clip_norm) or None,
        )
        for member in members
    ]
    if len(set(plan)) > 1:
        return MemberAdam(plan, total_steps)
    schedule, rate, clip = plan[0]
    if schedule not in SCHEDULES.values():
        raise ValueError(f"schedule must be one of {tuple(SCHEDULES.values())}, got {schedule!r}")
    return FusedAdam(authors_schedule(rate, total_steps) if schedule == "warmup_decay" else rate, member_clip_norm=clip)


def member_form(member: dict, form: str) -> str:
    """The preset a member follows in every switch and its schedule (``"ours"``, ``"authors"``), else ``"mixed"``."""
    own = {name: member.get(name, PRESETS[form][name]) for name in SWITCHES}
    own["schedule"] = member.get("schedule", SCHEDULES[form])
    for name in FORMS:
        if own == {**PRESETS[name], "schedule": SCHEDULES[name]}:
            return name
    return "mixed"


def _member_inputs(sae: TopKSAE, x_ND: np.ndarray):
    """The same samples (original units) as every member sees them: (members, samples, dim), each scaled."""
    x = ops.convert_to_tensor(np.asarray(x_ND, "float32"))
    return ops.broadcast_to(x, (len(sae.ks),) + tuple(x.shape)) * sae.member_column(sae.scale_M)


def member_outputs(sae: TopKSAE, x_ND: np.ndarray, chunk: int = 2048):
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
        codes, recon = member_outputs(self.sae, self.probe)
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
    sae_class=None,
    after=None,
) -> list[SAEFit]:
    """Trains one SAE per member in one computation, with Adam, and measures each on ``eval_ND``.

    A member is a dict with ``k``, ``seed``, ``noise``, ``beta`` and ``auxk_alpha`` (the switches of
    :class:`TopKSAE`), and where it departs from the preset ``form`` any of :data:`SWITCHES`, ``dead_after`` and
    its optimiser's ``schedule``, ``learning_rate`` and ``clip_norm`` (:func:`member_optimiser`); any other keys
    (labels) are copied into its metrics, with ``form`` the preset it follows (:func:`member_form`).
    ``form="authors"`` also gives the authors' learning-rate schedule, and ``clip_norm`` clips each member's gradient
    norm. ``k_aux`` is the rule for AuxK's number of dead latents (:mod:`ksc.saes.auxk`), needed where some member
    has ``auxk_alpha`` > 0.
    Unless ``input_rms`` is None, every member sees the samples times :func:`input_scale` of the training set
    (at its own ``rms`` where the member gives one), so the vSAE's unit-variance noise has a stated size
    relative to the inputs on every data set; metrics are in the
    original units, codes along unit-length decoder directions. With ``probe_ND``, each member's history holds
    its FVE and fraction of silent latents on those samples after every epoch; with ``count_ND``, its metrics
    add ``dead_counted``, the fraction of latents that fire on none of those samples nor of ``eval_ND``; with
    ``extra_ND``, each fit also carries its codes of those samples. ``sae_class`` is a subclass of :class:`TopKSAE`
    to train instead; ``after(sae)``, called on the trained model, returns one value per member, kept as the fit's
    ``measured``. One :class:`SAEFit` per member, in order; ``wall_seconds`` is the group's wall time divided by its
    size.
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
    sae = (sae_class or TopKSAE)(
        x_train,
        n_latents,
        ks,
        seeds,
        noise=[m["noise"] for m in members],
        beta=[m["beta"] for m in members],
        auxk_alpha=[m["auxk_alpha"] for m in members],
        k_aux=k_aux,
        warmup_steps=round(warmup_fraction * epochs * steps),
        dead_after=[m.get("dead_after", dead_after) for m in members],
        form=form,
        scales=scales,
        **{name: [m.get(name, PRESETS[form][name]) for m in members] for name in SWITCHES},
    )
    optimizer = member_optimiser(members, form, learning_rate, clip_norm, epochs * steps)
    probe = _Probe(sae, probe_ND) if probe_ND is not None else None
    losses = train_epochs(sae, optimizer, seeds, len(x_train), batch_size, epochs, callbacks=[probe] if probe else None)
    codes, reconstructions = member_outputs(sae, eval_ND)
    counted = None
    if count_ND is not None:  # silent on the evaluation set and the counting samples; only members with a latent
        silent = ~np.any(codes != 0, axis=1)  # silent on the evaluation set can have one (the rest count 0)
        counted = np.zeros_like(silent, dtype=np.int64)
        suspects = np.flatnonzero(silent.any(axis=1))
        if len(suspects):
            counted[suspects] = firing_counts(sae, count_ND, suspects)
        counted = np.where(silent, counted, 1)
    extra = member_outputs(sae, extra_ND)[0] if extra_ND is not None else None
    measured = after(sae) if after is not None else [None] * len(members)
    decoders = sae.unit_decoders()
    wall = (time.perf_counter() - start) / len(members)
    runs = []
    for m, member in enumerate(members):
        labels = {key: value for key, value in member.items() if key not in _NOT_LABELS}
        metrics = {
            "seed": seeds[m],
            "k": ks[m],
            "n_latents": n_latents,
            "form": member_form(member, form),
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
        fit = fit._replace(measured=measured[m])
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
