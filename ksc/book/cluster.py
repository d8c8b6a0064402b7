"""Many notebook executions at once on Dask distributed: a LocalCluster of worker processes on this machine
(``--workers N``), or an existing cluster by its scheduler's address (``--scheduler tcp://host:8786``).

Each execution is a :class:`~ksc.book.tasks.Task` that a worker runs with papermill in a folder of its own and
returns as an :class:`~ksc.book.tasks.Outcome`; the caller writes it (``ksc/book/runs.py``, ``ksc/book/build.py``).
Workers need ksc installed, not this machine's files.

- Threads: a LocalCluster worker is one process with one task slot. Each task runs TensorFlow with one intra-op
  and one inter-op thread (``ksc/__init__.py``) and BLAS/XLA with the host's cores divided by the task slots of
  all workers on that host (at least one), so workers x threads stays within the cores.
- Faults: a task whose worker dies is run again on another worker by the scheduler (up to its
  ``distributed.scheduler.allowed-failures``, 3 by default); nothing is written until a task's outcome reaches
  this process, so a lost task leaves no files. A failing notebook is an outcome like any other: its one line is
  reported and the other tasks go on.
- Progress: one line per finished task and a live line of tasks done, running and failed with the time elapsed
  (redrawn in a terminal; printed every ``every`` seconds and on each change otherwise).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import threading
import time
import uuid
from collections import defaultdict

from ksc.book import tasks
from ksc.book.parameters import ParameterError

CONNECT_TIMEOUT = "30s"  # how long a client waits for an existing scheduler to answer


@contextlib.contextmanager
def connect(workers: int = 1, scheduler: str | None = None):
    """A Dask client: to the cluster at ``scheduler``, or to a new LocalCluster of ``workers`` processes with one
    thread each; closed (and a LocalCluster stopped) on leaving."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError, TypeError) as error:  # nothing answers there, or the address is not one
            raise RuntimeError(
                f"scheduler = {scheduler!r}: no Dask scheduler answered there within {CONNECT_TIMEOUT} "
                f"({type(error).__name__}: {_first_line(error)}); an address looks like tcp://host:8786"
            ) from None
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    with cluster, Client(cluster) as client:
        yield client


def threads_per_task(client) -> dict:
    """Host -> the math threads each task there gets: the host's cores divided by its workers' task slots."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(tasks.cores, on_error="ignore")
    slots, host_cores = defaultdict(int), {}
    for address, info in workers.items():
        slots[info["host"]] += info["nthreads"]
        host_cores[info["host"]] = cores.get(address, 1) if isinstance(cores.get(address), int) else 1
    return {host: max(1, host_cores[host] // slots[host]) for host in slots}


def execute_on_worker(task: tasks.Task, threads_by_host: dict) -> tasks.Outcome:
    """The function a worker runs: the task, with the math threads its host was given (one if it joined later)."""
    from distributed import get_worker
    from distributed.comm import get_address_host

    return tasks.execute(task, threads_by_host.get(get_address_host(get_worker().address), 1))


def _executing(dask_worker) -> list:
    """The keys a worker is executing now (called on every worker by ``Client.run``)."""
    return [state.key for state in dask_worker.state.executing]


def elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else (f"{seconds // 60}:{seconds % 60:02d}")
    )


class Board:
    """The live line of a set of tasks, and a one-line report of each finished one."""

    def __init__(self, label: str, total: int, log=print, running=lambda: 0, every: float = 30.0, live=None):
        self.label, self.total, self.log, self.count_running, self.every = label, total, log, running, every
        self.live = sys.stdout.isatty() if live is None else live
        self.done = self.failed = 0
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._printed, self._shown = self.started, None
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._refresh, daemon=True)

    def _running(self):
        try:
            return self.count_running()
        except Exception:  # the scheduler is busy or a worker just left; the next refresh counts again
            return "?"

    def line(self, running=None) -> str:
        running = self._running() if running is None else running
        return (
            f"[{self.label}] {self.done + self.failed}/{self.total} finished ({self.done} done, {self.failed} failed), "
            f"{running} running, {elapsed(time.perf_counter() - self.started)} elapsed"
        )

    def _show(self, text: str, state=None):
        if self.live:
            sys.stdout.write("\r\033[K" + text)
            sys.stdout.flush()
        else:
            self.log(text)
        self._printed, self._shown = time.perf_counter(), state

    def _refresh(self):
        while not self._wake.wait(2.0 if self.live else 5.0):
            running = self._running()
            with self._lock:
                state = (self.done, self.failed, running)
                if self.live or state != self._shown or time.perf_counter() - self._printed >= self.every:
                    self._show(self.line(running), state)

    def start(self):
        self._show(self.line())
        self._thread.start()
        return self

    def finished(self, outcome: tasks.Outcome):
        with self._lock:
            if outcome.ok:
                self.done += 1
            else:
                self.failed += 1
            where = f" on {outcome.worker}" if outcome.worker else ""
            took = f" in {outcome.seconds:.1f} s" if math.isfinite(outcome.seconds) else ""
            report = f"done{took}{where}" if outcome.ok else f"failed{took}{where}: {outcome.error}"
            if self.live:
                sys.stdout.write("\r\033[K")
            self.log(f"[{self.label}] {outcome.name} {report}")
            running = self._running()
            self._show(self.line(running), (self.done, self.failed, running))

    def stop(self):
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.live:
            sys.stdout.write("\n")


def task_slots(client) -> int:
    """How many tasks the cluster can run at once now: its workers' threads (at least one)."""
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # the scheduler is busy or a worker just left: one at a time until the next count
        return 1


def run_all(client, task_list: list, on_outcome, label: str, log=print) -> list:
    """Runs every task on the cluster, starting them in the order of ``task_list``; ``on_outcome(outcome)`` is
    called here as each one finishes (in the order they finish). Returns the outcomes in the order of ``task_list``.
    A task whose workers all died (Dask's KilledWorker) or that could not run at all is a failed outcome; Ctrl-C
    cancels the tasks not yet finished.

    Only as many tasks as the cluster has free task slots are submitted; the next one goes in as one finishes.
    Dask would otherwise hand every task to a worker when it is submitted, so that a worker that finishes early
    could sit idle while another worker's queue waits, and the order of ``task_list`` (the costliest chapter first,
    ``ksc build``) would not be the order tasks start in."""
    from distributed import as_completed

    threads_by_host = threads_per_task(client)
    token = uuid.uuid4().hex[:8]
    keys = [f"ksc-{token}-{number}-{task.stem}" for number, task in enumerate(task_list)]
    by_key = dict(zip(keys, task_list))
    waiting = list(keys)
    futures = []

    def submit(done=None):
        key = waiting.pop(0)
        future = client.submit(execute_on_worker, by_key[key], threads_by_host, key=key, pure=False)
        futures.append(future)
        if done is not None:
            done.add(future)
        return future

    ours = set(keys)
    running = lambda: sum(
        len(ours.intersection(found))
        for found in client.run(_executing, on_error="ignore").values()
        if isinstance(found, list)
    )
    board = Board(label, len(task_list), log, running).start()
    outcomes = {}
    try:
        first = [submit() for _ in range(min(task_slots(client), len(waiting)))]
        done = as_completed(first)
        for future in done:
            task = by_key[future.key]
            try:
                outcome = future.result()
            except Exception as error:  # KilledWorker, or the task could not be sent or unpickled
                outcome = tasks.Outcome(
                    task.name, task.stem, False, None, {}, f"{type(error).__name__}: {_first_line(error)}", math.nan, ""
                )
            future.release()
            in_flight = len(futures) - len(outcomes) - 1
            while waiting and in_flight < task_slots(client):
                submit(done)
                in_flight += 1
            on_outcome(outcome)
            outcomes[future.key] = outcome
            board.finished(outcome)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        board.stop()
    return [outcomes[key] for key in keys]


def _first_line(error, width: int = 300) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return text if len(text) <= width else text[: width - 1] + "…"


def check_workers(workers, scheduler) -> None:
    """``workers``: a whole number from 1 to this machine's cores; with ``scheduler`` the cluster has its own."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= tasks.cores():
        raise ParameterError(
            f"workers = {workers!r} is not allowed: a whole number from 1 to this machine's {tasks.cores()} cores "
            "(for more, start a Dask cluster and pass its address with --scheduler)"
        )
    if scheduler is not None and (workers != 1 or not str(scheduler).strip()):
        raise ParameterError(
            f"scheduler = {scheduler!r} with workers = {workers!r} is not allowed: the cluster at a scheduler's "
            "address has its own workers; give one of the two, the address as tcp://host:port"
        )
