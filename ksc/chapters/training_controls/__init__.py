"""Chapter 10 (``10_training_controls``): what the draft never checked, one module per section.

``trained_vs_untrained`` (section 1), ``learning_curves`` (2), ``constant_image`` (3), ``code_probes`` (4),
``remedy_comparison`` (5, with ``revival``: V3 with AuxK and dead-latent resampling), ``k_sweep`` (6),
``origin_tests`` (7, with ``origin``: the authors' earlier model of the draft's Section 1.2) and ``claimed_values``
(the measured values next to the draft's claims); ``diagnostics`` holds the measurements they share (a network at
its initial weights, the convergence of a curve, a run on copies of one image, the size of the kept values).
"""
