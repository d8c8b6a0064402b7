"""Chapter 02's analysis (ksc.chapters.k_ablation) and its verdict (ksc.pages.k_ablation_text)."""

import numpy as np
import pandas as pd

from ksc.chapters import k_ablation
from ksc.evidence import claims
from ksc.models.training import Fit
from ksc.pages import k_ablation_text


def _fit(label, seed, **metrics):
    return Fit(label, seed, None, {"model": label, "seed": seed, **metrics}, 1.0, None, None, None)


def test_the_sweep_trains_every_k_and_seed_in_one_computation(monkeypatch):
    calls = []

    def train_many(name, data, seeds, ks, labels, **kwargs):
        calls.append((name, seeds, ks, labels, kwargs))
        return []

    monkeypatch.setattr(k_ablation, "train_many", train_many)
    k_ablation.train_sweep(None, [4, 8], [0, 1], epochs=2)
    assert calls == [("v4", [0, 1, 0, 1], [4, 4, 8, 8], ["K=4", "K=4", "K=8", "K=8"], {"epochs": 2})]


def test_per_fit_table_adds_k_and_the_drafts_score():
    table = k_ablation.per_fit_table(
        [_fit("K=8", 0, variance=0.2, sparsity=0.9), _fit("K=16", 0, variance=0.3, sparsity=0.5)]
    )
    assert list(table.K) == [8, 16]
    np.testing.assert_allclose(table.score, [0.2 / 0.11, 0.3 / 0.51])


def test_claimed_values_are_the_registrys_for_the_swept_ks_it_holds():
    registry = claims.load_registry().set_index("id")
    claimed = k_ablation.claimed_by_k([8, 32, 5])
    assert list(claimed) == ["variance", "val_loss"]
    assert claimed["variance"] == {k: registry.loc[f"s6.2-k{k}-variance", "claimed"] for k in (8, 32)}
    assert claimed["val_loss"] == {k: registry.loc[f"s6.2-k{k}-valloss", "claimed"] for k in (8, 32)}


def test_sweep_table_lists_the_statements_then_each_seeds_violations():
    table = k_ablation.sweep_table({"variance_trend_violations": 1, "best_score_k": 8}, {0: 1, 1: 0})
    assert list(table.index) == [
        "variance_trend_violations",
        "best_score_k",
        "violations, seed 0",
        "violations, seed 1",
    ]
    assert list(table.value) == [1, 8, 1, 0]


def test_noise_tables_put_each_k_on_noise_next_to_logistic():
    metrics = dict(dead_fraction=0.0, sparsity=0.75, fve=0.0)
    per_fit = pd.DataFrame([{"model": m, "variance": v} for m, v in (("K=4", 0.1), ("K=4", 0.3), ("K=8", 0.4))])
    noise = [
        _fit("K=4", 0, variance=0.3, **metrics),
        _fit("K=4", 1, variance=0.5, **metrics),
        _fit("K=8", 0, variance=0.4, **metrics),
    ]
    on_noise, both = k_ablation.noise_tables(per_fit, noise)
    assert list(on_noise.model) == ["K=4", "K=8"] and list(on_noise.columns) == ["model", *k_ablation.NOISE_QUANTITIES]
    np.testing.assert_allclose(both["noise / logistic"], [2.0, 1.0])


def test_measured_rows_carry_the_sweep_under_its_own_model():
    summary = pd.DataFrame([{"model": "K=4", "quantity": "variance", "mean": 0.1, "sd": 0.0, "n": 2}])
    rows = k_ablation.measured_rows(summary, {"variance_trend_violations": 0, "best_score_k": 8}, 2)
    assert list(zip(rows.model, rows.quantity)) == [
        ("K=4", "variance"),
        ("K sweep", "variance_trend_violations"),
        ("K sweep", "best_score_k"),
    ]
    assert list(rows.n) == [2, 2, 2]


def test_the_noise_sentence_follows_the_ratios():
    assert k_ablation_text.noise_sentence(None) == ""
    near = k_ablation_text.noise_sentence(pd.Series([0.95, 1.05]))
    assert "is 0.95–1.05× its value" in near and near.endswith("a property of the architecture, whatever the data.")
    far = k_ablation_text.noise_sentence(pd.Series([0.5, 1.05]))
    assert "is 0.50–1.05× its value on logistic images." in far and "architecture" not in far


def test_the_verdict_follows_the_numbers():
    per_fit = pd.DataFrame(
        {"mean_predictor_mse": [0.12, 0.12], "dead_units": [0, 3], "test_mse": [0.11, 0.13], "fve": [0.05, -0.02]}
    )
    variance_by_k = pd.Series([0.07, 0.42], index=[4, 32])
    sweep = {"variance_trend_violations": 1, "best_score_k": 8}
    text = k_ablation_text.verdict(pd.DataFrame({"verdict": ["partly"]}), per_fit, sweep, variance_by_k, None)
    assert text.startswith(
        "**Verdict.** Of 1 claims, 1 partly. Across K = 4…32 the mean variance goes from 0.070 to 0.420"
    )
    assert "with 1 trend violation(s); the most dead units in any run is 3" in text
    assert "best score is at K = 8" in text and "between 0.1100 and 0.1300, against 0.1200" in text
    assert "(FVE from -0.020 to +0.050)" in text and text.endswith("better than their mean.")
    with_noise = k_ablation_text.verdict(
        pd.DataFrame({"verdict": ["partly"]}), per_fit, sweep, variance_by_k, pd.Series([1.0, 1.02])
    )
    assert with_noise.endswith("whatever the data.")
