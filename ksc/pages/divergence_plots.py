"""Chapter 05's figures (do latent codes diverge like the orbits?). Each function takes plain arrays or DataFrames
and returns the Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

COLUMNS = 3  # panels per row at most


def separation_figure(separations: np.ndarray, frame_length: int, row_length: int, attractor_size: float):
    """|x_t - y_t| of orbit pairs against the iterate index, with the frame and row lengths marked."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    t = np.arange(1, separations.shape[1] + 1)
    for s in separations:
        ax.semilogy(t, np.maximum(s, 1e-18), lw=0.8)
    ax.axhline(
        attractor_size,
        color="gray",
        linestyle="--",
        label=f"typical distance of two attractor points ({attractor_size:.2f})",
    )
    ax.axvline(row_length, color="crimson", linestyle=":", label=f"one image row ({row_length} iterates)")
    ax.axvline(frame_length, color="black", linestyle=":", label=f"one image ({frame_length} iterates)")
    ax.set_xscale("log"), ax.set_xlabel("iterate"), ax.set_ylabel("|x_t - y_t|"), ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def input_distance_figure(table: pd.DataFrame, band: tuple[float, float]):
    """The window protocol's input distance against t (median over runs), one line per nudge, with the band the
    growth rates are fitted over."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    first = table[table.encoder == table.encoder.iloc[0]]
    for delta, g in first.groupby("delta"):
        m = g.groupby("t").input_distance.median()
        ax.semilogy(m.index, m.where(m > 0), marker=".", label=f"δ = {delta:g}")
    ax.axhspan(*band, color="gray", alpha=0.15, label="fitted band")
    ax.set_title("input distance (median over runs)"), ax.set_xlabel("t (iterates after the nudge)")
    ax.set_ylabel("input distance"), ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def latent_vs_input_figure(table: pd.DataFrame, roles: dict[str, str], band: tuple[float, float]):
    """Latent against input distance in the window protocol, one panel per encoder (``roles``: label -> role, in
    panel order), every (run, delta) curve a line coloured by its nudge, the steps where the Top-K support
    difference changes (``support_changed``) marked, and the band the growth rates are fitted over shaded."""
    names = list(roles)
    rows = -(-len(names) // COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(4.6 * COLUMNS, 3.9 * rows), squeeze=False)
    deltas = sorted(table.delta.unique())
    colours = dict(zip(deltas, plt.cm.viridis(np.linspace(0, 0.85, len(deltas)))))
    for ax, name in zip(axes.ravel(), names):
        g = table[(table.encoder == name) & (table.input_distance > 0) & (table.latent_distance > 0)]
        for (_, delta), curve in g.sort_values("t").groupby(["run", "delta"]):
            ax.plot(curve.input_distance, curve.latent_distance, lw=0.8, alpha=0.7, color=colours[delta])
        switched = g[g.support_changed.astype(bool)]
        ax.scatter(switched.input_distance, switched.latent_distance, marker="x", s=22, color="crimson", zorder=3)
        ax.axvspan(*band, color="gray", alpha=0.15)
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.set_xlabel("input distance"), ax.set_ylabel("latent distance")
        ax.set_title(f"{name} ({roles[name]}): {len(switched)} support changes (all steps)", fontsize=9)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], color=colours[d], label=f"δ = {d:g}") for d in deltas]
    handles += [
        plt.Line2D([], [], color="crimson", marker="x", linestyle="", label="support change"),
        plt.Rectangle((0, 0), 1, 1, color="gray", alpha=0.15, label="fitted band (input distance)"),
    ]
    axes[0, 0].legend(handles=handles, fontsize=7)
    fig.tight_layout()
    return fig
