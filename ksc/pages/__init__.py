"""What a page shows: figures and tables (``plots``, ``vsae_plots``, ``ablation_plots``, ``tables``).
Imports any science layer below; nothing below imports it.
"""
