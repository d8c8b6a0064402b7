"""The book's figures. Each function takes plain arrays or DataFrames and returns the Figure.

General figures come first, then one section per chapter in book order. Every mean ± sd drawn here is
computed by :func:`mean_sd`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

LOG_FLOOR = 1e-12  # where a variance of exactly zero is drawn on a log axis


def mean_sd(frame: pd.DataFrame, by, quantity: str) -> tuple[pd.Series, pd.Series]:
    """Mean and sample sd (0 for a single value) of ``quantity`` per group of ``by``, groups in order of appearance."""
    grouped = frame.groupby(by, sort=False)[quantity]
    return grouped.mean(), grouped.std(ddof=1).fillna(0.0)


# --------------------------------------------------------------------------------------------------------------------
# General figures


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


def metric_bars(
    summary: pd.DataFrame,
    quantity: str,
    reference: float | None = None,
    reference_label: str = "",
    title: str | None = None,
):
    """One quantity per model with ±sd error bars, optionally a horizontal reference line."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    _bars(ax, summary, quantity)
    if reference is not None:
        ax.axhline(reference, color="crimson", linestyle="--", label=reference_label)
        ax.legend(fontsize=8)
    ax.set_title(title or quantity)
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


# --------------------------------------------------------------------------------------------------------------------
# Chapter 01: the architecture evolution


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


# --------------------------------------------------------------------------------------------------------------------
# Chapter 02: the K sweep


def sweep_figure(per_run: pd.DataFrame, by: str = "K", claimed: dict | None = None, highlight=None):
    """Four panels over a swept setting: variance, sparsity-variance trade-off, dead units, losses.

    ``claimed`` maps a quantity to {setting: claimed value}, drawn as crosses beside our means.
    """
    claimed = claimed or {}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    x = sorted(per_run[by].unique())
    m, s = mean_sd(per_run, by, "variance")
    ax = axes[0, 0]
    ax.errorbar(x, m[x], yerr=s[x], marker="o", capsize=3, label="measured (mean ± sd)")
    if "variance" in claimed:
        ax.plot(
            list(claimed["variance"]), list(claimed["variance"].values()), "x", color="crimson", ms=8, label="draft"
        )
    ax.set_xscale("log", base=2), ax.set_xlabel(by), ax.set_title("(a) mean latent variance"), ax.legend(fontsize=8)
    ax = axes[0, 1]
    ms, _ = mean_sd(per_run, by, "sparsity")
    ax.plot(ms[x] * 100, m[x], marker="o")
    for xi in x:
        ax.annotate(
            f"{by}={xi}",
            (ms[xi] * 100, m[xi]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
            color="crimson" if xi == highlight else "black",
        )
    ax.set_xlabel("sparsity (%)"), ax.set_ylabel("variance"), ax.set_title("(b) sparsity-variance trade-off")
    ax = axes[1, 0]
    md, sd = mean_sd(per_run, by, "dead_units")
    ax.errorbar(x, md[x], yerr=sd[x], marker="o", capsize=3)
    ax.set_xscale("log", base=2), ax.set_xlabel(by), ax.set_title("(c) dead units"), ax.set_ylim(bottom=-0.5)
    ax = axes[1, 1]
    for q, style in (("val_loss", "o-"), ("test_mse", "s--")):
        mq, sq = mean_sd(per_run, by, q)
        ax.errorbar(x, mq[x], yerr=sq[x], fmt=style, capsize=3, label=q)
    if "val_loss" in claimed:
        ax.plot(
            list(claimed["val_loss"]),
            list(claimed["val_loss"].values()),
            "x",
            color="crimson",
            ms=8,
            label="draft val loss",
        )
    ax.axhline(per_run["mean_predictor_mse"].mean(), color="gray", linestyle=":", label="per-pixel-mean predictor")
    ax.set_xscale("log", base=2), ax.set_xlabel(by), ax.set_title("(d) reconstruction"), ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Chapter 03: fair baselines and stability


def fits_figure(per_run: pd.DataFrame, models, quantities, by: str = "model"):
    """Every seed as a dot, with the mean ± sd as an error bar, one panel per quantity."""
    fig, axes = plt.subplots(1, len(quantities), figsize=(4 * len(quantities), 3.4), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, q in zip(axes[0], quantities):
        for i, model in enumerate(models):
            values = per_run.loc[per_run[by] == model, q].to_numpy(float)
            ax.plot(i + rng.uniform(-0.12, 0.12, len(values)), values, ".", alpha=0.6)
            m, sd = mean_sd(per_run[per_run[by] == model], by, q)
            ax.errorbar(i + 0.3, m.iloc[0], yerr=sd.iloc[0], fmt="o", color="black", capsize=4)
        ax.set_xticks(range(len(models)), models, rotation=20, fontsize=8)
        ax.set_title(q)
    fig.tight_layout()
    return fig


def fair_comparison_figure(per_run: pd.DataFrame, models, ratios: pd.DataFrame, table: pd.DataFrame):
    """Variance with the ratios to the baselines, dead units, reconstruction against the mean, and a summary table."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    colors = plt.cm.viridis(np.linspace(0.15, 0.85, len(models)))
    for ax, q, title in (
        (axes[0, 0], "variance", "mean latent variance"),
        (axes[0, 1], "dead_fraction", "dead units (fraction)"),
        (axes[1, 0], "test_mse", "test MSE"),
    ):
        means, sds = mean_sd(per_run[per_run.model.isin(models)], "model", q)
        ax.bar(models, means[models], yerr=sds[models], capsize=4, color=colors)
        ax.set_title(title), ax.tick_params(axis="x", labelsize=8)
    axes[1, 0].axhline(
        per_run["mean_predictor_mse"].mean(), color="crimson", linestyle="--", label="per-pixel-mean predictor"
    )
    axes[1, 0].set_ylim(per_run["test_mse"].min() * 0.97, per_run["test_mse"].max() * 1.02)
    axes[1, 0].legend(fontsize=8)
    text = "\n".join(f"{r.model}: ×{r['mean']:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" for _, r in ratios.iterrows())
    axes[0, 0].text(
        0.02,
        0.97,
        "variance ratios (95% CI)\n" + text,
        transform=axes[0, 0].transAxes,
        va="top",
        fontsize=7,
        bbox=dict(facecolor="white", alpha=0.8),
    )
    ax = axes[1, 1]
    ax.axis("off")
    cell_text = table.astype(str).values.tolist()
    shown = ax.table(cellText=cell_text, colLabels=list(table.columns), rowLabels=list(table.index), loc="center")
    shown.auto_set_font_size(False), shown.set_fontsize(7), shown.scale(1, 1.4)
    fig.tight_layout()
    return fig


def stability_figure(history: pd.DataFrame):
    """Dead units and latent variance on held-out images after every epoch."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    axes[0].plot(history["epoch"], history["probe_dead_units"], marker=".")
    axes[0].set_title("dead units after each epoch"), axes[0].set_xlabel("epoch"), axes[0].set_ylim(bottom=-0.5)
    axes[1].plot(history["epoch"], history["probe_variance"], marker=".")
    axes[1].set_title("mean latent variance after each epoch"), axes[1].set_xlabel("epoch")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Chapter 04: the Henon map


def two_systems_figure(latents: dict):
    """Top: the latents of each system on the first two principal axes of all of them, and on the first two
    units. Bottom: the distribution of per-unit variances per system."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    stacked = np.concatenate(list(latents.values()))
    centred = stacked - stacked.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    for label, z in latents.items():
        projected = (z - stacked.mean(axis=0)) @ vt[:2].T
        axes[0, 0].scatter(projected[:, 0], projected[:, 1], s=4, alpha=0.5, label=label)
        axes[0, 1].scatter(z[:, 0], z[:, 1], s=4, alpha=0.5, label=label)
        axes[1, 0].hist(
            np.var(z, axis=0), bins=30, histtype="step", label=f"{label} (mean {np.mean(np.var(z, axis=0)):.3f})"
        )
        axes[1, 1].hist(np.ravel(z)[np.abs(np.ravel(z)) >= 1e-6], bins=60, histtype="step", density=True, label=label)
    axes[0, 0].set_title("latents on the first two principal axes"), axes[0, 1].set_title("latent units 0 and 1")
    axes[1, 0].set_title("per-unit variance"), axes[1, 1].set_title("non-zero latent values")
    for ax in axes.ravel():
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Chapter 06: sparse autoencoders


def sae_panels(per_run: pd.DataFrame, panels, hue: str = "model", by: str = "dataset"):
    """One row per value of ``by`` (a data set), one panel per (x, y) pair: mean ± sd over seeds per ``hue``.

    ``panels`` is a list of (x, y) quantity names; an x that is itself measured (L0) is averaged too.
    """
    groups = list(per_run[by].unique())
    fig, axes = plt.subplots(len(groups), len(panels), figsize=(4.2 * len(panels), 3.4 * len(groups)), squeeze=False)
    for row, group in zip(axes, groups):
        data = per_run[per_run[by] == group]
        for ax, (x, y) in zip(row, panels):
            for model, runs in data.groupby(hue, sort=False):
                runs = runs.sort_values("k")
                xm, _ = mean_sd(runs, "k", x)
                ym, ys = mean_sd(runs, "k", y)
                ax.errorbar(xm, ym, yerr=ys, marker="o", capsize=3, label=model)
            if x == "k":
                ax.set_xscale("log", base=2)
            ax.set_xlabel(x), ax.set_ylabel(y), ax.set_title(f"{y} vs {x} ({group})", fontsize=10)
        row[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def density_histograms(densities: dict, n_samples: dict, bins: int = 30):
    """Histogram of log10 firing frequency per latent, one panel per data set; dead latents in a bar at the left.

    ``densities`` maps data set -> {model: per-latent frequencies pooled over seeds};
    ``n_samples`` maps data set -> evaluation set size (the smallest visible frequency is 1 / n).
    """
    fig, axes = plt.subplots(1, len(densities), figsize=(5.2 * len(densities), 3.4), squeeze=False)
    for ax, (dataset, by_model) in zip(axes[0], densities.items()):
        floor = np.log10(1.0 / n_samples[dataset])
        edges = np.linspace(floor - 1, 0, bins + 1)
        for model, freq in by_model.items():
            logf = np.where(freq > 0, np.log10(np.maximum(freq, 1e-12)), floor - 0.5)
            ax.hist(logf, bins=edges, histtype="step", linewidth=1.5, label=f"{model} ({np.mean(freq == 0):.0%} dead)")
        ax.axvline(floor - 0.05, color="gray", linestyle=":")
        ax.text(floor - 0.95, ax.get_ylim()[1] * 0.9, "never\nfires", fontsize=7, color="gray", va="top")
        ax.set_xlabel("log10 firing frequency"), ax.set_ylabel("latents"), ax.set_title(dataset, fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def decoder_maps(maps: dict):
    """Scatter of 2-D embeddings of decoder directions coloured by log10 firing frequency (dead latents grey).

    ``maps`` maps a panel title -> (xy of shape (latents, 2), firing frequency of shape (latents,)).
    """
    fig, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 3.9), squeeze=False)
    for ax, (title, (xy, freq)) in zip(axes[0], maps.items()):
        dead = freq == 0
        ax.scatter(xy[dead, 0], xy[dead, 1], s=8, color="lightgray", label=f"dead ({dead.sum()})")
        points = ax.scatter(xy[~dead, 0], xy[~dead, 1], s=10, c=np.log10(freq[~dead]), cmap="viridis", vmin=-4, vmax=0)
        ax.set_xticks([]), ax.set_yticks([]), ax.set_title(title, fontsize=9), ax.legend(fontsize=7, loc="lower right")
    fig.colorbar(points, ax=list(axes[0]), label="log10 firing frequency", shrink=0.8)
    return fig


# --------------------------------------------------------------------------------------------------------------------
# The ledger


FINDING_COLOURS = {
    "reproduced, informative": "#2a9d8f",
    "reproduced, no null measured": "#76c893",
    "reproduced, uninformative": "#a8dadc",
    "fixed by construction": "#cdd5db",
    "partly": "#e9c46a",
    "not reproduced": "#e76f51",
    "cannot tell": "#f4a261",
    "the paper contradicts itself": "#9d4edd",
    "prediction met": "#457b9d",
    "prediction met, no null measured": "#5e81ac",
    "prediction met, uninformative": "#a3b8cc",
    "prediction not met": "#1d3557",
    "prediction: cannot tell": "#6c8ebf",
    "protocol cannot decide": "#8d99ae",
    "arithmetic checked": "#b5838d",
    "arithmetic fails": "#8c5a66",
    "not testable here": "#adb5bd",
    "not measured": "#6c757d",
    "not judged: a test statistic": "#dee2e6",
}


def findings_figure(tally: pd.DataFrame):
    """The distinct measurements of each paper stacked by finding (rows of :func:`ksc.evidence.ledger.tallies`)."""
    shown = tally.drop(index="all distinct measurements").T
    ax = shown.plot.barh(stacked=True, figsize=(8, 3), color=[FINDING_COLOURS[c] for c in shown.columns])
    ax.set_xlabel("distinct measurements"), ax.set_ylabel("")
    ax.legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.figure.tight_layout()
    return ax.figure


# --------------------------------------------------------------------------------------------------------------------
# Performance page


def speed_figure(speedups: pd.DataFrame):
    """Seconds per model-run of each training way (rows of :func:`ksc.chapters.performance.speedups`), speed-up
    on each bar."""
    labels = [
        way if way.startswith("keras") else f"{way}, M = {m} ({graph})"
        for way, m, graph in zip(speedups.way, speedups.members, speedups.graph)
    ]
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(labels) + 1.2))
    bars = ax.barh(labels, speedups.seconds_per_run, color=plt.cm.viridis(np.linspace(0.1, 0.85, len(labels))))
    for bar, ratio in zip(bars, speedups.speedup_vs_fit):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f"  ×{ratio:.1f}", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("seconds per model-run (median over repeats)")
    ax.set_xlim(0, 1.25 * speedups.seconds_per_run.max())
    fig.tight_layout()
    return fig


def chapter_times_figure(times: pd.DataFrame):
    """Wall time per chapter, the part spent training drawn over it (rows of
    :func:`ksc.chapters.performance.chapter_times`)."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(times) + 1.2))
    ax.barh(times.chapter, times.wall_seconds, color="0.8", label="whole chapter")
    ax.barh(times.chapter, times.training_seconds, color=plt.cm.viridis(0.3), label="training models")
    ax.invert_yaxis()
    ax.set_xlabel("wall time (s)"), ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Chapter 09: the SAEs at one L0 (chapter 12's figures are in ksc.pages.randomness_plots)


def l0_curves(runs: pd.DataFrame, target: float, by: str = "dataset"):
    """L0 against the penalty coefficient (log axis), one panel per data set, mean ± sd over seeds per model,
    with the target L0 as a dashed line."""
    groups = list(runs[by].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False, sharey=True)
    for ax, group in zip(axes[0], groups):
        for model, data in runs[runs[by] == group].groupby("model", sort=False):
            mean, sd = mean_sd(data, "coefficient", "l0")
            ax.errorbar(mean.index, mean, yerr=sd, marker="o", capsize=3, label=model)
        ax.axhline(target, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log"), ax.set_xlabel("penalty coefficient λ"), ax.set_title(group, fontsize=10)
    axes[0][0].set_ylabel("L0 (active latents per sample)"), axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig
