"""Chapter 11's figures: metrics against omega with every seed shown, the (alpha, beta) heat map, the activation
families side by side, the activation properties next to the dead units, and the latent-width sweep; and which
variants the family and property figures show."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ksc.chapters.ablations.variants import DRAFT, value_and_slope

TITLES = {
    "dead_fraction": "dead fraction",
    "variance": "latent variance (the draft's)",
    "scale_free_variance": "scale-free variance",
    "fve": "FVE",
}
STYLE = {"logistic": dict(color="tab:blue", marker="o"), "noise": dict(color="tab:grey", marker="s")}


def _by_dataset(ax, rows: pd.DataFrame, x: str, quantity: str, xs=None):
    for dataset, style in STYLE.items():
        mine = rows[rows.dataset == dataset]
        if mine.empty:
            continue
        means = mine.groupby(x)[quantity].mean().sort_index()
        ax.plot(means.index, means.values, color=style["color"], label=f"{dataset} (mean)")
        ax.scatter(mine[x], mine[quantity], s=14, alpha=0.6, **style)


def omega_figure(runs: pd.DataFrame, quantities=tuple(TITLES)):
    """Each quantity against omega (log scale) on both data sets: every seed a dot, the mean a line."""
    rows = runs[runs.factor.isin(["default", "omega"])]
    fig, axes = plt.subplots(1, len(quantities), figsize=(3.6 * len(quantities), 3.2))
    for ax, quantity in zip(np.atleast_1d(axes), quantities):
        _by_dataset(ax, rows, "omega", quantity)
        ax.set_xscale("log", base=2)
        ax.axvline(DRAFT["omega"], color="black", linewidth=0.6, linestyle=":")
        if quantity == "fve":
            ax.axhline(0.0, color="black", linewidth=0.6, linestyle="--")  # the mean image
        ax.set_xlabel(f"ω in sin(ωx) + {DRAFT['alpha']:g} tanh({DRAFT['beta']:g}x)")
        ax.set_title(TITLES[quantity], fontsize=10)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def heat_maps(tables: dict, quantity: str):
    """One (alpha, beta) heat map per data set (``tables``: data set -> table of :func:`heat_map`); blank cells were
    not trained."""
    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.4), squeeze=False)
    for ax, (dataset, table) in zip(axes[0], tables.items()):
        values = table.to_numpy(float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto")
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if np.isfinite(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:.3g}", ha="center", va="center", color="white", fontsize=8)
        ax.set_xticks(range(values.shape[1]), [f"{b:g}" for b in table.columns])
        ax.set_yticks(range(values.shape[0]), [f"{a:g}" for a in table.index])
        ax.set_xlabel("β (inside tanh)")
        ax.set_ylabel("α (weight of tanh)")
        ax.set_title(f"{TITLES.get(quantity, quantity)} on {dataset}", fontsize=10)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def family_figure(runs: pd.DataFrame, order, quantities=tuple(TITLES)):
    """Each quantity per variant in ``order`` on both data sets, every seed a dot."""
    fig, axes = plt.subplots(1, len(quantities), figsize=(3.6 * len(quantities), 3.6), sharey=True)
    positions = {name: i for i, name in enumerate(order)}
    for ax, quantity in zip(np.atleast_1d(axes), quantities):
        for shift, (dataset, style) in zip((-0.15, 0.15), STYLE.items()):
            mine = runs[(runs.dataset == dataset) & runs.variant.isin(order)]
            ax.scatter(mine[quantity], mine.variant.map(positions) + shift, s=16, label=dataset, alpha=0.8, **style)
        ax.set_title(TITLES[quantity], fontsize=10)
        ax.grid(axis="y", linewidth=0.3)
        if quantity == "fve":
            ax.axvline(0.0, color="black", linewidth=0.6, linestyle="--")  # the mean image
    first = np.atleast_1d(axes)[0]
    first.set_yticks(range(len(order)), order)
    first.invert_yaxis()
    first.legend(fontsize=8)
    fig.tight_layout()
    return fig


def family_order(variants) -> list[str]:
    """The variants :func:`family_figure` shows, top to bottom: V4, the activations put in its place and V4 with Top-K
    by signed value, then sin(8x) alone (alpha = 0)."""
    order = ["V4"] + [v.name for v in variants if v.factor in ("activation", "Top-K selection")]
    return order + [v.name for v in variants if v.factor == "alpha" and v.alpha == 0]


def activation_shapes(variants) -> pd.DataFrame:
    """The activations :func:`property_figure` draws (V4, the activations put in its place, sin(8x) alone): one row
    each with its variant name, family and constants."""
    shapes = [v for v in variants if v.factor in ("default", "activation") or (v.factor == "alpha" and v.alpha == 0)]
    return pd.DataFrame([dict(variant=v.name, activation=v.activation, **v.constants) for v in shapes])


def property_figure(properties: pd.DataFrame, families: pd.DataFrame):
    """Left: each family's f and |f'| over the pre-activation range V4 sees. Right: mean |f'| against dead fraction for
    every variant with V4's Top-K and penalty, on both data sets."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.0))
    v4 = properties[(properties.factor == "default") & (properties.dataset == "logistic")].iloc[0]
    x = np.linspace(v4.pre_low, v4.pre_high, 2001)
    for row in families.itertuples():
        f, slope = value_and_slope(row.activation, x, omega=row.omega, alpha=row.alpha, beta=row.beta)
        (line,) = left.plot(x, f, linewidth=1, label=row.variant)
        left.plot(x, np.abs(slope), linewidth=0.6, linestyle="--", color=line.get_color())
    left.plot(x, x, color="black", linewidth=0.5, linestyle=":", label="f(x) = x")
    left.set_ylim(-3, 11)
    left.set_xlabel("pre-activation x (central 99 % of what V4 sees on logistic images)")
    left.set_title("f (solid) and |f'| (dashed)", fontsize=10)
    left.legend(fontsize=7, ncol=2)
    for dataset, style in STYLE.items():
        mine = properties[properties.dataset == dataset]
        right.scatter(mine.mean_abs_derivative, mine.dead_fraction, s=18, label=dataset, **style)
        if dataset == "logistic":
            for row in mine.itertuples():
                right.annotate(row.variant, (row.mean_abs_derivative, row.dead_fraction), fontsize=6, alpha=0.8)
    right.axvline(1.0, color="black", linewidth=0.6, linestyle=":")
    right.set_xscale("log")
    right.set_xlabel("mean |f'| on the pre-activations the trained model sees")
    right.set_ylabel("dead fraction")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def scale_figure(scale: pd.DataFrame, cost: pd.DataFrame):
    """Against latent width: scale-free variance and variance on both data sets on one axis each, dead fraction, and
    the wall time per model-run of the V4 and ReLU computations."""
    fig, axes = plt.subplots(1, 4, figsize=(15.0, 3.6))
    variants = list(dict.fromkeys(scale.variant))
    colours = dict(zip(variants, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, quantity in zip(axes[:3], ("scale_free_variance", "variance", "dead_fraction")):
        for variant in variants:
            for dataset, dash in (("logistic", "-"), ("noise", "--")):
                line = scale[(scale.variant == variant) & (scale.dataset == dataset)].sort_values("latent_dim")
                if len(line):
                    label = f"{variant}, {dataset}"
                    ax.plot(line.latent_dim, line[quantity], dash, marker="o", color=colours[variant], label=label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("latent width")
        ax.set_title(TITLES[quantity], fontsize=10)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=6)
    axes[3].plot(cost.latent_dim, cost.v4_seconds_per_run, marker="o", label="V4 (chaos activation)")
    axes[3].plot(cost.latent_dim, cost.relu_seconds_per_run, marker="s", label="V3 and dense ReLU")
    axes[3].set_xscale("log", base=2)
    axes[3].set_xlabel("latent width")
    axes[3].set_title("training seconds per model-run", fontsize=10)
    axes[2].set_ylim(-0.02, 1.0)
    axes[3].legend(fontsize=7)
    fig.tight_layout()
    return fig
