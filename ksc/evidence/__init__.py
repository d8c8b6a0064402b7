"""The papers' numbers and what the book measures against them.

``claims`` (the registry ``claims.csv``, the tolerance rules, the claimed-next-to-measured tables), ``nulls``
(the null references every number rule is applied to), ``ledger`` (every claim counted once per distinct
measurement); ``references_cited.csv`` (the draft's references as cited and as published) and
``rule_history.csv`` (every rule changed after results existed, with its reason). Imports only the layers below.
"""
