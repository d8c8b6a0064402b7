"""What a page shows, assembled from the numbers the chapters computed; imports any layer below, nothing below
imports it.

- figures: ``plots`` (the chapters' shared figures), ``vsae_plots`` (06), ``training_controls_plots`` (10),
  ``ablation_plots`` (11);
- tables: ``tables`` (mean ± sd cells), ``ablation_tables`` (11);
- text: one ``<chapter>_text`` module per chapter whose page states a verdict in words (``data_text``,
  ``evolution_text``, ..., ``performance_text``; ``sae_text``: the k_aux sentence of 06 and 09), and
  ``ledger_page`` (the ledger's tables and ``findings.md``, which the intro page includes).
"""
