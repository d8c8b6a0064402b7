"""The three pieces the KSC draft adds to a plain autoencoder, in backend-agnostic Keras 3.

- the chaos activation sin(omega x) + alpha tanh(beta x);
- Top-K: keep the k largest entries of each row (by value, as the draft's listing does, or by
  absolute value, as the authors' code does) and zero the rest;
- the target-variance regulariser: lambda * |mean_d var(z_d) - target| (the draft's listing) or
  lambda * (mean_d var(z_d) - target)^2 (the authors' code).
"""

from __future__ import annotations

from keras import ops

from ksc.runtime.backend import keras

TOPK_SELECTIONS = ("value", "abs")
VARIANCE_FORMS = ("abs", "squared")


def chaos_activation(x, omega: float = 8.0, alpha: float = 0.5, beta: float = 4.0):
    """sin(omega x) + alpha tanh(beta x); bounded by 1 + alpha."""
    return ops.sin(omega * x) + alpha * ops.tanh(beta * x)


@keras.saving.register_keras_serializable(package="ksc")
class ChaosActivation(keras.layers.Layer):
    """Layer form of :func:`chaos_activation` with its three constants as settings."""

    def __init__(self, omega: float = 8.0, alpha: float = 0.5, beta: float = 4.0, **kwargs):
        super().__init__(**kwargs)
        self.omega, self.alpha, self.beta = float(omega), float(alpha), float(beta)

    def call(self, x):
        return chaos_activation(x, self.omega, self.alpha, self.beta)

    def get_config(self):
        return {**super().get_config(), "omega": self.omega, "alpha": self.alpha, "beta": self.beta}


def topk_mask(x_BD, k: int, by: str = "abs"):
    """0/1 mask of the k selected entries in every row of x_BD."""
    scores = ops.abs(x_BD) if by == "abs" else x_BD
    _, idx_BK = ops.top_k(scores, k=k)
    return ops.max(ops.one_hot(idx_BK, ops.shape(x_BD)[-1], dtype=x_BD.dtype), axis=1)


@keras.saving.register_keras_serializable(package="ksc")
class TopK(keras.layers.Layer):
    """Keeps the k selected entries of each row and zeroes the others (gradient flows through the kept ones)."""

    def __init__(self, k: int, by: str = "abs", **kwargs):
        super().__init__(**kwargs)
        if by not in TOPK_SELECTIONS:
            raise ValueError(f"by must be one of {TOPK_SELECTIONS}, got {by!r}")
        self.k, self.by = int(k), by

    def call(self, x_BD):
        return x_BD * ops.stop_gradient(topk_mask(x_BD, self.k, self.by))

    def get_config(self):
        return {**super().get_config(), "k": self.k, "by": self.by}


@keras.saving.register_keras_serializable(package="ksc")
class TargetVarianceRegularizer(keras.regularizers.Regularizer):
    """Pulls the mean per-unit batch variance of an activation towards a target.

    Used as an activity regulariser, so Keras divides it by the batch size, as it did for the authors.
    """

    def __init__(self, target: float = 0.1, strength: float = 0.01, form: str = "abs"):
        if form not in VARIANCE_FORMS:
            raise ValueError(f"form must be one of {VARIANCE_FORMS}, got {form!r}")
        self.target, self.strength, self.form = float(target), float(strength), form

    def __call__(self, x_BD):
        gap = ops.mean(ops.var(x_BD, axis=0)) - self.target
        return self.strength * (ops.abs(gap) if self.form == "abs" else ops.square(gap))

    def get_config(self):
        return {"target": self.target, "strength": self.strength, "form": self.form}
