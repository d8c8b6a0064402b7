"""Executing the chapters with papermill and rendering them with Jupyter Book 1.

The book's own build runs in place: executed notebooks go to ``book/chapters/``, their results
files to ``book/results/`` and the website to ``_build/html/``. A build with ``out`` set executes
into ``out/src/book/`` and renders into ``out/_build/html`` instead (the tests do this), so it never
touches the book's own results.

Jupyter Book renders from a folder laid out like the repository, ``<output>/_build/site``: the
configuration, ``book/`` and the executed chapters at ``notebooks/<chapter>.ipynb``. A page's
launch button therefore opens the committed source notebook of the same path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from ksc.book import cluster, tasks
from ksc.book.display import chapter_times
from ksc.book.execute import ChapterFailed, ChapterInterrupted, execute_chapter
from ksc.book.notebooks import ROOT, chapters, check_values, load_parameter_file, notebook_parameters, parameters_for
from ksc.book.parameters import ParameterError
from ksc.runtime.atomic import write_atomic
from ksc.runtime.budgets import costliest_first
from ksc.runtime.results import chapter_results

BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
# what the intro shows when the ledger chapter did not run in this build (it writes results/findings.md)
NO_FINDINGS = "*The ledger chapter was not run in this build, so there are no verdicts to summarise here.*\n"
# chapters numbered from here on read the results of the chapters before them (the ledger, the Performance page);
# the chapters before it read none but their own
BACK_MATTER = "90"


def assemble_site(work: Path, site: Path, root: Path = ROOT) -> Path:
    """The folder Jupyter Book renders: the book's sources, and the executed chapters at notebooks/<stem>.ipynb."""
    if site.exists():
        shutil.rmtree(site)
    for name in BOOK_SOURCES:
        origin, target = root / name, site / name
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("chapters", "results", ".*"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    stems = [nb.stem for nb in chapters(root)]
    (site / "notebooks").mkdir()
    for stem in stems:
        executed = work / "book" / "chapters" / f"{stem}.ipynb"
        if executed.exists():
            shutil.copy2(executed, site / "notebooks" / executed.name)
    (site / "book" / "chapter_times.md").write_text(chapter_times(work / "book" / "results", stems))
    findings = work / "book" / "results" / "findings.md"
    (site / "book" / "findings.md").write_text(findings.read_text() if findings.exists() else NO_FINDINGS)
    return site


def render(site_root: Path, output: Path) -> Path:
    """Jupyter Book 1 HTML build; any Sphinx warning fails it."""
    jb = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jb) if jb.exists() else "jupyter-book",
        "build",
        str(site_root),
        "--path-output",
        str(output),
        "--warningiserror",
        "--keep-going",
        "--all",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"jupyter-book build failed (exit {done.returncode}):\n{tail}")
    return output / "_build" / "html" / "index.html"


def build(
    out: Path | None = None,
    parameter_file=None,
    only=None,
    root: Path = ROOT,
    log=print,
    workers: int = 1,
    scheduler: str | None = None,
) -> Path:
    """Executes every chapter (or those in ``only``) and renders the website; returns index.html's path.

    With ``workers`` > 1 (a Dask LocalCluster) or ``scheduler`` (an existing Dask cluster) the chapters run side
    by side, then the back matter (the ledger, then the Performance page) one at a time: :func:`stages`.
    """
    cluster.check_workers(workers, scheduler)
    output = root if out is None else Path(out).resolve()
    work = root if out is None else output / "src"
    file_params = load_parameter_file(parameter_file) if parameter_file else {}
    sections = {nb.stem for nb in chapters(root)} | {"all"}
    if set(file_params) - sections:
        raise ParameterError(
            f"parameter file {parameter_file}: {sorted(set(file_params) - sections)[0]} is not a chapter; "
            f"its sections are chapter stems and all"
        )
    selected = [nb for nb in chapters(root) if not only or nb.stem in only]
    if only and len(selected) != len(set(only)):
        raise ParameterError(f"only = {sorted(only)} is not allowed: chapters are {[nb.stem for nb in chapters(root)]}")
    plan = [(nb, parameters_for(nb.stem, file_params, notebook_parameters(nb))) for nb in selected]
    for notebook, params in plan:  # every chapter's values checked before the first one runs
        check_values(notebook, params)
    start = time.perf_counter()
    if workers > 1 or scheduler:
        execute_on_cluster(plan, work / "book" / "chapters", work / "book" / "results", workers, scheduler, log)
    else:
        for notebook, params in plan:
            execute_chapter(notebook, work / "book" / "chapters", work / "book" / "results", params, log)
    log(f"all chapters executed in {time.perf_counter() - start:.1f} s; rendering")
    if not file_params:  # at the paper's defaults every claim a chapter selects must get a measurement
        problems = audit(work / "book" / "results", [nb.stem for nb, _ in plan])
        if problems:
            raise ChapterFailed("evidence missing at the paper's defaults: " + "; ".join(problems))
    start = time.perf_counter()
    index = render(assemble_site(work, output / "_build" / "site", root), output)
    log(f"website rendered in {time.perf_counter() - start:.1f} s: {index}")
    return index


def stages(stems: list[str], budgets: dict[str, float] | None = None) -> list[list[str]]:
    """The order of a parallel build: every chapter at once, the largest budget first (``ksc/runtime/budgets.csv``:
    with two workers, a long chapter started last would run alone at the end), then each back-matter chapter alone,
    in book order (the ledger reads every chapter's results; the Performance page reads them all, the ledger's too). The
    Training speed page (89) reads none, so it runs beside the chapters."""
    front = costliest_first([stem for stem in stems if stem[:2] < BACK_MATTER], budgets)
    back = [[stem] for stem in stems if stem[:2] >= BACK_MATTER]
    return ([front] if front else []) + back


def execute_on_cluster(plan, chapters_dir: Path, results_dir: Path, workers, scheduler, log=print) -> None:
    """:func:`execute_chapter` for every chapter of ``plan`` as Dask tasks, stage by stage; each outcome is
    written here as it arrives (the notebook and the results files, each atomically). The chapters of a stage
    all finish, then a failure stops the build with one line per failed chapter."""
    by_stem = dict((nb.stem, (nb, params)) for nb, params in plan)
    chapters_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)

    def write(outcome):
        if not outcome.ok:
            if outcome.notebook:
                write_atomic(chapters_dir / f"{outcome.stem}.failed.ipynb", outcome.notebook)
            return
        for name, data in outcome.files.items():
            write_atomic(results_dir / name, data)
        write_atomic(chapters_dir / f"{outcome.stem}.ipynb", outcome.notebook)
        for stale in ("failed", "interrupted"):
            (chapters_dir / f"{outcome.stem}.{stale}.ipynb").unlink(missing_ok=True)

    try:
        with cluster.connect(workers, scheduler) as client:
            for stage in stages(list(by_stem)):
                back_matter = stage[0][:2] >= BACK_MATTER
                inputs = (
                    {p.name: p.read_bytes() for p in sorted(results_dir.iterdir()) if p.is_file() and p.name[0] != "."}
                    if back_matter
                    else {}
                )
                task_list = [
                    tasks.Task(stem, stem, by_stem[stem][0].read_text(), by_stem[stem][1], "../results", inputs)
                    for stem in stage
                ]
                failed = [o for o in cluster.run_all(client, task_list, write, "build", log) if not o.ok]
                if failed:
                    raise ChapterFailed("; ".join(_failure(o, chapters_dir) for o in failed))
    except KeyboardInterrupt:
        raise ChapterInterrupted(
            "the build was interrupted: its unfinished chapters were cancelled; those that finished are written"
        ) from None


def _failure(outcome, chapters_dir: Path) -> str:
    """One line: the chapter, what failed, and where its partly executed notebook is."""
    line = outcome.error if outcome.error.startswith(outcome.stem) else f"{outcome.stem}: {outcome.error}"
    return line + (f" (notebook: {chapters_dir / f'{outcome.stem}.failed.ipynb'})" if outcome.notebook else "")


def audit(results_dir: Path, stems) -> list[str]:
    """Chapters without a results file, claims a chapter selected but did not measure, and conclusions the ledger
    could not judge (at the paper's defaults every chapter ran, so *not measured* means evidence went missing)."""
    problems = []
    for stem in stems:
        record = chapter_results(results_dir, stem, missing_ok=True)
        if record is None:
            problems.append(f"{stem}: no results file")
            continue
        claims = record["claims"]
        if not claims.empty:
            problems += [f"{stem}: {claim_id}" for claim_id in claims.id[claims.verdict == "not measured"]]
        judged = record["tables"].get("conclusions")
        if judged is not None and not judged.empty:
            unjudged = judged[judged.verdict == "not measured"]
            problems += [f"{stem}: conclusion {r.id} not measured ({r.why})" for r in unjudged.itertuples()]
    return problems
