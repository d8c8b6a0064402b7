import numpy as np
import pytest

from ksc.models.layers import TargetVarianceRegularizer, TopK, chaos_activation
from ksc.runtime.backend import keras


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_chaos_activation_values():
    x = np.array([0.0, np.pi / 16, -0.3], dtype=np.float32)
    expected = np.sin(8 * x) + 0.5 * np.tanh(4 * x)
    np.testing.assert_allclose(_np(chaos_activation(x)), expected, rtol=1e-6, atol=1e-7)
    assert _np(chaos_activation(np.float32(np.pi / 16))) == pytest.approx(1 + 0.5 * np.tanh(np.pi / 4), rel=1e-6)
    grid = np.linspace(-5, 5, 10001, dtype=np.float32)
    assert np.abs(_np(chaos_activation(grid))).max() <= 1.5


@pytest.mark.parametrize("by", ["abs", "value"])
def test_topk_keeps_exactly_k_per_row(by):
    x = np.random.default_rng(0).normal(size=(64, 128)).astype(np.float32)
    z = _np(TopK(32, by=by)(x))
    assert np.all(np.count_nonzero(z, axis=1) == 32)
    kept = z != 0
    np.testing.assert_array_equal(z[kept], x[kept])  # kept entries are unchanged


def test_topk_selection_by_value_and_by_absolute_value_differ():
    x = np.array([[-5.0, 1.0, 2.0, -0.5]], dtype=np.float32)
    np.testing.assert_array_equal(_np(TopK(2, by="abs")(x)), [[-5.0, 0.0, 2.0, 0.0]])
    np.testing.assert_array_equal(_np(TopK(2, by="value")(x)), [[0.0, 1.0, 2.0, 0.0]])
    with pytest.raises(ValueError):
        TopK(2, by="magnitude")


def test_target_variance_regularizer_forms():
    z = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)  # per-unit variances 1 and 1 -> mean 1
    assert float(_np(TargetVarianceRegularizer(0.1, 0.01, "abs")(z))) == pytest.approx(0.01 * 0.9)
    assert float(_np(TargetVarianceRegularizer(0.1, 0.01, "squared")(z))) == pytest.approx(0.01 * 0.81)
    assert float(_np(TargetVarianceRegularizer(2.0, 1.0, "abs")(z))) == pytest.approx(1.0)
