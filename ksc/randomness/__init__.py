"""Bits and the batteries that test them (chapter 12).

``bit_sources`` (where tested bits come from and how they are read off latents), ``nist`` (NIST SP 800-22 on
many sequences, NIST's second-level analysis), ``batteries`` (dieharder and ent on files). Imports only the
layers below.
"""
