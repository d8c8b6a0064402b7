"""Chapter 09's page text: the training summary and the verdict, every number computed (from
:mod:`ksc.chapters.sota_saes` and the registry)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.evidence import claims


def training_sentence(runs: pd.DataFrame, steps: int, learning_rate: float) -> str:
    """How many models trained in how long, and how far JumpReLU's threshold can move in ``steps`` Adam steps."""
    return (
        f"{len(runs)} models in {runs.wall_seconds.sum():.1f} s; {steps} training steps per model, in which "
        f"log θ can move by about {steps * learning_rate:.2f}: θ by a factor of at most "
        f"{np.exp(steps * learning_rate):.2f}"
    )


def verdict(
    claim_table: pd.DataFrame,
    summary: pd.DataFrame,
    nulls: pd.DataFrame,
    welch: pd.DataFrame,
    longer: pd.DataFrame,
    runs: pd.DataFrame,
    kinds,
    params: dict,
) -> str:
    """The chapter's verdict: the predictions' count, each kind and V4 on each data set at the target L0, what an
    all-zero code would meet, the mean image's loss against the draft's, the Welch tests, the longer runs and the
    paper's JumpReLU threshold. ``params``: the chapter's parameters (``chapter.parameters``)."""
    p = params

    def cell(label, quantity):
        row = summary[(summary.model == label) & (summary.quantity == quantity)]
        return float(row["mean"].iloc[0]) if len(row) else float("nan")

    lines = [
        f"**Verdict.** {claims.count_sentence(claim_table, 'Section 7.3 predictions')} "
        f"({p['n_seeds']} seeds, L0 = {p['target_l0']})."
    ]
    for d in p["datasets"]:
        parts = [
            f"{k} {cell(f'{k} ({d})', 'dead_fraction'):.0%} dead, variance {cell(f'{k} ({d})', 'variance'):.3g}, "
            f"FVE {cell(f'{k} ({d})', 'fve'):+.3f}"
            for k in list(kinds) + ["v4"]
        ]
        lines.append(f"On {d}: " + "; ".join(parts) + ".")
    zero_passes = nulls[nulls["passes (all-zero code)"]].id.tolist()
    if zero_passes:
        lines.append(
            f"An all-zero code would meet {', '.join(zero_passes)}: these predictions describe a collapse, so meeting "
            "them would not tell a collapsed SAE from a dead one."
        )
    floor = cell("v4 (logistic)", "mean_predictor_mse")
    expected = claims.load_registry().set_index("id").claimed[["s7.3-gated-valloss", "s7.3-jumprelu-valloss"]]
    v4_loss = cell("v4 (logistic)", "val_loss")
    lines.append(
        f"The mean image's test MSE on logistic images is {floor:.4f}; the draft's expected SAE losses "
        f"({expected.min():g}–{expected.max():g}) are {'above' if expected.min() > floor else 'not all above'} it, and "
        f"V4's measured {v4_loss:.4f} is {'above' if v4_loss > floor else 'not above'} it."
    )
    worse = welch[(welch.difference < 0) & (welch.p < 0.05)]
    lines.append(f"V4's FVE is significantly below {len(worse)} of the {len(welch)} SAE comparisons (Welch p < 0.05).")
    lines.append(
        f"Trained {p['long_epochs']} epochs instead of {p['epochs']}, JumpReLU and the Gated SAE end with at most "
        f"{longer.dead_fraction.max():.0%} dead units (L0 {longer.l0.min():.1f}–{longer.l0.max():.1f})."
    )
    paper_l0 = runs[runs.model == "jumprelu (paper's θ₀)"].l0
    penalties = p["jumprelu_penalties"]
    lines.append(
        f"At the paper's JumpReLU θ₀ the L0 spans only {paper_l0.min():.1f}–{paper_l0.max():.1f} over λ = "
        f"{penalties[0]:g}–{penalties[-1]:g}."
    )
    return " ".join(lines)
