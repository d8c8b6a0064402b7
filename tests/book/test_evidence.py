"""Evidence the ledger can trust, on the tiny-scale book: a declared table, column or label missing from a chapter
that ran stops the ledger naming it, and every conclusion's evidence column lists what its rule reads."""

import json
import re
import shutil

import pytest

from ksc import conclusions
from ksc.book import build as book
from ksc.conclusions import RULES, Evidence, Missing
from ksc.evidence import ledger
from ksc.runtime.declarations import MissingEvidence, declarations
from ksc.runtime.results import read_results


def _copy(smoke_book, tmp_path):
    results = tmp_path / "results"
    shutil.copytree(smoke_book / "src" / "book" / "results", results)
    return results


def _edit(results, chapter: str, change) -> None:
    path = results / f"{chapter}.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _judge(results):
    table = ledger.build(results)
    return conclusions.evaluate(results, table, ledger.distinct(table))


def test_the_tiny_book_judges_with_every_declared_table_present(smoke_book, tmp_path):
    judged = _judge(_copy(smoke_book, tmp_path))
    assert set(judged.verdict) <= set(conclusions.VERDICTS)


@pytest.mark.parametrize(
    "chapter, table",
    [
        ("02_k_ablation", "noise"),
        ("07_controls", "identical_inputs"),
        ("09_sota_saes", "welch"),
        ("10_training_controls", "origin_variance"),
        ("10_training_controls", "probes"),
        ("11_ablations", "properties"),
        ("12_randomness", "streams"),
        ("13_language_model", "authors"),
        ("13_language_model", "nulls"),
    ],
)
def test_removing_a_table_the_ledger_reads_stops_it_naming_the_table(smoke_book, tmp_path, chapter, table):
    results = _copy(smoke_book, tmp_path)
    _edit(results, chapter, lambda record: record["tables"].pop(table))
    with pytest.raises(MissingEvidence, match=re.escape(f"{chapter}/{table} is missing")):
        _judge(results)


def test_removing_a_declared_column_stops_the_ledger_naming_it(smoke_book, tmp_path):
    results = _copy(smoke_book, tmp_path)

    def drop(record):
        for row in record["tables"]["k_table"]:
            row.pop("untrained")

    _edit(results, "10_training_controls", drop)
    with pytest.raises(MissingEvidence, match=r"10_training_controls/k_table lacks the column\(s\) 'untrained'"):
        _judge(results)


def test_renaming_a_label_stops_the_ledger_naming_the_label(smoke_book, tmp_path):
    results = _copy(smoke_book, tmp_path)

    def rename(record):
        for row in record["metrics"]:
            row["architecture"] = "V4" if row["architecture"] == "v4" else row["architecture"]

    _edit(results, "07_controls", rename)
    with pytest.raises(MissingEvidence, match="07_controls/metrics has no row with architecture = 'v4'"):
        _judge(results)


def test_a_chapter_cannot_write_results_without_a_declared_table(smoke_book, tmp_path):
    from ksc.runtime.results import write_results

    record = read_results(smoke_book / "src" / "book" / "results" / "02_k_ablation.json")
    tables = {name: frame for name, frame in record["tables"].items() if name != "noise"}
    with pytest.raises(MissingEvidence, match="02_k_ablation/noise is missing"):
        write_results(tmp_path, "02_k_ablation", record["parameters"], record["metrics"], tables=tables)
    assert not (tmp_path / "02_k_ablation.json").exists()


def test_every_results_file_of_the_tiny_book_matches_its_declaration(smoke_book):
    results = smoke_book / "src" / "book" / "results"
    for chapter, table in declarations():
        record = read_results(results / f"{chapter}.json")
        assert table == "metrics" or table in record["tables"], f"{chapter}/{table}"


class Recording(Evidence):
    """Evidence that notes every table, parameter, claim and measurement a rule reads."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def table(self, chapter, name):
        self.read.add(f"metrics:{chapter}" if name == "metrics" else f"table:{chapter}/{name}")
        return super().table(chapter, name)

    def parameter(self, chapter, name):
        self.read.add(f"parameter:{chapter}/{name}")
        return super().parameter(chapter, name)

    def claim(self, claim_id):
        self.read.add(f"claim:{claim_id}")
        return super().claim(claim_id)

    def measurement(self, key):
        self.read.add(f"measurement:{key}")
        return super().measurement(key)


def test_every_conclusion_lists_the_evidence_its_rule_reads(smoke_book):
    results = smoke_book / "src" / "book" / "results"
    table = ledger.build(results)
    ev = Recording(results, table, ledger.distinct(table))
    for conclusion in conclusions.load().itertuples():
        if conclusion.evidence == "none":
            continue
        ev.read = set()
        try:
            ev.judged[conclusion.id] = RULES[conclusion.id](ev)  # in the registry's order, as the ledger judges them
            complete = True
        except Missing:  # at the tiny scale some evidence is not made (no width of 512, no window claim)
            complete = False
        listed = {part.strip() for part in conclusion.evidence.split(";")}
        assert ev.read <= listed, f"{conclusion.id} reads {sorted(ev.read - listed)} not in its evidence column"
        unread = {e for e in listed - ev.read if not e.startswith(("conclusion:", "analytic:"))}
        assert not complete or not unread, f"{conclusion.id} lists {sorted(unread)}, which its rule does not read"


def test_the_build_stops_on_a_conclusion_not_measured_at_the_defaults(tmp_path):
    tables = {"conclusions": [{"id": "ksc-x", "verdict": "not measured", "why": "no table"}]}
    (tmp_path / "90_ledger.json").write_text(json.dumps({"claims": [], "tables": tables}))
    assert book.audit(tmp_path, ["90_ledger"]) == ["90_ledger: conclusion ksc-x not measured (no table)"]
