"""Every notebook parameter, declared once: its type, what it may be, and what it means.

``RULES`` is the one table. Each chapter's first cell after its ``parameters`` cell checks the
chapter's values against it (``check``, called by ``ksc.book.chapter.start``), so a bad value stops
the run at once with one line naming the parameter, its value and what is allowed, before any
training starts and before any results file is touched. ``ksc list`` prints the same meanings and
bounds, and the comment after each name in a ``parameters`` cell (what ``papermill --help-notebook``
shows) is written from this table by ``python -m ksc.book.cells``.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

from ksc.book import footprint


class ParameterError(ValueError):
    """A notebook parameter outside what the chapter accepts."""

    def _render_traceback_(self):
        # IPython (and so Jupyter and papermill) shows exactly this instead of a traceback.
        return [f"ParameterError: {self}"]


def _fail(name, value, allowed):
    raise ParameterError(f"{name} = {value!r} is not allowed: {allowed}")


def integer(name: str, value, low: int = 1, high: int | None = None) -> int:
    """An int in [low, high] (bools are refused)."""
    allowed = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        _fail(name, value, allowed)
    if value < low or (high is not None and value > high):
        _fail(name, value, allowed)
    return int(value)


def real(name: str, value, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
    """A number in the interval from low to high (open or closed at each end)."""
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    allowed = f"a finite number in {interval}"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        _fail(name, value, allowed)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        _fail(name, value, allowed)
    return float(value)


def choice(name: str, value, options) -> str:
    """One of a fixed set of names."""
    if value not in options:
        _fail(name, value, "one of " + ", ".join(repr(o) for o in options))
    return value


def integers(name: str, values, low: int = 0, high: int | None = None, min_len: int = 1) -> list[int]:
    """A non-empty list of ints, each in [low, high]."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        _fail(name, values, f"a list of at least {min_len} integers")
    values = list(values)
    if len(values) < min_len:
        _fail(name, values, f"a list of at least {min_len} integers")
    for i, v in enumerate(values):
        integer(f"{name}[{i}]", v, low, high)
    return [int(v) for v in values]


def text(name: str, value) -> str:
    """A non-empty string (a path or a label)."""
    if not isinstance(value, str) or not value.strip():
        _fail(name, value, "a non-empty string")
    return value


def choices(name: str, values, options, min_len: int = 1) -> list[str]:
    """A list of names (at least ``min_len``), each one of a fixed set."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or len(list(values)) < min_len:
        _fail(name, values, "a non-empty list drawn from " + ", ".join(repr(o) for o in options))
    for i, v in enumerate(values):
        choice(f"{name}[{i}]", v, options)
    return list(values)


def reals(name: str, values, low: float, high: float, low_open: bool = False, min_len: int = 1) -> list[float]:
    """A list of numbers (at least ``min_len``), each in the interval from low to high."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or len(list(values)) < min_len:
        _fail(name, values, "a non-empty list of numbers")
    return [real(f"{name}[{i}]", v, low, high, low_open=low_open) for i, v in enumerate(values)]


# ---------------------------------------------------------------------------------------------------
# The table

Bound = Any  # a number, or a function of the parameters checked so far (declared earlier in RULES)


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one parameter may be. ``low``/``high``/``options`` may depend on parameters declared before it."""

    kind: str  # int, real, flag, choice, text, ints, reals, choices
    meaning: str
    low: Bound = None
    high: Bound = None
    low_open: bool = False
    high_open: bool = False
    options: Bound = ()
    min_len: int = 1
    must_include: tuple = ()

    def allowed(self, checked: dict | None = None) -> str:
        """What the rule allows, in words (bounds that depend on other parameters are named)."""
        low, high, options = (_resolve(b, checked) for b in (self.low, self.high, self.options))
        if self.kind in ("int", "ints"):
            text = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
        elif self.kind in ("real", "reals"):
            text = f"a finite number in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
        elif self.kind == "flag":
            text = "true or false"
        elif self.kind in ("choice", "choices"):
            text = "one of " + ", ".join(repr(o) for o in options)
        else:
            text = "a non-empty string"
        if self.kind in ("ints", "reals", "choices"):
            text = f"a list of at least {self.min_len}, each {text}"
        if self.must_include:
            text += f", including {', '.join(map(repr, self.must_include))}"
        return text

    def check(self, name: str, value, checked: dict):
        low, high, options = (_resolve(b, checked) for b in (self.low, self.high, self.options))
        if self.kind == "int":
            return integer(name, value, low if low is not None else 0, high)
        if self.kind == "real":
            return real(name, value, low, high, self.low_open, self.high_open)
        if self.kind == "flag":
            return choice(name, value, (True, False))
        if self.kind == "choice":
            return choice(name, value, options)
        if self.kind == "text":
            return text(name, value)
        if self.kind == "ints":
            values = integers(name, value, low if low is not None else 0, high, self.min_len)
        elif self.kind == "reals":
            values = reals(name, value, low, high, low_open=self.low_open, min_len=self.min_len)
            if len(values) < self.min_len:
                _fail(name, value, self.allowed(checked))
        else:
            values = choices(name, value, options, self.min_len)
            if len(values) < self.min_len:
                _fail(name, value, self.allowed(checked))
        missing = [m for m in self.must_include if m not in values]
        if missing:
            _fail(name, value, self.allowed(checked))
        return values


def _resolve(bound, checked):
    if callable(bound):
        return bound(checked) if checked is not None else getattr(bound, "label", "(set by other parameters)")
    return bound


def _labelled(label: str, bound: Callable) -> Callable:
    """A bound computed from other parameters, named for listings (``ksc list``)."""
    bound.label = label
    return bound


def _constant(module: str, name: str) -> Callable:
    """A constant of a science module, imported only when a rule needs it (keeps `ksc list` fast)."""
    return _labelled(f"{module}.{name}", lambda checked: getattr(importlib.import_module(module), name))


@lambda f: _labelled("the narrowest latent width", f)
def _latents(checked: dict) -> int:
    """The narrowest latent width among the chapter's widths."""
    widths = ("latent_dim", "image_latents", "synthetic_latents", "network_latents", "lm_latents")
    return min(checked[n] for n in widths if n in checked)


@lambda f: _labelled("what n_features and decay allow", f)
def _max_active(checked: dict) -> float:
    from ksc.data.superposition import max_active

    return round(max_active(checked["n_features"], checked["decay"]), 3)


@lambda f: _labelled("2^32 - 1 - n_seeds", f)
def _SEED_MAX(checked: dict) -> int:
    """Keras seeds NumPy's legacy generator, which takes seeds below 2^32; chapters add up to n_seeds to a seed."""
    return 2**32 - 1 - checked.get("n_seeds", 1)


def _n(meaning: str, low: int = 1, high=None) -> Rule:
    return Rule("int", meaning, low=low, high=high)


POSITIVE = dict(low=0.0, high=1e6, low_open=True)
NON_NEGATIVE = dict(low=0.0, high=1e6)
MODELS = _constant("ksc.models.architectures", "MODELS")

# In checking order: a bound may name a parameter declared above it.
RULES: dict[str, Rule] = {
    # data
    "n_train": _n("training images per data set (KSC paper: 2000)", 2),
    "n_val": _n("validation images (KSC paper: 200)"),
    "n_test": _n("test images; every image metric is measured on these (KSC paper: 500)", 2),
    "r": Rule(
        "real", "logistic-map parameter (authors' code: 3.99; draft text: 3.9)", low=0.0, high=4.0, low_open=True
    ),
    "r_text": Rule(
        "real", "the logistic-map parameter the draft's Section 4.1 states", low=0.0, high=4.0, low_open=True
    ),
    "n_seeds": _n("training seeds per configuration"),
    "data_seed": _n(
        "seed of the generated data: images, orbit start points, synthetic samples (see the chapter)", 0, _SEED_MAX
    ),
    "vary_data": Rule("flag", "each training seed draws its own images (data_seed + i), so the spread covers both"),
    "datasets": Rule(
        "choices",
        "training data sets: chaotic images and the null controls",
        options=_constant("ksc.data.chaos", "DATASETS"),
        must_include=("logistic",),
    ),
    "systems": Rule(
        "choices", "image data sets; logistic is the draft's reference", options=_constant("ksc.data.chaos", "DATASETS")
    ),
    "n_show": _n("sample images shown per data set", 1, _labelled("min(n_test, 20)", lambda c: min(c["n_test"], 20))),
    "lyapunov_steps": _n("iterates averaged for each Lyapunov estimate", 100),
    "n_identical": _n("copies of one image in the draft's motivating test (draft: 200)", 2),
    # training
    "seed": _n("first training seed; with n_seeds, models train with seed, seed+1, ..., seed+n_seeds-1", 0, _SEED_MAX),
    "epochs": _n("training epochs (KSC paper: 10)"),
    "stability_epochs": _n("epochs of the training-stability run (paper: 30)", 2),
    "batch_size": _n("minibatch size (KSC authors' code: 64)"),
    "learning_rate": Rule(
        "real", "Adam learning rate of every model (KSC paper: 1e-3)", low=0.0, high=1.0, low_open=True
    ),
    # architecture
    "latent_dim": _n("latent units of V1-V4 (and of a same-size dense baseline where one is trained; paper: 128)"),
    "small_latent": _n("latent units of the small dense ReLU baseline (paper: 64)"),
    "k": _n("units kept by Top-K in V3 and V4 (paper: 32)", 1, _labelled("latent_dim", lambda c: c["latent_dim"])),
    "topk_by": Rule(
        "choice", "Top-K selection: abs (authors' code) or value (draft listing)", options=("abs", "value")
    ),
    "variance_penalty": Rule(
        "choice",
        "V4's target-variance penalty: draft (|.| on the pre-activation), code ((.)^2 on the Top-K output) or none",
        options=_constant("ksc.models.architectures", "VARIANCE_PENALTIES"),
    ),
    "models": Rule(
        "choices", "architectures trained (V1-V4 of the draft's Section 5; dense_relu a baseline)", options=MODELS
    ),
    "model": Rule("choice", "the model timed (the paper's V4)", options=MODELS),
    "run_variants": Rule("flag", "also train V4 with the other Top-K selection and with the code's penalty"),
    "null_data": Rule("flag", "train the same grid on uniform-noise images too (the null reference for every K)"),
    "pca_components": Rule("ints", "PCA baselines (32 is V4's number of kept units)", low=1, high=784),
    # training controls (chapter 10)
    "long_epochs": _n("epochs of the longer runs that check convergence", 2),
    "learning_rates": Rule("reals", "Adam learning rates of the convergence runs", low=0.0, high=1.0, low_open=True),
    "convergence_models": Rule(
        "choices", "architectures trained to convergence at every learning rate", options=MODELS
    ),
    "n_iterates": _n("orbit iterates read back from each code by the probes (x1 ... xn: the first pixels)", 1, 784),
    "auxk_alphas": Rule(
        "reals", "weights of the AuxK loss tried on V3 (Gao et al. 2024: 1/32)", low=0.0, high=1e3, low_open=True
    ),
    "k_aux": _n(
        "dead units AuxK lets into its auxiliary code (Gao et al. 2024: half the latent width)",
        1,
        _labelled("latent_dim", lambda c: c["latent_dim"]),
    ),
    "resample_epochs": Rule(
        "ints",
        "epochs after which V3's dead units get new weights (resampling, Bricken et al. 2023)",
        low=1,
        high=_labelled("epochs", lambda c: c["epochs"]),
    ),
    "origin_train": _n(
        "images, all started at x0 0.4, that the Section 1.2 model trains on for its variance test (repository: 500)"
    ),
    "origin_epochs": _n("epochs of the Section 1.2 variance test's training (repository: 2)"),
    "origin_divergence_train": _n(
        "images from random x0 the Section 1.2 model trains on for its divergence test (repository: 1000)", 10
    ),
    "origin_divergence_epochs": _n("epochs of the Section 1.2 divergence test's training (repository: 3)"),
    "origin_delta": Rule(
        "real",
        "initial separation of the Section 1.2 divergence test (repository: 1e-5)",
        low=0.0,
        high=0.1,
        low_open=True,
    ),
    # the divergence test
    "delta": Rule(
        "real", "initial separation of the draft's divergence test (Section 6.3)", low=0.0, high=0.1, low_open=True
    ),
    "n_frames": _n("frames per start point in the draft's divergence protocol", 2),
    "n_runs": _n("start points per divergence protocol", 2),
    "window_deltas": Rule("reals", "nudges of the window protocol", low=0.0, high=0.1, low_open=True),
    "window_steps": _n("iterates the window slides after the nudge", 5),
    # sparse autoencoders (chapter 06)
    "image_latents": _n("latents of every model on the images (V4's latent width in the KSC paper)"),
    "synthetic_latents": _n("SAE latents on the superposition benchmark"),
    "network_latents": _n("SAE latents on the trained network's activations"),
    # a language model's residual stream (chapter 13)
    "lm_model": Rule(
        "choice",
        "language model: SmolLM2-135M-Instruct (4-bit GGUF from the package index) or a tiny random one (smoke runs)",
        options=_constant("ksc.chapters.lm_data", "MODELS"),
    ),
    "site_block": _n(
        "the residual stream after this block (0-based) is what the coders see (the paper: block 0)", 0, 29
    ),
    "context": _n("tokens per window: the beginning-of-text token, then text of one play", 4, 2048),
    "held_out_share": Rule(
        "real",
        "share of the plays held out from the coders' training",
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    ),  # fmt: skip
    "train_tokens": _n("tokens of the training plays the coders train on", 2),
    "val_tokens": _n("tokens of the held-out plays beta is chosen on", 2),
    "test_tokens": _n("tokens of the held-out plays FVE, cosine and L0 are measured on", 2),
    "count_tokens": _n("further tokens on which living latents are counted (with the test tokens)"),
    "loss_windows": _n("held-out windows of the next-token loss with a reconstruction spliced in"),
    "check_windows": _n("held-out windows of the model check's next-token loss"),
    "n_new": _n("tokens of each greedy continuation of the model check"),
    "pilot_epochs": _n("passes over the training tokens of the pilot that chooses beta"),
    "probe_samples": _n("speeches probed (sparse probing, TPP, SCR)", 80),
    "probe_tokens": _n("first tokens of each probed speech, mean-pooled", 1),
    "lm_latents": _n("latents of every coder on the language model (4 x its width in the paper)"),
    "ablate_latents": _n(
        "latents removed per class in TPP and for the spurious label in SCR",
        1,
        _labelled("lm_latents", lambda c: c["lm_latents"]),
    ),
    "ks": Rule("ints", "Top-K sizes swept (every model keeps k latents per sample)", low=1, high=_latents),
    "image_ks": Rule(
        "ints",
        "Top-K sizes of the SAEs on the logistic images",
        low=1,
        high=_labelled("image_latents", lambda c: c["image_latents"]),
    ),
    "betas": Rule(
        "reals",
        "vSAE weights beta of the KL term beta * 1/2 ||mu||^2, a log grid (paper: none given; the authors' runs: 1)",
        **NON_NEGATIVE,
    ),
    "warmup_fraction": Rule(
        "real", "fraction of training over which beta rises linearly from 0 (KL annealing)", low=0.0, high=1.0
    ),
    "auxk_alpha": Rule(
        "real",
        "weight of the AuxK loss for dead latents (Gao et al. and the vSAE authors' code: 1/32)",
        low=0.0,
        high=1e3,
    ),
    "auxk_dead_after": _n("samples a latent must stay silent before AuxK treats it as dead (ours)"),
    "input_rms": Rule(
        "real", "SAE inputs scaled to this RMS per dimension (1: mean squared norm equals the dimension)", **POSITIVE
    ),
    "scale_rms": Rule("reals", "further input scales (RMS per dimension) of the scale check", min_len=0, **POSITIVE),
    "scale_k": Rule(
        "choice",
        "k of the scale check and of the widest dictionary (one of ks)",
        options=_labelled("ks", lambda c: tuple(c["ks"])),
    ),
    "dim": _n("superposition benchmark: dimension d of the samples", 2),
    "n_features": _n("superposition benchmark: number G of true feature directions"),
    "decay": Rule(
        "real",
        "superposition benchmark: feature i fires with probability proportional to (i+1)^-decay",
        low=0.0,
        high=10.0,
    ),
    "n_active": Rule(
        "real",
        "superposition benchmark: mean number of features firing per sample (at most what n_features and decay allow)",
        low=0.0,
        high=_max_active,
        low_open=True,
    ),
    "synthetic_train": _n("superposition benchmark: training samples", 2),
    "synthetic_val": _n("superposition benchmark: validation samples (beta is chosen on these)", 2),
    "synthetic_test": _n("superposition benchmark: evaluation samples", 2),
    "count_samples": _n("fresh samples on which dead latents are counted (the vSAE paper's histograms: 10^5 or more)"),
    "overcomplete_latents": _n("latents of the widest dictionary on the superposition benchmark"),
    "synthetic_epochs": _n("epochs on the superposition benchmark"),
    "synthetic_batch_size": _n("minibatch size on the superposition benchmark"),
    "authors_ks": Rule(
        "ints",
        "k values of the vSAE authors' form",
        low=1,
        high=_labelled("synthetic_latents", lambda c: c["synthetic_latents"]),
    ),
    "authors_learning_rate": Rule(
        "real",
        "peak learning rate of the vSAE authors' form (their recorded runs: 0.0008)",
        low=0.0,
        high=1.0,
        low_open=True,
    ),
    "authors_dead_after": _n("samples before the authors' AuxK treats a latent as dead (their code: 10,000,000)"),
    "authors_clip_norm": Rule("real", "gradient-norm clip of the vSAE authors' form (their code: 1)", **POSITIVE),
    "network_hidden": _n(
        "hidden ReLU units of the network trained on the digits (its activations are the SAEs' data)", 2
    ),
    "network_train": _n("jittered digits whose network activations the SAEs train on", 2),
    "network_epochs": _n("SAE epochs on the network's activations"),
    "tpp_latents": _n(
        "latents removed per digit in targeted probe perturbation",
        1,
        _labelled("network_latents", lambda c: c["network_latents"]),
    ),
    "k_map": Rule(
        "choice",
        "k of the firing-density histograms and decoder maps (one of ks)",
        options=_labelled("ks", lambda c: tuple(c["ks"])),
    ),
    # the SAEs of the draft's Section 7.3 (chapter 09)
    "sae_kinds": Rule(
        "choices",
        "SAE kinds trained: JumpReLU and Gated (named by Section 7.3), ReLU-L1 and TopK+AuxK (before them)",
        options=_constant("ksc.saes.kinds", "VARIANT_KINDS"),
    ),
    "l1_penalties": Rule("reals", "ReLU-L1 SAE: coefficients of the decoder-norm-weighted L1 term, swept", **POSITIVE),
    "jumprelu_penalties": Rule("reals", "JumpReLU SAE: coefficients of the L0 term, swept", **POSITIVE),
    "gated_penalties": Rule("reals", "Gated SAE: coefficients of the L1 term on the gate, swept", **POSITIVE),
    "target_l0": _n(
        "active latents per sample at which the SAEs are compared, and V4's K (the draft: 75 % sparsity of 128, so 32)",
        1,
        _labelled("image_latents", lambda c: c["image_latents"]),
    ),
    "jumprelu_theta0": Rule(
        "real",
        "JumpReLU's initial threshold, in the paper's units (inputs of mean squared norm 1; paper: 0.001)",
        **POSITIVE,
    ),
    "jumprelu_bandwidth": Rule(
        "real", "JumpReLU's pseudo-derivative bandwidth, in the paper's units (paper: 0.001)", **POSITIVE
    ),
    "wide_latents": _n("latents of the wider dictionaries (logistic images, first seed only)"),
    "wide_penalty_factor": Rule(
        "real", "the wider dictionaries' coefficients: every penalty grid times this factor", **POSITIVE
    ),
    # what makes V4 work (chapter 11)
    "omegas": Rule(
        "reals",
        "frequencies omega of sin(omega x) + alpha tanh(beta x) tried (the draft: 8)",
        must_include=(8.0,),
        **POSITIVE,
    ),
    "alphas": Rule(
        "reals",
        "weights alpha of the tanh term tried (the draft: 0.5; 0 leaves sin alone)",
        must_include=(0.5,),
        **NON_NEGATIVE,
    ),
    "tanh_betas": Rule(
        "reals", "gains beta inside the tanh term tried (the draft: 4)", must_include=(4.0,), **POSITIVE
    ),
    "corners": Rule("flag", "also train the four corners of the (alpha, beta) grid with alpha above 0"),
    "families": Rule(
        "choices",
        "activations put in place of the chaos activation, with V4's Top-K and penalty",
        options=_constant("ksc.chapters.ablations.variants", "FAMILIES"),
        must_include=("chaos", "relu"),
    ),
    "value_families": Rule(
        "choices",
        "activations also trained with Top-K by signed value (the draft's listing) instead of absolute value",
        options=_constant("ksc.chapters.ablations.variants", "FAMILIES"),
        min_len=0,
    ),
    "penalties": Rule(
        "choices",
        "forms of the target-variance penalty tried: draft, code or none",
        options=_constant("ksc.chapters.ablations.variants", "PENALTIES"),
        must_include=("draft",),
    ),
    "scale_dims": Rule(
        "ints", "latent widths of the scale sweep (the draft's Section 9.5 asks for 512 and 1024)", low=4
    ),
    "scale_seeds": _n(
        "training seeds per configuration of the scale sweep", 1, _labelled("n_seeds", lambda c: c["n_seeds"])
    ),
    # randomness batteries (chapter 12)
    "bit_sources": Rule(
        "choices",
        "where the tested bits come from: PCG64, a biased coin, logistic maps, trained encoders' latents",
        options=_constant("ksc.randomness.bit_sources", "SOURCES"),
        must_include=("pcg64", "v4", "dense_relu"),
    ),
    "extractions": Rule(
        "choices",
        "how bits are read off: native (a control's own bits), threshold, support (Top-K pattern), mantissa",
        options=_constant("ksc.randomness.bit_sources", "EXTRACTIONS"),
        must_include=("native",),
    ),
    "n_sequences": _n("NIST sequences per stream (NIST asks for at least 55 to check the p-values' uniformity)"),
    "sequence_bits": _n(
        "bits per NIST sequence (NIST: 10^6; shorter leaves out the tests that need 10^6)", 1000, 10**7
    ),
    "biased_p": Rule(
        "real", "probability of a one in the biased-coin control", low=0.0, high=1.0, low_open=True, high_open=True
    ),
    "mantissa_low": _n("lowest bits of each float32 value read by the mantissa extraction", 1, 23),
    "battery_processes": _n("worker processes running NIST and dieharder (bits do not depend on it)", 1, 64),
    "other_sequences": _n(
        "NIST sequences of the streams the conclusion does not read (controls but PCG64's own bits, V3, PCG64's values)"
    ),
    "replicate_seeds": _n(
        "(data seed, training seed) pairs V4 and dense ReLU are trained on and tested for, the chapter's own first"
    ),
    "replicate_sequences": _n("NIST sequences of each replicate's stream (V4's, dense ReLU's and PCG64's alike)"),
    "ent_blocks": _n("blocks each stream is cut into for ent's chi-square (judged by the blocks' p-values)", 1, 1000),
    # timing (the Performance page)
    "members": Rule("ints", "numbers of models trained together (M) by ksc's trainer", low=1),
    "repeats": _n("alternating repeats of both ways of training"),
    "fit_runs": _n("models trained the Keras-fit way in each repeat"),
    # where results go
    "results_dir": Rule("text", "folder of the results files: <results_dir>/<chapter>.json is written there"),
}

# Where a chapter needs more than the table allows everywhere, and why.
CHAPTER_RULES: dict[str, dict[str, dict]] = {
    "02_k_ablation": {"ks": dict(min_len=2)},  # a sweep needs two K
    "03_fair_baselines": {"n_seeds": dict(low=2)},  # Welch tests need two seeds per model
    "04_henon": {"n_seeds": dict(low=2)},  # Welch tests need two seeds per system
    "06_vsae": {"n_seeds": dict(low=2)},  # the factorial's effects are tested over seeds
    "13_language_model": {"n_seeds": dict(low=2)},  # gaps are paired by seed
    # the Section 7.3 predictions are about logistic images; noise is the chapter's null control
    "09_sota_saes": {
        "datasets": dict(must_include=("logistic", "noise")),
        "sae_kinds": dict(must_include=("jumprelu", "gated")),
    },
    # every effect is split into the part noise images show too and the part only chaotic images show
    "11_ablations": {"datasets": dict(must_include=("logistic", "noise")), "n_seeds": dict(low=2)},
    # the conclusions this chapter feeds compare these architectures on chaotic images and on noise
    "10_training_controls": {
        "datasets": dict(must_include=("logistic", "noise")),
        "models": dict(must_include=("dense_relu", "v3", "v4")),
        "convergence_models": dict(must_include=("dense_relu", "v4")),
    },
}


def rule(name: str, chapter: str | None = None) -> Rule:
    """The rule of one parameter, with the chapter's stricter bounds where it has some."""
    if name not in RULES:
        raise ParameterError(f"{name} is not a parameter of the book: the parameters are {', '.join(RULES)}")
    return dataclasses.replace(RULES[name], **CHAPTER_RULES.get(chapter or "", {}).get(name, {}))


def check(values: dict, chapter: str | None = None) -> dict:
    """Checks every value against its rule, in the table's order; returns the checked (normalised) values."""
    unknown = [name for name in values if name not in RULES]
    if unknown:
        rule(unknown[0])
    checked: dict = {}
    for name in RULES:
        if name in values:
            checked[name] = rule(name, chapter).check(name, values[name], checked)
    fits(checked)
    return {name: checked[name] for name in values}


def fits(checked: dict, limit: int | None = None) -> None:
    """Refuses sizes whose arrays would not fit in this machine's memory (``ksc.book.footprint``), naming the
    largest."""
    excess = footprint.too_large(checked, limit)
    if excess:
        name, value, largest, need = excess
        each = "every value " if isinstance(value, (list, tuple)) else ""
        _fail(
            name,
            value,
            f"{each}at most {largest} with the other parameters as set (the arrays would need about "
            f"{footprint.gib(need)}; a chapter may use {footprint.gib(limit or footprint.budget())} on this machine)",
        )
