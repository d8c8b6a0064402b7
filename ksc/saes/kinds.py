"""The sparse autoencoders the draft's Section 7.3 names, and the two that came before them, on one member axis.

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
the decoder gradient along each decoder row is not removed before the unit-norm projection; AuxK keeps
``ksc.saes.topk_vsae``'s form (k_aux = 2k, its loss divided by the residual's squared norm, added to the summed squared
error). Penalty coefficients are in the units of the scaled inputs (not converted to any paper's units).

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
from ksc.saes.topk_vsae import SAEFit, auxk_loss, epoch_batches, input_scale

VARIANT_KINDS = ("relu_l1", "topk_auxk", "jumprelu", "gated")
PAPER_THETA0 = 1e-3  # the JumpReLU paper's initial threshold, on inputs of mean squared norm 1
UNIT_NORM_KINDS = ("topk_auxk", "jumprelu", "gated")


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


class VariantSAE(keras.Model):
    """M dictionaries of one kind; member m reads rows ``offsets[m] + i`` of the stacked training samples,
    starts from ``means_MD[m]`` as decoder bias and carries its own coefficient (lambda, or k for TopK)."""

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
        dead_after=10_000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kind not in VARIANT_KINDS:
            raise ValueError(f"kind must be one of {VARIANT_KINDS}, got {kind!r}")
        self.kind, self.n_latents, self.bandwidth = kind, int(n_latents), float(bandwidth)
        self.warmup_steps, self.auxk_alpha, self.dead_after = int(warmup_steps), float(auxk_alpha), int(dead_after)
        self.samples = ops.convert_to_tensor(np.asarray(samples_ND, "float32"))
        self.ks = [int(c) for c in coefficients] if kind == "topk_auxk" else None
        self.penalty = ops.convert_to_tensor(np.asarray(coefficients, "float32"))
        M, dim = len(seeds), samples_ND.shape[1]
        # member m's directions come from its seed alone, as in ksc.saes.topk_vsae (same start in any group)
        W = np.stack([np.random.default_rng([int(s), 2]).standard_normal((n_latents, dim)) for s in seeds])
        W *= (0.1 if kind == "relu_l1" else 1.0) / np.linalg.norm(W, axis=-1, keepdims=True)
        unit = keras.constraints.UnitNorm(axis=-1) if kind in UNIT_NORM_KINDS else None
        self.W_dec = self.add_weight(
            shape=W.shape, initializer=keras.initializers.Constant(W), constraint=unit, name="W_dec"
        )
        self.W_enc = self.add_weight(
            shape=(M, dim, n_latents), name="W_enc", initializer=keras.initializers.Constant(np.swapaxes(W, 1, 2))
        )
        self.b_enc = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="b_enc")
        self.b_dec = self.add_weight(
            shape=(M, 1, dim), name="b_dec", initializer=keras.initializers.Constant(np.asarray(means_MD)[:, None, :])
        )
        if kind == "jumprelu":
            self.log_theta = self.add_weight(
                shape=(M, 1, n_latents), name="log_theta", initializer=keras.initializers.Constant(np.log(theta0))
            )
        if kind == "gated":
            self.r_mag = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="r_mag")
            self.b_mag = self.add_weight(shape=(M, 1, n_latents), initializer="zeros", name="b_mag")
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="steps")
        self.since_fired = self.add_weight(
            shape=(M, n_latents), initializer="zeros", trainable=False, name="since_fired"
        )

    def encode(self, x_MBD):
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

    def decode(self, f_MBL):
        return ops.matmul(f_MBL, self.W_dec) + self.b_dec

    def frozen_reconstruction(self, pi_MBL):
        """The Gated SAE's auxiliary reconstruction: ReLU(gate) through the decoder, which it must not train."""
        return ops.matmul(ops.relu(pi_MBL), ops.stop_gradient(self.W_dec)) + ops.stop_gradient(self.b_dec)

    def unit_codes(self, f_MBL):
        """Codes along unit-length decoder directions (only relu_l1's decoder rows are not unit length)."""
        return f_MBL * ops.norm(self.W_dec, axis=-1)[:, None, :] if self.kind == "relu_l1" else f_MBL

    def call(self, rows_BM, training: bool = False):
        x_MBD = ops.transpose(ops.take(self.samples, rows_BM, axis=0), (1, 0, 2))
        f_MBL, pre_MBL, sparsity_MB = self.encode(x_MBD)
        x_hat_MBD = self.decode(f_MBL)
        self.add_loss(ops.sum(ops.mean(ops.sum(ops.square(x_MBD - x_hat_MBD), axis=-1), axis=1)))
        if training:
            self.steps.assign_add(1.0)
            if self.kind == "topk_auxk":
                if self.auxk_alpha > 0:
                    since = self.since_fired
                    loss_M, since_ML = auxk_loss(
                        x_MBD,
                        x_hat_MBD,
                        f_MBL,
                        pre_MBL,
                        self.W_dec,
                        since,
                        self.dead_after,
                        [min(2 * k, self.n_latents) for k in self.ks],
                    )
                    self.since_fired.assign(since_ML)
                    self.add_loss(self.auxk_alpha * ops.sum(loss_M))
                return x_hat_MBD
            ramp = ops.minimum(1.0, self.steps / max(self.warmup_steps, 1))
            self.add_loss(ramp * ops.sum(self.penalty * ops.mean(sparsity_MB, axis=1)))
            if self.kind == "gated":
                frozen_MBD = self.frozen_reconstruction(pre_MBL)
                self.add_loss(ops.sum(ops.mean(ops.sum(ops.square(x_MBD - frozen_MBD), axis=-1), axis=1)))
        return x_hat_MBD


def train_variants(
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
):
    """Trains one SAE of ``kind`` per member ``(dataset, coefficient, seed)`` in one computation, with Adam.

    ``datasets`` maps a name to ``(train_ND, eval_ND)``. Each data set is scaled to ``input_rms`` per
    dimension (:func:`ksc.saes.topk_vsae.input_scale`); ``theta0`` and ``bandwidth`` are given in the JumpReLU paper's
    units (inputs with mean squared norm 1) and converted. Metrics are taken on each member's evaluation
    set in the original units, codes along unit decoder directions in pixel units. One :class:`SAEFit` per member.
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
    steps = n // batch_size
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
        warmup_steps=round(warmup_fraction * epochs * steps),
        auxk_alpha=auxk_alpha,
        name=kind,
    )
    sae.compile(optimizer=FusedAdam(learning_rate), steps_per_execution=steps)
    offsets = np.array([first[d] for d, _, _ in members], dtype=np.int32)
    history = []
    for epoch in range(epochs):
        rows = epoch_batches(seeds, n, batch_size, epoch) + offsets
        fit = sae.fit(rows, batch_size=batch_size, shuffle=False, epochs=1, verbose=0)
        history.append(fit.history["loss"][0] / len(members))
    return _measure(sae, kind, datasets, members, scales, history, start)


def _measure(sae: VariantSAE, kind, datasets: dict, members, scales: dict, history, start: float) -> list[SAEFit]:
    """Each member's metrics on its own evaluation set: reconstructions in the original units, codes along unit
    decoder directions in pixel units; the wall time since ``start`` shared equally."""
    x_eval = ops.convert_to_tensor(np.stack([datasets[d][1] * scales[d] for d, _, _ in members]).astype("float32"))
    f, _, _ = sae.encode(x_eval)
    pixel_units = np.array([1.0 / scales[d] for d, _, _ in members], "float32")[:, None, None]
    codes = ops.convert_to_numpy(sae.unit_codes(f)) * pixel_units
    reconstructions = ops.convert_to_numpy(sae.decode(f)) * pixel_units
    decoders = ops.convert_to_numpy(sae.W_dec)
    decoders = decoders / np.linalg.norm(decoders, axis=-1, keepdims=True)
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
