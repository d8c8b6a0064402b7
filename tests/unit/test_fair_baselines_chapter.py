"""Chapter 03's analysis (ksc.chapters.fair_baselines) and its verdict (ksc.pages.fair_baselines_text)."""

import numpy as np
import pandas as pd

from ksc.chapters import fair_baselines
from ksc.pages import fair_baselines_text

SMALL, LARGE, V4 = fair_baselines.model_labels(64, 128)


def _per_fit(v4_variance=(3.0, 3.2, 3.1), seeds=(0, 1, 2)) -> pd.DataFrame:
    values = {SMALL: (1.0, 1.2, 1.1), LARGE: (0.5, 0.6, 0.4), V4: v4_variance}
    return pd.DataFrame(
        [
            {"model": m, "seed": s, "variance": v, "dead_fraction": 0.1, "val_loss": 0.12, "fve": 0.01}
            for m, vs in values.items()
            for s, v in zip(seeds, vs)
        ]
    )


def test_each_seed_draws_its_own_images_only_with_vary_data():
    varied = fair_baselines.seed_datasets(2, 4, 1, 2, 3.99, 0, vary_data=True)
    fixed = fair_baselines.seed_datasets(2, 4, 1, 2, 3.99, 0, vary_data=False)
    assert not np.array_equal(varied[0].train, varied[1].train)
    assert np.array_equal(fixed[0].train, fixed[1].train) and np.array_equal(fixed[0].train, varied[0].train)


def test_the_configurations_are_the_two_dense_baselines_and_v4():
    configs = fair_baselines.configurations(64, 128, 32, "abs", "draft")
    assert list(configs) == ["dense_relu_64", "dense_relu_128", "v4"]
    assert configs["dense_relu_64"] == ("dense_relu", {"latent_dim": 64})
    assert configs["v4"] == ("v4", {"latent_dim": 128, "k": 32, "topk_by": "abs", "variance_penalty": "draft"})


def test_both_tests_for_every_pair_and_quantity_and_the_welch_row_picked_from_them():
    tests = fair_baselines.significance_tests(_per_fit(), [SMALL, LARGE, V4])
    assert len(tests) == 3 * 2 * len(fair_baselines.TESTED_QUANTITIES)
    welch = fair_baselines.welch_test(tests, V4, LARGE)
    assert (welch.quantity, welch.test, welch.comparison) == ("variance", "Welch", f"{V4} vs {LARGE}")
    assert np.isclose(welch.difference, 3.1 - 0.5) and welch.t > 0


def test_the_tests_agree_unless_one_decision_differs():
    tests = pd.DataFrame(
        {"quantity": ["variance"] * 4, "comparison": ["a vs b"] * 2 + ["a vs c"] * 2, "test": ["Welch", "Student"] * 2}
    )
    assert fair_baselines.welch_and_student_agree(tests.assign(p=[0.01, 0.02, 0.5, 0.6]))
    assert not fair_baselines.welch_and_student_agree(tests.assign(p=[0.01, 0.02, 0.04, 0.06]))


def test_the_stability_run_probes_the_test_images_of_one_seed(monkeypatch):
    calls = []

    def train_many(name, data, seeds, labels, probe, **kwargs):
        calls.append((name, seeds, labels, probe, kwargs))
        return ["fit"]

    monkeypatch.setattr(fair_baselines, "train_many", train_many)
    data = fair_baselines.seed_datasets(1, 4, 1, 2, 3.99, 0, vary_data=False)[0]
    assert fair_baselines.train_stability_run(data, 5, {"k": 4}, epochs=30) == "fit"
    name, seeds, labels, probe, kwargs = calls[0]
    assert (name, seeds, labels, kwargs) == ("v4", [5], fair_baselines.STABILITY_LABEL, {"epochs": 30, "k": 4})
    assert probe is data.test


def test_measured_rows_add_the_spread_the_test_and_the_stability_run():
    summary = pd.DataFrame(
        [{"model": m, "quantity": "variance", "mean": 1.0, "sd": sd, "n": 3} for m, sd in ((LARGE, 0.05), (V4, 0.002))]
    )
    ratios = pd.DataFrame([{"model": f"{V4}/{LARGE}", "quantity": "variance_ratio", "mean": 6.0, "sd": np.nan, "n": 3}])
    welch = pd.Series({"comparison": f"{V4} vs {LARGE}", "t": 68.7, "p": 1e-7})
    rows = fair_baselines.measured_rows(summary, ratios, welch, {"max_dead_units": 0}, 3).set_index(
        ["model", "quantity"]
    )
    assert rows.loc[(V4, "variance_sd"), "mean"] == 0.002 and np.isnan(rows.loc[(V4, "variance_sd"), "sd"])
    assert rows.loc[(f"{V4} vs {LARGE}", "t"), "mean"] == 68.7 and rows.loc[(f"{V4} vs {LARGE}", "p"), "n"] == 3
    assert rows.loc[(fair_baselines.STABILITY_LABEL, "max_dead_units"), "n"] == 1
    assert rows.loc[(f"{V4}/{LARGE}", "variance_ratio"), "mean"] == 6.0


def _verdict(large_variance: float, tests_agree: bool) -> str:
    summary = pd.DataFrame(
        [{"model": m, "quantity": "variance", "mean": v} for m, v in ((SMALL, 0.1), (LARGE, large_variance), (V4, 0.4))]
    )
    ratios = pd.DataFrame(
        {
            "model": [f"{V4}/{LARGE}", f"{V4}/{SMALL}"],
            "mean": [0.4 / large_variance, 4.0],
            "ci_low": 1.0,
            "ci_high": 9.0,
        }
    )
    per_fit = _per_fit().assign(test_mse=0.12, mean_predictor_mse=0.125)
    welch = pd.Series({"t": 12.34, "p": 0.0012})
    claim_table = pd.DataFrame({"verdict": ["reproduced"]})
    return fair_baselines_text.verdict(claim_table, summary, ratios, welch, per_fit, [SMALL, LARGE, V4], tests_agree)


def test_the_verdict_follows_the_numbers():
    text = _verdict(0.05, True)
    assert text.startswith(
        "**Verdict.** Of 1 claims, 1 reproduced (3 seeds). V4's variance is ×8.00 that of dense_relu_128"
    )
    assert "(95 % CI 1.00–9.00; Welch t = 12.3, p = 1.2e-03) and ×4.00 that of dense_relu_64" in text
    assert "dense_relu_128 has less variance than dense_relu_64" in text
    assert "against 0.1250 for the per-pixel-mean predictor (best FVE +0.010)" in text
    assert text.endswith("reach the same decision at the 5 % level for every comparison.")
    other = _verdict(0.2, False)
    assert "×2.00 that of dense_relu_128" in other and "dense_relu_128 has more variance" in other
    assert other.endswith("see the significance table.")
