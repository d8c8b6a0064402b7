"""Chapter 13's figure: how far each coder's training went (validation FVE after every epoch)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

TITLES = {
    "topk_sae": "TopK SAE",
    "vsae": "vSAE, sampling + KL",
    "vsae_mean": "vSAE, KL only (ours)",
    "vsae_authors": "the authors' code path",
    "v4_coder": "V4's latent block",
}


def convergence_figure(curves: pd.DataFrame):
    """Validation FVE after every epoch (median over seeds), one panel per arm (three a row), one line per k."""
    models = [m for m in TITLES if m in set(curves.model)]
    rows = -(-len(models) // 3)
    fig, axes = plt.subplots(rows, 3, figsize=(7.0, 2.3 * rows), squeeze=False, sharey=True)
    ks = sorted(curves.k.unique())
    for ax, model in zip(axes.flat, models):
        for k in ks:
            line = curves[(curves.model == model) & (curves.k == k)].sort_values("epoch")
            ax.plot(line.epoch, line.val_fve, marker="o", color="black", alpha=0.3 + 0.7 * (ks.index(k) + 1) / len(ks),
                    label=f"k = {k}")  # fmt: skip
        ax.set_xticks(sorted(curves.epoch.unique()))
        ax.set_title(TITLES[model], fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("validation FVE", fontsize=8)
    for ax in list(axes.flat)[len(models) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
