"""Chapter 01's analysis (ksc.chapters.evolution) and its verdict (ksc.pages.evolution_text)."""

import numpy as np
import pandas as pd

from ksc.chapters import evolution
from ksc.data.chaos import Splits
from ksc.models import training
from ksc.models.architectures import build_model
from ksc.models.training import Fit
from ksc.pages import evolution_text


def _fit(label, seed, wall=1.0, **metrics):
    history = pd.DataFrame({"epoch": [1, 2], "loss": [0.2, 0.1]})
    return Fit(label, seed, history, {"model": label, "seed": seed, **metrics}, wall, None, None, None)


def test_variants_change_one_setting_of_v4():
    configs = evolution.configurations(16, 4, "abs", "draft", run_variants=True)
    assert list(configs) == ["v1", "v2", "v3", "v4", "v4 [top-k by value]", "v4 [code's penalty]"]
    main = configs["v4"][1]
    assert configs["v4 [top-k by value]"] == ("v4", {**main, "topk_by": "value"})
    assert configs["v4 [code's penalty]"] == ("v4", {**main, "variance_penalty": "code"})
    assert list(evolution.configurations(16, 4, "value", "code", run_variants=True)) == [
        "v1",
        "v2",
        "v3",
        "v4",
        "v4 [top-k by abs]",
    ]
    assert list(evolution.configurations(16, 4, "abs", "draft", run_variants=False)) == evolution.MAIN_MODELS


def test_each_configuration_trains_all_seeds_in_one_computation(monkeypatch):
    calls = []

    def train_many(name, data, seeds, labels, **kwargs):
        calls.append((name, labels, kwargs))
        return [_fit(labels, s) for s in seeds]

    monkeypatch.setattr(training, "train_many", train_many)
    configs = evolution.configurations(16, 4, "abs", "draft", run_variants=True)
    fits = training.train_configurations(configs, None, [0, 1], epochs=3)
    assert [(f.model_name, f.seed) for f in fits] == [(label, s) for label in configs for s in (0, 1)]
    assert calls[4] == ("v4", "v4 [top-k by value]", {"epochs": 3, **configs["v4 [top-k by value]"][1]})


def test_training_seconds_sum_each_label_and_histories_keep_model_and_seed():
    fits = [_fit("v1", 0, 1.5), _fit("v1", 1, 1.5), _fit("v2", 0, 2.0)]
    assert training.training_seconds(fits) == {"v1": 3.0, "v2": 2.0}
    table = evolution.histories(fits)
    assert len(table) == 6 and list(zip(table.model, table.seed))[2:4] == [("v1", 1), ("v1", 1)]


def test_reconstruction_rows_end_with_the_per_pixel_mean():
    data = Splits(np.stack([np.zeros((28, 28)), np.ones((28, 28))]), np.zeros((1, 28, 28)), np.zeros((3, 28, 28)))
    first = {label: _fit(label, 0)._replace(reconstruction=np.full((3, 28, 28), i)) for i, label in enumerate("abcd")}
    first = dict(zip(evolution.MAIN_MODELS, first.values()))
    rows = evolution.reconstruction_rows(data, first)
    assert list(rows) == ["original", *evolution.MAIN_MODELS, "per-pixel mean"]
    assert rows["per-pixel mean"].shape == (3, 28, 28) and np.all(rows["per-pixel mean"] == 0.5)
    assert np.all(rows["v3"] == 2)


def test_measured_rows_add_v4_over_v3_seed_by_seed():
    per_fit = pd.DataFrame({"model": ["v3", "v3", "v4", "v4"], "seed": [0, 1, 0, 1], "variance": [1.0, 2.0, 3.0, 8.0]})
    summary = pd.DataFrame([{"model": "v4", "quantity": "variance", "mean": 5.5, "sd": 1.0, "n": 2}])
    rows = evolution.measured_rows(summary, per_fit)
    ratio = rows[rows.quantity == "variance_ratio"].iloc[0]
    assert ratio.model == "v4/v3" and ratio["mean"] == 3.5 and ratio.n == 2  # (3/1 + 8/2) / 2
    assert len(rows) == 2


def test_variant_table_holds_only_the_variants():
    per_fit = pd.DataFrame(
        {
            "model": ["v4", "v4", "v4 [code's penalty]", "v4 [code's penalty]"],
            "seed": [0, 1, 0, 1],
            **{q: [1.0, 2.0, 2.0, 6.0] for q in evolution.VARIANT_QUANTITIES},
        }
    )
    summary = pd.DataFrame(
        [
            {"model": m, "quantity": q, "mean": v}
            for m, v in (("v4", 1.5), ("v4 [code's penalty]", 4.0))
            for q in evolution.VARIANT_QUANTITIES
        ]
    )
    configs = {"v4": ("v4", {}), "v4 [code's penalty]": ("v4", {"variance_penalty": "code"})}
    table = evolution.variant_table(per_fit, summary, configs)
    assert set(table.variant) == {"v4 [code's penalty]"} and list(table.quantity) == evolution.VARIANT_QUANTITIES
    assert (table["variant / main"] == 2.5).all()  # (2/1 + 6/2) / 2


def test_topk_selections_agree_on_relu_latents():
    model = build_model("v3", latent_dim=16, k=4).model
    images = np.random.default_rng(0).uniform(size=(8, 28, 28)).astype("float32")
    minimum, same = evolution.topk_selections_agree(model, images, 4)
    assert minimum >= 0 and same is True


def _summary(v4_fve: float) -> pd.DataFrame:
    values = dict(sparsity=0.75, dead_fraction=0.0, variance=0.4, test_mse=0.12, mean_predictor_mse=0.12)
    rows = [{"model": "v4", "quantity": q, "mean": v} for q, v in {**values, "fve": v4_fve}.items()]
    rows += [
        {"model": "v3", "quantity": q, "mean": v} for q, v in {**values, "dead_fraction": 0.5, "fve": 0.01}.items()
    ]
    return pd.DataFrame(rows)


def test_the_verdict_follows_the_numbers():
    claim_table = pd.DataFrame({"verdict": ["reproduced", "not reproduced"]})
    low = evolution_text.verdict(claim_table, _summary(0.02), 3)
    assert low.startswith(
        "**Verdict.** Of 2 claims, 1 reproduced, 1 not reproduced. V4 (3 seeds) reaches sparsity 75.0%"
    )
    assert "FVE +0.020; V3: +0.010" in low and "No model explains even 5 %" in low
    high = evolution_text.verdict(claim_table, _summary(0.3), 3)
    assert "FVE +0.300" in high and "At least one model explains more than 5 %" in high
