"""Training speed, side by side: the authors' way (one Keras ``fit`` call per model) against :func:`train_many`.

Both ways train the same model on the same images with the authors' protocol (Adam 1e-3, batch
64); a model-run's time is its whole wall time (build, compile, training, encoding the test set),
and for a batch of M models trained together, the batch's wall time divided by M. The two ways
alternate within every repeat, so a machine shared with other work slows both alike; the ratio
is taken within each repeat. The Keras way is timed as the authors ran it, a single
``fit(shuffle=True)`` call: :func:`ksc.models.training.train` calls ``fit`` once per epoch to reshuffle
under a seed, which costs it some time, and timing it would flatter the batched trainer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from ksc.data import chaos
from ksc.models import training
from ksc.models.architectures import build_model
from ksc.models.training import train_many
from ksc.runtime.atomic import json_safe, write_atomic
from ksc.runtime.backend import keras
from ksc.runtime.machine import provenance

FIT_WAY, KSC_WAY = "keras fit, one model per run", "ksc train_many"
TRAIN_SPEED_CHAPTER = "89_train_speed"  # the page that times both ways in a build; the Performance page reads it
PAPER_SETTING = {"model": "v4", "n_train": 2000, "epochs": 10, "batch_size": 64}


def authors_fit(model: str, data, seed: int, epochs: int, batch_size: int, learning_rate: float = 1e-3):
    """One model the authors' way: build, compile, a single ``fit(shuffle=True)``, encode the test set."""
    keras.utils.set_random_seed(seed)
    ae = build_model(model)
    ae.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    ae.model.fit(
        data.train,
        data.train,
        validation_data=(data.val, data.val),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
    )
    return keras.ops.convert_to_numpy(ae.encoder(data.test)), keras.ops.convert_to_numpy(ae.model(data.test))


def train_speed(
    members=(1, 10, 60),
    repeats: int = 2,
    fit_runs: int = 3,
    model: str = "v4",
    n_train: int = 2000,
    n_val: int = 200,
    n_test: int = 500,
    epochs: int = 10,
    batch_size: int = 64,
    log=print,
) -> pd.DataFrame:
    """One row per (repeat, way, M): wall seconds of the batch and per model-run.

    ``graph`` says whether the batched trainer built and traced its training step in that call
    (the first repeat) or reused the one compiled by an earlier call of the same shapes.
    """
    data = chaos.make_splits("logistic", n_train, n_val, n_test, seed=0)
    setting = dict(epochs=epochs, batch_size=batch_size)
    training.forget_compiled()
    rows = []
    for repeat in range(repeats):
        start = time.perf_counter()
        for seed in range(fit_runs):
            authors_fit(model, data, seed, **setting)
        rows.append(
            {
                "repeat": repeat,
                "way": FIT_WAY,
                "members": 1,
                "graph": "built for every model",
                "models": fit_runs,
                "wall_seconds": time.perf_counter() - start,
            }
        )
        for m in members:
            start = time.perf_counter()
            train_many(model, data, seeds=range(m), **setting)
            rows.append(
                {
                    "repeat": repeat,
                    "way": KSC_WAY,
                    "members": m,
                    "graph": "reused" if repeat else "first call",
                    "models": m,
                    "wall_seconds": time.perf_counter() - start,
                }
            )
        log(
            f"repeat {repeat}: "
            + ", ".join(
                f"{r['way']} M={r['members']}: {r['wall_seconds'] / r['models']:.2f} s/run"
                for r in rows
                if r["repeat"] == repeat
            )
        )
    timings = pd.DataFrame(rows)
    timings["seconds_per_run"] = timings.wall_seconds / timings.models
    return timings


def speedups(timings: pd.DataFrame) -> pd.DataFrame:
    """Per way, M and graph: median seconds per model-run, and fit-way / this-way ratios within each repeat."""
    fit = timings[timings.way == FIT_WAY].set_index("repeat").seconds_per_run
    rows = []
    for (way, m, graph), group in timings.groupby(["way", "members", "graph"], sort=False):
        ratio = fit.loc[group.repeat].to_numpy() / group.seconds_per_run.to_numpy()
        rows.append(
            {
                "way": way,
                "members": m,
                "graph": graph,
                "repeats": len(group),
                "seconds_per_run": group.seconds_per_run.median(),
                "speedup_vs_fit": float(pd.Series(ratio).median()),
                "speedup_min": float(ratio.min()),
                "speedup_max": float(ratio.max()),
            }
        )
    return pd.DataFrame(rows)


def write_benchmark(path, timings: pd.DataFrame, settings: dict) -> Path:
    """JSON with the settings, every timing, the speed-ups and the machine
    (see :func:`ksc.runtime.machine.provenance`)."""
    record = {
        "settings": json_safe(settings),
        "timings": json_safe(timings),
        "speedups": json_safe(speedups(timings)),
        "provenance": provenance([], float(timings.wall_seconds.sum())),
    }
    return write_atomic(Path(path), json.dumps(record, indent=1, allow_nan=False))


def read_benchmark(path) -> dict:
    record = json.loads(Path(path).read_text())
    record["timings"], record["speedups"] = pd.DataFrame(record["timings"]), pd.DataFrame(record["speedups"])
    return record
