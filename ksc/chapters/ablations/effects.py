"""Chapter 11's tables: each ingredient's effect against V4, split into the part noise images show too
(the architecture's) and the part only chaotic images show (the data's); the activation properties next to
the dead units they are said to explain; the latent-width sweep with its cost.

Every table is computed from the per-run metrics and activation properties of
:func:`ksc.chapters.ablations.variants.train_variants`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ksc.measures.stats import compare_two

QUANTITIES = ("dead_fraction", "variance", "scale_free_variance", "fve")
REFERENCE = "V4"
CHAOTIC, NULL = "logistic", "noise"
# variants with V4's Top-K by absolute value and V4's penalty: only their activation (or its constants) differs
SAME_TOPK_AND_PENALTY = ("default", "omega", "alpha", "beta", "alpha and beta", "activation")
TITLES = {"dead_fraction": "dead fraction", "scale_free_variance": "scale-free variance"}
PROPERTIES = ("mean_abs_derivative", "latent_mean_abs_derivative", "flat_fraction", "expansive_fraction")


def effects(runs: pd.DataFrame, quantities=QUANTITIES, reference: str = REFERENCE) -> pd.DataFrame:
    """Every variant against ``reference`` on the same data set: means, difference, Welch's t-test, Cohen's d."""
    rows = []
    for dataset, group in runs.groupby("dataset", sort=False):
        base = group[group.variant == reference]
        for variant, other in group[group.variant != reference].groupby("variant", sort=False):
            for quantity in quantities:
                welch = compare_two(base[quantity], other[quantity], reference, variant)[0]
                rows.append(
                    {
                        "factor": other.factor.iloc[0],
                        "variant": variant,
                        "dataset": dataset,
                        "quantity": quantity,
                        "v4": welch["mean_a"],
                        "variant_mean": welch["mean_b"],
                        "difference": welch["difference"],
                        "welch_p": welch["p"],
                        "cohens_d": welch["cohens_d"],
                        "n": int(min(welch["n_a"], welch["n_b"])),
                    }
                )
    return pd.DataFrame(rows)


def data_split(effect_table: pd.DataFrame) -> pd.DataFrame:
    """Each effect on chaotic images as the part noise images show too (the architecture's) plus the rest (the
    data's): ``on_noise`` and ``logistic_minus_noise``; ``data_share`` = |rest| / (|on noise| + |rest|)."""
    wide = effect_table.pivot_table(
        index=["factor", "variant", "quantity"], columns="dataset", values="difference", sort=False
    ).reset_index()
    if CHAOTIC not in wide or NULL not in wide:
        return pd.DataFrame()
    wide = wide.rename(columns={CHAOTIC: "on_logistic", NULL: "on_noise"})
    wide["logistic_minus_noise"] = wide.on_logistic - wide.on_noise
    total = wide.on_noise.abs() + wide.logistic_minus_noise.abs()
    wide["data_share"] = np.where(total > 0, wide.logistic_minus_noise.abs() / total.where(total > 0, 1), np.nan)
    wide.columns.name = None
    return wide[["factor", "variant", "quantity", "on_logistic", "on_noise", "logistic_minus_noise", "data_share"]]


def property_table(runs: pd.DataFrame, properties: pd.DataFrame, training: str = "trained") -> pd.DataFrame:
    """Per variant and data set, the means over seeds of the activation's properties on the pre-activations the
    runs saw, with f(0), f'(0), the fixed points in the central 99 % and the runs' dead units, variance and FVE."""
    props = properties[properties.training == training]
    keys = ["factor", "variant", "activation", "dataset"]
    numeric = list(PROPERTIES) + ["fixed_points", "attracting_fixed_points", "pre_low", "pre_high", "pre_sd"]
    numeric += ["latent_pre_variance", "latent_negative_fraction"]
    table = props.groupby(keys, sort=False)[numeric].mean()
    table["f_at_0"] = props.groupby(keys, sort=False).f_at_0.first()
    # results files hold no infinities: "f(x) = x along a stretch" is kept as a flag too
    table["fixed_point_stretch"] = np.isinf(table.fixed_points)
    table["derivative_at_0"] = props.groupby(keys, sort=False).derivative_at_0.first()
    outcome = runs.groupby(keys, sort=False)[list(QUANTITIES)].mean()
    return table.join(outcome).reset_index()


def untrained_table(untrained: pd.DataFrame) -> pd.DataFrame:
    """Per variant and data set, the means over seeds of the latent metrics and FVE at the initial weights."""
    keys = ["factor", "variant", "activation", "dataset"]
    return untrained.groupby(keys, sort=False)[list(QUANTITIES)].mean().reset_index()


def scale_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per latent width, variant and data set: means (and seeds) of the quantities, the training seconds per model-run
    of the computation the variant trained in (compiling left out), and its parameter count."""
    grouped = runs.groupby(["latent_dim", "variant", "dataset"], sort=False)
    timing = [c for c in ("train_seconds_per_run", "epoch_time_spread", "wall_seconds") if c in runs]
    table = grouped[list(QUANTITIES) + timing + ["parameters"]].mean()
    table["seeds"] = grouped.size()
    return table.reset_index()


def cost_table(scale: pd.DataFrame) -> pd.DataFrame:
    """Per latent width: training seconds per model-run of the V4 computation and of the ReLU one (V3 and dense ReLU,
    compiling left out), their ratio, and the parameter counts (the activation has none, so V4 and dense ReLU have
    the same count)."""
    rows = []
    for width, group in scale.groupby("latent_dim"):
        v4 = group[group.variant.str.startswith("V4")]
        relu = group[~group.variant.str.startswith("V4")]
        dense = group[group.variant == "dense ReLU"]
        rows.append(
            {
                "latent_dim": width,
                "v4_seconds_per_run": float(v4.train_seconds_per_run.mean()),
                "relu_seconds_per_run": float(relu.train_seconds_per_run.mean()),
                "v4_over_relu": float(v4.train_seconds_per_run.mean() / relu.train_seconds_per_run.mean()),
                "v4_epoch_spread": float(v4.epoch_time_spread.mean()),
                "relu_epoch_spread": float(relu.epoch_time_spread.mean()),
                "v4_parameters": int(v4.parameters.iloc[0]),
                "dense_relu_parameters": int(dense.parameters.iloc[0]) if len(dense) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def heat_map(runs: pd.DataFrame, quantity: str, dataset: str, alphas, betas, omega: float = 8.0) -> pd.DataFrame:
    """Mean ``quantity`` over seeds on an (alpha, beta) grid at the default omega; NaN where no variant trained.
    alpha = 0 leaves beta without effect, so that row repeats its one value."""
    table = pd.DataFrame(np.nan, index=pd.Index(alphas, name="alpha"), columns=pd.Index(betas, name="beta"))
    picked = runs[(runs.dataset == dataset) & (runs.omega == omega) & (runs.activation == "chaos")]
    picked = picked[(picked.topk_by == "abs") & (picked.penalty == "draft")]
    means = picked.groupby(["alpha", "beta"])[quantity].mean()
    for (a, b), value in means.items():
        for beta in betas if a == 0 else [b]:
            if a in table.index and beta in table.columns:
                table.loc[a, beta] = value
    return table


def claim_summary(properties: pd.DataFrame) -> pd.DataFrame:
    """The Section 5.4 properties of trained V4 on logistic images, in the long form ``claims.compare`` reads."""
    from ksc.evidence.claims import summarise

    v4 = properties[(properties.training == "trained") & (properties.variant == REFERENCE)]
    return summarise(v4[v4.dataset == CHAOTIC].assign(model="v4 (logistic)"), ["mean_abs_derivative", "fixed_points"])


def null_table(properties: pd.DataFrame, chapter: str = "11_ablations") -> pd.DataFrame:
    """The same properties of V4 trained on noise and of V4 before training, as null references for the ledger."""
    v4 = properties[properties.variant == REFERENCE]
    picks = {
        "V4 on noise": v4[(v4.training == "trained") & (v4.dataset == NULL)],
        "untrained V4": v4[(v4.training == "untrained") & (v4.dataset == CHAOTIC)],
    }
    rows = [
        {"reference": name, "model": "v4 (logistic)", "quantity": q, "value": float(rows[q].mean()), "source": chapter}
        for name, rows in picks.items()
        if len(rows)
        for q in ("mean_abs_derivative", "fixed_points")
    ]
    return pd.DataFrame(rows, columns=["reference", "model", "quantity", "value", "source"])


def _range(means: pd.Series, fmt: str = ".3f") -> str:
    """'runs from LOW (names) to HIGH (names)', every name that ties at an end listed."""
    low, high = means.min(), means.max()
    if low == high:
        return f"is {low:{fmt}} for every one"
    names = lambda value: ", ".join(str(i) for i in means.index[means == value])
    return f"runs from {low:{fmt}} ({names(low)}) to {high:{fmt}} ({names(high)})"


def answers(runs, properties, effect_table, split, scale, cost, verdicts) -> str:
    """The chapter's answers in sentences, every number read from the tables."""
    lines = []
    for dataset in (CHAOTIC, NULL):
        mine = runs[(runs.dataset == dataset) & runs.factor.isin(["default", "omega"])]
        if mine.empty:
            continue
        by_omega = mine.groupby("omega")[list(QUANTITIES)].mean()
        by_omega.index = [f"ω = {w:g}" for w in by_omega.index]
        lines.append(
            f"**§9.4, the frequency, on {dataset} images.** FVE {_range(by_omega.fve)}; the dead fraction "
            f"{_range(by_omega.dead_fraction)}; the scale-free variance {_range(by_omega.scale_free_variance, '.3g')}."
        )
    chaotic = runs[(runs.dataset == CHAOTIC) & (runs.activation == "chaos")].groupby("variant").fve.mean()
    if len(chaotic):
        lines.append(
            f"**Reconstruction.** {int((chaotic < 0).sum())} of the {len(chaotic)} settings with the chaos activation "
            f"reconstruct the logistic test images worse than the mean training image does (FVE below 0; best "
            f"{chaotic.max():+.3f}): the differences between them are differences between models that do not "
            f"reconstruct."
        )
    chosen = runs.factor.isin(["default", "activation"]) | ((runs.factor == "alpha") & (runs.alpha == 0))
    for dataset in (CHAOTIC, NULL):
        family = runs[chosen & (runs.dataset == dataset)].groupby("variant")[list(QUANTITIES)].mean()
        if family.empty:
            continue
        alive = family.index[family.dead_fraction <= 0.05].tolist()
        lines.append(
            f"**The activation family, on {dataset} images** (V4's Top-K and penalty): {len(alive)} of {len(family)} "
            f"keep at most 5 % of their units dead ({', '.join(alive) or 'none'}); dead fraction "
            f"{_range(family.dead_fraction)}; FVE {_range(family.fve)}."
        )
    same = properties[properties.factor.isin(SAME_TOPK_AND_PENALTY) & (properties.dataset == CHAOTIC)]
    if len(same) > 2:

        def rho(column: str) -> str:
            if same[column].nunique() < 2 or same.dead_fraction.nunique() < 2:
                return "undefined (one of them is constant)"
            return f"{spearmanr(same[column], same.dead_fraction).statistic:+.2f}"

        lines.append(
            f"**What goes with dead units** (logistic images, the {len(same)} variants with V4's Top-K and penalty): "
            f"Spearman correlation of the dead fraction with the mean |f'| {rho('mean_abs_derivative')}, with "
            f"the flat fraction {rho('flat_fraction')}, with the fraction of latent outputs below 0 "
            f"{rho('latent_negative_fraction')}."
        )
    penalty = effect_table[(effect_table.factor == "penalty") & (effect_table.dataset == CHAOTIC)]
    for variant, rows in penalty.groupby("variant", sort=False):
        parts = [
            f"{r.quantity.replace('_', ' ')} {r.variant_mean:.3g} against V4's {r.v4:.3g}"
            + (" (no difference)" if r.variant_mean == r.v4 else f" (Welch p {r.welch_p:.2g})")
            for r in rows[rows.quantity.isin(["dead_fraction", "variance", "fve"])].itertuples()
        ]
        lines.append(f"**The variance penalty on logistic images, {variant}.** " + "; ".join(parts) + ".")
    v4 = properties[(properties.factor == "default") & (properties.dataset == CHAOTIC)]
    if len(v4):
        lines.append(
            f"The draft's penalty pulls the mean variance of V4's latent pre-activation towards 0.1; after training "
            f"it is {float(v4.latent_pre_variance.iloc[0]):.3g} (the loss gains 0.01 times |variance - 0.1|, "
            f"divided by the batch size)."
        )
    if len(split):
        clear = effect_table[(effect_table.dataset == CHAOTIC) & (effect_table.welch_p < 0.05)]
        for quantity in ("scale_free_variance", "dead_fraction"):
            named = set(clear[clear.quantity == quantity].variant)
            shares = split[(split.quantity == quantity) & split.variant.isin(named)].set_index("variant").data_share
            if len(shares.dropna()):
                lines.append(
                    f"**Architecture or data, {TITLES[quantity]}.** Of the changes whose effect on logistic "
                    f"images has Welch p below 0.05 ({len(shares)}), the share of the effect that noise images do not "
                    f"show (0: all architecture, 1: all data) is at most {shares.max():.2f} "
                    f"(median {shares.median():.2f})."
                )
    if len(cost):
        ratios = ", ".join(f"{int(r.latent_dim)}: x{r.v4_over_relu:.2f}" for r in cost.itertuples())
        same = bool((cost.v4_parameters == cost.dense_relu_parameters).all())
        spreads = pd.concat([cost.v4_epoch_spread, cost.relu_epoch_spread]).dropna()  # none with one epoch
        spread = f"; the epochs' times spread by up to {spreads.max():.0%}" if len(spreads) else ""
        lines.append(
            f"**§9.5, cost.** Training time per model-run of V4 over the ReLU models (V3 and dense ReLU), by width: "
            f"{ratios} (one timing each{spread}); the parameter counts of V4 and dense ReLU are "
            f"{'equal at every width' if same else 'not equal'}."
        )
    for v in verdicts.itertuples():
        lines.append(f"**{v.id}: {v.verdict}.** {v.why}")
    return "\n\n".join(lines)
