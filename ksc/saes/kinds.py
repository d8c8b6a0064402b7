"""The sparse autoencoders the draft's Section 7.3 names, and the two that came before them, on the shared member-axis
base (:class:`ksc.saes.base.MemberSAE`: start, forward pass, loss, warm-up, AuxK and epoch loop); each kind adds its
encoder nonlinearity and its penalty.

Every kind encodes the input with the decoder bias taken off (x - b_dec; the JumpReLU and ReLU-L1 papers
feed x itself, we centre every kind the same way so that they differ only in how they make codes sparse)
into a non-negative code f and decodes x_hat = f W_dec + b_dec:

- ``relu_l1`` (Anthropic 2024, "Towards Monosemanticity" with the April 2024 update):
  f = ReLU(pre), pre = (x - b_dec) W_enc + b_enc; penalty lambda * sum_i f_i ||W_dec,i|| (decoder norms are
  free, the penalty weights each latent by its decoder norm instead); decoder rows start at norm 0.1.
- ``topk_auxk`` (Gao et al. 2024): f = TopK_k(ReLU(pre)) with unit-norm decoder rows and the AuxK loss
  (weight 1/32 in the paper) that asks latents silent for ``dead_after`` samples to explain the residual;
  the "coefficient" of a member is its k.
- ``jumprelu`` (Rajamanoharan et al. 2024, "Jumping Ahead"): f = pre * H(pre - theta), theta = exp(log_theta)
  per latent; penalty lambda * ||f||_0. H has no derivative, so theta learns through straight-through
  pseudo-derivatives with a rectangle kernel K(u) = 1[|u| < 1/2] of bandwidth eps:
  d/dtheta [pre H(pre - theta)] = -(theta/eps) K((pre - theta)/eps) and d/dtheta H(pre - theta) =
  -(1/eps) K((pre - theta)/eps); pre gets the plain gradient H(pre - theta) from the reconstruction and none
  from the L0 term. Unit-norm decoder rows.
- ``gated`` (Rajamanoharan et al. 2024, "Gated SAEs"): gate pi = pre (W_enc is W_gate, b_enc is b_gate),
  magnitude path with W_mag = exp(r_mag) * W_gate (one shared direction per latent, its own scale and bias),
  f = 1[pi > 0] * ReLU((x - b_dec) W_mag + b_mag); penalty lambda * ||ReLU(pi)||_1 plus the auxiliary
  reconstruction of ReLU(pi) through a frozen (stop-gradient) copy of the decoder. Unit-norm decoder rows.

Simplifications against the papers, none of which touches the sparsity mechanisms: no gradient clipping,
no learning-rate warm-up or decay, Adam with its default beta1 (the DeepMind papers use 0), the component of
the decoder gradient along each decoder row is not removed before the unit-norm projection; AuxK is Gao et al.'s
loss as in :mod:`ksc.saes.auxk` (divided by the residual's squared norm, added to the summed squared error, one
weight for all members) with the k_aux rule the caller names (chapter 09: :data:`ksc.saes.auxk.TWICE_K`, min(2k, L),
not chapter 06's min(d // 2, L)). Penalty coefficients are in the units of the scaled inputs (not converted to any
paper's units).

Codes are reported along unit-length decoder directions (``relu_l1``'s f times its decoder norms) and in the
images' own pixel units (the scaling of the inputs undone), so a code value means the same length in image
space for every kind and every data set. Members differ in data set, seed and coefficient and train as one
computation: the loss is the sum of their own losses.
"""

from __future__ import annotations

import time

import numpy as np
from keras import ops

from ksc.measures.metrics import sae_metrics
from ksc.models.fused_adam import FusedAdam
from ksc.models.members import member_topk
from ksc.runtime.backend import keras
from ksc.saes.auxk import KAuxRule
from ksc.saes.base import MemberSAE, SAEFit, input_scale, train_epochs

VARIANT_KINDS = ("relu_l1", "topk_auxk", "jumprelu", "gated")
PAPER_THETA0 = 1e-3  # the JumpReLU paper's initial threshold, on inputs of mean squared norm 1
UNIT_NORM_KINDS = ("topk_auxk", "jumprelu", "gated")
RELU_L1_INIT_NORM = 0.1  # ReLU-L1's decoder rows start at this length (Anthropic's April 2024 update)


def step_with_pseudo_gradient(pre, theta, bandwidth: float):
    """H(pre - theta) whose derivative in theta is -(1/eps) K((pre - theta)/eps), and 0 in pre."""
    window = ops.cast(ops.abs((pre - theta) / bandwidth) < 0.5, pre.dtype)
    value = ops.cast(pre > theta, pre.dtype)
    return ops.stop_gradient(value) + (theta - ops.stop_gradient(theta)) * ops.stop_gradient(-window / bandwidth)


def jump_relu(pre, theta, bandwidth: float):
    """pre * H(pre - theta): derivative H in pre and -(theta/eps) K((pre - theta)/eps) in theta."""
    window = ops.cast(ops.abs((pre - theta) / bandwidth) < 0.5, pre.dtype)
    gate = ops.stop_gradient(ops.cast(pre > theta, pre.dtype))
    pseudo = ops.stop_gradient(-theta * window / bandwidth)
    return pre * gate + (theta - ops.stop_gradient(theta)) * pseudo


class VariantSAE(MemberSAE):
    """M dictionaries of one kind; member m reads rows ``offsets[m] + i`` of the stacked training samples,
    starts from ``means_MD[m]`` as decoder bias and carries its own coefficient (lambda, or k for TopK).
    ``auxk_alpha`` (one weight for all members) and ``k_aux`` (the rule, :mod:`ksc.saes.auxk`) act for TopK only."""

    def __init__(
        self,
        samples_ND,
        means_MD,
        kind,
        coefficients,
        seeds,
        n_latents,
        theta0=1e-3,
        bandwidth=1e-3,
        warmup_steps=0,
        auxk_alpha=1 / 32,
        k_aux: KAuxRule | None = None,
        dead_after=10_000,
        **kwargs,
    ):
        if kind not in VARIANT_KINDS:
            raise ValueError(f"kind must be one of {VARIANT_KINDS}, got {kind!r}")
        self.kind, self.bandwidth, self.theta0 = kind, float(bandwidth), theta0
        topk = kind == "topk_auxk"
        super().__init__(
            samples_ND,
            n_latents,
            seeds,
            means_MD,
            init_length=RELU_L1_INIT_NORM if kind == "relu_l1" else 1.0,
            unit_norm=kind in UNIT_NORM_KINDS,
            ks=[int(c) for c in coefficients] if topk else None,
            auxk_alpha=float(auxk_alpha) if topk else 0.0,
            k_aux=k_aux if topk else None,
            warmup_steps=warmup_steps,
            dead_after=dead_after,
            **kwargs,
        )
        if not topk:  # the coefficient of a penalty (TopK's sets k instead)
            self.penalty_M = ops.convert_to_tensor(np.asarray(coefficients, "float32"))

    def add_kind_weights(self, M: int, n_latents: int) -> None:
        """JumpReLU's thresholds (log theta, starting at theta0); the Gated SAE's magnitude scale and bias."""
        if self.kind == "jumprelu":
            self.log_theta = self.add_weight(
                shape=(M, 1, n_latents), name="log_theta", initializer=keras.initializers.Constant(np.log(self.theta0))
            )
        if self.kind == "gated":
            self.r_mag = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="r_mag")
            self.b_mag = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="b_mag")

    def encode(self, x_MBD, training: bool = False):
        """(code f, pre-activation, sparsity term per member and sample) for inputs (members, batch, dim)."""
        pre_MBL = ops.matmul(x_MBD - self.b_dec, self.W_enc) + self.b_enc
        if self.kind == "relu_l1":
            f_MBL = ops.relu(pre_MBL)
            return f_MBL, pre_MBL, ops.sum(f_MBL * ops.norm(self.W_dec, axis=-1)[:, None, :], axis=-1)
        if self.kind == "topk_auxk":
            f_MBL = ops.relu(member_topk(pre_MBL, self.ks, by="value"))
            return f_MBL, pre_MBL, ops.zeros(ops.shape(pre_MBL)[:2])
        if self.kind == "jumprelu":
            theta = ops.exp(self.log_theta)
            l0_MB = ops.sum(step_with_pseudo_gradient(pre_MBL, theta, self.bandwidth), axis=-1)
            return jump_relu(pre_MBL, theta, self.bandwidth), pre_MBL, l0_MB
        magnitude_MBL = ops.exp(self.r_mag) * (pre_MBL - self.b_enc) + self.b_mag  # same directions, own scale
        f_MBL = ops.stop_gradient(ops.cast(pre_MBL > 0, pre_MBL.dtype)) * ops.relu(magnitude_MBL)
        return f_MBL, pre_MBL, ops.sum(ops.relu(pre_MBL), axis=-1)

    def penalty_MB(self, f_MBL, pre_MBL, sparsity_MB):
        """The sparsity term :meth:`encode` gives: decoder-norm-weighted L1, L0, or the gate's L1."""
        return sparsity_MB

    def further_losses(self, x_MBD, pre_MBL) -> list:
        """The Gated SAE's auxiliary reconstruction of its gate through the frozen decoder."""
        if self.kind != "gated":
            return []
        frozen_MBD = self.frozen_reconstruction(pre_MBL)
        return [ops.sum(ops.mean(ops.sum(ops.square(x_MBD - frozen_MBD), axis=-1), axis=1))]

    def frozen_reconstruction(self, pi_MBL):
        """The Gated SAE's auxiliary reconstruction: ReLU(gate) through the decoder, which it must not train."""
        return ops.matmul(ops.relu(pi_MBL), ops.stop_gradient(self.W_dec)) + ops.stop_gradient(self.b_dec)

    def unit_codes(self, f_MBL):
        """Codes along unit-length decoder directions: only relu_l1's decoder rows are free, so only its codes are
        multiplied by their lengths (the TopK SAE of :mod:`ksc.saes.topk_vsae` multiplies its unit rows' too)."""
        return super().unit_codes(f_MBL) if self.kind == "relu_l1" else f_MBL


def train_sae_kinds(
    kind,
    datasets: dict,
    members,
    n_latents,
    epochs=10,
    batch_size=64,
    learning_rate=1e-3,
    input_rms=1.0,
    theta0=1e-3,
    bandwidth=1e-3,
    warmup_fraction=0.05,
    auxk_alpha=1 / 32,
    k_aux: KAuxRule | None = None,
):
    """Trains one SAE of ``kind`` per member ``(dataset, coefficient, seed)`` in one computation, with Adam.

    ``datasets`` maps a name to ``(train_ND, eval_ND)``. Each data set is scaled to ``input_rms`` per
    dimension (:func:`ksc.saes.base.input_scale`); ``theta0`` and ``bandwidth`` are given in the JumpReLU paper's
    units (inputs with mean squared norm 1) and converted. ``k_aux`` (the rule for AuxK's number of dead latents,
    :mod:`ksc.saes.auxk`) is needed for ``topk_auxk`` with ``auxk_alpha`` > 0. Metrics are taken on each member's
    evaluation set in the original units, codes along unit decoder directions in pixel units. One :class:`SAEFit`
    per member.
    """
    start = time.perf_counter()
    names = list(datasets)
    scales = {n: input_scale(datasets[n][0], input_rms) for n in names}
    sizes = [len(datasets[n][0]) for n in names]
    first = dict(zip(names, np.cumsum([0] + sizes[:-1])))
    samples = np.concatenate([datasets[n][0] * scales[n] for n in names]).astype("float32")
    seeds = [int(s) for _, _, s in members]
    keras.utils.set_random_seed(seeds[0])
    means = np.stack([np.mean(datasets[d][0], axis=0) * scales[d] for d, _, _ in members])
    n, dim = min(sizes), samples.shape[1]
    in_paper_units = input_rms * np.sqrt(dim)  # the JumpReLU paper's inputs have mean squared norm 1
    sae = VariantSAE(
        samples,
        means,
        kind,
        [c for _, c, _ in members],
        seeds,
        n_latents,
        theta0=theta0 * in_paper_units,
        bandwidth=bandwidth * in_paper_units,
        warmup_steps=round(warmup_fraction * epochs * (n // batch_size)),
        auxk_alpha=auxk_alpha,
        k_aux=k_aux,
        name=kind,
    )
    offsets = np.array([first[d] for d, _, _ in members], dtype=np.int32)
    history = train_epochs(sae, FusedAdam(learning_rate), seeds, n, batch_size, epochs, offsets=offsets)
    return _measure(sae, kind, datasets, members, scales, history, start)


def _measure(sae: VariantSAE, kind, datasets: dict, members, scales: dict, history, start: float) -> list[SAEFit]:
    """Each member's metrics on its own evaluation set: reconstructions in the original units, codes along unit
    decoder directions in pixel units; the wall time since ``start`` shared equally."""
    x_eval = ops.convert_to_tensor(np.stack([datasets[d][1] * scales[d] for d, _, _ in members]).astype("float32"))
    f, _, _ = sae.encode(x_eval)
    pixel_units = np.array([1.0 / scales[d] for d, _, _ in members], "float32")[:, None, None]
    codes = ops.convert_to_numpy(sae.unit_codes(f)) * pixel_units
    reconstructions = ops.convert_to_numpy(sae.decode(f)) * pixel_units
    decoders = sae.unit_decoders()
    wall = (time.perf_counter() - start) / len(members)
    runs = []
    for m, (dataset, coefficient, seed) in enumerate(members):
        train_ND, eval_ND = datasets[dataset]
        described = {"model": kind, "dataset": dataset, "coefficient": coefficient, "seed": seed}
        metrics = {
            **described,
            "n_latents": sae.n_latents,
            **sae_metrics(eval_ND, reconstructions[m], codes[m], train_ND),
        }
        runs.append(SAEFit(kind, seed, {**metrics, "wall_seconds": wall}, codes[m], decoders[m], history, wall))
    return runs
