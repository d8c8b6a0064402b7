"""Bits and the batteries that test them (chapter 12).

``bit_sources`` (where tested bits come from and how they are read off latents), ``nist`` (NIST SP 800-22 on
many sequences, NIST's second-level analysis), ``batteries`` (dieharder and ent on files, dieharder's calibration,
ent's block rule, the binomial bound), ``runner`` (every battery on each stream in worker processes, and what they
said), ``replicates`` (verdicts over replicates against an ideal source's failures). Imports only the layers below.
"""
