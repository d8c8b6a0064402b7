"""The tables of every chapter's results file, declared in ``tables.csv``: the one place that says what evidence exists.

One row per (chapter, table): ``metrics`` is the chapter's per-run table, the others are the entries of
``tables={...}`` it writes. ``columns`` lists the columns the table must have ("; " between them); ``labels`` the
values a key column must hold wherever the book reads rows by that label ("column: value, value; column: value";
``{name}`` stands for the values of the chapter's parameter ``name``, e.g. ``architecture: {models}``);
``when`` says when the table must be there: ``always``, ``parameter NAME`` (when that parameter is true) or
``tool NAME, NAME`` (when those programs are installed; the table is empty otherwise), any of them followed by
``(may be empty)`` for a table that is written but can have no rows; ``meaning`` is one line on what a row is.

:func:`check_written` holds a results file to its declaration before it is written (so a chapter cannot drop a
table the ledger reads and still write its file); :func:`table` and :func:`rows` are how the ledger, the null
references and the conclusions read a table. A table, column or label that is declared but absent raises
:class:`MissingEvidence` naming the chapter and the table: the build stops instead of a verdict changing.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd


class MissingEvidence(RuntimeError):
    """A declared table, column or labelled row is absent from the results file of a chapter that ran."""


class UndeclaredTable(KeyError):
    """A table that ``tables.csv`` does not declare was written or read."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Declaration:
    chapter: str
    table: str
    when: str
    meaning: str
    columns: tuple[str, ...]
    labels: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def name(self) -> str:
        return f"{self.chapter}/{self.table}"

    def required(self, parameters: dict) -> bool:
        kind, _, what = self.when.removesuffix(" (may be empty)").partition(" ")
        if kind == "parameter":
            return bool(parameters.get(what))
        if kind == "tool":  # "tool a, b": when every one of the programs is installed
            return all(shutil.which(tool.strip()) is not None for tool in what.split(","))
        return True


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split("; ") if part.strip())


def _labels(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    labels = []
    for part in _split(text):
        column, _, values = part.partition(": ")
        labels.append((column, tuple(value.strip() for value in values.split(", "))))
    return tuple(labels)


@cache
def declarations() -> dict[tuple[str, str], Declaration]:
    """(chapter, table) -> its declaration, in the order of ``tables.csv``."""
    with resources.files("ksc.runtime").joinpath("tables.csv").open(newline="") as handle:
        return {
            (row["chapter"], row["table"]): Declaration(
                row["chapter"],
                row["table"],
                row["when"],
                row["meaning"],
                _split(row["columns"]),
                _labels(row.get("labels", "")),
            )
            for row in csv.DictReader(handle)
        }


def declared(chapter: str, name: str) -> Declaration:
    """The declaration of one table; :class:`UndeclaredTable` if ``tables.csv`` has none."""
    try:
        return declarations()[(chapter, name)]
    except KeyError:
        raise UndeclaredTable(f"{chapter}/{name} is not declared in ksc/runtime/tables.csv") from None


def of_chapter(chapter: str) -> list[Declaration]:
    return [d for (c, _), d in declarations().items() if c == chapter]


def problems(declaration: Declaration, frame: pd.DataFrame | None, parameters: dict) -> list[str]:
    """What the table lacks against its declaration, for a chapter run with ``parameters`` (empty if nothing)."""
    required = declaration.required(parameters)
    if frame is None or frame.empty and not required:
        return [f"{declaration.name} is missing"] if required else []
    if frame.empty and declaration.when.endswith("(may be empty)"):
        return []
    found = []
    absent = [column for column in declaration.columns if column not in frame.columns]
    if absent:
        found.append(f"{declaration.name} lacks the column(s) {', '.join(repr(c) for c in absent)}")
    for column, values in declaration.labels:
        if column not in frame.columns:
            continue
        present = set(frame[column].astype(str))
        for value in _expanded(values, parameters):
            if value not in present:
                found.append(f"{declaration.name} has no row with {column} = {value!r}")
    if frame.empty and declaration.columns:
        found.append(f"{declaration.name} has no rows")
    return found


def _expanded(values: tuple[str, ...], parameters: dict) -> list[str]:
    """Label values with each ``{name}`` replaced by the values of parameter ``name``."""
    out = []
    for value in values:
        if value.startswith("{") and value.endswith("}"):
            given = parameters.get(value[1:-1], [])
            out += [str(v) for v in (given if isinstance(given, (list, tuple)) else [given])]
        else:
            out.append(value)
    return out


def check_written(chapter: str, parameters: dict, metrics, tables: dict) -> None:
    """Raises :class:`MissingEvidence` (or :class:`UndeclaredTable`) if what a chapter is about to write does not
    match its declaration. Chapters that ``tables.csv`` does not name at all (a test's own chapter) pass."""
    expected = of_chapter(chapter)
    if not expected:
        return
    written = {"metrics": pd.DataFrame(metrics), **{name: pd.DataFrame(rows) for name, rows in tables.items()}}
    for name in written:
        declared(chapter, name)
    found = []
    for declaration in expected:
        found += problems(declaration, written.get(declaration.table), parameters)
    if found:
        raise MissingEvidence(f"results of {chapter} not written: " + "; ".join(found))


def table(record: dict, name: str) -> pd.DataFrame:
    """Table ``name`` of a results record (``metrics`` for the per-run table), held to its declaration."""
    declaration = declared(record["chapter"], name)
    frame = record["metrics"] if name == "metrics" else record["tables"].get(name)
    found = problems(declaration, frame, record.get("parameters", {}))
    if found:
        raise MissingEvidence(found[0])
    return frame


def rows(frame: pd.DataFrame, where: str, **labels) -> pd.DataFrame:
    """The rows of ``frame`` (table ``where``, for the message) whose columns hold the given labels; raises
    :class:`MissingEvidence` naming the table and the labels when there are none."""
    picked = frame
    for column, value in labels.items():
        if column not in picked.columns:
            raise MissingEvidence(f"{where} lacks the column {column!r}")
        picked = picked[picked[column] == value]
    if picked.empty:
        shown = ", ".join(f"{column} = {value!r}" for column, value in labels.items())
        raise MissingEvidence(f"{where} has no row with {shown}")
    return picked
