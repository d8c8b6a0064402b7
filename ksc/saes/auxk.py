"""The AuxK loss for dead latents (Gao et al. 2024) on the member axis, the vSAE authors' form of it, and the two rules
for k_aux, the number of dead latents it lets in, that the book's chapters use.

AuxK: a latent silent for more than ``dead_after`` training samples is dead; the ``k_aux`` largest ReLU
pre-activations among the dead latents are decoded (without the decoder bias) and asked to explain the residual
x - x_hat (its gradient stopped); the loss is that error divided by the residual's own squared norm.

The rules take (input width d, number of latents L, the member's k) and give k_aux, at most L:

- :data:`HALF_INPUT_WIDTH`, min(d // 2, L), chapter 06 (the TopK SAE and the vSAE): the vSAE authors' code, whose
  trainer sets ``top_k_aux = activation_dim // 2`` as the ``dictionary_learning`` TopK trainer it comes from does
  (a heuristic that code attributes to Appendix B.1 of Gao et al. 2024);
- :data:`TWICE_K`, min(2k, L), chapter 09 (TopK + AuxK among the Section 7.3 kinds): this book's own rule, the one
  its first TopK SAE used, not taken from a paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keras import ops

from ksc.models.members import member_topk


@dataclass(frozen=True)
class KAuxRule:
    """How many dead latents AuxK lets in: ``rule(d, L, k)`` for input width d, L latents and a member's k."""

    formula: str  # the rule in words a page can print
    source: str  # where it comes from
    of: Callable[[int, int, int], int]

    def __call__(self, dim: int, n_latents: int, k: int) -> int:
        return int(self.of(int(dim), int(n_latents), int(k)))


HALF_INPUT_WIDTH = KAuxRule(
    "min(d // 2, L)",
    "the vSAE authors' code (top_k_aux = activation_dim // 2, as in the dictionary_learning TopK trainer it builds "
    "on, which attributes the heuristic to Appendix B.1 of Gao et al. 2024)",
    lambda dim, n_latents, k: min(dim // 2, n_latents),
)
TWICE_K = KAuxRule(
    "min(2k, L)",
    "this book's own choice, the rule of its first TopK SAE (not taken from a paper)",
    lambda dim, n_latents, k: min(2 * k, n_latents),
)


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


def authors_auxk_loss(
    x_MBD, x_hat_MBD, z_MBL, latent_MBL, W_dec_MLD, b_dec_M1D, since_fired_ML, dead_after: int, k_aux
):
    """The AuxK loss as the vSAE authors' code forms it, which computes something else than :func:`auxk_loss`:
    a latent is dead after ``dead_after`` samples (at least, not more than) in which its code summed over the batch
    was not positive; the ``k_aux[m]`` dead latents of largest |z| (signs kept, from the latent before Top-K) are
    decoded with the decoder's bias; the squared error is divided by the residual's variance about its batch mean
    (not its squared norm). Members with no dead latent get 0."""
    fired_ML = ops.cast(ops.sum(z_MBL, axis=1) > 0, "float32")
    since_ML = (since_fired_ML + ops.cast(ops.shape(x_MBD)[1], "float32")) * (1.0 - fired_ML)
    dead_ML = ops.cast(since_ML >= dead_after, "float32")
    candidates_MBL = latent_MBL * dead_ML[:, None, :]
    z_aux_MBL = member_topk(candidates_MBL, k_aux, by="abs") * dead_ML[:, None, :]
    residual_MBD = ops.stop_gradient(x_MBD - x_hat_MBD)
    error_M = ops.mean(
        ops.sum(ops.square(residual_MBD - ops.matmul(z_aux_MBL, W_dec_MLD) - b_dec_M1D), axis=-1), axis=1
    )
    centred_MBD = residual_MBD - ops.mean(residual_MBD, axis=1, keepdims=True)
    denominator_M = ops.mean(ops.sum(ops.square(centred_MBD), axis=-1), axis=1) + 1e-8
    any_dead_M = ops.cast(ops.sum(dead_ML, axis=-1) > 0, "float32")
    return any_dead_M * error_M / denominator_M, since_ML
