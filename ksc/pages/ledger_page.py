"""The ledger page's tables as it shows them, and the files it writes beside its results file (``findings.md``, which
the intro page includes, and the ledger and conclusions as CSV and JSON)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ksc.runtime.atomic import write_atomic

PAPERS = {"ksc": "KSC draft", "vsae": "vSAE paper"}
DISTINCT_COLUMNS = ["measurement", "source", "places", "claimed", "measured", "sd", "n", "chapter", "finding", "why"]
# the columns of every place a paper states a number, as the results file's claims hold them
CLAIM_COLUMNS = ["id", "section", "model", "quantity", "claimed", "measured", "sd", "n", "verdict", "finding"]
CLAIM_COLUMNS += ["reason", "measurement", "chapter"]
# as the page shows them, with the null references that pass the rule
PLACE_COLUMNS = CLAIM_COLUMNS[:11] + ["passes", "measurement", "chapter"]


def overview(judged: pd.DataFrame, distinct: pd.DataFrame, ledger_table: pd.DataFrame) -> str:
    """One line: how many conclusions, distinct measurements and places, and from how many chapters."""
    chapters_read = sorted(set(ledger_table.chapter.dropna()))
    return (
        f"{len(judged)} conclusions, {len(distinct)} distinct measurements, {len(ledger_table)} places; "
        f"measurements read from {len(chapters_read)} chapters"
    )


def verdict_counts(judged: pd.DataFrame) -> pd.DataFrame:
    """The conclusions counted by verdict, a column per paper."""
    return pd.crosstab(judged.verdict, judged.source.map(PAPERS))


def distinct_rows(distinct: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct measurement: where it is stated, claimed and measured values, finding and why."""
    return distinct[DISTINCT_COLUMNS]


def contradictions(distinct: pd.DataFrame) -> pd.DataFrame:
    """The distinct measurements a paper gives incompatible values, with both places and why."""
    return distinct.loc[
        distinct.finding == "the paper contradicts itself", ["measurement", "source", "where_stated", "why"]
    ]


def _with_passes(ledger_table: pd.DataFrame) -> pd.DataFrame:
    return ledger_table.assign(passes=ledger_table.null_passes.str.join("; "))


def null_passing(ledger_table: pd.DataFrame) -> pd.DataFrame:
    """The places whose rule a null reference passes too, with the references that pass."""
    passing = ledger_table[ledger_table.null_passes.str.len() > 0]
    return _with_passes(passing)[["id", "section", "model", "quantity", "verdict", "finding", "passes"]]


def places(ledger_table: pd.DataFrame) -> pd.DataFrame:
    """Every place a paper states a number, in the registry's order, with the null references that pass its rule."""
    return _with_passes(ledger_table)[PLACE_COLUMNS]


def write_files(results_dir, ledger_table: pd.DataFrame, judged: pd.DataFrame, tally: pd.DataFrame) -> None:
    """``findings.md`` (:func:`findings_markdown`), ``ledger.csv``, ``ledger.json`` and
    ``conclusions.csv`` in ``results_dir``, each written atomically."""
    for name, text in {
        "findings.md": findings_markdown(judged, tally),
        "ledger.csv": ledger_table.to_csv(index=False),
        "ledger.json": ledger_table.to_json(orient="records", indent=1),
        "conclusions.csv": judged.to_csv(index=False),
    }.items():
        write_atomic(Path(results_dir) / name, text)


def _count_sentence(counts: pd.Series) -> str:
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)


def findings_markdown(conclusions_table: pd.DataFrame, tally_table: pd.DataFrame) -> str:
    """The summary the intro page includes: conclusions with their verdicts, then the tallies by kind.

    Written by the ledger chapter when the book is built, so the intro never states a typed number.
    """
    lines = [
        "The verdicts below were computed when this website was built, from the chapters' results files; "
        "the {doc}`ledger <../notebooks/90_ledger>` shows the evidence, the rules and the null references.",
        "",
    ]
    names = {"ksc": "the KSC draft", "vsae": "the vSAE paper"}
    for source, group in conclusions_table.groupby("source", sort=False):
        lines.append(
            f"**Conclusions of {names.get(source, source)}** ({len(group)} sentences that assert a result): "
            + _count_sentence(group.verdict.value_counts())
            + "."
        )
        lines.append("")
    lines += ["| conclusion (our words) | paper, section | verdict |", "|---|---|---|"]
    for row in conclusions_table.itertuples():
        lines.append(
            f"| {row.statement.replace('|', '/')} | {names.get(row.source, row.source)}, {row.section} | "
            f"**{row.verdict}** |"
        )
    lines.append("")
    for paper in tally_table.columns:
        column = tally_table[paper].drop("all distinct measurements")
        lines.append(
            f"**Numbers of the {paper}**: {int(tally_table.loc['all distinct measurements', paper])} distinct "
            "measurements (places that repeat one number count once): " + _count_sentence(column) + "."
        )
        lines.append("")
    return "\n".join(lines)
