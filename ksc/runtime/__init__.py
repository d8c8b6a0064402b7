"""The bottom layer: what every computation of the book runs on and writes with.

``backend`` (Keras imported with its backend's environment set; every module takes ``keras`` from here),
``atomic`` (atomic writes, JSON-safe values), ``machine`` (what ran a result: device, versions, provenance),
``results`` (the results-file format and its one reader), ``declarations`` (the tables each chapter's results
file holds, from ``tables.csv``, and how they are read), ``budgets`` (each chapter's time budget, from
``budgets.csv``). Imports nothing else of ``ksc``.
"""
