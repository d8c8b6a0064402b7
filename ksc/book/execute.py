"""Executing one chapter with papermill into a folder: the step that ``ksc build``, ``ksc run``, ``ksc sweep`` and a
Dask worker's task all share. A failed or interrupted run keeps its partial notebook and never replaces an earlier
executed one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import papermill

from ksc.book.progress import ENGINE, Progress


class ChapterFailed(RuntimeError):
    """A chapter raised while it ran; the message names the chapter, the cell and the error."""


class ChapterInterrupted(Exception):
    """Ctrl-C (SIGINT) stopped a chapter; its kernel is shut down and its partial notebook kept, marked as such."""


def _first_error(nb) -> str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index + 1} of {len(nb.cells)} ({output.get('ename')}: {output.get('evalue')})"
    return ""


def _short(text, width: int = 200) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def execute_chapter(source: Path, dest_dir: Path, results_dir: Path, parameters: dict | None = None, log=print) -> Path:
    """Runs one notebook with papermill into ``dest_dir``; the earlier output stays until this one succeeds.

    A failed run leaves its partly executed notebook at ``dest_dir/<chapter>.failed.ipynb``, an
    interrupted one (Ctrl-C) at ``dest_dir/<chapter>.interrupted.ipynb``.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / source.name
    partial = dest_dir / f".{source.stem}.running.ipynb"
    failed = dest_dir / f"{source.stem}.failed.ipynb"
    interrupted = dest_dir / f"{source.stem}.interrupted.ipynb"
    # relative to the notebook's working folder, so the executed page shows no path of the machine that built it
    params = {**(parameters or {}), "results_dir": os.path.relpath(Path(results_dir).resolve(), dest_dir.resolve())}
    start = time.perf_counter()
    log(
        f"[{source.stem}] running with "
        + (", ".join(f"{k}={v}" for k, v in (parameters or {}).items()) or "the defaults")
    )
    progress = Progress(source.stem, log)
    try:
        papermill.execute_notebook(
            str(source),
            str(partial),
            parameters=params,
            cwd=str(dest_dir),
            progress_bar=False,
            kernel_name="python3",
            engine_name=ENGINE,
            on_cell=progress.cell_started,
        )
    except (KeyboardInterrupt, papermill.PapermillExecutionError) as error:
        # Ctrl-C in a terminal reaches the kernel too: then the cell fails with a KeyboardInterrupt
        if isinstance(error, KeyboardInterrupt) or error.ename == "KeyboardInterrupt":
            if partial.exists():
                partial.replace(interrupted)
            raise ChapterInterrupted(
                f"{source.stem} interrupted after {time.perf_counter() - start:.0f} s; its kernel is shut down "
                f"(partial notebook: {interrupted})"
            ) from None
        where = f"cell {error.cell_index + 1}" if error.cell_index is not None else "a cell"
        if partial.exists():
            partial.replace(failed)
        raise ChapterFailed(
            f"{source.stem} failed in {where}: {error.ename}: {_short(error.evalue)} (notebook: {failed})"
        ) from None
    finally:
        progress.stop()
    nb = nbformat.read(partial, as_version=4)
    problem = _first_error(nb)
    if problem:
        partial.replace(failed)
        raise ChapterFailed(f"{source.stem} has an error output in {problem} (notebook: {failed})")
    partial.replace(dest)
    failed.unlink(missing_ok=True)
    interrupted.unlink(missing_ok=True)
    log(f"[{source.stem}] done in {time.perf_counter() - start:.1f} s")
    return dest
