"""Chapter 03's analysis: V4 and the dense ReLU baselines of two sizes over seeds (each seed on its own draw of the
images), both t-tests for every pair, the long stability run, the measured rows of the draft's claims, and the same
three models untrained and trained on uniform noise as the ledger's null references for them (:func:`null_runs`).

Training goes through :func:`~ksc.models.training.train_configurations`, as chapter 01's does: one computation per
model, all seeds together.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ksc.chapters.training_controls.diagnostics import untrained
from ksc.data import chaos
from ksc.evidence import claims
from ksc.measures import stats
from ksc.models.training import Fit, train_configurations, train_many

QUANTITIES = [
    "variance",
    "dead_units",
    "dead_fraction",
    "sparsity",
    "val_loss",
    "test_mse",
    "mean_predictor_mse",
    "fve",
]
TESTED_QUANTITIES = ("variance", "dead_fraction", "val_loss", "fve")
TEST_COLUMNS = ["quantity", "comparison", "test", "difference", "ci_low", "ci_high", "t", "df", "p", "cohens_d"]
STABILITY_LABEL = "v4 (stability)"
NULL_QUANTITIES = ("variance", "dead_fraction", "dead_units", "sparsity", "active_per_sample", "fve")


def seed_datasets(
    n_seeds: int, n_train: int, n_val: int, n_test: int, r: float, data_seed: int, vary_data: bool
) -> list[chaos.Splits]:
    """One set of logistic images per seed: with ``vary_data`` seed i's images are drawn with data_seed + i (the
    seeds' spread is then over initialisations and data sets together), otherwise every seed gets data_seed's."""
    return [
        chaos.make_splits("logistic", n_train, n_val, n_test, r=r, seed=data_seed + (i if vary_data else 0))
        for i in range(n_seeds)
    ]


def model_labels(small_latent: int, latent_dim: int) -> tuple[str, str, str]:
    """The labels of the small dense baseline, the same-size dense baseline and V4."""
    return f"dense_relu_{small_latent}", f"dense_relu_{latent_dim}", "v4"


def configurations(small_latent: int, latent_dim: int, k: int, topk_by: str, variance_penalty: str) -> dict:
    """``label -> (model, settings)`` of the three models, in the order of :func:`model_labels`."""
    small, large, v4 = model_labels(small_latent, latent_dim)
    return {
        small: ("dense_relu", dict(latent_dim=small_latent)),
        large: ("dense_relu", dict(latent_dim=latent_dim)),
        v4: ("v4", dict(latent_dim=latent_dim, k=k, topk_by=topk_by, variance_penalty=variance_penalty)),
    }


def significance_tests(per_fit: pd.DataFrame, models) -> pd.DataFrame:
    """Welch's and Student's t-tests for every pair of ``models`` on each of :data:`TESTED_QUANTITIES`."""
    return pd.concat([stats.pairwise(per_fit, q, models) for q in TESTED_QUANTITIES], ignore_index=True)


def welch_test(tests: pd.DataFrame, model: str, baseline: str) -> pd.Series:
    """The row of ``tests`` holding Welch's test of the variance, ``model`` against ``baseline``."""
    return tests[
        (tests.quantity == "variance") & (tests.test == "Welch") & (tests.comparison == f"{model} vs {baseline}")
    ].iloc[0]


def welch_and_student_agree(tests: pd.DataFrame) -> bool:
    """Whether Welch's and Student's tests reach the same decision at the 5 % level for every comparison."""
    decisions = tests.assign(significant=tests.p < 0.05).pivot_table(
        index=["quantity", "comparison"], columns="test", values="significant"
    )
    return bool((decisions["Welch"] == decisions["Student"]).all())


def train_stability_run(data: chaos.Splits, seed: int, settings: dict, **train_kwargs) -> Fit:
    """V4 (model ``settings``) trained on one seed with its encoder applied to the test images after every epoch;
    ``train_kwargs`` (epochs, batch size, learning rate) go to :func:`~ksc.models.training.train_many`."""
    return train_many("v4", data, seeds=[seed], labels=STABILITY_LABEL, probe=data.test, **train_kwargs, **settings)[0]


def measured_rows(
    summary: pd.DataFrame, ratios: pd.DataFrame, welch: pd.Series, stability: dict, n_seeds: int
) -> pd.DataFrame:
    """The claims registry's measured rows: the summary over seeds, each model's sd of the variance over seeds
    (quantity ``variance_sd``), the variance ratios (a ratio's verdict uses its bootstrap interval), the t and p of
    Welch's test ``welch`` (under its comparison) and the stability run's summary."""
    sd_rows = summary.query("quantity == 'variance'").assign(quantity="variance_sd", mean=lambda d: d["sd"], sd=np.nan)
    return pd.concat(
        [
            summary,
            sd_rows,
            ratios,
            claims.rows(welch.comparison, {"t": welch.t, "p": welch.p}, n_seeds),
            claims.rows(STABILITY_LABEL, stability, 1),
        ],
        ignore_index=True,
    )


def null_runs(configs: dict, datasets: list[chaos.Splits], seeds, noise_seed: int, **train_kwargs) -> pd.DataFrame:
    """Each configuration for each seed at its initial weights (measured on that seed's logistic images) and trained
    on uniform-noise images (seed i on the noise drawn with ``noise_seed + i``): one row per run, ``null`` saying
    which. The ledger reads them (table ``nulls``, :func:`null_references`) as the null references of these models."""
    rows = []
    for label, (name, settings) in configs.items():
        for data, seed in zip(datasets, seeds):
            metrics, _ = untrained(name, data, seed, label=label, **settings)
            rows.append({**metrics, "null": "untrained"})
    n_train, n_val, n_test = (len(part) for part in datasets[0])
    noise = [chaos.make_splits("noise", n_train, n_val, n_test, seed=noise_seed + i) for i in range(len(seeds))]
    rows += [{**fit.metrics, "null": "on noise"} for fit in train_configurations(configs, noise, seeds, **train_kwargs)]
    return pd.DataFrame(rows)


def null_references(runs: pd.DataFrame) -> pd.DataFrame:
    """The null references in the ledger's form (reference, model, quantity, value, source): per model and null, the
    mean of each quantity over seeds and the seed spread of the variance (``variance_sd``); and per null the ratio of
    every two models' mean variances (model ``a/b``, as the registry names the draft's ratios)."""
    rows = []
    for (null, model), group in runs.groupby(["null", "model"], sort=False):
        reference = f"untrained {model}" if null == "untrained" else f"{model} on noise"
        values = {q: float(group[q].mean()) for q in NULL_QUANTITIES} | {"variance_sd": float(group.variance.std())}
        rows += [(reference, model, q, v, "03_fair_baselines") for q, v in values.items()]
    for null, group in runs.groupby("null", sort=False):  # the draft's ratios between the models, on the same null
        variance = group.groupby("model", sort=False).variance.mean()
        for top, bottom in itertools.permutations(variance.index, 2):
            name = f"{null} {top} / {null} {bottom}" if null == "untrained" else f"{top} / {bottom}, {null}"
            rows.append(
                (name, f"{top}/{bottom}", "variance_ratio", variance[top] / variance[bottom], "03_fair_baselines")
            )
    return pd.DataFrame(rows, columns=["reference", "model", "quantity", "value", "source"])
