"""Chapter 12's experiment: every stream of :mod:`ksc.randomness.bit_sources` through NIST SP 800-22, dieharder and ent.

:func:`make_streams` draws the bits, :func:`test_streams` runs the batteries (NIST in worker processes,
dieharder and ent on files in a temporary folder), :func:`streams_table` gives one row per stream and
battery, and :func:`claim_summary` / :func:`null_table` the rows the registry and the ledger read.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.randomness import batteries, nist
from ksc.randomness.bit_sources import DESCRIPTIONS, native_bits, streams_of, value_bits

BATTERIES = ("NIST SP 800-22", "dieharder", "ent")
CALIBRATION = ("pcg64", "calibration")  # a second PCG64 stream: dieharder tests it fails are misconfigured


class Tested(NamedTuple):
    """What the batteries said of every stream."""

    nist_pvalues: dict  # (source, extraction) -> (sequences, 188) first-level p-values
    nist: dict  # (source, extraction) -> nist.stream_verdict
    dieharder: dict  # (source, extraction) -> dieharder table (empty when not installed)
    dieharder_left_out: list  # dieharder (test, ntuple) the calibration stream fails: left out everywhere
    ent: dict  # (source, extraction) -> ent report (absent when not installed)
    seconds: dict  # battery -> wall seconds
    sequence_bits: int  # bits per NIST sequence


def make_streams(
    sources, extractions, n_bits: int, seed, k: int, mantissa_low: int, biased_p: float, encoders: dict, r: float
) -> tuple[dict, pd.DataFrame]:
    """(source, extraction) -> bits, and a table of what each stream is (description, bits, seconds to make)."""
    streams, rows = {}, []
    pairs = streams_of(sources, extractions)
    for source in dict.fromkeys(s for s, _ in pairs):
        wanted = [e for s, e in pairs if s == source and e != "native"]
        start = time.perf_counter()
        if any(e == "native" for s, e in pairs if s == source):
            streams[(source, "native")] = native_bits(source, n_bits, seed, biased_p)
        if wanted:
            for e, bits in value_bits(source, wanted, n_bits, seed, k, mantissa_low, encoders, r).items():
                streams[(source, e)] = bits
        seconds = time.perf_counter() - start
        for s, e in pairs:
            if s == source:
                bits = streams[(s, e)]
                rows.append(
                    {
                        "source": s,
                        "extraction": e,
                        "what": DESCRIPTIONS[s],
                        "bits": len(bits),
                        "ones": float(bits.mean()) if len(bits) else np.nan,
                        "seconds_for_source": seconds,
                    }
                )
    streams[CALIBRATION] = native_bits("pcg64", n_bits, [*np.atleast_1d(seed), 99])
    return streams, pd.DataFrame(rows)


def test_streams(streams: dict, sequence_bits: int, processes: int, run_external: bool = True) -> Tested:
    """Every battery on every stream; dieharder and ent only where installed (and ``run_external``)."""
    seconds = {}
    start = time.perf_counter()
    tested = {key: bits for key, bits in streams.items() if key != CALIBRATION}
    pvalues = nist.run(tested, sequence_bits, processes)
    verdicts = {key: nist.stream_verdict(p) for key, p in pvalues.items()}
    seconds["NIST SP 800-22"] = time.perf_counter() - start
    diehard, left_out, ent = {}, [], {}
    with tempfile.TemporaryDirectory() as folder:
        files = {
            key: batteries.write_stream(bits, Path(folder) / f"{key[0]}-{key[1]}.bin")
            for key, bits in streams.items()
            if len(bits) >= 8
        }
        if run_external and batteries.available("dieharder"):
            start = time.perf_counter()
            calibration = batteries.dieharder(files[CALIBRATION])
            bad = calibration[calibration.assessment == "FAILED"]
            left_out = sorted(set(zip(bad.test, bad.ntuple)))
            keys = [key for key in tested if key in files]
            with ThreadPoolExecutor(max(processes, 1)) as pool:  # each test is its own dieharder process
                tables = list(pool.map(lambda key: batteries.dieharder(files[key]), keys))
            for key, table in zip(keys, tables):
                keep = [pair not in left_out for pair in zip(table.test, table.ntuple)]
                diehard[key] = table[keep].reset_index(drop=True)
            seconds["dieharder"] = time.perf_counter() - start
        if run_external and batteries.available("ent"):
            start = time.perf_counter()
            ent = {key: batteries.ent(files[key]) for key in tested if key in files}
            seconds["ent"] = time.perf_counter() - start
    return Tested(pvalues, verdicts, diehard, left_out, ent, seconds, sequence_bits)


def streams_table(info: pd.DataFrame, tested: Tested) -> pd.DataFrame:
    """One row per stream and battery: bits tested, pass rate (NIST: first-level p-values >= 0.01; dieharder: p-values
    PASSED), failures and what failed (NIST: tests failing the stream rule; dieharder: FAILED p-values; ent: its
    chi-square), NIST's per-statistic proportion failures, the worst corrected p-value, passes (None: not measured)
    and ``passes_all`` (every battery that ran passed) on each of the stream's rows."""
    rows = []
    for stream in info.itertuples():
        key = (stream.source, stream.extraction)
        base = {"source": stream.source, "extraction": stream.extraction}
        v = tested.nist[key]
        rows.append(
            {
                **base,
                "battery": BATTERIES[0],
                "bits_tested": tested.nist_pvalues[key].shape[0] * tested.sequence_bits,
                "pass_rate": v["pass_rate"],
                "failures": v["n_failing_tests"],
                "what_failed": v["failing_tests"],
                "nist_statistics_failing": v["failing_proportion"],
                "worst_corrected_p": v["worst_corrected_p"],
                "passes": v["passes"] if v["sequences"] else None,
            }
        )
        table = tested.dieharder.get(key)
        d = batteries.dieharder_verdict(table) if table is not None else None
        failed = sorted(set(table.test[table.assessment == "FAILED"])) if d else []
        rows.append(
            {
                **base,
                "battery": BATTERIES[1],
                "bits_tested": int(stream.bits) if d else 0,
                "pass_rate": d["pass_rate"] if d else np.nan,
                "failures": d["failed"] if d else np.nan,
                "what_failed": ", ".join(failed),
                "nist_statistics_failing": np.nan,
                "worst_corrected_p": d["worst_corrected_p"] if d else np.nan,
                "passes": d["passes"] if d else None,
            }
        )
        e = tested.ent.get(key)
        rows.append(
            {
                **base,
                "battery": BATTERIES[2],
                "bits_tested": 8 * e["bytes"] if e else 0,
                "pass_rate": np.nan,
                "failures": int(not e["passes"]) if e else np.nan,
                "what_failed": ""
                if not e or e["passes"]
                else f"chi-square exceeded in {e['chi_square_percent']:.2f} %",
                "nist_statistics_failing": np.nan,
                "worst_corrected_p": min(e["chi_square_percent"], 100 - e["chi_square_percent"]) / 50 if e else np.nan,
                "passes": e["passes"] if e else None,
            }
        )
    table = _calibrated(pd.DataFrame(rows))
    table["measured"] = table.passes.notna()
    ran = table[table.measured].groupby(["source", "extraction"]).passes.agg(lambda p: bool(np.all(p.astype(bool))))
    table["passes_all"] = [ran.get((s, e), None) for s, e in zip(table.source, table.extraction)]
    return table


POSITIVE_CONTROL = ("pcg64", "native")


def _calibrated(table: pd.DataFrame) -> pd.DataFrame:
    """A battery that fails the positive control (PCG64's own bits) is misconfigured at this size: its verdicts
    are kept as ``raw_passes`` and count as not measured (``passes`` None) for every stream."""
    table = table.assign(raw_passes=table.passes, misconfigured=False)
    control = table[(table.source == POSITIVE_CONTROL[0]) & (table.extraction == POSITIVE_CONTROL[1])]
    for row in control.itertuples():
        if row.passes is not None and not bool(row.passes):
            hit = table.battery == row.battery
            table.loc[hit, "misconfigured"] = True
            table["passes"] = table.passes.astype(object)
            table.loc[hit, "passes"] = None
    return table


def verdict_grid(table: pd.DataFrame) -> pd.DataFrame:
    """Source x (extraction, battery): 'pass', 'FAIL' or 'not measured'."""
    word = table.passes.map({True: "pass", False: "FAIL"}).fillna("not measured")
    word[table.misconfigured] = (
        "misconfigured (" + table.raw_passes[table.misconfigured].map({True: "pass", False: "fail"}) + ")"
    )
    grid = table.assign(word=word).pivot_table(
        index="source", columns=["extraction", "battery"], values="word", aggfunc="first"
    )
    return grid.reindex(list(dict.fromkeys(table.source)))


def claim_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Long table (model, quantity, mean, sd, n) of every stream's ``passes_all`` (1 or 0), for the registry:
    model '<source> <extraction> bits'."""
    per_stream = table.drop_duplicates(["source", "extraction"])
    per_stream = per_stream[per_stream.passes_all.notna()]
    return pd.DataFrame(
        {
            "model": per_stream.source + " " + per_stream.extraction + " bits",
            "quantity": "passes_all",
            "mean": per_stream.passes_all.astype(float),
            "sd": np.nan,
            "n": 1,
        }
    ).reset_index(drop=True)


NULLS = {"dense_relu": "dense ReLU latents", "v4_noise": "V4 trained on noise"}


def null_table(table: pd.DataFrame, chapter: str = "12_randomness") -> pd.DataFrame:
    """For each of V4's streams, the same extraction of the null sources' latents, as the ledger's references."""
    summary = claim_summary(table).set_index("model")["mean"]
    rows = []
    for model in summary.index:
        if not model.startswith("v4 "):
            continue
        extraction = model.split(" ")[1]
        for source, name in NULLS.items():
            null = f"{source} {extraction} bits"
            if null in summary.index:
                rows.append(
                    {
                        "reference": name,
                        "model": model,
                        "quantity": "passes_all",
                        "value": summary[null],
                        "source": chapter,
                    }
                )
    return pd.DataFrame(rows, columns=["reference", "model", "quantity", "value", "source"])


def ent_table(tested: Tested) -> pd.DataFrame:
    """ent's report of every stream (empty when ent is not installed)."""
    return pd.DataFrame([{"source": s, "extraction": e, **report} for (s, e), report in tested.ent.items()])


def pvalue_histograms(tested: Tested, bins: int = 10) -> pd.DataFrame:
    """Counts of every stream's first-level NIST p-values in ten equal bins (the figure's data)."""
    rows = []
    for (source, extraction), p in tested.nist_pvalues.items():
        values = p[np.isfinite(p)]
        counts = np.histogram(values, bins=bins, range=(0, 1))[0]
        rows += [
            {
                "source": source,
                "extraction": extraction,
                "bin": i / bins,
                "count": int(c),
                "share": c / max(len(values), 1),
            }
            for i, c in enumerate(counts)
        ]
    return pd.DataFrame(rows)


def budget_projection(table: pd.DataFrame, tested: Tested, info: pd.DataFrame) -> pd.DataFrame:
    """Seconds per megabit measured here for making and testing bits, and what the draft's 64-256 GB would take."""
    nist_bits = sum(p.shape[0] * tested.sequence_bits for p in tested.nist_pvalues.values())
    make = info.drop_duplicates("source").seconds_for_source.sum()
    made = info.bits.sum()
    rows = [
        {"step": "make the bits", "bits": int(made), "seconds": float(make)},
        {"step": "NIST SP 800-22", "bits": int(nist_bits), "seconds": tested.seconds.get("NIST SP 800-22", np.nan)},
    ]
    for battery in ("dieharder", "ent"):
        if battery in tested.seconds:
            tested_bits = int(table[(table.battery == battery)].bits_tested.sum())
            rows.append({"step": battery, "bits": tested_bits, "seconds": tested.seconds[battery]})
    frame = pd.DataFrame(rows)
    frame["seconds_per_megabit"] = frame.seconds / (frame.bits / 1e6)
    for gigabytes in (64, 256):
        frame[f"days_for_{gigabytes}_GB"] = frame.seconds_per_megabit * gigabytes * 8e3 / 86400
    return frame


def _word(table: pd.DataFrame, source: str, extraction: str, battery: str | None = None) -> str:
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
    """The chapter's findings in sentences, every number and verdict read from the tables; ``fve`` maps a model
    source to its test FVE (what the latents are latents of)."""
    present = set(zip(table.source, table.extraction))
    lines = []
    if fve:
        lines.append(
            "- **The models:** test FVE "
            + ", ".join(f"{source} {value:+.3f}" for source, value in fve.items())
            + " (0 is the mean image): these are the latents of models that reconstruct this well."
        )
    if ("pcg64", "native") in present:
        per = ", ".join(f"{b} {_word(table, 'pcg64', 'native', b)}" for b in BATTERIES)
        lines.append(f"- **Positive control.** PCG64's own bits: {per}.")
    negatives = [(s, "native") for s in ("biased", "logistic_399", "logistic_4_float32") if (s, "native") in present]
    if negatives:
        parts = [f"{s} {_word(table, s, e)}" for s, e in negatives]
        lines.append("- **Negative controls** (every battery that ran): " + ", ".join(parts) + " (each should fail).")
    if ("logistic_4", "native") in present:
        lines.append(
            f"- The logistic map at r = 4 in float64, read as x > 1/2, {_word(table, 'logistic_4', 'native')}"
            " every battery that ran: the map itself is a bit source before any autoencoder touches it."
        )
    extractions = [e for e in ("threshold", "support", "mantissa") if ("v4", e) in present]
    for e in extractions:
        others = [f"{s} {_word(table, s, e)}" for s in ("dense_relu", "v3", "v4_noise", "pcg64") if (s, e) in present]
        lines.append(f"- **{e} bits**: V4 {_word(table, 'v4', e)}; " + ", ".join(others) + ".")
    for (source, e), report in tested.ent.items():
        if source == "v4":
            z = report["serial_correlation"] * np.sqrt(report["bytes"])
            lines.append(
                f"- ent on V4's {e} bits: chi-square exceeded by {report['chi_square_percent']:.2f} % of random files,"
                f" serial correlation {report['serial_correlation']:+.4f} ({z:+.1f} standard errors of a random"
                f" file of {report['bytes']:,} bytes)."
            )
    mantissa = [s for s, e in dict.fromkeys(zip(table.source, table.extraction)) if e == "mantissa"]
    nist_passes = [s for s in mantissa if _word(table, s, "mantissa", BATTERIES[0]) == "passes"]
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
