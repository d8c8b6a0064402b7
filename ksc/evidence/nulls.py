"""Null references: what a claim's rule says about models that learned nothing about chaos.

A rule that the per-pixel-mean predictor, an all-dead network, the same model trained on uniform
noise, or a value fixed by the architecture would pass just as well does not tell a working model from
a broken one. The ledger applies every numeric rule to these references too and calls a reproduction
*uninformative* (or *fixed by construction*) when one of them passes; a reproduction with no reference
measured for its model and quantity is *reproduced, no null measured*, never *informative*.

Every reference is read from a declared table (``ksc/runtime/tables.csv``) of a chapter that ran; its ``source``
names the chapter and the table. A chapter that ran without a declared table, column or label stops the ledger
(:class:`ksc.runtime.declarations.MissingEvidence`); one that did not run gives no references.

- ``mean image``: the per-pixel-mean predictor's MSE (FVE 0), for every reconstruction claim;
- ``all-dead V1``: V1's own measured loss (chapter 01), for every other model's reconstruction claim;
- ``<architecture> on noise``: the same architecture trained on uniform-noise images (chapter 07; chapter 10 for
  V1-V4 and dense ReLU, chapter 02 for every K of the sweep), for its variance, dead-unit, sparsity and FVE claims
  (FVE on noise against the noise images' own mean image), its seed spread, and the ratios formed on noise;
- ``untrained <architecture>``: the same architecture at its initial weights, before any training (chapter 10),
  for the same quantities, each K of the sweep (and the sweep's best K and gains computed from them), and the
  ratios between architectures; and for the Section 1.2 divergence test's first distance, the same model's
  latent distance between unrelated images (the test's frames are unrelated images from their first row on);
- ``untrained dense_relu_64``, ``dense_relu_64 on noise`` (and the same of chapter 03's other two models): chapter
  03's baselines at their initial weights and trained on noise, with its seeds (table ``nulls``);
- ``vSAE = TopK SAE`` and ``all-zero vSAE``: chapter 06's comparisons as the same model twice and as a dead vSAE
  that reconstructs the training mean would give them (computed in chapter 06, table ``nulls``); on the language
  model (chapter 13, table ``nulls``), ``vSAE = TopK SAE``, the untrained TopK SAE and the TopK SAE trained on
  shuffled activations in the vSAE's place;
- ``V4 on noise`` and ``untrained V4`` for the properties of V4's activation on the pre-activations it sees
  (chapter 11, table ``nulls``), and chapter 12's own references (table ``nulls``);
- ``on noise (same L0)``: chapter 09's SAEs trained on uniform noise, read at the L0 of the comparison, for
  the Section 7.3 predictions about them;
- ``construction``: Top-K keeps k of L units, so sparsity is 1 - k/L and k units are active whatever the
  weights; a variance that grows with K by construction shows no trend violations; 200 identical
  inputs have zero variance in every unit under any encoder.

A reference of quantity ``fve`` is a fraction of variance explained: the ledger compares it with a reconstruction
claim's FVE (the claim's loss against the logistic mean image).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ksc.measures.stats import k_sweep
from ksc.runtime.declarations import rows as labelled
from ksc.runtime.declarations import table
from ksc.runtime.results import chapter_results, every_chapter

COLUMNS = ["reference", "model", "quantity", "value", "source"]
LOSS_QUANTITIES = ("val_loss", "test_mse")
QUANTITIES = ("variance", "dead_fraction", "sparsity", "active_per_sample", "active_variance", "fve")
SWEEP_STATEMENTS = ("variance_gain_64_96", "variance_gain_96_112", "best_score_k", "variance_trend_violations")
# registry model -> the architecture chapters 07 and 10 train on noise and leave untrained (dense ReLU is added with
# the chapter's own latent width, "dense_relu_<latent_dim>")
TWINS = {
    "v1": "v1",
    "v2": "v2",
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
# the 30-epoch stability run's quantities, read against V4 on noise and untrained
STABILITY = {"final_variance": "variance", "max_dead_units": "dead_units", "late_variance_sd": "variance_sd"}
# registry ratio model -> (numerator, denominator) architectures, formed from the same null of each
RATIOS = {
    "v4/v3": ("v4", "v3"),
    "v4/v3 (lorenz96)": ("v4", "v3"),
    "v4/v3 (mackey_glass)": ("v4", "v3"),
}


def _record(results_dir, chapter: str) -> dict | None:
    return chapter_results(results_dir, chapter, missing_ok=True)


def _summaries(runs: pd.DataFrame) -> pd.DataFrame:
    """Per architecture: the mean of every quantity over seeds, and the seed spread of the variance."""
    grouped = runs.groupby("architecture")
    means = grouped[[q for q in (*QUANTITIES, "dead_units") if q in runs]].mean()
    means["variance_sd"] = grouped.variance.std(ddof=1)
    return means


def _architecture_rows(means: pd.DataFrame, reference: str, latent_dim: int, source: str) -> list[tuple]:
    """The references of one null (``reference`` names it, ``{}`` standing for the architecture) for every registry
    model whose architecture the null has: its quantities, the stability run's, and the ratios formed on it."""
    twins = {**TWINS, f"dense_relu_{latent_dim}": "dense_relu"}
    rows = []
    for model, architecture in twins.items():
        if architecture in means.index:
            name = reference.format(architecture)
            quantities = (*QUANTITIES, "dead_units", "variance_sd")
            rows += [(name, model, q, float(means.loc[architecture, q]), source) for q in quantities if q in means]
            if model == "v4":
                rows += [
                    (name, "v4 (stability)", q, float(means.loc["v4", from_q]), source)
                    for q, from_q in STABILITY.items()
                    if from_q in means
                ]
    ratios = {**RATIOS, f"v4/dense_relu_{latent_dim}": ("v4", "dense_relu")}
    for model, (top, bottom) in ratios.items():
        if top in means.index and bottom in means.index:
            value = float(means.loc[top, "variance"] / means.loc[bottom, "variance"])
            name = f"{reference.format(top)} / {reference.format(bottom)}"
            rows.append((name, model, "variance_ratio", value, source))
    return rows


def _sweep_rows(variance_by_k: pd.Series, latent_dim: int, reference: str, source: str) -> list[tuple]:
    """The Section 6.2 sweep statements (best K, gains, trend) computed from a null's mean variance per K, and each
    K's variance and score (variance / (1 - sparsity + 0.01), the sparsity of Top-K being 1 - K/L)."""
    ks = variance_by_k.index.to_numpy()
    per_k = pd.DataFrame(
        {
            "K": ks,
            "seed": 0,
            "variance": variance_by_k.to_numpy(),
            "val_loss": np.nan,
            "score": variance_by_k.to_numpy() / (ks / latent_dim + 0.01),
        }
    )
    sweep, _, _ = k_sweep(per_k)
    rows = [(reference, "K sweep", q, float(sweep[q]), source) for q in SWEEP_STATEMENTS if np.isfinite(sweep[q])]
    for row in per_k.itertuples():
        rows += [
            (f"{reference} K={row.K}", f"K={row.K}", q, float(getattr(row, q)), source) for q in ("variance", "score")
        ]
    return rows


def _evolution_references(results_dir) -> list[tuple]:
    record = _record(results_dir, "01_evolution")
    if record is None:
        return []
    runs, source = table(record, "metrics"), "01_evolution/metrics"
    floor = float(runs.mean_predictor_mse.mean())
    v1 = labelled(runs, source, model="v1")
    return [("mean image", "*", q, floor, source) for q in LOSS_QUANTITIES] + [
        ("all-dead V1", "*", q, float(v1[q].mean()), source) for q in LOSS_QUANTITIES
    ]


def _data_references(results_dir) -> list[tuple]:
    """Chapter 00's uniform-noise images: their byte entropy, for the entropy claimed for logistic images."""
    record = _record(results_dir, "00_data")
    if record is None:
        return []
    source = "00_data/pixel_statistics"
    noise = labelled(table(record, "pixel_statistics"), source, dataset="uniform noise (control)")
    return [("uniform noise images", "logistic r=3.99", "byte_entropy", float(noise.byte_entropy.iloc[0]), source)]


def _controls_references(results_dir) -> list[tuple]:
    """Chapter 07's architectures trained on uniform noise."""
    record = _record(results_dir, "07_controls")
    if record is None:
        return []
    source = "07_controls/metrics"
    runs = table(record, "metrics")
    noise = labelled(runs, source, dataset="noise")
    latent_dim = int(record["parameters"]["latent_dim"])
    rows = _architecture_rows(_summaries(noise), "{} on noise", latent_dim, source)
    # the Hénon/logistic ratio against V4's noise/logistic ratio: the same number from data with no attractor
    logistic = labelled(runs, source, dataset="logistic", architecture="v4").variance.mean()
    v4_noise = labelled(noise, source, architecture="v4").variance.mean()
    return rows + [
        ("v4 on noise / v4 on logistic", "v4 henon/v4 logistic", "variance_ratio", v4_noise / logistic, source)
    ]


def _sweep_references(results_dir) -> list[tuple]:
    """Chapter 02's V4 at every K trained on noise: each K's quantities, and the sweep's statements on noise."""
    record = _record(results_dir, "02_k_ablation")
    if record is None:
        return []
    noise, source = table(record, "noise"), "02_k_ablation/noise"
    rows = [
        (f"{row['model']} on noise", row["model"], q, float(row[q]), source)
        for row in noise.to_dict(orient="records")
        for q in ("variance", "dead_fraction", "sparsity", "fve")
        if pd.notna(row.get(q))
    ]
    by_k = noise.assign(K=noise.model.str.removeprefix("K=").astype(int)).set_index("K").variance.sort_index()
    sweep = _sweep_rows(by_k, int(record["parameters"]["latent_dim"]), "V4 on noise", source)
    return rows + [row for row in sweep if row[2] != "variance"]  # each K's variance on noise is in the rows above


def _training_controls_references(results_dir) -> list[tuple]:
    """Chapter 10's architectures at their initial weights and trained on noise, its untrained V4 at every K of the
    sweep, and the Section 1.2 model's latent distance between unrelated images."""
    record = _record(results_dir, "10_training_controls")
    if record is None:
        return []
    source = "10_training_controls/metrics"
    runs = table(record, "metrics")
    latent_dim = int(record["parameters"]["latent_dim"])
    untrained = labelled(runs, source, training="untrained", dataset="logistic")
    noise = labelled(runs, source, training="trained", dataset="noise")
    rows = _architecture_rows(_summaries(untrained), "untrained {}", latent_dim, source)
    rows += _architecture_rows(_summaries(noise), "{} on noise", latent_dim, source)
    divergence = table(record, "origin_divergence")
    distance = float(divergence["unrelated images' latent distance"].mean())
    rows.append(
        (
            "unrelated images",
            "origin dense-64",
            "first_latent_distance",
            distance,
            "10_training_controls/origin_divergence",
        )
    )
    k_table = table(record, "k_table")
    by_k = k_table.set_index("K").untrained.sort_index()
    rows += _sweep_rows(by_k, latent_dim, "untrained V4", "10_training_controls/k_table")
    return rows


def _sota_references(results_dir) -> list[tuple]:
    """Chapter 09's SAEs trained on uniform noise, read at the same L0 as on logistic images."""
    record = _record(results_dir, "09_sota_saes")
    if record is None:
        return []
    source = "09_sota_saes/matched"
    matched = table(record, "matched")
    width = record["parameters"]["image_latents"]
    noise = labelled(matched, source, dataset="noise", n_latents=width)
    noise = noise[noise.read.astype(bool)]
    means = noise.groupby("model").mean(numeric_only=True)
    return [
        (f"{kind} on noise (same L0)", f"{kind} (logistic)", q, float(means.loc[kind, q]), source)
        for kind in means.index
        for q in ("variance", "dead_fraction")
    ]


def _chapter_references(results_dir) -> list[tuple]:
    """The chapters that compute their own references in this form (03, 06, 11, 12, 13: table ``nulls``)."""
    rows = []
    for chapter in ("03_fair_baselines", "06_vsae", "11_ablations", "12_randomness", "13_language_model"):
        record = _record(results_dir, chapter)
        if record is not None:
            own = table(record, "nulls")
            if own.empty:  # chapter 12 without dieharder and ent: no stream judged on every battery
                continue
            rows += [(*r[:-1], f"{chapter}/nulls") for r in own[COLUMNS].itertuples(index=False)]
    return rows


def references(results_dir) -> pd.DataFrame:
    """Long table (reference, model, quantity, value, source): the null values the measured chapters give.

    ``model`` is a registry model name, or ``*`` for a reference that applies to every model; ``source`` is the
    declared table it was read from.
    """
    rows = (
        _data_references(results_dir)
        + _evolution_references(results_dir)
        + _controls_references(results_dir)
        + _sweep_references(results_dir)
        + _training_controls_references(results_dir)
        + _sota_references(results_dir)
        + _chapter_references(results_dir)
    )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame[np.isfinite(frame.value.astype(float))].reset_index(drop=True)


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
