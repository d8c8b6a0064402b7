"""Chapter 07 (controls): its analysis (ksc.chapters.controls) and its page text (ksc.pages.controls_text)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ksc.chapters import controls
from ksc.data import chaos
from ksc.pages import controls_text


def _fit(name, seed, encoder, wall_seconds=1.0):
    return SimpleNamespace(
        model_name=name, seed=seed, autoencoder=SimpleNamespace(encoder=encoder), wall_seconds=wall_seconds
    )


def _per_fit():
    rows = []
    for architecture, scale in (("v4", 1.0), ("dense_relu", 0.1)):
        for dataset, factor in (("logistic", 1.0), ("noise", 1.05), ("identical", 0.0)):
            for seed in (0, 1):
                rows.append(
                    {
                        "model": f"{architecture} on {dataset}",
                        "variance": scale * factor + 0.01 * seed,
                        "fve": 0.5 * scale - seed * 0.1,
                    }
                )
    return controls.per_fit_table([SimpleNamespace(metrics=row) for row in rows])


def test_the_floors_are_the_mean_predictor_and_pca_indexed_by_baseline():
    splits = chaos.make_splits("logistic", 64, 8, 16, seed=0)
    floors = controls.reconstruction_floors(splits, [2, 4])
    assert list(floors.index) == ["per-pixel mean", "PCA, 2 components", "PCA, 4 components"]
    assert floors.loc["per-pixel mean", "fve"] == pytest.approx(0.0, abs=1e-6)
    assert floors.loc["PCA, 2 components", "fve"] < floors.loc["PCA, 4 components", "fve"]


def test_every_fit_gets_its_architecture_and_data_set_and_the_table_keeps_their_order():
    per_fit = _per_fit()
    assert per_fit.architecture.unique().tolist() == ["v4", "dense_relu"]
    assert per_fit.dataset.unique().tolist() == ["logistic", "noise", "identical"]
    table = controls.by_architecture_and_dataset(per_fit, "variance", ["noise", "logistic"])
    assert list(table.columns) == ["noise", "logistic"]
    assert table.loc["v4", "logistic"] == pytest.approx(1.005)
    assert controls.v4_noise_over_logistic(table) == pytest.approx(1.055 / 1.005)
    assert np.isnan(controls.v4_noise_over_logistic(table.drop(columns="noise")))
    assert np.isnan(controls.v4_noise_over_logistic(table.drop(index="v4")))
    fve = controls.logistic_fve_by_architecture(per_fit)
    assert fve.to_dict() == pytest.approx({"dense_relu": 0.0, "v4": 0.45})


def test_identical_inputs_are_encoded_by_the_models_trained_on_logistic_images_only():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(4, 3))
    jitter = lambda x, training=False: x.reshape(len(x), -1) @ weights + rng.normal(0, 1e-3, (len(x), 3))  # noqa: E731
    constant = lambda x, training=False: x.reshape(len(x), -1) @ weights  # noqa: E731
    fits = [_fit("v4 on logistic", 0, jitter), _fit("v4 on noise", 0, jitter), _fit("v1 on logistic", 1, constant)]
    images = np.repeat(rng.uniform(size=(1, 2, 2)), 50, axis=0)
    identical = controls.identical_input_variances(fits, images)
    assert identical.model.tolist() == ["v4 on logistic", "v1 on logistic"] and identical.seed.tolist() == [0, 1]
    assert identical.loc[1, "max unit variance"] == pytest.approx(0.0, abs=1e-20)
    assert 1e-8 < identical.loc[0, "max unit variance"] < 1e-5
    measured = controls.measured_identical(identical)
    assert measured.model.tolist() == [controls.IDENTICAL] and measured.quantity.tolist() == ["max_unit_variance"]
    assert measured.loc[0, "mean"] == identical["max unit variance"].max() and measured.loc[0, "n"] == 2


def test_training_labels_every_model_with_its_architecture_and_data_set():
    data = {name: chaos.make_splits(name, 32, 8, 8, seed=0) for name in ("logistic", "noise")}
    fits = controls.train_on_every_dataset(["v3"], data, [0, 1], epochs=1, batch_size=16, latent_dim=8, k=2)
    assert list(fits) == ["v3"]
    assert [(fit.model_name, fit.seed) for fit in fits["v3"]] == [
        ("v3 on logistic", 0),
        ("v3 on logistic", 1),
        ("v3 on noise", 0),
        ("v3 on noise", 1),
    ]


def test_the_training_times_are_one_line_per_architecture():
    fits = {"v4": [_fit("a", 0, None, 1.5), _fit("b", 1, None, 2.0)], "dense_relu": [_fit("c", 0, None, 0.25)]}
    lines = controls_text.training_times(fits, ["logistic", "noise"]).splitlines()
    assert lines == [
        "v4         on logistic, noise: 2 models,    3.5 s",
        "dense_relu on logistic, noise: 1 models,    0.2 s",
    ]


def test_what_the_controls_say_follows_the_numbers():
    floors = pd.DataFrame({"fve": [0.0, 0.123]}, index=["per-pixel mean", "PCA, 4 components"])
    fve = pd.Series({"dense_relu": 0.2, "v4": -0.5})
    identical = pd.DataFrame({"max unit variance": [1e-14, 3e-13]})
    same = controls_text.what_the_controls_say(floors, 4, fve, 1.05, identical, 10)
    assert same.startswith("**What the controls say.** On logistic images PCA with 4 components explains +0.123")
    assert "+0.200 (dense_relu), -0.500 (v4)" in same and "is 1.05× its variance" in same
    assert "barely depends" in same and "Encoding 10 copies" in same and "3.0e-13" in same
    differs = controls_text.what_the_controls_say(floors, 4, fve, 2.0, identical, 10)
    assert "is 2.00× its variance" in differs and "does depend on the data" in differs
    unknown = controls_text.what_the_controls_say(floors, 4, fve, np.nan, identical, 10)
    assert "uniform noise" not in unknown
    assert "(v4).  Encoding 10 copies" in unknown  # the ratio's sentence left out (the page keeps its two spaces)
