"""Chapter 10 (``10_training_controls``): what the draft never checked.

``diagnostics`` (untrained against trained, learning curves, the constant image), ``origin`` (why V4's latents
diverge from the origin), ``revival`` (V3 with AuxK and dead-latent resampling).
"""
