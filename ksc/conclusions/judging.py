"""What every rule of the conclusions shares: the verdicts, the :class:`Evidence` a rule reads the results files
through, :class:`Missing` for evidence no results file holds, the :class:`Judgement` a rule returns, and the
registry :data:`RULES` that :func:`rule` adds a rule function to under its conclusion's id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.evidence.claims import interval
from ksc.runtime import declarations
from ksc.runtime.results import chapter_results

VERDICTS = (
    "supported",
    "not supported",
    "cannot tell",
    "the paper contradicts itself",
    "not testable here",
    "not measured",
)


class Missing(LookupError):
    """Evidence a conclusion needs is not in the results files."""


class Judgement(NamedTuple):
    verdict: str
    why: str


class Evidence:
    """Read access to the results files and the ledger, raising :class:`Missing` for anything absent."""

    def __init__(self, results_dir, ledger_table: pd.DataFrame, distinct_table: pd.DataFrame):
        self.results_dir = Path(results_dir)
        self.ledger = ledger_table.set_index("id")
        self.distinct = distinct_table.set_index("measurement")
        self.judged: dict[str, Judgement] = {}

    def record(self, chapter: str) -> dict:
        record = chapter_results(self.results_dir, chapter, missing_ok=True)
        if record is None:
            raise Missing(f"no results file for {chapter}")
        return record

    def parameter(self, chapter: str, name: str):
        """A parameter the chapter ran with; absent from a chapter that ran stops the build."""
        parameters = self.record(chapter).get("parameters", {})
        if name not in parameters:
            raise declarations.MissingEvidence(f"{chapter} recorded no parameter {name!r}")
        return parameters[name]

    def metrics(self, chapter: str) -> pd.DataFrame:
        """The chapter's per-run table, held to its declaration (``ksc/runtime/tables.csv``)."""
        return self.table(chapter, "metrics")

    def table(self, chapter: str, name: str) -> pd.DataFrame:
        """A declared table of a chapter that ran; a chapter that did not run is :class:`Missing` (*not measured*),
        a declared table, column or label absent from one that ran stops the build
        (:class:`ksc.runtime.declarations.MissingEvidence`)."""
        declarations.declared(chapter, name)
        return declarations.table(self.record(chapter), name)

    def rows(self, chapter: str, name: str, **labels) -> pd.DataFrame:
        """The rows of a declared table with the given labels; none stops the build (MissingEvidence)."""
        return declarations.rows(self.table(chapter, name), f"{chapter}/{name}", **labels)

    def claim(self, claim_id: str):
        if claim_id not in self.ledger.index:
            raise Missing(f"the ledger has no claim {claim_id}")
        row = self.ledger.loc[claim_id]
        if not np.isfinite(row.measured):
            raise Missing(f"claim {claim_id} was not measured")
        return row

    def measurement(self, key: str):
        if key not in self.distinct.index or not np.isfinite(self.distinct.loc[key, "measured"]):
            raise Missing(f"the measurement {key!r} was not made")
        return self.distinct.loc[key]

    def controls(self) -> pd.DataFrame:
        """Chapter 07's per-run metrics (its ``architecture`` and ``dataset`` columns name each run)."""
        return self.metrics("07_controls")

    def control_mean(self, architecture: str, dataset: str, quantity: str) -> float:
        picked = self.rows("07_controls", "metrics", architecture=architecture, dataset=dataset)
        return float(picked[quantity].mean())


RULES: dict[str, Callable[[Evidence], Judgement]] = {}


def rule(conclusion_id: str):
    def register(function):
        RULES[conclusion_id] = function
        return function

    return register


def mean_and_interval(values) -> tuple[float, float, float]:
    """The mean of ``values`` and its 95 % interval (:func:`ksc.evidence.claims.interval`)."""
    values = np.asarray(values, dtype=float)
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    low, high = interval(float(np.mean(values)), sd, len(values))
    return float(np.mean(values)), low, high
