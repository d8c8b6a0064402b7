"""The flows of the draft's Section 7.2 plan: Lorenz-96 and Mackey-Glass, and the images made of them."""

import numpy as np
import pytest

from ksc.data import chaos, flows


def test_lorenz96_fixed_point_and_energy_balance():
    # x_i = F for every i is an equilibrium of Lorenz-96
    x = np.full((1, 40), 8.0)
    np.testing.assert_allclose(flows.lorenz96_derivative(x, 8.0), 0.0, atol=1e-12)
    # the advection term conserves energy: d/dt (1/2 sum x^2) = -sum x^2 + F sum x
    y = np.random.default_rng(0).standard_normal((3, 40))
    energy_rate = np.sum(y * flows.lorenz96_derivative(y, 8.0), axis=1)
    np.testing.assert_allclose(energy_rate, -np.sum(y * y, axis=1) + 8.0 * np.sum(y, axis=1), rtol=1e-10)


def test_lorenz96_is_chaotic_at_f8_and_bounded():
    rng = np.random.default_rng(1)
    x = 8.0 + rng.standard_normal((1, 40))
    for _ in range(1000):  # onto the attractor
        x = flows.lorenz96_step(x, 8.0, 0.01)
    y = x + 1e-10
    for _ in range(500):  # 5 time units; the largest Lyapunov exponent at D = 40, F = 8 is about 1.7
        x, y = flows.lorenz96_step(x, 8.0, 0.01), flows.lorenz96_step(y, 8.0, 0.01)
    assert np.abs(x - y).max() > 1e2 * 1e-10  # nearby states separate
    a = flows.lorenz96_series(1, 400, seed=1)
    assert -15 < a.min() and a.max() < 20 and a.std() > 1


def test_mackey_glass_stays_on_its_attractor_and_oscillates():
    s = flows.mackey_glass_series(4, 784, seed=2)
    assert 0.2 < s.min() and s.max() < 1.5
    assert (s.std(axis=1) > 0.1).all()  # tau = 17 is past the onset of oscillation: no fixed point
    # the fixed point x* = 1 of beta x / (1 + x^10) = gamma x with beta = 2 gamma is not where it settles
    assert np.abs(s[:, -100:] - 1.0).max() > 0.2


def test_flow_images_follow_the_protocol_and_repeat():
    for system in flows.FLOW_SYSTEMS:
        images = chaos.flow_images(system, 6, seed=3)
        assert images.shape == (6, 28, 28) and images.dtype == np.float32
        assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.05
        np.testing.assert_array_equal(images, chaos.flow_images(system, 6, seed=3))
        assert not np.allclose(images[0], images[1])  # each image from its own start
        splits = chaos.make_splits(system, 4, 2, 3, seed=3)
        assert [len(s) for s in splits] == [4, 2, 3]
    with pytest.raises(ValueError, match="system must be one of"):
        chaos.flow_images("lorenz63", 2)


def test_neighbour_correlation_on_hand_made_images():
    ramp = np.tile(np.arange(784, dtype=float), (2, 1)).reshape(2, 28, 28)
    assert chaos.neighbour_correlation(ramp) == pytest.approx(1.0)
    alternating = np.tile([0.0, 1.0], (2, 392)).reshape(2, 28, 28)
    assert chaos.neighbour_correlation(alternating) == pytest.approx(-1.0)
    noise = np.random.default_rng(0).random((100, 28, 28))
    assert abs(chaos.neighbour_correlation(noise)) < 0.02


def test_lorenz96_integrator_gives_the_reference_step_bit_for_bit():
    rng = np.random.default_rng(3)
    for n, dim in ((5, 40), (3, 4), (1, 7)):
        x = 8.0 + rng.standard_normal((n, dim))
        flow = flows.Lorenz96Integrator(x, 8.0, 0.01)
        for _ in range(300):
            x = flows.lorenz96_step(x, 8.0, 0.01)
            flow.step()
        assert np.array_equal(flow.x.T, x)  # the same bits, not merely close
        assert np.std(x) > 1.0  # the trajectories moved (chaotic at F = 8), so the comparison is not trivial


def test_lorenz96_integrator_leaves_the_callers_array_alone():
    x = np.asfortranarray(8.0 + np.random.default_rng(0).standard_normal((3, 6)))  # its transpose is C-ordered
    before = x.copy()
    flow = flows.Lorenz96Integrator(x, 8.0, 0.01)
    flow.step()
    assert np.array_equal(x, before) and not np.array_equal(flow.x.T, before)
