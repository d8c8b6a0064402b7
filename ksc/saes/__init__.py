"""Sparse autoencoders on the member axis: the shared base (start, forward pass, loss, warm-up, AuxK wiring, epoch
loop) in ``base``; the AuxK losses and the k_aux rules in ``auxk``; the TopK SAE and the vSAE (with the vSAE authors'
code path as a form) in ``topk_vsae``; ReLU-L1, TopK + AuxK, JumpReLU and Gated in ``kinds``; V4's latent block as a
sparse coder in ``chaos_coder``; latents that ever fire, counted fast, in ``living``. Imports only the layers
below.
"""
