"""Chapter 12's experiment: every stream of :mod:`ksc.randomness.bit_sources` through NIST SP 800-22, dieharder and ent,
and V4's streams replicated over (data seed, training seed) pairs beside PCG64's.

:func:`train_sources` trains the models whose latents are sources (V4 and dense ReLU on every pair),
:func:`make_streams`, :func:`replicate_streams` and :func:`submit_calibration` draw the bits and hand each stream to a
:class:`~ksc.randomness.runner.Runner`, which runs the batteries in worker processes while the next streams are made;
:func:`read_results` reads its results (dieharder calibrated test by test on PCG64 streams, ent judged on blocks).
:func:`streams_table` gives one row per stream and battery, :mod:`ksc.randomness.replicates` the rows per replicate
and the verdicts over the replicates, and :func:`claim_summary` / :func:`null_table` the rows the registry and the
ledger read. A battery that fails PCG64's own bits (:data:`POSITIVE_CONTROL`) is misconfigured for every stream.
The page's sentences are :mod:`ksc.pages.randomness_text`'s.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ksc.models.training import train_many
from ksc.randomness import batteries, nist
from ksc.randomness.bit_sources import (
    DESCRIPTIONS,
    MODEL_SOURCES,
    native_bits,
    orbit_periods,
    streams_of,
    value_bits,
)
from ksc.randomness.replicates import (  # noqa: F401  (the chapter's names for them)
    IDEAL_RATE_FLOOR,
    POSITIVE_CONTROL,
    replicated_summary,
    replicated_table,
    replicated_verdicts,
    replicates_table,
)
from ksc.randomness.runner import ALL, Runner, Tested, tested  # noqa: F401
from ksc.runtime.backend import keras

BATTERIES = ALL  # NIST SP 800-22, dieharder, ent
CONCLUSION_SOURCES = ("v4", "dense_relu", "v4_noise")  # every extraction of these (and PCG64's bits): n_sequences
REPLICATED_SOURCES = ("v4", "dense_relu")  # trained on every (data seed, training seed) pair


def replicate_pairs(data_seed: int, seed: int, n: int) -> list[tuple[int, int]]:
    """The (data seed, training seed) pairs of the replicates: the chapter's own pair first, then both seeds on by
    one each time."""
    return [(int(data_seed) + i, int(seed) + i) for i in range(int(n))]


def replicate_extractions(extractions) -> list[str]:
    """The extractions replicated: threshold, the one the conclusion turns on, whatever ``extractions`` holds. Not
    support (k of every L bits are ones by construction, so it fails at any size and seed) and not mantissa (its
    streams fail at the chapter's full length, and each replicate as long as the chapter's stream costs the budget
    of a chapter)."""
    return ["threshold"]


def model_sources(bit_sources) -> list[str]:
    """The sources that need a trained model, in the order given."""
    return [s for s in bit_sources if s in MODEL_SOURCES]


def control_sources(bit_sources) -> list[str]:
    """The sources that need no model (PCG64, the biased coin, the logistic maps), in the order given."""
    return [s for s in bit_sources if s not in MODEL_SOURCES]


def stream_sequences(source: str, extraction: str, n_sequences: int, other_sequences: int) -> int:
    """NIST sequences of one stream: ``n_sequences`` for the streams the conclusion reads (every extraction of
    :data:`CONCLUSION_SOURCES`, and PCG64's own bits), ``other_sequences`` for the others."""
    if source in CONCLUSION_SOURCES or (source, extraction) == POSITIVE_CONTROL:
        return int(n_sequences)
    return int(other_sequences)


def stream_lengths(n_sequences: int, other_sequences: int, sequence_bits: int):
    """(source, extraction) -> bits of the chapter's stream: :func:`stream_sequences` sequences of ``sequence_bits``."""
    return lambda source, extraction: (
        int(sequence_bits) * stream_sequences(source, extraction, n_sequences, other_sequences)
    )


def make_streams(
    sources,
    extractions,
    n_bits,
    seed,
    k: int,
    mantissa_low: int,
    biased_p: float,
    encoders: dict,
    r: float,
    submit=None,
) -> tuple[dict, pd.DataFrame]:
    """(source, extraction) -> bits, and a table of what each stream is (description, bits, seconds to make).
    ``n_bits``: one length for all, or a function (source, extraction) -> length. ``submit(key, bits)``, if given,
    is called with each stream as soon as it is made (a :class:`~ksc.randomness.runner.Runner`'s)."""
    length = n_bits if callable(n_bits) else (lambda source, extraction: int(n_bits))
    streams, rows = {}, []
    pairs = streams_of(sources, extractions)
    for source in dict.fromkeys(s for s, _ in pairs):
        wanted = [e for s, e in pairs if s == source and e != "native"]
        start = time.perf_counter()
        if any(e == "native" for s, e in pairs if s == source):
            streams[(source, "native")] = native_bits(source, length(source, "native"), seed, biased_p)
        if wanted:
            most = max(length(source, e) for e in wanted)
            for e, bits in value_bits(source, wanted, most, seed, k, mantissa_low, encoders, r).items():
                streams[(source, e)] = bits[: length(source, e)]
        seconds = time.perf_counter() - start
        for s, e in pairs:
            if s == source:
                bits = streams[(s, e)]
                if submit is not None:
                    submit((s, e), bits)
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
    return streams, pd.DataFrame(rows, columns=["source", "extraction", "what", "bits", "ones", "seconds_for_source"])


def calibration_keys(n_streams: int) -> list[tuple]:
    return [("pcg64", "calibration", i) for i in range(int(n_streams))]


def submit_calibration(runner: Runner, n_streams: int, n_bits: int, seed) -> list[tuple]:
    """``n_streams`` PCG64 streams of ``n_bits``, independent of every tested stream, through dieharder alone: the
    streams its tests are calibrated on (:func:`~ksc.randomness.batteries.calibrated_tests`). Returns their keys."""
    keys = calibration_keys(n_streams)
    for key in keys:
        runner.submit(key, native_bits("pcg64", n_bits, [*np.atleast_1d(seed), 99, key[2]]), wanted=("dieharder",))
    return keys


def replicate_streams(
    pairs, extractions, n_bits: int, k: int, mantissa_low: int, encoders: dict, r: float, streams: dict, submit
) -> pd.DataFrame:
    """The replicates' streams, each handed to ``submit(key, bits)`` as it is made, key (source, extraction, data
    seed, training seed): PCG64's own bits and its uniforms' threshold bits for every data seed (training seed None),
    and every replicated extraction of the models in ``encoders`` ((source, data seed, training seed) -> encoder) of
    fresh images drawn with the pair's data seed. The chapter's own pair's streams are the first ``n_bits`` of its
    streams in ``streams`` where it has them (the same bits: a stream is read chunk by chunk in order). Returns one
    row per stream: source, extraction, data_seed, train_seed, bits, ones, seconds (to make its source's bits)."""
    rows = []
    wanted = replicate_extractions(extractions)

    def hand_over(source, bits_of, d, s, seconds):
        for e, bits in bits_of.items():
            submit((source, e, d, s), bits)
            rows.append(
                {
                    "source": source,
                    "extraction": e,
                    "data_seed": d,
                    "train_seed": s,
                    "bits": len(bits),
                    "ones": float(bits.mean()) if len(bits) else np.nan,
                    "seconds": seconds,
                }
            )

    for i, (d, s) in enumerate(pairs):
        start = time.perf_counter()
        ideal = {"native": native_bits("pcg64", n_bits, d)}
        ideal.update(value_bits("pcg64", ["threshold"], n_bits, d, k, mantissa_low, None, r))
        hand_over("pcg64", ideal, d, None, time.perf_counter() - start)
        for source in REPLICATED_SOURCES:
            if (source, d, s) not in encoders:
                continue
            start = time.perf_counter()
            if i == 0 and all((source, e) in streams and len(streams[(source, e)]) >= n_bits for e in wanted):
                bits_of = {e: streams[(source, e)][:n_bits] for e in wanted}
            else:
                bits_of = value_bits(source, wanted, n_bits, d, k, mantissa_low, {source: encoders[(source, d, s)]}, r)
            hand_over(source, bits_of, d, s, time.perf_counter() - start)
    return pd.DataFrame(rows, columns=["source", "extraction", "data_seed", "train_seed", "bits", "ones", "seconds"])


def read_results(
    results: dict, streams: dict, replicate_info: pd.DataFrame, calibration, sequence_bits: int, processes: int
) -> tuple[Tested, Tested]:
    """:func:`tested` of the chapter's streams and of the replicates' (keys (source, extraction, data seed, training
    seed)), both with dieharder calibrated on the streams ``calibration``."""
    replicate_keys = [
        (r.source, r.extraction, int(r.data_seed), None if pd.isna(r.train_seed) else int(r.train_seed))
        for r in replicate_info.itertuples()
    ]
    return (
        tested(results, list(streams), calibration, sequence_bits, processes),
        tested(results, replicate_keys, calibration, sequence_bits, processes),
    )


def test_streams(
    streams: dict,
    sequence_bits: int,
    processes: int,
    run_external: bool = True,
    ent_blocks: int = 10,
    calibration_streams: int = 0,
    seed=0,
) -> Tested:
    """Every battery on every stream at once (no stream made while they run); dieharder and ent only where installed
    (and ``run_external``), dieharder calibrated on ``calibration_streams`` PCG64 streams as long as the longest."""
    runner = Runner(sequence_bits, processes, ent_blocks, run_external)
    try:
        longest = max((len(bits) for bits in streams.values()), default=0)
        calibration = submit_calibration(runner, calibration_streams, longest, seed) if run_external else []
        for key, bits in streams.items():
            runner.submit(key, bits)
        return tested(runner.results(), list(streams), calibration, sequence_bits, processes)
    finally:
        runner.close()


def ent_failure(verdict: dict) -> str:
    """Why ent's block rule failed a stream ('' where it passed)."""
    if verdict["passes"] is None or verdict["passes"]:
        return ""
    why = []
    if verdict["outside"] > verdict["allowed"]:
        why.append(f"{verdict['outside']} of {verdict['blocks']} blocks outside 1-99 % (at most {verdict['allowed']})")
    if verdict["ks_p"] < batteries.ENT_KS_ALPHA:
        why.append(f"block p-values not uniform (KS p = {verdict['ks_p']:.2g})")
    return "; ".join(why)


def streams_table(info: pd.DataFrame, tested: Tested) -> pd.DataFrame:
    """One row per stream and battery: bits tested, pass rate (NIST: first-level p-values >= 0.01; dieharder:
    calibrated p-values PASSED; ent: blocks within 1-99 %), failures and what failed (NIST: tests failing the stream
    rule; dieharder: FAILED calibrated p-values; ent: blocks outside 1-99 %), NIST's per-statistic proportion
    failures, the worst corrected p-value, passes (None: not measured) and ``passes_all`` (every battery that ran
    passed) on each of the stream's rows."""
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
        failed = sorted(set(table.test[table.assessment == "FAILED"])) if d and len(table) else []
        rows.append(
            {
                **base,
                "battery": BATTERIES[1],
                "bits_tested": int(stream.bits) if d and d["tests"] else 0,
                "pass_rate": d["pass_rate"] if d else np.nan,
                "failures": d["failed"] if d else np.nan,
                "what_failed": ", ".join(failed),
                "nist_statistics_failing": np.nan,
                "worst_corrected_p": d["worst_corrected_p"] if d else np.nan,
                "passes": d["passes"] if d else None,
            }
        )
        e = (tested.ent_verdicts or {}).get(key)
        rows.append(
            {
                **base,
                "battery": BATTERIES[2],
                "bits_tested": 8 * tested.ent[key]["bytes"] if e else 0,
                "pass_rate": 1 - e["outside"] / e["blocks"] if e and e["blocks"] else np.nan,
                "failures": e["outside"] if e else np.nan,
                "what_failed": ent_failure(e) if e else "",
                "nist_statistics_failing": np.nan,
                "worst_corrected_p": e["worst_corrected_p"] if e else np.nan,
                "passes": e["passes"] if e else None,
            }
        )
    table = _calibrated(pd.DataFrame(rows))
    table["measured"] = table.passes.notna()
    ran = table[table.measured].groupby(["source", "extraction"]).passes.agg(lambda p: bool(np.all(p.astype(bool))))
    table["passes_all"] = [ran.get((s, e), None) for s, e in zip(table.source, table.extraction)]
    return table


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
    """ent's report of every stream on the whole stream, with its block verdict: blocks, blocks outside 1-99 %, the
    most an ideal source shows, the KS p-value of the block p-values, ``whole_stream_passes`` (the whole stream's
    chi-square within 1-99 %, ent's own reading) and ``passes`` (the block rule). Empty when ent did not run."""
    rows = []
    for (s, e), report in tested.ent.items():
        v = tested.ent_verdicts[(s, e)]
        rows.append(
            {
                "source": s,
                "extraction": e,
                **{name: value for name, value in report.items() if name != "passes"},
                "whole_stream_passes": report["passes"],
                "blocks": v["blocks"],
                "blocks_outside": v["outside"],
                "allowed_outside": v["allowed"],
                "ks_p": v["ks_p"],
                "passes": v["passes"],
            }
        )
    return pd.DataFrame(rows)


def ent_block_table(tested: Tested) -> pd.DataFrame:
    """One row per stream and ent block: its chi-square and p-value (empty when ent did not run)."""
    frames = [blocks.assign(source=s, extraction=e) for (s, e), blocks in (tested.ent_blocks or {}).items()]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)[["source", "extraction", "block", "chi_square", "p"]]


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


def budget_projection(tested: Tested, made: pd.DataFrame) -> pd.DataFrame:
    """Seconds per megabit measured here for making and testing bits (every stream: the chapter's, the replicates'
    and dieharder's calibration streams), and what the draft's 64-256 GB would take. ``made``: one row per source
    run (bits made, seconds). A battery's seconds are its tasks' summed over the worker processes and divided by
    their number: the time it takes with every worker busy."""
    rows = [{"step": "make the bits", "bits": int(made.bits.sum()), "seconds": float(made.seconds.sum())}]
    for battery in BATTERIES:
        if battery in tested.seconds:
            rows.append({"step": battery, "bits": int(tested.bits[battery]), "seconds": tested.seconds[battery]})
    frame = pd.DataFrame(rows)
    frame["seconds_per_megabit"] = frame.seconds / (frame.bits / 1e6)
    for gigabytes in (64, 256):
        frame[f"days_for_{gigabytes}_GB"] = frame.seconds_per_megabit * gigabytes * 8e3 / 86400
    return frame


def bits_made(info: pd.DataFrame, replicate_info: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a source (the chapter's streams, each replicate's): the bits made and the seconds."""
    own = info.groupby("source", sort=False).agg(bits=("bits", "sum"), seconds=("seconds_for_source", "first"))
    keys = ["source", "data_seed", "train_seed"]
    replicates = replicate_info.groupby(keys, sort=False, dropna=False).agg(
        bits=("bits", "sum"), seconds=("seconds", "first")
    )
    return pd.concat([own.reset_index(), replicates.reset_index()], ignore_index=True)


def serial_correlation_z(report: dict) -> float:
    """ent's serial correlation in standard errors of a random file of the same length (1/sqrt(bytes) each)."""
    return report["serial_correlation"] * np.sqrt(report["bytes"])


def train_sources(bit_sources, logistic: dict, noise, pairs, **settings) -> tuple[dict, dict]:
    """The trained models whose latents are bit sources (:data:`~ksc.randomness.bit_sources.MODEL_SOURCES`).

    ``logistic`` maps a data seed to its logistic :class:`~ksc.data.chaos.Splits`; ``pairs`` are the replicates'
    (data seed, training seed), the chapter's own first. V4 and dense ReLU (:data:`REPLICATED_SOURCES`) train on every
    pair, each model as one computation (V4 on noise, with the chapter's training seed, as one more member of V4's);
    V3 on the chapter's pair alone. Returns (source -> :class:`~ksc.models.training.Fit` of the chapter's pair,
    (source, data seed, training seed) -> Fit of every replicated model). ``settings``: epochs, batch size, learning
    rate, width, k, Top-K selection and penalty, as :func:`~ksc.models.training.train_many` takes them."""
    wanted = {m for s, (m, _) in MODEL_SOURCES.items() if s in bit_sources}
    (d0, s0), fits, replicates = pairs[0], {}, {}
    for model in sorted(wanted):
        replicated = model in REPLICATED_SOURCES
        data = [logistic[d] for d, _ in pairs] if replicated else [logistic[d0]]
        seeds = [s for _, s in pairs] if replicated else [s0]
        with_noise = model == "v4" and "v4_noise" in bit_sources
        trained = train_many(model, data + [noise] * with_noise, seeds=seeds + [s0] * with_noise, **settings)
        if with_noise:
            fits["v4_noise"] = trained.pop()
        if replicated:
            replicates.update({(model, d, s): fit for (d, s), fit in zip(pairs, trained)})
        if model in bit_sources:
            fits[model] = trained[0]
    return fits, replicates


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
    """dieharder's rows of every stream, with its source and extraction and whether each p-value is calibrated
    (empty when dieharder did not run)."""
    tables = tested.dieharder_all or {}
    if not any(len(t) for t in tables.values()):
        return pd.DataFrame()
    return pd.concat([t.assign(source=s, extraction=e) for (s, e), t in tables.items() if len(t)], ignore_index=True)


def calibration_table(tested: Tested) -> pd.DataFrame:
    """One row per dieharder test: on how many PCG64 calibration streams it ran, on how many it FAILED or could not
    be measured, and whether it is calibrated (empty when dieharder did not run)."""
    return tested.calibration if tested.calibration is not None and len(tested.calibration) else pd.DataFrame()


def replicate_model_metrics(replicate_fits: dict) -> pd.DataFrame:
    """One row per replicated model: source, data seed, training seed, dead fraction, sparsity, test FVE."""
    rows = [
        {"source": source, "data_seed": d, "train_seed": s, **{q: fit.metrics[q] for q in ("dead_fraction", "fve")}}
        for (source, d, s), fit in replicate_fits.items()
    ]
    return pd.DataFrame(rows)
