"""Chapter 12's machinery: NIST's tests against NIST's C code, the extractions, the batteries, the verdicts."""

import os

import numpy as np
import pandas as pd
import pytest
from declared_results import write_declared as write_results

from ksc import conclusions
from ksc.chapters import randomness
from ksc.pages import randomness_text
from ksc.randomness import batteries, bit_sources, nist
from ksc.randomness.runner import Runner

sp80022suite = pytest.importorskip("sp80022suite")


def _fair(n: int, seed: int, p: float = 0.5) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < p).astype(np.uint8)


def test_nist_lists_the_148_aperiodic_templates_of_length_9():
    words = {format(t, "09b") for t in nist.TEMPLATES}
    assert len(words) == 148 and "000000001" in words and "000000000" not in words and "010101010" not in words
    assert len(nist.statistic_names()) == 188


@pytest.mark.parametrize("seed, p", [(1, 0.5), (2, 0.5), (3, 0.502), (4, 0.499)])
def test_multi_pvalue_tests_agree_with_nists_c_code(tmp_path, seed, p):
    """The wrapper of NIST's C code returns the minimum of each test's p-values; ours must give that minimum, and the
    single-p-value tests computed here for speed (approximate entropy, the Fourier transform) its value."""
    bits = _fair(10**6, seed, p)
    buffer = bits.tobytes()
    (tmp_path / "templates").mkdir()  # NIST's code reads its templates from ./templates/template9
    (tmp_path / "templates" / "template9").write_text(
        "".join(" ".join(format(t, "09b")) + "\n" for t in nist.TEMPLATES)
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        reference_templates = sp80022suite.non_overlapping_template_matchings(9, buffer)
    finally:
        os.chdir(cwd)
    assert min(nist.cumulative_sums(bits)) == pytest.approx(sp80022suite.cumulative_sums(buffer), rel=1e-9)
    assert min(nist.serial(bits)) == pytest.approx(sp80022suite.serial(16, buffer), rel=1e-9)
    # NIST's C code sums C log(C/n) over 2^10 and 2^11 patterns in one pass; its rounding moves the p-value in the
    # ninth digit (ours agrees with an exactly rounded sum, math.fsum, to the twelfth)
    assert nist.approximate_entropy(bits) == pytest.approx(sp80022suite.approximate_entropy(10, buffer), rel=1e-8)
    assert nist.discrete_fourier_transform(bits) == pytest.approx(sp80022suite.discrete_fourier_transform(buffer))
    assert nist.non_overlapping_templates(bits).min() == pytest.approx(reference_templates, rel=1e-9)
    excursions = nist.random_excursions(bits)
    if np.isfinite(excursions).all():
        assert excursions.min() == pytest.approx(sp80022suite.random_excursions(buffer), rel=1e-9)
        assert nist.random_excursions_variant(bits).min() == pytest.approx(
            sp80022suite.random_excursions_variant(buffer), rel=1e-9
        )
    else:  # fewer than 500 cycles: NIST's code refuses the sequence too
        with pytest.raises(ValueError):
            sp80022suite.random_excursions(buffer)


def _berlekamp_massey(block) -> int:
    """Textbook Berlekamp-Massey over GF(2), one block, lists of bits: the linear complexity."""
    n = len(block)
    c, b, length, last = [1] + [0] * n, [1] + [0] * n, 0, -1
    for i in range(n):
        d = block[i]
        for j in range(1, length + 1):
            d ^= c[j] & block[i - j]
        if d:
            before = c[:]
            for j in range(n - i + last):
                c[j + i - last] ^= b[j]
            if 2 * length <= i:
                length, last, b = i + 1 - length, i, before
    return length


def test_block_complexities_are_berlekamp_masseys():
    """All blocks at once (ours) against one block at a time (the textbook loop), on blocks of known complexity
    too: all zeros (0), a single one at the end of m bits (m), a period-3 pattern (2 or 3)."""
    m = 40
    rng = np.random.default_rng(5)
    blocks = [rng.integers(0, 2, m) for _ in range(130)]
    blocks += [np.zeros(m, int), np.eye(1, m, m - 1, dtype=int)[0], np.tile([1, 1, 0], m)[:m]]
    ours = nist.block_complexities(np.concatenate(blocks).astype(np.uint8), m)
    expected = [_berlekamp_massey([int(x) for x in block]) for block in blocks]
    assert ours.tolist() == expected
    assert expected[-3:] == [0, m, 2] and len(set(expected)) > 3


@pytest.mark.parametrize("seed, p, period", [(1, 0.5, 0), (2, 0.52, 0), (3, 0.5, 700)])
def test_linear_complexity_agrees_with_nists_c_code(seed, p, period):
    """Fair and biased coins, and a sequence repeating every 700 bits (which NIST's test rejects)."""
    bits = _fair(10**6, seed, p)
    if period:
        bits = np.resize(bits[:period], 10**6)
    reference = sp80022suite.linear_complexity(nist.LINEAR_COMPLEXITY_BLOCK, bits.tobytes())
    assert nist.linear_complexity(bits) == pytest.approx(reference, rel=1e-12, abs=1e-300)
    assert (reference < 0.01) == bool(period)


def test_nist_worked_examples():
    """SP 800-22's own examples for the tests computed here: cumulative sums on its 100-bit epsilon (Section
    2.13.8: forward 0.219194, backward 0.114866) and serial on 0011011101 with m = 3 (Section 2.11.4: 0.808792,
    0.670320)."""
    epsilon = "1100100100001111110110101010001000100001011010001100001000110100110001001100011001100010100010111000"
    forward, backward = nist.cumulative_sums(np.array([int(c) for c in epsilon], dtype=np.uint8))
    assert forward == pytest.approx(0.219194, abs=1e-6) and backward == pytest.approx(0.114866, abs=1e-6)
    first, second = nist.serial(np.array([int(c) for c in "0011011101"], dtype=np.uint8), 3)
    assert first == pytest.approx(0.808792, abs=1e-6) and second == pytest.approx(0.670320, abs=1e-6)
    # approximate entropy: Section 2.12.4 (0100110101, m = 3: 0.261961) and 2.12.8 (epsilon, m = 2: 0.235301)
    ten = np.array([int(c) for c in "0100110101"], dtype=np.uint8)
    assert nist.approximate_entropy(ten, 3) == pytest.approx(0.261961, abs=1e-6)
    assert nist.approximate_entropy(np.array([int(c) for c in epsilon], np.uint8), 2) == pytest.approx(
        0.235301, abs=1e-6
    )


def test_second_level_follows_nist_section_4_2():
    low, high = nist.proportion_range(1000)
    assert low == pytest.approx(0.99 - 0.0094392, abs=1e-6) and high == pytest.approx(0.99 + 0.0094392, abs=1e-6)
    assert nist.false_fail_probability(8) == pytest.approx(1 - 0.99**8)  # one sequence below 0.01 fails at m = 8
    assert 0 < nist.false_fail_probability(1000) < 0.01  # both ends of the range count from m = 891
    assert np.isnan(nist.uniformity_pvalue(np.linspace(0, 1, 54)))  # NIST asks for at least 55 sequences
    assert nist.uniformity_pvalue(np.full(100, 0.05)) < nist.UNIFORMITY_ALPHA
    assert nist.uniformity_pvalue((np.arange(100) + 0.5) / 100) == pytest.approx(1.0)


def test_nist_passes_pcg64_and_fails_a_biased_coin():
    fair = nist.stream_verdict(nist.run({"fair": _fair(2 * 10**6, 4)}, 10**6)["fair"])
    biased = nist.stream_verdict(nist.run({"biased": _fair(2 * 10**6, 5, 0.51)}, 10**6)["biased"])
    assert fair["passes"] and fair["sequences"] == 2 and fair["pass_rate"] > 0.97
    assert not biased["passes"] and "frequency" in biased["failing_tests"].split(", ")
    assert fair["n_failing_tests"] == 0 and fair["tests"] == 15


def test_short_sequences_leave_out_the_tests_nist_sizes_at_one_million():
    p = nist.sequence_pvalues(_fair(100_000, 6))
    names = pd.Series(nist.statistic_names())
    missing = set(names[np.isnan(p)].map(nist.test_of))
    assert missing == {
        "overlapping_template",
        "linear_complexity",
        "random_excursions",
        "random_excursions_variant",
    } | {"universal"}


def test_processes_do_not_change_the_numbers():
    streams = {"a": _fair(200_000, 7), "b": _fair(200_000, 8)}
    one, two = nist.run(streams, 100_000, 1), nist.run(streams, 100_000, 2)
    for key in streams:
        np.testing.assert_array_equal(one[key], two[key])


def test_extractions():
    values = np.random.default_rng(0).normal(size=(64, 16)).astype(np.float32)
    values[:, :8] *= np.random.default_rng(1).random((64, 8)) < 0.25  # sparse units
    support = bit_sources.support_bits(values, 4).reshape(64, 16)
    assert (support.sum(axis=1) == 4).all()
    threshold = bit_sources.threshold_bits(values, bit_sources.unit_medians(values))
    assert len(threshold) == int((np.abs(values) > 1e-6).sum())  # active values only
    assert np.isinf(bit_sources.unit_medians(np.zeros((8, 3), np.float32))).all()  # dead units give no bits
    one_ulp = np.array([[np.nextafter(np.float32(1), np.float32(2))]], dtype=np.float32)  # mantissa ...0001
    np.testing.assert_array_equal(bit_sources.mantissa_bits(one_ulp, 3), [0, 0, 1])


def test_native_controls_have_the_bias_their_maps_give():
    fair = bit_sources.native_bits("logistic_4", 200_000, 0)
    invariant = bit_sources.native_bits("logistic_399", 200_000, 0)
    assert abs(fair.mean() - 0.5) < 0.01 and invariant.mean() > 0.52
    assert abs(bit_sources.native_bits("biased", 200_000, 0, biased_p=0.6).mean() - 0.6) < 0.01
    assert bit_sources.streams_of(["biased", "v4"], bit_sources.EXTRACTIONS) == [
        ("biased", "native"),
        ("v4", "threshold"),
        ("v4", "support"),
        ("v4", "mantissa"),
    ]


def test_a_source_without_active_values_gives_no_bits():
    dead = {"dense_relu": lambda images: np.zeros((len(images), 16), np.float32)}
    bits = bit_sources.value_bits("dense_relu", ["threshold", "support"], 10_000, 0, 4, 8, dead)
    assert len(bits["threshold"]) == 0 and len(bits["support"]) == 10_000


@pytest.mark.skipif(not batteries.available("ent"), reason="Debian's ent is not installed")
def test_ent_tells_random_bytes_from_zeros(tmp_path):
    good = batteries.ent(batteries.write_stream(_fair(800_000, 9), tmp_path / "good.bin"))
    bad = batteries.ent(batteries.write_stream(np.zeros(800_000, np.uint8), tmp_path / "zeros.bin"))
    assert good["passes"] and good["entropy"] > 7.99 and not bad["passes"] and bad["entropy"] == 0


@pytest.mark.skipif(not batteries.available("dieharder"), reason="Debian's dieharder is not installed")
def test_dieharder_marks_a_rewound_file_not_measured(tmp_path):
    small = batteries.write_stream(_fair(80_000, 10), tmp_path / "small.bin")  # 2,500 words
    table = batteries.dieharder(small, {100: (10_000, 10)})
    assert len(table) and table.rewound.all() and (table.assessment == "not measured").all()
    assert batteries.dieharder_verdict(table)["passes"] is None


def _row(source, extraction, battery, passes):
    return {"source": source, "extraction": extraction, "battery": battery, "passes": passes}


def test_a_battery_that_fails_the_positive_control_counts_for_no_stream():
    table = pd.DataFrame(
        [
            _row("pcg64", "native", "dieharder", False),
            _row("v4", "threshold", "dieharder", True),
            _row("pcg64", "native", "ent", True),
            _row("v4", "threshold", "ent", False),
        ]
    )
    calibrated = randomness._calibrated(table)
    assert calibrated.misconfigured.tolist() == [True, True, False, False]
    assert calibrated.passes.tolist()[:2] == [None, None] and calibrated.raw_passes.tolist()[1]


def _streams(passing: set) -> pd.DataFrame:
    rows = []
    for source in ("pcg64", "v4", "dense_relu", "v4_noise", "logistic_4"):
        for extraction in ("native",) if source in ("pcg64", "logistic_4") else ("threshold", "mantissa"):
            ok = (source, extraction) in passing or source == "pcg64"
            rows += [
                {
                    **_row(source, extraction, battery, ok or battery != "NIST SP 800-22"),
                    "passes_all": ok,
                    "measured": True,
                }
                for battery in randomness.BATTERIES
            ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "passing, verdict",
    [
        (set(), "not supported"),
        ({("v4", "threshold")}, "cannot tell"),
        ({("v4", "mantissa"), ("dense_relu", "mantissa")}, "cannot tell"),
    ],
)
def test_full_entropy_rule(tmp_path, passing, verdict):
    write_results(tmp_path, "12_randomness", {}, pd.DataFrame({"x": [1]}), tables={"streams": _streams(passing)})
    judged = conclusions.chapter_verdicts(tmp_path, "12_randomness").set_index("id")
    assert judged.loc["ksc-full-entropy", "verdict"] == verdict
    if passing == {("v4", "threshold")}:
        assert "consistent with randomness" in judged.loc["ksc-full-entropy", "why"]


def test_full_entropy_is_not_measured_when_a_battery_did_not_run(tmp_path):
    streams = _streams({("v4", "threshold")})
    streams["passes"] = streams.passes.astype(object)
    streams.loc[streams.battery == "dieharder", "measured"] = False
    streams.loc[streams.battery == "dieharder", "passes"] = None
    write_results(tmp_path, "12_randomness", {}, pd.DataFrame({"x": [1]}), tables={"streams": streams})
    judged = conclusions.chapter_verdicts(tmp_path, "12_randomness").set_index("id")
    assert judged.loc["ksc-full-entropy", "verdict"] == "not measured"
    assert "dieharder decided nothing" in judged.loc["ksc-full-entropy", "why"]


def test_without_dieharder_and_ent_their_rows_say_not_measured():
    streams, info = randomness.make_streams(["pcg64", "biased"], ["native"], 100_000, 0, 4, 8, 0.51, {}, 3.99)
    table = randomness.streams_table(info, randomness.test_streams(streams, 100_000, 1, run_external=False))
    external = table[table.battery != "NIST SP 800-22"]
    assert len(external) == 4 and not external.measured.any()
    assert set(randomness.verdict_grid(table)[("native", "dieharder")]) == {"not measured"}
    nist_rows = table[table.battery == "NIST SP 800-22"].set_index("source")
    assert nist_rows.loc["biased", "passes_all"] == nist_rows.loc["biased", "passes"]  # judged on NIST alone


def _tested(serial_correlation=0.01, nist_seconds=3.0, left_out=()):
    pvalues = {("pcg64", "native"): np.full((2, 188), 0.5), ("v4", "threshold"): np.full((2, 188), 0.5)}
    ent = {("v4", "threshold"): {"serial_correlation": serial_correlation, "bytes": 10_000, "chi_square_percent": 42.0}}
    seconds = {"NIST SP 800-22": nist_seconds}
    return randomness.Tested(pvalues, {}, {}, list(left_out), ent, seconds, 1000)


def test_the_summary_states_the_numbers_and_verdicts_it_is_given():
    def text(v4_passes=True, fve=0.25, serial_correlation=0.01, megabits=16.0, days=2.5):
        table = pd.DataFrame(
            [
                {**_row("pcg64", "native", battery, True), "passes_all": True, "misconfigured": False}
                for battery in randomness.BATTERIES
            ]
            + [
                {
                    **_row("v4", "threshold", "NIST SP 800-22", v4_passes),
                    "passes_all": v4_passes,
                    "misconfigured": False,
                }
            ]
        )
        budget = pd.DataFrame(
            [{"step": "NIST SP 800-22", "bits": int(megabits * 1e6), "seconds": 30.0, "days_for_64_GB": days}]
        )
        verdicts = pd.DataFrame([{"id": "ksc-full-entropy", "verdict": "cannot tell", "why": "the reason"}])
        tested = _tested(serial_correlation)
        return randomness_text.summary(table, tested, verdicts, budget, {"v4": fve})

    base = text()
    assert "test FVE v4 +0.250" in base and "test FVE v4 -0.125" in text(fve=-0.125)
    assert "PCG64's own bits: NIST SP 800-22 passes, dieharder passes, ent passes" in base
    assert "V4 passes;" in base and "V4 fails (NIST SP 800-22);" in text(v4_passes=False)
    # ent's serial correlation and its z: 0.01 * sqrt(10,000) = 1.0 standard errors
    assert "serial correlation +0.0100 (+1.0 standard errors" in base
    assert "serial correlation +0.0300 (+3.0 standard errors" in text(serial_correlation=0.03)
    assert "2.0 MB through NIST" in base and "4.0 MB through NIST" in text(megabits=32.0)
    assert "would need 2.5 days" in base and "would need 7.2 days" in text(days=7.2)
    assert "**Conclusion ksc-full-entropy: cannot tell.** the reason" in base


def test_the_battery_report_states_what_ran():
    report = randomness_text.battery_report(_tested(nist_seconds=3.0), n_sequences=8)
    assert "NIST SP 800-22 on 4 sequences of 1,000 bits in 3.0 s" in report
    assert f"{nist.false_fail_probability(8):.1%} at m = 8 sequences" in report
    assert f"{nist.false_fail_probability(2):.1%} at m = 2, " in report  # the streams' own m too
    assert "uniformity check applies to no stream" in report
    assert "applies to the streams of 55 sequences" in randomness_text.battery_report(_tested(), n_sequences=55)
    assert "in 4.5 s" in randomness_text.battery_report(_tested(nist_seconds=4.5), n_sequences=8)
    report = randomness_text.battery_report(_tested(left_out=["diehard_opso", "sts_serial"]), n_sequences=8)
    assert report.endswith("decide nothing: diehard_opso, sts_serial")


def test_a_stream_word_reads_the_battery_and_the_calibration():
    table = pd.DataFrame(
        [
            {**_row("v4", "mantissa", "NIST SP 800-22", False), "passes_all": False, "misconfigured": False},
            {**_row("v4", "mantissa", "ent", None), "passes_all": False, "misconfigured": True},
        ]
    )
    assert randomness_text.stream_word(table, "v4", "mantissa") == "fails (NIST SP 800-22)"
    assert randomness_text.stream_word(table, "v4", "mantissa", "NIST SP 800-22") == "fails"
    assert randomness_text.stream_word(table, "v4", "mantissa", "ent").startswith("misconfigured")
    assert randomness_text.stream_word(table, "v4", "threshold") == "not measured"


def test_claims_leave_out_a_stream_a_battery_did_not_test():
    table = _streams({("v4", "threshold")}).assign(misconfigured=False)
    full = randomness.claim_summary(table).set_index("model")["mean"]
    assert full["v4 threshold bits"] == 1.0 and full["v4 mantissa bits"] == 0.0
    table.loc[(table.source == "v4") & (table.battery == "ent"), "measured"] = False
    assert "v4 threshold bits" not in randomness.claim_summary(table).model.tolist()  # judged on fewer batteries
    table.loc[table.battery == "ent", "misconfigured"] = True  # calibrated out: counts as having run
    assert "v4 threshold bits" in randomness.claim_summary(table).model.tolist()


# ---- the replicates, ent's blocks, dieharder's calibration


@pytest.mark.parametrize("n, rate, bound", [(5, 0.01, 1), (10, 0.02, 2), (100, 0.01, 4), (5, 0.2, 3), (5, 0.6, 5)])
def test_binomial_bound(n, rate, bound):
    """The 99 % upper bound: the smallest a with P(X <= a) >= 0.99 (5 runs at 1 %: P(0) = 0.951, P(<= 1) = 0.999)."""
    assert batteries.binomial_bound(n, rate) == bound
    from scipy import stats

    assert stats.binom.cdf(bound, n, rate) >= 0.99 and (bound == 0 or stats.binom.cdf(bound - 1, n, rate) < 0.99)
    assert batteries.binomial_bound(0, rate) == 0


def _block_pvalues(bits: np.ndarray, blocks: int) -> np.ndarray:
    """The chi-square p-values of the byte counts of each block, as ent computes them (255 degrees of freedom)."""
    from scipy import stats

    data = np.packbits(bits)
    size = len(data) // blocks
    counts = np.stack([np.bincount(data[i * size : (i + 1) * size], minlength=256) for i in range(blocks)])
    chi2 = ((counts - size / 256) ** 2 / (size / 256)).sum(axis=1)
    return stats.chi2.sf(chi2, 255)


def test_ent_block_rule_accepts_pcg64_and_rejects_a_biased_coin():
    fair = batteries.ent_block_verdict(_block_pvalues(bit_sources.native_bits("pcg64", 8_000_000, 3), 10))
    biased = batteries.ent_block_verdict(_block_pvalues(_fair(8_000_000, 4, 0.51), 10))
    assert fair["passes"] and fair["blocks"] == 10 and fair["allowed"] == 2 and fair["ks_p"] >= 0.01
    assert not biased["passes"] and biased["outside"] > biased["allowed"] and biased["ks_p"] < 0.01
    # either check alone fails a stream: three blocks outside 1-99 % with uniform-looking rest, or all in the middle
    assert not batteries.ent_block_verdict([0.001, 0.995, 0.999, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75])["passes"]
    clustered = batteries.ent_block_verdict(np.full(10, 0.5))
    assert clustered["outside"] == 0 and clustered["ks_p"] < 0.01 and not clustered["passes"]
    assert batteries.ent_block_verdict([])["passes"] is None


@pytest.mark.skipif(not batteries.available("ent"), reason="Debian's ent is not installed")
def test_ent_blocks_through_ent(tmp_path):
    fair = np.packbits(bit_sources.native_bits("pcg64", 8_000_000, 3))
    blocks = batteries.ent_block_pvalues(fair, 10, tmp_path)
    np.testing.assert_allclose(blocks.p, _block_pvalues(bit_sources.native_bits("pcg64", 8_000_000, 3), 10), atol=1e-5)
    assert batteries.ent_block_verdict(blocks.p)["passes"]
    biased = batteries.ent_block_pvalues(np.packbits(_fair(8_000_000, 4, 0.51)), 10, tmp_path)
    assert not batteries.ent_block_verdict(biased.p)["passes"]


def _dieharder_rows(failed=(), rewound=()):
    rows = []
    for test, ntuple, repeat in [
        ("sts_serial", 3, 0),
        ("sts_serial", 3, 1),
        ("diehard_runs", 0, 0),
        ("sts_runs", 2, 0),
    ]:
        bad, lost = (test, ntuple, repeat) in failed, (test, ntuple, repeat) in rewound
        rows.append(
            {
                "test": test,
                "ntuple": ntuple,
                "repeat": repeat,
                "p": np.nan if lost else (1e-9 if bad else 0.5),
                "assessment": "not measured" if lost else ("FAILED" if bad else "PASSED"),
                "rewound": lost,
            }
        )
    return pd.DataFrame(rows)


def test_dieharder_is_calibrated_test_by_test():
    """A test decides only if none of its p-values fails (or goes unmeasured) on any PCG64 calibration stream."""
    calibration = batteries.calibrated_tests(
        [
            _dieharder_rows(),
            _dieharder_rows(failed={("sts_serial", 3, 1)}),
            _dieharder_rows(failed={("sts_serial", 3, 0)}, rewound={("diehard_runs", 0, 0)}),
        ]
    ).set_index("test")
    assert calibration.calibrated.to_dict() == {"sts_serial": False, "diehard_runs": False, "sts_runs": True}
    assert calibration.failed.to_dict() == {"sts_serial": 2, "diehard_runs": 0, "sts_runs": 0}
    assert calibration.not_measured["diehard_runs"] == 1 and (calibration.streams == 3).all()
    stream = _dieharder_rows(failed={("sts_serial", 3, 0)})
    kept = batteries.keep_calibrated(stream, calibration.reset_index())
    assert kept.test.tolist() == ["sts_runs"]  # the failure of a test not calibrated decides nothing
    assert batteries.dieharder_verdict(kept)["passes"] and not batteries.dieharder_verdict(stream)["passes"]
    assert batteries.calibrated_tests([]).empty


@pytest.mark.skipif(not batteries.available("dieharder"), reason="Debian's dieharder is not installed")
def test_dieharder_numbers_the_p_values_of_one_test(tmp_path):
    path = batteries.write_stream(bit_sources.native_bits("pcg64", 8_000_000, 5), tmp_path / "fair.bin")
    table = batteries.dieharder(path, {102: (10_000, 10)})  # sts_serial: two p-values per ntuple from 3 on
    twice = table[table.ntuple == 3]
    assert twice.repeat.tolist() == [0, 1] and table[table.ntuple == 1].repeat.tolist() == [0]


def _replicates(failures: dict, n: int = 5) -> pd.DataFrame:
    """Hand-made replicates: (source, extraction, battery) -> how many of n replicates failed (None: not run)."""
    rows = []
    for (source, extraction, battery), failed in failures.items():
        for i in range(n):
            passes = None if failed is None else i >= failed
            rows.append(
                {
                    "source": source,
                    "extraction": extraction,
                    "data_seed": i,
                    "train_seed": i,
                    "battery": battery,
                    "passes": passes,
                }
            )
    return pd.DataFrame(rows)


def test_replicated_verdicts_follow_the_pre_registered_rule():
    nist_, dieharder_, ent_ = randomness.BATTERIES
    replicates = _replicates(
        {
            ("pcg64", "native", nist_): 0,  # PCG64 never fails NIST: the rate is floored at 1 %, one failure allowed
            ("pcg64", "native", ent_): 1,  # PCG64 fails ent in 1 of 5: three failures allowed (binomial 99 %, 20 %)
            ("pcg64", "native", dieharder_): None,
            ("v4", "threshold", nist_): 2,
            ("v4", "threshold", ent_): 3,
            ("v4", "threshold", dieharder_): None,
            ("dense_relu", "threshold", nist_): 1,
            ("dense_relu", "threshold", ent_): 0,
        }
    )
    table = randomness.replicated_table(replicates).set_index(["source", "extraction", "battery"])
    v4_nist, v4_ent = table.loc[("v4", "threshold", nist_)], table.loc[("v4", "threshold", ent_)]
    assert (v4_nist.failed, v4_nist.pcg64_failure_rate, v4_nist.allowed_failures, v4_nist.passes) == (2, 0.0, 1, False)
    assert (v4_ent.failed, v4_ent.pcg64_failure_rate, v4_ent.allowed_failures, v4_ent.passes) == (3, 0.2, 3, True)
    assert table.loc[("v4", "threshold", dieharder_), "passes"] is None
    assert table.loc[("v4", "threshold", dieharder_), "replicates"] == 0
    assert table.loc[("dense_relu", "threshold", nist_), "passes"]
    overall = randomness.replicated_verdicts(table.reset_index()).set_index(["source", "extraction"])
    assert not overall.loc[("v4", "threshold"), "passes_all"]
    assert overall.loc[("v4", "threshold"), "failing"] == nist_
    assert overall.loc[("dense_relu", "threshold"), "passes_all"]
    text = randomness_text.replication_paragraph(table.reset_index(), replicates)
    assert "NIST SP 800-22 failed 2 of 5 (an ideal source: at most 1, so fails)" in text
    assert "No extraction of V4's latents passes overall, so by the rule the draft's \"full entropy\" is not" in text
    summary = randomness.replicated_summary(table.reset_index()).set_index("model")
    assert summary.loc["v4 threshold bits", "mean"] == 0.0 and summary.loc["dense_relu threshold bits", "n"] == 5


def test_replicated_text_says_when_v4_passes_and_whether_dense_relu_does_too():
    nist_ = randomness.BATTERIES[0]
    for dense_failures, words in [(0, "dense ReLU's same extraction passes too"), (4, "does not pass")]:
        replicates = _replicates(
            {
                ("pcg64", "native", nist_): 0,
                ("v4", "threshold", nist_): 1,
                ("dense_relu", "threshold", nist_): dense_failures,
            }
        )
        text = randomness_text.replication_paragraph(randomness.replicated_table(replicates), replicates)
        assert "V4's threshold bits pass overall, so by the rule the verdict is *cannot tell*" in text and words in text


def test_streams_the_conclusion_reads_get_n_sequences():
    length = randomness.stream_lengths(55, 8, 1000)
    assert [length("v4", "support"), length("dense_relu", "threshold"), length("v4_noise", "mantissa")] == [55_000] * 3
    assert length("pcg64", "native") == 55_000 and length("pcg64", "threshold") == 8_000
    assert length("logistic_4", "native") == 8_000 and length("v3", "threshold") == 8_000
    assert randomness.replicate_extractions(["native", "mantissa"]) == ["threshold"]


def test_fast_logistic_images_are_the_data_modules():
    from ksc.data import chaos

    np.testing.assert_array_equal(
        bit_sources.logistic_images(300, 3.99, [2, 3, 0]), chaos.logistic_images(300, 3.99, [2, 3, 0])
    )


def test_replicates_read_their_own_images_and_the_chapters_pair_its_streams_first_bits():
    encoder = lambda images: images.reshape(len(images), -1)[:, :32] - 0.5  # noqa: E731  any fixed map will do
    encoders = {("v4", 0, 0): encoder, ("v4", 1, 1): encoder}
    main = bit_sources.value_bits("v4", ["threshold", "mantissa"], 600_000, 0, 4, 8, {"v4": encoder})
    streams = {("v4", e): bits for e, bits in main.items()}
    submitted = {}
    info = randomness.replicate_streams(
        [(0, 0), (1, 1)],
        ["native", "threshold"],
        300_000,
        4,
        8,
        encoders,
        3.99,
        streams,
        lambda key, bits: submitted.setdefault(key, bits),
    )
    assert set(info.source) == {"pcg64", "v4"} and (info.bits == 300_000).all()
    fresh = bit_sources.value_bits("v4", ["threshold"], 300_000, 0, 4, 8, {"v4": encoder})["threshold"]
    np.testing.assert_array_equal(submitted[("v4", "threshold", 0, 0)], fresh)  # the prefix is what reading anew gives
    assert not np.array_equal(submitted[("v4", "threshold", 1, 1)], fresh)  # another data seed, other images
    assert ("pcg64", "native", 1, None) in submitted and ("pcg64", "threshold", 0, None) in submitted


def test_the_runner_gives_the_same_numbers_in_worker_processes():
    streams = {"a": _fair(200_000, 11), "b": _fair(200_000, 12)}
    results = []
    for processes in (1, 2):
        runner = Runner(100_000, processes, external=False)
        for key, bits in streams.items():
            runner.submit(key, bits)
        results.append(runner.results())
    for key in streams:
        np.testing.assert_array_equal(results[0][key]["nist"], results[1][key]["nist"])
        assert results[0][key]["nist"].shape == (2, 188) and results[0][key]["dieharder"] is None
