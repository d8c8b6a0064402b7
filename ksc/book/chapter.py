"""One execution of a chapter: its parameters checked against the table, its clock, and its results file.

Every chapter's first cell after its ``parameters`` cell is::

    chapter = start("01_evolution", globals())

which checks every parameter the cell set (``ksc.book.parameters.RULES``), puts the normalised values back
into the notebook's namespace, starts the chapter's clock and sets how tables print. The last cells
call ``chapter.write(...)`` (the results file, with the parameters and the wall time filled in) and
``show_provenance(chapter)``.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pandas as pd

from ksc.book import parameters
from ksc.runtime.results import results_path, write_results

PAPERMILL_HEADER = "# Parameters\n"  # the first line of the cell papermill injects


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


def _assigned(source: str) -> list[str]:
    """The names a cell's top-level assignments bind ([] if it is not Python)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return []
    return [t.id for node in body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


def injected_unknown(namespace: dict) -> list[str]:
    """Names papermill injected that the chapter's ``parameters`` cell does not declare.

    Papermill adds its values as a cell starting ``# Parameters`` right after the ``parameters``
    cell, so in IPython's input history (``In``) the cell before the injected one is the
    ``parameters`` cell. Outside papermill there is no injected cell and nothing is unknown.
    """
    history = list(namespace.get("In") or [])
    for index in range(len(history) - 1, 0, -1):
        if history[index].startswith(PAPERMILL_HEADER):
            declared = set(_assigned(history[index - 1])) or set(parameters.RULES)
            return [n for n in _assigned(history[index]) if n not in declared]
    return []


def start(name: str, namespace: dict) -> Chapter:
    """Checks the notebook's parameters (one line on a bad value), normalises them in place, starts the clock."""
    unknown = injected_unknown(namespace)
    if unknown:
        raise parameters.ParameterError(
            f"{unknown[0]} = {namespace.get(unknown[0])!r} is not a parameter of {name}: "
            f"`ksc list {name[:2]}` shows its parameters"
        )
    checked = parameters.check(notebook_parameters(namespace), chapter=name)
    namespace.update(checked)
    pd.set_option("display.float_format", "{:.4g}".format)  # 4 significant digits at any magnitude
    return Chapter(name, checked)
