"""Which code, Keras backend and machine are running this process: the provenance of every results file."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

from ksc import __version__
from ksc.runtime.backend import keras


def device_name() -> str:
    """'GPU: <name>' when the Keras backend sees an accelerator, else 'CPU: <processor>'."""
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            if gpus:
                return f"GPU: {gpus[0].device_kind}"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU: {torch.cuda.get_device_name(0)}"
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                return f"GPU: {tf.config.experimental.get_device_details(gpus[0]).get('device_name', gpus[0].name)}"
    except Exception as error:  # an introspection failure must not lose a run's results
        return f"unknown ({error})"
    return f"CPU: {platform.processor() or platform.machine()} x{os.cpu_count()}"


def runtime() -> dict:
    """Which code, Keras backend and machine are running this process."""
    backend = keras.backend.backend()
    backend_version = None
    try:
        backend_version = __import__({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]).__version__
    except Exception:
        pass
    return {
        "ksc_version": __version__,
        "keras_backend": backend,
        "keras_version": keras.__version__,
        "backend_version": backend_version,
        "device": device_name(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def provenance(seeds, wall_seconds: float) -> dict:
    """Which code, backend and machine produced a result, and how long it took."""
    return {
        **runtime(),
        "seeds": [int(s) for s in seeds],
        "wall_seconds": round(float(wall_seconds), 2),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def describe_runtime() -> str:
    """One line: Keras version, backend and device; on a GPU with TensorFlow, how to switch to JAX."""
    now = runtime()
    line = (
        f"Keras {now['keras_version']}, {now['keras_backend']} backend {now['backend_version'] or ''}".rstrip()
        + f", {now['device']}"
    )
    if now["device"].startswith("GPU") and now["keras_backend"] == "tensorflow":
        line += " (JAX is often faster on a GPU: set KERAS_BACKEND=jax before ksc is imported)"
    return line


def recorded_files(folder, pattern: str):
    """Each benchmark file in ``folder`` matching ``pattern``, by name: its record and the first columns of its row
    in a table of recorded runs (file, device, when it was recorded)."""
    for path in sorted(Path(folder).glob(pattern)):
        record = json.loads(path.read_text())
        prov = record["provenance"]
        yield record, {"file": path.name, "device": prov["device"], "recorded (UTC)": prov["finished_at"][:16]}
