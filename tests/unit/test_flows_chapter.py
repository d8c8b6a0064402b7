"""Chapter 08 (the evolution on real chaotic flows): its analysis (ksc.chapters.flows) and its verdict."""

from types import SimpleNamespace

import pandas as pd
import pytest

from ksc.chapters import flows
from ksc.data import chaos
from ksc.evidence import claims
from ksc.pages import flows_text

SYSTEMS = ["logistic", "lorenz96"]
MODELS = ["v1", "v3", "v4"]


def _per_fit(v4_variance=0.4):
    dead = {"v1": 1.0, "v3": 0.25, "v4": 0.0}
    variance = {"v1": 0.0, "v3": 0.02, "v4": v4_variance}
    rows = [
        {
            "model": flows.label(model, system),
            "seed": seed,
            "dead_fraction": dead[model],
            "variance": variance[model] * (1 + 0.1 * seed),
            "fve": 0.1 * seed + (0.3 if system == "lorenz96" else 0.0),
        }
        for model in MODELS
        for system in SYSTEMS
        for seed in (0, 1)
    ]
    return flows.per_fit_table([SimpleNamespace(metrics=row) for row in rows])


def test_labels_systems_and_the_figure_order():
    assert flows.label("v4", "mackey_glass") == "v4 (mackey_glass)"
    per_fit = _per_fit()
    assert per_fit.system.unique().tolist() == SYSTEMS
    assert flows.figure_order(MODELS, SYSTEMS) == [
        "v1 (logistic)",
        "v3 (logistic)",
        "v4 (logistic)",
        "v1 (lorenz96)",
        "v3 (lorenz96)",
        "v4 (lorenz96)",
    ]
    assert set(flows.FIGURE_QUANTITIES) <= set(flows.QUANTITIES)


def test_the_image_statistics_have_one_row_per_system():
    data = {name: chaos.make_splits(name, 16, 4, 4, seed=0) for name in SYSTEMS}
    table = flows.image_statistics(data)
    assert table.index.tolist() == SYSTEMS and "neighbour_correlation" in table.columns
    # a flow sampled every few steps is smooth; the logistic map sampled every iterate is not
    assert table.loc["lorenz96", "neighbour_correlation"] > table.loc["logistic", "neighbour_correlation"]


def test_v4_over_v3_is_one_row_per_system_paired_by_seed():
    ratios = flows.v4_over_v3(_per_fit(), SYSTEMS, MODELS)
    assert ratios.model.tolist() == ["v4/v3 (logistic)", "v4/v3 (lorenz96)"]
    assert set(ratios.quantity) == {"variance_ratio"} and ratios.n.tolist() == [2, 2]
    assert ratios["mean"].tolist() == pytest.approx([20.0, 20.0])
    assert flows.v4_over_v3(_per_fit(), SYSTEMS, ["v1", "v4"]).empty


def test_training_labels_every_model_with_its_system():
    data = {name: chaos.make_splits(name, 32, 8, 8, seed=0) for name in SYSTEMS}
    fits = flows.train_every_model(["v3"], data, [0, 1], epochs=1, batch_size=16, latent_dim=8, k=2)
    assert [(fit.model_name, fit.seed) for fit in fits] == [
        ("v3 (logistic)", 0),
        ("v3 (logistic)", 1),
        ("v3 (lorenz96)", 0),
        ("v3 (lorenz96)", 1),
    ]


def _verdict(per_fit, models=MODELS):
    summary = claims.summarise(per_fit, ["dead_fraction", "variance", "fve"])
    ratios = flows.v4_over_v3(per_fit, SYSTEMS, models)
    claim_table = claims.compare(pd.concat([summary, ratios], ignore_index=True), prefixes=["s7.2-"])
    return flows_text.verdict(claim_table, 2, summary, ratios, per_fit, SYSTEMS, models)


def test_the_verdict_reads_every_system_from_the_numbers():
    text = _verdict(_per_fit())
    assert text.startswith("**Verdict.** ") and "(2 seeds per system and model)" in text
    assert (
        "On logistic: V1 100% dead, V3 25% dead, V4 0% dead; V4/V3 variance ×20; best FVE of any model +0.100." in text
    )
    assert "On lorenz96: " in text and "best FVE of any model +0.400." in text
    assert "V4/V3 variance ×5;" in _verdict(_per_fit(v4_variance=0.1))
    without_v3 = _per_fit()
    without_v3 = without_v3[~without_v3.model.str.startswith("v3")]
    text = _verdict(without_v3, ["v1", "v4"])
    assert "V4/V3" not in text and "On logistic: V1 100% dead, V4 0% dead; best FVE" in text


def test_fve_against_v3_pairs_by_seed():
    rows = [
        {"model": flows.label(m, "logistic"), "system": "logistic", "seed": s, "fve": f}
        for m, values in (("v4", (0.1, 0.2, 0.3)), ("v3", (0.2, 0.2, 0.2)))
        for s, f in enumerate(values)
    ]
    table = flows.fve_against_v3(pd.DataFrame(rows), ["logistic", "lorenz96"])
    assert list(table.index) == ["logistic"]  # a system with no runs is left out
    row = table.loc["logistic"]
    assert row["v4 - v3 FVE"] == pytest.approx(0.0) and row["v4 FVE"] == pytest.approx(0.2) and row.n == 3
    assert row["v4 - v3 low"] < 0 < row["v4 - v3 high"]
