"""The papers' conclusions, judged from the evidence the chapters measured.

``conclusions.csv`` holds one row per sentence of a paper that asserts a result: where it is (section and
line of the seed), the statement in our words, the evidence it needs and its decision rule in words.
Each rule is one function below, registered under the conclusion's id; it reads the results files
through :class:`Evidence` and returns a verdict and one sentence of why. Evidence that no results file
holds gives *not measured*, never a default verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.chapters.ablations.effects import SAME_TOPK_AND_PENALTY
from ksc.chapters.vsae import at_chosen_beta
from ksc.evidence.claims import interval, load_registry
from ksc.evidence.ledger import paired_by_seed
from ksc.models.layers import chaos_activation
from ksc.runtime.results import chapter_results

VERDICTS = (
    "supported",
    "not supported",
    "cannot tell",
    "the paper contradicts itself",
    "not testable here",
    "not measured",
)


class Missing(LookupError):
    """Evidence a conclusion needs is not in the results files."""


class Judgement(NamedTuple):
    verdict: str
    why: str


class Evidence:
    """Read access to the results files and the ledger, raising :class:`Missing` for anything absent."""

    def __init__(self, results_dir, ledger_table: pd.DataFrame, distinct_table: pd.DataFrame):
        self.results_dir = Path(results_dir)
        self.ledger = ledger_table.set_index("id")
        self.distinct = distinct_table.set_index("measurement")
        self.judged: dict[str, Judgement] = {}

    def record(self, chapter: str) -> dict:
        record = chapter_results(self.results_dir, chapter, missing_ok=True)
        if record is None:
            raise Missing(f"no results file for {chapter}")
        return record

    def metrics(self, chapter: str) -> pd.DataFrame:
        frame = self.record(chapter)["metrics"]
        if frame.empty:
            raise Missing(f"{chapter} recorded no metrics")
        return frame

    def table(self, chapter: str, name: str) -> pd.DataFrame:
        tables = self.record(chapter)["tables"]
        if name not in tables:
            raise Missing(f"{chapter} recorded no table {name!r}")
        return tables[name]

    def claim(self, claim_id: str):
        row = self.ledger.loc[claim_id]
        if not np.isfinite(row.measured):
            raise Missing(f"claim {claim_id} was not measured")
        return row

    def measurement(self, key: str):
        if key not in self.distinct.index or not np.isfinite(self.distinct.loc[key, "measured"]):
            raise Missing(f"the measurement {key!r} was not made")
        return self.distinct.loc[key]

    def controls(self) -> pd.DataFrame:
        """Chapter 07's per-run metrics with architecture and data set columns."""
        runs = self.metrics("07_controls")
        return runs.assign(
            architecture=runs.model.str.split(" on ").str[0], dataset=runs.model.str.split(" on ").str[1]
        )

    def control_mean(self, architecture: str, dataset: str, quantity: str) -> float:
        runs = self.controls()
        picked = runs[(runs.architecture == architecture) & (runs.dataset == dataset)]
        if picked.empty:
            raise Missing(f"chapter 07 did not train {architecture} on {dataset}")
        return float(picked[quantity].mean())


RULES: dict[str, Callable[[Evidence], Judgement]] = {}


def rule(conclusion_id: str):
    def register(function):
        RULES[conclusion_id] = function
        return function

    return register


def load() -> pd.DataFrame:
    with resources.files("ksc.conclusions").joinpath("conclusions.csv").open() as handle:
        return pd.read_csv(handle)


def references_cited() -> pd.DataFrame:
    """The draft's references as cited and as published (``references_cited.csv``)."""
    return pd.read_csv(resources.files("ksc.evidence").joinpath("references_cited.csv"))


def rule_history() -> pd.DataFrame:
    """Every change to a rule made after results existed, with its date and reason (``rule_history.csv``)."""
    return pd.read_csv(resources.files("ksc.evidence").joinpath("rule_history.csv"))


def _ci(values) -> tuple[float, float, float]:
    values = np.asarray(values, dtype=float)
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    low, high = interval(float(np.mean(values)), sd, len(values))
    return float(np.mean(values)), low, high


@rule("ksc-chaos-preserved")
def _chaos_preserved(ev: Evidence) -> Judgement:
    claim = ev.claim("abs-v4-variance")
    ratio = ev.control_mean("v4", "logistic", "variance") / ev.control_mean("v4", "noise", "variance")
    why = (
        f"V4's variance {claim.measured:.3g} ({claim.finding}); on logistic images it is {ratio:.2f}× its variance on "
        "uniform noise"
    )
    if claim.verdict == "reproduced" and ratio >= 1.1:
        return Judgement("supported", why + ": the figure depends on chaotic input.")
    return Judgement("not supported", why + ": the figure does not single out chaotic input.")


@rule("ksc-reconstruction")
def _reconstruction(ev: Evidence) -> Judgement:
    runs = ev.metrics("03_fair_baselines")
    fve = runs[runs.model == "v4"].fve
    if fve.empty:
        raise Missing("chapter 03 trained no V4")
    mean, low, high = _ci(fve)
    claim = ev.ledger.loc["abs-v4-valloss"]
    own = (
        f"; the draft's own 0.126 is FVE {1 - claim.claimed / claim.floor:+.3f} against the mean image"
        if np.isfinite(claim.floor)
        else ""
    )
    why = f"V4's test FVE {mean:+.3f} (95 % interval {low:+.3f} to {high:+.3f}, {len(fve)} seeds){own}"
    if low > 0.05:
        return Judgement("supported", why + ".")
    if high < 0.05:
        return Judgement(
            "not supported", why + ": V4 explains almost none of the images' variance beyond the mean image."
        )
    return Judgement("cannot tell", why + ".")


@rule("ksc-dead-units")
def _dead_units(ev: Evidence) -> Judgement:
    v4, v3 = ev.claim("s5.4-v4-dead"), ev.claim("s5.3-v3-dead")
    sweep = ev.metrics("02_k_ablation")
    worst = float(sweep.groupby("model").dead_fraction.mean().max())
    why = f"V4 dead fraction {v4.measured:.3g}, at most {worst:.3g} over the K sweep; V3 (ReLU Top-K) {v3.measured:.3g}"
    if v4.measured <= 0.05 and worst <= 0.05 and v3.measured >= 0.25:
        return Judgement("supported", why + ".")
    return Judgement("not supported", why + ".")


@rule("ksc-divergence")
def _divergence(ev: Evidence) -> Judgement:
    v4, dense = ev.claim("s6.3-window-v4"), ev.claim("s6.3-window-dense")
    kept = [name for name, row in (("V4", v4), ("dense ReLU", dense)) if row.measured >= 0.5]
    return Judgement(
        "the paper contradicts itself",
        f"in the window protocol the latent distance grows at {v4.measured:.2f}× the input's rate for V4 and "
        f"{dense.measured:.2f}× for dense ReLU: "
        + (
            f"{' and '.join(kept)} transmit the divergence, so the Abstract's sentence holds for V4 and 6.3's "
            "'neither' does not"
            if "V4" in kept
            else "V4 does not transmit the divergence, so 6.3 holds"
        )
        + " (the draft's own test could not tell, chapter 05).",
    )


@rule("ksc-first-architecture")
def _first_architecture(ev: Evidence) -> Judgement:
    sae_runs = ev.metrics("06_vsae")
    latents = ev.record("06_vsae")["parameters"]["image_latents"]
    images = sae_runs[(sae_runs.dataset == "logistic") & (sae_runs.model != "v4")]
    images = images.assign(sparsity=1 - images.l0 / latents)
    evolution = ev.metrics("01_evolution")
    others = pd.concat(
        [
            images[["model", "k", "sparsity", "dead_fraction", "variance"]],
            evolution[~evolution.model.str.startswith("v4")][["model", "sparsity", "dead_fraction", "variance"]],
        ]
    )
    means = others.groupby(["model", "k"], dropna=False)[["sparsity", "dead_fraction", "variance"]].mean()
    hits = means[(means.sparsity >= 0.75 - 1e-9) & (means.dead_fraction <= 0.05) & (means.variance >= 0.1)]
    if len(hits):
        named = "; ".join(
            f"{m}{'' if pd.isna(k) else f' k={int(k)}'} (sparsity {r.sparsity:.2f}, dead {r.dead_fraction:.2f}, "
            f"variance {r.variance:.3f})"
            for (m, k), r in hits.iterrows()
        )
        return Judgement("not supported", f"other models trained here reach all three: {named}.")
    return Judgement("supported", "no other model trained on logistic images here reaches all three.")


@rule("ksc-no-fixed-points")
def _no_fixed_points(ev: Evidence) -> Judgement:
    x = np.linspace(-2.0, 2.0, 400_001)
    gap = np.asarray(chaos_activation(x)) - x
    crossings = int(np.sum(np.sign(gap[:-1]) * np.sign(gap[1:]) < 0)) + int(np.any(gap == 0))
    at_zero = float(np.asarray(chaos_activation(np.array([0.0])))[0])
    if crossings:
        return Judgement(
            "not supported",
            f"f(0) = {at_zero:g}, so 0 is a fixed point, as it is for ReLU; f(x) = x has "
            f"{crossings} solutions in [-2, 2].",
        )
    return Judgement("supported", "f(x) = x has no solution in [-2, 2].")


@rule("ksc-v3-collapse")
def _v3_collapse(ev: Evidence) -> Judgement:
    group = ev.measurement("v3 variance")
    if group.finding == "the paper contradicts itself":
        return Judgement("the paper contradicts itself", f"{group.why}; measured {group.measured:.3g}.")
    ok = abs(np.log10(max(group.measured, 1e-30) / 3.6e-5)) <= 0.5
    return Judgement("supported" if ok else "not supported", f"V3's variance is {group.measured:.3g}.")


@rule("ksc-v1-v3-gain")
def _v1_v3_gain(ev: Evidence) -> Judgement:
    registry = load_registry().set_index("id")
    v1_claimed = float(registry.loc["t1-v1-variance", "claimed"])
    v1, v3 = ev.claim("t1-v1-variance"), ev.claim("t1-v3-variance")
    measured = f"we measure V1 {v1.measured:.3g} and V3 {v3.measured:.3g}"
    if v1_claimed == 0:
        return Judgement(
            "the paper contradicts itself",
            f"Table 1 gives V1 a variance of ~{v1_claimed:g}, from which no finite gain (5.4×) follows; {measured}.",
        )
    return Judgement("supported" if abs(v3.measured / v1.measured - 5.4) <= 0.25 * 5.4 else "not supported", measured)


@rule("ksc-henon-general")
def _henon_general(ev: Evidence) -> Judgement:
    henon = ev.claim("s6.2h-ratio")
    noise = ev.control_mean("v4", "noise", "variance") / ev.control_mean("v4", "logistic", "variance")
    why = f"Hénon/logistic ratio {henon.measured:.3f}; noise/logistic ratio {noise:.3f}"
    if abs(noise - 1) <= 0.05:
        return Judgement("not supported", why + ": V4 gives the same variance on images with no attractor at all.")
    if abs(henon.measured - 1) <= 0.05:
        return Judgement("supported", why + ".")
    return Judgement("not supported", why + ".")


@rule("ksc-optimal-k")
def _optimal_k(ev: Evidence) -> Judgement:
    best = ev.claim("s6.2-best-k")
    return Judgement(
        "the paper contradicts itself",
        f"6.2 names K = 8 and the Conclusion K = 32; the score of our sweep is largest at K = {best.measured:.0f} "
        "(the score is the variance times a constant fixed by K, so it ranks K by construction).",
    )


@rule("ksc-compatible")
def _compatible(ev: Evidence) -> Judgement:
    chaos = ev.judged.get("ksc-chaos-preserved") or RULES["ksc-chaos-preserved"](ev)
    window = ev.claim("s6.3-window-v4")
    why = f"ksc-chaos-preserved is {chaos.verdict}; V4's window-protocol rate ratio {window.measured:.2f}"
    if chaos.verdict == "supported" and window.measured >= 0.5:
        return Judgement("supported", why + ".")
    if chaos.verdict == "not supported":
        return Judgement("not supported", why + ": the variance it rests on is not specific to chaos.")
    return Judgement("cannot tell", why + ".")


@rule("ksc-identical-collapse")
def _identical_collapse(ev: Evidence) -> Judgement:
    origin = ev.table("10_training_controls", "origin_variance")
    copies = origin[origin.encoded.str.contains("x0 = 0.4")]
    distinct = origin[origin.encoded.str.contains("distinct")]
    if copies.empty or distinct.empty:
        raise Missing("chapter 10 did not run both encodings of the Section 1.2 variance test")
    identical = ev.table("07_controls", "identical_inputs")
    runs = ev.controls()
    runs = runs[runs.dataset == "logistic"].groupby("architecture")[["variance", "dead_fraction"]].mean()
    varied = runs.variance[runs.dead_fraction < 1.0]
    median = float(distinct["median unit variance"].mean())
    largest_on_copies = float(copies["largest unit variance"].max())
    why = (
        f"the earlier 64-unit dense chaos autoencoder, trained as its repository did: largest unit variance "
        f"{largest_on_copies:.1e} on copies of one image, median unit variance {median:.3g} on distinct logistic "
        f"images ({len(distinct)} seeds). Chapter 07: on copies of one image the largest unit variance over V1-V4 is "
        f"{identical['max unit variance'].max():.1e}; on varied images "
        + ", ".join(f"{v:.3g} ({a})" for a, v in varied.items())
    )
    if median >= 1e-3 and largest_on_copies < 1e-4:
        return Judgement("not supported", why + ": the collapse belongs to the test set, not to the model.")
    if median < 1e-4:
        return Judgement("supported", why + ".")
    return Judgement("cannot tell", why + ".")


def _controls_runs(ev: Evidence) -> pd.DataFrame:
    runs = ev.metrics("10_training_controls")
    if "training" not in runs:
        raise Missing("chapter 10 recorded no untrained runs")
    return runs


@rule("ksc-trained-properties")
def _trained_properties(ev: Evidence) -> Judgement:
    runs = _controls_runs(ev)
    v4 = runs[(runs.architecture == "v4") & (runs.dataset == "logistic")]
    before, after = v4[v4.training == "untrained"], v4[v4.training == "trained"]
    if before.empty or after.empty:
        raise Missing("chapter 10 did not measure V4 on logistic images both untrained and trained")
    v0, v1 = float(before.variance.mean()), float(after.variance.mean())
    d0, d1 = float(before.dead_fraction.mean()), float(after.dead_fraction.mean())
    why = (
        f"V4 on logistic images, {len(after)} seeds: untrained variance {v0:.3f} and dead fraction {d0:.3f}; "
        f"trained {v1:.3f} and {d1:.3f}"
    )
    if d0 <= 0.05 and abs(v0 - v1) <= 0.25 * v1:
        return Judgement("not supported", why + ": both numbers are there before any training.")
    if v0 < 0.5 * v1 or d0 >= 0.25:
        return Judgement("supported", why + ".")
    return Judgement("cannot tell", why + ".")


@rule("ksc-activation-critical")
def _activation_critical(ev: Evidence) -> Judgement:
    remedies = ev.table("10_training_controls", "remedies")
    dead = remedies[remedies.dataset == "logistic"].groupby("variant", sort=False).dead_fraction.mean()
    treated = dead[dead.index.str.startswith("v3 +")]
    if "v3" not in dead or treated.empty:
        raise Missing("chapter 10 trained no V3 with a remedy for dead units")
    plain, best = float(dead["v3"]), float(treated.min())
    why = (
        f"dead fraction on logistic images: plain V3 {plain:.3f}; "
        + ", ".join(f"{variant} {value:.3f}" for variant, value in treated.items())
        + (f"; V4 {dead['v4']:.3f}" if "v4" in dead else "")
    )
    if best <= 0.05:
        return Judgement("not supported", why + ": units stay alive with ReLU.")
    if plain - best <= 0.10:
        return Judgement("supported", why + ": neither remedy revives the units.")
    revived = f": {treated.idxmin()} revives part of the units without the chaos activation."
    return Judgement("cannot tell", why + revived)


@rule("ksc-fine-detail")
def _fine_detail(ev: Evidence) -> Judgement:
    convergence = ev.table("10_training_controls", "convergence")
    best = convergence.loc[convergence.groupby("architecture").best_val_loss.idxmin()].set_index("architecture")
    probe = ev.table("10_training_controls", "probes")
    ridge = probe[(probe.dataset == "logistic") & (probe.probe == "ridge")].groupby("code").x1.mean()
    needed = {"v4", "dense_relu"}
    if not needed <= set(best.index) or not {"v4 trained", "dense_relu trained"} <= set(ridge.index):
        raise Missing("chapter 10 did not train V4 and dense ReLU to convergence and probe both")
    fve = float(best.loc["v4", "early_stopped_test_fve"])
    x1_v4, x1_relu = float(ridge["v4 trained"]), float(ridge["dense_relu trained"])
    why = (
        f"V4 at its best learning rate ({best.loc['v4', 'learning_rate']:g}) and epoch: test FVE {fve:+.3f} "
        f"(dense ReLU {float(best.loc['dense_relu', 'early_stopped_test_fve']):+.3f}); R² of the first iterate x1 "
        f"read from the code: V4 {x1_v4:+.3f}, dense ReLU {x1_relu:+.3f}"
    )
    if fve < 0.05 and x1_v4 <= x1_relu:
        return Judgement("not supported", why + ": V4's reconstruction is no better than the mean image.")
    if fve >= 0.05 and x1_v4 > x1_relu:
        return Judgement("supported", why + ".")
    return Judgement("cannot tell", why + ".")


@rule("ksc-intrinsic-dim")
def _intrinsic_dim(ev: Evidence) -> Judgement:
    table = ev.table("10_training_controls", "k_table").sort_values("K")
    if len(table) < 2:
        raise Missing("chapter 10 swept fewer than two K")
    low, high = table.iloc[-2], table.iloc[-1]
    trained, untrained = high.trained / low.trained - 1, high.untrained / low.untrained - 1
    why = (
        f"from K = {int(low.K)} to {int(high.K)} the variance grows {trained:+.1%} after training and "
        f"{untrained:+.1%} at the initial weights"
    )
    if abs(trained - untrained) <= 0.05:
        return Judgement("not supported", why + ": the flattening is there before any image is learned.")
    if trained < 0.05 and untrained > 0.10:
        return Judgement("supported", why + ".")
    return Judgement("cannot tell", why + ".")


@rule("ksc-origin-divergence")
def _origin_divergence(ev: Evidence) -> Judgement:
    runs = ev.table("10_training_controls", "origin_divergence")
    inputs = float((runs.last_image_distance / runs.first_image_distance).mean())
    latent = float(runs.distance_ratio.mean())
    why = (
        f"re-run with {len(runs)} seeds: latent distance ratio (last / first frame) {latent:.2f}; the two input "
        f"chains' own image distance ratio {inputs:.2f}"
    )
    if inputs < 2:
        return Judgement(
            "cannot tell",
            why + ": the frames are as far apart at the first frame as at the last, so no encoder could show it.",
        )
    if inputs >= 5:
        return Judgement("supported" if latent < 5 else "not supported", why + ".")
    return Judgement("cannot tell", why + ".")


def _at_target_l0(ev: Evidence, dataset: str = "logistic") -> pd.DataFrame:
    """Chapter 09's per-seed values at the target L0 on one data set, at the draft's dictionary width."""
    record = ev.record("09_sota_saes")
    matched = ev.table("09_sota_saes", "matched")
    width = record["parameters"].get("image_latents", 128)
    return matched[(matched.dataset == dataset) & (matched.n_latents == width)]


@rule("ksc-sae-fail")
def _sae_fail(ev: Evidence) -> Judgement:
    parts, failing = [], []
    for dataset in ("logistic", "lorenz96"):
        matched = _at_target_l0(ev, dataset)
        for kind in ("jumprelu", "gated"):
            runs = matched[(matched.model == kind) & matched.read.astype(bool)]
            if runs.empty:
                if dataset == "logistic":
                    raise Missing(f"chapter 09 has no {kind} SAE at the target L0 on logistic images")
                continue
            dead, variance = float(runs.dead_fraction.mean()), float(runs.variance.mean())
            parts.append(f"{kind} on {dataset}: dead fraction {dead:.3g}, variance {variance:.3g} ({len(runs)} seeds)")
            if dataset == "logistic" and (dead >= 0.5 or variance <= 0.002):
                failing.append(kind)
    why = "At the same L0 as V4: " + "; ".join(parts)
    if failing:
        return Judgement("supported", why + f"; by the draft's own Section 7.3 bounds, {' and '.join(failing)} fail.")
    return Judgement("not supported", why + ": neither loses half its units or drops to a variance of 0.002.")


@rule("ksc-beats-sota")
def _beats_sota(ev: Evidence) -> Judgement:
    matched = _at_target_l0(ev)
    tests = ev.table("09_sota_saes", "welch")
    tests = tests[tests.dataset == "logistic"].set_index("comparison")
    v4_dead = float(matched[matched.model == "v4"].dead_fraction.mean())
    parts, losses, wins = [], [], []
    for kind in ("jumprelu", "gated"):
        if f"v4 vs {kind}" not in tests.index:
            raise Missing(f"chapter 09 has no Welch test of V4 against {kind} on logistic images")
        test = tests.loc[f"v4 vs {kind}"]
        parts.append(f"V4 FVE {test.mean_b:+.3f} vs {kind} {test.mean_a:+.3f} (Welch p = {test.p:.2g})")
        if test.difference < 0 and test.p < 0.05:
            losses.append(kind)
        sae_dead = float(matched[matched.model == kind].dead_fraction.mean())
        if test.difference >= 0 and v4_dead <= sae_dead:
            wins.append(kind)
    why = "On logistic images at the same L0: " + "; ".join(parts)
    if losses:
        verb = "reconstructs" if len(losses) == 1 else "reconstruct"
        return Judgement("not supported", why + f": {' and '.join(losses)} {verb} the images significantly better.")
    if len(wins) == 2:
        return Judgement("supported", why + ", and V4 has no more dead units.")
    return Judgement("cannot tell", why + ".")


@rule("ksc-relu-chaotic")
def _relu_chaotic(ev: Evidence) -> Judgement:
    chaotic = ev.control_mean("dense_relu", "logistic", "dead_fraction")
    noise = ev.control_mean("dense_relu", "noise", "dead_fraction")
    why = f"dense ReLU dead fraction {chaotic:.3g} on logistic images, {noise:.3g} on uniform noise"
    if chaotic - noise >= 0.1:
        return Judgement("supported", why + ".")
    return Judgement("not supported", why + ": as many units die on inputs with no chaos.")


@rule("ksc-l1-variance")
def _l1_variance(ev: Evidence) -> Judgement:
    chaotic = ev.control_mean("v1", "logistic", "dead_fraction")
    flat = ev.control_mean("v1", "identical", "dead_fraction")
    why = f"V1 dead fraction {chaotic:.3g} on logistic images, {flat:.3g} trained on copies of one image"
    if flat >= 0.9:
        return Judgement("not supported", why + ": the units die without any input variance.")
    if chaotic >= 0.9:
        return Judgement("supported", why + ".")
    return Judgement("cannot tell", why + ".")


def _combined(verdicts: list[str]) -> str:
    """One verdict over data sets: theirs when they agree, else cannot tell."""
    return verdicts[0] if len(set(verdicts)) == 1 else "cannot tell"


def _per_dataset(parts: list[str], verdicts: list[str]) -> str:
    return "; ".join(f"{part} ({verdict})" for part, verdict in zip(parts, verdicts))


def _paired(ev: Evidence, a: str, b: str, quantity: str, how: str = "difference") -> pd.DataFrame:
    paired = paired_by_seed(ev.metrics("06_vsae"), a, b, quantity, how)
    if paired.empty:
        raise Missing(f"chapter 06 did not train both {a} and {b}")
    return paired


AS_RUN = "vsae_mean"  # the vSAE as its authors' code runs it (KL term only, no sampling): chapter 06


@rule("vsae-underperforms")
def _underperforms(ev: Evidence) -> Judgement:
    fve = _paired(ev, "topk_sae", AS_RUN, "fve")
    cosine = _paired(ev, "topk_sae", AS_RUN, "cosine")
    parts, verdicts = [], []
    for dataset in fve.dataset.unique():
        f = _ci(fve[fve.dataset == dataset].value)
        c = _ci(cosine[cosine.dataset == dataset].value)
        parts.append(
            f"{dataset}: FVE gap {f[0]:+.3f} [{f[1]:+.3f}, {f[2]:+.3f}], "
            f"cosine gap {c[0]:+.3f} [{c[1]:+.3f}, {c[2]:+.3f}]"
        )
        verdicts.append(
            "supported" if f[1] > 0 and c[1] > 0 else "not supported" if f[2] < 0 or c[2] < 0 else "cannot tell"
        )
    return Judgement(
        _combined(verdicts),
        _per_dataset(parts, verdicts)
        + " (TopK SAE minus the vSAE as its authors' code runs it, beta chosen by chapter 06's rule; 95 % "
        "intervals over seeds and k; stand-in data).",
    )


def _living_ratios(ev: Evidence, variant: str) -> pd.DataFrame:
    return _paired(ev, variant, "topk_sae", "living", how="ratio")


@rule("vsae-living")
def _living(ev: Evidence) -> Judgement:
    ratios = _living_ratios(ev, AS_RUN)
    parts, verdicts = [], []
    for dataset, group in ratios.groupby("dataset", sort=False):
        by_k = group.groupby("k").value.mean()
        pooled = float(group.value.mean())
        parts.append(
            f"{dataset}: pooled {pooled:.2f}, by k " + ", ".join(f"{int(k)}: {v:.2f}" for k, v in by_k.items())
        )
        verdicts.append(
            "supported"
            if pooled <= 0.5 and (by_k <= 0.5).all()
            else "not supported"
            if pooled >= 0.8
            else "cannot tell"
        )
    return Judgement(
        _combined(verdicts),
        _per_dataset(parts, verdicts)
        + " (living latents of the vSAE as its authors' code runs it / the TopK SAE's; stand-in data).",
    )


@rule("vsae-kl-cause")
def _kl_cause(ev: Evidence) -> Judgement:
    effects = ev.table("06_vsae", "effects")
    if effects.empty:
        raise Missing("chapter 06 trained no full 2 x 2 of sampling and the KL term")
    top = at_chosen_beta(effects, ev.table("06_vsae", "chosen"))

    def where(name, sign=1):
        return top[(sign * top[name] > 0) & (top[f"{name} p"] < 0.05)].k.tolist() or "none"

    kl, noise = where("KL without sampling"), where("sampling without KL")
    why = (
        "superposition benchmark, at each k's chosen beta, dead fraction, p < 0.05 over seeds: the KL term "
        f"without sampling raises it at k = {kl}, with sampling at k = {where('KL with sampling')}; sampling without "
        f"the KL term raises it at k = {noise} and lowers it at k = {where('sampling without KL', -1)} (stand-in data)"
    )
    if kl != "none" and noise == "none":
        return Judgement("supported", why + ".")
    if noise != "none" and kl == "none":
        return Judgement("not supported", why + ".")
    return Judgement("cannot tell", why + ".")


@rule("vsae-independence")
def _independence(ev: Evidence) -> Judgement:
    gap = _paired(ev, AS_RUN, "topk_sae", "tpp")
    mean, low, high = _ci(gap.value.dropna())
    why = (
        f"TPP of the vSAE as its authors' code runs it minus the TopK SAE's {mean:+.3f} [{low:+.3f}, {high:+.3f}] "
        "(a trained digits network's activations, over seeds and k); SCR is not testable here"
    )
    if low > 0:
        return Judgement("supported", why + ".")
    if high < 0:
        return Judgement("not supported", why + ".")
    return Judgement("cannot tell", why + ".")


@rule("vsae-cosine")
def _cosine(ev: Evidence) -> Judgement:
    parts = []
    for dataset in ("superposition", "logistic", "network"):
        group = ev.measurement(f"vSAE cosine gap ({dataset})")
        parts.append(f"{dataset}: vSAE minus TopK SAE {group.measured:+.4f}")
    return Judgement(
        "the paper contradicts itself",
        "4.1 says higher and the Conclusion lower; we measure " + "; ".join(parts) + " (stand-in data).",
    )


def _ablation_properties(ev: Evidence, dataset: str) -> pd.DataFrame:
    """Chapter 11's activation properties and outcomes on one data set, for the variants that differ from V4 in
    their activation or its constants only (same Top-K, same penalty)."""
    table = ev.table("11_ablations", "properties")
    picked = table[(table.dataset == dataset) & table.factor.isin(SAME_TOPK_AND_PENALTY)]
    if not (picked.factor == "default").any():
        raise Missing(f"chapter 11 did not train V4 itself on {dataset} images")
    return picked.set_index("variant")


def _with_noise_check(judge: Callable[[Evidence, str], Judgement]) -> Callable[[Evidence], Judgement]:
    """The verdict on logistic images, with the same rule applied to the runs on uniform-noise images in its reason:
    where noise gives the same verdict, the conclusion is about the architecture, not about chaotic input."""

    def judged(ev: Evidence) -> Judgement:
        main = judge(ev, "logistic")
        try:
            null = judge(ev, "noise")
        except Missing:
            return Judgement(main.verdict, main.why + " (no runs on noise images to check it against)")
        same = " (the same verdict: this does not depend on chaotic input)" if null.verdict == main.verdict else ""
        return Judgement(main.verdict, f"{main.why} On uniform-noise images the same rule gives: {null.verdict}{same}.")

    return judged


def _fixed_point_death(ev: Evidence, dataset: str) -> Judgement:
    table = _ablation_properties(ev, dataset)
    shared = table[(table.f_at_0 == 0) & (table.factor.isin(["default", "activation"]))]
    relu_rows = shared[shared.activation == "relu"]
    if relu_rows.empty:
        raise Missing("chapter 11 did not train the ReLU variant")
    relu = float(relu_rows.dead_fraction.iloc[0])
    others = shared[shared.activation != "relu"].dead_fraction
    why = "mean dead fraction with f(0) = 0, V4's Top-K and penalty: " + ", ".join(
        f"{name} {value:.3f}" for name, value in shared.dead_fraction.items()
    )
    unflat = shared[(shared.flat_fraction < 0.01) & (shared.dead_fraction >= 0.25)]
    if len(unflat):  # the draft's mechanism is the zero gradient below 0: these have no flat region and still die
        why += (
            "; no flat region (|f'| < 0.01 on under 1 % of pre-activations) yet at least a quarter dead: "
            + ", ".join(
                f"{name} (flat {r.flat_fraction:.3f}, dead {r.dead_fraction:.3f})" for name, r in unflat.iterrows()
            )
        )
    alive = others[others <= 0.05]
    if relu >= 0.25 and len(alive):
        kept = ", ".join(alive.index)
        return Judgement("not supported", why + f": {kept} share the fixed point at 0 and keep their units.")
    if (shared.dead_fraction >= 0.25).all():
        return Judgement("supported", why + ": every activation with the fixed point loses at least a quarter.")
    return Judgement("cannot tell", why + ".")


def _high_derivative(ev: Evidence, dataset: str) -> Judgement:
    table = _ablation_properties(ev, dataset)
    default = table[table.factor == "default"].iloc[0]
    v4 = float(default.dead_fraction)
    low = table[table.mean_abs_derivative <= 1.0]
    why = f"V4 (mean |f'| {default.mean_abs_derivative:.2f}) dead fraction {v4:.3f}"
    if low.empty:
        return Judgement("cannot tell", why + "; no activation trained here has a mean |f'| of at most 1.")
    why += "; mean |f'| at most 1: " + ", ".join(
        f"{name} ({r.mean_abs_derivative:.2f}) {r.dead_fraction:.3f}" for name, r in low.iterrows()
    )
    high = table[(table.mean_abs_derivative > 1.0) & (table.dead_fraction > v4 + 0.02)]
    if len(high):
        why += "; mean |f'| above 1 and still more dead units than V4: " + ", ".join(
            f"{name} ({r.mean_abs_derivative:.2f}) {r.dead_fraction:.3f}" for name, r in high.iterrows()
        )
    alive = low[low.dead_fraction <= v4 + 0.02]
    if len(alive):
        return Judgement(
            "not supported", why + f": {', '.join(alive.index)} keep their units without a high derivative."
        )
    if (low.dead_fraction >= v4 + 0.10).all():
        return Judgement("supported", why + ".")
    return Judgement("cannot tell", why + ".")


def _coefficients(ev: Evidence, dataset: str) -> Judgement:
    table = _ablation_properties(ev, dataset)
    v4 = table[table.factor == "default"].iloc[0]
    grid = table[table.factor.isin(["omega", "alpha", "beta", "alpha and beta"])]
    if grid.empty:
        raise Missing("chapter 11 trained no other coefficients")
    better = grid[grid.fve >= v4.fve + 0.02]
    best = grid.fve.idxmax()
    why = (
        f"V4 (8, 0.5, 4): FVE {v4.fve:.3f}, dead {v4.dead_fraction:.3f}; best of {len(grid)} other settings: "
        f"{best}, FVE {grid.loc[best, 'fve']:.3f}, dead {grid.loc[best, 'dead_fraction']:.3f}"
    )
    below = int((grid.fve < 0).sum() + (v4.fve < 0))
    if below:
        why += f"; {below} of {len(grid) + 1} settings reconstruct worse than the mean image (FVE below 0)"
    if v4.fve <= 0:
        return Judgement("cannot tell", why + ": V4 itself does no better than the mean image.")
    winners = better[better.dead_fraction <= v4.dead_fraction + 0.01]
    if len(winners):
        named = ", ".join(f"{name} (FVE {r.fve:.3f})" for name, r in winners.iterrows())
        return Judgement("not supported", why + f"; better and no more dead units: {named}.")
    if better.empty:
        return Judgement("supported", why + ": no setting improves FVE by 0.02.")
    return Judgement("cannot tell", why + ": higher FVE comes with more dead units.")


def _scaling_verdict(scale: pd.DataFrame, dataset: str) -> tuple[str, str, list]:
    """The scaling rule on one table of the width sweep (trained or untrained): verdict, reason, widths judged."""
    rows = scale[(scale.dataset == dataset) & (scale.latent_dim >= 512)]
    v4 = rows[rows.variant == "V4 (k = d/4)"].set_index("latent_dim")
    v3 = rows[rows.variant == "V3 (k = d/4)"].set_index("latent_dim")
    widths = sorted(set(v4.index) & set(v3.index))
    parts = [
        f"{w}: V4 dead {v4.loc[w, 'dead_fraction']:.3f}, scale-free variance {v4.loc[w, 'scale_free_variance']:.3g}"
        f" (V3 {v3.loc[w, 'scale_free_variance']:.3g}), FVE {v4.loc[w, 'fve']:.3f} (V3 {v3.loc[w, 'fve']:.3f})"
        for w in widths
    ]
    dead, free = v4.dead_fraction, v4.scale_free_variance
    failed = [w for w in widths if dead[w] > 0.25 or free[w] <= v3.loc[w, "scale_free_variance"]]
    held = all(dead[w] <= 0.05 and free[w] > v3.loc[w, "scale_free_variance"] for w in widths)
    verdict = "not supported" if failed else ("supported" if held else "cannot tell")
    return verdict, "; ".join(parts) + (f"; fails at {', '.join(map(str, failed))}" if failed else ""), widths


def _scaling(ev: Evidence, dataset: str) -> Judgement:
    verdict, why, widths = _scaling_verdict(ev.table("11_ablations", "scale"), dataset)
    if not widths:
        raise Missing("chapter 11 trained no width of at least 512 with V4 and V3")
    cost = ev.table("11_ablations", "cost").set_index("latent_dim")
    ratios = [f"{w}: x{cost.loc[w, 'v4_over_relu']:.2f}" for w in widths if w in cost.index]
    if ratios:
        why += "; V4's training time per model-run over the ReLU models' " + ", ".join(ratios)
    untrained = ev.record("11_ablations")["tables"].get("scale_untrained")
    if untrained is not None and not untrained.empty:
        null, null_why, _ = _scaling_verdict(untrained, dataset)
        passes = " (the architecture meets it before learning anything)" if null == verdict == "supported" else ""
        why += f". The same networks untrained: {null}{passes}: {null_why}"
    return Judgement(verdict, why + ".")


def _true(value) -> bool:
    """A flag read back from a results file: True only for a true value (None and NaN are not measured)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and bool(value)


@rule("ksc-full-entropy")
def _full_entropy(ev: Evidence) -> Judgement:
    table = ev.table("12_randomness", "streams")
    per_stream = table.drop_duplicates(["source", "extraction"]).set_index(["source", "extraction"])
    nist = table[table.battery == "NIST SP 800-22"].set_index(["source", "extraction"])
    if ("pcg64", "native") not in nist.index or not bool(nist.loc[("pcg64", "native"), "passes"]):
        raise Missing("NIST's positive control (PCG64's own bits) did not pass NIST: the battery is not calibrated")
    passes = lambda source, e: (source, e) in per_stream.index and _true(per_stream.loc[(source, e), "passes_all"])
    extractions = [e for s, e in per_stream.index if s == "v4"]
    if not extractions or "dense_relu" not in set(per_stream.index.get_level_values(0)):
        raise Missing("chapter 12 tested no V4 or no dense ReLU latents")
    measured = table[table.passes.notna()]

    def word(source, e):
        if passes(source, e):
            return "pass"
        rows = measured[(measured.source == source) & (measured.extraction == e)]
        failed = [b for b, ok in zip(rows.battery, rows.passes) if not _true(ok)]
        return f"fail ({', '.join(failed)})" if failed else "fail"

    why = "; ".join(
        f"{e}: V4 {word('v4', e)}, dense ReLU {word('dense_relu', e)}, V4 on noise {word('v4_noise', e)}"
        for e in extractions
    )
    if ("logistic_4", "native") in per_stream.index:
        why += f"; the logistic map's own bits (r = 4, x > 1/2) {word('logistic_4', 'native')}"
    v4 = [e for e in extractions if passes("v4", e)]
    if not v4:
        return Judgement("not supported", why + ": no extraction of V4's latents passes every battery that ran.")
    only_v4 = [e for e in v4 if not passes("dense_relu", e)]
    limit = "; a battery can refute randomness, never show full entropy"
    if only_v4:
        return Judgement(
            "cannot tell",
            why
            + f": {', '.join(only_v4)} bits pass for V4 and fail for dense ReLU (consistent with randomness){limit}.",
        )
    return Judgement(
        "cannot tell",
        why + f": what passes for V4 ({', '.join(v4)}) passes for dense ReLU's latents too (uninformative){limit}.",
    )


def _not_testable(ev: Evidence, conclusion) -> Judgement:
    return Judgement("not testable here", conclusion.rule.split(": ", 1)[-1])


RULES["ksc-fixed-point-death"] = _with_noise_check(_fixed_point_death)
RULES["ksc-high-derivative"] = _with_noise_check(_high_derivative)
RULES["ksc-coefficients"] = _with_noise_check(_coefficients)
RULES["ksc-scaling"] = _with_noise_check(_scaling)


def chapter_verdicts(results_dir, chapter: str) -> pd.DataFrame:
    """The conclusions whose evidence is ``chapter``'s tables or metrics, judged from its results file alone (the
    same rules the ledger applies; for a chapter to show its own verdicts)."""
    empty = pd.DataFrame(columns=["id", "measured"]), pd.DataFrame(columns=["measurement", "measured"])
    ev = Evidence(results_dir, *empty)
    rows = []
    for conclusion in load().itertuples():
        if chapter not in str(conclusion.evidence):
            continue
        try:
            judged = RULES[conclusion.id](ev)
        except Missing as missing:
            judged = Judgement("not measured", str(missing))
        rows.append(
            {
                "id": conclusion.id,
                "section": conclusion.section,
                "statement": conclusion.statement,
                "verdict": judged.verdict,
                "why": judged.why,
                "rule": conclusion.rule,
            }
        )
    return pd.DataFrame(rows, columns=["id", "section", "statement", "verdict", "why", "rule"])


def evaluate(results_dir, ledger_table: pd.DataFrame, distinct_table: pd.DataFrame) -> pd.DataFrame:
    """Every conclusion with its verdict and why, in the registry's order."""
    ev = Evidence(results_dir, ledger_table, distinct_table)
    rows = []
    for conclusion in load().itertuples():
        try:
            if conclusion.evidence == "none":
                judged = _not_testable(ev, conclusion)
            else:
                judged = RULES[conclusion.id](ev)
        except Missing as missing:
            judged = Judgement("not measured", str(missing))
        ev.judged[conclusion.id] = judged
        rows.append(
            {
                "id": conclusion.id,
                "source": conclusion.source,
                "section": conclusion.section,
                "lines": conclusion.lines,
                "statement": conclusion.statement,
                "verdict": judged.verdict,
                "why": judged.why,
                "rule": conclusion.rule,
                "evidence": conclusion.evidence,
            }
        )
    return pd.DataFrame(rows)
