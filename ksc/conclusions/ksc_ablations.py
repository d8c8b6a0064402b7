"""The KSC draft's conclusions about why V4 works, judged from chapter 11's ablations: ReLU's fixed point as the
cause of dead units, the high derivative, the activation's coefficients and scaling to wider latents. Each is
judged on logistic images with the same rule applied to the runs on uniform-noise images beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ksc.chapters.ablations.effects import SAME_TOPK_AND_PENALTY
from ksc.conclusions.judging import RULES, Evidence, Judgement, Missing


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


SCALING_FVE_BAND = 0.02  # FVE V4 may lose against V3 at a width and still count as scaling (the ledger's FVE band)


def _scaling_verdict(scale: pd.DataFrame, dataset: str) -> tuple[str, str, list]:
    """The scaling rule on one table of the width sweep (trained or untrained): verdict, reason, widths judged. The
    rule reads dead units and FVE; the scale-free variance is shown only: it is 1 for any code whose units have zero
    mean and 1 - p E[a]^2 / E[a^2] for a non-negative unit active a share p of the time, so V4's signed code lies
    above a ReLU code's by construction."""
    rows = scale[(scale.dataset == dataset) & (scale.latent_dim >= 512)]
    v4 = rows[rows.variant == "V4 (k = d/4)"].set_index("latent_dim")
    v3 = rows[rows.variant == "V3 (k = d/4)"].set_index("latent_dim")
    widths = sorted(set(v4.index) & set(v3.index))
    parts = [
        f"{w}: V4 dead {v4.loc[w, 'dead_fraction']:.3f}, FVE {v4.loc[w, 'fve']:+.3f} (V3 {v3.loc[w, 'fve']:+.3f}), "
        f"scale-free variance {v4.loc[w, 'scale_free_variance']:.3g} (V3 {v3.loc[w, 'scale_free_variance']:.3g})"
        for w in widths
    ]
    dead, gap = v4.dead_fraction, v4.fve - v3.fve.reindex(v4.index)
    failed = [w for w in widths if dead[w] > 0.25 or gap[w] < -SCALING_FVE_BAND]
    held = all(dead[w] <= 0.05 and gap[w] >= -SCALING_FVE_BAND for w in widths)
    verdict = "not supported" if failed else ("supported" if held else "cannot tell")
    why = "; ".join(parts) + (f"; fails at {', '.join(map(str, failed))}" if failed else "")
    if "seeds" in rows and len(rows):
        why += f" ({int(rows.seeds.min())} seed(s) per width)"
    return verdict, why + " (the scale-free variance is shown only: V4 above V3 holds by construction)", widths


def _scaling(ev: Evidence, dataset: str) -> Judgement:
    verdict, why, widths = _scaling_verdict(ev.table("11_ablations", "scale"), dataset)
    if not widths:
        raise Missing("chapter 11 trained no width of at least 512 with V4 and V3")
    cost = ev.table("11_ablations", "cost").set_index("latent_dim")
    ratios = [f"{w}: x{cost.loc[w, 'v4_over_relu']:.2f}" for w in widths if w in cost.index]
    if ratios:
        why += "; V4's training time per model-run over the ReLU models' " + ", ".join(ratios)
    why += (
        ". The properties the statement names are read as shown: no dead units, and a scale-free variance above "
        "V3's that any signed code has by construction; the rule judges what the code carries, its FVE against V3"
    )
    untrained = ev.table("11_ablations", "scale_untrained")
    if not untrained.empty:
        null, null_why, _ = _scaling_verdict(untrained, dataset)
        passes = " (the architecture meets it before learning anything)" if null == verdict == "supported" else ""
        why += f". The same networks untrained: {null}{passes}: {null_why}"
    return Judgement(verdict, why + ".")


RULES["ksc-fixed-point-death"] = _with_noise_check(_fixed_point_death)
RULES["ksc-high-derivative"] = _with_noise_check(_high_derivative)
RULES["ksc-coefficients"] = _with_noise_check(_coefficients)
RULES["ksc-scaling"] = _with_noise_check(_scaling)
