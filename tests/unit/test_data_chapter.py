"""Chapter 00's analysis (ksc.chapters.data) and its page text (ksc.pages.data_text)."""

import numpy as np
import pandas as pd

from ksc.chapters import data as data_chapter
from ksc.data.chaos import Splits
from ksc.pages import data_text


def _splits(train_value: float, test: np.ndarray) -> Splits:
    return Splits(np.full((4, 28, 28), train_value), np.zeros((1, 28, 28)), test)


def test_the_four_data_sets_are_named_after_their_map_and_parameter():
    splits = data_chapter.data_sets(8, 2, 4, r=3.99, r_text=3.9, seed=0)
    assert list(splits) == ["logistic r=3.9", "logistic r=3.99", "henon", "uniform noise (control)"]
    assert all(
        s.train.shape == (8, 28, 28) and s.val.shape == (2, 28, 28) and s.test.shape == (4, 28, 28)
        for s in splits.values()
    )
    assert not np.array_equal(splits["logistic r=3.9"].train, splits["logistic r=3.99"].train)


def test_only_the_henon_row_holds_the_pinned_fraction():
    rng = np.random.default_rng(0)
    splits = {
        "henon": _splits(0.5, rng.uniform(size=(2, 28, 28))),
        "noise": _splits(0.5, rng.uniform(size=(2, 28, 28))),
    }
    table = data_chapter.pixel_table(splits, np.array([True, False, False, False]))
    assert table.loc["henon", "images pinned at the clip"] == 0.25
    assert np.isnan(table.loc["noise", "images pinned at the clip"])
    assert table.loc["noise", "pixel_mean"] == 0.5


def test_the_floor_is_the_error_of_the_training_mean_on_the_test_images():
    test = np.stack([np.full((28, 28), 0.2), np.full((28, 28), 0.6)])
    floor = data_chapter.mean_predictor_floor({"a": _splits(0.5, test)})
    assert np.isclose(floor.loc["a", "mean-predictor test MSE"], (0.3**2 + 0.1**2) / 2)
    assert np.isclose(floor.loc["a", "pixel variance (test)"], 0.04)


def test_measured_rows_hold_one_entropy_per_data_set_and_one_exponent_per_map():
    pixels = pd.DataFrame({"byte_entropy": [7.9, 7.5]}, index=["logistic r=3.99", "henon"])
    lyapunov = pd.DataFrame({"lambda (derivative)": [0.69, 0.42]}, index=["logistic r=4", "henon"])
    rows = data_chapter.measured_rows(pixels, lyapunov)
    assert list(zip(rows.model, rows.quantity, rows["mean"])) == [
        ("logistic r=3.99", "byte_entropy", 7.9),
        ("henon", "byte_entropy", 7.5),
        ("logistic r=4", "lyapunov", 0.69),
        ("henon", "lyapunov", 0.42),
    ]
    assert (rows.n == 1).all()


def test_the_henon_note_states_the_pinned_count():
    assert "25.0% of the Hénon training images (1 of 4)" in data_text.henon_clip_note(np.array([1, 0, 0, 0], bool))
    assert "50.0% of the Hénon training images (2 of 4)" in data_text.henon_clip_note(np.array([1, 1, 0, 0], bool))


def test_the_summary_is_assembled_from_the_tables():
    lyapunov = pd.DataFrame({"lambda (derivative)": [0.5, 0.4]}, index=["logistic r=3.99", "logistic r=3.9"])
    floor = pd.DataFrame({"mean-predictor test MSE": [0.1234, 0.0567]}, index=["logistic r=3.99", "henon"])
    pixels = pd.DataFrame({"byte_entropy": [7.7, 7.4]}, index=["logistic r=3.99", "logistic r=3.9"])
    claim_table = pd.DataFrame({"id": ["s4.1-entropy"], "verdict": ["reproduced"]})
    text = data_text.summary(3.99, 1e-6, lyapunov, floor, claim_table, pixels, 3.9)
    assert "exponent is 0.500 per iterate" in text and "after about 28 iterates" in text  # ln(1e6) / 0.5 = 27.6
    assert "0.1234 on logistic images and 0.0567 on Hénon images" in text
    assert "Verdicts: `s4.1-entropy` reproduced. Both claims are judged at the r the authors' code used (3.99)" in text
    assert text.endswith("(3.9) the byte entropy is 7.400 bits and the exponent 0.400.")
    lyapunov["lambda (derivative)"] = 0.25
    assert "after about 55 iterates" in data_text.summary(3.99, 1e-6, lyapunov, floor, claim_table, pixels, 3.99)
