"""Chapter 11's machinery: the activations and their written-out slopes, the fixed-point count, the design, and
the member model that trains V4, V3 and dense ReLU variants side by side with the numbers each trains to alone."""

import numpy as np
import pandas as pd
import pytest
from keras import ops

from ksc.chapters.ablations.effects import data_split, effects
from ksc.chapters.ablations.variants import (
    FAMILIES,
    Variant,
    ablation_variants,
    activation,
    fixed_points,
    scale_variants,
    train_variants,
    value_and_slope,
)
from ksc.data import chaos
from ksc.models.training import train_many
from ksc.pages import ablations_text

CONSTANTS = dict(omega=5.0, alpha=0.7, beta=3.0)


@pytest.mark.parametrize("family", FAMILIES)
def test_written_out_value_and_slope_match_the_keras_activation(family):
    x = np.linspace(-3, 3, 601) + 1e-3  # off the kinks of ReLU-like families
    keras_value = ops.convert_to_numpy(activation(family, x.astype("float32"), **CONSTANTS))
    value, slope = value_and_slope(family, x, **CONSTANTS)
    np.testing.assert_allclose(value, keras_value, atol=1e-5)
    h = 1e-5
    numeric = (value_and_slope(family, x + h, **CONSTANTS)[0] - value_and_slope(family, x - h, **CONSTANTS)[0]) / (
        2 * h
    )
    np.testing.assert_allclose(slope, numeric, atol=1e-4)


def test_fixed_points_count_crossings_and_report_stretches_as_infinite():
    assert fixed_points("tanh", -2, 2) == (1, 0)  # only x = 0, where f' = 1: neutral, not attracting
    assert fixed_points("tanh", 0.1, 2) == (0, 0)
    assert fixed_points("relu", -2, 2) == (np.inf, 0)  # f(x) = x for every x > 0, f' = 1 there
    assert fixed_points("relu", -2, -0.1) == (0, 0)
    # the chaos activation crosses the diagonal at 0 and symmetrically on both sides, always steeply
    x = np.linspace(-2, 2, 400_001)
    gap = value_and_slope("chaos", x)[0] - x
    independent = int(np.sum(np.sign(gap[:-1]) * np.sign(gap[1:]) < 0)) + int(np.any(gap == 0))
    assert fixed_points("chaos", -2, 2) == (independent, 0) and independent >= 3 and independent % 2 == 1
    # sin(x) + 0.1 tanh(x): repelling at 0 (slope 1.1), attracting at the two points on either side
    found, attracting = fixed_points("chaos", -3, 3, omega=1.0, alpha=0.1, beta=1.0)
    assert found == 3 and attracting == 2


def test_design_changes_one_ingredient_at_a_time():
    variants = ablation_variants([1, 8, 16], [0, 0.5, 1], [1, 4], FAMILIES, ["chaos"], ["draft", "none"], False)
    names = [v.name for v in variants]
    assert names[0] == "V4" and len(set(names)) == len(names)
    by_factor = pd.Series([v.factor for v in variants]).value_counts()
    assert by_factor["omega"] == 2 and by_factor["alpha"] == 2 and by_factor["beta"] == 1
    assert by_factor["activation"] == len(FAMILIES) - 1 and "alpha and beta" not in by_factor
    for v in variants[1:]:
        changed = [
            key
            for key in ("activation", "omega", "alpha", "beta", "topk_by", "penalty")
            if getattr(v, key) != getattr(variants[0], key)
        ]
        assert len(changed) == 1, v
    with_corners = ablation_variants([8], [0, 0.5, 1], [1, 4, 16], ["chaos"], [], ["draft"], True)
    corners = {(v.alpha, v.beta) for v in with_corners if v.factor == "alpha and beta"}
    assert corners == {(1.0, 1.0), (1.0, 16.0)}  # the smallest alpha above 0 is the default 0.5
    groups = scale_variants(256, 32)
    assert [v.kept for v in groups["chaos"]] == [64, 32] and [v.kept for v in groups["relu"]] == [64, 256]


@pytest.fixture(scope="module")
def tiny():
    return chaos.make_splits("logistic", 64, 16, 32, seed=0)


def test_members_train_to_the_numbers_each_model_trains_to_alone(tiny):
    size = dict(latent_dim=16, k=4)
    variants = [
        Variant("v4", **size),
        Variant("v3", activation="relu", penalty="none", **size),
        Variant("dense", activation="relu", penalty="none", topk=False, **size),
        Variant("code", factor="penalty", penalty="code", **size),
        Variant("value", topk_by="value", **size),
    ]
    runs, properties, untrained = train_variants(variants, {"logistic": tiny}, [0, 1], epochs=1, batch_size=32)
    alone = {
        "v4": train_many("v4", tiny, [0, 1], epochs=1, batch_size=32, **size),
        "v3": train_many("v3", tiny, [0, 1], epochs=1, batch_size=32, **size),
        "dense": train_many("dense_relu", tiny, [0, 1], epochs=1, batch_size=32, **size),
        "code": train_many("v4", tiny, [0, 1], epochs=1, batch_size=32, variance_penalty="code", **size),
        "value": train_many("v4", tiny, [0, 1], epochs=1, batch_size=32, topk_by="value", **size),
    }
    for name, fits in alone.items():
        mine = runs[runs.variant == name]
        for quantity in ("test_mse", "variance", "dead_fraction", "val_loss"):
            np.testing.assert_allclose(mine[quantity], [f.metrics[quantity] for f in fits], rtol=1e-5, err_msg=name)
    assert (runs[runs.variant != "dense"].active_per_sample <= 4 + 1e-9).all()
    # after training every member's activation is measured; before it, only V4's (factor "default") are needed
    assert (properties.training == "trained").sum() == len(runs)
    assert set(properties[properties.training == "untrained"].variant) == {"v4", "v3", "dense", "value"}
    assert len(untrained) == len(runs) and untrained.fve.notna().all()
    assert (untrained[untrained.variant != "dense"].active_per_sample <= 4 + 1e-9).all()
    relu = properties[properties.variant == "v3"]
    assert (relu.derivative_at_0 == 0).all() and (relu.mean_abs_derivative <= 1).all()
    v4 = properties[properties.variant == "v4"]
    assert (v4.derivative_at_0 == 10).all() and np.isfinite(v4.fixed_points).all() and (v4.fixed_points >= 1).all()


def test_effects_and_their_split_into_architecture_and_data():
    rows = []
    for dataset, shift in (("logistic", 3.0), ("noise", 1.0)):
        for seed in range(3):
            rows.append(dict(variant="V4", factor="default", dataset=dataset, seed=seed, fve=0.5 + 0.01 * seed))
            rows.append(dict(variant="x", factor="omega", dataset=dataset, seed=seed, fve=0.5 + shift + 0.01 * seed))
    table = effects(pd.DataFrame(rows), quantities=["fve"])
    assert table.set_index("dataset").difference.to_dict() == pytest.approx({"logistic": 3.0, "noise": 1.0})
    split = data_split(table).iloc[0]
    assert split.on_noise == pytest.approx(1.0) and split.logistic_minus_noise == pytest.approx(2.0)
    assert split.data_share == pytest.approx(2 / 3)


def _summary_tables(fve_at_4=0.1, dead_relu=0.6, penalty_dead=0.3, share=0.25, ratio=1.5, pre_variance=0.08):
    """Small tables of the shape chapter 11 computes, for the summary's sentences."""
    kinds = [("V4", "default", "chaos", 8.0), ("ω = 4", "omega", "chaos", 4.0), ("ReLU", "activation", "relu", 8.0)]
    outcome = {"V4": (0.0, 0.2), "ω = 4": (0.02, fve_at_4), "ReLU": (dead_relu, 0.05)}  # dead fraction, FVE
    runs = pd.DataFrame(
        [
            dict(variant=v, factor=f, activation=a, omega=w, alpha=0.5, dataset=d, dead_fraction=outcome[v][0])
            | dict(variance=0.4, scale_free_variance=0.9, fve=outcome[v][1])
            for v, f, a, w in kinds
            for d in ("logistic", "noise")
        ]
    )
    properties = runs.assign(
        mean_abs_derivative=[5.0, 5.0, 3.0, 3.0, 0.5, 0.5],
        flat_fraction=[0.0, 0.0, 0.1, 0.1, 0.5, 0.5],
        latent_negative_fraction=[0.5, 0.5, 0.4, 0.4, 0.0, 0.0],
        latent_pre_variance=pre_variance,
    )
    effect_table = pd.DataFrame(
        [
            dict(factor="penalty", variant="no penalty", dataset="logistic", quantity="dead_fraction")
            | dict(v4=0.0, variant_mean=penalty_dead, difference=penalty_dead, welch_p=0.01, n=3)
            | dict(ci_low=penalty_dead - 0.02, ci_high=penalty_dead + 0.02)
        ]
    )
    split = pd.DataFrame([dict(factor="penalty", variant="no penalty", quantity="dead_fraction", data_share=share)])
    cost = pd.DataFrame(
        [dict(latent_dim=128, v4_over_relu=ratio, v4_parameters=10, dense_relu_parameters=10)]
        + [dict(latent_dim=256, v4_over_relu=2.0, v4_parameters=20, dense_relu_parameters=20)]
    ).assign(v4_epoch_spread=0.1, relu_epoch_spread=0.05)
    verdicts = pd.DataFrame([{"id": "ksc-scaling", "verdict": "supported", "why": "the reason"}])
    return dict(runs=runs, properties=properties, effect_table=effect_table, split=split, cost=cost, verdicts=verdicts)


def test_the_summary_states_the_numbers_it_is_given():
    def text(**changes):
        tables = _summary_tables(**changes)
        return ablations_text.answers(
            tables["runs"],
            tables["properties"],
            tables["effect_table"],
            tables["split"],
            None,
            tables["cost"],
            tables["verdicts"],
        )

    base = text()
    assert "FVE runs from 0.100 (ω = 4) to 0.200 (ω = 8)" in base
    assert "FVE runs from 0.123 (ω = 4)" in text(fve_at_4=0.123)
    assert "1 of 2 keep at most 5 % of their units dead (V4)" in base
    assert "2 of 2 keep at most 5 % of their units dead (ReLU, V4)" in text(dead_relu=0.04)
    assert "dead fraction runs from 0.000 (V4) to 0.700 (ReLU)" in text(dead_relu=0.7)
    assert "dead fraction 0.3 against V4's 0" in base and "dead fraction 0.45 against" in text(penalty_dead=0.45)
    assert "(3 seeds each;" in base and "margin ±0.05: different" in base
    assert "margin ±0.05: equivalent" in text(penalty_dead=0.01)
    assert "margin ±0.05: cannot tell" in text(penalty_dead=0.04)
    assert "at most 0.25 (median 0.25)" in base and "at most 0.75" in text(share=0.75)
    assert "it is 0.08 (the loss" in base and "it is 0.123 (the loss" in text(pre_variance=0.123)
    assert "128: x1.50, 256: x2.00" in base and "128: x3.25" in text(ratio=3.25)
    assert "**ksc-scaling: supported.** the reason" in base
    # the correlation is computed from the properties: the dead fraction falls as mean |f'| rises
    assert "with the mean |f'| -1.00" in base


def test_a_range_names_every_setting_that_ties_at_an_end():
    means = pd.Series([0.1, 0.3, 0.1], index=["a", "b", "c"])
    assert ablations_text.value_range(means) == "runs from 0.100 (a, c) to 0.300 (b)"
    assert ablations_text.value_range(pd.Series([0.2, 0.2], index=["a", "b"])) == "is 0.200 for every one"
