"""What makes V4 work: V4 with one ingredient changed at a time, every variant a member of one computation.

A :class:`Variant` is V4 (784-256-128-latent-128-256-784, the activation after every hidden and latent
Dense layer, Top-K, the target-variance penalty) with its activation family, the activation's constants
(sin(omega x) + alpha tanh(beta x) for the chaos family), its Top-K selection, its penalty form, k and latent
width set. V3 is the ReLU variant without the penalty; dense ReLU is that without Top-K (k = latent width, which
keeps every unit). :class:`VariantMembers` trains any mix of variants of one width together
(``ksc.models.training.train_many`` with ``member_type``); every member starts from the weights ``build_model`` gives
its seed (the same for V4, V3 and dense ReLU) and follows its own data order.

:func:`activation_properties` reads what the draft's Section 5.4 names as the reasons V4 works off the
pre-activations a trained member actually sees: the mean |f'| over them, the fraction where f is flat, and the
fixed points of f (solutions of f(x) = x) inside their central 99 %.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
from keras import ops
from scipy.special import ndtr

from ksc.data import chaos
from ksc.measures.metrics import fve, latent_metrics, mean_predictor_mse, mse
from ksc.models.architectures import build_model
from ksc.models.layers import TargetVarianceRegularizer
from ksc.models.members import MemberAutoencoder, member_topk, variance_gap
from ksc.models.training import train_many
from ksc.runtime.backend import keras

FAMILIES = ("chaos", "relu", "leaky_relu", "elu", "gelu", "tanh")
NAMES = {"chaos": "V4", "relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU", "tanh": "tanh"}
PENALTIES = ("draft", "code", "none")
LEAKY_SLOPE = 0.2  # keras.ops.leaky_relu's default negative slope
DRAFT = dict(omega=8.0, alpha=0.5, beta=4.0)  # sin(8x) + 0.5 tanh(4x), the draft's Section 5.4
FLAT = 0.01  # |f'(x)| below this counts as flat (no gradient passes)
CENTRAL = (0.005, 0.995)  # the quantiles bounding "the relevant domain" of the pre-activations
ACTIVATED = ("enc1", "enc2", "latent", "dec1", "dec2")  # the Dense layers whose output goes through the activation
_PENALTY = TargetVarianceRegularizer()  # target 0.1, strength 0.01, as build_model sets them


@dataclasses.dataclass(frozen=True)
class Variant:
    """One architecture of the ablation; ``factor`` says which ingredient it changes (``default`` for V4)."""

    name: str
    factor: str = "default"
    activation: str = "chaos"
    omega: float = DRAFT["omega"]
    alpha: float = DRAFT["alpha"]
    beta: float = DRAFT["beta"]
    topk: bool = True
    topk_by: str = "abs"
    penalty: str = "draft"
    k: int = 32
    latent_dim: int = 128

    def __post_init__(self):
        if self.activation not in FAMILIES:
            raise ValueError(f"activation must be one of {FAMILIES}, got {self.activation!r}")
        if self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {PENALTIES}, got {self.penalty!r}")
        if not 1 <= self.k <= self.latent_dim:
            raise ValueError(f"k must be from 1 to latent_dim {self.latent_dim}, got {self.k}")

    @property
    def kept(self) -> int:
        """Units Top-K keeps (all of them without Top-K)."""
        return self.k if self.topk else self.latent_dim

    @property
    def constants(self) -> dict:
        return dict(omega=self.omega, alpha=self.alpha, beta=self.beta)


def activation(family: str, x, omega=DRAFT["omega"], alpha=DRAFT["alpha"], beta=DRAFT["beta"]):
    """The activation as Keras ops (the constants may be arrays that broadcast against x)."""
    if family == "chaos":
        return ops.sin(omega * x) + alpha * ops.tanh(beta * x)
    if family == "relu":
        return ops.relu(x)
    if family == "leaky_relu":
        return ops.leaky_relu(x, LEAKY_SLOPE)
    if family == "elu":
        return ops.elu(x)
    if family == "gelu":
        return ops.gelu(x, approximate=False)
    if family == "tanh":
        return ops.tanh(x)
    raise ValueError(f"activation must be one of {FAMILIES}, got {family!r}")


def value_and_slope(family: str, x, omega=DRAFT["omega"], alpha=DRAFT["alpha"], beta=DRAFT["beta"]):
    """(f(x), f'(x)) in float64 NumPy, written out (tests check them against :func:`activation`)."""
    x = np.asarray(x, np.float64)
    if family == "chaos":
        t = np.tanh(beta * x)
        return np.sin(omega * x) + alpha * t, omega * np.cos(omega * x) + alpha * beta * (1 - t**2)
    if family == "relu":
        return np.maximum(x, 0.0), (x > 0).astype(float)
    if family == "leaky_relu":
        return np.where(x > 0, x, LEAKY_SLOPE * x), np.where(x > 0, 1.0, LEAKY_SLOPE)
    if family == "elu":
        negative = np.minimum(x, 0.0)
        return np.where(x > 0, x, np.expm1(negative)), np.where(x > 0, 1.0, np.exp(negative))
    if family == "gelu":
        return x * ndtr(x), ndtr(x) + x * np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    if family == "tanh":
        t = np.tanh(x)
        return t, 1 - t**2
    raise ValueError(f"activation must be one of {FAMILIES}, got {family!r}")


def fixed_points(family: str, low: float, high: float, grid: int = 200_001, **constants) -> tuple[float, float]:
    """Solutions of f(x) = x in [low, high], counted on a grid, and how many of them attract (|f'(x*)| < 1).

    A solution is a sign change of f(x) - x between neighbouring grid points, or a stretch where it is exactly 0,
    counted once; ``inf`` solutions where f(x) = x along a stretch of the interval (ReLU's whole positive half-line:
    there f' = 1, so none of them attracts)."""
    if not low < high:
        return float("nan"), float("nan")
    x = np.linspace(low, high, grid)
    f, slope = value_and_slope(family, x, **constants)
    sign = np.sign(f - x)  # exactly 0 only where f(x) = x in floating point (ReLU's x > 0; tanh at 0)
    zero = sign == 0
    starts = np.flatnonzero(zero & ~np.r_[False, zero[:-1]])
    ends = np.flatnonzero(zero & ~np.r_[zero[1:], False])
    if np.any(ends - starts >= 10):
        return float("inf"), float(np.sum(np.abs(slope[starts[ends - starts < 10]]) < 1))
    crossing = np.flatnonzero(sign[:-1] * sign[1:] < 0)  # a zero between two signs is one point, a stretch
    at = np.r_[starts, crossing]
    return float(len(at)), float(np.sum(np.abs(slope[at]) < 1))


class VariantMembers(MemberAutoencoder):
    """Members of one latent width that differ in activation, its constants, Top-K selection and penalty form.

    The reference models are V4 without a penalty (``build_model("v4", variance_penalty="none")``); each member's
    activation replaces the chaos activation, its Top-K keeps its own k by its own selection, and its penalty is
    added on the latent pre-activation (the draft's form) or the Top-K output (the code's form)."""

    def __init__(self, references, ks, images, dropout_seeds=None, variants=()):
        super().__init__(references, ks, images, dropout_seeds)
        self.variants = tuple(variants)
        if len(self.variants) != self.n_members:
            raise ValueError(f"one variant per member: {self.n_members} members, {len(self.variants)} variants")
        # every family present runs on the whole (M, B, units) tensor and each member takes its own: the same
        # shapes as a group of one family, so a member's numbers do not depend on which families train beside it
        names = np.array([v.activation for v in self.variants])
        self.families = [(family, (names == family)[:, None, None]) for family in dict.fromkeys(names.tolist())]
        self.constants = {
            key: np.array([getattr(v, key) for v in self.variants], "float32")[:, None, None] for key in DRAFT
        }
        self.by = [v.topk_by for v in self.variants]
        strength = lambda form: np.array([_PENALTY.strength * (v.penalty == form) for v in self.variants], "float32")
        self.draft_M, self.code_M = strength("draft"), strength("code")

    def activate(self, h_MBD, settings: dict):
        family, _ = self.families[0]
        out = activation(family, h_MBD, **self.constants)
        for family, mask_M11 in self.families[1:]:
            out = ops.where(mask_M11, activation(family, h_MBD, **self.constants), out)
        return out

    def select(self, h_MBD, settings: dict):
        return member_topk(h_MBD, self.ks, self.by)

    def step_penalty(self, name: str, h_MBD, valid_MB, n):
        if name == "latent" and self.draft_M.any():
            return self.draft_M * ops.abs(variance_gap(h_MBD, valid_MB, n, _PENALTY.target)) / n
        if name == "topk" and self.code_M.any():
            return self.code_M * ops.square(variance_gap(h_MBD, valid_MB, n, _PENALTY.target)) / n
        return 0.0

    def export(self, autoencoders) -> list:
        """No Keras model holds a member's own activation: members are read through :meth:`forward`."""
        return [None] * self.n_members


def activation_properties(variant: Variant, pre_by_layer: dict) -> dict:
    """The Section 5.4 properties of a member's activation, on the pre-activations it saw (layer -> (B, units)), and
    two of its latent layer: the variance the draft's penalty steers (per unit, over samples, of the pre-activation;
    target 0.1) and the fraction of outputs below 0 (what Top-K by absolute value can keep and ReLU cannot give)."""
    pre = np.concatenate([np.ravel(pre_by_layer[name]) for name in ACTIVATED]).astype(np.float64)
    _, slope = value_and_slope(variant.activation, pre, **variant.constants)
    latent = np.asarray(pre_by_layer["latent"], np.float64)
    latent_out, latent_slope = value_and_slope(variant.activation, latent, **variant.constants)
    low, high = np.quantile(pre, CENTRAL)
    at_0 = value_and_slope(variant.activation, 0.0, **variant.constants)
    found, attracting = fixed_points(variant.activation, float(low), float(high), **variant.constants)
    return {
        "mean_abs_derivative": float(np.mean(np.abs(slope))),
        "latent_mean_abs_derivative": float(np.mean(np.abs(latent_slope))),
        "flat_fraction": float(np.mean(np.abs(slope) < FLAT)),
        "expansive_fraction": float(np.mean(np.abs(slope) > 1.0)),
        "derivative_at_0": float(at_0[1]),
        "f_at_0": float(at_0[0]),
        "pre_low": float(low),
        "pre_high": float(high),
        "pre_sd": float(np.std(pre)),
        "fixed_points": found,
        "attracting_fixed_points": attracting,
        "latent_pre_variance": float(np.mean(np.var(latent, axis=0))),
        "latent_negative_fraction": float(np.mean(latent_out < 0)),
    }


class PropertyProbe(keras.callbacks.Callback):
    """Every member on its test images after training: its activation's properties; before training: every member's
    latent metrics and FVE (``floors``: each member's mean-image MSE), and V4's (factor ``default``) properties."""

    def __init__(self, variants, test_MB, floors):
        super().__init__()
        self.variants, self.test_MB, self.floors = list(variants), test_MB, list(floors)
        self.before, self.after, self.untrained = {}, {}, []

    def _measure(self, members) -> tuple:
        taps = {}
        reconstruction, z, _ = self.model.forward(self.test_MB, taps=taps)
        pre = {name: ops.convert_to_numpy(taps[name]) for name in ACTIVATED}
        props = {m: activation_properties(self.variants[m], {name: x[m] for name, x in pre.items()}) for m in members}
        return props, ops.convert_to_numpy(z), ops.convert_to_numpy(reconstruction)

    def on_train_begin(self, logs=None):
        self.before, z, reconstruction = self._measure(
            [m for m, v in enumerate(self.variants) if v.factor == "default"]
        )
        self.untrained = []
        for m, floor in enumerate(self.floors):
            error = mse(self.test_MB[m], reconstruction[m])
            self.untrained.append({**latent_metrics(z[m]), "test_mse": error, "fve": fve(error, floor)})

    def on_train_end(self, logs=None):
        self.after = self._measure(range(len(self.variants)))[0]


class EpochClock(keras.callbacks.Callback):
    """Wall seconds of every training epoch (the first one includes compiling the computation)."""

    def __init__(self):
        super().__init__()
        self.seconds, self._start = [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def per_run(self, n_members: int) -> float:
        """Training seconds per model-run without compiling: the later epochs' mean time, times the epochs, over the
        members (the first epoch's own time where there is only one)."""
        later = self.seconds[1:] or self.seconds
        return float(np.mean(later) * len(self.seconds) / n_members)

    def spread(self) -> float:
        """Relative spread (sd over mean) of the later epochs' times: how far one timing can be trusted."""
        later = np.asarray(self.seconds[1:] or self.seconds)
        return float(np.std(later) / np.mean(later)) if len(later) > 1 else float("nan")


def parameter_count(variant: Variant) -> int:
    """Trainable parameters of the Keras model of the variant's kind at its width (the activation has none)."""
    kind = "v4" if variant.activation == "chaos" else ("v3" if variant.topk else "dense_relu")
    return int(build_model(kind, latent_dim=variant.latent_dim, k=variant.kept).model.count_params())


def train_variants(variants, data: dict, seeds, **settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every variant (one latent width) on every data set (name -> Splits, or name -> one Splits per seed:
    :func:`ksc.data.chaos.splits_per_seed`) and seed, as one computation.

    Returns the per-run metrics (one row per variant, data set and seed; ``wall_seconds`` is the computation's wall
    time over its members, ``train_seconds_per_run`` the same for training alone, compiling left out), the
    activation properties of each run trained and of V4's untrained (column ``training``), and every run's latent
    metrics and FVE at its initial weights (the null reference: what the architecture gives before any learning).
    """
    widths = {v.latent_dim for v in variants}
    if len(widths) != 1:
        raise ValueError(f"variants trained together need one latent width, got {sorted(widths)}")
    grid = [(v, name, s) for v in variants for name in data for s in seeds]
    members = tuple(v for v, _, _ in grid)
    splits = [chaos.for_seed(data[name], s) for _, name, s in grid]
    floors = [mean_predictor_mse(split.train, split.test) for split in splits]
    probe = PropertyProbe(members, np.stack([split.test for split in splits]), floors)
    clock = EpochClock()
    fits = train_many(
        "v4",
        splits,
        seeds=[s for _, _, s in grid],
        labels=[f"{v.name} on {name}" for v, name, _ in grid],
        ks=[v.kept for v in members],
        latent_dim=widths.pop(),
        variance_penalty="none",
        member_type=VariantMembers,
        member_options={"variants": members},
        callbacks=[probe, clock],
        **settings,
    )
    counts = {v: parameter_count(v) for v in variants}
    keys = [
        dict(
            variant=v.name,
            factor=v.factor,
            dataset=name,
            activation=v.activation,
            **v.constants,
            topk_by=v.topk_by,
            penalty=v.penalty,
            latent_dim=v.latent_dim,
            k=v.kept,
            parameters=counts[v],
            train_seconds_per_run=clock.per_run(len(grid)),
            epoch_time_spread=clock.spread(),
        )
        for v, name, _ in grid
    ]
    runs = pd.DataFrame([{**key, **fit.metrics} for key, fit in zip(keys, fits)])
    untrained = pd.DataFrame([{**key, "seed": s, **m} for key, (_, _, s), m in zip(keys, grid, probe.untrained)])
    properties = pd.DataFrame(
        [
            {**keys[m], "seed": grid[m][2], "training": training, **measured[m]}
            for training, measured in (("trained", probe.after), ("untrained", probe.before))
            for m in sorted(measured)
        ]
    )
    return runs, properties, untrained


def ablation_variants(
    omegas, alphas, betas, families, value_families=(), penalties=("draft",), corners: bool = True, k=32, latent_dim=128
) -> list[Variant]:
    """V4 and its one-at-a-time changes: each of omega, alpha, beta off its default; each activation family in place
    of the chaos activation; Top-K by signed value for ``value_families``; each other penalty form; with ``corners``,
    the four corners of the (alpha, beta) grid with alpha > 0 (alpha = 0 leaves beta without effect)."""
    base = dict(k=k, latent_dim=latent_dim)
    variants = [Variant("V4", "default", **base)]
    variants += [Variant(f"ω={w:g}", "omega", omega=float(w), **base) for w in omegas if w != DRAFT["omega"]]
    for a in alphas:
        if a != DRAFT["alpha"]:
            name = f"α={a:g}" + (f" (sin({DRAFT['omega']:g}x) alone)" if a == 0 else "")
            variants.append(Variant(name, "alpha", alpha=float(a), **base))
    variants += [Variant(f"β={b:g}", "beta", beta=float(b), **base) for b in betas if b != DRAFT["beta"]]
    if corners:
        positive = [a for a in alphas if a > 0]
        for a in sorted({min(positive), max(positive)}):
            for b in sorted({min(betas), max(betas)}):
                if a != DRAFT["alpha"] and b != DRAFT["beta"]:
                    variants.append(
                        Variant(f"α={a:g}, β={b:g}", "alpha and beta", alpha=float(a), beta=float(b), **base)
                    )
    variants += [Variant(NAMES[f], "activation", activation=f, **base) for f in families if f != "chaos"]
    for f in value_families:
        variants.append(Variant(f"{NAMES[f]} by value", "Top-K selection", activation=f, topk_by="value", **base))
    variants += [Variant(f"penalty {p}", "penalty", penalty=p, **base) for p in penalties if p != "draft"]
    return variants


def scale_variants(latent_dim: int, k: int) -> dict[str, list[Variant]]:
    """At one latent width: V4 with k = latent_dim/4 and with the fixed k, V3 with k = latent_dim/4 and dense ReLU,
    as two computations (chaos activation, ReLU) so that each one's training time per model-run is its own."""
    quarter = max(1, latent_dim // 4)
    chaos = [Variant("V4 (k = d/4)", "scale", k=quarter, latent_dim=latent_dim)]
    if k <= latent_dim:  # also where k = latent_dim/4 (then the same run twice): both computations get equal sizes
        chaos.append(Variant(f"V4 (k = {k})", "scale", k=k, latent_dim=latent_dim))
    relu = dict(activation="relu", penalty="none", latent_dim=latent_dim)
    relu_group = [
        Variant("V3 (k = d/4)", "scale", k=quarter, **relu),
        Variant("dense ReLU", "scale", topk=False, k=quarter, **relu),
    ]
    return {"chaos": chaos, "relu": relu_group}
