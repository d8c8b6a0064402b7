"""Section 7 of chapter 10: the two unit tests of the draft's Section 1.2 re-run on the authors' earlier model
(:mod:`ksc.chapters.training_controls.origin`), as the repository ran them and with distinct images beside them.

- :func:`variance_test`: per seed, the model trained on copies of the image from x0 = 0.4; the unit variances of
  its code on more such copies (the test) and on distinct logistic images.
- :func:`divergence_test`: per seed, the model trained on images from random starts; the latent distance per frame
  of the two chains that start 0.4 and 0.4 + delta, against the chains' image distance and unrelated images'.
- :func:`unrelated_image_distance`: the mean distance between the first and the second half of a set of images.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.chapters.training_controls.origin import (
    FIXED_START,
    divergence_chains,
    encode,
    frame_distances,
    train_origin,
    training_images,
)

TEST_BAR = 1e-4  # the variance test passes when every unit's variance exceeds this
RATIO_BAR = 5.0  # the divergence test passes when the last frame's latent distance exceeds this times the first's


def variance_test(
    seeds, n_train: int, epochs: int, batch_size: int, n_identical: int, distinct: np.ndarray, r: float = 3.99
) -> pd.DataFrame:
    """For each seed, the origin model trained for ``epochs`` on ``n_train`` images from x0 = 0.4, then the variance of
    each unit of its code on ``n_identical`` images from x0 = 0.4 (the test) and on the first ``n_identical`` of
    ``distinct``. One row per seed and encoded set: largest, median and smallest unit variance, units at or below
    the test's bar."""
    rows = []
    for s in seeds:
        _, encoder = train_origin(training_images(n_train, fixed=True, seed=s, r=r), s, epochs, batch_size)
        for label, images in (
            (f"{n_identical} images from x0 = {FIXED_START} (the test)", training_images(n_identical, True, s, r)),
            (f"{n_identical} distinct logistic images", distinct[:n_identical]),
        ):
            unit_variance = np.var(encode(encoder, images), axis=0)
            rows.append(
                {
                    "seed": s,
                    "encoded": label,
                    "largest unit variance": unit_variance.max(),
                    "median unit variance": np.median(unit_variance),
                    "smallest unit variance": unit_variance.min(),
                    "units below 1e-4 (the test's bar)": int(np.sum(unit_variance <= TEST_BAR)),
                }
            )
    return pd.DataFrame(rows)


class DivergenceTest(NamedTuple):
    """:func:`divergence_test`'s results: one row per seed, the latent distance per frame (seeds x frames) and the
    two chains' image distance per frame."""

    table: pd.DataFrame
    latent_distances: np.ndarray
    image_distances: np.ndarray


def divergence_test(
    seeds,
    n_train: int,
    epochs: int,
    batch_size: int,
    delta: float,
    n_frames: int,
    unrelated: np.ndarray,
    r: float = 3.99,
) -> DivergenceTest:
    """For each seed, the origin model trained for ``epochs`` on ``n_train`` images from random starts (10 % held out
    for validation, as the repository does), then the distance between the codes of the two chains of ``n_frames``
    frames from 0.4 and 0.4 + ``delta``. Each row: the first and last latent distance, their ratio, whether the test
    passes (ratio above 5), the chains' first and last image distance, and the mean latent distance between the
    first and second half of ``unrelated`` images."""
    first, second = divergence_chains(FIXED_START, delta, n_frames, r=r)
    image_distances = frame_distances(first, second)
    latent_distances, rows = [], []
    for s in seeds:
        _, encoder = train_origin(
            training_images(n_train, fixed=False, seed=s, r=r), s, epochs, batch_size, validation_split=0.1
        )
        d = frame_distances(encode(encoder, first), encode(encoder, second))
        latent_distances.append(d)
        rows.append(
            {
                "seed": s,
                "first_latent_distance": d[0],
                "last_latent_distance": d[-1],
                "distance_ratio": d[-1] / d[0],
                "passes (ratio > 5)": bool(d[-1] > RATIO_BAR * d[0]),
                "first_image_distance": image_distances[0],
                "last_image_distance": image_distances[-1],
                "unrelated images' latent distance": unrelated_image_distance(encode(encoder, unrelated)),
            }
        )
    return DivergenceTest(pd.DataFrame(rows), np.array(latent_distances), image_distances)


def unrelated_image_distance(images: np.ndarray) -> float:
    """Mean distance between the i-th image of the first half of ``images`` and the i-th of the second half."""
    half = len(images) // 2
    return float(frame_distances(images[:half], images[half : 2 * half]).mean())
