"""The reproduction ledger: every claim of the registry with the measurement a chapter made of it.

Verdicts are recomputed here from the registry's rule and the chapter's measured value, so the
ledger and the chapters can never disagree about what a rule says.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .claims import describe_rule, load_registry, verdict


def measurements(results_dir) -> pd.DataFrame:
    """Every claims row of every chapter's results file, with the chapter that measured it."""
    frames = []
    for path in sorted(Path(results_dir).glob("[0-9][0-9]_*.json")):
        record = json.loads(path.read_text())
        if record.get("claims"):
            frames.append(pd.DataFrame(record["claims"]).assign(chapter=record["chapter"]))
    if not frames:
        return pd.DataFrame(columns=["id", "measured", "sd", "n", "chapter"])
    rows = pd.concat(frames, ignore_index=True)
    # a claim measured by two chapters keeps the first chapter's value (chapters are read in book order)
    return rows[rows.measured.notna()].drop_duplicates("id")[["id", "measured", "sd", "n", "chapter"]]


VARIANCE_QUANTITIES = {"variance", "active_variance", "variance_ratio", "variance_sd", "final_variance", "score"}
LOSS_QUANTITIES = {"val_loss", "test_mse"}


def control_context(results_dir) -> dict:
    """One-line readings of the controls chapter, keyed by the kind of quantity they qualify."""
    path = Path(results_dir) / "07_controls.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    runs = pd.DataFrame(record["metrics"])
    floors = pd.DataFrame(record["tables"]["floors"]).set_index("baseline")
    context = {}
    v4 = runs[runs.architecture == "v4"].groupby("dataset").variance.mean()
    if {"logistic", "noise"} <= set(v4.index):
        context["variance"] = (f"control: V4 trained on uniform noise has ×{v4['noise'] / v4['logistic']:.2f} "
                               "the latent variance it has on logistic images (07_controls)")
    pca = [b for b in floors.index if b.startswith("PCA")]
    if pca:
        context["loss"] = (f"control: predicting the mean image gives MSE {floors.loc['per-pixel mean', 'test_mse']:.4f}; "
                           f"{pca[0]} explains {floors.loc[pca[0], 'fve']:+.3f} of the variance (07_controls)")
    return context


def _reason(row, context: dict) -> str:
    if row.rule == "not_testable":
        return row.note
    if not np.isfinite(row.measured):
        return "no chapter measured it"
    spread = f" ± {row.sd:.2g}" if np.isfinite(row.sd) else ""
    reason = (f"measured {row.measured:.4g}{spread} (n = {int(row.n)}) vs claimed {row.claimed:.4g}; "
              f"rule: {describe_rule(row.rule, row.tolerance)}")
    extra = context.get("variance" if row.quantity in VARIANCE_QUANTITIES else
                        "loss" if row.quantity in LOSS_QUANTITIES else "")
    return f"{reason}. {extra}" if extra else reason


def build(results_dir) -> pd.DataFrame:
    """One row per registry claim: where it is, what was claimed and measured, the verdict and why."""
    registry = load_registry()
    ledger = registry.merge(measurements(results_dir), on="id", how="left")
    ledger["measured"] = ledger.measured.astype(float)
    ledger["sd"] = ledger.sd.astype(float)
    ledger["verdict"] = [verdict(m, c, rule, None if pd.isna(t) else float(t))
                         for m, c, rule, t in zip(ledger.measured, ledger.claimed, ledger.rule, ledger.tolerance)]
    context = control_context(results_dir)
    ledger["reason"] = [_reason(row, context) for row in ledger.itertuples()]
    return ledger[["id", "source", "section", "model", "quantity", "claimed", "measured", "sd", "n", "verdict",
                   "reason", "chapter", "rule", "tolerance", "note"]]
