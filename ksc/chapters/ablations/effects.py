"""Chapter 11's tables: each ingredient's effect against V4, split into the part noise images show too
(the architecture's) and the part only chaotic images show (the data's); the activation properties next to
the dead units they are said to explain; the latent-width sweep with its cost.

Every table is computed from the per-run metrics and activation properties of
:func:`ksc.chapters.ablations.variants.train_variants`; :func:`train_width_sweep` trains the width sweep's groups
with it. The functions at the end pick the numbers the chapter's summary states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ksc.chapters.ablations.variants import scale_variants, train_variants
from ksc.evidence.claims import summarise
from ksc.measures.stats import compare_two

QUANTITIES = ("dead_fraction", "variance", "scale_free_variance", "fve")
REFERENCE = "V4"
CHAOTIC, NULL = "logistic", "noise"
# variants with V4's Top-K by absolute value and V4's penalty: only their activation (or its constants) differs
SAME_TOPK_AND_PENALTY = ("default", "omega", "alpha", "beta", "alpha and beta", "activation")
PROPERTIES = ("mean_abs_derivative", "latent_mean_abs_derivative", "flat_fraction", "expansive_fraction")
# the properties whose correlation with the dead fraction the summary gives
CORRELATED = ("mean_abs_derivative", "flat_fraction", "latent_negative_fraction")


def effects(runs: pd.DataFrame, quantities=QUANTITIES, reference: str = REFERENCE) -> pd.DataFrame:
    """Every variant against ``reference`` on the same data set: means, difference with its Welch 95 % interval,
    Welch's p, Cohen's d."""
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
                        "ci_low": welch["ci_low"],
                        "ci_high": welch["ci_high"],
                        "welch_p": welch["p"],
                        "cohens_d": welch["cohens_d"],
                        "n": int(min(welch["n_a"], welch["n_b"])),
                    }
                )
    return pd.DataFrame(rows)


# equivalence margins of a variant's difference from V4 (two one-sided tests on the 95 % interval): the dead-unit
# rule's 0.05, the ledger's FVE band 0.02, and 5 % of V4's own variance
EQUIVALENCE_MARGINS = {"dead_fraction": 0.05, "fve": 0.02}
RELATIVE_MARGIN = 0.05


def equivalence_margin(quantity: str, v4_value: float) -> float:
    """The margin within which a variant's mean counts as the same as V4's for ``quantity``."""
    return EQUIVALENCE_MARGINS.get(quantity, RELATIVE_MARGIN * abs(v4_value))


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


def train_width_sweep(widths, k: int, data: dict, seeds, **training) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latent-width sweep: at each width, every group of :func:`~ksc.chapters.ablations.variants.scale_variants`
    trained as one computation by :func:`~ksc.chapters.ablations.variants.train_variants` (``training``: epochs,
    batch size, learning rate); the per-run metrics after training and at the initial weights, over all widths."""
    trained, untrained = [], []
    for width in widths:
        for group in scale_variants(width, k).values():
            trained_part, _, untrained_part = train_variants(group, data, seeds, **training)
            trained.append(trained_part)
            untrained.append(untrained_part)
    return pd.concat(trained, ignore_index=True), pd.concat(untrained, ignore_index=True)


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


def same_topk_and_penalty(table: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    """The rows of ``table`` (runs or properties) whose variant differs from V4 in its activation or the activation's
    constants only (V4's Top-K and penalty), on ``dataset`` or on every data set."""
    picked = table[table.factor.isin(SAME_TOPK_AND_PENALTY)]
    return picked if dataset is None else picked[picked.dataset == dataset]


def omega_means(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Means over seeds of the quantities of V4 and its frequency variants on one data set, indexed by omega."""
    mine = runs[(runs.dataset == dataset) & runs.factor.isin(["default", "omega"])]
    return mine.groupby("omega")[list(QUANTITIES)].mean()


def family_means(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Means over seeds of the quantities of each activation family with V4's Top-K and penalty (V4, the families
    put in its place and sin(8x) alone) on one data set, indexed by variant."""
    chosen = runs.factor.isin(["default", "activation"]) | ((runs.factor == "alpha") & (runs.alpha == 0))
    return runs[chosen & (runs.dataset == dataset)].groupby("variant")[list(QUANTITIES)].mean()


def chaos_fve(runs: pd.DataFrame) -> pd.Series:
    """Mean test FVE on chaotic images of every setting with the chaos activation, by variant."""
    return runs[(runs.dataset == CHAOTIC) & (runs.activation == "chaos")].groupby("variant").fve.mean()


def dead_unit_correlations(same: pd.DataFrame, columns=CORRELATED) -> dict:
    """Spearman's correlation of the dead fraction with each of ``columns`` over the rows of ``same`` (one row per
    variant); None where either is constant (the correlation is undefined)."""
    return {
        column: None
        if same[column].nunique() < 2 or same.dead_fraction.nunique() < 2
        else float(spearmanr(same[column], same.dead_fraction).statistic)
        for column in columns
    }


def clear_effect_shares(effect_table: pd.DataFrame, split: pd.DataFrame, quantity: str) -> pd.Series:
    """The data share (:func:`data_split`) of every change whose effect on ``quantity`` on chaotic images has Welch's
    p below 0.05, by variant."""
    clear = effect_table[(effect_table.dataset == CHAOTIC) & (effect_table.welch_p < 0.05)]
    named = set(clear[clear.quantity == quantity].variant)
    return split[(split.quantity == quantity) & split.variant.isin(named)].set_index("variant").data_share
