import json
import re

import numpy as np
import pandas as pd
import pytest

from ksc.evidence import claims
from ksc.pages import tables
from ksc.runtime.results import read_results, write_results


def test_registry_is_well_formed():
    reg = claims.load_registry()
    assert reg.id.is_unique
    assert set(reg.rule) <= set(claims.RULES)
    assert set(reg.kind) <= {"number", "prediction", "derived", "statistic", "protocol", "arithmetic"}
    assert reg.measurement.notna().all()
    # a reconstruction loss is judged in FVE units, never as a band on the MSE
    assert (reg[reg.quantity.isin(["val_loss", "test_mse"]) & (reg.rule != "not_testable")].rule == "fve").all()
    needs_tolerance = reg[reg.rule.isin(["rel", "abs", "fve"])]
    assert needs_tolerance.tolerance.notna().all() and (needs_tolerance.tolerance > 0).all()
    assert reg.note.notna().all()
    # Sections 5.1-5.4 and Table 1 are both in the registry
    assert {"5.1", "5.2", "5.3", "5.4", "6.1 Table 1"} <= set(reg.section)


@pytest.mark.parametrize(
    "measured, claimed, rule, tol, expected",
    [
        (0.40, 0.418, "rel", 0.25, "reproduced"),
        (0.25, 0.418, "rel", 0.25, "partly"),
        (0.04, 0.418, "rel", 0.25, "not reproduced"),
        (0.78, 0.75, "abs", 0.05, "reproduced"),
        (0.0001, 0.000036, "order", None, "reproduced"),
        (0.0004, 0.000036, "order", None, "not reproduced"),
        (0.0, 0.0, "order", None, "reproduced"),
        (6.0, 5.0, "at_least", None, "reproduced"),
        (1.3, 5.0, "at_least", None, "not reproduced"),
        (float("nan"), 1.0, "rel", 0.1, "not measured"),
        (1.0, 1.0, "not_testable", None, "not testable here"),
    ],
)
def test_verdict_rules(measured, claimed, rule, tol, expected):
    assert claims.verdict(measured, claimed, rule, tol) == expected


def test_verdict_uses_the_interval_over_seeds():
    # mean inside the band, but the 95 % interval of 3 seeds reaches past its edge: cannot tell
    assert claims.verdict(0.40, 0.418, "rel", 0.25, sd=0.05, n=3) == "cannot tell"
    assert claims.verdict(0.40, 0.418, "rel", 0.25, sd=0.005, n=10) == "reproduced"
    assert claims.verdict(0.55, 0.418, "rel", 0.25, sd=0.001, n=10) == "partly"
    assert claims.verdict(4.9, 5.0, "at_least", None, sd=0.5, n=5) == "cannot tell"


def test_fve_rule_judges_a_loss_against_the_mean_image():
    floor = 0.1157  # the per-pixel-mean predictor's MSE
    # the mean image itself (FVE 0) reproduces a claimed loss of 0.1165 (FVE -0.007) ...
    assert claims.verdict(floor, 0.1165, "fve", 0.02, floor=floor) == "reproduced"
    # ... but not a claimed 0.126 (FVE -0.089): the rule can tell a loss worse than no model
    assert claims.verdict(floor, 0.126, "fve", 0.02, floor=floor) == "not reproduced"
    assert claims.verdict(0.118, 0.126, "fve", 0.02) == "not measured"  # no floor, no verdict


def test_compare_and_disagreements():
    metrics = pd.DataFrame(
        {"model": ["v2", "v2", "v3", "v3"], "seed": [0, 1, 0, 1], "variance": [0.06, 0.058, 0.02, 0.03]}
    )
    summary = pd.concat([claims.summarise(metrics, ["variance"]), claims.paired_ratio(metrics, "v2", "v3", "variance")])
    table = claims.compare(summary, sections=["5.2", "6.1 Table 1"])
    row = table.set_index("id").loc["t1-v2-variance"]
    assert row.measured == pytest.approx(0.059) and row.n == 2 and row.verdict == "reproduced"
    assert table.set_index("id").loc["s5.2-v2-variance", "verdict"] == "not reproduced"
    assert set(table.verdict) <= set(claims.VERDICTS)
    ratio = summary[summary.model == "v2/v3"].iloc[0]
    assert ratio["mean"] == pytest.approx(np.mean([0.06 / 0.02, 0.058 / 0.03]))
    both = claims.disagreements(table)
    assert ("v2", "variance") in set(zip(both.model, both.quantity))


def test_results_round_trip_and_atomic(tmp_path):
    metrics = pd.DataFrame({"model": ["v4"], "variance": [0.4], "fve": [np.nan]})
    path = write_results(tmp_path, "99_test", {"k": 32}, metrics, seeds=[0, 1], wall_seconds=1.5)
    record = read_results(path)
    assert record["parameters"] == {"k": 32}
    assert record["metrics"].variance.iloc[0] == 0.4 and record["metrics"].fve.isna().all()
    prov = record["provenance"]
    assert prov["seeds"] == [0, 1] and prov["wall_seconds"] == 1.5
    assert prov["keras_backend"] and prov["device"] and prov["ksc_version"]
    before = path.read_text()
    with pytest.raises(TypeError):  # an unserialisable value fails before anything is replaced
        write_results(tmp_path, "99_test", {"bad": object()}, metrics)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["99_test.json"]  # no temporary file left behind
    json.loads(before)


def test_a_ratio_is_judged_by_its_bootstrap_interval():
    # the Hénon/logistic ratio 1.01 within 5 %: an interval inside the band is an equivalence, across it cannot tell
    assert claims.verdict(1.0, 1.01, "rel", 0.05, bounds=(0.99, 1.02)) == "reproduced"
    assert claims.verdict(1.0, 1.01, "rel", 0.05, bounds=(0.93, 1.07)) == "cannot tell"
    summary = pd.DataFrame(
        [
            {
                "model": "v4 henon/v4 logistic",
                "quantity": "variance_ratio",
                "mean": 1.0,
                "sd": float("nan"),
                "n": 5,
                "ci_low": 0.93,
                "ci_high": 1.07,
            }
        ]
    )
    row = claims.compare(summary, ids=["s6.2h-ratio"]).iloc[0]
    assert row.verdict == "cannot tell" and row.ci_low == 0.93


def test_shown_claims_prints_no_nan_and_folds_the_spread_into_one_column():
    metrics = pd.DataFrame(
        {
            "model": ["v2"] * 3 + ["v3"] * 3,
            "seed": [0, 1, 2] * 2,
            "variance": [0.06, 0.058, 0.061, 0.02, 0.03, 0.025],
            "val_loss": [0.11, 0.112, 0.109, 0.1, 0.1, 0.1],
            "mean_predictor_mse": [0.1157] * 6,
        }
    )
    ratio = pd.DataFrame(
        [{"model": "v4 henon/v4 logistic", "quantity": "variance_ratio", "mean": 1.0, "sd": np.nan, "n": 5}]
    ).assign(ci_low=0.93, ci_high=1.07)
    summary = pd.concat(
        [claims.summarise(metrics, ["variance", "val_loss", "mean_predictor_mse"]), ratio], ignore_index=True
    )
    table = claims.compare(summary, prefixes=["s5.2-v2-", "t1-", "s6.2h-ratio"])
    columns = list(table.columns)
    assert table[["floor", "ci_low", "ci_high"]].isna().any().all()  # the raw table has the NaN cells to hide
    styler = tables.shown_claims(table)
    shown = styler.data
    assert list(table.columns) == columns  # the table written to the results file keeps its columns
    assert all(styler.hide_index_)
    assert not re.search(r"\bnan\b", styler.to_html(), flags=re.IGNORECASE)
    assert shown.map(lambda cell: isinstance(cell, str) and cell.lower() != "nan").all().all()
    assert not any((shown[c] == "").all() for c in shown.columns)
    assert {"sd", "n", "ci_low", "ci_high"}.isdisjoint(shown.columns) and "spread" in shown.columns
    by_id = shown.set_index("id")
    row = table.set_index("id").loc["s6.2h-ratio"]
    assert f"95 % CI {row.ci_low:.4g}–{row.ci_high:.4g}" in by_id.loc["s6.2h-ratio", "spread"]
    row = table.set_index("id").loc["t1-v2-variance"]
    assert by_id.loc["t1-v2-variance", "spread"] == f"± {row.sd:.4g} (n = {row.n})"
    assert by_id.loc["t1-v1-variance", "spread"] == "" and by_id.loc["t1-v1-variance", "measured"] == ""
    # the floor of the one reconstruction claim, and no floor column where no claim has one
    assert by_id.loc["s5.2-v2-valloss", "floor"] != "" and by_id.loc["t1-v2-variance", "floor"] == ""
    assert "floor" not in tables.shown_claims(claims.compare(summary, ids=["s6.2h-ratio"])).data.columns
