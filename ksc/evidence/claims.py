"""The registry of the papers' numeric claims and the code that gives each one a verdict.

The registry (``claims.csv`` in this package) holds one row per place a paper states a number: where
it appears, which model and quantity it is about, the claimed value and a tolerance rule, and
- ``measurement``: the distinct measurement the row reads (rows that repeat one number share it);
- ``kind``: ``number`` (a reported result), ``prediction`` (a plan or expectation of the paper),
  ``derived`` (a function of another row's measurement), ``statistic`` (a test statistic, which is not a
  reproducible quantity), ``protocol`` (measured with a protocol that cannot decide the claim) or
  ``arithmetic`` (the paper's own numbers checked against each other);
- ``construction``: the name of the value the architecture fixes whatever the training (see ``nulls``);
- ``stand_in``: what our measurement stands in for, where it is not the paper's setting.

Rules, for the measured mean m and the claimed value c:

- ``rel`` t: reproduced if |m - c| <= t |c|, partly if <= 2 t |c|;
- ``abs`` t: reproduced if |m - c| <= t, partly if <= 2 t;
- ``fve`` t: a reconstruction MSE judged in units of the data's variance: both m and c become fractions
  of variance explained, 1 - MSE / (the per-pixel-mean predictor's MSE), then ``abs`` t;
- ``order``: reproduced within a factor of sqrt(10) (half a decade), partly within a factor of 10;
- ``at_least`` / ``at_most``: reproduced if m >= c (or m <= c);
- ``not_testable``: the note says why; never measured here.

Where a measurement has a spread over seeds (sd, n >= 2), the verdict uses its 95 % t-interval of the
mean (for a ratio of means, its percentile-bootstrap interval), not the mean alone: *reproduced* needs the whole
interval inside the reproduced band (for a band
rule this is an equivalence test, two one-sided tests at 2.5 % each); an interval that straddles the
band's edge is *cannot tell*. Most rules were fixed per quantity before the chapters first ran; every
change made after results existed is in ``rule_history.csv`` with its date and reason.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

VERDICTS = ("reproduced", "partly", "not reproduced", "cannot tell", "not testable here", "not measured")
RULES = ("rel", "abs", "fve", "order", "at_least", "at_most", "not_testable")


def load_registry() -> pd.DataFrame:
    with resources.files("ksc.evidence").joinpath("claims.csv").open() as handle:
        return pd.read_csv(handle)


def summarise(metrics: pd.DataFrame, quantities, by: str = "model") -> pd.DataFrame:
    """Long table (model, quantity, mean, sd, n) of per-run metric rows, over seeds."""
    rows = []
    for model, group in metrics.groupby(by, sort=False):
        for q in quantities:
            values = group[q].astype(float).to_numpy()
            rows.append(
                {
                    "model": model,
                    "quantity": q,
                    "mean": float(np.mean(values)),
                    "sd": float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
                    "n": len(values),
                }
            )
    return pd.DataFrame(rows)


def rows(model: str, values: dict, n: int) -> pd.DataFrame:
    """Single measured values (no spread) in the long (model, quantity, mean, sd, n) form."""
    return pd.DataFrame(
        [{"model": model, "quantity": q, "mean": float(v), "sd": float("nan"), "n": n} for q, v in values.items()]
    )


def paired(
    metrics: pd.DataFrame, a: str, b: str, quantity: str, label: str, name: str, on=("seed",), how: str = "ratio"
) -> pd.DataFrame:
    """a/b (``how="ratio"``) or a - b (``"difference"``) of a quantity, matched on the ``on`` columns,
    summarised over the matched pairs in the long (model, quantity, mean, sd, n) form."""
    left = metrics[metrics.model == a].set_index(list(on))[quantity].astype(float)
    right = metrics[metrics.model == b].set_index(list(on))[quantity].astype(float)
    keys = left.index.intersection(right.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = (left[keys] / right[keys] if how == "ratio" else left[keys] - right[keys]).to_numpy()
    return pd.DataFrame(
        [
            {
                "model": label,
                "quantity": name,
                "mean": float(np.mean(values)) if len(values) else float("nan"),
                "sd": float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
                "n": len(values),
            }
        ]
    )


def paired_ratio(metrics: pd.DataFrame, numerator: str, denominator: str, quantity: str = "variance") -> pd.DataFrame:
    """Ratio numerator/denominator of a quantity, seed by seed, summarised like :func:`summarise`."""
    return paired(metrics, numerator, denominator, quantity, f"{numerator}/{denominator}", f"{quantity}_ratio")


def interval(mean: float, sd: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The t-interval of a mean over n seeds; (mean, mean) when there is no spread to use (n < 2 or sd unknown)."""
    if n is None or not np.isfinite(n) or n < 2 or sd is None or not math.isfinite(sd):
        return mean, mean
    half = float(scipy_stats.t.ppf(0.5 + level / 2, int(n) - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def _band(claimed: float, rule: str, tolerance: float | None, width: float = 1.0) -> tuple[float, float]:
    """The interval of values a rule accepts (``width`` 2 gives the *partly* band)."""
    if rule in ("rel", "abs", "fve"):
        half = width * tolerance * (abs(claimed) if rule == "rel" else 1.0)
        return claimed - half, claimed + half
    if rule == "order":
        factor = math.sqrt(10) ** width
        return claimed / factor, claimed * factor
    if rule == "at_least":
        return claimed, math.inf
    if rule == "at_most":
        return -math.inf, claimed
    raise ValueError(f"unknown tolerance rule {rule!r}")


def to_fve(mse: float, floor: float | None) -> float:
    """1 - MSE / floor: the fraction of the data's variance a reconstruction explains."""
    if floor is None or not math.isfinite(floor) or floor <= 0:
        return float("nan")
    return 1.0 - mse / floor


def verdict(
    measured: float,
    claimed: float,
    rule: str,
    tolerance: float | None,
    sd: float = float("nan"),
    n: int = 0,
    floor: float | None = None,
    bounds: tuple[float, float] | None = None,
) -> str:
    """The verdict of one claim under its rule, using the interval of the measurement where it has one.

    ``floor`` is the per-pixel-mean predictor's MSE, needed by the ``fve`` rule only. ``bounds`` is an
    interval computed elsewhere (a ratio's bootstrap interval); without it the t-interval of sd and n is used.
    """
    if rule == "not_testable":
        return "not testable here"
    if measured is None or not math.isfinite(measured):
        return "not measured"
    if rule == "fve":
        if floor is None or not math.isfinite(floor):
            return "not measured"
        measured, claimed = to_fve(measured, floor), to_fve(claimed, floor)
        sd = sd / floor if sd is not None and math.isfinite(sd) else sd
        bounds = tuple(to_fve(b, floor) for b in bounds[::-1]) if bounds is not None else None
    if rule == "order" and (measured <= 0 or claimed <= 0):
        return "reproduced" if measured == claimed else "not reproduced"
    given = bounds is not None and all(b is not None and math.isfinite(b) for b in bounds)
    low, high = (float(bounds[0]), float(bounds[1])) if given else interval(measured, sd, n)
    if rule == "order" and low <= 0:
        low = high = measured
    inside, outside = _band(claimed, rule, tolerance), _band(claimed, rule, tolerance, 2.0)
    if inside[0] <= low and high <= inside[1]:
        return "reproduced"
    if high >= inside[0] and low <= inside[1]:
        return "cannot tell"
    if rule in ("at_least", "at_most"):
        return "not reproduced"
    return "partly" if outside[0] <= measured <= outside[1] else "not reproduced"


def accepts(value: float, claimed: float, rule: str, tolerance: float | None, floor: float | None = None) -> bool:
    """Whether a single value (no spread) would be called reproduced: used for the null references."""
    return verdict(value, claimed, rule, tolerance, floor=floor) == "reproduced"


def contradict(a, b, floor: float | None = None) -> bool:
    """Whether two claims about one quantity cannot both hold: each claimed value lies outside the other's
    reproduced band, or they are opposite one-sided bounds on the same value."""
    if "not_testable" in (a.rule, b.rule):
        return False
    if {a.rule, b.rule} == {"at_least", "at_most"}:
        return a.claimed == b.claimed
    if a.rule in ("at_least", "at_most") or b.rule in ("at_least", "at_most"):
        return False
    ta = None if pd.isna(a.tolerance) else float(a.tolerance)
    tb = None if pd.isna(b.tolerance) else float(b.tolerance)
    return not accepts(float(b.claimed), float(a.claimed), a.rule, ta, floor) or not accepts(
        float(a.claimed), float(b.claimed), b.rule, tb, floor
    )


def describe_rule(rule: str, tolerance) -> str:
    """The rule in words, for the claims tables."""
    if rule == "rel":
        return f"within {tolerance:.0%}"
    if rule == "abs":
        return f"within ±{tolerance:g}"
    if rule == "fve":
        return f"FVE within ±{tolerance:g}"
    return {"order": "same order (×√10)", "at_least": "at least", "at_most": "at most", "not_testable": "—"}[rule]


def _floor(summary: pd.DataFrame, model: str, default: float | None) -> float:
    """The per-pixel-mean predictor's MSE for a model's data: its own summary row, else any, else ``default``."""
    rows = summary[summary.quantity == "mean_predictor_mse"]
    own = rows[rows.model == model]
    if len(own):
        return float(own["mean"].iloc[0])
    if len(rows):
        return float(rows["mean"].iloc[0])
    return float("nan") if default is None else float(default)


def compare(
    summary: pd.DataFrame, ids=None, sections=None, prefixes=None, floor: float | None = None, exclude=()
) -> pd.DataFrame:
    """Claims table: each selected registry row with the measured mean ± sd (n seeds) and its verdict.

    ``summary`` is the long table of :func:`summarise` / :func:`paired_ratio`; ids starting with one of ``exclude``
    are left out (another chapter measures them); claims are selected by
    id, by section prefix or by id prefix. Reconstruction claims (rule ``fve``) are judged against the
    per-pixel-mean predictor's MSE: the summary's ``mean_predictor_mse`` row, or ``floor``.
    """
    registry = load_registry()
    if exclude:
        registry = registry[~registry.id.str.startswith(tuple(exclude))]
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
        sd, n = (hit.sd, hit.n) if hit is not None else (float("nan"), 0)
        bounds = (
            (getattr(hit, "ci_low", float("nan")), getattr(hit, "ci_high", float("nan"))) if hit is not None else None
        )
        mse_floor = _floor(summary, claim.model, floor) if claim.rule == "fve" else float("nan")
        rows.append(
            {
                "id": claim.id,
                "section": claim.section,
                "model": claim.model,
                "quantity": claim.quantity,
                "claimed": claim.claimed,
                "measured": measured,
                "sd": sd,
                "n": n,
                "rule": describe_rule(claim.rule, tolerance),
                "verdict": verdict(measured, claim.claimed, claim.rule, tolerance, sd, n, mse_floor, bounds),
                "claim": claim.note,
                "floor": mse_floor,
                "ci_low": bounds[0] if bounds else float("nan"),
                "ci_high": bounds[1] if bounds else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def count_sentence(claim_table: pd.DataFrame, what: str = "claims") -> str:
    """'Of N claims, a reproduced, b not reproduced, ...': the verdicts of a chapter's claim table, counted."""
    counts = claim_table.verdict.value_counts()
    return f"Of {len(claim_table)} {what}, " + ", ".join(f"{n} {v}" for v, n in counts.items())


def disagreements(claim_table: pd.DataFrame) -> pd.DataFrame:
    """Where the draft gives one (model, quantity) different values in different places.

    One row per (model, quantity): every place with its claimed value, then our measurement.
    """
    rows = []
    for (model, quantity), group in claim_table.groupby(["model", "quantity"], sort=False):
        values = group.claimed.astype(float)
        if (values.max() - values.min()) <= 1e-3 * max(values.abs().max(), 1e-12):
            continue
        rows.append(
            {
                "model": model,
                "quantity": quantity,
                "the draft says": "; ".join(f"{c:g} ({s})" for s, c in zip(group.section, group.claimed)),
                "measured": group.measured.iloc[0],
                "sd": group.sd.iloc[0],
                "n": group.n.iloc[0],
            }
        )
    return pd.DataFrame(rows)


def variant_table(per_fit: pd.DataFrame, summary: pd.DataFrame, variants, quantities) -> pd.DataFrame:
    """Each protocol variant next to its main run: both means and the seed-by-seed ratio variant / main.

    ``variants`` holds (main model name, variant label) pairs; ``summary`` is :func:`summarise` of ``per_fit``.
    """
    rows = []
    for name, label in variants:
        renamed = per_fit.assign(model=per_fit.model.replace({name: "main"}))
        for q in quantities:
            ratio = paired_ratio(renamed, label, "main", q)
            rows.append(
                {
                    "variant": label,
                    "quantity": q,
                    "main run": summary.query("model == @name and quantity == @q")["mean"].iloc[0],
                    "variant value": summary.query("model == @label and quantity == @q")["mean"].iloc[0],
                    "variant / main": ratio["mean"].iloc[0],
                    "sd of ratio": ratio["sd"].iloc[0],
                }
            )
    return pd.DataFrame(rows)
