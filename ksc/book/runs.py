"""Re-runs of one chapter outside the book, each in a new folder that no later run touches.

``ksc run`` executes a chapter into ``runs/<chapter>-<time>-<hash>/`` (the executed notebook and its
results file); ``ksc sweep`` runs a grid of parameter values into ``runs/<chapter>-sweep-<time>-<hash>/``,
one sub-folder per point, and writes one table of every point's metric rows, ``metrics.csv``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import itertools
import json
import re
import uuid
from pathlib import Path

import pandas as pd
import yaml

from ksc.book import cluster, tasks
from ksc.book.execute import ChapterFailed, ChapterInterrupted, execute_chapter
from ksc.book.notebooks import ROOT, chapters, check_values, defaults, notebook_parameters, parameters_for
from ksc.book.parameters import ParameterError
from ksc.runtime.atomic import write_atomic
from ksc.runtime.results import read_results

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def parse_value(text: str):
    """A command-line value typed as YAML reads it (``16`` int, ``0.5`` float, ``true`` bool, ``[2, 4]`` list)."""
    value = yaml.safe_load(text)
    if isinstance(value, str) and _NUMBER.match(value):  # YAML 1.1 reads 1e-3 as a string
        return float(value)
    return value


def split_values(text: str) -> list[str]:
    """``4,8,16`` -> three values; commas inside brackets stay (``[2,4],[8]`` -> two lists)."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in parts + [current] if p.strip()]


def find_chapter(name: str, root: Path = ROOT) -> Path:
    """The source notebook of a chapter given by stem (``01_evolution``), number (``01``) or name (``evolution``)."""
    notebooks = chapters(root)
    stem = Path(name).stem
    matches = [nb for nb in notebooks if stem in (nb.stem, nb.stem[:2], nb.stem[3:])]
    if len(matches) != 1:
        raise ParameterError(f"chapter {name!r} is not one of {[nb.stem for nb in notebooks]}")
    return matches[0]


def chapter_parameters(notebook: Path, file_params: dict, cli_params: dict) -> dict:
    """The parameters of one run: the file's (book format ``{chapter: {...}}`` or flat), then the command line's."""
    declared = notebook_parameters(notebook)
    stems = {nb.stem for nb in chapters(notebook.parents[1])}
    if set(file_params) <= stems | {"all"}:
        from_file = parameters_for(notebook.stem, file_params, declared)
    else:
        from_file = file_params
    chosen = {**from_file, **cli_params}
    unknown = sorted(set(chosen) - set(declared))
    if unknown:
        raise ParameterError(f"{notebook.stem}: unknown parameter(s) {unknown}; allowed: {sorted(declared)}")
    if "results_dir" in chosen:
        raise ParameterError("results_dir is set by ksc: every run writes its results into its own folder")
    return chosen


def new_folder(runs_dir: Path, name: str) -> Path:
    """Creates ``runs_dir/name`` (or ``name-2``, ``name-3``, ... if taken); never returns an existing folder."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    for attempt in itertools.count(1):
        folder = runs_dir / (name if attempt == 1 else f"{name}-{attempt}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def run_name(stem: str, parameters: dict, kind: str = "") -> str:
    """``<chapter>[-<kind>]-<UTC time>-<hash of the parameters>``."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha1(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return "-".join(p for p in (stem, kind, stamp, digest) if p)


def run_chapter(notebook: Path, parameters: dict, folder: Path, log=print) -> Path:
    """Executes the chapter into ``folder`` (notebook and results file side by side); returns the results file."""
    execute_chapter(notebook, folder, folder.resolve(), parameters, log)
    return folder / f"{notebook.stem}.json"


def run(notebook: Path, parameters: dict, runs_dir: Path = Path("runs"), log=print) -> Path:
    """One run in a new folder under ``runs_dir``; returns the folder. Values are checked before it is made."""
    check_values(notebook, parameters)
    folder = new_folder(Path(runs_dir), run_name(notebook.stem, parameters))
    log(f"[{notebook.stem}] run folder {folder}")
    try:
        run_chapter(notebook, parameters, folder, log)
    except ChapterInterrupted as error:
        raise ChapterInterrupted(str(error).replace(str(folder), str(mark_interrupted(folder)))) from None
    return folder


def mark_interrupted(folder: Path) -> Path:
    """Renames an interrupted run's folder ``<name>-interrupted`` (a free name), so no one takes it for a result."""
    for attempt in itertools.count(1):
        target = folder.with_name(f"{folder.name}-interrupted" + (f"-{attempt}" if attempt > 1 else ""))
        if not target.exists():
            folder.rename(target)
            return target


def _label(point: dict) -> str:
    text = "_".join(f"{name}={value}" for name, value in point.items())
    return re.sub(r"[^A-Za-z0-9.=_-]+", "-", text) or "defaults"


@dataclasses.dataclass
class Sweep:
    """What a sweep did: the table of the points that ran, and one line for each point that did not."""

    table: Path
    points: int
    invalid: list[str]
    failed: list[str]

    @property
    def ran(self) -> int:
        return self.points - len(self.invalid) - len(self.failed)


def sweep(
    notebook: Path,
    grid: dict,
    fixed: dict,
    runs_dir: Path = Path("runs"),
    log=print,
    workers: int = 1,
    scheduler: str | None = None,
) -> Sweep:
    """Runs every valid combination of ``grid`` (name -> list of values) with ``fixed``.

    Every point is checked before the first one runs; a point the parameter table refuses is listed
    and skipped, a point that fails while running is listed and the others still run. The table,
    ``metrics.csv`` in the sweep folder, holds every metric row of every point that ran, with the
    point's folder and values in front, in the order of the points. With ``workers`` > 1 the points run
    side by side on a Dask LocalCluster, with ``scheduler`` on the Dask cluster at that address
    (``ksc/book/cluster.py``); each point's folder then appears whole, when its run has finished.
    """
    if not grid or not all(grid.values()):
        raise ParameterError(f"every swept parameter needs at least one value: {grid}")
    cluster.check_workers(workers, scheduler)
    chapter_defaults = defaults(notebook)
    varying = [name for name, values in grid.items() if len(values) > 1]
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    label = lambda number, point: f"point {number}/{len(points)} ({_label({n: point[n] for n in varying})})"
    valid, invalid = [], []
    for number, point in enumerate(points, 1):
        try:
            check_values(notebook, {**fixed, **point}, chapter_defaults)
            valid.append((number, point))
        except ParameterError as error:
            invalid.append(f"{label(number, point)} not run: {error}")
    if not valid:
        raise ParameterError(f"no point of the sweep is valid; {invalid[0]}")
    folder = new_folder(Path(runs_dir), run_name(notebook.stem, {**fixed, **grid}, "sweep"))
    where = f" on the Dask cluster at {scheduler}" if scheduler else (f" on {workers} workers" if workers > 1 else "")
    log(
        f"[{notebook.stem}] sweep of {len(valid)} runs in {folder}{where}"
        + (f" ({len(invalid)} invalid)" if invalid else "")
    )
    for line in invalid:
        log(f"[{notebook.stem}] {line}")
    named = [
        (label(number, point), point, f"{number:02d}-{_label({n: point[n] for n in varying})}")
        for number, point in valid
    ]
    path = folder / "metrics.csv"
    if workers > 1 or scheduler:
        tables, failed = _sweep_on_cluster(notebook, named, fixed, folder, workers, scheduler, log)
        _write_table(tables, path)
        return Sweep(path, len(points), invalid, failed)
    tables, failed = [], []
    for (name, point, point_name), (number, _) in zip(named, valid):
        point_folder = folder / point_name
        point_folder.mkdir()
        log(f"[{notebook.stem}] run {number}/{len(points)}: {point}")
        try:
            results = run_chapter(notebook, {**fixed, **point}, point_folder, log)
        except ChapterFailed as error:
            failed.append(f"{name} failed: {error}")
            log(f"[{notebook.stem}] {failed[-1]}")
            continue
        except ChapterInterrupted as error:
            _write_table(tables, path)
            marked = mark_interrupted(folder)
            raise ChapterInterrupted(
                f"{str(error).replace(str(folder), str(marked))}; the {len(tables)} runs before it are in "
                f"{marked / path.name}"
            ) from None
        tables.append(point_table(results, point_folder.name, point))
    _write_table(tables, path)
    return Sweep(path, len(points), invalid, failed)


def write_folder(target: Path, files: dict) -> Path:
    """Writes ``files`` (name -> bytes) into the new folder ``target`` at once: into a hidden folder beside it,
    renamed to ``target`` when every file is written, so no half-written folder ever carries its name."""
    partial = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    partial.mkdir()
    for name, data in files.items():
        write_atomic(partial / name, data)
    partial.rename(target)  # fails, and leaves the hidden folder, if target exists: a point never overwrites
    return target


def _sweep_on_cluster(notebook: Path, named: list, fixed: dict, folder: Path, workers, scheduler, log):
    """The points as Dask tasks; each finished point's folder written here. Returns (tables, failure lines)."""
    text = notebook.read_text()
    task_list = [tasks.Task(name, notebook.stem, text, {**fixed, **point}) for name, point, _ in named]
    by_name = {name: (point, point_name) for name, point, point_name in named}
    tables, failed = {}, []

    def write(outcome):
        point, point_name = by_name[outcome.name]
        target = folder / point_name
        if outcome.ok:
            write_folder(target, {f"{notebook.stem}.ipynb": outcome.notebook, **outcome.files})
            tables[point_name] = point_table(target / f"{notebook.stem}.json", point_name, point)
            return
        kept = {f"{notebook.stem}.failed.ipynb": outcome.notebook} if outcome.notebook else {}
        write_folder(target, kept)
        where = f" (notebook: {target / next(iter(kept))})" if kept else ""
        failed.append(f"{outcome.name} failed: {outcome.error}{where}")

    try:
        with cluster.connect(workers, scheduler) as client:
            cluster.run_all(client, task_list, write, notebook.stem, log)
    except KeyboardInterrupt:
        done = [tables[p] for _, _, p in named if p in tables]
        _write_table(done, folder / "metrics.csv")
        marked = mark_interrupted(folder)
        raise ChapterInterrupted(
            f"sweep interrupted; its unfinished points were cancelled; the {len(done)} points that finished are "
            f"in {marked / 'metrics.csv'}"
        ) from None
    return [tables[p] for _, _, p in named if p in tables], failed


def _write_table(tables, path: Path):
    (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()).to_csv(path, index=False)


def point_table(results: Path, name: str, point: dict) -> pd.DataFrame:
    """The metric rows of one results file, with the run's folder and swept values as the first columns."""
    metrics = read_results(results)["metrics"]
    columns = {"run": name, **{(n if n not in metrics.columns else f"{n} (parameter)"): v for n, v in point.items()}}
    for position, (column, value) in enumerate(columns.items()):
        metrics.insert(position, column, [value] * len(metrics))
    return metrics
