"""Chapter 12's sentences: what each battery said of each stream, the batteries' run report and the summary, every
number and verdict read from the tables of :mod:`ksc.chapters.randomness` and the ledger's rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.randomness import BATTERIES, Tested, serial_correlation_z
from ksc.randomness import batteries, nist


def battery_report(tested: Tested, n_sequences: int) -> str:
    """What ran: NIST's sequences and time, which external batteries are installed, the chance that an ideal source
    fails one statistic's proportion rule at ``n_sequences``, and the dieharder tests left out."""
    missing = [tool for tool in ("dieharder", "ent") if not batteries.available(tool)]
    lines = [
        f"NIST SP 800-22 on {sum(p.shape[0] for p in tested.nist_pvalues.values())} sequences of "
        f"{tested.sequence_bits:,} bits in {tested.seconds['NIST SP 800-22']:.1f} s; "
        + (f"not installed here, so not measured: {', '.join(missing)}" if missing else "dieharder and ent installed"),
        "an ideal source fails one statistic's proportion rule with chance "
        f"{nist.false_fail_probability(n_sequences):.1%} at m = {n_sequences} sequences",
    ]
    if tested.dieharder_left_out:
        lines.append(f"dieharder tests the calibration stream fails (left out): {tested.dieharder_left_out}")
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


def summary(table: pd.DataFrame, tested: Tested, verdicts: pd.DataFrame, budget: pd.DataFrame, fve=None) -> str:
    """The chapter's findings as a Markdown list, every number and verdict read from the tables; ``fve`` maps a
    model source to its test FVE (what the latents are latents of)."""
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
            lines.append(
                f"- ent on V4's {e} bits: chi-square exceeded by {report['chi_square_percent']:.2f} % of random files,"
                f" serial correlation {report['serial_correlation']:+.4f} ({z:+.1f} standard errors of a random"
                f" file of {report['bytes']:,} bytes)."
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
            "- **Misconfigured at this size** (they fail PCG64's own bits, so none of their verdicts counts): "
            + ", ".join(broken)
            + "."
        )
    tested_bits = int(budget.loc[budget.step == "NIST SP 800-22", "bits"].iloc[0])
    nist_seconds = float(budget.loc[budget.step == "NIST SP 800-22", "seconds"].iloc[0])
    days = budget.set_index("step")["days_for_64_GB"]
    lines.append(
        f"- **Amount tested:** {tested_bits / 8e6:.1f} MB through NIST in {nist_seconds:.0f} s"
        f" ({len(tested.nist_pvalues)} streams); at this rate NIST alone would need {days['NIST SP 800-22']:.1f}"
        " days on this machine for the draft's smallest amount, 64 GB."
    )
    for row in verdicts.itertuples():
        lines.append(f"- **Conclusion {row.id}: {row.verdict}.** {row.why}")
    return "\n".join(lines)
