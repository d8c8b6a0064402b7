"""Null references: what a claim's rule says about models that learned nothing about chaos.

A rule that the per-pixel-mean predictor, an all-dead network, the same model trained on uniform
noise, or a value fixed by the architecture would pass just as well does not tell a working model from
a broken one. The ledger applies every numeric rule to these references too and calls a reproduction
*uninformative* (or *fixed by construction*) when one of them passes.

References, all read from the chapters' results files:

- ``mean image``: the per-pixel-mean predictor's MSE (FVE 0), for every reconstruction claim;
- ``all-dead V1``: V1's own measured loss (chapter 01), for every other model's reconstruction claim;
- ``on noise``: the same architecture trained on uniform-noise images (chapter 07, and chapter 02 for
  every K of the sweep), for its variance, dead-unit and sparsity claims, and the same ratios formed on
  noise;
- ``untrained``: the same architecture at its initial weights, before any training (chapter 10), for its
  variance, dead-unit and sparsity claims on logistic images, each K of the sweep, and the ratios between
  architectures; and for the Section 1.2 divergence test's first distance, the same model's latent distance
  between unrelated images (the test's frames are unrelated images from their first row on);
- ``vSAE = TopK SAE`` and ``all-zero vSAE``: chapter 06's comparisons as the same model twice and as a dead vSAE
  that reconstructs the training mean would give them (computed in chapter 06, table ``nulls``);
- ``V4 on noise`` and ``untrained V4`` for the properties of V4's activation on the pre-activations it sees
  (chapter 11, table ``nulls``);
- ``on noise (same L0)``: chapter 09's SAEs trained on uniform noise, read at the L0 of the comparison, for
  the Section 7.3 predictions about them;
- ``construction``: Top-K keeps k of L units, so sparsity is 1 - k/L and k units are active whatever the
  weights; a variance that grows with K by construction shows no trend violations; 200 identical
  inputs have zero variance in every unit under any encoder.
"""

from __future__ import annotations

import re

import pandas as pd

from ksc.runtime.results import chapter_results, every_chapter

LOSS_QUANTITIES = ("val_loss", "test_mse")
NOISE_QUANTITIES = ("variance", "dead_fraction", "sparsity", "active_per_sample", "active_variance")
# registry model -> the architecture chapter 07 trains on noise (dense_relu there has chapter 07's latent_dim)
NOISE_TWINS = {
    "v1": "v1",
    "v3": "v3",
    "v4": "v4",
    "K=32": "v4",
    "v4 logistic": "v4",
    "v4 henon": "v4",
    "v1 (lorenz96)": "v1",
    "v1 (mackey_glass)": "v1",
    "v4 (lorenz96)": "v4",
    "v4 (mackey_glass)": "v4",
}
# the 30-epoch stability run's quantities, read against V4 on noise after chapter 07's 10 epochs
STABILITY = {"final_variance": "variance", "max_dead_units": "dead_units"}
# registry ratio model -> (numerator, denominator) as (architecture, data set) in chapter 07
NOISE_RATIOS = {
    "v4/v3": (("v4", "noise"), ("v3", "noise")),
    "v4/v3 (lorenz96)": (("v4", "noise"), ("v3", "noise")),
    "v4/v3 (mackey_glass)": (("v4", "noise"), ("v3", "noise")),
    "v4 henon/v4 logistic": (("v4", "noise"), ("v4", "logistic")),
}


# registry model -> the architecture chapter 10 measures untrained on logistic images
UNTRAINED_TWINS = {"v1": "v1", "v3": "v3", "v4": "v4", "K=32": "v4", "v4 logistic": "v4"}


def _record(results_dir, chapter: str) -> dict | None:
    return chapter_results(results_dir, chapter, missing_ok=True)


def _noise_means(results_dir) -> tuple[pd.DataFrame | None, dict]:
    record = _record(results_dir, "07_controls")
    if record is None or record["metrics"].empty:
        return None, {}
    runs = record["metrics"]
    runs["architecture"] = runs.model.str.split(" on ").str[0]
    runs["dataset"] = runs.model.str.split(" on ").str[1]
    return runs.groupby(["architecture", "dataset"]).mean(numeric_only=True), record["parameters"]


def references(results_dir) -> pd.DataFrame:
    """Long table (reference, model, quantity, value, source): the null values the measured chapters give.

    ``model`` is a registry model name, or ``*`` for a reference that applies to every model.
    """
    rows = []
    evolution = _record(results_dir, "01_evolution")
    if evolution is not None:
        runs = evolution["metrics"]
        if "mean_predictor_mse" in runs:
            floor = float(runs.mean_predictor_mse.mean())
            rows += [("mean image", "*", q, floor, "01_evolution") for q in LOSS_QUANTITIES]
        v1 = runs[runs.model == "v1"]
        rows += [
            ("all-dead V1", "*", q, float(v1[q].mean()), "01_evolution") for q in LOSS_QUANTITIES if len(v1) and q in v1
        ]
    means, params = _noise_means(results_dir)
    if means is not None:
        twins = dict(NOISE_TWINS)
        twins[f"dense_relu_{params.get('latent_dim', 128)}"] = "dense_relu"
        for model, architecture in twins.items():
            if (architecture, "noise") in means.index:
                rows += [
                    (f"{architecture} on noise", model, q, float(means.loc[(architecture, "noise"), q]), "07_controls")
                    for q in NOISE_QUANTITIES
                    if q in means
                ]
        if ("v4", "noise") in means.index:
            rows += [
                (
                    "v4 on noise (10 epochs)",
                    "v4 (stability)",
                    q,
                    float(means.loc[("v4", "noise"), source]),
                    "07_controls",
                )
                for q, source in STABILITY.items()
                if source in means
            ]
        ratios = dict(NOISE_RATIOS)
        ratios[f"v4/dense_relu_{params.get('latent_dim', 128)}"] = (("v4", "noise"), ("dense_relu", "noise"))
        for model, (top, bottom) in ratios.items():
            if top in means.index and bottom in means.index:
                rows.append(
                    (
                        f"{top[0]} on {top[1]} / {bottom[0]} on {bottom[1]}",
                        model,
                        "variance_ratio",
                        float(means.loc[top, "variance"] / means.loc[bottom, "variance"]),
                        "07_controls",
                    )
                )
    sweep = _record(results_dir, "02_k_ablation")
    noise = sweep["tables"].get("noise") if sweep is not None else None
    if noise is not None and not noise.empty:
        for row in noise.to_dict(orient="records"):
            rows += [
                (f"{row['model']} on noise", row["model"], q, float(row[q]), "02_k_ablation")
                for q in ("variance", "dead_fraction", "sparsity")
                if pd.notna(row.get(q))
            ]
    rows += _training_controls_references(results_dir)
    rows += _sota_references(results_dir)
    columns = ["reference", "model", "quantity", "value", "source"]
    for record in every_chapter(results_dir):  # chapters that compute their own references in this form (06, 11)
        table = record["tables"].get("nulls")
        if table is not None and not table.empty and set(columns) <= set(table.columns):
            rows += [tuple(r) for r in table[columns].values]
    return pd.DataFrame(rows, columns=["reference", "model", "quantity", "value", "source"])


def _training_controls_references(results_dir) -> list[tuple]:
    """Chapter 10's architectures at their initial weights on logistic images, and the Section 1.2 model's latent
    distance between unrelated images, as null references."""
    record = _record(results_dir, "10_training_controls")
    if record is None or "training" not in record["metrics"]:
        return []
    source, runs = "10_training_controls", record["metrics"]
    picked = runs[(runs.training == "untrained") & (runs.dataset == "logistic")]
    means = picked.groupby("architecture").mean(numeric_only=True)
    twins = {**UNTRAINED_TWINS, f"dense_relu_{record['parameters'].get('latent_dim', 128)}": "dense_relu"}
    rows = [
        (f"untrained {architecture}", model, q, float(means.loc[architecture, q]), source)
        for model, architecture in twins.items()
        if architecture in means.index
        for q in NOISE_QUANTITIES
        if q in means
    ]
    if "v4" in means.index:
        rows += [
            ("untrained v4", "v4 (stability)", q, float(means.loc["v4", source_q]), source)
            for q, source_q in STABILITY.items()
            if source_q in means
        ]
        dense = f"v4/dense_relu_{record['parameters'].get('latent_dim', 128)}"
        for model, bottom in (("v4/v3", "v3"), (dense, "dense_relu")):
            if bottom in means.index:
                ratio = float(means.loc["v4", "variance"] / means.loc[bottom, "variance"])
                rows.append((f"untrained v4 / untrained {bottom}", model, "variance_ratio", ratio, source))
    divergence = record["tables"].get("origin_divergence")
    if divergence is not None and "unrelated images' latent distance" in divergence:
        distance = float(divergence["unrelated images' latent distance"].mean())
        rows.append(("unrelated images", "origin dense-64", "first_latent_distance", distance, source))
    k_table = record["tables"].get("k_table")
    if k_table is not None:
        rows += [
            (f"untrained v4 K={int(row.K)}", f"K={int(row.K)}", "variance", float(row.untrained), source)
            for row in k_table.itertuples()
            if f"K={int(row.K)}" not in twins
        ]
    return rows


def _sota_references(results_dir) -> list[tuple]:
    """Chapter 09's SAEs trained on uniform noise, read at the same L0 as on logistic images."""
    record = _record(results_dir, "09_sota_saes")
    if record is None or "matched" not in record["tables"]:
        return []
    matched = record["tables"]["matched"]
    width = record["parameters"].get("image_latents", 128)
    noise = matched[(matched.dataset == "noise") & (matched.n_latents == width) & matched.read.astype(bool)]
    means = noise.groupby("model").mean(numeric_only=True)
    return [
        (f"{kind} on noise (same L0)", f"{kind} (logistic)", q, float(means.loc[kind, q]), "09_sota_saes")
        for kind in means.index
        for q in ("variance", "dead_fraction")
    ]


def construction_value(kind: str, model: str, parameters: dict) -> float | None:
    """The value the architecture fixes for a claim (``construction`` column of the registry), or None."""
    match = re.match(r"K=(\d+)", str(model))
    k = int(match.group(1)) if match else parameters.get("k")
    latent = parameters.get("latent_dim")
    if kind == "topk_sparsity" and k and latent:
        return 1.0 - k / latent
    if kind == "topk_active" and k:
        return float(k)
    if kind in ("topk_trend", "identical_inputs"):
        return 0.0
    return None


CONSTRUCTION_WHY = {
    "topk_sparsity": "Top-K keeps k of L units, so sparsity is 1 - k/L for any weights",
    "topk_active": "Top-K keeps exactly k units active for any weights",
    "topk_trend": "under Top-K by |z| the variance grows with the share K/L of kept units whatever was learned",
    "identical_inputs": "200 identical inputs give every unit zero variance under any encoder",
}


def chapter_parameters(results_dir) -> dict:
    """Chapter -> its parameters, for every results file present."""
    return {record["chapter"]: record.get("parameters", {}) for record in every_chapter(results_dir)}
