"""Chapter 10's figures: each architecture before and after training, the learning curves next to the mean image
and PCA, training on copies of one image, the probe heat map, the dead-unit remedies, the K table and the
Section 1.2 divergence test. Each function takes plain arrays or DataFrames and returns the Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ksc.pages.plots import LOG_FLOOR, mean_sd


def before_after_figure(runs: pd.DataFrame, quantities, datasets):
    """Per quantity, each architecture's mean ± sd at its initial weights and after training, per data set."""
    fig, axes = plt.subplots(1, len(quantities), figsize=(4.2 * len(quantities), 3.4), squeeze=False)
    architectures = list(dict.fromkeys(runs.architecture))
    groups = [(d, t) for d in datasets for t in ("untrained", "trained")]
    width = 0.8 / len(groups)
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, len(groups)))
    for ax, quantity in zip(axes[0], quantities):
        for i, (dataset, training) in enumerate(groups):
            picked = runs[(runs.dataset == dataset) & (runs.training == training)]
            mean, sd = mean_sd(picked, "architecture", quantity)
            x = np.arange(len(architectures)) + (i - (len(groups) - 1) / 2) * width
            ax.bar(
                x,
                mean.reindex(architectures),
                width,
                yerr=sd.reindex(architectures),
                capsize=2,
                color=colours[i],
                hatch="" if training == "trained" else "//",
                label=f"{training}, {dataset}",
            )
        ax.set_xticks(np.arange(len(architectures)), architectures, rotation=30, fontsize=8)
        ax.set_title(quantity, fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def learning_curves_figure(curves: pd.DataFrame, references: dict):
    """Validation loss per epoch, one panel per architecture, one line per learning rate; references dashed."""
    architectures = list(dict.fromkeys(curves.architecture))
    fig, axes = plt.subplots(1, len(architectures), figsize=(4 * len(architectures), 3.2), squeeze=False, sharey=True)
    for ax, architecture in zip(axes[0], architectures):
        for rate, curve in curves[curves.architecture == architecture].groupby("learning_rate"):
            ax.plot(curve.epoch, curve.val_loss, label=f"lr {rate:g}")
        for (label, value), style in zip(references.items(), ("--", ":", "-.")):
            ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=label)
        ax.set_title(architecture, fontsize=9), ax.set_xlabel("epoch")
    axes[0, 0].set_ylabel("validation MSE"), axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def constant_image_figure(runs: dict):
    """Training on copies of one image: MSE and the relative change of the last hidden features, per epoch."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for label, rows in runs.items():
        axes[0].plot(rows.epoch, np.maximum(rows.mse, LOG_FLOOR), marker="o", markersize=3, label=label)
        axes[1].plot(rows.epoch, rows.feature_change, marker="o", markersize=3, label=label)
    axes[0].set_yscale("log"), axes[0].set_ylabel("MSE on the image"), axes[0].legend(fontsize=7)
    axes[1].set_yscale("symlog", linthresh=1e-3), axes[1].set_ylabel("feature change per epoch")
    for ax in axes:
        ax.set_xlabel("epoch")
    fig.tight_layout()
    return fig


def probe_heatmap(table: pd.DataFrame, targets):
    """R^2 of each target (columns) read from each code (rows), clipped to [-0.25, 1] for the colours."""
    values = table[list(targets)].to_numpy(float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(targets), 0.8 + 0.28 * len(table)))
    image = ax.imshow(np.clip(values, -0.25, 1.0), cmap="viridis", vmin=-0.25, vmax=1.0, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value < 0.5 else "black")
    ax.set_xticks(range(len(targets)), targets, fontsize=8)
    ax.set_yticks(range(len(table)), table.index, fontsize=7)
    fig.colorbar(image, ax=ax, label="R² on test codes")
    fig.tight_layout()
    return fig


def remedy_figure(runs: pd.DataFrame, quantities):
    """Mean ± sd of each quantity per model variant (x) and data set (bars)."""
    fig, axes = plt.subplots(1, len(quantities), figsize=(4.2 * len(quantities), 3.4), squeeze=False)
    variants = list(dict.fromkeys(runs.variant))
    datasets = list(dict.fromkeys(runs.dataset))
    width = 0.8 / len(datasets)
    for ax, quantity in zip(axes[0], quantities):
        for i, dataset in enumerate(datasets):
            mean, sd = mean_sd(runs[runs.dataset == dataset], "variant", quantity)
            x = np.arange(len(variants)) + (i - (len(datasets) - 1) / 2) * width
            ax.bar(x, mean.reindex(variants), width, yerr=sd.reindex(variants), capsize=2, label=dataset)
        ax.set_xticks(np.arange(len(variants)), variants, rotation=30, fontsize=8)
        ax.set_title(quantity, fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def k_table_figure(table: pd.DataFrame):
    """Latent variance against K: the draft's table, V4 trained and untrained, and the activation's bound."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    styles = {"draft": "s", "trained": "o", "untrained": "^", "bound": ""}
    for column, marker in styles.items():
        if column in table and table[column].notna().any():
            ax.plot(table.K, table[column], marker=marker, linestyle="--" if column == "bound" else "-", label=column)
    ax.set_xlabel("K (units kept of the latent)"), ax.set_ylabel("mean latent variance"), ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def origin_divergence_figure(latent: np.ndarray, images: np.ndarray, unrelated: float):
    """The Section 1.2 divergence test: latent distance per frame (one line per seed) and the frames' own distance."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    frames = np.arange(latent.shape[1])
    for i, row in enumerate(latent):
        axes[0].plot(frames, row, marker="o", markersize=3, label=f"seed {i}" if i < 5 else None)
    axes[0].axhline(unrelated, color="grey", linestyle="--", label="unrelated images")
    axes[0].axhline(5 * latent[:, 0].mean(), color="red", linestyle=":", label="the test's bar (5 × frame 0)")
    axes[0].set_ylabel("latent distance"), axes[0].legend(fontsize=7)
    axes[1].plot(frames, images, marker="o", markersize=3)
    axes[1].set_ylabel("image distance"), axes[1].set_ylim(0, None)
    for ax in axes:
        ax.set_xlabel("frame t")
    fig.tight_layout()
    return fig
