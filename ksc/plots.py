"""Figures shared by the chapters. Each function takes plain arrays or DataFrames and returns the Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

LOG_FLOOR = 1e-12  # where a variance of exactly zero is drawn on a log axis


def image_rows(rows: dict, n: int = 5, cmap: str = "viridis"):
    """One row of ``n`` images per entry of ``rows`` (label -> array of images)."""
    fig, axes = plt.subplots(len(rows), n, figsize=(1.7 * n, 1.8 * len(rows)), squeeze=False)
    for i, (label, images) in enumerate(rows.items()):
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(images[j], cmap=cmap, vmin=0.0, vmax=1.0)
            ax.set_xticks([]), ax.set_yticks([])
        axes[i, 0].set_ylabel(label, fontsize=9)
    fig.tight_layout()
    return fig


def pixel_histograms(datasets: dict, bins: int = 50):
    """Histogram of pixel values per data set (label -> images)."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for label, images in datasets.items():
        ax.hist(np.ravel(images), bins=bins, range=(0, 1), density=True, histtype="step", label=label)
    ax.set_xlabel("pixel value"), ax.set_ylabel("density"), ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _bars(ax, summary: pd.DataFrame, quantity: str, scale: float = 1.0, log: bool = False):
    rows = summary[summary.quantity == quantity]
    means = rows["mean"].to_numpy() * scale
    sds = np.nan_to_num(rows["sd"].to_numpy() * scale)
    if log:
        means = np.maximum(means, LOG_FLOOR)
        ax.set_yscale("log")
    ax.bar(rows.model, means, yerr=sds, capsize=3, color=plt.cm.viridis(np.linspace(0.1, 0.85, len(rows))))
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)


def evolution_figure(summary: pd.DataFrame, latents: dict):
    """Variance (log), dead %, sparsity, active units per model, and the distribution of latent values.

    ``summary`` is the long (model, quantity, mean, sd, n) table; ``latents`` maps model -> test latents.
    """
    fig, axes = plt.subplots(3, 2, figsize=(10, 10))
    _bars(axes[0, 0], summary, "variance", log=True)
    axes[0, 0].set_title(f"mean latent variance (log; 0 drawn at {LOG_FLOOR:g})")
    _bars(axes[0, 1], summary, "dead_fraction", scale=100)
    axes[0, 1].set_title("dead units (%)")
    _bars(axes[1, 0], summary, "sparsity", scale=100)
    axes[1, 0].set_title("sparsity (%)")
    _bars(axes[1, 1], summary, "active_per_sample")
    axes[1, 1].set_title("active units per image")
    ax = axes[2, 0]
    for label, z in latents.items():
        values = np.ravel(z)
        values = values[np.abs(values) >= 1e-6]
        if values.size == 0:  # every unit dead: nothing to draw, say so in the legend
            ax.plot([], [], label=f"{label} (all zero)")
            continue
        ax.hist(values, bins=60, histtype="step", density=True, label=f"{label} (var {np.mean(np.var(z, axis=0)):.3g})")
    ax.set_title("non-zero latent values"), ax.set_yscale("log"), ax.legend(fontsize=7)
    ax = axes[2, 1]
    for label, z in latents.items():
        ax.plot(np.sort(np.var(z, axis=0))[::-1], label=label)
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.set_title("per-unit variance, sorted"), ax.set_xlabel("unit rank"), ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def training_curves(histories: dict):
    """Training and validation loss per epoch (label -> history DataFrame with loss, val_loss)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for label, h in histories.items():
        axes[0].plot(h["epoch"], h["loss"], marker=".", label=label)
        axes[1].plot(h["epoch"], h["val_loss"], marker=".", label=label)
    axes[0].set_title("training loss"), axes[1].set_title("validation loss")
    for ax in axes:
        ax.set_xlabel("epoch"), ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def metric_bars(summary: pd.DataFrame, quantity: str, reference: float | None = None,
                reference_label: str = "", title: str | None = None):
    """One quantity per model with ±sd error bars, optionally a horizontal reference line."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    _bars(ax, summary, quantity)
    if reference is not None:
        ax.axhline(reference, color="crimson", linestyle="--", label=reference_label)
        ax.legend(fontsize=8)
    ax.set_title(title or quantity)
    fig.tight_layout()
    return fig
