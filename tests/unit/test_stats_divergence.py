import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from ksc.chapters import divergence
from ksc.data import chaos
from ksc.measures import stats


def test_t_tests_match_scipy_and_intervals_cover_the_difference():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.0, 1.0, 12), rng.normal(1.0, 2.0, 9)
    welch, student = stats.compare_two(a, b, "a", "b")
    assert welch["test"] == "Welch" and student["test"] == "Student"
    assert welch["t"] == pytest.approx(st.ttest_ind(b, a, equal_var=False).statistic)
    assert student["p"] == pytest.approx(st.ttest_ind(b, a, equal_var=True).pvalue)
    assert welch["df"] < student["df"] == 19
    for row in (welch, student):
        assert row["ci_low"] < row["difference"] < row["ci_high"]
    assert stats.cohens_d([0, 2], [2, 4]) == pytest.approx(2 / np.sqrt(2))


def test_ratio_interval_contains_the_ratio():
    a, b = np.array([1.0, 1.1, 0.9, 1.0]), np.array([2.0, 2.2, 1.8, 2.1])
    value, low, high = stats.ratio_interval(a, b)
    assert value == pytest.approx(b.mean() / a.mean()) and low < value < high
    table = stats.ratio_table(pd.DataFrame({"model": ["x"] * 4 + ["y"] * 4, "v": np.r_[a, b]}), [("y", "x")], "v")
    assert table.loc[0, "model"] == "y/x" and table.loc[0, "quantity"] == "v_ratio"


def test_forward_frames_follow_the_orbit():
    frames = divergence.forward_frames(0.4, 3.99, 3)
    assert frames.shape == (3, 28, 28)
    np.testing.assert_allclose(frames[0], chaos.logistic_orbit(np.array([0.4]), 3.99, 784)[0].reshape(28, 28))
    # frame t+1 is frame t shifted by one iterate
    np.testing.assert_allclose(frames[1].ravel()[:-1], frames[0].ravel()[1:])


def test_orbit_separation_grows_at_the_lyapunov_rate():
    sep = divergence.orbit_separation(0.4, 1e-12, 4.0, 25)
    rate = np.polyfit(np.arange(1, 26), np.log(sep), 1)[0]
    assert rate == pytest.approx(np.log(2), abs=0.1)


def test_window_protocol_difference_is_the_divergence():
    identity = lambda x, training=False: np.asarray(x).reshape(len(x), -1)  # an "encoder" that keeps the image
    table = divergence.window_protocol({"identity": identity}, r=3.99, deltas=[1e-4], n_steps=30, n_runs=2)
    assert set(table.columns) >= {"encoder", "run", "delta", "t", "input_distance", "latent_distance"}
    np.testing.assert_allclose(table.latent_distance, table.input_distance, rtol=1e-6)
    first = table[table.t == 0].input_distance
    assert np.all(first > 0) and np.all(first < 1e-3)  # only the nudged pixel differs at t = 0
    rates = divergence.growth_rates(table, 1e-4, 1e-1)
    assert rates.loc["identity", "latent growth rate"] == pytest.approx(chaos.logistic_lyapunov(3.99), abs=0.15)


def test_draft_protocol_frames_are_decorrelated():
    identity = lambda x, training=False: np.asarray(x).reshape(len(x), -1)
    table = divergence.draft_protocol({"identity": identity}, delta=1e-6, n_steps=4, n_runs=2)
    summary = divergence.draft_summary(table)
    # two unrelated 784-pixel images are about sqrt(2 * 784 * pixel variance) ~ 13 apart, from frame 0 on
    assert 10 < summary.loc[0, "distance_mean"] < 16
    assert summary.loc[0, "ratio_mean"] == pytest.approx(1.0, abs=0.2)
