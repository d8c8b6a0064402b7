"""dieharder and ent on files of bits (Debian's packages ``dieharder`` and ``ent``), when they are installed.

Both read a file of raw bytes (the stream packed 8 bits to a byte, first bit highest). dieharder's full
battery needs gigabytes; a chapter's stream is megabytes, so only tests whose samples fit in the file are
run, with the sizes in :data:`DIEHARDER_TESTS` (dieharder rewinds a file that runs out, which reuses bits
and invalidates the test: a rewound test is recorded as not measured). dieharder's own rule judges each
p-value: FAILED below 1e-6 or above 1 - 1e-6, WEAK below 0.005 or above 0.995. ent reports the entropy per
byte, the chi-square of the byte counts with how often a random file would exceed it, the serial
correlation and the Monte Carlo estimate of pi; its guide calls a chi-square percentage below 1 % or above
99 % not random, so a random file fails that test one time in fifty: a stream is judged on ``ent_blocks`` blocks
instead (:func:`ent_block_verdict`).

dieharder's tests are calibrated one at a time (:func:`calibrated_tests`): a test counts only if it passes (no p-value
FAILED, none rewound) on every one of several PCG64 streams; the others decide nothing, for any stream.

Left out of dieharder's list: tests that need more words per sample than a chapter's stream holds at their
documented sizes (birthdays, the 32 x 32 rank, bitstream, OPSO, OQSO, DNA) and the count-the-ones and
byte-distribution tests, which at the reduced sizes a stream allows reject even os.urandom's bytes (seen
while setting the chapter up); "Do Not Use" diehard_sums.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

# dieharder test number -> (tsamples, psamples): sizes whose words fit in a stream of 10^7 bits
DIEHARDER_TESTS = {
    1: (10_000, 10),  # diehard_operm5
    3: (1_000, 10),  # diehard_rank_6x8
    10: (1_000, 10),  # diehard_parking_lot
    11: (10_000, 10),  # diehard_2dsphere
    12: (10_000, 10),  # diehard_3dsphere
    13: (1_000, 10),  # diehard_squeeze
    15: (10_000, 10),  # diehard_runs
    16: (1_000, 10),  # diehard_craps
    17: (10_000, 10),  # marsaglia_tsang_gcd
    100: (10_000, 10),  # sts_monobit
    101: (10_000, 10),  # sts_runs
    102: (10_000, 10),  # sts_serial
    202: (1_000, 10),  # rgb_permutations
    203: (10_000, 10),  # rgb_lagged_sum
    209: (10_000, 10),  # dab_monobit2
}
WEAK, FAILED = 0.005, 1e-6  # dieharder's thresholds, on both tails
ENT_SUSPECT = (1.0, 99.0)  # ent's chi-square percentages outside which a file is "almost certainly not random"
ENT_BLOCK_OUTSIDE = (100 - ENT_SUSPECT[1] + ENT_SUSPECT[0]) / 100  # chance a random block falls outside: 2 %
ENT_KS_ALPHA = 0.01  # block p-values not uniform (Kolmogorov-Smirnov) below this
BOUND_LEVEL = 0.99  # the binomial bounds' level


def binomial_bound(n: int, rate: float, level: float = BOUND_LEVEL) -> int:
    """The binomial ``level`` upper bound of the failures of n independent trials that each fail with ``rate``: the
    smallest a with P(X <= a) >= level (0 for n = 0)."""
    return int(stats.binom.ppf(level, n, rate)) if n > 0 else 0


def available(tool: str) -> bool:
    return shutil.which(tool) is not None


def write_stream(bits: np.ndarray, path: Path) -> Path:
    """The stream as raw bytes (8 bits a byte, the first bit highest)."""
    path.write_bytes(np.packbits(bits.astype(np.uint8)).tobytes())
    return path


def _assessment(p: float) -> str:
    tail = min(p, 1 - p)
    return "FAILED" if tail < FAILED else ("WEAK" if tail < WEAK else "PASSED")


def dieharder(path: Path, tests=None, timeout: float = 60.0) -> pd.DataFrame:
    """One row per p-value dieharder prints: test, ntuple, repeat (the how-many-th p-value of that test and ntuple,
    from 0), tsamples, psamples, p, assessment (ours, from dieharder's thresholds, equal to its own column) and
    ``rewound`` (the file ran out: not measured)."""
    rows = []
    for number, (tsamples, psamples) in (tests or DIEHARDER_TESTS).items():
        command = ["dieharder", "-g", "201", "-f", str(path), "-d", str(number), "-t", str(tsamples)]
        done = subprocess.run(command + ["-p", str(psamples)], capture_output=True, text=True, timeout=timeout)
        out = done.stdout + done.stderr
        rewound = "rewound" in out
        for line in out.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) != 6 or line.startswith("#") or cells[0] == "test_name":
                continue
            p = float(cells[4])
            rows.append(
                {
                    "test": cells[0],
                    "ntuple": int(cells[1]),
                    "tsamples": int(cells[2]),
                    "psamples": int(cells[3]),
                    "p": np.nan if rewound else p,
                    "assessment": "not measured" if rewound else _assessment(p),
                    "dieharder_says": cells[5],
                    "rewound": rewound,
                }
            )
    table = pd.DataFrame(rows)
    if len(table):
        table.insert(2, "repeat", table.groupby(["test", "ntuple"]).cumcount())
    return table


def calibrated_tests(tables) -> pd.DataFrame:
    """dieharder on several PCG64 streams (``tables``, one per stream): one row per test with the streams it ran on,
    on how many any of its p-values FAILED, on how many it could not be measured (rewound), and ``calibrated`` (it
    passed on every stream: measured and no p-value FAILED on each). Only a calibrated test decides anything."""
    tables = [t for t in tables if len(t)]
    columns = ["test", "streams", "failed", "not_measured", "calibrated"]
    if not tables:
        return pd.DataFrame(columns=columns)
    per_stream = pd.concat(
        [
            t.groupby("test", sort=False).agg(
                failed=("assessment", lambda a: bool((a == "FAILED").any())), rewound=("rewound", "any")
            )
            for t in tables
        ]
    )
    grouped = per_stream.groupby(level=0, sort=False)
    out = pd.DataFrame(
        {
            "streams": grouped.size(),
            "failed": grouped.failed.sum().astype(int),
            "not_measured": grouped.rewound.sum().astype(int),
        }
    )
    out["calibrated"] = (out.streams == len(tables)) & (out.failed == 0) & (out.not_measured == 0)
    return out.rename_axis("test").reset_index()[columns]


def keep_calibrated(table: pd.DataFrame, calibration: pd.DataFrame) -> pd.DataFrame:
    """The rows of one stream's dieharder table whose test is calibrated."""
    if table is None or not len(table):
        return table
    good = set(calibration.test[calibration.calibrated.astype(bool)])
    return table[table.test.isin(good)].reset_index(drop=True)


def dieharder_verdict(table: pd.DataFrame) -> dict:
    """dieharder on one stream: share of measured p-values PASSED, how many FAILED, the worst two-sided p-value
    after a Bonferroni correction, and ``passes`` (none FAILED: dieharder's own rule)."""
    measured = table[~table.rewound] if len(table) else table
    if measured.empty:
        return {"tests": 0, "pass_rate": np.nan, "failed": 0, "worst_corrected_p": np.nan, "passes": None}
    two_sided = 2 * np.minimum(measured.p, 1 - measured.p)
    return {
        "tests": len(measured),
        "pass_rate": float((measured.assessment == "PASSED").mean()),
        "failed": int((measured.assessment == "FAILED").sum()),
        "worst_corrected_p": float(min(1.0, two_sided.min() * len(measured))),
        "passes": bool((measured.assessment != "FAILED").all()),
    }


def ent(path: Path, timeout: float = 60.0) -> dict:
    """ent's terse report of a file (``ent -t``): entropy (bits per byte), chi_square and chi_square_percent (how
    often a random file would exceed it, from the chi-square law with 255 degrees of freedom, as ent states
    it), mean, monte_carlo_pi, serial_correlation, and ``passes`` (the percentage within 1-99 %)."""
    done = subprocess.run(["ent", "-t", str(path)], capture_output=True, text=True, timeout=timeout, check=True)
    header, values = [line.split(",") for line in done.stdout.strip().splitlines()[:2]]
    row = dict(zip(header, values))
    chi_square = float(row["Chi-square"])
    out = {
        "bytes": int(row["File-bytes"]),
        "entropy": float(row["Entropy"]),
        "chi_square": chi_square,
        "chi_square_percent": 100 * float(stats.chi2.sf(chi_square, 255)),
        "mean": float(row["Mean"]),
        "monte_carlo_pi": float(row["Monte-Carlo-Pi"]),
        "serial_correlation": float(row["Serial-Correlation"]),
    }
    out["passes"] = bool(ENT_SUSPECT[0] <= out["chi_square_percent"] <= ENT_SUSPECT[1])
    return out


def ent_block_pvalues(packed: np.ndarray, blocks: int, folder: Path) -> pd.DataFrame:
    """ent on each of ``blocks`` equal consecutive blocks of a stream's bytes (``packed``; a tail shorter than a block
    left out): one row per block with its chi-square and p-value (the share of random files that would exceed it)."""
    size = len(packed) // blocks
    rows = []
    for i in range(blocks if size else 0):
        path = Path(folder) / f"block-{i}.bin"
        path.write_bytes(np.asarray(packed[i * size : (i + 1) * size], np.uint8).tobytes())
        report = ent(path)
        rows.append({"block": i, "chi_square": report["chi_square"], "p": report["chi_square_percent"] / 100})
    return pd.DataFrame(rows, columns=["block", "chi_square", "p"])


def ent_block_verdict(pvalues) -> dict:
    """ent judged on a stream's blocks (their chi-square p-values): the blocks outside ent's 1-99 % band, the most an
    ideal source shows (binomial 99 % bound at 2 % a block), the Kolmogorov-Smirnov p-value of the block p-values
    against the uniform law, and ``passes``: the p-values are uniform (KS p >= 0.01) and no more blocks fall outside
    than that bound. ``worst_corrected_p``: the smaller of the KS p-value and the binomial chance of so many blocks
    outside, times 2. ``passes`` is None without blocks."""
    p = np.asarray(pvalues, dtype=np.float64)
    n = len(p)
    if n == 0:
        return {"blocks": 0, "outside": 0, "allowed": 0, "ks_p": np.nan, "worst_corrected_p": np.nan, "passes": None}
    outside = int(np.sum((p < ENT_SUSPECT[0] / 100) | (p > ENT_SUSPECT[1] / 100)))
    allowed = binomial_bound(n, ENT_BLOCK_OUTSIDE)
    ks_p = float(stats.kstest(p, "uniform").pvalue)
    tail = float(stats.binom.sf(outside - 1, n, ENT_BLOCK_OUTSIDE))  # P(X >= outside)
    return {
        "blocks": n,
        "outside": outside,
        "allowed": allowed,
        "ks_p": ks_p,
        "worst_corrected_p": min(1.0, 2 * min(ks_p, tail)),
        "passes": bool(ks_p >= ENT_KS_ALPHA and outside <= allowed),
    }
