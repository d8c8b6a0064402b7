"""One notebook execution as a self-contained task: what a Dask worker runs, using nothing of the client's disk.

The client sends a :class:`Task`: the notebook's JSON, its parameters, where its results go relative to its own
folder (``.`` in a run folder, ``../results`` in the book) and the results files it reads (the ledger and the
Performance page read the chapters before them). The worker executes it with papermill in a temporary folder
laid out as the client's, so the executed notebook is the one a serial run gives, and returns an
:class:`Outcome`: the executed notebook and every results file the run wrote, or the failed notebook and one
line saying why. Writing them is the client's job (``ksc/book/cluster.py``).

Math threads: TensorFlow runs one intra-op and one inter-op thread anyway (``ksc/__init__.py``); BLAS (numpy,
scipy, scikit-learn) and XLA on the CPU get ``threads`` each, so that tasks x threads stays within a machine's
cores. The limits are set in the worker's environment before the notebook's kernel starts, which inherits them.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
import time
from pathlib import Path

from ksc.book.execute import ChapterFailed, ChapterInterrupted, execute_chapter

# every variable a math library of the stack reads for its thread count (OpenBLAS, MKL, OpenMP, Apple's BLAS)
BLAS_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@dataclasses.dataclass
class Task:
    """One notebook to execute: ``name`` says which (a chapter stem, or a sweep point) in progress lines."""

    name: str
    stem: str
    notebook: str  # the source notebook's JSON
    parameters: dict
    results_rel: str = "."  # the results folder relative to the executed notebook's folder: "." or "../results"
    inputs: dict = dataclasses.field(default_factory=dict)  # results-folder file name -> bytes the notebook reads


@dataclasses.dataclass
class Outcome:
    """What a task gave: ``ok`` with the executed notebook and the written results files, or ``error`` (one line)."""

    name: str
    stem: str
    ok: bool
    notebook: bytes | None  # executed notebook, or the partly executed one of a failed run (None if none was made)
    files: dict  # results-folder file name -> bytes, every file the run wrote or changed
    error: str
    seconds: float
    worker: str  # host and process id


def thread_limits(threads: int) -> dict:
    """The environment that gives BLAS and XLA ``threads`` threads (TensorFlow's own stay at one each)."""
    limits = {name: str(threads) for name in BLAS_THREAD_VARIABLES}
    limits["TF_NUM_INTRAOP_THREADS"] = limits["TF_NUM_INTEROP_THREADS"] = "1"
    # XLA (JAX on the CPU) has no flag for a thread count: "--xla_cpu_multi_thread_eigen=false" keeps its matrix
    # products on one thread, and the word "intra_op_parallelism_threads=N" of a common recipe is not a flag at
    # all (XLA stops reading XLA_FLAGS at it, so it is not added). A user's own setting of that flag wins.
    xla = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in xla:
        limits["XLA_FLAGS"] = f"{xla} --xla_cpu_multi_thread_eigen=false".strip()
    return limits


def cores() -> int:
    """The cores this process may use (its CPU affinity where the system says, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def execute(task: Task, threads: int = 1) -> Outcome:
    """Runs ``task`` with papermill in a temporary folder with ``threads`` math threads; never raises for a
    failing notebook (the outcome says why), so that a failure is not mistaken for a lost worker."""
    os.environ.update(thread_limits(max(1, int(threads))))
    start = time.perf_counter()
    worker = f"{socket.gethostname()} pid {os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="ksc-task-") as folder:
        root = Path(folder)
        source = root / "notebooks" / f"{task.stem}.ipynb"
        chapter_dir = root / "book" / "chapters"
        results = Path(os.path.normpath(chapter_dir / task.results_rel))
        if root not in results.parents and results != chapter_dir:
            raise ValueError(f"results_rel = {task.results_rel!r} leaves the task's folder; allowed: . or ../results")
        source.parent.mkdir(parents=True)
        source.write_text(task.notebook)
        results.mkdir(parents=True, exist_ok=True)
        for name, data in task.inputs.items():
            (results / name).write_bytes(data)
        try:  # its cell-by-cell progress stays here: the client reports each task in one line
            executed = execute_chapter(source, chapter_dir, results, task.parameters, log=lambda *args: None)
        except (ChapterFailed, ChapterInterrupted) as error:
            failed = next(chapter_dir.glob(f"{task.stem}.*.ipynb"), None)
            message = str(error).split(" (notebook: ")[0]  # the client names its own copy of the notebook
            return Outcome(
                task.name,
                task.stem,
                False,
                failed.read_bytes() if failed else None,
                {},
                message,
                time.perf_counter() - start,
                worker,
            )
        written = {
            path.name: path.read_bytes()
            for path in sorted(results.iterdir())
            if path.is_file()
            and path.suffix != ".ipynb"
            and not path.name.startswith(".")
            and task.inputs.get(path.name) != path.read_bytes()
        }
        return Outcome(
            task.name, task.stem, True, executed.read_bytes(), written, "", time.perf_counter() - start, worker
        )
