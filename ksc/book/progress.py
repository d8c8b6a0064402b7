"""Progress of a papermill run: a short line when each code cell starts, and a reminder while a long one runs.

papermill's nbclient engine calls ``cell_start`` on its execution manager before every cell; the
engine registered here as ``ksc`` wraps that hook and hands the cell to :class:`Progress`, and starts
the kernel on Unix sockets.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.manager import KernelManager
from papermill.engines import NBClientEngine, papermill_engines

ENGINE = "ksc"


def first_line(source: str, width: int = 60) -> str:
    """The first line of code that is not a comment, shortened to ``width`` characters."""
    line = next((s.strip() for s in source.splitlines() if s.strip() and not s.strip().startswith("#")), "")
    return line if len(line) <= width else line[: width - 1] + "…"


class Progress:
    """Reports one chapter's cells to ``log``; ``every`` seconds into a cell it says the cell is still running."""

    def __init__(self, chapter: str, log=print, every: float = 60.0):
        self.chapter, self.log, self.every = chapter, log, every
        self.started = time.perf_counter()
        self._cell = None
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._remind, daemon=True)
        self._thread.start()

    def elapsed(self) -> str:
        seconds = int(time.perf_counter() - self.started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def cell_started(self, number: int, total: int, source: str):
        self._cell = (number, total, time.perf_counter())
        self.log(f"[{self.chapter}] {self.elapsed()} cell {number}/{total}: {first_line(source)}")

    def _remind(self):
        while not self._wake.wait(self.every):
            if self._cell is not None:
                number, total, since = self._cell
                if time.perf_counter() - since >= self.every:
                    self.log(f"[{self.chapter}] {self.elapsed()} cell {number}/{total} still running")

    def stop(self):
        self._wake.set()
        self._thread.join()


class ProgressEngine(NBClientEngine):
    """papermill's default engine, calling ``on_cell(number, total, source)`` before each code cell."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, on_cell=None, **kwargs):
        if on_cell is not None:
            cell_start = nb_man.cell_start

            def reporting_cell_start(cell, cell_index=None, **more):
                if cell.cell_type == "code":
                    on_cell(cell_index + 1, len(nb_man.nb.cells), cell.source)
                return cell_start(cell, cell_index, **more)

            nb_man.cell_start = reporting_cell_start
        # The kernel talks to us over Unix sockets in a private folder, not unencrypted TCP (which it warns about).
        with tempfile.TemporaryDirectory(prefix="ksc-kernel-") as folder:
            km = KernelManager(kernel_name=kernel_name, transport="ipc", ip=str(Path(folder) / "kernel"))
            try:
                return super().execute_managed_notebook(nb_man, kernel_name, km=km, **kwargs)
            finally:  # a kernel manager passed in is ours to shut down, on success, error or Ctrl-C
                if km.has_kernel:
                    km.shutdown_kernel(now=True)


papermill_engines.register(ENGINE, ProgressEngine)
