"""ksc: the shared code of the K-Sparse Chaotic Autoencoders reproduction book.

The science, one module per subject (import what you need, e.g. ``from ksc import chaos``):

- data: ``chaos`` (maps, images, splits, Lyapunov exponents), ``flows`` (Lorenz-96 and Mackey-Glass series),
  ``superposition`` (the synthetic benchmark with known features), ``network_activations`` (a small network
  trained on digits, its hidden activations, and probing evaluations of SAEs fitted to them);
- models: ``layers`` (chaos activation, Top-K, the target-variance penalty), ``models`` (V1-V4, dense ReLU),
  ``members`` (M models as one computation), ``training`` (``train`` and ``train_many``), ``sae`` (TopK SAE and
  vSAE, with the vSAE authors' code path as a form), ``sae_variants`` (ReLU-L1, TopK + AuxK, JumpReLU, Gated);
- measurements: ``metrics``, ``stats`` (tests, effect sizes, bootstrap ratios), ``divergence`` (Section 6.3's
  protocols), ``vsae_comparison`` (chapter 06's design, beta rule and per-k verdicts), ``matched_sparsity``
  (chapter 09's comparison at one L0), ``benchmark`` (training speed);
- the papers' claims and their verdicts: ``claims`` (+ ``claims.csv``), ``nulls`` (null references), ``ledger``,
  ``conclusions`` (+ ``conclusions.csv``);
- files and provenance: ``results`` (the results-file format, its one reader), ``atomic`` (atomic writes),
  ``machine`` (what ran a result), ``parameters`` (every notebook parameter, declared once);
- pages: ``plots``, ``vsae_plots`` (chapter 06's figures), ``tables``;
- ``backend``: Keras imported with its backend's environment set (every module takes ``keras`` from here).

``ksc.book`` holds the machinery around the chapters (papermill, Jupyter Book, the ``ksc`` command); nothing in
the science imports it.
"""

__version__ = "0.1.0"

__all__ = [
    "atomic",
    "backend",
    "benchmark",
    "chaos",
    "claims",
    "conclusions",
    "divergence",
    "flows",
    "layers",
    "ledger",
    "machine",
    "matched_sparsity",
    "members",
    "metrics",
    "models",
    "network_activations",
    "nulls",
    "parameters",
    "plots",
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
