"""The reproduction ledger: every claim of the registry with the measurement a chapter made of it.

Three levels, all recomputed here from the results files the chapters wrote:

- :func:`build`: one row per place a paper states a number, with the chapter's measurement, the
  rule's verdict (the same function the chapters call, so the two cannot disagree) and which null
  references (``nulls``) pass the same rule;
- :func:`distinct`: one row per distinct measurement: places that repeat one number count once, places
  that give one quantity incompatible values become one *contradicts itself* row;
- :func:`tallies`: distinct measurements counted by finding, each paper apart.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.evidence import nulls
from ksc.evidence.claims import contradict, describe_rule, load_registry, to_fve, verdict
from ksc.runtime.declarations import table
from ksc.runtime.results import chapter_results, every_chapter

FINDINGS = (
    "reproduced, informative",
    "reproduced, no null measured",
    "reproduced, uninformative",
    "fixed by construction",
    "partly",
    "not reproduced",
    "cannot tell",
    "the paper contradicts itself",
    "prediction met",
    "prediction met, no null measured",
    "prediction met, uninformative",
    "prediction not met",
    "prediction: cannot tell",
    "protocol cannot decide",
    "arithmetic checked",
    "arithmetic fails",
    "not testable here",
    "not measured",
    "not judged: a test statistic",
)
# findings a reader may count as the paper's numbers holding up
HOLDS = ("reproduced, informative",)
MSE_FAMILY = {"val_loss": "mse", "test_mse": "mse"}


def measurements(results_dir) -> pd.DataFrame:
    """Every claims row of every chapter's results file, with the chapter that measured it."""
    frames = []
    for record in every_chapter(results_dir):
        if not record["claims"].empty and not record["chapter"].startswith("9"):
            frames.append(record["claims"].assign(chapter=record["chapter"]))
    columns = ["id", "measured", "sd", "n", "floor", "ci_low", "ci_high", "chapter", "by_k", "chapter_verdict"]
    if not frames:
        return pd.DataFrame(columns=columns)
    rows = pd.concat(frames, ignore_index=True)
    # a row judged at every k separately (chapter 06) keeps the chapter's combined verdict
    rows["chapter_verdict"] = rows.verdict.where(rows.get("by_k", pd.Series(index=rows.index)).notna())
    for column in ("floor", "ci_low", "ci_high", "by_k"):
        if column not in rows:
            rows[column] = np.nan
    # a claim measured by two chapters keeps the first chapter's value (chapters are read in book order)
    return rows[rows.measured.notna()].drop_duplicates("id")[columns]


def _tolerance(row) -> float | None:
    return None if pd.isna(row.tolerance) else float(row.tolerance)


def _as_loss(fve: float, floor: float) -> float:
    """The loss at which a reconstruction explains ``fve`` of the logistic images' variance (mean-image MSE
    ``floor``): how a null's FVE, measured on its own data, is set against a claimed loss."""
    return floor * (1.0 - fve)


class NullCheck(NamedTuple):
    passing: list  # the null references the row's rule accepts, as text
    fixed: bool  # whether the architecture fixes the value (construction)
    measured: bool  # whether any null reference was measured for the row's model and quantity
    failing: list  # the measured null references the rule rejects, as text


def _nulls_passing(row, refs: pd.DataFrame, parameters: dict) -> NullCheck:
    """Which null references the row's rule accepts and which it rejects, and whether the architecture fixes the
    value."""
    if row.rule == "not_testable" or row.kind in ("statistic", "arithmetic"):
        return NullCheck([], False, False, [])
    chapter_params = parameters.get(row.chapter, {}) if isinstance(row.chapter, str) else {}
    if isinstance(row.construction, str) and row.construction:
        value = nulls.construction_value(row.construction, row.model, chapter_params)
        if value is not None and verdict(value, row.claimed, row.rule, _tolerance(row)) == "reproduced":
            return NullCheck(
                [f"construction ({nulls.CONSTRUCTION_WHY[row.construction]}: {value:.4g})"], True, True, []
            )
    applicable = refs[(refs.model == "*") | (refs.model == row.model)]
    applicable = applicable[~((applicable.reference == "all-dead V1") & str(row.model).startswith("v1"))]
    checked = []  # (text, passes)
    for ref in applicable[applicable.quantity == row.quantity].itertuples():
        shown = f"FVE {to_fve(ref.value, row.floor):+.3f}" if row.rule == "fve" else f"{ref.value:.4g}"
        ok = verdict(ref.value, row.claimed, row.rule, _tolerance(row), floor=row.floor) == "reproduced"
        checked.append((f"{ref.reference} ({shown}, {ref.source})", ok))
    if row.rule == "fve" and np.isfinite(row.floor):
        for ref in applicable[applicable.quantity == "fve"].itertuples():
            ok = verdict(_as_loss(ref.value, row.floor), row.claimed, row.rule, _tolerance(row), floor=row.floor)
            checked.append(
                (f"{ref.reference} (FVE {ref.value:+.3f} on its own data, {ref.source})", ok == "reproduced")
            )
    return NullCheck([t for t, ok in checked if ok], False, bool(checked), [t for t, ok in checked if not ok])


def _finding(row) -> str:
    """What one place's verdict means, given its kind and the null references."""
    if row.kind == "statistic":
        return "not judged: a test statistic"
    if row.kind == "protocol":
        return "protocol cannot decide"
    if row.kind == "arithmetic":
        return "arithmetic checked" if row.verdict == "reproduced" else "arithmetic fails"
    if row.verdict in ("not testable here", "not measured"):
        return row.verdict
    if row.kind == "prediction":
        if row.verdict != "reproduced":
            return "prediction: cannot tell" if row.verdict == "cannot tell" else "prediction not met"
        if row.null_passes:
            return "prediction met, uninformative"
        return "prediction met" if row.null_measured else "prediction met, no null measured"
    if row.verdict == "reproduced":
        if row.by_construction:
            return "fixed by construction"
        if row.null_passes:
            return "reproduced, uninformative"
        return "reproduced, informative" if row.null_measured else "reproduced, no null measured"
    return row.verdict


def _reason(row) -> str:
    if row.rule == "not_testable":
        return row.note
    if not np.isfinite(row.measured):
        return "no chapter measured it"
    spread = (
        f" ± {row.sd:.2g}"
        if np.isfinite(row.sd)
        else f" (95 % interval {row.ci_low:.4g} to {row.ci_high:.4g})"
        if np.isfinite(row.ci_low)
        else ""
    )
    reason = (
        f"measured {row.measured:.4g}{spread} (n = {int(row.n)}) vs claimed {row.claimed:.4g}; "
        f"rule: {describe_rule(row.rule, _tolerance(row))}"
    )
    if row.rule == "fve" and np.isfinite(row.floor):
        reason += (
            f" (FVE {to_fve(row.measured, row.floor):+.3f} vs claimed {to_fve(row.claimed, row.floor):+.3f}; "
            f"mean-image MSE {row.floor:.4g})"
        )
    if row.null_passes:
        reason += ". Null references that pass the same rule: " + "; ".join(row.null_passes)
    elif row.verdict == "reproduced" and not row.null_measured and row.kind in ("number", "prediction", "derived"):
        reason += f". No null reference was measured for {row.model}'s {row.quantity}"
    elif row.verdict == "reproduced" and row.null_fails:
        reason += ". Every measured null reference fails the rule: " + "; ".join(row.null_fails)
    if isinstance(row.stand_in, str) and row.stand_in:
        reason += f". Measured on a stand-in: {row.stand_in}"
    if row.kind == "protocol":
        reason += (
            ". The protocol compares frames that are unrelated images from their first row on "
            "(chapters 05 and 10), so it cannot decide this claim"
        )
    return reason


def build(results_dir) -> pd.DataFrame:
    """One row per registry claim: where it is, what was claimed and measured, the verdict and why."""
    registry = load_registry()
    for column in ("construction", "stand_in", "parents"):
        registry[column] = registry[column].fillna("")
    ledger = registry.merge(measurements(results_dir), on="id", how="left")
    for column in ("measured", "sd", "n", "floor", "ci_low", "ci_high"):
        ledger[column] = ledger[column].astype(float)
    refs = nulls.references(results_dir)
    mean_image = refs[refs.reference == "mean image"].set_index("quantity").value
    fill = ledger.rule.eq("fve") & ledger.floor.isna() & ledger.quantity.isin(mean_image.index)
    if fill.any():
        ledger.loc[fill, "floor"] = ledger.loc[fill, "quantity"].map(mean_image).astype(float)
    ledger["verdict"] = [
        r.chapter_verdict
        if isinstance(r.chapter_verdict, str)
        else verdict(
            r.measured,
            r.claimed,
            r.rule,
            _tolerance(r),
            r.sd,
            0 if pd.isna(r.n) else int(r.n),
            r.floor,
            (r.ci_low, r.ci_high),
        )
        for r in ledger.itertuples()
    ]
    parameters = nulls.chapter_parameters(results_dir)
    checked = [_nulls_passing(r, refs, parameters) for r in ledger.itertuples()]
    ledger["null_passes"] = pd.Series([c.passing for c in checked], index=ledger.index, dtype=object)
    ledger["null_fails"] = pd.Series([c.failing for c in checked], index=ledger.index, dtype=object)
    ledger["by_construction"] = [c.fixed for c in checked]
    ledger["null_measured"] = [c.measured for c in checked]
    ledger["finding"] = [_finding(r) for r in ledger.itertuples()]
    ledger["reason"] = [
        f"judged at every k, combined by chapter 06's rule: {r.by_k}" + (f"; {_reason(r)}" if _reason(r) else "")
        if isinstance(r.by_k, str)
        else _reason(r)
        for r in ledger.itertuples()
    ]
    return ledger[
        [
            "id",
            "source",
            "section",
            "model",
            "quantity",
            "claimed",
            "measured",
            "sd",
            "n",
            "verdict",
            "finding",
            "reason",
            "chapter",
            "rule",
            "tolerance",
            "floor",
            "measurement",
            "kind",
            "construction",
            "stand_in",
            "null_passes",
            "by_construction",
            "null_measured",
            "null_fails",
            "parents",
            "note",
        ]
    ]


def _in_decades(a, b) -> bool:
    """Whether two places' distances are compared in decades: ratios and order-of-magnitude rules, on either side
    (a pair is always compared on one scale; 7.9 is nearer 2.2 than 11,586)."""
    return any(r.rule == "order" or str(r.quantity).endswith("ratio") for r in (a, b)) and all(
        r.measured > 0 and r.claimed > 0 for r in (a, b)
    )


def _distance(row, decades: bool = False) -> float:
    """How far the measurement is from a claimed value: in decades, or in units of the rule's band."""
    measured, claimed = row.measured, row.claimed
    if decades:
        return abs(np.log10(measured / claimed))
    if row.rule == "fve":
        measured, claimed = to_fve(measured, row.floor), to_fve(claimed, row.floor)
    scale = abs(claimed) if row.rule == "rel" else 1.0
    return abs(measured - claimed) / max(float(row.tolerance or 0) * scale, 1e-12)


def _judged_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows that carry a group's own claims: its derived rows only where the group has nothing else."""
    counted = rows[rows.kind != "derived"]
    return counted if len(counted) else rows


def _contradiction(rows: pd.DataFrame) -> str:
    """'' or a sentence naming both values, both places, which one the measurement is nearer and whether either
    reproduces."""
    judged = _judged_rows(rows)
    judged = judged[judged.rule != "not_testable"]
    family = judged.quantity.map(lambda q: MSE_FAMILY.get(q, q))
    for i, a in enumerate(judged.itertuples()):
        for j, b in enumerate(judged.itertuples()):
            if j <= i or family.iloc[i] != family.iloc[j]:
                continue
            floor = a.floor if np.isfinite(a.floor) else b.floor
            if a.quantity != b.quantity and a.rule != "fve":
                continue
            if contradict(a, b, floor if np.isfinite(floor) else None):
                one_sided = a.rule in ("at_least", "at_most") and b.rule in ("at_least", "at_most")
                first = f"{a.rule.replace('_', ' ')} {a.claimed:.4g}" if one_sided else f"{a.claimed:.4g}"
                second = f"{b.rule.replace('_', ' ')} {b.claimed:.4g}" if one_sided else f"{b.claimed:.4g}"
                text = f"the paper says {first} ({a.section}) and {second} ({b.section})"
                if one_sided or not (np.isfinite(a.measured) and np.isfinite(b.measured)):
                    return text
                decades = _in_decades(a, b)
                nearer = a if _distance(a, decades) <= _distance(b, decades) else b
                scale = " in decades" if decades else ""
                text += f"; our measurement ({a.measured:.4g}) is nearer{scale} {nearer.claimed:.4g} ({nearer.section})"
                held = judged[judged.verdict == "reproduced"]
                if held.empty:
                    text += ", and reproduces none of the values the paper gives"
                else:
                    text += "; it reproduces " + ", ".join(f"{r.claimed:.4g} ({r.id})" for r in held.itertuples())
                return text
    return ""


def _group_finding(rows: pd.DataFrame, contradiction: str) -> str:
    if contradiction:
        return "the paper contradicts itself"
    findings = list(dict.fromkeys(_judged_rows(rows).finding))
    if len(findings) == 1:
        return findings[0]
    reproduced = ("fixed by construction", "reproduced, uninformative", "reproduced, no null measured")
    if set(findings) <= {"reproduced, informative", *reproduced}:
        return next(finding for finding in reproduced if finding in findings)  # the weakest class of its rows
    if "not measured" in findings or "cannot tell" in findings:
        return "cannot tell"
    return "partly"


def distinct(ledger: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct measurement: its places in the paper, the claimed values, what we measured, the finding.

    A measurement derived from others (a ratio, a gain, the best K, the paradox: registry kind ``derived``) is shown
    right under its first parent, with ``derived_from`` naming its parents, and is not counted by :func:`tallies`.
    """
    rows = []
    for key, group in ledger.groupby("measurement", sort=False):
        contradiction = _contradiction(group)
        counted = _judged_rows(group)
        derived = (group.kind == "derived").all()
        # the measurement shown is the one with the most seeds (the first place's, on a tie)
        lead = counted.loc[counted.n.fillna(0).idxmax()] if counted.n.notna().any() else counted.iloc[0]
        passes = sorted({p for ps in group.null_passes for p in ps})
        under = group[group.kind == "derived"] if not derived else group.iloc[:0]
        rows.append(
            {
                "measurement": key,
                "source": lead.source,
                "places": len(group),
                "where_stated": "; ".join(f"{r.id} ({r.section})" for r in group.itertuples()),
                "claimed": "; ".join(dict.fromkeys(f"{c:.4g}" for c in counted.claimed.dropna())),
                "measured": lead.measured,
                "sd": lead.sd,
                "n": lead.n,
                "chapter": lead.chapter,
                "finding": _group_finding(group, contradiction),
                "why": contradiction
                or lead.reason
                + (
                    ""
                    if lead.null_passes or not passes
                    else ". Null references that pass another place's rule: " + "; ".join(passes)
                ),
                "stand_in": lead.stand_in,
                "derived_from": lead.parents if derived else "",
                "derived_here": "; ".join(f"{r.id}: {r.finding}" for r in under.itertuples()),
            }
        )
    table = pd.DataFrame(rows)
    return _under_parents(table)


def _under_parents(table: pd.DataFrame) -> pd.DataFrame:
    """The derived measurements moved to just below their first parent (the registry's order otherwise)."""
    if table.empty:
        return table
    is_derived = table.derived_from.astype(bool)
    order = []
    for position, row in table[~is_derived].iterrows():
        order.append(position)
        order += [p for p, r in table[is_derived].iterrows() if r.derived_from.split("; ")[0] == row.measurement]
    order += [p for p in table.index if p not in order]
    return table.loc[order].reset_index(drop=True)


def tallies(distinct_table: pd.DataFrame) -> pd.DataFrame:
    """Distinct measurements counted by finding (rows, in the order of FINDINGS) and paper (columns); derived
    measurements are counted with their parents, not as new ones."""
    counted = distinct_table[~distinct_table.derived_from.astype(bool)]
    paper = counted.source.map({"ksc": "KSC draft", "vsae": "vSAE paper"}).fillna(counted.source)
    counts = pd.crosstab(counted.finding, paper)
    order = [f for f in FINDINGS if f in counts.index]
    counts = counts.loc[order]
    counts.loc["all distinct measurements"] = counts.sum()
    return counts


def paired_by_seed(runs: pd.DataFrame, a: str, b: str, quantity: str, how: str = "difference") -> pd.DataFrame:
    """a - b (or a / b) of a quantity of two models' runs, per data set, paired on (k, seed) (chapter 06's layout)."""
    if "living" not in runs and "dead_fraction" in runs:  # chapter 06 records its own (counted) living fraction
        runs = runs.assign(living=1 - runs.dead_fraction)
    wide = runs[runs.model.isin([a, b])].pivot_table(index=["dataset", "k", "seed"], columns="model", values=quantity)
    if a not in wide or b not in wide:
        return pd.DataFrame(columns=["dataset", "k", "seed", "value"])
    paired = wide[a] - wide[b] if how == "difference" else wide[a] / wide[b]
    return paired.rename("value").reset_index()


def living_ratio_by_k(results_dir, variant: str = "vsae_mean") -> pd.DataFrame:
    """The vSAE/TopK SAE ratio of living latents per data set and k, seed by seed (chapter 06), with its pooled
    mean; our KL-only vSAE (``vsae_mean``: no sampling, as the authors' runs train it, every other step in our form)
    unless ``variant`` says otherwise."""
    record = chapter_results(results_dir, "06_vsae", missing_ok=True)
    if record is None:
        return pd.DataFrame()
    ratio = paired_by_seed(table(record, "metrics"), variant, "topk_sae", "living", "ratio")
    by_k = ratio.groupby(["dataset", "k"]).value.agg(["mean", "std", "count"]).reset_index()
    pooled = ratio.groupby("dataset").value.agg(["mean", "std", "count"]).reset_index().assign(k="pooled")
    return pd.concat([by_k, pooled], ignore_index=True).rename(columns={"std": "sd", "count": "n"})
