"""The chapters' notebooks as files: which there are, their titles, their declared parameters and defaults, and
the per-chapter parameter files of ``ksc build -f`` and ``ksc run -f``. Nothing here executes a notebook."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import papermill
import yaml

from ksc.book import parameters as parameter_table
from ksc.book.parameters import ParameterError

ROOT = Path(__file__).resolve().parents[2]


def chapters(root: Path = ROOT) -> list[Path]:
    """The source notebooks, in book order."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def chapter_title(path: Path) -> str:
    """The first heading of the notebook's first markdown cell."""
    nb = nbformat.read(path, as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    return next((line.lstrip("#").strip() for line in first.splitlines() if line.startswith("#")), path.stem)


def notebook_parameters(path: Path) -> dict:
    """Name -> default of the notebook's ``parameters`` cell, as papermill reads it."""
    return papermill.inspect_notebook(str(path))


def defaults(path: Path) -> dict:
    """The values of the notebook's ``parameters`` cell (``results_dir`` left out: ksc sets it)."""
    declared = notebook_parameters(path)
    return {name: ast.literal_eval(info["default"]) for name, info in declared.items() if name != "results_dir"}


def check_values(path: Path, chosen: dict, chapter_defaults: dict | None = None) -> dict:
    """Checks a run's values with the chapter's other defaults, as its first cell will, before anything runs."""
    values = {**(defaults(path) if chapter_defaults is None else chapter_defaults), **chosen}
    parameter_table.check(values, chapter=path.stem)
    return chosen


def load_parameter_file(path) -> dict:
    """Per-chapter parameters from YAML: ``{chapter_stem: {name: value}, "all": {name: value}}``."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"parameter file {path} does not exist (or is not a file)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ParameterError(f"parameter file {path}{where} is not valid YAML: {problem}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"parameter file {path} is not text (UTF-8)") from None
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file {path} must map names to values, not hold a {type(data).__name__}")
    return data


def parameters_for(stem: str, file_params: dict, declared: dict) -> dict:
    """The file's ``all`` section (names this chapter declares) overridden by the chapter's own section."""
    own, shared = file_params.get(stem) or {}, file_params.get("all") or {}
    for section, values in ((stem, own), ("all", shared)):
        if not isinstance(values, dict):
            raise ParameterError(f"{section}: its section of the parameter file must map names to values")
    unknown = sorted(set(own) - set(declared))
    if unknown:
        raise ParameterError(f"{stem}: unknown parameter(s) {unknown}; allowed: {sorted(declared)}")
    shared = {k: v for k, v in shared.items() if k in declared}
    return {**shared, **own}


def committed_outputs(path: Path) -> list[int]:
    """Indices of code cells that carry outputs or execution counts (the repository keeps none)."""
    nb = json.loads(Path(path).read_text())
    return [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
