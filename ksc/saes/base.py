"""What every sparse autoencoder of the book shares, on one member axis: :class:`MemberSAE`.

M dictionaries (members) of ``n_latents`` directions in R^d train as one computation, each with a leading member
axis on every weight and its own seed and data order; the loss is the sum of the members' own losses, so each
member's gradient is the one it would get alone. Shared by every kind (the TopK SAE and the vSAE in
:mod:`ksc.saes.topk_vsae`, the Section 7.3 kinds in :mod:`ksc.saes.kinds`):

- the start: member m's decoder directions (rows of ``W_dec``, shape (latents, d)) drawn from ``seeds[m]`` alone
  (:func:`decoder_start`; the same seed gives the same start in any group, scaled to a given length), ``W_enc``
  starting as ``W_dec`` transposed, ``b_enc`` at 0, ``b_dec`` where the kind says (the training mean, or 0);
  decoder rows kept at unit length after every optimiser step (a Keras constraint) where the kind says;
- the forward pass and loss (:meth:`MemberSAE.call`): a member reads its own rows of the training samples, encodes
  (the kind's :meth:`~MemberSAE.encode`), decodes x_hat = z W_dec + b_dec and adds the squared error summed over the
  input dimensions and averaged over the batch; in training, the kind's sparsity penalty times its coefficient
  (rising linearly from 0 over ``warmup_steps``, :meth:`~MemberSAE.warmup_ramp`), the kind's further losses, and the
  AuxK loss (:mod:`ksc.saes.auxk`) for the members that use it;
- the epoch loop (:func:`train_epochs`): Adam, one compiled call per epoch, each member on its own permutation
  (:func:`epoch_batches`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from keras import ops

from ksc.runtime.backend import keras
from ksc.saes.auxk import KAuxRule, auxk_loss


def per_member(value, M: int) -> np.ndarray:
    """One float32 value per member from one value for all or one per member."""
    return np.broadcast_to(np.asarray(value, "float32"), (M,)).copy()


def decoder_start(seeds, n_latents: int, dim: int, length: float = 1.0) -> np.ndarray:
    """(members, latents, dim) starting decoder directions: member m's drawn from ``seeds[m]`` alone (normal,
    then every row scaled to ``length``)."""
    W = np.stack([np.random.default_rng([int(s), 2]).standard_normal((n_latents, dim)) for s in seeds])
    W *= length / np.linalg.norm(W, axis=-1, keepdims=True)
    return W


class MemberSAE(keras.Model):
    """M sparse autoencoders of one family on ``samples_ND``; a subclass gives the encoder (:meth:`encode`), and where
    it has them a sparsity penalty (:meth:`penalty_MB` and ``penalty_M``, one coefficient per member), further
    losses (:meth:`further_losses`), extra weights (:meth:`add_kind_weights`) and its AuxK (:meth:`auxk_terms`).

    The model holds the training samples; its input is one row index per (batch row, member), so every member
    reads its own data order. ``b_dec_MD``: each member's starting decoder bias; ``init_length``: the starting
    length of the decoder rows; ``unit_norm``: rows put back to unit length after every step; ``scales``: member m
    sees the samples times ``scales[m]`` (None: as they are). AuxK acts for the members with ``auxk_alpha`` > 0
    (a number weighs the summed AuxK losses of all members, a sequence weighs each member's own) and needs
    ``k_aux``, a :class:`~ksc.saes.auxk.KAuxRule` applied to (d, L, ``ks[m]``).
    """

    penalty_M = None  # coefficients of the sparsity penalty, one per member (None: no penalty)

    def __init__(
        self,
        samples_ND,
        n_latents: int,
        seeds,
        b_dec_MD,
        init_length: float = 1.0,
        unit_norm: bool = True,
        scales=None,
        ks=None,
        auxk_alpha=0.0,
        k_aux: KAuxRule | None = None,
        warmup_steps: int = 0,
        dead_after: int = 10_000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.samples = ops.convert_to_tensor(np.asarray(samples_ND, "float32"))
        M, dim = len(seeds), samples_ND.shape[1]
        self.dim, self.n_latents, self.unit_norm = int(dim), int(n_latents), bool(unit_norm)
        self.ks = None if ks is None else [int(k) for k in ks]
        self.scale_M = None if scales is None else per_member(scales, M)
        self.warmup_steps, self.dead_after = int(warmup_steps), int(dead_after)
        self.auxk_shared = None if np.ndim(auxk_alpha) else float(auxk_alpha)
        self.auxk_M = per_member(auxk_alpha, M)
        if self.auxk_M.any() and (k_aux is None or self.ks is None):
            raise ValueError("AuxK needs Top-K members (ks) and a k_aux rule (ksc.saes.auxk)")
        self.k_aux_M = [k_aux(dim, n_latents, k) for k in self.ks] if k_aux is not None and self.ks else None
        W = decoder_start(seeds, n_latents, dim, init_length)
        self.W_dec = self.add_weight(
            shape=(M, n_latents, dim),
            initializer=keras.initializers.Constant(W),
            constraint=keras.constraints.UnitNorm(axis=-1) if unit_norm else None,
            name="W_dec",
        )
        self.W_enc = self.add_weight(
            shape=(M, dim, n_latents), name="W_enc", initializer=keras.initializers.Constant(np.swapaxes(W, 1, 2))
        )
        self.b_enc = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="b_enc")
        self.b_dec = self.add_weight(
            shape=(M, 1, dim), name="b_dec", initializer=keras.initializers.Constant(np.asarray(b_dec_MD)[:, None, :])
        )
        self.add_kind_weights(M, n_latents)
        # training state the optimiser must not touch: steps taken, samples since each latent fired
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="steps")
        self.since_fired = self.add_weight(
            shape=(M, n_latents), initializer="zeros", trainable=False, name="since_fired"
        )

    def add_kind_weights(self, M: int, n_latents: int) -> None:
        """The kind's own weights, made after the shared ones (none here)."""

    def encode(self, x_MBD, training: bool = False):
        """(code z, pre-activation, a third tensor the kind's penalty or AuxK reads) for inputs (members, batch, d)."""
        raise NotImplementedError

    def penalty_MB(self, z_MBL, pre_MBL, third):
        """The kind's sparsity penalty per member and sample (used where ``penalty_M`` is set)."""
        raise NotImplementedError

    def further_losses(self, x_MBD, pre_MBL) -> list:
        """The kind's losses beyond reconstruction, penalty and AuxK (none here)."""
        return []

    def decode(self, z_MBL):
        return ops.matmul(z_MBL, self.W_dec) + self.b_dec

    def warmup_ramp(self):
        """The penalty's weight this step: rises linearly from 0 to 1 over ``warmup_steps``."""
        return ops.minimum(1.0, self.steps / max(self.warmup_steps, 1))

    def member_column(self, values_M):
        return ops.reshape(ops.convert_to_tensor(values_M), (-1, 1, 1))

    def call(self, rows_BM, training: bool = False):
        x_MBD = ops.transpose(ops.take(self.samples, rows_BM, axis=0), (1, 0, 2))
        if self.scale_M is not None:
            x_MBD = x_MBD * self.member_column(self.scale_M)
        z_MBL, pre_MBL, third = self.encode(x_MBD, training)
        x_hat_MBD = self.decode(z_MBL)
        self.add_loss(ops.sum(ops.mean(ops.sum(ops.square(x_MBD - x_hat_MBD), axis=-1), axis=1)))
        if training:
            self.steps.assign_add(1.0)
            if self.penalty_M is not None:
                penalty_MB = self.penalty_MB(z_MBL, pre_MBL, third)
                self.add_loss(self.warmup_ramp() * ops.sum(self.penalty_M * ops.mean(penalty_MB, axis=1)))
            for loss in self.further_losses(x_MBD, pre_MBL):
                self.add_loss(loss)
            if self.auxk_M.any():
                self.add_loss(self._auxk(x_MBD, x_hat_MBD, z_MBL, pre_MBL, third))
        return x_hat_MBD

    def auxk_terms(self, pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, third, k_aux):
        """(AuxK loss, samples-since-fired) of the members ``pick`` selects: Gao et al.'s (:func:`auxk_loss`)."""
        return auxk_loss(
            pick(x_MBD),
            pick(x_hat_MBD),
            pick(z_MBL),
            pick(pre_MBL),
            pick(self.W_dec),
            pick(self.since_fired),
            self.dead_after,
            k_aux,
        )

    def _auxk(self, x_MBD, x_hat_MBD, z_MBL, pre_MBL, third):
        """The weighted AuxK term of the members that use it (computed for those members only); their rows of
        ``since_fired`` move on, the others' stay."""
        used = np.flatnonzero(self.auxk_M)
        M = len(self.auxk_M)
        index = ops.convert_to_tensor(used.astype("int32"))

        def pick(t):  # the rows of the members that use AuxK (all of them: as they are)
            return t if len(used) == M else ops.take(t, index, axis=0)

        k_aux = [self.k_aux_M[m] for m in used]
        loss_M, since_ML = self.auxk_terms(pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, third, k_aux)
        if len(used) == M:
            self.since_fired.assign(since_ML)
        else:  # rows of members without AuxK stay as they are
            place = np.full(M, len(used), "int32")
            place[used] = np.arange(len(used))
            kept = ops.concatenate([since_ML, ops.zeros_like(since_ML[:1])], axis=0)
            self.since_fired.assign(ops.take(kept, ops.convert_to_tensor(place), axis=0))
        if self.auxk_shared is not None:
            return self.auxk_shared * ops.sum(loss_M)
        return ops.sum(ops.convert_to_tensor(self.auxk_M[used]) * loss_M)

    def unit_codes(self, z_MBL):
        """Codes along unit-length decoder directions: each latent's code times its decoder row's length."""
        return z_MBL * ops.norm(self.W_dec, axis=-1)[:, None, :]

    def unit_decoders(self) -> np.ndarray:
        """(members, latents, d) decoder directions scaled to unit length (a zero row stays 0)."""
        decoders = ops.convert_to_numpy(self.W_dec)
        return decoders / np.maximum(np.linalg.norm(decoders, axis=-1, keepdims=True), 1e-12)


class SAEFit(NamedTuple):
    """One trained SAE measured on its evaluation set (inputs in their original units)."""

    kind: str
    seed: int
    metrics: dict
    codes: np.ndarray  # (n_eval, latents) codes along unit decoder directions
    decoder: np.ndarray  # (latents, d) unit-norm decoder directions
    history: list  # per epoch: training loss (and, where probed, validation FVE and silent fraction)
    wall_seconds: float
    extra_codes: np.ndarray | None = None  # codes of a second sample set, where one was given
    measured: object = None  # what the trainer's ``after`` measured of this member on the trained model


def input_scale(train_ND: np.ndarray, rms: float = 1.0) -> float:
    """Factor that gives the training inputs a root-mean-square of ``rms`` per dimension
    (mean squared norm = rms^2 times the dimension)."""
    return float(rms * np.sqrt(train_ND.shape[1] / np.mean(np.sum(np.square(train_ND, dtype=np.float64), axis=1))))


def epoch_batches(seeds, n: int, batch_size: int, epoch: int) -> np.ndarray:
    """(steps * batch_size, members) row indices of one epoch: a fresh permutation per member, drawn from
    its seed and the epoch alone; the last partial batch is dropped (a different remainder each epoch)."""
    steps = n // batch_size
    orders = [np.random.default_rng([int(s), 3, epoch]).permutation(n)[: steps * batch_size] for s in seeds]
    return np.stack(orders, axis=1).astype(np.int32)


def train_epochs(
    sae: MemberSAE, optimizer, seeds, n: int, batch_size: int, epochs: int, offsets=None, callbacks=None
) -> list[float]:
    """Compiles ``sae`` with ``optimizer`` and trains it ``epochs`` epochs of ``n // batch_size`` steps, one compiled
    call per epoch, member m on rows :func:`epoch_batches` (plus ``offsets[m]``, where its samples start); returns
    each epoch's training loss per member (the summed loss divided by the number of members)."""
    sae.compile(optimizer=optimizer, steps_per_execution=n // batch_size)
    losses = []
    for epoch in range(epochs):
        rows = epoch_batches(seeds, n, batch_size, epoch)
        if offsets is not None:
            rows = rows + offsets
        fit = sae.fit(rows, batch_size=batch_size, shuffle=False, epochs=1, verbose=0, callbacks=callbacks)
        losses.append(fit.history["loss"][0] / len(seeds))
    return losses
