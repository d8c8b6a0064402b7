import numpy as np
import pytest

from ksc.data import chaos


def test_logistic_images_follow_the_protocol():
    r, seed = 3.99, 11
    images = chaos.logistic_images(4, r=r, seed=seed)
    assert images.shape == (4, 28, 28) and images.dtype == np.float32
    x0 = np.random.default_rng(seed).uniform(0.0, 1.0, size=4)
    first = r * x0 * (1 - x0)  # x0 itself is not stored, and there is no burn-in
    np.testing.assert_allclose(images[:, 0, 0], first, rtol=1e-6)
    f = lambda x: r * x.astype(np.float64) * (1 - x.astype(np.float64))
    # row-major: the next pixel in a row, and the first pixel of the next row, are the next iterates
    np.testing.assert_allclose(images[:, 0, 1], f(images[:, 0, 0]), rtol=1e-5)
    np.testing.assert_allclose(images[:, 1, 0], f(images[:, 0, 27]), rtol=1e-3)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_generators_are_reproducible_and_seed_dependent():
    for make in (lambda s: chaos.logistic_images(3, seed=s), lambda s: chaos.henon_images(3, seed=s)):
        assert np.array_equal(make(5), make(5))
        assert not np.array_equal(make(5), make(6))


def test_henon_images_follow_the_protocol():
    images = chaos.henon_images(50, seed=3)
    assert images.shape == (50, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0
    rng = np.random.default_rng(3)
    x0, y0 = rng.uniform(-0.5, 0.5, size=50), rng.uniform(-0.5, 0.5, size=50)
    x1 = 1 - 1.4 * x0**2 + y0
    np.testing.assert_allclose(images[:, 0, 0], np.clip((x1 + 2) / 4, 0, 1), rtol=1e-6)
    # orbits that stay on the attractor (x within about [-1.28, 1.27]) never touch the clip;
    # the others leave the basin and are pinned at the clip, i.e. pixel 0, from then on
    escaped = chaos.escaped_orbits(images)
    assert 0 < escaped.sum() < 25
    kept = images[~escaped]
    assert 0.15 < kept.min() and kept.max() < 0.85
    for image in images[escaped].reshape(escaped.sum(), -1):
        first_zero = np.argmax(image == 0.0)
        assert np.all(image[first_zero:] == 0.0)


def test_splits_have_the_paper_sizes_and_do_not_overlap():
    s = chaos.make_splits("logistic", 2000, 200, 500, seed=0)
    assert (len(s.train), len(s.val), len(s.test)) == (2000, 200, 500)
    rows = np.concatenate([s.train, s.val, s.test]).reshape(2700, -1)
    assert len(np.unique(rows, axis=0)) == 2700
    with pytest.raises(ValueError, match="dataset"):
        chaos.make_splits("lorenz")


def test_lyapunov_estimates_match_known_values():
    assert abs(chaos.logistic_lyapunov(4.0, n_steps=50_000) - np.log(2)) < 0.01
    assert abs(chaos.henon_lyapunov(n_steps=50_000) - chaos.KNOWN_LYAPUNOV[("henon", 1.4)]) < 0.01
    # the derivative-free two-orbit estimate agrees with the derivative one
    assert abs(chaos.separation_lyapunov(3.9, n_steps=50_000) - chaos.logistic_lyapunov(3.9, n_steps=50_000)) < 0.02
    # a periodic regime has a negative exponent
    assert chaos.logistic_lyapunov(3.2, n_steps=5000) < 0


def test_byte_entropy_bounds():
    assert chaos.byte_entropy(np.zeros((10, 28, 28))) == 0.0
    uniform = np.random.default_rng(0).uniform(size=(200, 28, 28))
    assert 7.95 < chaos.byte_entropy(uniform) <= 8.0


def test_decorrelation_time():
    assert chaos.decorrelation_iterates(np.log(2), 2.0**-20) == pytest.approx(20.0)


def test_splits_per_seed_draw_different_images_and_for_seed_picks_them():
    by_seed = chaos.splits_per_seed("logistic", [0, 1], 8, 2, 4, data_seed=5)
    assert not np.array_equal(by_seed[0].train, by_seed[1].train)
    np.testing.assert_array_equal(by_seed[1].train, chaos.make_splits("logistic", 8, 2, 4, seed=6).train)
    assert chaos.for_seed(by_seed, 1) is by_seed[1]
    one = chaos.make_splits("logistic", 8, 2, 4)
    assert chaos.for_seed(one, 1) is one
