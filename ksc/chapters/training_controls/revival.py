"""Two standard remedies for dead latents from the sparse-autoencoder literature, applied to V3 (ReLU + Top-K).

The draft credits the chaos activation with keeping every unit alive. These remedies keep ReLU and ask
whether dead units can be revived without it. Both work on the member models of :mod:`ksc.models.members`
(``train_many(..., member_type=..., callbacks=...)``), so every seed trains in one computation.

- **AuxK** (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"): a latent that has not fired
  for ``dead_after`` training samples is dead; the top ``k_aux`` pre-activations among the dead latents
  (raw, before the ReLU, so a unit whose pre-activation is negative everywhere still gets a gradient) are
  added to the living code, and the loss gains ``auxk_alpha`` times the error of that reconstruction.
  Gao et al. decode the residual linearly; our decoder is a network, so the dead latents are asked to
  improve the reconstruction the living ones give (the living code enters with its gradient stopped).
- **Resampling** (Bricken et al. 2023, "Towards Monosemanticity"): at the end of chosen epochs, every
  unit dead on the member's training images gets new incoming weights: the direction of the latent
  layer's input for a training image drawn with probability proportional to its squared reconstruction
  loss; its bias is set to 0 and Adam's moments for these weights are cleared. Bricken et al. scale the new
  weights to 0.2 times the living units' norm, which suits an L1 autoencoder where any positive value is
  kept; under Top-K such a unit would not be kept anywhere, so here the weights are scaled to give the
  unit, on the image it was drawn from, the median size of a value the code keeps. The decoder's weights
  out of the unit are left as they are (the decoder is a network: there is no residual direction to copy).
"""

from __future__ import annotations

import numpy as np
from keras import ops

from ksc.data.chaos import Splits
from ksc.measures.metrics import THRESHOLD
from ksc.models.members import MemberAutoencoder
from ksc.models.training import train_many
from ksc.runtime.backend import keras

REMEDIES = ("none", "auxk", "resample")
LATENT = "latent"  # the name of the latent Dense layer in ksc.models.architectures


class AuxKMembers(MemberAutoencoder):
    """Member autoencoders trained with the AuxK loss on their latent layer (``auxk_alpha``: one weight for all
    members or one per member; ``k_aux``: the number of dead units let in, an explicit argument).

    This is not the SAEs' AuxK (:func:`ksc.saes.auxk.auxk_loss`) and does not compute the same numbers: V3's decoder
    is a network, not one matrix, so here (1) the candidates are the dead units' raw pre-activations, negative ones
    included (the SAEs': ReLU of them); (2) the top ``k_aux`` are added to the living code (its gradient stopped) and
    decoded by the network, and the auxiliary loss is that reconstruction's mean squared error against the image (the
    SAEs': the dead latents alone decode the residual, the error divided by the residual's squared norm); (3) a unit
    fires where its |latent| reaches ``ksc.measures.metrics.THRESHOLD`` on a valid row (the SAEs': a code above 0) and
    is dead from ``dead_after`` samples on, counted before the batch (the SAEs': after more than ``dead_after``,
    counting the batch); (4) a member without dead units adds 0."""

    def __init__(self, references, ks, images, dropout_seeds=None, k_aux=64, auxk_alpha=1 / 32, dead_after=2000):
        super().__init__(references, ks, images, dropout_seeds)
        latent_dim = self.kernels[LATENT].shape[-1]
        if not 1 <= k_aux <= latent_dim:
            raise ValueError(f"k_aux must be from 1 to the latent width {latent_dim}, got {k_aux}")
        self.k_aux, self.dead_after = int(k_aux), float(dead_after)
        alphas = np.broadcast_to(np.asarray(auxk_alpha, "float32"), (self.n_members,))
        self.auxk_alpha = ops.convert_to_tensor(np.array(alphas))  # one weight per member
        # training samples seen since each unit last fired, per member
        self.unfired = self.add_weight(
            shape=(self.n_members, latent_dim), initializer="zeros", trainable=False, name="unfired"
        )

    def restart(self, references, images, dropout_seeds=None) -> None:
        super().restart(references, images, dropout_seeds)
        if hasattr(self, "unfired"):
            self.unfired.assign(np.zeros(self.unfired.shape, "float32"))

    def call(self, rows_BM, training: bool = False):
        target, valid_MB = self.targets(rows_BM)
        taps = {}
        reconstruction, latent, penalty = self.forward(target, valid_MB, training, taps)
        return reconstruction, target, valid_MB, penalty, latent, taps[LATENT]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction, target, valid_MB, penalty, latent, pre = y_pred
        loss = super().compute_loss(x, y, (reconstruction, target, valid_MB, penalty), sample_weight, training)
        n = ops.sum(valid_MB[0])
        fired_MD = ops.max(valid_MB[..., None] * ops.cast(ops.abs(latent) >= THRESHOLD, latent.dtype), axis=1)
        dead_MD = ops.cast(self.unfired >= self.dead_after, latent.dtype)
        if training:
            self.unfired.assign(ops.where(fired_MD > 0, 0.0, self.unfired + n))
        # the top k_aux raw pre-activations among the dead units of each row
        masked = ops.where(dead_MD[:, None, :] > 0, pre, -1e9)
        kth = ops.top_k(masked, k=self.k_aux)[0][..., -1:]
        z_aux = ops.where((masked >= kth) & (dead_MD[:, None, :] > 0), pre, 0.0)
        revived, _ = self.decode(ops.stop_gradient(latent) + z_aux, valid_MB, training)
        squared = ops.mean(ops.square(revived - target), axis=tuple(range(2, len(target.shape))))
        aux_M = ops.sum(valid_MB * squared, axis=1) / n * ops.cast(ops.max(dead_MD, axis=1) > 0, latent.dtype)
        return loss + ops.sum(self.auxk_alpha * aux_M)


class Resampler(keras.callbacks.Callback):
    """Dead-latent resampling at the end of the given epochs (1-based), each member on its own training images."""

    def __init__(self, train_images_M, epochs, seed: int = 0):
        super().__init__()
        self.train_images_M = np.asarray(train_images_M, "float32")  # (M, N, 28, 28)
        self.epochs = {int(e) for e in epochs}
        self.rng = np.random.default_rng([int(seed), 3])
        self.rows: list[dict] = []  # one per (epoch, member): units resampled, and how many of the last ones died again
        self.previous: dict[int, set] = {}

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 not in self.epochs:
            return
        members: MemberAutoencoder = self.model
        taps = {}
        reconstruction, latent, _ = members.forward(self.train_images_M, taps=taps)
        z = ops.convert_to_numpy(latent)
        inputs = ops.convert_to_numpy(taps[f"{LATENT}/input"])
        losses = np.mean(
            (ops.convert_to_numpy(reconstruction) - self.train_images_M).reshape(z.shape[0], z.shape[1], -1) ** 2,
            axis=-1,
        )
        kernel, bias = members.kernels[LATENT], members.biases[LATENT]
        K, b = ops.convert_to_numpy(kernel).copy(), ops.convert_to_numpy(bias).copy()
        reset_K, reset_b = np.zeros(K.shape, bool), np.zeros(b.shape, bool)
        for m in range(z.shape[0]):
            dead = np.flatnonzero(np.all(np.abs(z[m]) < THRESHOLD, axis=0))
            again = len(self.previous.get(m, set()) & set(dead.tolist()))
            self.rows.append({"epoch": epoch + 1, "member": m, "resampled": len(dead), "dead_again": again})
            self.previous[m] = set(dead.tolist())
            if not len(dead):
                continue
            kept = np.abs(z[m][np.abs(z[m]) >= THRESHOLD])
            size = float(np.median(kept)) if kept.size else 1.0
            weights = losses[m] ** 2
            picks = self.rng.choice(len(weights), size=len(dead), p=weights / weights.sum())
            sources = inputs[m][picks]  # (dead, fan_in): the latent layer's input for each drawn image
            # pre-activation on its source image = the median size of a kept value, so the unit enters Top-K there
            K[m][:, dead] = (sources * size / np.maximum(np.sum(sources**2, axis=1, keepdims=True), 1e-12)).T
            b[m][dead] = 0.0
            reset_K[m][:, dead], reset_b[m][dead] = True, True
        kernel.assign(K)
        bias.assign(b)
        optimizer = members.optimizer
        for variable, reset in ((kernel, reset_K), (bias, reset_b)):
            index = optimizer._get_variable_index(variable)
            for moments in (optimizer._momentums, optimizer._velocities):
                moments[index].assign(np.where(reset, 0.0, ops.convert_to_numpy(moments[index])))


def train_v3(remedy: str, data, seeds, k_aux: int = 64, auxk_alpha=1 / 32, resample_epochs=(), **settings):
    """V3 trained with ``remedy`` (one of :data:`REMEDIES`) by :func:`ksc.models.training.train_many`; returns its fits.

    ``auxk_alpha`` is one AuxK weight for all seeds or one per seed (so several weights train as one computation).
    ``settings`` are train_many's (epochs, batch_size, learning_rate, labels, latent_dim, k, ...). AuxK counts a
    unit dead after one epoch's worth of training samples without firing; with resampling, each fit's metrics
    gain ``resampled_units`` (units given new weights, summed over the resampling epochs) and
    ``resampled_dead_again`` (units resampled at one event and dead again at the next).
    """
    if remedy not in REMEDIES:
        raise ValueError(f"remedy must be one of {REMEDIES}, got {remedy!r}")
    datasets = [data] * len(seeds) if isinstance(data, Splits) else list(data)
    if remedy == "auxk":
        alphas = tuple(float(a) for a in np.broadcast_to(np.asarray(auxk_alpha, float), (len(seeds),)))
        options = dict(k_aux=int(k_aux), auxk_alpha=alphas, dead_after=len(datasets[0].train))
        return train_many("v3", datasets, seeds, member_type=AuxKMembers, member_options=options, **settings)
    if remedy == "resample":
        resampler = Resampler(np.stack([d.train for d in datasets]), resample_epochs, seed=int(seeds[0]))
        fits = train_many("v3", datasets, seeds, callbacks=[resampler], **settings)
        for m, fit in enumerate(fits):  # units each member had resampled over all events, and how many died again
            rows = [row for row in resampler.rows if row["member"] == m]
            fit.metrics["resampled_units"] = sum(row["resampled"] for row in rows)
            fit.metrics["resampled_dead_again"] = sum(row["dead_again"] for row in rows)
        return fits
    return train_many("v3", datasets, seeds, **settings)
