"""Per-model-run training time: Keras fit (one model per run, the authors' protocol) vs ksc.models.training.train_many.

    python benchmarks/train_speed.py                       # paper scale, M = 1, 10, 60, on the default backend
    KERAS_BACKEND=jax python benchmarks/train_speed.py     # the same with JAX (on a GPU if JAX sees one)

Prints the speed-ups with the machine, backend and device, and writes every timing to a JSON file
(default: benchmarks/results/train_speed-<backend>-<device>.json).
"""

import argparse
import re
from pathlib import Path

from ksc.chapters.train_speed import speedups, train_speed, write_benchmark
from ksc.runtime.machine import device_name, provenance


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[1, 10, 60], help="models trained together (M)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating repeats of both ways")
    parser.add_argument("--fit-runs", type=int, default=3, help="models trained the Keras-fit way per repeat")
    parser.add_argument("--model", default="v4")
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", help="JSON file to write")
    args = parser.parse_args(argv)
    settings = dict(
        members=args.members,
        repeats=args.repeats,
        fit_runs=args.fit_runs,
        model=args.model,
        n_train=args.n_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
    )
    machine = provenance([], 0.0)
    print(
        f"backend {machine['keras_backend']} {machine['backend_version']}, device {machine['device']}, "
        f"{machine['platform']}"
    )
    timings = train_speed(**settings)
    print(speedups(timings).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    slug = re.sub(r"[^a-z0-9]+", "-", f"{machine['keras_backend']}-{device_name()}".lower()).strip("-")
    out = Path(args.out or Path(__file__).parent / "results" / f"train_speed-{slug}.json")
    print(f"written to {write_benchmark(out, timings, settings)}")


if __name__ == "__main__":
    main()
