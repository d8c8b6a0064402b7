"""Chapter 12's figures (the randomness batteries). Each function takes plain DataFrames and returns the Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ksc.randomness.batteries import ENT_SUSPECT


def pvalue_histograms(histograms: pd.DataFrame, columns: int = 4):
    """One panel per stream: the share of its first-level NIST p-values in each tenth of [0, 1] (a random source
    gives 0.1 in every bin; the dashed line)."""
    streams = list(dict.fromkeys(zip(histograms.source, histograms.extraction)))
    rows = -(-len(streams) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(2.6 * columns, 1.9 * rows), sharex=True, sharey=True, squeeze=False
    )
    for ax, (source, extraction) in zip(axes.flat, streams):
        part = histograms[(histograms.source == source) & (histograms.extraction == extraction)]
        ax.bar(part["bin"] + 0.05, part["share"], width=0.09, color="tab:blue")
        ax.axhline(0.1, color="black", linestyle="--", linewidth=0.8)
        ax.set_title(f"{source}\n{extraction}", fontsize=8)
        ax.set_ylim(0, 1)
    for ax in list(axes.flat)[len(streams) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("p-value", fontsize=8)
    fig.tight_layout()
    return fig


def ent_block_pvalues(blocks: pd.DataFrame, verdicts: pd.DataFrame):
    """One row per stream: the chi-square p-values of its ent blocks as dots on [0, 1], ent's 1-99 % band shaded
    (a random block falls outside it one time in fifty), the stream's label red where the block rule fails it.
    ``verdicts``: the ent table (source, extraction, passes)."""
    streams = list(dict.fromkeys(zip(blocks.source, blocks.extraction)))
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(streams) + 1.0))
    if not streams:  # ent is not installed: the figure says so instead of drawing empty axes
        ax.text(0.5, 0.5, "ent is not installed here: not measured", ha="center", va="center")
        ax.set_axis_off()
        return fig
    passes = {(s, e): bool(p) for s, e, p in zip(verdicts.source, verdicts.extraction, verdicts.passes)}
    ax.axvspan(ENT_SUSPECT[0] / 100, ENT_SUSPECT[1] / 100, color="tab:green", alpha=0.08, linewidth=0)
    for row, (source, extraction) in enumerate(streams):
        part = blocks[(blocks.source == source) & (blocks.extraction == extraction)]
        ok = passes.get((source, extraction), True)
        ax.plot(part.p, np.full(len(part), row), "|", color="tab:blue" if ok else "tab:red", markersize=9)
    ax.set_yticks(range(len(streams)), [f"{s} {e}" for s, e in streams], fontsize=7)
    for label, key in zip(ax.get_yticklabels(), streams):
        label.set_color("black" if passes.get(key, True) else "tab:red")
    ax.set_xlim(-0.02, 1.02), ax.set_ylim(len(streams) - 0.5, -0.5)
    ax.set_xlabel("chi-square p-value of each ent block (green: ent's 1-99 % band)")
    fig.tight_layout()
    return fig


def replicated_failures(replicated: pd.DataFrame):
    """One panel per battery: for every replicated stream, the replicates that failed (bar) against the most an ideal
    source allows (black tick), red where it fails the battery."""
    batteries = list(dict.fromkeys(replicated.battery))
    streams = list(dict.fromkeys(zip(replicated.source, replicated.extraction)))
    fig, axes = plt.subplots(1, len(batteries), figsize=(3.4 * len(batteries), 0.3 * len(streams) + 1.4), sharey=True)
    for ax, battery in zip(np.atleast_1d(axes), batteries):
        part = replicated[replicated.battery == battery].set_index(["source", "extraction"])
        for row, key in enumerate(streams):
            if key not in part.index or not part.loc[key, "replicates"]:
                continue
            r = part.loc[key]
            fails = r.passes is not None and not (isinstance(r.passes, float) and np.isnan(r.passes)) and not r.passes
            ax.barh(row, r.failed, color="tab:red" if fails else "tab:blue", height=0.6)
            if np.isfinite(r.allowed_failures):
                ax.plot([r.allowed_failures] * 2, [row - 0.4, row + 0.4], color="black", linewidth=1.5)
        if not part.replicates.any():
            ax.text(0.5, 0.5, "decided nothing", transform=ax.transAxes, ha="center", fontsize=8, color="grey")
        ax.set_title(battery, fontsize=9)
        ax.set_xlabel("replicates failed", fontsize=8)
        ax.set_xlim(0, max(1, int(replicated.replicates.max())))
    first = np.atleast_1d(axes)[0]
    first.set_yticks(range(len(streams)), [f"{s} {e}" for s, e in streams], fontsize=7)
    first.set_ylim(len(streams) - 0.5, -0.5)
    fig.tight_layout()
    return fig
