"""Training speed, side by side: the authors' way (one Keras ``fit`` call per model) against :func:`train_many`.

Both ways train the same model on the same images with the authors' protocol (Adam 1e-3, batch
64); a model-run's time is its whole wall time (build, compile, training, encoding the test set),
and for a batch of M models trained together, the batch's wall time divided by M. The two ways
alternate within every repeat, so a machine shared with other work slows both alike; the ratio
is taken within each repeat. The Keras way is timed as the authors ran it, a single
``fit(shuffle=True)`` call: :func:`ksc.models.training.train` calls ``fit`` once per epoch to reshuffle
under a seed, which costs it some time, and timing it would flatter the batched trainer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from ksc.data import chaos
from ksc.models import training
from ksc.models.architectures import build_model
from ksc.models.training import train_many
from ksc.runtime.atomic import json_safe, write_atomic
from ksc.runtime.backend import keras
from ksc.runtime.budgets import budgets as declared_budgets
from ksc.runtime.budgets import costliest_first
from ksc.runtime.machine import provenance, recorded_files
from ksc.runtime.results import chapter_results

FIT_WAY, KSC_WAY = "keras fit, one model per run", "ksc train_many"
TRAIN_SPEED_CHAPTER = "89_train_speed"  # the page that times both ways in a build; the Performance page reads it
PAPER_SETTING = {"model": "v4", "n_train": 2000, "epochs": 10, "batch_size": 64}


def authors_fit(model: str, data, seed: int, epochs: int, batch_size: int, learning_rate: float = 1e-3):
    """One model the authors' way: build, compile, a single ``fit(shuffle=True)``, encode the test set."""
    keras.utils.set_random_seed(seed)
    ae = build_model(model)
    ae.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    ae.model.fit(
        data.train,
        data.train,
        validation_data=(data.val, data.val),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
    )
    return keras.ops.convert_to_numpy(ae.encoder(data.test)), keras.ops.convert_to_numpy(ae.model(data.test))


def train_speed(
    members=(1, 10, 60),
    repeats: int = 2,
    fit_runs: int = 3,
    model: str = "v4",
    n_train: int = 2000,
    n_val: int = 200,
    n_test: int = 500,
    epochs: int = 10,
    batch_size: int = 64,
    log=print,
) -> pd.DataFrame:
    """One row per (repeat, way, M): wall seconds of the batch and per model-run.

    ``graph`` says whether the batched trainer built and traced its training step in that call
    (the first repeat) or reused the one compiled by an earlier call of the same shapes.
    """
    data = chaos.make_splits("logistic", n_train, n_val, n_test, seed=0)
    setting = dict(epochs=epochs, batch_size=batch_size)
    training.forget_compiled()
    rows = []
    for repeat in range(repeats):
        start = time.perf_counter()
        for seed in range(fit_runs):
            authors_fit(model, data, seed, **setting)
        rows.append(
            {
                "repeat": repeat,
                "way": FIT_WAY,
                "members": 1,
                "graph": "built for every model",
                "models": fit_runs,
                "wall_seconds": time.perf_counter() - start,
            }
        )
        for m in members:
            start = time.perf_counter()
            train_many(model, data, seeds=range(m), **setting)
            rows.append(
                {
                    "repeat": repeat,
                    "way": KSC_WAY,
                    "members": m,
                    "graph": "reused" if repeat else "first call",
                    "models": m,
                    "wall_seconds": time.perf_counter() - start,
                }
            )
        log(
            f"repeat {repeat}: "
            + ", ".join(
                f"{r['way']} M={r['members']}: {r['wall_seconds'] / r['models']:.2f} s/run"
                for r in rows
                if r["repeat"] == repeat
            )
        )
    timings = pd.DataFrame(rows)
    timings["seconds_per_run"] = timings.wall_seconds / timings.models
    return timings


def speedups(timings: pd.DataFrame) -> pd.DataFrame:
    """Per way, M and graph: median seconds per model-run, and fit-way / this-way ratios within each repeat."""
    fit = timings[timings.way == FIT_WAY].set_index("repeat").seconds_per_run
    rows = []
    for (way, m, graph), group in timings.groupby(["way", "members", "graph"], sort=False):
        ratio = fit.loc[group.repeat].to_numpy() / group.seconds_per_run.to_numpy()
        rows.append(
            {
                "way": way,
                "members": m,
                "graph": graph,
                "repeats": len(group),
                "seconds_per_run": group.seconds_per_run.median(),
                "speedup_vs_fit": float(pd.Series(ratio).median()),
                "speedup_min": float(ratio.min()),
                "speedup_max": float(ratio.max()),
            }
        )
    return pd.DataFrame(rows)


def write_benchmark(path, timings: pd.DataFrame, settings: dict) -> Path:
    """JSON with the settings, every timing, the speed-ups and the machine
    (see :func:`ksc.runtime.machine.provenance`)."""
    record = {
        "settings": json_safe(settings),
        "timings": json_safe(timings),
        "speedups": json_safe(speedups(timings)),
        "provenance": provenance([], float(timings.wall_seconds.sum())),
    }
    return write_atomic(Path(path), json.dumps(record, indent=1, allow_nan=False))


def read_benchmark(path) -> dict:
    record = json.loads(Path(path).read_text())
    record["timings"], record["speedups"] = pd.DataFrame(record["timings"]), pd.DataFrame(record["speedups"])
    return record


def chapter_times(results_dir, stems, defaults: dict | None = None) -> pd.DataFrame:
    """Per chapter with a results file: wall time, models trained and the seconds their runs took, device, backend.

    With ``defaults`` (stem -> the values of its ``parameters`` cell), ``at_defaults`` says whether the chapter ran
    with exactly those values (the paper's scale), which its time budget assumes."""
    rows = []
    for stem in stems:
        record = chapter_results(results_dir, stem, missing_ok=True)
        if record is None:
            continue
        metrics = record["metrics"]
        trained = metrics.wall_seconds.dropna() if "wall_seconds" in metrics else pd.Series(dtype=float)
        prov = record["provenance"]
        row = {
            "chapter": stem,
            "wall_seconds": prov["wall_seconds"],
            "models_trained": len(trained),
            "training_seconds": float(trained.sum()),
            "device": prov["device"],
            "backend": f"{prov['keras_backend']} {prov.get('backend_version') or ''}",
            "finished_at": prov["finished_at"],
        }
        if defaults is not None:
            row["at_defaults"] = stem in defaults and record["parameters"] == json_safe(defaults[stem])
        rows.append(row)
    columns = ["chapter", "wall_seconds", "models_trained", "training_seconds", "device", "backend", "finished_at"]
    return pd.DataFrame(rows, columns=columns + (["at_defaults"] if defaults is not None else []))


def elapsed_seconds(times: pd.DataFrame) -> float:
    """Seconds from the first chapter's start to the last one's finish (each start: its finish less its wall
    time). For chapters run one after another this is their summed wall time plus the gaps between them
    (kernel starts); for chapters run side by side (``ksc build --workers N``), less than the sum."""
    finished, started = _finished_and_started(times)
    return float((finished.max() - started.min()).total_seconds())


def kernel_start_seconds(times: pd.DataFrame, default: float = 15.0) -> float:
    """The median gap between one chapter's finish and the next one's start (its kernel starting), over the
    chapters that ran one after another; ``default`` where none did (every chapter overlapped another)."""
    finished, started = _finished_and_started(times)
    order = started.sort_values().index
    gaps = (started[order].shift(-1) - finished[order]).dt.total_seconds().dropna()
    return float(gaps[gaps > 0].median()) if (gaps > 0).any() else default


def _finished_and_started(times: pd.DataFrame):
    finished = pd.to_datetime(times.finished_at)
    return finished, finished - pd.to_timedelta(times.wall_seconds, unit="s")


def projected_build(
    times: pd.DataFrame, workers=(1, 2, 4, 8, 16), start_seconds: float = 15.0, budgets: dict | None = None
) -> pd.DataFrame:
    """On paper: the elapsed time of the chapters of ``times`` under ``ksc build --workers N``.

    The chapters numbered below 90 are handed, in the build's order (the largest budget first,
    :func:`ksc.runtime.budgets.costliest_first`), each to the first worker that is free (as ``ksc.book.cluster.run_all``
    hands them out); every later chapter runs alone after them. Each chapter is assumed to
    take the wall time measured for it in ``times``, plus ``start_seconds`` for its kernel's start, whatever the
    number of workers: that holds where every worker has a core of this speed to itself, not on this machine.
    """
    front = times[times.chapter.str[:2] < "90"].set_index("chapter")
    front = front.loc[costliest_first(list(front.index), budgets)]
    back = times[times.chapter.str[:2] >= "90"]
    rows = []
    for n in workers:
        free = [0.0] * n
        for seconds in front.wall_seconds:
            at = free.index(min(free))
            free[at] += seconds + start_seconds
        total = max(free) + float((back.wall_seconds + start_seconds).sum())
        rows.append({"workers": n, "projected_seconds": total, "longest_chapter": front.wall_seconds.max()})
    return pd.DataFrame(rows)


def recorded_speedups(folder) -> pd.DataFrame:
    """The speed-ups of every benchmark file recorded in ``folder`` (by ``benchmarks/train_speed.py``), with the
    machine, backend and time of each."""
    rows = []
    for path in sorted(Path(folder).glob("train_speed-*.json")):
        record = read_benchmark(path)
        prov = record["provenance"]
        for row in record["speedups"].to_dict(orient="records"):
            rows.append(
                {
                    "file": path.name,
                    "device": prov["device"],
                    "backend": f"{prov['keras_backend']} {prov.get('backend_version') or ''}",
                    "recorded (UTC)": prov["finished_at"][:16],
                    **row,
                }
            )
    return pd.DataFrame(rows)


def recorded_nist_speed(folder) -> pd.DataFrame:
    """Every NIST speed file in ``folder`` (by ``benchmarks/nist_speed.py``): seconds per 10^6-bit sequence with
    NIST's C code for the linear complexity test and with ksc's, their ratio, and whether every p-value agreed."""
    rows = []
    for record, where in recorded_files(folder, "nist_speed-*.json"):
        seconds = record["seconds_per_sequence"]
        rows.append(
            {
                **where,
                "sequences": record["settings"]["sequences"],
                **{f"seconds per sequence, {way}": value for way, value in seconds.items()},
                "speedup": record["speedup"],
                "same_pvalues": record["same_pvalues"],
            }
        )
    return pd.DataFrame(rows)


def reference_fit_seconds(path) -> float | None:
    """Seconds per V4 model-run with Keras ``fit`` in the recorded benchmark file ``path``
    (``ksc.runtime.budgets.REFERENCE``: the machine speed the chapters' budgets are stated at); None without the
    file."""
    path = Path(path)
    if not path.is_file():
        return None
    seconds = fit_seconds(read_benchmark(path)["speedups"])
    return None if pd.isna(seconds) else seconds


def fit_seconds(speed: pd.DataFrame) -> float:
    """Seconds per model-run with Keras ``fit`` in a table of :func:`speedups` (NaN where it has no such row)."""
    fits = speed[speed.way == FIT_WAY] if "way" in speed else speed.iloc[0:0]
    return float(fits.seconds_per_run.iloc[0]) if len(fits) else float("nan")


def measured_speed(results_dir) -> tuple[pd.DataFrame, bool]:
    """The :func:`speedups` the Training speed page (:data:`TRAIN_SPEED_CHAPTER`) measured for this build (empty
    without its results file), and whether it timed them at the paper's scale (:data:`PAPER_SETTING`)."""
    record = chapter_results(results_dir, TRAIN_SPEED_CHAPTER, missing_ok=True)
    if record is None:
        return pd.DataFrame(), False
    chosen = record["parameters"]
    return record["tables"].get("speedups", pd.DataFrame()), all(
        chosen.get(name) == value for name, value in PAPER_SETTING.items()
    )


def fastest_first_call(speed: pd.DataFrame):
    """The batched trainer's fastest row in a first call (judged without the reuse of a compiled step); None if none."""
    if "way" not in speed:
        return None
    first = speed[(speed.way == KSC_WAY) & (speed.graph == "first call")]
    return first.sort_values("seconds_per_run").iloc[0] if len(first) else None


REFERENCE_SERIAL_TARGET = "at the reference speed, projected: chapters one after another <= 900 s"
REFERENCE_SIXTEEN_TARGET = "at the reference speed, projected: 16 cores, one each at half the speed of two <= 300 s"


def targets(speed: pd.DataFrame, elapsed: float, sixteen: float, summed: float, speed_ratio: float) -> pd.DataFrame:
    """The project's speed targets, each with its measured (or projected) value and ``met`` (None where the value is
    unknown). ``elapsed``: the chapters' first start to last finish; ``sixteen``: the projection for 16 workers
    (:func:`projected_build`); ``summed``: the chapters' wall times added up; ``speed_ratio``: this machine's Keras
    fit time over the reference one. The rows "at the reference speed" divide this build's times by that ratio
    (what the build would take where the budgets are stated, had every chapter slowed down as V4's Keras fit did),
    both as upper bounds: the chapters one after another (the summed wall times), which two workers on two cores do
    not exceed; and 16 workers with one core each, taken as half as fast as the two cores the reference fit time had.
    (The elapsed time over the ratio is no bound: under ``--workers`` the fit was timed on a shared core, one thread,
    and the ratio then holds the slowdown of sharing as well as the machine's.)"""
    fastest = fastest_first_call(speed)
    per_run = float("nan") if fastest is None else float(fastest.seconds_per_run)
    speedup = float("nan") if fastest is None else float(fastest.speedup_vs_fit)
    ratio = speed_ratio if pd.notna(speed_ratio) and speed_ratio > 0 else float("nan")
    rows = [
        ("seconds per model-run <= 2", per_run, 2.0, "at most"),
        ("speed-up over Keras fit >= 3", speedup, 3.0, "at least"),
        ("chapters' elapsed time <= 900 s", elapsed, 900.0, "at most"),
        ("16 cores, projected: chapters <= 300 s", sixteen, 300.0, "at most"),
        (REFERENCE_SERIAL_TARGET, summed / ratio, 900.0, "at most"),
        (REFERENCE_SIXTEEN_TARGET, 2 * sixteen / ratio, 300.0, "at most"),
        ("(former) all chapters' wall times <= 600 s", summed, 600.0, "at most"),
    ]
    table = pd.DataFrame(rows, columns=["target", "measured", "limit", "kind"])
    met = (table.measured <= table.limit).where(table.kind == "at most", table.measured >= table.limit)
    table["met"] = met.astype(object).where(table.measured.notna(), None)
    return table.drop(columns=["limit", "kind"])


def budget_table(times: pd.DataFrame, speed_ratio: float, budgets: dict | None = None) -> pd.DataFrame:
    """Each chapter's wall time beside its budget, and beside the budget times ``speed_ratio`` (this machine's Keras
    fit time over the reference one: above 1 on a slower machine). ``shared`` says whether another chapter ran at
    the same time (``ksc build --workers``), which slows both down on a machine with few cores. ``within`` is left
    empty where there is nothing to judge: no budget, no finite speed ratio, or (where ``times`` says so) a chapter
    not run at its defaults."""
    budgets = declared_budgets() if budgets is None else budgets
    finished, started = _finished_and_started(times)
    shared = [bool(((started < finished[i]) & (finished > started[i]) & (times.index != i)).any()) for i in times.index]
    table = pd.DataFrame(
        {
            "chapter": times.chapter,
            "wall_seconds": times.wall_seconds,
            "shared": shared,
            "budget_seconds": times.chapter.map(budgets),
        }
    )
    table["budget_at_this_speed"] = table.budget_seconds * speed_ratio
    judged = table.budget_at_this_speed.notna() & bool(pd.notna(speed_ratio) and speed_ratio > 0)
    if "at_defaults" in times:
        judged &= times.at_defaults.astype(bool)
    table["within"] = (table.wall_seconds <= table.budget_at_this_speed).astype(object).where(judged, None)
    return table
