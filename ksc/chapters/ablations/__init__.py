"""Chapter 11 (``11_ablations``): V4 with one ingredient changed at a time.

``variants`` (the variants as members of one computation, their training and activation properties),
``effects`` (each effect split into architecture and data, the property and width tables, the width sweep's
training).
"""
