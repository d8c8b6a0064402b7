"""Executing the chapters with papermill and rendering them with Jupyter Book 1.

The book's own build runs in place: executed notebooks go to ``book/chapters/``, their results
files to ``book/results/`` and the website to ``_build/html/``. A build with ``out`` set copies the
book's sources to ``out/src`` and builds there instead (the tests do this), so it never touches
the book's own results.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import yaml

from .params import ParameterError

ROOT = Path(__file__).resolve().parents[1]
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")


class ChapterFailed(RuntimeError):
    """A chapter raised while it ran; the message names the chapter, the cell and the error."""


def chapters(root: Path = ROOT) -> list[Path]:
    """The source notebooks, in book order."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def notebook_parameters(path: Path) -> dict:
    """Name -> default of the notebook's ``parameters`` cell, as papermill reads it."""
    return papermill.inspect_notebook(str(path))


def load_parameter_file(path) -> dict:
    """Per-chapter parameters from YAML: ``{chapter_stem: {name: value}, "all": {name: value}}``."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ParameterError(f"parameter file {path} must map chapter names to parameter mappings")
    return data


def parameters_for(stem: str, file_params: dict, declared: dict) -> dict:
    """The file's ``all`` section (names this chapter declares) overridden by the chapter's own section."""
    own = file_params.get(stem) or {}
    unknown = sorted(set(own) - set(declared))
    if unknown:
        raise ParameterError(f"{stem}: unknown parameter(s) {unknown}; allowed: {sorted(declared)}")
    shared = {k: v for k, v in (file_params.get("all") or {}).items() if k in declared}
    return {**shared, **own}


def _first_error(nb) -> str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index} ({output.get('ename')}: {output.get('evalue')})"
    return ""


def execute_chapter(source: Path, dest_dir: Path, results_dir: Path, parameters: dict | None = None,
                    log=print) -> Path:
    """Runs one notebook with papermill into ``dest_dir``; the earlier output stays until this one succeeds."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / source.name
    partial = dest_dir / f".{source.stem}.running.ipynb"
    params = {**(parameters or {}), "results_dir": str(results_dir)}
    start = time.perf_counter()
    log(f"[{source.stem}] running with {params}")
    try:
        papermill.execute_notebook(str(source), str(partial), parameters=params, cwd=str(dest_dir),
                                   progress_bar=False, kernel_name="python3")
    except papermill.PapermillExecutionError as error:
        where = f"cell {error.cell_index}" if error.cell_index is not None else "a cell"
        raise ChapterFailed(f"{source.stem} failed in {where}: {error.ename}: {error.evalue}") from None
    nb = nbformat.read(partial, as_version=4)
    problem = _first_error(nb)
    if problem:
        raise ChapterFailed(f"{source.stem} has an error output in {problem}")
    partial.replace(dest)
    log(f"[{source.stem}] done in {time.perf_counter() - start:.1f} s")
    return dest


def stage(out: Path, root: Path = ROOT) -> Path:
    """Copies the book's sources (config, table of contents, prose) to ``out/src``."""
    src = out / "src"
    for name in BOOK_SOURCES:
        origin, target = root / name, src / name
        if origin.is_dir():
            shutil.copytree(origin, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("chapters", "results", ".*"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    return src


def render(site_root: Path, output: Path) -> Path:
    """Jupyter Book 1 HTML build; any Sphinx warning fails it."""
    jb = Path(sys.executable).with_name("jupyter-book")
    command = [str(jb) if jb.exists() else "jupyter-book", "build", str(site_root),
               "--path-output", str(output), "--warningiserror", "--keep-going", "--all"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"jupyter-book build failed (exit {done.returncode}):\n{tail}")
    return output / "_build" / "html" / "index.html"


def build(out: Path | None = None, parameter_file=None, only=None, root: Path = ROOT, log=print) -> Path:
    """Executes every chapter (or those in ``only``) and renders the website; returns index.html's path."""
    site_root = root if out is None else stage(Path(out).resolve(), root)
    output = root if out is None else Path(out).resolve()
    file_params = load_parameter_file(parameter_file) if parameter_file else {}
    selected = [nb for nb in chapters(root) if not only or nb.stem in only]
    if only and len(selected) != len(set(only)):
        raise ParameterError(f"only = {sorted(only)} is not allowed: chapters are {[nb.stem for nb in chapters(root)]}")
    plan = [(nb, parameters_for(nb.stem, file_params, notebook_parameters(nb))) for nb in selected]
    start = time.perf_counter()
    for notebook, params in plan:
        execute_chapter(notebook, site_root / "book" / "chapters", site_root / "book" / "results", params, log)
    log(f"all chapters executed in {time.perf_counter() - start:.1f} s; rendering")
    if not file_params:  # at the paper's defaults every claim a chapter selects must get a measurement
        problems = audit(site_root / "book" / "results", [nb.stem for nb, _ in plan])
        if problems:
            raise ChapterFailed("claims left unmeasured at the paper's defaults: " + "; ".join(problems))
    index = render(site_root, output)
    log(f"website: {index}")
    return index


def audit(results_dir: Path, stems) -> list[str]:
    """Chapters without a results file, and claims a chapter selected but did not measure."""
    problems = []
    for stem in stems:
        path = Path(results_dir) / f"{stem}.json"
        if not path.exists():
            problems.append(f"{stem}: no results file")
            continue
        claims = json.loads(path.read_text())["claims"]
        problems += [f"{stem}: {c['id']}" for c in claims if c["verdict"] == "not measured"]
    return problems


def committed_outputs(path: Path) -> list[int]:
    """Indices of code cells that carry outputs or execution counts (the repository keeps none)."""
    nb = json.loads(Path(path).read_text())
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            and (c.get("outputs") or c.get("execution_count"))]
