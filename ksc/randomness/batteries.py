"""dieharder and ent on files of bits (Debian's packages ``dieharder`` and ``ent``), when they are installed.

Both read a file of raw bytes (the stream packed 8 bits to a byte, first bit highest). dieharder's full
battery needs gigabytes; a chapter's stream is megabytes, so only tests whose samples fit in the file are
run, with the sizes in :data:`DIEHARDER_TESTS` (dieharder rewinds a file that runs out, which reuses bits
and invalidates the test: a rewound test is recorded as not measured). dieharder's own rule judges each
p-value: FAILED below 1e-6 or above 1 - 1e-6, WEAK below 0.005 or above 0.995. ent reports the entropy per
byte, the chi-square of the byte counts with how often a random file would exceed it, the serial
correlation and the Monte Carlo estimate of pi; its guide calls a chi-square percentage below 1 % or above
99 % not random.

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
    """One row per p-value dieharder prints: test, ntuple, tsamples, psamples, p, assessment (ours, from
    dieharder's thresholds, equal to its own column) and ``rewound`` (the file ran out: not measured)."""
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
    return pd.DataFrame(rows)


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
