"""Chapter 00's analysis: the four data sets, their pixel statistics, the per-pixel-mean floor and the measured rows of
the draft's data claims (byte entropy, Lyapunov exponents)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.data import chaos
from ksc.evidence import claims
from ksc.measures import metrics


def data_sets(n_train: int, n_val: int, n_test: int, r: float, r_text: float, seed: int) -> dict[str, chaos.Splits]:
    """The chapter's data sets by name, all drawn from ``seed``: logistic images at the draft text's r and at the
    code's r, Hénon images and the uniform-noise control."""
    return {
        f"logistic r={r_text:g}": chaos.make_splits("logistic", n_train, n_val, n_test, r=r_text, seed=seed),
        f"logistic r={r:g}": chaos.make_splits("logistic", n_train, n_val, n_test, r=r, seed=seed),
        "henon": chaos.make_splits("henon", n_train, n_val, n_test, seed=seed),
        "uniform noise (control)": chaos.make_splits("noise", n_train, n_val, n_test, seed=seed),
    }


def pixel_table(splits: dict, pinned: np.ndarray) -> pd.DataFrame:
    """One row per data set: the pixel statistics of its training images; the ``henon`` row also holds the fraction
    of images pinned at the clip (``pinned``: one flag per Hénon training image)."""
    table = pd.DataFrame({name: chaos.pixel_statistics(s.train) for name, s in splits.items()}).T
    table.loc["henon", "images pinned at the clip"] = pinned.mean()
    return table


def mean_predictor_floor(splits: dict) -> pd.DataFrame:
    """One row per data set: the test MSE of predicting every pixel by its training mean, and the pixel variance of
    the test images."""
    return pd.DataFrame(
        {
            name: {
                "mean-predictor test MSE": metrics.mean_predictor_mse(s.train, s.test),
                "pixel variance (test)": float(np.var(s.test)),
            }
            for name, s in splits.items()
        }
    ).T


def measured_rows(pixel_table: pd.DataFrame, lyapunov: pd.DataFrame) -> pd.DataFrame:
    """The claims registry's measured rows: each data set's byte entropy, then each map's Lyapunov exponent (from the
    derivative), one measurement each."""
    return pd.concat(
        [claims.rows(name, {"byte_entropy": v}, 1) for name, v in pixel_table["byte_entropy"].items()]
        + [claims.rows(name, {"lyapunov": v}, 1) for name, v in lyapunov["lambda (derivative)"].items()],
        ignore_index=True,
    )
