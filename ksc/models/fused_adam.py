"""The book's one Adam (:class:`FusedAdam`): Keras's Adam whose update of all weights runs as one XLA computation on
TensorFlow (the same arithmetic, fewer passes over memory), with two options for models whose weights carry the
member axis first: one learning rate per member and each member's gradient clipped to a norm.

Keras's Adam updates each weight with a dozen separate TensorFlow ops (subtract, multiply, add into the first moment;
square, subtract, multiply, add into the second; multiply, square root, add, divide, subtract from the weight), and
each op reads and writes the whole tensor. The member trainer's stacked kernels (M, 784, 256) are larger than the
CPU's cache, so on the 2-core CPU these passes, bound by memory bandwidth, cost about as much as the matrix products.
Compiled by XLA, the same ops become one loop over each tensor.

The numbers stay the same, bit for bit, provided XLA does not contract a multiply and an add into one fused
multiply-add (one rounding instead of two): ``ksc/__init__.py`` caps XLA's instruction set at AVX, which has no FMA
(``--xla_cpu_max_isa=AVX``), and this path runs only where that cap is set, on the TensorFlow backend on a CPU,
outside any distribution strategy; elsewhere the update is Keras's own. ``tests/unit/test_fused_adam.py`` checks the
bits.
"""

from __future__ import annotations

import os
import platform

import numpy as np
from keras import ops

from ksc.runtime.backend import keras

ISA_CAP = "--xla_cpu_max_isa=AVX"


def enabled() -> bool:
    """Whether the update runs as one XLA computation here (see the module's docstring for the conditions)."""
    flags = os.environ.get("XLA_FLAGS", "").split()
    # XLA stops reading its flags at the first word that is not one ("intra_op_parallelism_threads=1", a common
    # recipe for JAX, is not), so the cap counts only before any such word
    capped = ISA_CAP in flags and all(flag.startswith("--") for flag in flags[: flags.index(ISA_CAP)])
    if not (keras.backend.backend() == "tensorflow" and platform.machine().lower() in ("x86_64", "amd64") and capped):
        return False
    import tensorflow as tf

    return not tf.config.list_physical_devices("GPU")  # on a GPU, XLA would compile the update with FMA


class FusedUpdate:
    """Mixin for a Keras optimizer (before it in the bases): its ``update_step`` for every weight, traced once into
    one XLA-compiled function."""

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        import tensorflow as tf

        if not enabled() or tf.distribute.has_strategy():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        variables = [v.value if isinstance(v, keras.Variable) else v for v in trainable_variables]
        fused = getattr(self, "_fused_update", None)
        if fused is None or fused[0] != [id(v) for v in variables]:

            def update_all(grads, rate):
                for gradient, variable in zip(grads, variables):
                    self.update_step(gradient, variable, rate)

            fused = ([id(v) for v in variables], tf.function(update_all, jit_compile=True))
            self._fused_update = fused
        fused[1](list(grads), tf.convert_to_tensor(learning_rate))


class FusedAdam(FusedUpdate, keras.optimizers.Adam):
    """Keras's Adam with :class:`FusedUpdate`, for weights whose first axis is the member axis where an option is set.

    ``member_rates``: member m's weights move at the (scheduled) learning rate times ``member_rates[m]`` (give a
    learning rate of 1 for the rates themselves). ``member_clip_norm``: first each member's gradient (all its weights
    together) is scaled to norm at most this, as ``torch.nn.utils.clip_grad_norm_`` does for one model (it replaces
    Keras's own clipping options). Without either, Keras's Adam as it is.
    """

    def __init__(self, learning_rate=0.001, member_rates=None, member_clip_norm=None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.member_rates = None if member_rates is None else np.asarray(member_rates, "float32")
        self.member_clip_norm = None if member_clip_norm is None else float(member_clip_norm)

    def update_step(self, gradient, variable, learning_rate):
        if self.member_rates is not None:
            rate = ops.reshape(ops.convert_to_tensor(self.member_rates), (-1,) + (1,) * (len(variable.shape) - 1))
            learning_rate = learning_rate * rate
        super().update_step(gradient, variable, learning_rate)

    def _clip_gradients(self, grads):
        if self.member_clip_norm is None:
            return super()._clip_gradients(grads)
        squares = [ops.sum(ops.reshape(ops.square(g), (ops.shape(g)[0], -1)), axis=1) for g in grads]
        factor_M = ops.minimum(1.0, self.member_clip_norm / (ops.sqrt(sum(squares)) + 1e-12))
        return [g * ops.reshape(factor_M, (-1,) + (1,) * (len(g.shape) - 1)) for g in grads]
