"""Chapter 11's summary in sentences: every number read from the tables the chapter computed
(:mod:`ksc.chapters.ablations.effects`) and the verdicts the ledger's rules gave."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.ablations import effects
from ksc.chapters.ablations.effects import CHAOTIC, NULL
from ksc.measures.stats import equivalence
from ksc.pages.ablation_plots import TITLES


def _against_v4(r) -> str:
    """One quantity of a variant against V4: the means, the difference with its 95 % interval and the equivalence
    reading at the quantity's margin (identical in every run where both groups are constant and equal)."""
    name = r.quantity.replace("_", " ")
    if r.variant_mean == r.v4 and not np.isfinite(r.ci_low):
        return f"{name} {r.variant_mean:.3g} in every run of both (identical)"
    margin = effects.equivalence_margin(r.quantity, r.v4)
    reading = equivalence(r.ci_low, r.ci_high, -margin, margin)
    return (
        f"{name} {r.variant_mean:.3g} against V4's {r.v4:.3g}: difference {r.difference:+.3g} "
        f"[{r.ci_low:+.3g}, {r.ci_high:+.3g}], margin ±{margin:.3g}: {reading}"
    )


def value_range(means: pd.Series, fmt: str = ".3f") -> str:
    """'runs from LOW (names) to HIGH (names)', every name that ties at an end listed."""
    low, high = means.min(), means.max()
    if low == high:
        return f"is {low:{fmt}} for every one"
    names = lambda value: ", ".join(str(i) for i in means.index[means == value])
    return f"runs from {low:{fmt}} ({names(low)}) to {high:{fmt}} ({names(high)})"


def _correlation(rho: float | None) -> str:
    return "undefined (one of them is constant)" if rho is None else f"{rho:+.2f}"


def answers(runs, properties, effect_table, split, scale, cost, verdicts) -> str:
    """The chapter's answers in sentences (Markdown), every number read from the tables."""
    lines = []
    for dataset in (CHAOTIC, NULL):
        by_omega = effects.omega_means(runs, dataset)
        if by_omega.empty:
            continue
        by_omega.index = [f"ω = {w:g}" for w in by_omega.index]
        lines.append(
            f"**§9.4, the frequency, on {dataset} images.** FVE {value_range(by_omega.fve)}; the dead fraction "
            f"{value_range(by_omega.dead_fraction)}; the scale-free variance "
            f"{value_range(by_omega.scale_free_variance, '.3g')}."
        )
    chaotic = effects.chaos_fve(runs)
    if len(chaotic):
        lines.append(
            f"**Reconstruction.** {int((chaotic < 0).sum())} of the {len(chaotic)} settings with the chaos activation "
            f"reconstruct the logistic test images worse than the mean training image does (FVE below 0; best "
            f"{chaotic.max():+.3f}): the differences between them are differences between models that do not "
            f"reconstruct."
        )
    for dataset in (CHAOTIC, NULL):
        family = effects.family_means(runs, dataset)
        if family.empty:
            continue
        alive = family.index[family.dead_fraction <= 0.05].tolist()
        lines.append(
            f"**The activation family, on {dataset} images** (V4's Top-K and penalty): {len(alive)} of {len(family)} "
            f"keep at most 5 % of their units dead ({', '.join(alive) or 'none'}); dead fraction "
            f"{value_range(family.dead_fraction)}; FVE {value_range(family.fve)}."
        )
    same = effects.same_topk_and_penalty(properties, CHAOTIC)
    if len(same) > 2:
        rho = {column: _correlation(value) for column, value in effects.dead_unit_correlations(same).items()}
        lines.append(
            f"**What goes with dead units** (logistic images, the {len(same)} variants with V4's Top-K and penalty): "
            f"Spearman correlation of the dead fraction with the mean |f'| {rho['mean_abs_derivative']}, with "
            f"the flat fraction {rho['flat_fraction']}, with the fraction of latent outputs below 0 "
            f"{rho['latent_negative_fraction']}."
        )
    penalty = effect_table[(effect_table.factor == "penalty") & (effect_table.dataset == CHAOTIC)]
    for variant, rows in penalty.groupby("variant", sort=False):
        parts = [_against_v4(r) for r in rows[rows.quantity.isin(["dead_fraction", "variance", "fve"])].itertuples()]
        lines.append(
            f"**The variance penalty on logistic images, {variant}** ({int(rows.n.min())} seeds each; 'equivalent' "
            "means the 95 % interval of the difference lies inside the margin stated, two one-sided tests at 2.5 %). "
            + "; ".join(parts)
            + "."
        )
    v4 = properties[(properties.factor == "default") & (properties.dataset == CHAOTIC)]
    if len(v4):
        lines.append(
            f"The draft's penalty pulls the mean variance of V4's latent pre-activation towards 0.1; after training "
            f"it is {float(v4.latent_pre_variance.iloc[0]):.3g} (the loss gains 0.01 times |variance - 0.1|, "
            f"divided by the batch size)."
        )
    if len(split):
        for quantity in ("scale_free_variance", "dead_fraction"):
            shares = effects.clear_effect_shares(effect_table, split, quantity)
            if len(shares.dropna()):
                lines.append(
                    f"**Architecture or data, {TITLES[quantity]}.** Of the changes whose effect on logistic "
                    f"images has Welch p below 0.05 ({len(shares)}), the share of the effect that noise images do not "
                    f"show (0: all architecture, 1: all data) is at most {shares.max():.2f} "
                    f"(median {shares.median():.2f})."
                )
    if len(cost):
        lines.append(_cost_sentence(cost))
    for v in verdicts.itertuples():
        lines.append(f"**{v.id}: {v.verdict}.** {v.why}")
    return "\n\n".join(lines)


def _cost_sentence(cost: pd.DataFrame) -> str:
    ratios = ", ".join(f"{int(r.latent_dim)}: x{r.v4_over_relu:.2f}" for r in cost.itertuples())
    same = bool((cost.v4_parameters == cost.dense_relu_parameters).all())
    spreads = pd.concat([cost.v4_epoch_spread, cost.relu_epoch_spread]).dropna()  # none with one epoch
    spread = f"; the epochs' times spread by up to {spreads.max():.0%}" if len(spreads) else ""
    return (
        f"**§9.5, cost.** Training time per model-run of V4 over the ReLU models (V3 and dense ReLU), by width: "
        f"{ratios} (one timing each{spread}); the parameter counts of V4 and dense ReLU are "
        f"{'equal at every width' if same else 'not equal'}."
    )
