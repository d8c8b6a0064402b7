"""One execution of a chapter: its parameters checked against the table, its clock, and its results file.

Every chapter's first cell after its ``parameters`` cell is::

    chapter = start("01_evolution", globals())

which checks every parameter the cell set (``ksc.parameters.RULES``), puts the normalised values back
into the notebook's namespace, starts the chapter's clock and sets how tables print. The last cells
call ``chapter.write(...)`` (the results file, with the parameters and the wall time filled in) and
``show_provenance(chapter)``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from .. import parameters
from ..results import results_path, write_results


class Chapter:
    """A chapter being executed: ``name``, checked ``parameters``, ``results_dir`` and ``seconds()`` since start."""

    def __init__(self, name: str, checked: dict):
        self.name, self.parameters = name, checked
        self.results_dir = Path(checked.get("results_dir", "results"))
        self.started = time.perf_counter()

    @property
    def results_file(self) -> Path:
        return results_path(self.results_dir, self.name)

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def write(self, metrics, claims=None, tables=None, seeds=()) -> Path:
        """Writes ``<results_dir>/<chapter>.json`` (atomically) with the parameters and the wall time so far."""
        recorded = {name: value for name, value in self.parameters.items() if name != "results_dir"}
        return write_results(
            self.results_dir,
            self.name,
            parameters=recorded,
            metrics=metrics,
            claims=claims,
            tables=tables,
            seeds=seeds,
            wall_seconds=self.seconds(),
        )


def notebook_parameters(namespace: dict) -> dict:
    """The book's parameters among a notebook's names (what its ``parameters`` cell and papermill set)."""
    return {name: value for name, value in namespace.items() if name in parameters.RULES}


def start(name: str, namespace: dict) -> Chapter:
    """Checks the notebook's parameters (one line on a bad value), normalises them in place, starts the clock."""
    checked = parameters.check(notebook_parameters(namespace), chapter=name)
    namespace.update(checked)
    pd.set_option("display.float_format", "{:.4g}".format)  # 4 significant digits at any magnitude
    return Chapter(name, checked)
