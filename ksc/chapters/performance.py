"""The Performance page (``95_performance``): each chapter's wall time against its budget, the build projected
onto more workers, the recorded benchmarks, and the project's speed targets.

It reads the results files of the build it belongs to; the training speed it scales by is measured on the Training
speed page (``89_train_speed``, :mod:`ksc.chapters.train_speed`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ksc.chapters.train_speed import FIT_WAY, KSC_WAY, PAPER_SETTING, TRAIN_SPEED_CHAPTER, read_benchmark
from ksc.runtime.atomic import json_safe
from ksc.runtime.budgets import budgets as declared_budgets
from ksc.runtime.budgets import costliest_first
from ksc.runtime.machine import recorded_files
from ksc.runtime.results import chapter_results


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


def chapters_before(results_dir, page: str) -> list[str]:
    """The chapters with a results file in ``results_dir`` that come before ``page`` in the book (those it reads)."""
    return sorted(p.stem for p in Path(results_dir).glob("[0-9][0-9]_*.json") if p.stem < page)


def judged_budgets(times: pd.DataFrame, speed: pd.DataFrame, reference_file, paper_scale: bool):
    """Section 6 of the Performance page: :func:`budget_table` at this machine's speed and what it says.

    The speed ratio is this build's Keras fit time (``speed``) over the one recorded in ``reference_file``
    (``ksc.runtime.budgets.REFERENCE``). Returns the table (without its ``within`` column where nothing is judged:
    not at the paper's scale, or no chapter with a budget and a finite ratio) and a dict of the facts the page
    states: ``fit_now``, ``reference_fit``, ``speed_ratio``, ``speed_shared`` (the training-speed page ran beside
    another chapter), ``judged`` (whether the budgets are judged), ``within``, ``judged_count``, ``within_alone``,
    ``alone_count`` and ``not_judged`` (chapter stems)."""
    reference_fit = reference_fit_seconds(reference_file)
    fit_now = fit_seconds(speed)
    speed_ratio = fit_now / reference_fit if reference_fit else float("nan")
    budget = budget_table(times, speed_ratio)
    judged = budget.within.notna()
    alone = judged & ~budget.shared
    facts = {
        "fit_now": fit_now,
        "reference_fit": reference_fit,
        "speed_ratio": speed_ratio,
        "speed_shared": bool(budget.shared[budget.chapter == TRAIN_SPEED_CHAPTER].any()),
        "judged": bool(paper_scale and judged.any()),
        "within": int(budget.within.eq(True).sum()),
        "judged_count": int(judged.sum()),
        "within_alone": int((budget.within.eq(True) & alone).sum()),
        "alone_count": int(alone.sum()),
        "not_judged": list(budget.chapter[~judged]),
    }
    return (budget if facts["judged"] else budget.drop(columns="within")), facts


def speed_targets(
    speed: pd.DataFrame, times: pd.DataFrame, build_projection: pd.DataFrame, speed_ratio: float, paper_scale: bool
) -> pd.DataFrame:
    """:func:`targets` for this build (``met`` left empty where the build is not at the paper's scale)."""
    sixteen = float(build_projection.set_index("workers").projected_seconds[16])
    table = targets(speed, elapsed_seconds(times), sixteen, times.wall_seconds.sum(), speed_ratio)
    if not paper_scale:
        table["met"] = None
    return table
