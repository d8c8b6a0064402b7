"""Verdicts over replicates: each stream's failures against what an ideal source shows under the same rule.

:func:`replicates_table` is one row per replicate's stream and battery (passes or not); :func:`replicated_table`
counts, per source, extraction and battery, the replicates that failed beside PCG64's own failure rate and the
binomial 99 % bound of an ideal source's failures (:func:`~ksc.randomness.batteries.binomial_bound`);
:func:`replicated_verdicts` says whether each stream passes every battery that decided, and
:func:`replicated_summary` puts that in the registry's long form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.randomness import batteries
from ksc.randomness.runner import Tested, battery_passes

POSITIVE_CONTROL = ("pcg64", "native")  # the ideal source
IDEAL_RATE_FLOOR = 0.01  # the false-failure rate assumed at least, however few times PCG64 failed


def replicates_table(replicate_info: pd.DataFrame, tested: Tested) -> pd.DataFrame:
    """One row per source, extraction, replicate (data seed, training seed; PCG64's has none) and battery: whether
    the replicate's stream passes (None: the battery did not run on it, or dieharder has no calibrated test)."""
    rows = []
    for stream in replicate_info.itertuples():
        train_seed = None if pd.isna(stream.train_seed) else int(stream.train_seed)
        key = (stream.source, stream.extraction, int(stream.data_seed), train_seed)
        for battery, passes in battery_passes(tested, key).items():
            rows.append(
                {
                    "source": stream.source,
                    "extraction": stream.extraction,
                    "data_seed": int(stream.data_seed),
                    "train_seed": train_seed,
                    "battery": battery,
                    "passes": passes,
                }
            )
    frame = pd.DataFrame(rows, columns=["source", "extraction", "data_seed", "train_seed", "battery", "passes"])
    frame["train_seed"] = pd.Series([row["train_seed"] for row in rows], dtype=object)  # None for PCG64, not NaN
    frame["passes"] = pd.Series([row["passes"] for row in rows], dtype=object)
    return frame


def replicated_table(replicates: pd.DataFrame, ideal=POSITIVE_CONTROL) -> pd.DataFrame:
    """One row per source, extraction and battery, over its replicates: how many ran (``replicates``) and how many
    failed, PCG64's failure rate under the same battery and rule (its own bits over as many streams: ``ideal``),
    ``allowed_failures`` (the binomial 99 % upper bound of the failures an ideal source shows in that many runs at
    a rate of max(PCG64's, 0.01)) and ``passes`` (failed <= allowed_failures; None where the battery ran on no
    replicate or on no PCG64 stream)."""
    ran = replicates[replicates.passes.notna()]
    failed = ran.assign(failed=~ran.passes.astype(bool))
    rows = []
    groups = replicates.groupby(["source", "extraction", "battery"], sort=False)
    ideal_runs = failed[(failed.source == ideal[0]) & (failed.extraction == ideal[1])].groupby("battery").failed
    for (source, extraction, battery), _ in groups:
        mine = failed[(failed.source == source) & (failed.extraction == extraction) & (failed.battery == battery)]
        n, f = len(mine), int(mine.failed.sum())
        rate = float(ideal_runs.mean()[battery]) if battery in ideal_runs.groups else np.nan
        allowed = batteries.binomial_bound(n, max(rate, IDEAL_RATE_FLOOR)) if n and np.isfinite(rate) else np.nan
        rows.append(
            {
                "source": source,
                "extraction": extraction,
                "battery": battery,
                "replicates": n,
                "failed": f,
                "pcg64_failure_rate": rate,
                "allowed_failures": allowed,
                "passes": bool(f <= allowed) if n and np.isfinite(rate) else None,
            }
        )
    columns = ["source", "extraction", "battery", "replicates", "failed", "pcg64_failure_rate", "allowed_failures"]
    return pd.DataFrame(rows, columns=[*columns, "passes"])


def replicated_verdicts(replicated: pd.DataFrame) -> pd.DataFrame:
    """One row per source and extraction of ``replicated``: the batteries that decided (passes not None), those it
    fails, and ``passes_all`` (it passes every battery that decided; None where none did)."""
    rows = []
    for (source, extraction), part in replicated.groupby(["source", "extraction"], sort=False):
        decided = part[part.passes.notna()]
        failing = decided.battery[~decided.passes.astype(bool)].tolist()
        rows.append(
            {
                "source": source,
                "extraction": extraction,
                "batteries": ", ".join(decided.battery),
                "failing": ", ".join(failing),
                "passes_all": (not failing) if len(decided) else None,
            }
        )
    return pd.DataFrame(rows, columns=["source", "extraction", "batteries", "failing", "passes_all"])


def replicated_summary(replicated: pd.DataFrame) -> pd.DataFrame:
    """Long table (model, quantity, mean, sd, n) of every replicated stream's verdict over the replicates (1 if it
    passes every battery that decided, else 0), model '<source> <extraction> bits', quantity
    'replicated_passes_all'; n is the number of replicates."""
    verdicts = replicated_verdicts(replicated)
    verdicts = verdicts[verdicts.passes_all.notna()]
    n = replicated.groupby(["source", "extraction"], sort=False).replicates.max()
    return pd.DataFrame(
        {
            "model": verdicts.source + " " + verdicts.extraction + " bits",
            "quantity": "replicated_passes_all",
            "mean": verdicts.passes_all.astype(float),
            "sd": np.nan,
            "n": [int(n[(s, e)]) for s, e in zip(verdicts.source, verdicts.extraction)],
        }
    ).reset_index(drop=True)
