import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from ksc.chapters import divergence
from ksc.data import chaos
from ksc.evidence import claims
from ksc.measures import stats
from ksc.pages import divergence_text


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


def _identity(x, training=False):
    return np.asarray(x).reshape(len(x), -1)  # an "encoder" that keeps the image


def test_the_draft_protocol_orbits_separate_within_frame_zero():
    table = divergence.draft_protocol({"identity": _identity}, delta=1e-6, n_steps=2, n_runs=3)
    separations = divergence.run_separations(table, 1e-6, 3.99, 500)
    assert separations.shape == (3, 500)
    np.testing.assert_array_equal(separations[1], divergence.orbit_separation(table.x0.unique()[1], 1e-6, 3.99, 500))
    size = divergence.attractor_size(3.99)
    assert 0.2 < size < 0.5
    reached = divergence.iterates_until(separations, size)
    assert all(1 < n < chaos.PIXELS for n in reached)  # inside the first frame
    decorrelation = divergence.decorrelation_table(0.6, 1e-6, reached)
    assert decorrelation.loc[0, "predicted ln(1/delta)/lambda"] == pytest.approx(np.log(1e6) / 0.6)
    assert decorrelation.loc[0, "iterates until 10% of attractor size (mean over runs)"] == np.mean(reached)
    assert decorrelation.loc[0, "iterates in one frame"] == chaos.PIXELS


def test_iterates_until_counts_from_one_to_the_first_crossing():
    separations = np.array([[0.0, 0.05, 0.2, 0.01], [0.3, 0.0, 0.0, 0.0]])
    assert divergence.iterates_until(separations, 1.0) == [3, 1]
    assert divergence.iterates_until(separations, 1.0, fraction=0.25) == [1, 1]


def test_the_rates_table_adds_lambda_and_the_latent_over_input_rate():
    table = divergence.window_protocol({"identity": _identity}, r=3.99, deltas=[1e-4], n_steps=30, n_runs=2)
    rates = divergence.rates_against_lyapunov(table, 0.6)
    assert list(rates.columns) == [
        "input growth rate",
        "latent growth rate",
        "curves fitted",
        "lambda",
        "latent / input rate",
    ]
    assert rates.loc["identity", "lambda"] == 0.6
    assert rates.loc["identity", "latent / input rate"] == pytest.approx(1.0, rel=1e-4)
    assert divergence.latent_follows_input(rates).all()
    assert not divergence.latent_follows_input(rates.assign(**{"latent / input rate": 0.5})).any()


def _chapter_tables(v4_ratio=1.0):
    dense = divergence.dense_label(8)
    per_fit = pd.DataFrame(
        [
            {"model": dense, "variance": 0.1, "dead_fraction": 0.5},
            {"model": "v4", "variance": 0.4, "dead_fraction": 0.0},
        ]
    )
    summary = pd.DataFrame(
        {
            "encoder": [dense, "v4"],
            "distance_mean": [2.0, 5.0],
            "distance_sd": [0.1, 0.2],
            "ratio_mean": [1.1, 1.0],
            "ratio_sd": [0.1, 0.1],
            "input_distance_mean": [12.0, 12.0],
            "n_runs": [2, 2],
        }
    )
    rates = pd.DataFrame(
        {
            "input growth rate": [0.6, 0.6],
            "latent growth rate": [0.6, 0.6 * v4_ratio],
            "curves fitted": [7, 6],
            "lambda": [0.6, 0.6],
            "latent / input rate": [1.0, v4_ratio],
        },
        index=pd.Index([dense, "v4"], name="encoder"),
    )
    return dense, per_fit, summary, rates


def test_the_measured_rows_name_every_claimed_quantity_of_both_encoders():
    dense, per_fit, summary, rates = _chapter_tables()
    assert dense == "dense_relu_8"
    measured = divergence.measured_rows(per_fit, summary, rates, 2, dense=dense)
    quantities = {(row.model, row.quantity) for row in measured.itertuples()}
    for name in (dense, "v4"):
        for quantity in ("variance", "dead_fraction", "latent_distance_mean", "distance_ratio"):
            assert (name, quantity) in quantities
        assert (name, "latent_input_rate_ratio") in quantities
    row = measured[measured.model == f"v4/{dense}"].iloc[0]
    assert row.quantity == "latent_distance_ratio" and row["mean"] == pytest.approx(2.5) and row.n == 2
    assert measured[measured.quantity == "latent_input_rate_ratio"].n.tolist() == [7, 6]
    ids = divergence.claim_ids(claims.load_registry())
    assert ids and all(i.startswith("s6.3-") for i in ids) and "s6.3-lyapunov" not in ids


def test_the_verdict_says_which_encoders_follow_the_input():
    dense, per_fit, summary, rates = _chapter_tables()
    draft = pd.DataFrame({"input_distance": [12.0, 13.0, 11.0]})
    claim_table = claims.compare(
        divergence.measured_rows(per_fit, summary, rates, 2, dense=dense), ids=["s6.3-v4-ratio"]
    )
    text = divergence_text.verdict(claim_table, [28, 30], draft, summary, rates, 0.61)
    assert text.startswith("**Verdict.** ") and "after 29 iterates" in text and "in row 2 of the 28 rows" in text
    assert "(λ = 0.610)" in text and "Every encoder's latent distance follows" in text
    _, _, _, slower = _chapter_tables(v4_ratio=0.5)
    text = divergence_text.verdict(claim_table, [100, 120], draft, summary, slower, 0.61)
    assert "after 110 iterates" in text and "in row 4 of" in text and "0.300 for v4" in text
    assert "not every encoder's latent distance follows the input's growth within 20 %: v4 (the jumps" in text


def test_the_measured_rows_leave_the_null_encoders_out():
    dense, per_fit, summary, rates = _chapter_tables()
    per_fit = pd.concat([per_fit, pd.DataFrame([{"model": divergence.TANH, "variance": 0.2, "dead_fraction": 0.1}])])
    null_rate = pd.DataFrame(
        {"input growth rate": [0.6], "latent growth rate": [0.6], "curves fitted": [7], "lambda": [0.6]}
        | {"latent / input rate": [1.0]},
        index=pd.Index([divergence.IDENTITY], name="encoder"),
    )
    measured = divergence.measured_rows(per_fit, summary, pd.concat([rates, null_rate]), 2, dense=dense)
    assert set(measured.model) == {dense, "v4", f"v4/{dense}"}
    assert len(measured) == len(divergence.measured_rows(_chapter_tables()[1], summary, rates, 2, dense=dense))
