"""The statistics every verdict reads: Holm's adjustment and equivalence read off an interval."""

import numpy as np

from ksc.measures import stats


def test_holm_adjusts_step_down_and_keeps_the_order():
    adjusted = stats.holm([0.01, 0.04, 0.03, np.nan, 0.005])
    # sorted: 0.005 x 4, 0.01 x 3, 0.03 x 2, 0.04 x 1 (held at the running maximum 0.06)
    np.testing.assert_allclose(adjusted[[4, 0, 2, 1]], [0.02, 0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])
    assert stats.holm([0.5, 0.9]).max() <= 1.0
    assert stats.holm([0.01]).tolist() == [0.01]  # one comparison: nothing to adjust


def test_equivalence_reads_the_interval_against_the_margin():
    assert stats.equivalence(0.99, 1.01, 0.95, 1.05) == "equivalent"
    assert stats.equivalence(1.06, 1.2, 0.95, 1.05) == "different"
    assert stats.equivalence(0.9, 1.01, 0.95, 1.05) == "cannot tell"  # no significant difference, yet not equivalent
    assert stats.equivalence(float("nan"), 1.0, 0.95, 1.05) == "cannot tell"
