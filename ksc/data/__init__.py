"""The data the chapters train on.

``chaos`` (the maps, their images, splits and Lyapunov exponents), ``flows`` (Lorenz-96 and Mackey-Glass
series), ``superposition`` (the synthetic benchmark with known features), ``network_activations`` (a small
network trained on digits, its hidden activations, and the probing evaluations of SAEs fitted to them).
Imports only ``ksc.runtime``.
"""
