"""Analysis that serves one chapter, named like the chapter.

``divergence`` (05), ``vsae`` (06, with ``vsae_code_differences.csv``), ``sota_saes`` (09),
``training_controls`` (10), ``ablations`` (11), ``randomness`` (12), ``performance`` (89 and 95: training speed,
chapter times against budgets). Chapters 00-04, 07 and 08 need nothing beyond the shared layers. Imports only
the layers below (``evidence`` included: a chapter compares its numbers with the paper's).
"""
