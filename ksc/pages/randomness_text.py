"""Chapter 12's sentences: what each battery said of each stream, the batteries' run report and the summary, every
number and verdict read from the tables of :mod:`ksc.chapters.randomness` and the ledger's rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.randomness import (
    BATTERIES,
    IDEAL_RATE_FLOOR,
    POSITIVE_CONTROL,
    Tested,
    replicated_verdicts,
    serial_correlation_z,
)
from ksc.randomness import batteries, nist

NAMES = {
    "v4": "V4",
    "dense_relu": "dense ReLU",
    "pcg64": "PCG64",
    "v4_noise": "V4 on noise",
    "v3": "V3",
}


def _overall_word(row) -> str:
    """'passes every battery that decided (...)', 'fails (...)' or 'not measured' for one replicated_verdicts row."""
    if row.passes_all is None or (isinstance(row.passes_all, float) and np.isnan(row.passes_all)):
        return "not measured"
    if _true(row.passes_all):
        return f"passes every battery that decided ({row.batteries})"
    return f"fails ({row.failing})"


def _true(value) -> bool:
    """True only for a true verdict (None and NaN: not measured)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and bool(value)


def _fraction(failed, runs) -> str:
    return f"{int(failed)} of {int(runs)}"


def replication_paragraph(replicated: pd.DataFrame, replicates: pd.DataFrame) -> str:
    """What the replicates show, in Markdown: the pairs, PCG64's failure rate under each battery's rule, every
    replicated stream's failures against what an ideal source allows, and what the pre-registered rule makes of them
    for the draft's "full entropy" (every number and verdict read from the two tables)."""
    if replicated.empty:
        return "No replicate was tested."
    pairs = replicates[replicates.source != POSITIVE_CONTROL[0]][["data_seed", "train_seed"]].drop_duplicates()
    pair_text = ", ".join(f"({int(d)}, {int(t)})" for d, t in pairs.itertuples(index=False))
    ideal = replicated[(replicated.source == POSITIVE_CONTROL[0]) & (replicated.extraction == POSITIVE_CONTROL[1])]
    rates = ", ".join(
        f"{row.battery} {_fraction(row.failed, row.replicates)}" for row in ideal.itertuples() if row.replicates
    )
    level = round(100 * batteries.BOUND_LEVEL)
    parts = [
        f"**Replicated.** V4 and dense ReLU were trained on {len(pairs)} (data seed, training seed) pairs"
        f" ({pair_text}) and their bits read off fresh images of each pair's data seed; PCG64 gave as many"
        " independent streams of its own bits, through the same batteries and rules. Of PCG64's streams, "
        + (f"{rates} failed" if rates else "none was tested")
        + ": each battery rule's false-failure rate on an ideal source at this size.",
        f"The rule, fixed before the replicates first ran: a stream passes a battery if it fails in at most"
        f" *allowed_failures* of its replicates, the binomial {level} % upper bound of the failures an ideal source"
        f" shows in as many runs at a failure rate of max(PCG64's, {IDEAL_RATE_FLOOR:g}); it passes overall if it"
        ' passes every battery that ran and is calibrated. The draft\'s "full entropy" is not supported if no'
        " extraction of V4's latents passes overall; otherwise the verdict is *cannot tell* (batteries can refute"
        " randomness, never show full entropy).",
    ]
    for (source, extraction), part in replicated.groupby(["source", "extraction"], sort=False):
        if (source, extraction) == POSITIVE_CONTROL:
            continue
        decided = part[part.passes.notna()]
        per = "; ".join(
            f"{row.battery} failed {_fraction(row.failed, row.replicates)} (an ideal source: at most"
            f" {int(row.allowed_failures)}, so {'passes' if row.passes else 'fails'})"
            for row in decided.itertuples()
        )
        undecided = ", ".join(part.battery[part.passes.isna()])
        if undecided:
            per += ("; " if per else "") + f"not decided: {undecided}"
        overall = replicated_verdicts(part).iloc[0]
        name = NAMES.get(source, source)
        parts.append(f"{name}'s {extraction} bits: {per}; overall it {_overall_word(overall)}.")
    overall = replicated_verdicts(replicated).set_index(["source", "extraction"])
    v4 = [e for (s, e) in overall.index if s == "v4"]
    passing = [e for e in v4 if _true(overall.loc[("v4", e), "passes_all"])]
    if not v4:
        parts.append("No extraction of V4's latents was replicated, so the rule gives no verdict.")
    elif not passing:
        parts.append(
            "No extraction of V4's latents passes overall, so by the rule the draft's \"full entropy\" is not"
            " supported."
        )
    else:
        dense = [
            e
            for e in passing
            if ("dense_relu", e) in overall.index and _true(overall.loc[("dense_relu", e), "passes_all"])
        ]
        also = (
            f"dense ReLU's same extraction passes too ({', '.join(dense)})"
            if dense
            else "dense ReLU's same extraction does not pass"
        )
        parts.append(
            f"V4's {', '.join(passing)} bits pass overall, so by the rule the verdict is *cannot tell*; {also}."
        )
    return "\n\n".join(parts)


def battery_report(tested: Tested, n_sequences: int, other_sequences: int | None = None, replicated=None) -> str:
    """What ran: NIST's sequences and time, which external batteries are installed, the chance that an ideal source
    fails one statistic's proportion rule at each number of sequences a stream has, dieharder's calibration, and
    ent's blocks. ``replicated``: the replicates' Tested, whose sequences count too."""
    missing = [tool for tool in ("dieharder", "ent") if not batteries.available(tool)]
    every = [p for t in (tested, replicated) if t is not None for p in t.nist_pvalues.values()]
    lines = [
        f"NIST SP 800-22 on {sum(p.shape[0] for p in every)} sequences of {tested.sequence_bits:,} bits in "
        f"{tested.seconds['NIST SP 800-22']:.1f} s; "
        + (f"not installed here, so not measured: {', '.join(missing)}" if missing else "dieharder and ent installed"),
    ]
    counts = sorted(
        {int(p.shape[0]) for p in every} | {int(n_sequences)} | ({int(other_sequences)} if other_sequences else set())
    )
    lines.append(
        "an ideal source fails one statistic's proportion rule with chance "
        + ", ".join(f"{nist.false_fail_probability(m):.1%} at m = {m}" for m in counts if m > 0)
        + " sequences"
    )
    checked = [m for m in counts if m >= nist.UNIFORMITY_MIN_SEQUENCES]
    lines.append(
        f"NIST's uniformity check applies to the streams of {', '.join(map(str, checked))} sequences"
        if checked
        else f"NIST's uniformity check applies to no stream (it needs {nist.UNIFORMITY_MIN_SEQUENCES} sequences)"
    )
    calibration = tested.calibration
    if calibration is not None and len(calibration):
        kept = calibration.test[calibration.calibrated.astype(bool)].tolist()
        streams = int(calibration.streams.max())
        lines.append(
            f"dieharder: {len(kept)} of {len(calibration)} tests pass on all {streams} PCG64 calibration streams and"
            " decide" + (f" ({', '.join(kept)})" if kept else "")
        )
    if tested.dieharder_left_out:
        failed = calibration.set_index("test") if calibration is not None and len(calibration) else None
        words = [
            f"{test} ({int(failed.loc[test, 'failed'])} failed, {int(failed.loc[test, 'not_measured'])} not measured)"
            if failed is not None and test in failed.index
            else test
            for test in tested.dieharder_left_out
        ]
        lines.append("dieharder tests not calibrated, which decide nothing: " + ", ".join(words))
    if tested.ent_verdicts:
        blocks = sorted({v["blocks"] for v in tested.ent_verdicts.values()})
        lines.append(f"ent on {', '.join(map(str, blocks))} blocks per stream")
    return "\n".join(lines)


def stream_word(table: pd.DataFrame, source: str, extraction: str, battery: str | None = None) -> str:
    """What the batteries said of one stream (``streams_table``'s rows): over every battery that ran, 'passes' or
    'fails (the batteries that failed)'; for one ``battery``, 'passes', 'fails' or 'misconfigured (...)' where it fails
    the positive control; 'not measured' where nothing ran."""
    rows = table[(table.source == source) & (table.extraction == extraction)]
    if battery is not None:
        rows = rows[rows.battery == battery]
        if len(rows) and bool(rows.misconfigured.iloc[0]):
            return "misconfigured (fails the positive control; not counted)"
        value = rows.passes.iloc[0] if len(rows) else None
    else:
        value = rows.passes_all.iloc[0] if len(rows) else None
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "not measured"
    if bool(value):
        return "passes"
    failed = [b for b, ok in zip(rows.battery, rows.passes) if ok is not None and not bool(ok)]
    return f"fails ({', '.join(failed)})" if battery is None and failed else "fails"


def summary(
    table: pd.DataFrame, tested: Tested, verdicts: pd.DataFrame, budget: pd.DataFrame, fve=None, replicated=None
) -> str:
    """The chapter's findings as a Markdown list, every number and verdict read from the tables; ``fve`` maps a
    model source to its test FVE (what the latents are latents of); ``replicated`` is
    :func:`~ksc.chapters.randomness.replicated_table`'s verdicts over the replicates."""
    present = set(zip(table.source, table.extraction))
    lines = []
    if fve:
        lines.append(
            "- **The models:** test FVE "
            + ", ".join(f"{source} {value:+.3f}" for source, value in fve.items())
            + " (0 is the mean image): these are the latents of models that reconstruct this well."
        )
    if ("pcg64", "native") in present:
        per = ", ".join(f"{b} {stream_word(table, 'pcg64', 'native', b)}" for b in BATTERIES)
        lines.append(f"- **Positive control.** PCG64's own bits: {per}.")
    negatives = [(s, "native") for s in ("biased", "logistic_399", "logistic_4_float32") if (s, "native") in present]
    if negatives:
        parts = [f"{s} {stream_word(table, s, e)}" for s, e in negatives]
        lines.append("- **Negative controls** (every battery that ran): " + ", ".join(parts) + " (each should fail).")
    if ("logistic_4", "native") in present:
        lines.append(
            f"- The logistic map at r = 4 in float64, read as x > 1/2, {stream_word(table, 'logistic_4', 'native')}"
            " every battery that ran: the map itself is a bit source before any autoencoder touches it."
        )
    extractions = [e for e in ("threshold", "support", "mantissa") if ("v4", e) in present]
    for e in extractions:
        others = [
            f"{s} {stream_word(table, s, e)}" for s in ("dense_relu", "v3", "v4_noise", "pcg64") if (s, e) in present
        ]
        lines.append(f"- **{e} bits**: V4 {stream_word(table, 'v4', e)}; " + ", ".join(others) + ".")
    for (source, e), report in tested.ent.items():
        if source == "v4":
            z = serial_correlation_z(report)
            blocks = (tested.ent_verdicts or {}).get((source, e))
            judged = (
                f"; on its {blocks['blocks']} blocks, {blocks['outside']} outside 1-99 % (an ideal source: at most"
                f" {blocks['allowed']}), KS p of the block p-values {blocks['ks_p']:.3g}"
                if blocks
                else ""
            )
            lines.append(
                f"- ent on V4's {e} bits: the whole stream's chi-square exceeded by"
                f" {report['chi_square_percent']:.2f} % of random files{judged}; serial correlation"
                f" {report['serial_correlation']:+.4f} ({z:+.1f} standard errors of a random file of"
                f" {report['bytes']:,} bytes)."
            )
    mantissa = [s for s, e in dict.fromkeys(zip(table.source, table.extraction)) if e == "mantissa"]
    nist_passes = [s for s in mantissa if stream_word(table, s, "mantissa", BATTERIES[0]) == "passes"]
    if nist_passes:
        lines.append(
            "- **The mantissa trap:** NIST passes the low float32 bits of "
            + ", ".join(nist_passes)
            + " (of "
            + ", ".join(mantissa)
            + "); passing there says nothing about a model or about chaos."
        )
    broken = sorted(set(table.battery[table.misconfigured]))
    if broken:
        lines.append(
            "- **Misconfigured at this size on the chapter's single streams** (they fail the chapter's own PCG64 "
            "stream, so none of their single-stream verdicts counts): "
            + ", ".join(broken)
            + ". Over the replicates they still count, test by test where calibrated, with PCG64's own failure rate "
            "under the same rule setting how many failures an ideal source shows."
        )
    if replicated is not None and len(replicated):
        overall = replicated_verdicts(replicated)
        n = int(replicated.replicates.max())
        words = [
            f"{NAMES.get(row.source, row.source)} {row.extraction} {_overall_word(row)}"
            for row in overall.itertuples()
            if (row.source, row.extraction) != POSITIVE_CONTROL
        ]
        lines.append(f"- **Over {n} replicates** (the rule above): " + "; ".join(words) + ".")
    tested_bits = int(budget.loc[budget.step == "NIST SP 800-22", "bits"].iloc[0])
    nist_seconds = float(budget.loc[budget.step == "NIST SP 800-22", "seconds"].iloc[0])
    days = budget.set_index("step")["days_for_64_GB"]
    lines.append(
        f"- **Amount tested:** {tested_bits / 8e6:.1f} MB through NIST in {nist_seconds:.0f} s, over every stream"
        f" of the chapter and of its replicates; at this rate NIST alone would need {days['NIST SP 800-22']:.1f}"
        " days on this machine for the draft's smallest amount, 64 GB."
    )
    for row in verdicts.itertuples():
        lines.append(f"- **Conclusion {row.id}: {row.verdict}.** {row.why}")
    return "\n".join(lines)
