"""NIST SP 800-22 rev. 1a on many sequences, with NIST's second-level analysis.

The first level is NIST's fifteen tests on one sequence of bits. Seven of them return one p-value and run
in ``sp80022suite`` (a Python wrapper of NIST's own C code). For the five tests that give several
p-values, that wrapper returns only their minimum, which is not uniform under randomness and so cannot
enter NIST's uniformity check; those five are computed here from the formulas of SP 800-22 (every
p-value, as NIST's ``assess`` tool reports them): cumulative sums (forward and backward), serial (two),
non-overlapping templates (the 148 aperiodic templates of length 9), random excursions (8 states) and
random excursions variant (18 states). ``tests/unit/test_randomness.py`` checks that the minimum of ours
equals the wrapper's value on the same bits. The linear complexity test is computed here too, for speed
(:func:`linear_complexity`: Berlekamp-Massey on all 2000 blocks of a sequence at once; NIST's code, one block
after another, took more time than the other fourteen tests together); its p-value is the wrapper's to the last
digit or two (the same block complexities, counts and chi-square; scipy's incomplete gamma in place of NIST's).
So are, for speed, the approximate entropy test (:func:`approximate_entropy`, from the serial test's pattern counts;
the wrapper's to the eighth digit, where NIST's own one-pass sum rounds) and the discrete Fourier transform test
(:func:`discrete_fourier_transform`, numpy's FFT; the same count of moduli below the threshold, so the same p-value).

The second level is NIST's Section 4.2 on m sequences: for each of the 188 statistics, the proportion
of sequences with p >= 0.01 must lie within 0.99 +- 3 sqrt(0.99 x 0.01 / m), and (where m >= 55, the
sample NIST asks for) the p-values must be uniform: a chi-square over ten bins with P-value_T >= 0.0001.
NIST sizes the proportion rule for m of the order of 1/alpha = 100 sequences or more; with the few sequences a
chapter can afford an ideal source fails a statistic's rule often (7.7 % at m = 8), so a stream is judged test
by test instead (:func:`stream_verdict`), and NIST's per-statistic counts are reported beside it.
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context

import numpy as np
import pandas as pd
from scipy import special, stats

ALPHA = 0.01  # NIST's first-level significance
UNIFORMITY_ALPHA = 1e-4  # NIST's threshold on P-value_T
UNIFORMITY_MIN_SEQUENCES = 55  # NIST: the uniformity check needs at least 55 sequences
TEMPLATE_LENGTH = 9  # NIST's default m for both template tests
SERIAL_BLOCK = 16
APEN_BLOCK = 10
BLOCK_FREQUENCY_BLOCK = 128
LINEAR_COMPLEXITY_BLOCK = 500
EXCURSION_STATES = (-4, -3, -2, -1, 1, 2, 3, 4)
VARIANT_STATES = tuple(x for x in range(-9, 10) if x != 0)
# SP 800-22 Section 3.10: the probabilities of the seven classes of a block's complexity (K = 6)
LINEAR_COMPLEXITY_PI = (0.01047, 0.03125, 0.12500, 0.50000, 0.25000, 0.06250, 0.020833)
# The sequence lengths below which NIST's own recommendations say a test does not apply (SP 800-22, Section 2).
MIN_BITS = {
    "rank": 38_912,
    "overlapping_template": 1_000_000,
    "universal": 387_840,
    "linear_complexity": 1_000_000,
    "random_excursions": 1_000_000,
    "random_excursions_variant": 1_000_000,
}
# pi_k(x), k = 0..5 (5 meaning 5 or more visits), SP 800-22 Section 3.14, for |x| = 1..4.
EXCURSION_PI = {
    1: (0.5000000000, 0.25000000000, 0.12500000000, 0.06250000000, 0.03125000000, 0.0312500000),
    2: (0.7500000000, 0.06250000000, 0.04687500000, 0.03515625000, 0.02636718750, 0.0791015625),
    3: (0.8333333333, 0.02777777778, 0.02314814815, 0.01929012346, 0.01607510288, 0.0803755143),
    4: (0.8750000000, 0.01562500000, 0.01367187500, 0.01196289063, 0.01046752930, 0.0732727051),
}


def aperiodic_templates(m: int = TEMPLATE_LENGTH) -> np.ndarray:
    """The m-bit templates no shift of which overlaps itself (NIST's list: 148 for m = 9), as integers, MSB first."""
    kept = []
    for value in range(2**m):
        word = format(value, f"0{m}b")
        if all(word[s:] != word[: m - s] for s in range(1, m)):
            kept.append(value)
    return np.array(kept)


TEMPLATES = aperiodic_templates()


def statistic_names() -> list[str]:
    """The 188 statistics of one sequence, in the order :func:`sequence_pvalues` returns them."""
    names = ["frequency", "block_frequency", "cumulative_sums_forward", "cumulative_sums_backward", "runs"]
    names += ["longest_run", "rank", "fft"]
    names += [f"non_overlapping_template {format(t, f'0{TEMPLATE_LENGTH}b')}" for t in TEMPLATES]
    names += ["overlapping_template", "universal", "approximate_entropy"]
    names += [f"random_excursions x={x:+d}" for x in EXCURSION_STATES]
    names += [f"random_excursions_variant x={x:+d}" for x in VARIANT_STATES]
    names += ["serial_1", "serial_2", "linear_complexity"]
    return names


def test_of(statistic: str) -> str:
    """The NIST test a statistic belongs to ('non_overlapping_template 000000001' -> 'non_overlapping_template')."""
    name = statistic.split(" ")[0]
    return name.rsplit("_", 1)[0] if name.startswith(("serial_", "cumulative_sums_")) else name


def _windows(bits: np.ndarray, m: int, cyclic: bool) -> np.ndarray:
    """The integer value of every m-bit window (MSB first); cyclic windows wrap around the end."""
    x = np.concatenate([bits, bits[: m - 1]]) if cyclic else bits
    count = len(bits) if cyclic else len(bits) - m + 1
    value = np.zeros(count, dtype=np.int64)
    for j in range(m):
        value = (value << 1) | x[j : j + count]
    return value


def cumulative_sums(bits: np.ndarray) -> tuple[float, float]:
    """NIST 3.13, forward and backward."""
    n = len(bits)
    steps = 2 * bits.astype(np.int64) - 1
    out = []
    for walk in (np.cumsum(steps), np.cumsum(steps[::-1])):
        z = int(np.abs(walk).max())
        s = math.sqrt(n)
        k1 = np.arange(int((-n / z + 1) / 4), int((n / z - 1) / 4) + 1)
        k2 = np.arange(int((-n / z - 3) / 4), int((n / z - 1) / 4) + 1)
        phi = stats.norm.cdf
        total = 1.0 - np.sum(phi((4 * k1 + 1) * z / s) - phi((4 * k1 - 1) * z / s))
        total += np.sum(phi((4 * k2 + 3) * z / s) - phi((4 * k2 + 1) * z / s))
        out.append(float(total))
    return out[0], out[1]


def _psi2(counts: np.ndarray, n: int) -> float:
    """NIST's psi-squared of the counts of every cyclic m-bit pattern (2^m of them) in n bits (0 for m = 0)."""
    if len(counts) <= 1:
        return 0.0
    counts = counts.astype(np.float64)
    return float((len(counts) / n) * np.sum(counts**2) - n)


def cyclic_counts(bits: np.ndarray, m: int) -> np.ndarray:
    """How often each cyclic m-bit window (MSB first, wrapping around the end) occurs: 2^m counts."""
    return np.bincount(_windows(bits, m, cyclic=True), minlength=2**m)


def _leading(counts: np.ndarray, m: int) -> np.ndarray:
    """The counts of the cyclic m-bit windows from those of longer ones: the cyclic m-bit window at each position is
    the longer one's first m bits, so its count is the sum over the longer one's other bits (the same integers as
    counting again)."""
    return counts.reshape(2**m, -1).sum(axis=1) if m > 0 else np.array([counts.sum()])


def serial(bits: np.ndarray, m: int = SERIAL_BLOCK, counts: np.ndarray | None = None) -> tuple[float, float]:
    """NIST 3.11: both p-values, from the counts of the cyclic m-bit windows (``counts``: those of m or more bits,
    given when already counted); the (m-1)- and (m-2)-bit counts are sums of them (:func:`_leading`)."""
    counts = cyclic_counts(bits, m) if counts is None else counts
    p0, p1, p2 = (_psi2(_leading(counts, j), len(bits)) if j > 0 else 0.0 for j in (m, m - 1, m - 2))
    first = special.gammaincc(2 ** (m - 2), (p0 - p1) / 2)
    second = special.gammaincc(2 ** (m - 3), (p0 - 2 * p1 + p2) / 2)
    return float(first), float(second)


def discrete_fourier_transform(bits: np.ndarray) -> float:
    """NIST 3.6 as NIST's code computes it: the moduli of the first n/2 Fourier coefficients of the +-1 sequence
    (numpy's real FFT in place of NIST's), how many fall below sqrt(ln(1/0.05) n), and that count's normal
    p-value."""
    n = len(bits)
    moduli = np.abs(np.fft.rfft(2.0 * np.asarray(bits, np.float64) - 1.0))[: n // 2]
    count = int(np.count_nonzero(moduli < math.sqrt(2.995732274 * n)))  # NIST's constant for ln(20)
    d = (count - 0.95 * n / 2.0) / math.sqrt(n / 4.0 * 0.95 * 0.05)
    return float(special.erfc(abs(d) / math.sqrt(2.0)))


def approximate_entropy(bits: np.ndarray, m: int = APEN_BLOCK, counts: np.ndarray | None = None) -> float:
    """NIST 3.12 with blocks of m and m + 1 bits, as NIST's code computes it (cyclic windows, phi = sum of
    C log(C / n) / n), from the counts of the cyclic windows of m + 1 or more bits (``counts``: the serial test's,
    when already counted)."""
    n = len(bits)
    counts = cyclic_counts(bits, m + 1) if counts is None else counts
    phi = []
    for length in (m, m + 1):
        c = _leading(counts, length).astype(np.float64)
        c = c[c > 0]
        phi.append(float(np.sum(c * np.log(c / n))) / n)
    chi2 = 2.0 * n * (math.log(2) - (phi[0] - phi[1]))
    return float(special.gammaincc(2 ** (m - 1), chi2 / 2.0))


def non_overlapping_templates(bits: np.ndarray, m: int = TEMPLATE_LENGTH, blocks: int = 8) -> np.ndarray:
    """NIST 3.7 for every aperiodic template. Occurrences of an aperiodic template cannot overlap, so NIST's
    scan that skips m bits after a match counts exactly the windows equal to it."""
    size = len(bits) // blocks
    counts = np.stack(
        [np.bincount(_windows(bits[i * size : (i + 1) * size], m, False), minlength=2**m) for i in range(blocks)]
    )[:, TEMPLATES]
    mean = (size - m + 1) / 2**m
    var = size * (1 / 2**m - (2 * m - 1) / 2 ** (2 * m))
    chi2 = np.sum((counts - mean) ** 2 / var, axis=0)
    return special.gammaincc(blocks / 2, chi2 / 2)


def _walk_cycles(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    walk = np.cumsum(2 * bits.astype(np.int64) - 1)
    zero = walk == 0
    cycle = np.concatenate([[0], np.cumsum(zero)[:-1]])  # a zero closes its cycle
    n_cycles = int(zero.sum()) + int(walk[-1] != 0)
    return walk, cycle, n_cycles


def random_excursions(bits: np.ndarray) -> np.ndarray:
    """NIST 3.14: one p-value per state; NaN when the walk has fewer than 500 cycles (not applicable)."""
    walk, cycle, n_cycles = _walk_cycles(bits)
    if n_cycles < max(0.005 * math.sqrt(len(bits)), 500):
        return np.full(len(EXCURSION_STATES), np.nan)
    out = []
    for x in EXCURSION_STATES:
        visits = np.bincount(cycle[walk == x], minlength=n_cycles)[:n_cycles]
        nu = np.bincount(np.minimum(visits, 5), minlength=6).astype(np.float64)
        expected = n_cycles * np.array(EXCURSION_PI[abs(x)])
        out.append(special.gammaincc(2.5, np.sum((nu - expected) ** 2 / expected) / 2))
    return np.array(out)


def random_excursions_variant(bits: np.ndarray) -> np.ndarray:
    """NIST 3.15: one p-value per state; NaN when the walk has fewer than 500 cycles."""
    walk, _, n_cycles = _walk_cycles(bits)
    if n_cycles < int(max(0.005 * math.sqrt(len(bits)), 500)):
        return np.full(len(VARIANT_STATES), np.nan)
    counts = np.array([np.count_nonzero(walk == x) for x in VARIANT_STATES])
    xs = np.abs(np.array(VARIANT_STATES))
    return special.erfc(np.abs(counts - n_cycles) / np.sqrt(2.0 * n_cycles * (4.0 * xs - 2)))


def block_complexities(bits: np.ndarray, m: int = LINEAR_COMPLEXITY_BLOCK) -> np.ndarray:
    """The linear complexity of each m-bit block of ``bits`` (a tail shorter than m left out): the length of the
    shortest linear feedback shift register that makes the block, by Berlekamp-Massey over GF(2) as NIST's code
    runs it, on every block at once. The blocks are bit-sliced (row i holds bit i of every block, 64 blocks to a
    word), so each of the m steps is a few word-wide operations for all blocks. ``shifted_b`` holds x^(N - m') B(x):
    the connection polynomial from before the last length change, shifted to where step N adds it."""
    n_blocks = len(bits) // m
    lanes = -(-n_blocks // 64) * 64  # padding blocks are all zeros (complexity 0), dropped at the end
    blocks = np.zeros((lanes, m), np.uint8)
    blocks[:n_blocks] = np.asarray(bits[: n_blocks * m], np.uint8).reshape(n_blocks, m)
    sliced = np.ascontiguousarray(np.packbits(blocks.T, axis=1, bitorder="little")).view(np.uint64)  # (m, lanes/64)
    words = sliced.shape[1]
    every = ~np.uint64(0)
    c = np.zeros((m + 2, words), np.uint64)
    c[0] = every  # C(x) = 1
    shifted_b = np.zeros((m + 2, words), np.uint64)
    shifted_b[1] = every  # B(x) = 1, m' = -1: x^(0 + 1) B(x)
    length = np.zeros(lanes, np.int64)
    for n in range(m):
        discrepancy = np.bitwise_xor.reduce(c[: n + 1] & sliced[n::-1], axis=0)
        grows = np.unpackbits(discrepancy.view(np.uint8), bitorder="little").astype(bool) & (2 * length <= n)
        length = np.where(grows, n + 1 - length, length)
        grow = np.packbits(grows, bitorder="little").view(np.uint64)
        before = c[: n + 2].copy()
        c[: n + 2] ^= shifted_b[: n + 2] & discrepancy
        shifted_b[: n + 2] = (before & grow) | (shifted_b[: n + 2] & ~grow)  # B = the old C where the length grew
        shifted_b[1 : n + 3] = shifted_b[: n + 2].copy()  # one step on: times x
        shifted_b[0] = 0
    return length[:n_blocks]


def linear_complexity(bits: np.ndarray, m: int = LINEAR_COMPLEXITY_BLOCK) -> float:
    """NIST 3.10 with blocks of m bits: the chi-square of the blocks' complexities against their law (K = 6), with
    NIST's mean and classes."""
    complexity = block_complexities(bits, m)
    n_blocks = len(complexity)
    sign = -1 if (m + 1) % 2 == 0 else 1
    mean = m / 2.0 + (9.0 + sign) / 36.0 - 1.0 / pow(2.0, m) * (m / 3.0 + 2.0 / 9.0)
    sign = 1 if m % 2 == 0 else -1
    t = sign * (complexity - mean) + 2.0 / 9.0
    nu = np.bincount(np.digitize(t, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], right=True), minlength=7)
    chi2 = 0.0
    for count, pi in zip(nu, LINEAR_COMPLEXITY_PI):  # summed in NIST's order
        chi2 += (count - n_blocks * pi) ** 2 / (n_blocks * pi)
    return float(special.gammaincc(3.0, chi2 / 2.0))


def _reference(name: str, buffer: bytes, *args) -> float:
    """One of NIST's single-p-value tests, by NIST's C code; NaN where the sequence is shorter than NIST allows."""
    import sp80022suite

    return float(getattr(sp80022suite, name)(*args, buffer))


def sequence_pvalues(bits: np.ndarray) -> np.ndarray:
    """The 188 first-level p-values of one sequence of 0/1 values, in :func:`statistic_names` order (NaN: the
    test does not apply at this length, or the walk has too few cycles)."""
    bits = np.ascontiguousarray(bits, dtype=np.uint8)
    n, buffer = len(bits), bits.tobytes()
    counts = cyclic_counts(bits, SERIAL_BLOCK)  # the serial test's counts give the approximate entropy's too
    applies = lambda test: n >= MIN_BITS.get(test, 0)
    nan = float("nan")
    out = [_reference("frequency", buffer), _reference("block_frequency", buffer, BLOCK_FREQUENCY_BLOCK)]
    out += list(cumulative_sums(bits))
    out += [_reference("runs", buffer), _reference("longest_run_of_ones", buffer)]
    out += [_reference("rank", buffer) if applies("rank") else nan]
    out += [discrete_fourier_transform(bits)]
    out += list(non_overlapping_templates(bits))
    out += [
        _reference("overlapping_template_matchings", buffer, TEMPLATE_LENGTH)
        if applies("overlapping_template")
        else nan
    ]
    out += [_reference("universal", buffer) if applies("universal") else nan]
    out += [approximate_entropy(bits, APEN_BLOCK, counts)]
    out += list(random_excursions(bits) if applies("random_excursions") else [nan] * len(EXCURSION_STATES))
    out += list(random_excursions_variant(bits) if applies("random_excursions") else [nan] * len(VARIANT_STATES))
    out += list(serial(bits, SERIAL_BLOCK, counts))
    linear = applies("linear_complexity")
    out += [linear_complexity(bits) if linear else nan]
    return np.array(out, dtype=np.float64)


@contextmanager
def _quiet_c_stderr():
    """NIST's C code prints 'igamc: UNDERFLOW' for p-values below 1e-300 (returned as 0, as NIST does): keep it
    out of the page."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved, devnull = [os.dup(1), os.dup(2)], os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _stream_pvalues(task) -> np.ndarray:
    bits, n_sequences, length = task
    with _quiet_c_stderr():
        rows = [sequence_pvalues(bits[i * length : (i + 1) * length]) for i in range(n_sequences)]
    return np.stack(rows) if rows else np.zeros((0, len(statistic_names())))


def run(streams: dict, sequence_bits: int, processes: int = 1) -> dict:
    """First-level p-values of every stream: name -> (n_sequences, 188), each stream cut into sequences of
    ``sequence_bits`` (a stream's tail shorter than that is not tested). ``processes`` > 1 runs streams in
    that many worker processes (started fresh, so they never inherit TensorFlow's threads); the numbers do
    not depend on it."""
    tasks = {name: (bits, len(bits) // sequence_bits, sequence_bits) for name, bits in streams.items()}
    if processes <= 1:
        return {name: _stream_pvalues(task) for name, task in tasks.items()}
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        return dict(zip(tasks, pool.map(_stream_pvalues, tasks.values())))


def proportion_range(m: int) -> tuple[float, float]:
    """NIST's acceptable proportion of passing sequences for a sample of m (three standard deviations)."""
    p = 1 - ALPHA
    half = 3 * math.sqrt(p * (1 - p) / m)
    return p - half, min(1.0, p + half)


def false_fail_probability(m: int) -> float:
    """Chance that a statistic of an ideal source falls outside :func:`proportion_range` with m sequences."""
    low, high = proportion_range(m)
    # passes = number of sequences with p >= alpha; fail when passes / m is below low or above high
    below = stats.binom.cdf(math.ceil(low * m) - 1, m, 1 - ALPHA)
    above = stats.binom.sf(math.floor(high * m), m, 1 - ALPHA) if high < 1 else 0.0
    return float(below + above)


def uniformity_pvalue(pvalues: np.ndarray) -> float:
    """NIST's P-value_T: chi-square of the p-values over ten equal bins (NaN below 55 sequences)."""
    if len(pvalues) < UNIFORMITY_MIN_SEQUENCES:
        return float("nan")
    counts = np.histogram(pvalues, bins=10, range=(0.0, 1.0))[0]
    expected = len(pvalues) / 10
    return float(special.gammaincc(9 / 2, np.sum((counts - expected) ** 2 / expected) / 2))


def second_level(pvalues_SN: np.ndarray) -> pd.DataFrame:
    """One row per statistic: sequences it applied to, proportion passing, NIST's range, the binomial p-value of
    so few passes, P-value_T, and whether it fails either rule."""
    rows = []
    for name, column in zip(statistic_names(), pvalues_SN.T):
        values = column[np.isfinite(column)]
        m = len(values)
        if m == 0:
            rows.append({"statistic": name, "test": test_of(name), "sequences": 0})
            continue
        passes = int(np.sum(values >= ALPHA))
        low, high = proportion_range(m)
        uniform = uniformity_pvalue(values)
        rows.append(
            {
                "statistic": name,
                "test": test_of(name),
                "sequences": m,
                "proportion": passes / m,
                "low": low,
                "proportion_p": float(stats.binom.cdf(passes, m, 1 - ALPHA)),
                "uniformity_p": uniform,
                "fails_proportion": passes / m < low or passes / m > high,
                "fails_uniformity": bool(np.isfinite(uniform) and uniform < UNIFORMITY_ALPHA),
            }
        )
    return pd.DataFrame(rows)


FAMILY_ALPHA = 0.01  # the chance an ideal stream fails NIST under the stream rule, shared over the 15 tests


def test_level(pvalues_SN: np.ndarray) -> pd.DataFrame:
    """One row per NIST test: its p-values over every sequence and statistic, how many are below 0.01, and the
    binomial chance of so few passes from an ideal source (statistics of one test taken as independent)."""
    names = pd.Series(statistic_names())
    rows = []
    for test in dict.fromkeys(names.map(test_of)):
        values = pvalues_SN[:, (names.map(test_of) == test).to_numpy()]
        values = values[np.isfinite(values)]
        passes = int(np.sum(values >= ALPHA))
        rows.append(
            {
                "test": test,
                "pvalues": len(values),
                "below_alpha": len(values) - passes,
                "p_value": float(stats.binom.cdf(passes, len(values), 1 - ALPHA)) if len(values) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def stream_verdict(pvalues_SN: np.ndarray) -> dict:
    """NIST on one stream. ``passes``: no test has a binomial p-value (of its share of p-values below 0.01) under
    FAMILY_ALPHA / (number of tests applied), and no statistic fails NIST's uniformity check (applied from 55
    sequences). Also NIST's own per-statistic proportion rule, reported (with few sequences an ideal source fails it
    often: see :func:`false_fail_probability`), the pass rate of the first-level p-values, and the smallest test
    p-value times the number of tests (``worst_corrected_p``; with m sequences it cannot go below roughly
    0.01^m times that number)."""
    tests = test_level(pvalues_SN)
    applied = tests[tests.pvalues > 0]
    statistics = second_level(pvalues_SN)
    statistics = statistics[statistics.sequences > 0]
    finite = pvalues_SN[np.isfinite(pvalues_SN)]
    threshold = FAMILY_ALPHA / max(len(applied), 1)
    failing = applied[applied.p_value < threshold]
    failed_u = int(statistics.fails_uniformity.fillna(False).astype(bool).sum()) if len(statistics) else 0
    m = int(pvalues_SN.shape[0])
    return {
        "sequences": m,
        "tests": len(applied),
        "pass_rate": float(np.mean(finite >= ALPHA)) if finite.size else np.nan,
        "failing_tests": ", ".join(failing.test),
        "n_failing_tests": len(failing),
        "failing_proportion": int(statistics.fails_proportion.fillna(False).astype(bool).sum())
        if len(statistics)
        else 0,
        "statistics": len(statistics),
        "failing_uniformity": failed_u,
        "uniformity_checked": bool(statistics.uniformity_p.notna().any()) if len(statistics) else False,
        "worst_corrected_p": float(min(1.0, applied.p_value.min() * len(applied))) if len(applied) else np.nan,
        "passes": bool(m and len(applied) and failing.empty and failed_u == 0),
    }
