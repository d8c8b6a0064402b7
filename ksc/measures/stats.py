"""Two-sample comparisons over seeds: t-tests (Welch's and Student's), Cohen's d, confidence intervals."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
from scipy import stats as _st


def cohens_d(a, b) -> float:
    """Standardised mean difference (mean(b) - mean(a)) / pooled sd."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return float((b.mean() - a.mean()) / pooled) if pooled > 0 else float("nan")


def compare_two(a, b, label_a: str = "a", label_b: str = "b", confidence: float = 0.95) -> list[dict]:
    """Welch's and Student's t-tests of mean(b) - mean(a), each with t, df, p and a confidence interval."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rows = []
    for test, equal_var in (("Welch", False), ("Student", True)):
        with warnings.catch_warnings():
            # identical values in both groups (e.g. 0 dead units in every run) give t = nan, which we report
            warnings.simplefilter("ignore", RuntimeWarning)
            result = _st.ttest_ind(b, a, equal_var=equal_var)
            ci = result.confidence_interval(confidence)
        rows.append(
            {
                "comparison": f"{label_b} vs {label_a}",
                "test": test,
                "mean_a": a.mean(),
                "mean_b": b.mean(),
                "difference": b.mean() - a.mean(),
                "ci_low": float(ci.low),
                "ci_high": float(ci.high),
                "t": float(result.statistic),
                "df": float(result.df),
                "p": float(result.pvalue),
                "cohens_d": cohens_d(a, b),
                "ratio_of_means": b.mean() / a.mean() if a.mean() != 0 else float("nan"),
                "n_a": len(a),
                "n_b": len(b),
            }
        )
    return rows


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (every comparison of one family counted); NaN stays NaN and is not
    counted. An adjusted p below alpha rejects at family-wise error rate alpha."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m, running = len(order), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def equivalence(low: float, high: float, lower: float, upper: float) -> str:
    """Two one-sided tests read off a confidence interval: ``equivalent`` if the interval (low, high) lies inside the
    margin (lower, upper); ``different`` if it lies wholly outside it; else ``cannot tell``. With a 95 % interval
    each one-sided test is at 2.5 %. Absence of a significant difference is not equivalence: a wide interval that
    straddles a margin's edge is ``cannot tell``."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "cannot tell"
    if lower < low and high < upper:
        return "equivalent"
    if high < lower or low > upper:
        return "different"
    return "cannot tell"


def pairwise(metrics: pd.DataFrame, quantity: str, models, by: str = "model") -> pd.DataFrame:
    """Both t-tests for every pair of ``models`` on one quantity of the per-run metric rows."""
    rows = []
    for first, second in itertools.combinations(models, 2):
        a = metrics.loc[metrics[by] == first, quantity]
        b = metrics.loc[metrics[by] == second, quantity]
        for row in compare_two(a, b, first, second):
            rows.append({"quantity": quantity, **row})
    return pd.DataFrame(rows)


def ratio_interval(a, b, confidence: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """mean(b) / mean(a) with a percentile bootstrap interval (seeds resampled within each group)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    boot_a = rng.choice(a, size=(n_boot, len(a))).mean(axis=1)
    boot_b = rng.choice(b, size=(n_boot, len(b))).mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(boot_b / boot_a, [tail, 100 - tail])
    return float(b.mean() / a.mean()), float(low), float(high)


def ratio_table(metrics: pd.DataFrame, pairs, quantity: str = "variance", by: str = "model") -> pd.DataFrame:
    """mean(numerator) / mean(denominator) with a bootstrap 95 % interval, for (numerator, denominator) pairs.

    In the long (model, quantity, mean, sd, n) form of :mod:`ksc.evidence.claims`, plus ci_low and ci_high.
    """
    out = []
    for numerator, denominator in pairs:
        a = metrics.loc[metrics[by] == denominator, quantity]
        b = metrics.loc[metrics[by] == numerator, quantity]
        value, low, high = ratio_interval(a, b)
        out.append(
            {
                "model": f"{numerator}/{denominator}",
                "quantity": f"{quantity}_ratio",
                "mean": value,
                "sd": float("nan"),
                "n": min(len(a), len(b)),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(out)


def k_sweep(per_fit: pd.DataFrame, by: str = "K") -> tuple[dict, dict, pd.Series]:
    """The draft's Section 6.2 statements about a K sweep, measured: (sweep, violations per seed, mean variance by K).

    ``per_fit`` has one row per trained model with columns ``by``, seed, variance, val_loss and the draft's
    ``score`` (variance / (1 - sparsity + 0.01), added by chapter 02).

    ``sweep`` holds the number of decreases of the mean variance along K, the relative gains 64 -> 96 and
    96 -> 112, the K of the best mean score and the relative range of the mean validation loss.
    """
    variance_by_k = per_fit.groupby(by).variance.mean()
    per_seed = {s: int(np.sum(np.diff(g.sort_values(by).variance.to_numpy()) < 0)) for s, g in per_fit.groupby("seed")}

    def gain(a, b):
        return (variance_by_k[b] / variance_by_k[a] - 1) if {a, b} <= set(variance_by_k.index) else np.nan

    val_by_k = per_fit.groupby(by).val_loss.mean()
    sweep = {
        "variance_trend_violations": int(np.sum(np.diff(variance_by_k.to_numpy()) < 0)),
        "variance_gain_64_96": gain(64, 96),
        "variance_gain_96_112": gain(96, 112),
        "best_score_k": int(per_fit.groupby(by).score.mean().idxmax()),
        "val_loss_relative_range": (val_by_k.max() - val_by_k.min()) / val_by_k.min(),
    }
    return sweep, per_seed, variance_by_k
