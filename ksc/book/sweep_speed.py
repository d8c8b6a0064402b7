"""Sweep speed: the same grid of chapter runs one after another and on a Dask LocalCluster, in one run.

``benchmarks/sweep_workers.py`` calls :func:`sweep_speed` and :func:`write`; the Performance page reads the
recorded files back with :func:`recorded`. A grid point's time is the whole papermill execution of its chapter
(kernel start, imports, data, training, writing), as a user's sweep pays it. The serial sweep runs first, then
the same points on ``workers`` processes; the metrics of both must be equal (the same seed gives the same
numbers), or the file says they are not.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ksc.book import runs
from ksc.runtime.atomic import json_safe, write_atomic
from ksc.runtime.machine import provenance, recorded_files
from ksc.runtime.results import read_results

NOT_MEASURED = ("run",)  # the point's folder name; columns ending in "seconds" (times) are left out too


def sweep_speed(
    chapter: str = "01_evolution",
    seeds=range(8),
    fixed: dict | None = None,
    workers: int = 2,
    runs_dir: Path | None = None,
    log=print,
) -> dict:
    """Times the sweep over ``seed`` in ``seeds`` serially and on ``workers`` LocalCluster processes."""
    notebook = runs.find_chapter(chapter)
    fixed = dict(fixed or {})
    grid = {"seed": list(seeds)}
    timings, tables = [], {}
    with tempfile.TemporaryDirectory(prefix="ksc-sweep-speed-") as scratch:
        where = Path(runs_dir or scratch)
        for n in (1, workers):
            start = time.perf_counter()
            done = runs.sweep(notebook, grid, fixed, where, log=log, workers=n)
            seconds = time.perf_counter() - start
            if done.failed or done.invalid:
                raise RuntimeError(
                    f"the benchmark sweep on {n} worker(s) did not run every point: {(done.failed + done.invalid)[0]}"
                )
            tables[n] = pd.read_csv(done.table)
            kernel = [
                read_results(p)["provenance"]["wall_seconds"]
                for p in sorted(done.table.parent.glob(f"*/{notebook.stem}.json"))
            ]
            timings.append(
                {
                    "workers": n,
                    "points": len(grid["seed"]),
                    "wall_seconds": seconds,
                    "seconds_per_point": seconds / len(grid["seed"]),
                    "median_chapter_seconds": float(np.median(kernel)),
                }
            )
    serial, parallel = timings
    return {
        "settings": {"chapter": notebook.stem, "grid": grid, "fixed": fixed, "workers": workers},
        "timings": timings,
        "speedup": serial["wall_seconds"] / parallel["wall_seconds"],
        "same_metrics": same_metrics(tables[1], tables[workers]),
    }


def same_metrics(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two sweep tables hold the same measurements, row for row (times and folder names aside)."""
    keep = [c for c in a.columns if c not in NOT_MEASURED and not c.endswith("seconds")]
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    return a[keep].equals(b[keep])


def projection(seconds_per_point: float, points: int = 100, workers=(1, 2, 8, 16, 32, 100)) -> pd.DataFrame:
    """What ``points`` grid points would take on N workers, on paper: ceil(points / N) rounds of one point each.

    Assumes each worker has a core as fast as this machine's to itself (as the serial sweep had: TensorFlow
    runs on one intra-op thread) and leaves out the cluster's start-up and the transfer of notebooks.
    """
    return pd.DataFrame(
        [
            {
                "workers": n,
                "rounds": math.ceil(points / n),
                "projected_minutes": math.ceil(points / n) * seconds_per_point / 60,
            }
            for n in workers
        ]
    )


def write(path: Path, record: dict) -> Path:
    total = sum(t["wall_seconds"] for t in record["timings"])
    return write_atomic(
        Path(path), json.dumps({**json_safe(record), "provenance": provenance([], total)}, indent=1, allow_nan=False)
    )


def recorded(folder) -> pd.DataFrame:
    """One row per sweep benchmark file in ``folder``: machine, points, serial and parallel wall times, ratio."""
    rows = []
    for record, where in recorded_files(folder, "sweep_workers-*.json"):
        serial, parallel = record["timings"]
        rows.append(
            {
                **where,
                "chapter": record["settings"]["chapter"],
                "points": serial["points"],
                "serial_seconds": serial["wall_seconds"],
                "workers": parallel["workers"],
                "parallel_seconds": parallel["wall_seconds"],
                "speedup": record["speedup"],
                "seconds_per_point_serial": serial["seconds_per_point"],
                "same_metrics": record["same_metrics"],
            }
        )
    return pd.DataFrame(rows)


def newest_projection(sweeps: pd.DataFrame) -> pd.DataFrame:
    """:func:`projection` from the serial seconds per point of the newest sweep in ``sweeps`` (:func:`recorded`);
    empty without one."""
    if not len(sweeps):
        return pd.DataFrame()
    newest = sweeps.sort_values("recorded (UTC)").iloc[-1]
    return projection(newest.seconds_per_point_serial)
