"""M autoencoders of one architecture as one Keras model: every weight gets a leading member axis.

Member m is the autoencoder :func:`ksc.models.architectures.build_model` builds (same layers, penalties, Dropout
and Top-K, same initial weights), with kernel ``W[m]`` of a stacked (M, in, out) kernel: a Dense
layer becomes a batched matmul (M, B, in) @ (M, in, out). The training loss is the sum over members of each
member's own loss (mean squared error plus its own penalties), so the gradient with respect to member m's weights is
the gradient of its solo loss, and Adam, being per-parameter, updates each member as if it trained
alone. Activity penalties are divided by the batch size, as Keras does (and did for the authors).

The model holds its images; its input is one row index per (batch row, member), so every member
reads its own data order. Index -1 pads the last, partial batch of an epoch to full size (static
shapes for the compiler); every per-member statistic leaves padding rows out.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from ksc.models.architectures import Autoencoder
from ksc.models.layers import ChaosActivation, TargetVarianceRegularizer, TopK, chaos_activation
from ksc.runtime.backend import keras

KNOWN_PENALTIES = (keras.regularizers.L1, keras.regularizers.L2, keras.regularizers.L1L2, TargetVarianceRegularizer)


def _penalty_weights(regularizer) -> tuple[float, float]:
    """(l1, l2) of a Keras L1 / L2 / L1L2 regulariser."""
    as_float = lambda v: float(ops.convert_to_numpy(v))
    return as_float(getattr(regularizer, "l1", 0.0)), as_float(getattr(regularizer, "l2", 0.0))


def _known(layer, *regularizers):
    for regularizer in regularizers:
        if regularizer is not None and not isinstance(regularizer, KNOWN_PENALTIES):
            raise TypeError(f"no member form for the regulariser {type(regularizer).__name__} of layer {layer.name!r}")
    return regularizers


def _plan(reference: Autoencoder) -> list[tuple]:
    """The reference model's layers as steps (kind, name, settings); input and reshape layers left out."""
    steps = []
    for layer in reference.model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel_penalty, activity_penalty = _known(layer, layer.kernel_regularizer, layer.activity_regularizer)
            steps.append(
                (
                    "dense",
                    layer.name,
                    dict(
                        activation=layer.activation,
                        shape=tuple(layer.kernel.shape),
                        kernel_regularizer=kernel_penalty,
                        activity_regularizer=activity_penalty,
                    ),
                )
            )
        elif isinstance(layer, ChaosActivation):
            steps.append(("chaos", layer.name, dict(omega=layer.omega, alpha=layer.alpha, beta=layer.beta)))
        elif isinstance(layer, keras.layers.Dropout):
            steps.append(("dropout", layer.name, dict(rate=layer.rate)))
        elif isinstance(layer, TopK):
            steps.append(
                (
                    "topk",
                    layer.name,
                    dict(by=layer.by, activity_regularizer=_known(layer, layer.activity_regularizer)[0]),
                )
            )
        elif not isinstance(layer, (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Reshape)):
            raise TypeError(f"no member form for layer {layer.name!r} ({type(layer).__name__})")
    return steps


def member_topk(z_MBD, k_M, by="abs"):
    """Top-K per row with member m keeping k_M[m] entries (ties at the k-th value are all kept).

    ``by`` is "abs" or "value" for all members, or one of them per member. Members that share a k find their
    k-th value together, so no member pays for a larger k than its own."""
    if isinstance(by, str):
        scores = ops.abs(z_MBD) if by == "abs" else z_MBD
    else:
        by_abs_M = np.asarray([b == "abs" for b in by])[:, None, None]
        scores = ops.where(by_abs_M, ops.abs(z_MBD), z_MBD)
    k_M = np.asarray(k_M, "int32")
    if len(set(k_M.tolist())) == 1:
        kth = ops.top_k(scores, k=int(k_M[0]))[0][..., -1:]
    else:
        parts, order = [], []
        for k in sorted(set(k_M.tolist())):
            members = np.flatnonzero(k_M == k)
            chosen = ops.take(scores, ops.convert_to_tensor(members.astype("int32")), axis=0)
            parts.append(ops.top_k(chosen, k=int(k))[0][..., -1:])
            order.extend(members.tolist())
        back = np.argsort(np.asarray(order)).astype("int32")
        kth = ops.take(ops.concatenate(parts, axis=0), ops.convert_to_tensor(back), axis=0)
    return z_MBD * ops.stop_gradient(ops.cast(scores >= kth, z_MBD.dtype))


def variance_gap(z_MBD, valid_MB, n, target: float):
    """Per member, the mean over units of the batch variance over the valid rows, minus ``target`` (M,)."""
    w = valid_MB[..., None]
    mean = ops.sum(w * z_MBD, axis=1, keepdims=True) / n
    return ops.mean(ops.sum(w * ops.square(z_MBD - mean), axis=1) / n, axis=-1) - target


def _activity_penalty(regularizer, z_MBD, valid_MB, n):
    """Per-member activity penalty over the valid rows, divided by the batch size as Keras does."""
    w = valid_MB[..., None]
    if isinstance(regularizer, TargetVarianceRegularizer):
        gap = variance_gap(z_MBD, valid_MB, n, regularizer.target)
        value = regularizer.strength * (ops.abs(gap) if regularizer.form == "abs" else ops.square(gap))
    else:
        l1, l2 = _penalty_weights(regularizer)
        value = l1 * ops.sum(w * ops.abs(z_MBD), axis=(1, 2)) + l2 * ops.sum(w * ops.square(z_MBD), axis=(1, 2))
    return value / n


class MemberMean(keras.metrics.Metric):
    """Per-member mean of a per-batch value, each batch weighted by its number of rows (as Keras's loss)."""

    def __init__(self, n_members: int, name: str = "member_loss"):
        super().__init__(name=name)
        self.n_members = n_members
        self.total = self.add_variable(shape=(n_members,), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values_M, weight):
        self.total.assign_add(values_M * weight)
        self.count.assign_add(weight)

    def result(self):
        mean = self.total / ops.maximum(self.count, 1.0)
        return {f"{self.name}_{m}": mean[m] for m in range(self.n_members)}


class MemberAutoencoder(keras.Model):
    """The models ``references`` (same architecture, from :func:`ksc.models.architectures.build_model`) as one model.

    Member m starts from references[m]'s weights and keeps ks[m] units in Top-K; ``images``
    (n, 28, 28) are what the input row indices select.
    """

    def __init__(self, references, ks, images: np.ndarray, dropout_seeds=None):
        super().__init__(name=f"{references[0].model.name}_members")
        self.steps = _plan(references[0])
        self.encoder_output = references[0].encoder.layers[-1].name
        self.ks = np.asarray(ks, dtype=np.int32)
        if len(self.ks) != len(references):
            raise ValueError(f"one k per model: {len(references)} models, {len(self.ks)} ks")
        self.kernels, self.biases = {}, {}
        for kind, name, settings in self.steps:
            if kind == "dense":
                fan_in, fan_out = settings["shape"]
                # zeros until restart() copies the references' weights in
                self.kernels[name] = self.add_weight(
                    shape=(len(self.ks), fan_in, fan_out), initializer="zeros", name=f"{name}_kernel"
                )
                self.biases[name] = self.add_weight(
                    shape=(len(self.ks), fan_out), initializer="zeros", name=f"{name}_bias"
                )
        self.images = self.add_weight(
            shape=(len(images), int(np.prod(images.shape[1:]))), initializer="zeros", trainable=False, name="images"
        )
        self.image_shape = tuple(images.shape[1:])
        self.member_loss = MemberMean(len(references))
        # one Dropout stream per member, so a member's masks depend on its own seed only, not on its group
        self.dropout_seeds = [keras.random.SeedGenerator(0) for _ in references]
        self.restart(references, images, dropout_seeds)

    @property
    def n_members(self) -> int:
        return len(self.ks)

    def restart(self, references, images: np.ndarray, dropout_seeds=None) -> None:
        """Sets every weight to the references' (same shapes as at construction), the images and the Dropout seeds
        (one per member; default 0, 1, 2, ...)."""
        for name, kernel in self.kernels.items():
            stacked = [np.stack(w) for w in zip(*(r.model.get_layer(name).get_weights() for r in references))]
            kernel.assign(stacked[0])
            self.biases[name].assign(stacked[1])
        self.images.assign(np.asarray(images, keras.config.floatx()).reshape(self.images.shape))
        seeds = range(len(references)) if dropout_seeds is None else dropout_seeds
        if len(seeds) != len(references):
            raise ValueError(f"one Dropout seed per model: {len(references)} models, {len(seeds)} seeds")
        for generator, seed in zip(self.dropout_seeds, seeds):
            generator.state.assign(np.array([seed, 0]).astype(generator.state.dtype))

    def export(self, autoencoders) -> list:
        """Writes member m's weights into autoencoders[m] (same architecture); returns them."""
        weights = {name: (self.kernels[name].numpy(), self.biases[name].numpy()) for name in self.kernels}
        for m, autoencoder in enumerate(autoencoders):
            for name, (kernel, bias) in weights.items():
                autoencoder.model.get_layer(name).set_weights([kernel[m], bias[m]])
        return list(autoencoders)

    def forward(self, x, valid_MB=None, training: bool = False, taps: dict | None = None):
        """(reconstruction (M, B, ...), latent (M, B, D), penalty (M,)) for x: (M, B, 28, 28) or (B, 28, 28) for all.

        ``taps``, a dict, receives each Dense layer's pre-activation (M, B, units) under the layer's name and its
        input under "<name>/input".
        """
        shared = len(x.shape) == 1 + len(self.image_shape)
        h = ops.cast(
            ops.reshape(x, (ops.shape(x)[0], -1) if shared else (self.n_members, ops.shape(x)[1], -1)),
            self.compute_dtype,
        )
        if valid_MB is None:
            valid_MB = ops.ones((self.n_members, ops.shape(h)[-2]), dtype=h.dtype)
        split = [name for _, name, _ in self.steps].index(self.encoder_output) + 1
        latent, penalty = self._run(h, self.steps[:split], valid_MB, training, taps)
        h, decoder_penalty = self._run(latent, self.steps[split:], valid_MB, training, taps)
        return ops.reshape(h, (self.n_members, -1) + self.image_shape), latent, penalty + decoder_penalty

    def decode(self, latent_MBD, valid_MB, training: bool = False):
        """The decoder alone: reconstruction (M, B, ...) and its penalty (M,) for latent codes (M, B, D)."""
        split = [name for _, name, _ in self.steps].index(self.encoder_output) + 1
        h, penalty = self._run(latent_MBD, self.steps[split:], valid_MB, training)
        return ops.reshape(h, (self.n_members, -1) + self.image_shape), penalty

    def _run(self, h, steps, valid_MB, training: bool, taps: dict | None = None):
        """Applies ``steps`` to h; returns the result and the penalties they add (M,)."""
        n = ops.sum(valid_MB[0])
        penalty = ops.zeros((self.n_members,))
        for kind, name, settings in steps:
            if kind == "dense":
                kernel = self.kernels[name]
                pre = ops.matmul(h, kernel) + self.biases[name][:, None, :]  # (B, I) broadcasts
                if taps is not None:
                    taps[name], taps[f"{name}/input"] = pre, h
                h = settings["activation"](pre)
                if settings["kernel_regularizer"] is not None:
                    l1, l2 = _penalty_weights(settings["kernel_regularizer"])
                    penalty = (
                        penalty
                        + l1 * ops.sum(ops.abs(kernel), axis=(1, 2))
                        + l2 * ops.sum(ops.square(kernel), axis=(1, 2))
                    )
            elif kind == "chaos":
                h = self.activate(h, settings)
            elif kind == "dropout" and training:
                h = ops.stack(
                    [keras.random.dropout(h[m], settings["rate"], seed=g) for m, g in enumerate(self.dropout_seeds)]
                )
            elif kind == "topk":
                h = self.select(h, settings)
            if settings.get("activity_regularizer") is not None:
                penalty = penalty + _activity_penalty(settings["activity_regularizer"], h, valid_MB, n)
            penalty = penalty + self.step_penalty(name, h, valid_MB, n)
        return h, penalty

    # Hooks for subclasses whose members differ in more than their weights and k (ksc.chapters.ablations.variants).
    def activate(self, h_MBD, settings: dict):
        """The activation of a "chaos" step (the reference's chaos activation, the same for every member)."""
        return chaos_activation(h_MBD, **settings)

    def select(self, h_MBD, settings: dict):
        """The Top-K step: member m keeps ks[m] entries, selected as the reference's Top-K selects."""
        return member_topk(h_MBD, self.ks, settings["by"])

    def step_penalty(self, name: str, h_MBD, valid_MB, n):
        """A penalty (M,) a subclass adds on the output of step ``name``; none here."""
        return 0.0

    def targets(self, rows_BM):
        """The images (M, B, ...) the row indices select, and which rows are real (M, B) (not padding)."""
        rows_MB = ops.transpose(rows_BM)
        valid_MB = ops.cast(rows_MB >= 0, self.compute_dtype)
        target = ops.reshape(
            ops.take(self.images, ops.maximum(rows_MB, 0), axis=0), (self.n_members, -1) + self.image_shape
        )
        return target, valid_MB

    def call(self, rows_BM, training: bool = False):
        target, valid_MB = self.targets(rows_BM)
        reconstruction, _, penalty = self.forward(target, valid_MB, training)
        return reconstruction, target, valid_MB, penalty

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Sum over members of (mean squared error over the valid rows + the member's penalties)."""
        reconstruction, target, valid_MB, penalty = y_pred
        n = ops.sum(valid_MB[0])
        squared = ops.mean(ops.square(reconstruction - target), axis=tuple(range(2, len(target.shape))))
        loss_M = ops.sum(valid_MB * squared, axis=1) / n + penalty
        self.member_loss.update_state(loss_M, n)
        return ops.sum(loss_M)
