"""Chapter 12's experiment: every stream of :mod:`ksc.randomness.bit_sources` through NIST SP 800-22, dieharder and ent.

:func:`train_sources` trains the models whose latents are sources, :func:`make_streams` draws the bits,
:func:`test_streams` runs the batteries (NIST in worker processes, dieharder and ent on files in a temporary
folder), :func:`streams_table` gives one row per stream and battery, and :func:`claim_summary` /
:func:`null_table` the rows the registry and the ledger read. The page's sentences are
:mod:`ksc.pages.randomness_text`'s.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.models.training import train_many
from ksc.randomness import batteries, nist
from ksc.randomness.bit_sources import DESCRIPTIONS, MODEL_SOURCES, native_bits, orbit_periods, streams_of, value_bits
from ksc.runtime.backend import keras

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
    model '<source> <extraction> bits'. A stream that a battery did not test (not installed; a battery calibrated
    out counts as having run) is left out: judged on fewer batteries, it would pass more easily."""
    ran = table.measured.astype(bool) | table.misconfigured.astype(bool)
    complete = ran.groupby([table.source, table.extraction]).all()
    per_stream = table.drop_duplicates(["source", "extraction"])
    tested = np.array([bool(complete.get((s, e), False)) for s, e in zip(per_stream.source, per_stream.extraction)])
    per_stream = per_stream[per_stream.passes_all.notna().to_numpy() & tested]
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


def serial_correlation_z(report: dict) -> float:
    """ent's serial correlation in standard errors of a random file of the same length (1/sqrt(bytes) each)."""
    return report["serial_correlation"] * np.sqrt(report["bytes"])


def train_sources(bit_sources, logistic, noise, seed: int, **settings) -> dict:
    """The trained models whose latents are bit sources (:data:`~ksc.randomness.bit_sources.MODEL_SOURCES`): source
    -> :class:`~ksc.models.training.Fit`, one seed each. V4 trains on logistic and on noise images as one computation
    (sources ``v4`` and ``v4_noise``); every other model on logistic images. ``settings``: epochs, batch size,
    learning rate, width, k, Top-K selection and penalty, as :func:`~ksc.models.training.train_many` takes them."""
    wanted = {m for s, (m, _) in MODEL_SOURCES.items() if s in bit_sources}
    fits = {}
    if "v4" in wanted:
        v4_logistic, v4_noise = train_many("v4", [logistic, noise], seeds=[seed, seed], **settings)
        fits.update({"v4": v4_logistic, "v4_noise": v4_noise})
    for model in sorted(wanted - {"v4"}):
        fits[model] = train_many(model, logistic, seeds=[seed], **settings)[0]
    return fits


def latent_encoders(fits: dict) -> dict:
    """Source -> a function from images to the trained encoder's latents (NumPy), for :func:`make_streams`."""
    return {
        source: (
            lambda images, e=fits[source].autoencoder.encoder: keras.ops.convert_to_numpy(e(images, training=False))
        )
        for source in fits
    }


def model_metrics(fits: dict) -> pd.DataFrame:
    """One row per source model: its dead fraction, sparsity, variance, test FVE and wall seconds."""
    metrics = pd.DataFrame({source: fit.metrics for source, fit in fits.items()}).T
    return metrics[["dead_fraction", "sparsity", "variance", "fve", "wall_seconds"]]


def orbit_period_table(sources, n_orbits: int, seed) -> pd.DataFrame:
    """For each logistic source: how many of ``n_orbits`` orbits have fallen into a cycle by their last iterate,
    and the periods seen."""
    rows = []
    for s in sources:
        p = orbit_periods(s, n_orbits, seed)
        seen = ", ".join(map(str, sorted(set(p[p > 0].tolist()))))
        rows.append({"source": s, "orbits": len(p), "in_a_cycle": int((p > 0).sum()), "periods_seen": seen})
    return pd.DataFrame(rows)


def nist_failing_by_test(tested: Tested) -> pd.DataFrame:
    """Stream x NIST test: how many of the test's statistics fail NIST's proportion rule (0 where it did not apply)."""
    return pd.DataFrame(
        {
            f"{s} {e}": nist.second_level(p)
            .fillna({"fails_proportion": False})
            .astype({"fails_proportion": int})
            .groupby("test")
            .fails_proportion.sum()
            for (s, e), p in tested.nist_pvalues.items()
            if len(p)
        }
    ).T


def dieharder_table(tested: Tested) -> pd.DataFrame:
    """dieharder's rows of every stream, with its source and extraction (empty when dieharder did not run)."""
    if not tested.dieharder:
        return pd.DataFrame()
    return pd.concat([t.assign(source=s, extraction=e) for (s, e), t in tested.dieharder.items()], ignore_index=True)
