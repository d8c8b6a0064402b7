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

    def metrics(self, chapter: str) -> pd.DataFrame:
        frame = self.record(chapter)["metrics"]
        if frame.empty:
            raise Missing(f"{chapter} recorded no metrics")
        return frame

    def table(self, chapter: str, name: str) -> pd.DataFrame:
        tables = self.record(chapter)["tables"]
        if name not in tables:
            raise Missing(f"{chapter} recorded no table {name!r}")
        return tables[name]

    def claim(self, claim_id: str):
        row = self.ledger.loc[claim_id]
        if not np.isfinite(row.measured):
            raise Missing(f"claim {claim_id} was not measured")
        return row

    def measurement(self, key: str):
        if key not in self.distinct.index or not np.isfinite(self.distinct.loc[key, "measured"]):
            raise Missing(f"the measurement {key!r} was not made")
        return self.distinct.loc[key]

    def controls(self) -> pd.DataFrame:
        """Chapter 07's per-run metrics with architecture and data set columns."""
        runs = self.metrics("07_controls")
        return runs.assign(
            architecture=runs.model.str.split(" on ").str[0], dataset=runs.model.str.split(" on ").str[1]
        )

    def control_mean(self, architecture: str, dataset: str, quantity: str) -> float:
        runs = self.controls()
        picked = runs[(runs.architecture == architecture) & (runs.dataset == dataset)]
        if picked.empty:
            raise Missing(f"chapter 07 did not train {architecture} on {dataset}")
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
