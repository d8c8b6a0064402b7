"""The Markdown of chapter 05's page (do latent codes diverge like the orbits?), assembled from its computed results."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters import divergence
from ksc.data import chaos
from ksc.evidence import claims


def verdict(
    claim_table: pd.DataFrame,
    reached: list[int],
    draft: pd.DataFrame,
    draft_summary: pd.DataFrame,
    rates: pd.DataFrame,
    lyapunov: float,
) -> str:
    """The verdict paragraph: the claims' count; where in frame 0 the draft protocol's orbits become unrelated
    (``reached``: iterates per run) and the input distances that follow; the window protocol's input and latent
    growth rates, and whether every encoder's latent distance follows the input's growth within 20 %."""
    mean_reached = np.mean(reached)
    follows = divergence.latent_follows_input(rates)
    latent_rates = ", ".join(f"{rates.loc[n, 'latent growth rate']:.3f} for {n}" for n in rates.index)
    if follows.all():
        conclusion = (
            "Every encoder's latent distance follows the input's exponential growth within 20 %, as any smooth map "
            "must for small differences; the null encoders below test whether that says anything about the encoders."
        )
    else:
        conclusion = (
            "Fitted over the whole band, Top-K switches included, not every encoder's latent distance follows the "
            "input's growth within 20 %: "
            + ", ".join(rates.index[~follows])
            + " (the jumps at the switches steepen the fit; the rate between switches is in the table of null "
            "encoders below)."
        )
    return (
        f"**Verdict.** {claims.count_sentence(claim_table)}. "
        f"In the draft's protocol the two orbits reach 10 % of the attractor's size after {mean_reached:.0f} iterates "
        f"on average, i.e. in row {int(np.ceil(mean_reached / chaos.IMAGE_SIDE))} of the {chaos.IMAGE_SIDE} rows of "
        "frame 0; from there on the frames of a pair are unrelated, so every frame pair is a pair of unrelated "
        "images and the latent distance is that of two random inputs (mean input distance "
        f"{draft_summary.input_distance_mean.mean():.1f}, sd over frames and runs {draft.input_distance.std():.2f}). "
        "The flat ratios say nothing about the encoders. In the window protocol the input difference grows at "
        f"{rates['input growth rate'].mean():.3f} per iterate (λ = {lyapunov:.3f}); the latent distance grows at "
        f"{latent_rates}. {conclusion}"
    )


def _ratio(value: float) -> str:
    return "not fitted" if not np.isfinite(value) else f"{value:.3g}"


def _reading_sentence(nulls: pd.DataFrame) -> str:
    """What the pre-registered rule gives on the table ``null_encoders``, in one or two sentences."""
    reading = divergence.pre_registered_reading(nulls)
    null_rows = nulls[nulls.role == divergence.NULL]
    threshold = f"{divergence.TRANSMITS:g}"
    if not np.isfinite(reading["v4_ratio"]):
        return "V4's rate between switches could not be fitted, so the rule gives no verdict."
    v4 = (
        f"V4 transmits divergence by the rule ({reading['v4_ratio']:.3g} ≥ {threshold})"
        if reading["v4_transmits"]
        else f"V4 does not transmit divergence by the rule ({reading['v4_ratio']:.3g} < {threshold})"
    )
    if reading["informative"]:
        return f"{v4}, and the verdict is informative: {', '.join(reading['nulls_below'])} stay below {threshold}."
    smallest = _ratio(null_rows.rate_ratio_between_switches.min())
    if reading["v4_transmits"]:
        return (
            f"{v4}, but no null encoder falls below {threshold} (the smallest null ratio is {smallest}): the finding "
            "is **uninformative**, since in this protocol transmission is what any encoder does in its linear range."
        )
    return (
        f"{v4}, while no null encoder falls below {threshold} (the smallest null ratio is {smallest}): by the rule "
        "the finding is **uninformative**."
    )


def null_paragraph(nulls: pd.DataFrame) -> str:
    """The null encoders' paragraph: the pre-registered rule, each encoder's rate ratio with and without the steps
    where the Top-K support changes, how often it changes, and what the rule gives (``null_encoders`` table)."""
    rows = nulls.set_index("encoder")
    models = nulls.encoder[nulls.role == divergence.MODEL].tolist()
    null_names = nulls.encoder[nulls.role == divergence.NULL].tolist()

    def described(name: str) -> str:
        row = rows.loc[name]
        changes = row.support_changes_per_step
        switching = (
            f", the kept set changing at {changes:.2f} of the in-band steps"
            if np.isfinite(changes) and changes > 0
            else ""
        )
        return (
            f"{name} {_ratio(row.rate_ratio)} (between switches {_ratio(row.rate_ratio_between_switches)}{switching})"
        )

    threshold = f"{divergence.TRANSMITS:g}"
    return (
        "**The null encoders and the pre-registered rule.** The rule was fixed before these runs: V4 transmits "
        "divergence if its latent growth rate between Top-K support changes is at least "
        f"{threshold} of the input's (`rate_ratio_between_switches` ≥ {threshold}); that verdict is informative only "
        f"if at least one null encoder ({', '.join(null_names)}) falls below {threshold}; if every null transmits "
        "too, transmission in this protocol is what any encoder does in its linear range and the finding is "
        "uninformative. Latent over input growth rate: "
        + "; ".join(described(name) for name in models + null_names)
        + f". {_reading_sentence(nulls)}"
    )


def summary(nulls: pd.DataFrame) -> str:
    """The chapter's summary bullets (under its Summary heading): why the draft's test cannot decide, and what the
    window protocol with its null encoders shows (``null_encoders`` table)."""
    v4 = nulls.set_index("encoder").loc[divergence.V4]
    null_rows = nulls[nulls.role == divergence.NULL]
    transmitting = int(null_rows.transmits.sum())
    return (
        "- The draft's test compares frames that are unrelated from their first row on: any encoder gives a flat "
        'distance curve under it, so its ratios cannot support or refute "preserved divergence".\n'
        "- A test built so that the input difference is the divergence (the window protocol) shows V4's latent "
        f"distance growing at {_ratio(v4.rate_ratio)} times the input's rate, and at "
        f"{_ratio(v4.rate_ratio_between_switches)} times between the steps where its Top-K kept set changes; "
        f"{transmitting} of the {len(null_rows)} null encoders ({', '.join(null_rows.encoder)}) have a between-switch "
        f"ratio of at least {divergence.TRANSMITS:g}. {_reading_sentence(nulls)}\n"
    )
