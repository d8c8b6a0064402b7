"""Sweep speed: 8 paper-scale runs of a chapter one after another, then on a Dask LocalCluster of 2 workers.

    python benchmarks/sweep_workers.py                      # chapter 01, seeds 0-7, serial vs --workers 2
    python benchmarks/sweep_workers.py --workers 4 --points 16

Each point is a whole papermill execution of the chapter (one training seed, V1-V4 without the variants).
Prints both wall times, their ratio and whether the metrics are equal, and a projection of 100 points on
N workers from the measured serial time per point; writes everything to a JSON file (default:
benchmarks/results/sweep_workers-<device>.json).
"""

import argparse
import re
from pathlib import Path

from ksc.book import sweep_speed
from ksc.runtime.machine import device_name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapter", default="01_evolution")
    parser.add_argument("--points", type=int, default=8, help="grid points: training seeds 0 .. points-1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="JSON file to write")
    args = parser.parse_args(argv)
    fixed = {"n_seeds": 1, "run_variants": False} if args.chapter == "01_evolution" else {}
    record = sweep_speed.sweep_speed(args.chapter, range(args.points), fixed, args.workers)
    serial, parallel = record["timings"]
    print(
        f"{serial['points']} points: serial {serial['wall_seconds']:.1f} s, {parallel['workers']} workers "
        f"{parallel['wall_seconds']:.1f} s, ratio {record['speedup']:.2f}x; same metrics: {record['same_metrics']}"
    )
    print(sweep_speed.projection(serial["seconds_per_point"]).to_string(index=False, float_format="{:.1f}".format))
    slug = re.sub(r"[^a-z0-9]+", "-", device_name().lower()).strip("-")
    out = Path(args.out or Path(__file__).parent / "results" / f"sweep_workers-{slug}.json")
    print(f"written to {sweep_speed.write(out, record)}")


if __name__ == "__main__":
    main()
