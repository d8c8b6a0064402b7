"""What the Performance page (``95_performance``) says in words, from the numbers its analysis computed."""

from __future__ import annotations

import pandas as pd

from ksc.chapters.performance import REFERENCE_SERIAL_TARGET, REFERENCE_SIXTEEN_TARGET, fastest_first_call, fit_seconds
from ksc.chapters.train_speed import TRAIN_SPEED_CHAPTER
from ksc.runtime.budgets import REFERENCE


def chapter_times_line(times: pd.DataFrame, elapsed: float) -> str:
    """One line: the chapters' summed wall time, the part spent training, and their elapsed time."""
    return (
        f"all {len(times)} chapters: {times.wall_seconds.sum():.1f} s of wall time, of which "
        f"{times.training_seconds.sum():.1f} s training {times.models_trained.sum()} models; "
        f"{elapsed:.1f} s from the first one's start to the last one's finish"
    )


def budget_lines(facts: dict) -> list[str]:
    """The lines printed under the budget table (facts from :func:`ksc.chapters.performance.judged_budgets`)."""
    lines = [
        f"Keras fit: {facts['fit_now']:.2f} s per V4 model-run here against "
        f"{facts['reference_fit'] or float('nan'):.2f} s recorded ({REFERENCE}): {facts['speed_ratio']:.2f}x the "
        "reference time"
    ]
    if facts["speed_shared"]:
        lines.append(
            f"Caution: {TRAIN_SPEED_CHAPTER} ran beside another chapter, so this ratio holds the slowdown "
            "of sharing as well as this machine's: a like scale for the chapters that also ran shared, too loose a one "
            "for those that ran alone"
        )
    if facts["judged"]:
        lines.append(
            f"{facts['within']} of {facts['judged_count']} chapters judged are within their scaled "
            f"budget ({facts['within_alone']} of {facts['alone_count']} that ran alone); "
            f"not judged: {', '.join(facts['not_judged']) or 'none'} (not at their defaults, or no budget)"
        )
    else:
        lines.append("Not judged: this page or the chapters did not run at the paper's scale, or the speed is unknown.")
    return lines


def verdict(
    machine: dict,
    speed: pd.DataFrame,
    times: pd.DataFrame,
    elapsed: float,
    build_projection: pd.DataFrame,
    targets: pd.DataFrame,
    speed_ratio: float,
    paper_scale: bool,
) -> str:
    """The page's verdict: the trainers' speed, the chapters' time (measured and projected), the targets met."""
    fastest = fastest_first_call(speed)  # judged without the reuse of a compiled step
    fit_now = fit_seconds(speed)
    trainer = (
        f"Keras `fit` took {fit_now:.2f} s per model-run; training {int(fastest.members)} models together took "
        f"{fastest.seconds_per_run:.2f} s per model-run in a first call, {fastest.speedup_vs_fit:.1f}× faster (range "
        f"over repeats {fastest.speedup_min:.1f}–{fastest.speedup_max:.1f}×). "
        if fastest is not None
        else "The trainers were not timed in this build. "
    )
    sixteen = float(build_projection.set_index("workers").projected_seconds[16])
    bound = targets.set_index("target").measured
    missed = targets.target[targets.met.eq(False)]
    text = (
        f"**Verdict.** On {machine['device']} with {machine['keras_backend']}, {trainer}"
        f"The {len(times)} chapters before this page took {elapsed:.0f} s from first start to last finish "
        f"({times.wall_seconds.sum():.0f} s of wall time summed); on 16 cores they would take about {sixteen:.0f} s "
        "(projected)"
    )
    if not paper_scale:
        return text + ". At this scale the verdict on the targets is left open."
    return (
        text + f"; at the reference speed ({speed_ratio:.2f}× faster than here) at most about "
        f"{bound[REFERENCE_SERIAL_TARGET]:.0f} s one after another and {bound[REFERENCE_SIXTEEN_TARGET]:.0f} s on "
        f"16 cores (projected). Targets met: {int(targets.met.eq(True).sum())} of {len(targets)}"
        + ("." if missed.empty else f"; not met: {', '.join(missed)}.")
    )
