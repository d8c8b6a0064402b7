import numpy as np
import pytest

from ksc.measures import metrics

Z = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 3.0, 0.0, 0.0], [0.0, 5.0, 1e-7, 4.0]])


def test_sparsity_and_dead_units():
    assert metrics.sparsity(Z) == pytest.approx(7 / 12)  # 1e-7 is below the 1e-6 threshold
    assert metrics.dead_units(Z) == 2
    assert metrics.active_per_sample(Z) == pytest.approx(5 / 3)


def test_variances():
    per_unit = [0.0, np.var([1, 3, 5]), np.var([0, 0, 1e-7]), np.var([2, 0, 4])]
    assert metrics.mean_variance(Z) == pytest.approx(np.mean(per_unit))
    # active variance: units with >= 2 non-zero entries, variance over those entries
    assert metrics.active_variance(Z) == pytest.approx(np.mean([np.var([1, 3, 5]), np.var([2, 4])]))
    assert metrics.active_variance(np.zeros((5, 3))) == 0.0


def test_latent_metrics_row():
    row = metrics.latent_metrics(Z)
    assert row["dead_fraction"] == 0.5 and row["latent_dim"] == 4


def test_reconstruction_against_the_mean_predictor():
    rng = np.random.default_rng(0)
    train, test = rng.uniform(size=(100, 4, 4)), rng.uniform(size=(50, 4, 4))
    base = metrics.mean_predictor_mse(train, test)
    assert base == pytest.approx(np.mean((test - train.mean(axis=0)) ** 2))
    row = metrics.reconstruction_metrics(test, test, train)
    assert row["test_mse"] == 0.0 and row["fve"] == 1.0
    mean_image = np.broadcast_to(train.mean(axis=0), test.shape)
    assert metrics.reconstruction_metrics(test, mean_image, train)["fve"] == pytest.approx(0.0)
    assert metrics.fve(2.0, 1.0) == -1.0


def test_scale_free_variance_ignores_the_output_scale():
    rng = np.random.default_rng(1)
    z = rng.uniform(0, 1, size=(200, 8))
    assert metrics.scale_free_variance(10 * z) == pytest.approx(metrics.scale_free_variance(z))
    assert metrics.scale_free_variance(np.ones((5, 3))) == 0.0
    assert metrics.scale_free_variance(np.zeros((5, 3))) == 0.0
    assert metrics.coefficient_of_variation(np.array([[1.0, 0.0], [3.0, 0.0]])) == pytest.approx(0.5)


def test_pca_baseline_is_exact_with_all_components_and_the_mean_with_none():
    rng = np.random.default_rng(2)
    train, test = rng.uniform(size=(60, 4, 4)), rng.uniform(size=(10, 4, 4))
    np.testing.assert_allclose(metrics.pca_reconstruction(train, test, 16), test, atol=1e-10)
    np.testing.assert_allclose(
        metrics.pca_reconstruction(train, test, 0), np.broadcast_to(train.mean(axis=0), test.shape), atol=1e-12
    )
    errors = [metrics.mse(test, metrics.pca_reconstruction(train, test, c)) for c in (2, 8, 16)]
    assert errors[0] > errors[1] > errors[2]
