"""Results files: one JSON per executed notebook, written atomically, with provenance.

Layout of ``<results_dir>/<chapter>.json``::

    {"chapter": ..., "parameters": {...}, "metrics": [rows], "claims": [rows],
     "tables": {name: [rows]}, "provenance": {...}}

The file is written to a temporary name in the same directory and renamed into place, so an
interrupted run never leaves a half-written file and never replaces good results with partial ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ksc.runtime.atomic import json_safe, write_atomic
from ksc.runtime.declarations import check_written
from ksc.runtime.machine import provenance


def write_results(
    results_dir, chapter: str, parameters: dict, metrics, claims=None, tables=None, seeds=(), wall_seconds: float = 0.0
) -> Path:
    """Writes ``<results_dir>/<chapter>.json`` and returns its path, after holding the tables to their declaration
    (:func:`ksc.runtime.declarations.check_written`: nothing is written if one is missing)."""
    check_written(chapter, parameters, metrics, tables or {})
    record = {
        "chapter": chapter,
        "parameters": json_safe(parameters),
        "metrics": json_safe(metrics),
        "claims": json_safe(claims if claims is not None else []),
        "tables": json_safe(tables or {}),
        "provenance": provenance(seeds, wall_seconds),
    }
    text = json.dumps(record, indent=1, allow_nan=False)
    return write_atomic(Path(results_dir) / f"{chapter}.json", text)


def results_path(results_dir, chapter: str) -> Path:
    """Where a chapter's results file lives."""
    return Path(results_dir) / f"{chapter}.json"


def read_results(path) -> dict:
    """The record of one results file: ``metrics`` and ``claims`` as DataFrames, ``tables`` as DataFrames by name.

    This is the one reader of the format; every page, the ledger and the CLI go through it.
    """
    record = json.loads(Path(path).read_text())
    record["metrics"] = pd.DataFrame(record.get("metrics") or [])
    record["claims"] = pd.DataFrame(record.get("claims") or [])
    record["tables"] = {name: pd.DataFrame(rows) for name, rows in (record.get("tables") or {}).items()}
    return record


def chapter_results(results_dir, chapter: str, missing_ok: bool = False) -> dict | None:
    """The record of ``<results_dir>/<chapter>.json``; None when it is missing and ``missing_ok``."""
    path = results_path(results_dir, chapter)
    if missing_ok and not path.exists():
        return None
    return read_results(path)


def every_chapter(results_dir) -> list[dict]:
    """The records of every chapter's results file in ``results_dir``, in book order."""
    return [read_results(path) for path in sorted(Path(results_dir).glob("[0-9][0-9]_*.json"))]
