"""The KSC draft's conclusions about V1-V4 themselves, judged from chapters 01-07: the variance and the dead units
of V4 and V3, reconstruction, divergence, the activation's fixed points, and the controls on noise and on copies
of one image.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters import divergence
from ksc.conclusions.judging import Evidence, Judgement, Missing, mean_and_interval, rule
from ksc.evidence.claims import load_registry
from ksc.models.layers import chaos_activation


def topk_controls(ev: Evidence, dataset: str = "logistic") -> pd.DataFrame:
    """Chapter 11's non-chaotic activations with V4's Top-K and penalty (ELU and tanh, those trained), and sin(8x)
    alone (the chaos activation without its tanh term): their means over seeds on ``dataset``, one row each, the
    controls that stand beside V4 wherever it is judged. None trained stops the verdict (not measured)."""
    runs = ev.rows("11_ablations", "metrics", dataset=dataset)
    runs = runs[runs.experiment == "ablation"]
    activations = runs[(runs.factor == "activation") & runs.activation.isin(NON_CHAOTIC_TOPK)]
    if activations.empty:
        raise Missing(f"chapter 11 trained none of {', '.join(NON_CHAOTIC_TOPK)} with V4's Top-K on {dataset} images")
    sin_alone = runs[(runs.factor == "alpha") & (runs.alpha == 0)]
    picked = pd.concat([activations, sin_alone])
    columns = ["dead_fraction", "variance", "scale_free_variance", "fve"]
    return picked.groupby("variant", sort=False)[columns].mean()


NON_CHAOTIC_TOPK = ("elu", "tanh")  # chapter 11's activations outside the chaos family that keep their units


def controls_beside_v4(ev: Evidence) -> pd.DataFrame:
    """V4 beside chapter 11's non-chaotic Top-K controls and ReLU, all with V4's Top-K and penalty: per variant the
    dead fraction, the latent variance on logistic and on noise images and their ratio, and the test FVE on logistic
    images (means over seeds), for the intro and the ledger page."""
    runs = ev.metrics("11_ablations")
    runs = runs[runs.experiment == "ablation"]
    if not {"logistic", "noise"} <= set(runs.dataset):
        raise Missing("chapter 11 did not train its ablations on both logistic and noise images")
    picked = runs[
        (runs.factor == "default")
        | ((runs.factor == "activation") & runs.activation.isin((*NON_CHAOTIC_TOPK, "relu")))
        | ((runs.factor == "alpha") & (runs.alpha == 0))
    ]
    means = picked.groupby(["variant", "dataset"], sort=False)[["dead_fraction", "variance", "fve"]].mean()
    logistic, noise = means.xs("logistic", level="dataset"), means.xs("noise", level="dataset")
    return pd.DataFrame(
        {
            "dead fraction": logistic.dead_fraction,
            "variance (logistic)": logistic.variance,
            "variance (noise)": noise.variance.reindex(logistic.index),
            "logistic / noise": logistic.variance / noise.variance.reindex(logistic.index),
            "FVE (logistic)": logistic.fve,
        }
    ).rename_axis("with V4's Top-K and penalty")


def _beside(controls: pd.DataFrame, quantity: str, fmt: str = ".3f") -> str:
    """'ELU 0.109, tanh 0.086, ...': the Top-K controls' values of one quantity, for a reason."""
    return ", ".join(f"{name} {value:{fmt}}" for name, value in controls[quantity].items())


@rule("ksc-chaos-preserved")
def _chaos_preserved(ev: Evidence) -> Judgement:
    claim = ev.claim("abs-v4-variance")
    ratio = ev.control_mean("v4", "logistic", "variance") / ev.control_mean("v4", "noise", "variance")
    logistic, noise = topk_controls(ev, "logistic"), topk_controls(ev, "noise")
    ratios = (logistic.variance / noise.variance.reindex(logistic.index)).rename("ratio").to_frame()
    why = (
        f"V4's variance {claim.measured:.3g} ({claim.finding}); on logistic images it is {ratio:.2f}× its variance on "
        f"uniform noise (non-chaotic activations with V4's Top-K and penalty, chapter 11: "
        f"{_beside(ratios, 'ratio', '.2f')})"
    )
    if claim.verdict == "reproduced" and ratio >= 1.1:
        return Judgement("supported", why + ": the figure depends on chaotic input.")
    return Judgement("not supported", why + ": the figure does not single out chaotic input.")


FVE_BAND = 0.02  # FVE a model may lose against its comparison and still count as keeping reconstruction quality


def _v4_against_v3(ev: Evidence) -> list[tuple[str, tuple, tuple, int]]:
    """Per system of chapter 08 (logistic, Lorenz-96, Mackey-Glass images): V4's test FVE and the paired gap V4 - V3
    (same width, same Top-K, trained alongside on the same images), each as (mean, 95 % low, high), and the number
    of seeds."""
    flows = ev.metrics("08_flows")
    out = []
    for system, runs in flows.groupby("system", sort=False):
        v4 = runs[runs.model == f"v4 ({system})"].set_index("seed").fve
        v3 = runs[runs.model == f"v3 ({system})"].set_index("seed").fve
        gap = (v4 - v3).dropna()
        if gap.empty:
            raise Missing(f"chapter 08 did not train both V3 and V4 on {system} images")
        out.append((str(system), mean_and_interval(v4), mean_and_interval(gap), len(gap)))
    return out


@rule("ksc-reconstruction")
def _reconstruction(ev: Evidence) -> Judgement:
    systems = _v4_against_v3(ev)
    fve = ev.rows("03_fair_baselines", "metrics", model="v4").fve
    mean, low, high = mean_and_interval(fve)
    k = int(ev.parameter("07_controls", "k"))
    floors = ev.table("07_controls", "floors")
    pca = floors[floors.baseline == f"PCA, {k} components"]
    if pca.empty:
        raise Missing(f"chapter 07 fitted no PCA with {k} components (as many as V4 keeps units)")
    controls = topk_controls(ev)
    try:
        claim = ev.claim("abs-v4-valloss")
    except Missing:  # judged without the ledger's row
        claim = None
    own = (
        f"; the draft's own {claim.claimed:g} is FVE {1 - claim.claimed / claim.floor:+.3f} against the mean image"
        if claim is not None and np.isfinite(claim.floor)
        else ""
    )
    parts = [
        f"{system}: V4 {v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}], V4 - V3 {g[0]:+.3f} [{g[1]:+.3f}, {g[2]:+.3f}] "
        f"({n} seeds)"
        for system, v, g, n in systems
    ]
    why = (
        "test FVE against the per-pixel-mean image (chapter 08, 95 % intervals over seeds): "
        + "; ".join(parts)
        + f". Chapter 03: V4 {mean:+.3f} [{low:+.3f}, {high:+.3f}] ({len(fve)} seeds){own}; PCA with {k} components "
        f"{float(pca.fve.iloc[0]):+.3f}; non-chaotic activations with V4's Top-K (chapter 11): "
        f"{_beside(controls, 'fve', '+.3f')}"
    )
    worse = [s for s, v, g, _ in systems if v[2] < 0 or g[2] < -FVE_BAND]
    if worse:
        return Judgement(
            "not supported",
            why + f": on {', '.join(worse)} V4 explains less than the mean image or loses more than {FVE_BAND} of "
            "FVE against V3.",
        )
    if all(v[1] > 0 and g[1] > -FVE_BAND for _, v, g, _ in systems):
        return Judgement("supported", why + ".")
    return Judgement("cannot tell", why + ".")


@rule("ksc-dead-units")
def _dead_units(ev: Evidence) -> Judgement:
    v4, v3 = ev.claim("s5.4-v4-dead"), ev.claim("s5.3-v3-dead")
    sweep = ev.metrics("02_k_ablation")
    worst = float(sweep.groupby("model").dead_fraction.mean().max())
    why = f"V4 dead fraction {v4.measured:.3g}, at most {worst:.3g} over the K sweep; V3 (ReLU Top-K) {v3.measured:.3g}"
    on_noise = float(ev.table("02_k_ablation", "noise").dead_fraction.max())
    null = f". V4 trained on uniform noise has at most {on_noise:.3g} dead at every K of the sweep" + (
        ": the V4 half of the rule holds for a model that learned nothing about chaos" if on_noise <= 0.05 else ""
    )
    controls = _beside(topk_controls(ev), "dead_fraction")
    null += f"; with V4's Top-K and penalty, non-chaotic activations (chapter 11): {controls}"
    if v4.measured <= 0.05 and worst <= 0.05 and v3.measured >= 0.25:
        return Judgement("supported", why + null + ".")
    return Judgement("not supported", why + null + ".")


def _window_encoders(ev: Evidence) -> tuple[pd.DataFrame, dict]:
    """Chapter 05's window protocol per encoder (models and null encoders), indexed by encoder, and what the
    pre-registered rule reads off it (:func:`ksc.chapters.divergence.pre_registered_reading`)."""
    table = ev.table("05_divergence", "null_encoders")
    if "v4" not in set(table.encoder) or not (table.role == divergence.NULL).any():
        raise Missing("chapter 05 did not run V4 and a null encoder through the window protocol")
    return table.set_index("encoder"), divergence.pre_registered_reading(table)


def _nulls_sentence(table: pd.DataFrame) -> str:
    nulls = table[table.role == divergence.NULL].rate_ratio_between_switches
    return ", ".join(f"{name} {value:.2f}" for name, value in nulls.items())


@rule("ksc-divergence")
def _divergence(ev: Evidence) -> Judgement:
    v4, dense = ev.claim("s6.3-window-v4"), ev.claim("s6.3-window-dense")
    table, reading = _window_encoders(ev)
    why = (
        f"in the window protocol the latent distance grows at {v4.measured:.2f}× the input's rate for V4 fitted over "
        f"the band and {reading['v4_ratio']:.2f}× between Top-K switches "
        f"({float(table.loc['v4', 'support_changes_per_step']):.2f} switches per step); dense ReLU "
        f"{dense.measured:.2f}×; the null encoders, between switches: {_nulls_sentence(table)}"
    )
    if reading["v4_transmits"] and not reading["informative"]:
        why += (
            ": by the rule V4 transmits the divergence (which would side with the Abstract against 6.3), but every "
            "null encoder transmits it too, as any encoder does in its linear range: the protocol does not tell V4 "
            "from encoders that know nothing of chaos, so the finding is uninformative"
        )
    elif reading["v4_transmits"]:
        why += ": V4 transmits the divergence, so the Abstract's sentence holds for V4 and 6.3's 'neither' does not"
    else:
        why += ": V4 does not transmit the divergence between switches, so 6.3 holds for V4"
    return Judgement("the paper contradicts itself", why + " (the draft's own test could not tell, chapter 05).")


@rule("ksc-first-architecture")
def _first_architecture(ev: Evidence) -> Judgement:
    sae_runs = ev.metrics("06_vsae")
    latents = ev.parameter("06_vsae", "image_latents")
    images = sae_runs[(sae_runs.dataset == "logistic") & (sae_runs.model != "v4")]
    images = images.assign(sparsity=1 - images.l0 / latents)
    evolution = ev.metrics("01_evolution")
    # chapter 11's activations other than the chaos family, each with V4's Top-K and penalty
    ablations = ev.rows("11_ablations", "metrics", dataset="logistic")
    ablations = ablations[ablations.activation != "chaos"].assign(model=lambda f: "chapter 11 " + f.variant)
    # chapter 09's SAEs read at the same L0 as V4, at the draft's width
    width = ev.parameter("09_sota_saes", "image_latents")
    saes = ev.rows("09_sota_saes", "matched", dataset="logistic", n_latents=width)
    saes = saes[saes.read.astype(bool) & (saes.model != "v4")]
    saes = saes.assign(model="chapter 09 " + saes.model, sparsity=1 - saes.l0 / width)
    columns = ["model", "sparsity", "dead_fraction", "variance"]
    others = pd.concat(
        [
            images[[*columns, "k"]],
            evolution[~evolution.model.str.startswith("v4")][columns],
            ablations[columns],
            saes[columns],
        ]
    )
    grouped = others.groupby(["model", "k"], dropna=False)
    means = grouped[["sparsity", "dead_fraction", "variance"]].mean()
    hits = means[(means.sparsity >= 0.75 - 1e-9) & (means.dead_fraction <= 0.05) & (means.variance >= 0.1)]
    if len(hits):
        lows = {key: mean_and_interval(grouped.get_group(key).variance)[1] for key in hits.index}
        named = "; ".join(
            f"{m}{'' if pd.isna(k) else f' k={int(k)}'} (sparsity {r.sparsity:.2f}, dead {r.dead_fraction:.2f}, "
            f"variance {r.variance:.3f}"
            + (
                f"; its 95 % interval reaches down to {lows[(m, k)]:.3f}, below the 0.1 bound"
                if np.isfinite(lows[(m, k)]) and lows[(m, k)] < 0.1
                else ""
            )
            + ")"
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
    chaos = ev.judged.get("ksc-chaos-preserved") or _chaos_preserved(ev)
    table, reading = _window_encoders(ev)
    why = (
        f"ksc-chaos-preserved is {chaos.verdict}; V4's window-protocol rate ratio between Top-K switches "
        f"{reading['v4_ratio']:.2f} (null encoders: {_nulls_sentence(table)})"
    )
    if chaos.verdict == "supported" and reading["v4_transmits"] and reading["informative"]:
        return Judgement("supported", why + ".")
    if chaos.verdict == "not supported":
        return Judgement("not supported", why + ": the variance it rests on is not specific to chaos.")
    if reading["v4_transmits"] and not reading["informative"]:
        return Judgement("cannot tell", why + ": every null encoder transmits the divergence too.")
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
