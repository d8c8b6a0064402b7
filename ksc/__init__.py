"""ksc: the shared code of the K-Sparse Chaotic Autoencoders reproduction book.

Subpackages, from the bottom up; each imports only those above it in this list (``tests/unit/test_layout.py``):

- ``runtime``: Keras with its backend set, atomic writes, the results-file format, the machine, time budgets;
- ``data``: the maps and flows and their images, the superposition benchmark, a small network's activations;
- ``measures``: metrics, statistics, probes;
- ``models``: layers, V1-V4 and dense ReLU, models as members of one computation, training, the fused Adam;
- ``saes``: the sparse autoencoders (TopK SAE, vSAE, ReLU-L1, TopK + AuxK, JumpReLU, Gated);
- ``randomness``: bit sources, NIST SP 800-22, dieharder and ent;
- ``evidence``: the papers' claims (``claims.csv``), null references, the ledger;
- ``chapters``: analysis that serves one chapter, named like it (``chapters.vsae`` for ``06_vsae``);
- ``conclusions``: the papers' conclusions (``conclusions.csv``) judged from every chapter's results;
- ``pages``: figures and tables;
- ``book``: the machinery around the chapters (parameters, papermill, Jupyter Book, the ``ksc`` command).

A chapter's numbers come from its notebook (``notebooks/<chapter>.ipynb``), the shared layers it imports and, where
it has one, its module in ``ksc.chapters``.
"""

import os as _os
import platform as _platform

# Set before any module of the package imports Keras (and so TensorFlow).
# One inter-op thread: TensorFlow then runs independent ops one after another, in a fixed order (each op still
# uses every core). With its default pool, ops that are ready together run concurrently and their results are
# combined in whatever order they finish; the chaos activation amplifies those last-bit differences, so V4 trained
# as 40 members gave a different test MSE in two identical runs. Measured on the 2-core CPU: identical runs, and
# faster (14 s against 19 s for that run).
_os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
# One intra-op thread too, so the numbers do not depend on how many cores the machine has: a V4 trained with one
# and with two intra-op threads gave test MSEs differing in the fourth digit (0.11856 and 0.11844), since an op split
# over more threads sums in another order. On the 2-core CPU one thread was as fast (40 V4 members at paper scale:
# 158 s with one, 156 s with two); more cores are used by running chapters or sweep points side by side
# (``--workers``, ksc/book/cluster.py). Either variable set beforehand wins.
_os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
# XLA without fused multiply-add, so that the optimizer's update compiled by XLA (ksc/models/fused_adam.py) rounds every
# multiply and add as TensorFlow's own ops do and gives the same bits, faster. Only for the TensorFlow backend on
# x86-64 (JAX compiles everything with XLA and keeps its full instruction set) and only where no cap is set already.


def _keras_backend() -> str:
    """The backend Keras will choose: KERAS_BACKEND, else the one in Keras's configuration file, else TensorFlow."""
    import json

    if "KERAS_BACKEND" in _os.environ:
        return _os.environ["KERAS_BACKEND"]
    home = _os.environ.get("KERAS_HOME") or _os.path.join(_os.path.expanduser("~"), ".keras")
    try:
        with open(_os.path.join(home, "keras.json")) as handle:
            return str(json.load(handle).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


if _keras_backend() == "tensorflow" and _platform.machine().lower() in ("x86_64", "amd64"):
    if "xla_cpu_max_isa" not in _os.environ.get("XLA_FLAGS", ""):
        _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + " --xla_cpu_max_isa=AVX").strip()

__version__ = "0.1.0"

__all__ = [
    "book",
    "chapters",
    "conclusions",
    "data",
    "evidence",
    "measures",
    "models",
    "pages",
    "randomness",
    "runtime",
    "saes",
]
