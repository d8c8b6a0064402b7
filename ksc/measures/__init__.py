"""What is measured on a model or a table of runs.

``metrics`` (latent and reconstruction metrics of codes and images), ``stats`` (tests, effect sizes, bootstrap
ratios), ``probes`` (what a code carries, read off by ridge and MLP probes), ``saebench`` (SAEBench's sparse
probing, TPP and SCR for labelled pooled activations). Imports only the layers below.
"""
