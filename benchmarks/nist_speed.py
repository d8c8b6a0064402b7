"""NIST SP 800-22 speed: one 10^6-bit sequence's 188 p-values with the linear complexity test from NIST's C code
(as chapter 12 ran it until 2026-12-06) against ksc.randomness.nist.linear_complexity (all blocks at once), in one run.

    python benchmarks/nist_speed.py                 # 4 sequences of PCG64 bits, both ways alternating
    python benchmarks/nist_speed.py --sequences 8

Prints both times per sequence, their ratio and whether every p-value is the same (to 1e-12), and writes them to a
JSON file (default: benchmarks/results/nist_speed-<device>.json).
"""

import argparse
import json
import re
import time
from pathlib import Path
from unittest import mock

import numpy as np

from ksc.randomness import nist
from ksc.runtime.atomic import write_atomic
from ksc.runtime.machine import device_name, provenance


def _nists_linear_complexity(bits, m=nist.LINEAR_COMPLEXITY_BLOCK):
    return nist._reference("linear_complexity", np.ascontiguousarray(bits, np.uint8).tobytes(), m)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=4)
    parser.add_argument("--bits", type=int, default=10**6)
    parser.add_argument("--out", help="JSON file to write")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    seconds = {"NIST's C code": [], "ksc, all blocks at once": []}
    same = True
    for _ in range(args.sequences):
        bits = rng.integers(0, 2, args.bits, dtype=np.uint8)
        start = time.perf_counter()
        with mock.patch.object(nist, "linear_complexity", _nists_linear_complexity):
            reference = nist.sequence_pvalues(bits)
        seconds["NIST's C code"].append(time.perf_counter() - start)
        start = time.perf_counter()
        ours = nist.sequence_pvalues(bits)
        seconds["ksc, all blocks at once"].append(time.perf_counter() - start)
        same = same and bool(np.allclose(ours, reference, rtol=1e-12, atol=0, equal_nan=True))
    per_sequence = {way: float(np.median(s)) for way, s in seconds.items()}
    ratio = per_sequence["NIST's C code"] / per_sequence["ksc, all blocks at once"]
    for way, s in per_sequence.items():
        print(f"{way}: {s:.3f} s per sequence of {args.bits} bits (median of {args.sequences})")
    print(f"ratio {ratio:.2f}x; every p-value the same: {same}")
    record = {
        "settings": {
            "sequences": args.sequences,
            "bits": args.bits,
            "linear_complexity_block": nist.LINEAR_COMPLEXITY_BLOCK,
        },
        "seconds": seconds,
        "seconds_per_sequence": per_sequence,
        "speedup": ratio,
        "same_pvalues": same,
        "provenance": provenance([], float(sum(map(sum, seconds.values())))),
    }
    slug = re.sub(r"[^a-z0-9]+", "-", device_name().lower()).strip("-")
    out = Path(args.out or Path(__file__).parent / "results" / f"nist_speed-{slug}.json")
    print(f"written to {write_atomic(out, json.dumps(record, indent=1, allow_nan=False))}")


if __name__ == "__main__":
    main()
