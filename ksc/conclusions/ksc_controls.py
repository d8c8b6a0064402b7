"""The KSC draft's conclusions judged from the training controls of chapter 10 (untrained networks, remedies for
dead units, convergence, probes, the intrinsic dimension, the origin's divergence test) and from chapter 09's
state-of-the-art SAEs at V4's L0.
"""

from __future__ import annotations

import pandas as pd

from ksc.conclusions.judging import Evidence, Judgement, Missing, rule


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
    remedies = ev.rows("10_training_controls", "remedies", dataset="logistic")
    dead = remedies.groupby("variant", sort=False).dead_fraction.mean()
    v3 = remedies[remedies.architecture == "v3"]
    treated, plain_runs = dead[v3[v3.remedy != "none"].variant.unique()], v3[v3.remedy == "none"]
    if treated.empty or plain_runs.empty:
        raise Missing("chapter 10 trained no plain V3 or no V3 with a remedy for dead units")
    plain, best = float(plain_runs.dead_fraction.mean()), float(treated.min())
    properties = ev.table("11_ablations", "properties")
    swapped = properties[(properties.dataset == "logistic") & properties.factor.isin(["default", "activation"])]
    names = swapped.drop_duplicates("activation").set_index("activation").variant
    swapped = swapped.groupby("activation", sort=False).dead_fraction.mean()
    if "chaos" not in swapped or "relu" not in swapped:
        raise Missing("chapter 11 did not train V4 and its ReLU variant on logistic images")
    chaos, relu = float(swapped["chaos"]), float(swapped["relu"])
    others = swapped.drop(["chaos", "relu"])
    alive = others[others <= 0.05]
    why = (
        f"dead fraction on logistic images with V4's Top-K and penalty (chapter 11): chaos activation {chaos:.3f}, "
        f"ReLU {relu:.3f}, "
        + ", ".join(f"{names[name]} {value:.3f}" for name, value in others.items())
        + f"; V3 (chapter 10): plain {plain:.3f}, "
        + ", ".join(f"{variant} {value:.3f}" for variant, value in treated.items())
    )
    if relu >= 0.25 and len(alive):
        kept = ", ".join(names[alive.index])
        return Judgement(
            "not supported",
            why + f": the sentence's first clause holds, the activation is the critical factor (ReLU loses units "
            f"where {kept} keep them under the same Top-K); what it credits fails, the chaos: activations without "
            "chaos and with ReLU's fixed point at 0 do it too (the fixed-point cause is judged on its own in "
            "ksc-fixed-point-death).",
        )
    if best <= 0.05:
        return Judgement("not supported", why + ": a remedy keeps ReLU's units alive.")
    if chaos <= 0.05 and relu >= 0.25 and plain - best <= 0.10:
        return Judgement("supported", why + ": only the chaos activation keeps the units.")
    return Judgement("cannot tell", why + ".")


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
    matched = ev.table("09_sota_saes", "matched")
    width = ev.parameter("09_sota_saes", "image_latents")
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


def _v4_on_language_model(ev: Evidence) -> str:
    """Beside the verdict (the claim is about chaotic images): V4's latent block against the TopK SAE on a language
    model's residual stream (chapter 13), per k; empty where chapter 13 did not run."""
    try:
        gaps = ev.table("13_language_model", "v4_gaps")
    except Missing:
        return ""
    fve = gaps[gaps.quantity == "fve"]
    return (
        " (beside it, on a language model's residual stream, chapter 13: V4's latent block minus the TopK SAE's FVE "
        + (
            ", ".join(
                f"k = {int(r.k)} {r.difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]" for r in fve.itertuples()
            )
        )
        + ")"
    )


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
    why = "On logistic images at the same L0: " + "; ".join(parts) + _v4_on_language_model(ev)
    if losses:
        verb = "reconstructs" if len(losses) == 1 else "reconstruct"
        return Judgement("not supported", why + f": {' and '.join(losses)} {verb} the images significantly better.")
    if len(wins) == 2:
        return Judgement("supported", why + ", and V4 has no more dead units.")
    return Judgement("cannot tell", why + ".")
