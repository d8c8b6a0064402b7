"""The ledger page's tables as it shows them, and the files it writes beside its results file (``findings.md``, which
the intro page includes, and the ledger and conclusions as CSV and JSON)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ksc.runtime.atomic import write_atomic

PAPERS = {"ksc": "KSC draft", "vsae": "vSAE paper"}
DISTINCT_COLUMNS = ["measurement", "source", "places", "claimed", "measured", "sd", "n", "chapter", "finding", "why"]
DISTINCT_COLUMNS += ["counted", "derived_from", "derived_here"]
# the columns of every place a paper states a number, as the results file's claims hold them
CLAIM_COLUMNS = ["id", "section", "model", "quantity", "claimed", "measured", "sd", "n", "verdict", "finding"]
CLAIM_COLUMNS += ["reason", "measurement", "chapter"]
# as the page shows them, with the null references that pass the rule
PLACE_COLUMNS = CLAIM_COLUMNS[:11] + ["passes", "measurement", "chapter"]


def _shown(frame: pd.DataFrame):
    """A table as the page shows it: no column that is empty in every row, empty cells blank (not NaN), no index."""
    kept = frame.loc[:, [c for c in frame.columns if not (frame[c].isna() | frame[c].eq("")).all()]]
    number = lambda v: f"{v:.4g}" if isinstance(v, (float, np.floating)) else v  # noqa: E731 (3.6e-05, not 0.0000)
    return kept.style.hide(axis="index").format(number, na_rep="")


def overview(judged: pd.DataFrame, distinct: pd.DataFrame, ledger_table: pd.DataFrame) -> str:
    """One line: how many conclusions, distinct measurements and places, and from how many chapters."""
    chapters_read = sorted(set(ledger_table.chapter.dropna()))
    return (
        f"{len(judged)} conclusions, {len(distinct)} distinct measurements, {len(ledger_table)} places; "
        f"measurements read from {len(chapters_read)} chapters"
    )


BASES = {
    "measured": "decided by a measurement",
    "the paper's own text": "fixed by the paper's own text",
    "arithmetic": "fixed by arithmetic",
    "the model's construction": "fixed by the model's construction",
    "none": "not testable here",
}


def verdict_counts(judged: pd.DataFrame) -> pd.DataFrame:
    """The conclusions counted by what decides them and by verdict, a column per paper."""
    return pd.crosstab([judged.basis.map(BASES).rename("decided by"), judged.verdict], judged.source.map(PAPERS))


def distinct_rows(distinct: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct measurement: where it is stated, claimed and measured values, finding and why; a derived
    measurement under its first parent, marked as not counted."""
    return _shown(_with_counted(distinct)[DISTINCT_COLUMNS])


def _with_counted(distinct: pd.DataFrame) -> pd.DataFrame:
    derived = distinct.derived_from.astype(bool)
    return distinct.assign(counted=np.where(derived, "no: derived, counted with its parents", "yes"))


def contradictions(distinct: pd.DataFrame) -> pd.DataFrame:
    """The distinct measurements a paper gives incompatible values, with both places and why."""
    contradicted = _with_counted(distinct)[distinct.finding == "the paper contradicts itself"]
    return _shown(contradicted[["measurement", "source", "where_stated", "counted", "why"]])


def null_references(refs: pd.DataFrame) -> pd.DataFrame:
    """The null references, one row per value: the registry models it serves joined (the same V4 on noise serves V4,
    K = 32, V4 on Hénon and the flows' V4 rows)."""
    grouped = refs.groupby(["reference", "quantity", "value", "source"], sort=False).model.agg("; ".join)
    return _shown(grouped.reset_index()[["reference", "model", "quantity", "value", "source"]])


def _with_passes(ledger_table: pd.DataFrame) -> pd.DataFrame:
    return ledger_table.assign(passes=ledger_table.null_passes.str.join("; "))


def null_passing(ledger_table: pd.DataFrame) -> pd.DataFrame:
    """The places whose rule a null reference passes too, with the references that pass."""
    passing = ledger_table[ledger_table.null_passes.str.len() > 0]
    return _shown(_with_passes(passing)[["id", "section", "model", "quantity", "verdict", "finding", "passes"]])


def places(ledger_table: pd.DataFrame) -> pd.DataFrame:
    """Every place a paper states a number, in the registry's order, with the null references that pass its rule."""
    return _shown(_with_passes(ledger_table)[PLACE_COLUMNS])


def write_files(
    results_dir, ledger_table: pd.DataFrame, judged: pd.DataFrame, tally: pd.DataFrame, controls: pd.DataFrame
) -> None:
    """``findings.md`` (:func:`findings_markdown`), ``ledger.csv``, ``ledger.json`` and
    ``conclusions.csv`` in ``results_dir``, each written atomically."""
    for name, text in {
        "findings.md": findings_markdown(judged, tally, controls),
        "ledger.csv": ledger_table.to_csv(index=False),
        "ledger.json": ledger_table.to_json(orient="records", indent=1),
        "conclusions.csv": judged.to_csv(index=False),
    }.items():
        write_atomic(Path(results_dir) / name, text)


def _count_sentence(counts: pd.Series) -> str:
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)


def controls_markdown(controls: pd.DataFrame) -> list[str]:
    """V4 beside the non-chaotic activations with its Top-K and penalty, as a Markdown table (lines)."""
    columns = list(controls.columns)
    lines = [
        "**V4 beside non-chaotic activations with its Top-K and penalty** (chapter 11, means over seeds): every "
        "conclusion about V4 reads against these.",
        "",
        "| " + " | ".join([controls.index.name, *columns]) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for name, row in controls.iterrows():
        lines.append("| " + " | ".join([str(name), *(f"{row[c]:.3g}" for c in columns)]) + " |")
    return [*lines, ""]


def findings_markdown(
    conclusions_table: pd.DataFrame, tally_table: pd.DataFrame, controls: pd.DataFrame | None = None
) -> str:
    """The summary the intro page includes: conclusions with their verdicts, V4 beside the non-chaotic Top-K
    controls, then the tallies by kind.

    Written by the ledger chapter when the book is built, so the intro never states a typed number.
    """
    lines = [
        "The verdicts below were computed when this website was built, from the chapters' results files; "
        "the {doc}`ledger <../notebooks/90_ledger>` shows the evidence, the rules and the null references.",
        "",
    ]
    names = {"ksc": "the KSC draft", "vsae": "the vSAE paper"}
    for source, group in conclusions_table.groupby("source", sort=False):
        measured = group[group.basis == "measured"]
        fixed = group[~group.basis.isin(["measured", "none"])]
        untestable = group[group.basis == "none"]
        parts = [f"Decided by a measurement ({len(measured)}): " + _count_sentence(measured.verdict.value_counts())]
        if len(fixed):
            parts.append(
                f"fixed whatever is measured, by the paper's own text, arithmetic or the model's construction "
                f"({len(fixed)}): " + _count_sentence(fixed.verdict.value_counts())
            )
        if len(untestable):
            parts.append(f"not testable here ({len(untestable)})")
        lines.append(
            f"**Conclusions of {names.get(source, source)}** ({len(group)} sentences that assert a result). "
            + "; ".join(parts)
            + "."
        )
        lines.append("")
    lines += ["| conclusion (our words) | paper, section | verdict | decided by |", "|---|---|---|---|"]
    by_paper = conclusions_table.sort_values("source", kind="stable", key=lambda s: s.map({"ksc": 0, "vsae": 1}))
    for row in by_paper.itertuples():
        lines.append(
            f"| {row.statement.replace('|', '/')} | {names.get(row.source, row.source)}, {row.section} | "
            f"**{row.verdict}** | {BASES.get(row.basis, row.basis)} |"
        )
    lines.append("")
    if controls is not None:
        lines += controls_markdown(controls)
    for paper in tally_table.columns:
        column = tally_table[paper].drop("all distinct measurements")
        lines.append(
            f"**Numbers of the {paper}**: {int(tally_table.loc['all distinct measurements', paper])} distinct "
            "measurements (places that repeat one number count once; ratios, gains and other values computed from "
            "them are counted with them): " + _count_sentence(column) + "."
        )
        lines.append("")
    return "\n".join(lines)
