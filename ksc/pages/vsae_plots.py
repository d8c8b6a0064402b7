"""Chapter 06's figures: the living-fraction / FVE trade-off across beta, the 2 x 2 of noise and KL on dead
latents, the validation curves that show how far training went, and the attribution of the authors' code path's dead
latents to its differences from ours."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

LABELS = {
    "topk_sae": "TopK SAE",
    "vsae": "vSAE, sampling + KL (as described)",
    "vsae_mean": "vSAE, KL only (as the authors' code runs)",
    "noise_only": "sampling only",
}
COLOURS = {"topk_sae": "black", "vsae": "tab:red", "vsae_mean": "tab:blue", "noise_only": "tab:orange"}


def frontier_figure(frontier: pd.DataFrame, auxk: bool = True):
    """Living fraction against FVE, one panel per data set: each vSAE's beta grid as a line per k (marker size
    grows with beta), the TopK SAE as a cross per k."""
    datasets = list(dict.fromkeys(frontier.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.0 * len(datasets), 4.0), squeeze=False)
    ks = sorted(frontier.k.unique())
    shades = dict(zip(ks, np.linspace(0.35, 1.0, len(ks))))
    for ax, dataset in zip(axes[0], datasets):
        rows = frontier[(frontier.dataset == dataset) & (frontier.auxk == auxk)]
        for model in ("vsae", "vsae_mean"):
            for k in ks:
                line = rows[(rows.model == model) & (rows.k == k)].sort_values("beta")
                if line.empty:
                    continue
                ax.plot(line.fve, line.living, color=COLOURS[model], alpha=shades[k], linewidth=1)
                ax.scatter(
                    line.fve,
                    line.living,
                    s=12 + 40 * np.arange(len(line)),
                    color=COLOURS[model],
                    alpha=shades[k],
                    label=LABELS[model] if k == ks[-1] else None,
                )
        topk = rows[rows.model == "topk_sae"]
        ax.scatter(topk.fve, topk.living, marker="x", color="black", s=40, label=LABELS["topk_sae"])
        for r in topk.itertuples():
            ax.annotate(f"k={r.k}", (r.fve, r.living), fontsize=7, xytext=(3, -8), textcoords="offset points")
        ax.axhline(0.18, color="gray", linestyle=":", linewidth=1)
        ax.text(ax.get_xlim()[0], 0.19, "paper: 18 % of the TopK SAE's", fontsize=7, color="gray")
        ax.set_xlabel("FVE (test)"), ax.set_ylabel("living fraction of latents"), ax.set_title(dataset, fontsize=10)
        ax.set_ylim(-0.03, 1.05)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def factorial_figure(rows: pd.DataFrame):
    """Dead fraction in the four cells of sampling x KL (one row per data set and k, each at its own beta), per k,
    one panel per data set."""
    datasets = list(dict.fromkeys(rows.dataset))
    cells = ["neither", "sampling only", "KL only", "sampling and KL"]
    colours = ["black", "tab:orange", "tab:blue", "tab:red"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.0 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = rows[rows.dataset == dataset].sort_values("k")
        x = np.arange(len(part))
        for i, (cell, colour) in enumerate(zip(cells, colours)):
            ax.bar(x + (i - 1.5) * 0.2, part[cell], width=0.2, color=colour, label=cell)
        ax.set_xticks(x, [f"k={k}\nβ={b:g}" for k, b in zip(part.k, part.beta)])
        ax.set_ylabel("dead fraction"), ax.set_title(dataset, fontsize=10)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def convergence_figure(curves: pd.DataFrame):
    """Validation FVE and silent fraction after every epoch (median over seeds), per data set and cell, one line
    per k (darker: larger k); the curves given are those to show (e.g. each vSAE at its chosen beta)."""
    datasets = list(dict.fromkeys(curves.dataset))
    fig, axes = plt.subplots(2, len(datasets), figsize=(4.6 * len(datasets), 5.6), squeeze=False)
    for j, dataset in enumerate(datasets):
        part = curves[curves.dataset == dataset]
        for (model, k), group in part.groupby(["model", "k"]):
            median = group.groupby("epoch")[["val_fve", "val_silent"]].median()
            for i, column in enumerate(("val_fve", "val_silent")):
                axes[i][j].plot(
                    median.index,
                    median[column],
                    color=COLOURS.get(model, "gray"),
                    alpha=0.35 + 0.65 * k / part.k.max(),
                    label=f"{LABELS.get(model, model)}" if k == part.k.max() else None,
                )
        axes[0][j].set_title(dataset, fontsize=10)
        axes[0][j].set_ylabel("validation FVE"), axes[1][j].set_ylabel("silent fraction (validation)")
        axes[1][j].set_xlabel("epoch")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def attribution_figure(attribution: pd.DataFrame, topk_living: dict):
    """Living fraction of every attribution variant (the authors' path, each difference switched alone, all of them),
    one panel per k: each seed a small marker, the mean over seeds a large one, at beta = 0 (open) and at the beta
    chosen for the authors' path (filled); the dashed line is the TopK SAE's mean at that k (``topk_living``)."""
    ks = sorted(attribution.k.unique())
    variants = list(dict.fromkeys(attribution.variant))
    fig, axes = plt.subplots(1, len(ks), figsize=(max(6.0, 0.9 * len(variants)) * len(ks) / 1.4, 4.2), squeeze=False)
    x = {v: i for i, v in enumerate(variants)}
    for ax, k in zip(axes[0], ks):
        part = attribution[attribution.k == k]
        for beta, group in part.groupby("beta"):
            shift, filled = (-0.12, "none") if beta == 0 else (0.12, "tab:blue")
            positions = group.variant.map(x) + shift
            ax.scatter(positions, group.living, s=10, color="tab:blue", alpha=0.5)
            means = group.groupby("variant", sort=False).living.mean()
            ax.scatter(
                means.index.map(x) + shift,
                means,
                s=60,
                facecolors=filled,
                edgecolors="tab:blue",
                label=f"β = {beta:g}" + (" (no KL term)" if beta == 0 else " (chosen for the authors' path)"),
            )
        if k in topk_living:
            ax.axhline(topk_living[k], color="black", linestyle="--", linewidth=1, label="TopK SAE")
        ax.set_xticks(range(len(variants)), variants, rotation=40, ha="right", fontsize=8)
        ax.set_ylim(-0.03, 1.05), ax.set_ylabel("living fraction of latents"), ax.set_title(f"k = {k}", fontsize=10)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
