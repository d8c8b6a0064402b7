"""ksc: the shared code of the K-Sparse Chaotic Autoencoders reproduction book.

The science, one module per subject (import what you need, e.g. ``from ksc import chaos``):

- data: ``chaos`` (maps, images, splits, Lyapunov exponents), ``flows`` (Lorenz-96 and Mackey-Glass series),
  ``superposition`` (the synthetic benchmark with known features), ``network_activations`` (a small network
  trained on digits, its hidden activations, and probing evaluations of SAEs fitted to them);
- models: ``layers`` (chaos activation, Top-K, the target-variance penalty), ``models`` (V1-V4, dense ReLU),
  ``members`` (M models as one computation), ``training`` (``train`` and ``train_many``), ``fused_adam`` (their
  Adam update as one XLA computation, same bits), ``sae`` (TopK SAE and vSAE, with the vSAE authors' code path
  as a form), ``sae_variants`` (ReLU-L1, TopK + AuxK, JumpReLU, Gated),
  ``ablations`` (V4 with its activation, constants, Top-K selection or penalty changed per member);
- measurements: ``metrics``, ``stats`` (tests, effect sizes, bootstrap ratios), ``divergence`` (Section 6.3's
  protocols), ``vsae_comparison`` (chapter 06's design, beta rule and per-k verdicts), ``matched_sparsity``
  (chapter 09's comparison at one L0), ``ablation_effects`` (chapter 11's effects, their split into architecture
  and data, activation properties, width sweep), ``benchmark`` (training speed);
- randomness (chapter 12): ``bit_sources`` (where tested bits come from and how they are read off latents),
  ``nist`` (NIST SP 800-22 on many sequences, NIST's second-level analysis), ``batteries`` (dieharder and ent on
  files), ``randomness`` (the chapter's streams, tables, registry rows and summary);
- the papers' claims and their verdicts: ``claims`` (+ ``claims.csv``), ``nulls`` (null references), ``ledger``,
  ``conclusions`` (+ ``conclusions.csv``);
- files and provenance: ``results`` (the results-file format, its one reader), ``atomic`` (atomic writes),
  ``machine`` (what ran a result), ``parameters`` (every notebook parameter, declared once), ``budgets`` (each
  chapter's time budget, + ``budgets.csv``);
- pages: ``plots``, ``vsae_plots`` (chapter 06's figures), ``ablation_plots`` (chapter 11's), ``tables``;
- ``backend``: Keras imported with its backend's environment set (every module takes ``keras`` from here).

``ksc.book`` holds the machinery around the chapters (papermill, Jupyter Book, the ``ksc`` command); nothing in
the science imports it.
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
# XLA without fused multiply-add, so that the optimizer's update compiled by XLA (ksc/fused_adam.py) rounds every
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
    "ablation_effects",
    "ablation_plots",
    "ablations",
    "atomic",
    "backend",
    "batteries",
    "benchmark",
    "bit_sources",
    "budgets",
    "chaos",
    "claims",
    "conclusions",
    "divergence",
    "flows",
    "fused_adam",
    "layers",
    "ledger",
    "machine",
    "matched_sparsity",
    "members",
    "metrics",
    "models",
    "network_activations",
    "nist",
    "nulls",
    "parameters",
    "plots",
    "randomness",
    "results",
    "sae",
    "sae_variants",
    "stats",
    "superposition",
    "tables",
    "training",
    "vsae_comparison",
    "vsae_plots",
]
