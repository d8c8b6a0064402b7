"""The KSC draft's "full entropy" conclusion, judged from chapter 12's statistical batteries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.conclusions.judging import Evidence, Judgement, Missing, rule


def _true(value) -> bool:
    """A flag read back from a results file: True only for a true value (None and NaN are not measured)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and bool(value)


@rule("ksc-full-entropy")
def _full_entropy(ev: Evidence) -> Judgement:
    table = ev.table("12_randomness", "streams")
    per_stream = table.drop_duplicates(["source", "extraction"]).set_index(["source", "extraction"])
    nist = table[table.battery == "NIST SP 800-22"].set_index(["source", "extraction"])
    if ("pcg64", "native") not in nist.index or not bool(nist.loc[("pcg64", "native"), "passes"]):
        raise Missing("NIST's positive control (PCG64's own bits) did not pass NIST: the battery is not calibrated")
    extractions = [e for s, e in per_stream.index if s == "v4"]
    if not extractions or "dense_relu" not in set(per_stream.index.get_level_values(0)):
        raise Missing("chapter 12 tested no V4 or no dense ReLU latents")
    ran = table.measured.map(_true) if "measured" in table else table.passes.notna()
    if "misconfigured" in table:  # a battery calibrated out (it fails PCG64's own bits) ran, and counts for no stream
        ran |= table.misconfigured.map(_true)
    missing = sorted(set(table.battery) - set(table[ran & (table.source == "v4")].battery))
    if missing:  # a battery left out would leave V4's bits judged on fewer tests: in the draft's favour
        raise Missing(
            f"{', '.join(missing)} decided nothing on V4's bits (not installed: apt-get install dieharder ent; or, "
            "for dieharder, no test of it calibrated on PCG64 at this stream length)"
        )
    measured = table[table.passes.notna()]
    replicated = ev.table("12_randomness", "replicated")
    replicated = replicated.loc[np.array([v is not None and not pd.isna(v) for v in replicated.passes], dtype=bool)]

    def calibrated(e) -> set | None:
        """The batteries that PCG64's bits read the same way pass (over its replicates where it was replicated, else
        on its one stream): only these can judge extraction ``e``. None where PCG64 was not read that way."""
        ideal = replicated[(replicated.source == "pcg64") & (replicated.extraction == e)]
        if len(ideal):
            return {r.battery for r in ideal.itertuples() if _true(r.passes)}
        single = measured[(measured.source == "pcg64") & (measured.extraction == e)]
        return {r.battery for r in single.itertuples() if _true(r.passes)} if len(single) else None

    def verdict(source, e) -> tuple[bool, str]:
        """Whether the extraction passes every battery that can judge it: over the replicates where it was
        replicated (failures within an ideal source's bound), else on its one stream."""
        judges = calibrated(e) if source != "pcg64" else None
        skipped = sorted(set(table.battery) - judges) if judges is not None else []
        note = f"; {', '.join(skipped)} left out: PCG64's bits read this way fail it" if skipped else ""
        rows = replicated[(replicated.source == source) & (replicated.extraction == e)]
        one = rows.empty
        if one:
            rows = measured[(measured.source == source) & (measured.extraction == e)]
        if judges is not None:
            rows = rows[rows.battery.isin(judges)]
        if rows.empty:
            return False, "not judged (PCG64's bits read this way fail every battery that decides)"
        if one:
            failed = [b for b, ok in zip(rows.battery, rows.passes) if not _true(ok)]
            word = f"fail ({', '.join(failed)}; one seed pair" if failed else "pass (one seed pair"
            return not failed, word + note + ")"
        failed = [
            f"{r.battery} {int(r.failed)} of {int(r.replicates)}, at most {int(r.allowed_failures)} allowed"
            for r in rows.itertuples()
            if not _true(r.passes)
        ]
        n = int(rows.replicates.max())
        word = f"fail over {n} seed pairs ({'; '.join(failed)}" if failed else f"pass over {n} seed pairs ("
        return not failed, word + (note if failed else note.lstrip("; ") or "every battery") + ")"

    why = "; ".join(
        f"{e}: V4 {verdict('v4', e)[1]}, dense ReLU {verdict('dense_relu', e)[1]}, V4 on noise "
        f"{verdict('v4_noise', e)[1]}"
        for e in extractions
    )
    if ("logistic_4", "native") in per_stream.index:
        why += f"; the logistic map's own bits (r = 4, x > 1/2) {verdict('logistic_4', 'native')[1]}"
    v4 = [e for e in extractions if verdict("v4", e)[0]]
    if not v4:
        return Judgement(
            "not supported", why + ": no extraction of V4's latents passes every battery that can judge it."
        )
    only_v4 = [e for e in v4 if not verdict("dense_relu", e)[0]]
    limit = "; a battery can refute randomness, never show full entropy"
    if only_v4:
        return Judgement(
            "cannot tell",
            why
            + f": {', '.join(only_v4)} bits pass for V4 and fail for dense ReLU (consistent with randomness){limit}.",
        )
    return Judgement(
        "cannot tell",
        why + f": what passes for V4 ({', '.join(v4)}) passes for dense ReLU's latents too (uninformative){limit}.",
    )
