"""The registry of the papers' numeric claims and the code that gives each one a verdict.

The registry (``claims.csv`` in this package) holds one row per claim: where it appears, which
model and quantity it is about, the claimed value and a tolerance rule. Rules:

- ``rel`` t: reproduced if |m - c| <= t |c|, partly if <= 2 t |c|;
- ``abs`` t: reproduced if |m - c| <= t, partly if <= 2 t;
- ``order``: reproduced within a factor of sqrt(10) (half a decade), partly within a factor of 10;
- ``at_least`` / ``at_most``: reproduced if m >= c (or m <= c);
- ``not_testable``: the note says why; never measured here.

m is the mean over seeds. The rules were fixed per quantity before any chapter was run and are not
tuned to make a claim pass.
"""
from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pandas as pd

VERDICTS = ("reproduced", "partly", "not reproduced", "not testable here", "not measured")


def load_registry() -> pd.DataFrame:
    with resources.files("ksc").joinpath("claims.csv").open() as handle:
        return pd.read_csv(handle)


def summarise(metrics: pd.DataFrame, quantities, by: str = "model") -> pd.DataFrame:
    """Long table (model, quantity, mean, sd, n) of per-run metric rows, over seeds."""
    rows = []
    for model, group in metrics.groupby(by, sort=False):
        for q in quantities:
            values = group[q].astype(float).to_numpy()
            rows.append({"model": model, "quantity": q, "mean": float(np.mean(values)),
                         "sd": float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
                         "n": len(values)})
    return pd.DataFrame(rows)


def rows(model: str, values: dict, n: int) -> pd.DataFrame:
    """Single measured values (no spread) in the long (model, quantity, mean, sd, n) form."""
    return pd.DataFrame([{"model": model, "quantity": q, "mean": float(v), "sd": float("nan"), "n": n}
                         for q, v in values.items()])


def paired(metrics: pd.DataFrame, a: str, b: str, quantity: str, label: str, name: str,
           on=("seed",), how: str = "ratio") -> pd.DataFrame:
    """a/b (``how="ratio"``) or a - b (``"difference"``) of a quantity, matched on the ``on`` columns,
    summarised over the matched pairs in the long (model, quantity, mean, sd, n) form."""
    left = metrics[metrics.model == a].set_index(list(on))[quantity].astype(float)
    right = metrics[metrics.model == b].set_index(list(on))[quantity].astype(float)
    keys = left.index.intersection(right.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (left[keys] / right[keys] if how == "ratio" else left[keys] - right[keys]).to_numpy()
    return pd.DataFrame([{"model": label, "quantity": name,
                          "mean": float(np.mean(values)) if len(values) else float("nan"),
                          "sd": float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
                          "n": len(values)}])


def paired_ratio(metrics: pd.DataFrame, numerator: str, denominator: str, quantity: str = "variance") -> pd.DataFrame:
    """Ratio numerator/denominator of a quantity, seed by seed, summarised like :func:`summarise`."""
    return paired(metrics, numerator, denominator, quantity, f"{numerator}/{denominator}", f"{quantity}_ratio")


def verdict(measured: float, claimed: float, rule: str, tolerance: float | None) -> str:
    """The verdict of one claim under its rule."""
    if rule == "not_testable":
        return "not testable here"
    if measured is None or not math.isfinite(measured):
        return "not measured"
    if rule == "at_least":
        return "reproduced" if measured >= claimed else "not reproduced"
    if rule == "at_most":
        return "reproduced" if measured <= claimed else "not reproduced"
    if rule == "order":
        if measured <= 0 or claimed <= 0:
            return "reproduced" if measured == claimed else "not reproduced"
        gap = abs(math.log10(measured / claimed))
        return "reproduced" if gap <= 0.5 else "partly" if gap <= 1.0 else "not reproduced"
    if rule in ("rel", "abs"):
        scale = abs(claimed) if rule == "rel" else 1.0
        error = abs(measured - claimed)
        return ("reproduced" if error <= tolerance * scale else
                "partly" if error <= 2 * tolerance * scale else "not reproduced")
    raise ValueError(f"unknown tolerance rule {rule!r}")


def describe_rule(rule: str, tolerance) -> str:
    """The rule in words, for the claims tables."""
    if rule == "rel":
        return f"within {tolerance:.0%}"
    if rule == "abs":
        return f"within ±{tolerance:g}"
    return {"order": "same order (×√10)", "at_least": "at least", "at_most": "at most",
            "not_testable": "—"}[rule]


def compare(summary: pd.DataFrame, ids=None, sections=None, prefixes=None) -> pd.DataFrame:
    """Claims table: each selected registry row with the measured mean ± sd (n seeds) and its verdict.

    ``summary`` is the long table of :func:`summarise` / :func:`paired_ratio`; claims are selected by
    id, by section prefix or by id prefix.
    """
    registry = load_registry()
    if ids is not None:
        registry = registry[registry.id.isin(list(ids))]
    if sections is not None:
        registry = registry[registry.section.astype(str).str.startswith(tuple(sections))]
    if prefixes is not None:
        registry = registry[registry.id.str.startswith(tuple(prefixes))]
    lookup = {(r.model, r.quantity): r for r in summary.itertuples()}
    rows = []
    for claim in registry.itertuples():
        hit = lookup.get((claim.model, claim.quantity))
        tolerance = None if pd.isna(claim.tolerance) else float(claim.tolerance)
        measured = hit.mean if hit is not None else float("nan")
        rows.append({
            "id": claim.id, "section": claim.section, "model": claim.model, "quantity": claim.quantity,
            "claimed": claim.claimed, "measured": measured,
            "sd": hit.sd if hit is not None else float("nan"), "n": hit.n if hit is not None else 0,
            "rule": describe_rule(claim.rule, tolerance),
            "verdict": verdict(measured, claim.claimed, claim.rule, tolerance),
            "claim": claim.note,
        })
    return pd.DataFrame(rows)


def disagreements(claim_table: pd.DataFrame) -> pd.DataFrame:
    """Where the draft gives one (model, quantity) different values in different places.

    One row per (model, quantity): every place with its claimed value, then our measurement.
    """
    rows = []
    for (model, quantity), group in claim_table.groupby(["model", "quantity"], sort=False):
        values = group.claimed.astype(float)
        if (values.max() - values.min()) <= 1e-3 * max(values.abs().max(), 1e-12):
            continue
        rows.append({"model": model, "quantity": quantity,
                     "the draft says": "; ".join(f"{c:g} ({s})" for s, c in zip(group.section, group.claimed)),
                     "measured": group.measured.iloc[0], "sd": group.sd.iloc[0], "n": group.n.iloc[0]})
    return pd.DataFrame(rows)
