"""Results files: one JSON per executed notebook, written atomically, with provenance.

Layout of ``<results_dir>/<chapter>.json``::

    {"chapter": ..., "parameters": {...}, "metrics": [rows], "claims": [rows],
     "tables": {name: [rows]}, "provenance": {...}}

The file is written to a temporary name in the same directory and renamed into place, so an
interrupted run never leaves a half-written file and never replaces good results with partial ones.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import platform
import tempfile
from pathlib import Path

from .backend import keras
import numpy as np
import pandas as pd

from . import __version__


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


def _plain(value):
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None, DataFrames to rows."""
    if isinstance(value, pd.DataFrame):
        return [_plain(r) for r in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_atomic(path: Path, text: str) -> Path:
    """Writes ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_results(results_dir, chapter: str, parameters: dict, metrics, claims=None, tables=None,
                  seeds=(), wall_seconds: float = 0.0) -> Path:
    """Writes ``<results_dir>/<chapter>.json`` and returns its path."""
    record = {
        "chapter": chapter,
        "parameters": _plain(parameters),
        "metrics": _plain(metrics),
        "claims": _plain(claims if claims is not None else []),
        "tables": _plain(tables or {}),
        "provenance": provenance(seeds, wall_seconds),
    }
    text = json.dumps(record, indent=1, allow_nan=False)
    return write_atomic(Path(results_dir) / f"{chapter}.json", text)


def read_results(path) -> dict:
    """The record of one results file, with ``metrics`` and ``claims`` as DataFrames."""
    record = json.loads(Path(path).read_text())
    record["metrics"] = pd.DataFrame(record["metrics"])
    record["claims"] = pd.DataFrame(record["claims"])
    return record


def describe_runtime() -> str:
    """One line: Keras version, backend and device; on a GPU with TensorFlow, how to switch to JAX."""
    now = runtime()
    line = (f"Keras {now['keras_version']}, {now['keras_backend']} backend {now['backend_version'] or ''}".rstrip()
            + f", {now['device']}")
    if now["device"].startswith("GPU") and now["keras_backend"] == "tensorflow":
        line += " (JAX is often faster on a GPU: set KERAS_BACKEND=jax before ksc is imported)"
    return line


def provenance_table(record: dict) -> str:
    """HTML: what ran a chapter and for how long, from its results record."""
    prov = record["provenance"]
    rows = [("wall time", f"{prov['wall_seconds']:.1f} s"), ("device", prov["device"]),
            ("Keras", f"{prov['keras_version']}, {prov['keras_backend']} backend {prov.get('backend_version') or ''}"),
            ("ksc, Python", f"{prov['ksc_version']}, {prov['python']}"), ("platform", prov["platform"]),
            ("seeds", ", ".join(map(str, prov["seeds"])) or "none"), ("finished (UTC)", prov["finished_at"]),
            ("results file", f"{record['chapter']}.json: the parameters, every metric row and the claims")]
    body = "".join(f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>" for name, value in rows)
    return f"<p><strong>How this page was computed.</strong></p><table class=\"ksc-provenance\">{body}</table>"


def show_provenance(results_dir, chapter: str):
    """Displays the provenance of the run that just wrote ``<results_dir>/<chapter>.json``."""
    from IPython.display import HTML, display

    record = json.loads((Path(results_dir) / f"{chapter}.json").read_text())
    display(HTML(provenance_table(record)))
