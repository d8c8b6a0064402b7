"""Every battery on a stream as one task, run in worker processes while the next streams are made.

:class:`Runner` takes streams as they are made (:meth:`Runner.submit`) and runs NIST SP 800-22, dieharder and ent on
each in one task (:func:`test_one`); with ``processes`` > 1 the tasks run in that many worker processes (started
fresh, so they never inherit TensorFlow's threads), so the batteries work while the main process trains models and
encodes images. The numbers do not depend on the number of processes or on the order the tasks finish in.
:func:`tested` reads the results into a :class:`Tested`: NIST's verdicts, dieharder's calibrated tests, ent's block
verdicts; :func:`battery_passes` is one stream's verdict per battery.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.randomness import batteries, nist

NIST, DIEHARDER, ENT = "NIST SP 800-22", "dieharder", "ent"
ALL = (NIST, DIEHARDER, ENT)


def test_one(task: tuple) -> dict:
    """One stream through the batteries asked for. ``task``: (packed bytes, number of bits, bits per NIST sequence,
    ent blocks, batteries, whether to run the external programs). Returns NIST's first-level p-values (sequences x
    188), dieharder's table and ent's whole-stream report and block p-values (None where not run), and the seconds
    each battery took."""
    packed, n_bits, sequence_bits, ent_blocks, wanted, external = task
    out = {"nist": None, "dieharder": None, "ent": None, "ent_blocks": None, "seconds": {}, "n_bits": n_bits}
    if NIST in wanted:
        start = time.perf_counter()
        bits = np.unpackbits(packed)[:n_bits]
        out["nist"] = nist._stream_pvalues((bits, n_bits // sequence_bits, sequence_bits))
        out["seconds"][NIST] = time.perf_counter() - start
    run_dieharder = external and DIEHARDER in wanted and batteries.available("dieharder")
    run_ent = external and ENT in wanted and batteries.available("ent")
    if (run_dieharder or run_ent) and n_bits >= 8:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "stream.bin"
            path.write_bytes(packed.tobytes())
            if run_dieharder:
                start = time.perf_counter()
                out["dieharder"] = batteries.dieharder(path)
                out["seconds"][DIEHARDER] = time.perf_counter() - start
            if run_ent:
                start = time.perf_counter()
                out["ent"] = batteries.ent(path)
                out["ent_blocks"] = batteries.ent_block_pvalues(packed, ent_blocks, Path(folder))
                out["seconds"][ENT] = time.perf_counter() - start
    return out


class Runner:
    """Streams in, battery results out: ``submit`` each stream when it is made, ``results`` when all are in."""

    def __init__(self, sequence_bits: int, processes: int = 1, ent_blocks: int = 10, external: bool = True):
        self.sequence_bits, self.ent_blocks, self.external = int(sequence_bits), int(ent_blocks), bool(external)
        self.processes = max(int(processes), 1)
        self._pool = (
            ProcessPoolExecutor(self.processes, mp_context=get_context("spawn")) if self.processes > 1 else None
        )
        self._tasks: dict = {}
        self.bits: dict = {}  # key -> bits submitted

    def submit(self, key, bits: np.ndarray, wanted=ALL) -> None:
        """Queue one stream (0/1 values) for the batteries in ``wanted``; it runs now where there are no workers."""
        task = (np.packbits(np.asarray(bits, np.uint8)), len(bits), self.sequence_bits, self.ent_blocks, tuple(wanted))
        task += (self.external,)
        self.bits[key] = len(bits)
        self._tasks[key] = self._pool.submit(test_one, task) if self._pool else test_one(task)

    def results(self) -> dict:
        """key -> :func:`test_one`'s result for every stream submitted (waits for them), in the order submitted; the
        worker processes are shut down."""
        out = {key: task.result() if isinstance(task, Future) else task for key, task in self._tasks.items()}
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class Tested(NamedTuple):
    """What the batteries said of every stream."""

    nist_pvalues: dict  # key -> (sequences, 188) first-level p-values
    nist: dict  # key -> nist.stream_verdict
    dieharder: dict  # key -> dieharder table, calibrated p-values only (absent when not run)
    dieharder_left_out: list  # dieharder tests not calibrated: they decide nothing for any stream
    ent: dict  # key -> ent's report of the whole stream (absent when not run)
    seconds: dict  # battery -> seconds (every task's, over the worker processes)
    sequence_bits: int  # bits per NIST sequence
    ent_blocks: dict | None = None  # key -> ent's block table (block, chi_square, p)
    ent_verdicts: dict | None = None  # key -> batteries.ent_block_verdict
    calibration: pd.DataFrame | None = None  # batteries.calibrated_tests of the PCG64 calibration streams
    dieharder_all: dict | None = None  # key -> dieharder's whole table, with a ``calibrated`` column
    bits: dict | None = None  # battery -> bits it tested, over every task


def tested(results: dict, keys, calibration=(), sequence_bits: int = 10**6, processes: int = 1) -> Tested:
    """What the batteries said of the streams ``keys`` (a :class:`~ksc.randomness.runner.Runner`'s ``results``):
    dieharder's p-values kept only where calibrated on the streams ``calibration`` (none calibrated without them),
    ent judged on its blocks. Seconds and bits are every task's in ``results``; seconds are summed over the tasks and
    divided by ``processes`` (the wall time with every worker busy)."""
    calibrated = batteries.calibrated_tests(
        [results[key]["dieharder"] for key in calibration if results[key]["dieharder"] is not None]
    )
    left_out = calibrated.test[~calibrated.calibrated.astype(bool)].tolist()
    pvalues, verdicts, diehard, diehard_all, ent, blocks, ent_verdicts = {}, {}, {}, {}, {}, {}, {}
    for key in keys:
        result = results[key]
        if result["nist"] is not None:
            pvalues[key] = result["nist"]
            verdicts[key] = nist.stream_verdict(result["nist"])
        table = result["dieharder"]
        if table is not None:
            good = batteries.keep_calibrated(table, calibrated) if len(table) else table
            diehard[key] = good
            diehard_all[key] = table.assign(calibrated=table.test.isin(set(good.test)) if len(table) else [])
        if result["ent"] is not None:
            ent[key] = result["ent"]
            blocks[key] = result["ent_blocks"]
            ent_verdicts[key] = batteries.ent_block_verdict(result["ent_blocks"].p)
    seconds, bits = {}, {}
    for result in results.values():
        for battery, value in result["seconds"].items():
            seconds[battery] = seconds.get(battery, 0.0) + value / max(int(processes), 1)
            bits[battery] = bits.get(battery, 0) + int(result["n_bits"])
    return Tested(
        pvalues,
        verdicts,
        diehard,
        left_out,
        ent,
        seconds,
        int(sequence_bits),
        blocks,
        ent_verdicts,
        calibrated,
        diehard_all,
        bits,
    )


def battery_passes(tested: Tested, key) -> dict:
    """battery -> passes (True, False or None: not run, or nothing calibrated) of one stream."""
    v = tested.nist.get(key)
    table = tested.dieharder.get(key)
    d = batteries.dieharder_verdict(table) if table is not None and len(table) else None
    e = (tested.ent_verdicts or {}).get(key)
    return {
        NIST: v["passes"] if v and v["sequences"] else None,
        DIEHARDER: d["passes"] if d else None,
        ENT: e["passes"] if e else None,
    }
