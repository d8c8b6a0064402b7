"""Each chapter's time budget (``budgets.csv``): the seconds it may take alone, at the paper's defaults, on the 2-core
CPU at the speed recorded in ``benchmarks/results/`` + :data:`REFERENCE` (a V4 trained with Keras ``fit`` in about
2.2 s).

Budgets are targets, declared before the build that is judged against them (the ``declared`` column); the
Performance page sets each chapter's measured time beside its budget scaled by the speed of the machine that ran
it. ``ksc build --workers N`` also reads them to start the most expensive chapters first.
"""

from __future__ import annotations

import csv
from pathlib import Path

BUDGETS_FILE = Path(__file__).with_name("budgets.csv")
# the recorded benchmark whose Keras-fit time is the speed the budgets are stated at (in benchmarks/results/)
REFERENCE = "train_speed-tensorflow-cpu-x86-64-x2.json"


def budgets(path: Path = BUDGETS_FILE) -> dict[str, float]:
    """Chapter stem -> budget in seconds."""
    with open(path, newline="") as handle:
        return {row["chapter"]: float(row["budget_seconds"]) for row in csv.DictReader(handle)}


def costliest_first(stems, known: dict[str, float] | None = None) -> list[str]:
    """``stems`` with the largest budget first (longest processing time first: with N workers, no chapter with a big
    budget is left to start last); a chapter without a budget goes first, since nothing says it is short. Ties keep
    book order."""
    known = budgets() if known is None else known
    order = {stem: index for index, stem in enumerate(stems)}
    return sorted(stems, key=lambda stem: (-known.get(stem, float("inf")), order[stem]))
