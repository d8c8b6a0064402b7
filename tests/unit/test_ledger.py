"""The ledger's structure on hand-made results files: null references, distinct measurements,
contradictions and conclusions whose evidence is missing."""

import re
from pathlib import Path

import pandas as pd
import pytest
from declared_results import write_declared as write_results

from ksc import conclusions
from ksc.evidence import claims, ledger
from ksc.pages import ledger_page
from ksc.runtime.declarations import declarations

ROOT = Path(__file__).resolve().parents[2]
FLOOR = 0.1157


def _claims_rows(values: dict, n: int = 3, floor: float = float("nan")) -> pd.DataFrame:
    return pd.DataFrame(
        [{"id": i, "measured": m, "sd": 0.0001, "n": n, "floor": floor, "verdict": ""} for i, m in values.items()]
    )


@pytest.fixture
def results(tmp_path):
    """A results folder with chapter 01 (V1 dead, V2/V4 losses, V4 variance) and chapter 07 (V4 on noise)."""
    evolution = pd.DataFrame(
        [
            {"model": m, "seed": s, "val_loss": loss, "test_mse": loss, "mean_predictor_mse": FLOOR}
            for m, loss in (("v1", 0.1158), ("v2", 0.1136), ("v4", 0.1184))
            for s in (0, 1)
        ]
    )
    rows = _claims_rows({"s5.2-v2-valloss": 0.1160, "abs-v4-valloss": 0.1184, "s6.1-v4-mse": 0.1184}, floor=FLOOR)
    rows = pd.concat(
        [
            rows,
            _claims_rows(
                {
                    "abs-v4-variance": 0.436,
                    "s5.4-v4-variance": 0.436,
                    "t1-v4-variance": 0.436,
                    "s5.3-v3-variance": 0.056,
                    "t1-v3-variance": 0.056,
                    "abs-v3-variance": 0.056,
                    "s5.4-v4-sparsity": 0.75,
                }
            ),
        ]
    )
    write_results(tmp_path, "01_evolution", {"k": 32, "latent_dim": 128}, evolution, claims=rows)
    controls = pd.DataFrame(
        [
            {"model": f"v4 on {d}", "architecture": "v4", "dataset": d, "seed": 0, "variance": v, "dead_fraction": 0.0}
            for d, v in (("logistic", 0.436), ("noise", 0.437))
        ]
    )
    write_results(tmp_path, "07_controls", {"latent_dim": 128}, controls)
    cosines = _claims_rows({"vsae-cos-s4.1-logistic": -0.01, "vsae-cos-concl-logistic": -0.01}, n=1)
    write_results(tmp_path, "06_vsae", {}, pd.DataFrame([{"model": "vsae"}]), claims=cosines)
    return tmp_path


def test_a_rule_the_mean_image_passes_is_flagged_uninformative(results):
    table = ledger.build(results).set_index("id")
    v2 = table.loc["s5.2-v2-valloss"]
    assert v2.verdict == "reproduced" and v2.finding == "reproduced, uninformative"
    assert any(p.startswith("mean image") for p in v2.null_passes)
    assert any(p.startswith("all-dead V1") for p in v2.null_passes)
    # V4 trained on noise passes the V4-variance rule: the variance is not evidence about chaos
    assert table.loc["abs-v4-variance", "finding"] == "reproduced, uninformative"
    assert table.loc["s5.4-v4-sparsity", "finding"] == "fixed by construction"


def test_places_that_repeat_one_number_count_once(results):
    distinct = ledger.distinct(ledger.build(results)).set_index("measurement")
    v4 = distinct.loc["v4 variance"]
    assert v4.places == 7 and "abs-v4-variance" in v4.where_stated and "s5.4-v4-variance" in v4.where_stated
    counted = distinct[~distinct.derived_from.astype(bool)]  # ratios, gains, best K: counted with their parents
    assert ledger.tallies(distinct.reset_index()).loc["all distinct measurements"].sum() == len(counted) < len(distinct)


def test_contradictory_places_are_one_row(results):
    distinct = ledger.distinct(ledger.build(results)).set_index("measurement")
    v3 = distinct.loc["v3 variance"]
    assert v3.finding == "the paper contradicts itself" and "nearer in decades 0.191" in v3.why  # 0.056: 0.53 vs 3.2
    assert "reproduces none of the values" in v3.why
    cosine = distinct.loc["vSAE cosine gap (logistic)"]
    assert cosine.places == 2 and cosine.finding == "the paper contradicts itself"
    assert distinct.loc["v4 reconstruction", "finding"] == "the paper contradicts itself"  # 0.126 vs 0.116


def test_missing_evidence_is_not_measured_never_a_default(tmp_path):
    table = ledger.build(tmp_path)
    judged = conclusions.evaluate(tmp_path, table, ledger.distinct(table))
    analytic = judged.evidence.str.startswith("analytic:")  # arithmetic on the activation needs no results file
    assert set(judged[~analytic].verdict) == {"not measured", "not testable here"}
    testable = judged[(judged.evidence != "none") & ~analytic]
    assert (testable.verdict == "not measured").all() and testable.why.str.len().min() > 10


def test_every_conclusion_names_evidence_some_chapter_measures():
    registry = claims.load_registry()
    judged = conclusions.load()
    sources = {p.stem: p.read_text() for p in (ROOT / "notebooks").glob("*.ipynb")}
    for row in judged.itertuples():
        assert row.rule.strip() and row.statement.strip()
        if row.evidence == "none":
            assert row.rule.startswith("Not testable here")
            continue
        assert row.id in conclusions.RULES, f"{row.id} has no rule function"
        for item in row.evidence.split("; "):
            kind, _, name = item.partition(":")
            if kind == "claim":
                assert name in set(registry.id), item
            elif kind == "measurement":
                assert name in set(registry.measurement), item
            elif kind == "metrics":
                assert name in sources and "chapter.write(" in sources[name], item
            elif kind == "table":
                chapter, table = name.split("/")
                assert re.search(rf'\\"{table}\\"', sources[chapter]), item
                assert (chapter, table) in declarations(), f"{item} is not declared in ksc/runtime/tables.csv"
            elif kind == "parameter":
                chapter, parameter = name.split("/")
                assert f'"{parameter} = ' in sources[chapter], f"{item}: not a parameter of the chapter's notebook"
            elif kind == "conclusion":
                assert name in set(judged.id), item
            else:
                assert kind == "analytic", item


def test_the_no_fixed_point_claim_is_judged_by_arithmetic(tmp_path):
    table = ledger.build(tmp_path)
    judged = conclusions.evaluate(tmp_path, table, ledger.distinct(table)).set_index("id")
    assert judged.loc["ksc-no-fixed-points", "verdict"] == "not supported"  # f(0) = 0


def test_a_row_judged_at_every_k_keeps_the_chapters_combined_verdict(tmp_path):
    rows = pd.DataFrame(
        [
            # pooled over k the gap 0.02 would be 'reproduced'; the chapter judged it per k and combined to 'partly'
            {
                "id": "vsae-fve-superposition",
                "measured": 0.02,
                "sd": 0.001,
                "n": 12,
                "verdict": "partly",
                "by_k": "k=4: -0.007 cannot tell; k=8: 0.039 reproduced",
            },
            {"id": "vsae-s4.2-one-sixth", "measured": 0.176, "sd": float("nan"), "n": 1, "verdict": "not reproduced"},
        ]
    )
    write_results(tmp_path, "06_vsae", {}, pd.DataFrame([{"model": "vsae"}]), claims=rows)
    table = ledger.build(tmp_path).set_index("id")
    assert table.loc["vsae-fve-superposition", "verdict"] == "partly"
    assert "judged at every k" in table.loc["vsae-fve-superposition", "reason"]
    assert table.loc["vsae-s4.2-one-sixth", "verdict"] == "not reproduced"  # no by_k: the ledger's own rule


def test_the_overview_counts_what_it_is_given(results, tmp_path_factory):
    table = ledger.build(results)
    distinct = ledger.distinct(table)
    empty = tmp_path_factory.mktemp("empty")  # every conclusion judged 'not measured': the counts are what matter
    judged = conclusions.evaluate(empty, ledger.build(empty), ledger.distinct(ledger.build(empty)))
    line = ledger_page.overview(judged, distinct, table)
    chapters = table.chapter.dropna().nunique()
    assert line == (
        f"{len(judged)} conclusions, {len(distinct)} distinct measurements, {len(table)} places; "
        f"measurements read from {chapters} chapters"
    )
    assert ledger_page.overview(judged.head(3), distinct.head(2), table[table.chapter.notna()].head(1)).startswith(
        "3 conclusions, 2 distinct measurements, 1 places; measurements read from 1 chapters"
    )
    counts = ledger_page.verdict_counts(judged)
    assert counts.to_numpy().sum() == len(judged) and set(counts.columns) <= {"KSC draft", "vSAE paper"}
