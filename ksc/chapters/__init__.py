"""Analysis that serves one chapter, named like the chapter without its number; each returns data, never Markdown.

``data`` (00), ``evolution`` (01), ``k_ablation`` (02), ``fair_baselines`` (03), ``henon`` (04), ``divergence`` (05),
``vsae``, ``vsae_training`` and ``vsae_diagnostics`` (06, with ``vsae_code_differences.csv``), ``controls`` (07),
``flows`` (08), ``sota_saes`` (09), ``training_controls/`` (10, one module per section), ``ablations/`` (11),
``randomness`` (12), ``train_speed`` (89), ``performance`` (95). Imports only the layers below (``evidence``
included: a chapter compares its numbers with the paper's).
"""
