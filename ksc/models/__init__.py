"""The autoencoders and how they are trained.

``layers`` (chaos activation, Top-K, the target-variance penalty), ``architectures`` (V1-V4, dense ReLU),
``members`` (M models as one computation), ``training`` (``train`` and ``train_many``), ``fused_adam`` (their Adam
update as one XLA computation, the same bits). Imports only the layers below.
"""
