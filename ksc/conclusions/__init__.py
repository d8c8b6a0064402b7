"""The papers' conclusions, judged from the evidence the chapters measured.

``conclusions.csv`` holds one row per sentence of a paper that asserts a result: where it is (section and
line of the seed), the statement in our words, the evidence it needs, its decision rule in words, and its
``basis``: ``measured`` for a verdict that the evidence decides, or what else fixes it whatever is measured (``the
paper's own text``: two of its statements contradict each other, or the rule reads only the paper's values;
``arithmetic``; ``the model's construction``: any model of that kind passes), or ``none`` (not testable here).
Verdicts of another basis than ``measured`` are shown and counted apart.
Each rule is one function, registered under the conclusion's id in ``RULES`` (:mod:`ksc.conclusions.judging`) by
the module of its paper and theme: ``ksc_architecture`` (chapters 01-07), ``ksc_controls`` (09 and 10),
``ksc_ablations`` (11), ``ksc_randomness`` (12) and ``vsae_paper`` (06). A rule reads the results files through
:class:`Evidence` and returns a verdict and one sentence of why. Evidence that no results file holds gives
*not measured*, never a default verdict.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

# importing the rule modules registers their rules in RULES
from ksc.conclusions import ksc_ablations, ksc_architecture, ksc_controls, ksc_randomness, vsae_paper  # noqa: F401
from ksc.conclusions.judging import RULES, VERDICTS, Evidence, Judgement, Missing

__all__ = [
    "RULES",
    "VERDICTS",
    "Evidence",
    "Judgement",
    "Missing",
    "chapter_verdicts",
    "controls_beside_v4",
    "evaluate",
    "load",
    "references_cited",
    "rule_history",
]


def load() -> pd.DataFrame:
    with resources.files("ksc.conclusions").joinpath("conclusions.csv").open() as handle:
        return pd.read_csv(handle)


def references_cited() -> pd.DataFrame:
    """The draft's references as cited and as published (``references_cited.csv``)."""
    return pd.read_csv(resources.files("ksc.evidence").joinpath("references_cited.csv"))


def controls_beside_v4(results_dir) -> pd.DataFrame:
    """V4 beside chapter 11's non-chaotic activations with its Top-K and penalty (:func:`ksc_architecture.
    controls_beside_v4`), read from the results files."""
    empty = pd.DataFrame(columns=["id", "measured"]), pd.DataFrame(columns=["measurement", "measured"])
    return ksc_architecture.controls_beside_v4(Evidence(results_dir, *empty))


def rule_history() -> pd.DataFrame:
    """Every change to a rule made after results existed, with its date and reason (``rule_history.csv``)."""
    return pd.read_csv(resources.files("ksc.evidence").joinpath("rule_history.csv"))


def _not_testable(ev: Evidence, conclusion) -> Judgement:
    return Judgement("not testable here", conclusion.rule.split(": ", 1)[-1])


def judged_by_chapter_alone(evidence: str, chapter: str) -> bool:
    """Whether every item of a conclusion's ``evidence`` is one of ``chapter``'s metrics, tables or parameters (a
    conclusion that also reads other chapters or the ledger is judged on the ledger page only)."""
    items = [item.strip() for item in str(evidence).split(";") if item.strip()]
    return bool(items) and all(
        item.split(":", 1)[0] in ("metrics", "table", "parameter") and item.split(":", 1)[1].split("/")[0] == chapter
        for item in items
    )


def chapter_verdicts(results_dir, chapter: str) -> pd.DataFrame:
    """The conclusions judged from ``chapter``'s results file alone (the same rules the ledger applies; for a
    chapter to show its own verdicts). Conclusions that also read other chapters are left to the ledger page: a
    chapter runs on its own, so their evidence would be missing there."""
    empty = pd.DataFrame(columns=["id", "measured"]), pd.DataFrame(columns=["measurement", "measured"])
    ev = Evidence(results_dir, *empty)
    rows = []
    for conclusion in load().itertuples():
        if not judged_by_chapter_alone(conclusion.evidence, chapter):
            continue
        try:
            judged = RULES[conclusion.id](ev)
        except Missing as missing:
            judged = Judgement("not measured", str(missing))
        rows.append(
            {
                "id": conclusion.id,
                "section": conclusion.section,
                "statement": conclusion.statement,
                "verdict": judged.verdict,
                "why": judged.why,
                "rule": conclusion.rule,
            }
        )
    return pd.DataFrame(rows, columns=["id", "section", "statement", "verdict", "why", "rule"])


def evaluate(results_dir, ledger_table: pd.DataFrame, distinct_table: pd.DataFrame) -> pd.DataFrame:
    """Every conclusion with its verdict and why, in the registry's order."""
    ev = Evidence(results_dir, ledger_table, distinct_table)
    rows = []
    for conclusion in load().itertuples():
        try:
            if conclusion.evidence == "none":
                judged = _not_testable(ev, conclusion)
            else:
                judged = RULES[conclusion.id](ev)
        except Missing as missing:
            judged = Judgement("not measured", str(missing))
        ev.judged[conclusion.id] = judged
        rows.append(
            {
                "id": conclusion.id,
                "source": conclusion.source,
                "section": conclusion.section,
                "lines": conclusion.lines,
                "statement": conclusion.statement,
                "verdict": judged.verdict,
                "why": judged.why,
                "rule": conclusion.rule,
                "evidence": conclusion.evidence,
                "basis": conclusion.basis,
            }
        )
    return pd.DataFrame(rows)
