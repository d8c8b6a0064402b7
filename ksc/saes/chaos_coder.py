"""V4's latent block as a sparse coder of vectors (chapter 13, the draft's Section 7.3 on a language model).

The draft's V4 is an image autoencoder (784 -> 256 -> 128 -> latent -> 128 -> 256 -> 784, sigmoid output); its
sparse code comes from one block: ``Dense -> chaos activation sin(8 x) + 0.5 tanh(4 x) -> Top-K by |z|`` with the
draft's target-variance penalty on the Dense layer's output (:mod:`ksc.models.architectures`). A language model's
residual stream is neither an image nor bounded, so the comparison with SAEs uses that block alone inside an SAE:

    pre = W_enc (x - b_dec) + b_enc,   z = TopK_|.|(sin(8 pre) + 0.5 tanh(4 pre)),   x_hat = W_dec z + b_dec

with the loss of :class:`~ksc.saes.topk_vsae.TopKSAE` (our form: centred input, unit-norm decoder rows, no AuxK)
plus the draft's penalty, 0.01 |mean over latents of the batch variance of ``pre`` - 0.1|, divided by the batch
size as Keras divides an activity penalty. Members take ``topk_by="abs"`` (V4's Top-K keeps signs).
"""

from __future__ import annotations

from keras import ops

from ksc.models.layers import chaos_activation
from ksc.saes.topk_vsae import TopKSAE

OMEGA, ALPHA, BETA = 8.0, 0.5, 4.0  # the draft's chaos activation
VARIANCE_TARGET, VARIANCE_STRENGTH = 0.1, 0.01  # the draft's target-variance penalty ("abs" form)


class ChaosCoder(TopKSAE):
    """M sparse coders with V4's latent block (module docstring); every other part as :class:`TopKSAE`."""

    def activation(self, pre_MBL):
        return chaos_activation(pre_MBL, OMEGA, ALPHA, BETA)

    def further_losses(self, x_MBD, pre_MBL) -> list:
        batch = ops.cast(ops.shape(pre_MBL)[1], "float32")
        gap_M = ops.mean(ops.var(pre_MBL, axis=1), axis=-1) - VARIANCE_TARGET
        return [VARIANCE_STRENGTH * ops.sum(ops.abs(gap_M)) / batch]
