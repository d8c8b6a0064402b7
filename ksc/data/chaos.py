"""Chaotic maps, the image data sets built from them, and Lyapunov exponents.

Protocol (the authors' published code, see the book's introduction):
logistic images start from x0 ~ U[0, 1), keep the next 784 iterates (x0 excluded, no burn-in)
and reshape them row-major to 28x28; Henon images start from (x0, y0) ~ U(-0.5, 0.5)^2, clip the
state to [-2, 2] before every step and keep (x + 2) / 4 clipped to [0, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.data.flows import FLOW_SYSTEMS, lorenz96_series, mackey_glass_series

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE

# Reference values of the largest Lyapunov exponent (nats per iterate).
# Logistic map at r = 4: exactly ln 2 (it is conjugate to the tent map).
# Henon map at a = 1.4, b = 0.3: 0.41922, the value tabulated in Sprott, "Chaos and
# Time-Series Analysis" (2003), Appendix A.
KNOWN_LYAPUNOV = {
    ("logistic", 4.0): float(np.log(2.0)),
    ("henon", 1.4): 0.41922,
}


def logistic_orbit(x0: np.ndarray, r: float, n_steps: int) -> np.ndarray:
    """Iterates x_{t+1} = r x_t (1 - x_t) for every start in x0; returns (len(x0), n_steps), x0 excluded."""
    x = np.asarray(x0, dtype=np.float64).copy()
    out = np.empty((x.size, n_steps), dtype=np.float64)
    for t in range(n_steps):
        x = r * x * (1.0 - x)
        out[:, t] = x
    return out


def henon_orbit(
    x0: np.ndarray, y0: np.ndarray, n_steps: int, a: float = 1.4, b: float = 0.3, clip: float = 2.0
) -> np.ndarray:
    """x coordinate of the Henon map for every start, the state clipped to [-clip, clip] before each step."""
    x = np.asarray(x0, dtype=np.float64).copy()
    y = np.asarray(y0, dtype=np.float64).copy()
    out = np.empty((x.size, n_steps), dtype=np.float64)
    for t in range(n_steps):
        x, y = np.clip(x, -clip, clip), np.clip(y, -clip, clip)
        x, y = 1.0 - a * x * x + y, b * x
        out[:, t] = x
    return out


def logistic_starts(n: int, seed: int = 0) -> np.ndarray:
    """The start points x0 of ``logistic_images(n, seed=seed)`` (x0 is not a pixel: images begin one step later)."""
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=n)


def logistic_images(n: int, r: float = 3.99, seed: int = 0) -> np.ndarray:
    """n logistic-map images, shape (n, 28, 28), float32 in [0, 1]."""
    x0 = logistic_starts(n, seed)
    return logistic_orbit(x0, r, PIXELS).reshape(n, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)


def henon_images(n: int, seed: int = 0, a: float = 1.4, b: float = 0.3) -> np.ndarray:
    """n Henon-map images, shape (n, 28, 28), float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-0.5, 0.5, size=n)
    y0 = rng.uniform(-0.5, 0.5, size=n)
    xs = henon_orbit(x0, y0, PIXELS, a=a, b=b)
    pixels = np.clip((xs + 2.0) / 4.0, 0.0, 1.0)
    return pixels.reshape(n, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)


def uniform_noise_images(n: int, seed: int = 0) -> np.ndarray:
    """Null-data control: i.i.d. U[0, 1) pixels, shape (n, 28, 28)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, size=(n, IMAGE_SIDE, IMAGE_SIDE)).astype(np.float32)


def identical_images(n: int, r: float = 3.99, seed: int = 0) -> np.ndarray:
    """Null-data control: n copies of one logistic image (the draft's 'variance collapse' test used such a set)."""
    return np.repeat(logistic_images(1, r=r, seed=seed), n, axis=0)


# The flows' images (Section 7.2): 784 consecutive samples of one run, laid out row-major as 28x28 and mapped
# to [0, 1] by a fixed affine map with clipping (as the Henon images are), so the sigmoid output of the draft's
# autoencoders can reach every pixel. Fixed pixel maps: the range the observable covers on the attractor, with a
# little room (values outside clip).
PIXEL_RANGE = {"lorenz96": (-12.0, 18.0), "mackey_glass": (0.2, 1.4)}


def flow_images(system: str, n: int, seed: int = 0) -> np.ndarray:
    """n images of a flow system, shape (n, 28, 28), float32 in [0, 1]."""
    if system == "lorenz96":
        series = lorenz96_series(n, PIXELS, seed=seed)
    elif system == "mackey_glass":
        series = mackey_glass_series(n, PIXELS, seed=seed)
    else:
        raise ValueError(f"system must be one of {FLOW_SYSTEMS}, got {system!r}")
    low, high = PIXEL_RANGE[system]
    pixels = np.clip((series - low) / (high - low), 0.0, 1.0)
    return pixels.reshape(n, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)


def neighbour_correlation(images: np.ndarray) -> float:
    """Mean over images of the correlation between consecutive samples (pixel t and t + 1, row-major)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    a, b = (
        flat[:, :-1] - flat[:, :-1].mean(axis=1, keepdims=True),
        flat[:, 1:] - flat[:, 1:].mean(axis=1, keepdims=True),
    )
    denominator = np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))
    return float(np.mean(np.sum(a * b, axis=1)[denominator > 0] / denominator[denominator > 0]))


DATASETS = ("logistic", "henon", "noise", "identical", "lorenz96", "mackey_glass")


class Splits(NamedTuple):
    """Train / validation / test images, each (n, 28, 28) float32."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def make_splits(
    dataset: str = "logistic", n_train: int = 2000, n_val: int = 200, n_test: int = 500, r: float = 3.99, seed: int = 0
) -> Splits:
    """The paper's 2000/200/500 split, drawn from one seeded stream so the three sets never overlap."""
    n = n_train + n_val + n_test
    if dataset == "logistic":
        images = logistic_images(n, r=r, seed=seed)
    elif dataset == "henon":
        images = henon_images(n, seed=seed)
    elif dataset == "noise":
        images = uniform_noise_images(n, seed=seed)
    elif dataset == "identical":
        images = identical_images(n, r=r, seed=seed)
    elif dataset in ("lorenz96", "mackey_glass"):
        images = flow_images(dataset, n, seed=seed)
    else:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    return Splits(images[:n_train], images[n_train : n_train + n_val], images[n_train + n_val :])


def splits_per_seed(
    dataset: str, seeds, n_train: int = 2000, n_val: int = 200, n_test: int = 500, r: float = 3.99, data_seed: int = 0
) -> dict:
    """One :func:`make_splits` per training seed, each drawn with data seed ``data_seed + seed``: a comparison over
    seeds then varies the images as well as the weights and the data order, so its spread is not that of one draw."""
    return {s: make_splits(dataset, n_train, n_val, n_test, r=r, seed=data_seed + s) for s in seeds}


def for_seed(splits, seed: int) -> Splits:
    """The splits a model of training ``seed`` uses: ``splits`` itself, or its entry for ``seed`` where ``splits`` is
    one per seed."""
    return splits[seed] if isinstance(splits, dict) else splits


def logistic_lyapunov(r: float, n_steps: int = 100_000, burn_in: int = 1000, seed: int = 0) -> float:
    """Largest Lyapunov exponent of the logistic map: the orbit average of ln|r (1 - 2x)|."""
    x = np.random.default_rng(seed).uniform(0.1, 0.9, size=1)
    orbit = logistic_orbit(x, r, burn_in + n_steps)[0, burn_in:]
    return float(np.mean(np.log(np.abs(r * (1.0 - 2.0 * orbit)))))


def henon_lyapunov(a: float = 1.4, b: float = 0.3, n_steps: int = 100_000, burn_in: int = 1000, seed: int = 0) -> float:
    """Largest Lyapunov exponent of the Henon map: growth rate of a tangent vector pushed by the Jacobian."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-0.5, 0.5, size=2)
    for _ in range(burn_in):
        x, y = 1.0 - a * x * x + y, b * x
    v = np.array([1.0, 0.0])
    log_growth = 0.0
    for _ in range(n_steps):
        jacobian = np.array([[-2.0 * a * x, 1.0], [b, 0.0]])
        x, y = 1.0 - a * x * x + y, b * x
        v = jacobian @ v
        norm = np.hypot(v[0], v[1])
        log_growth += np.log(norm)
        v /= norm
    return float(log_growth / n_steps)


def separation_lyapunov(
    r: float, delta: float = 1e-9, n_steps: int = 20_000, renorm_every: int = 10, seed: int = 0
) -> float:
    """Logistic-map exponent measured from two orbits delta apart (Benettin's renormalisation method).

    A check that does not use the derivative: the growth of the separation itself.
    """
    rng = np.random.default_rng(seed)
    x = logistic_orbit(rng.uniform(0.1, 0.9, size=1), r, 1000)[0, -1]
    y = x + delta
    total, blocks = 0.0, n_steps // renorm_every
    for _ in range(blocks):
        for _ in range(renorm_every):
            x, y = r * x * (1.0 - x), r * y * (1.0 - y)
        d = abs(y - x)
        if d == 0.0:  # the two orbits merged in floating point; restart the perturbation
            y = x + delta
            continue
        total += np.log(d / delta)
        y = x + delta * np.sign(y - x)
    return float(total / (blocks * renorm_every))


def escaped_orbits(images: np.ndarray) -> np.ndarray:
    """Per image: True where the orbit left the attractor and got pinned at the clip (a pixel exactly 0 or 1).

    About one Henon start in ten from U(-0.5, 0.5)^2 lies outside the attractor's basin; the authors'
    clipping turns its orbit into a constant image after a few iterates.
    """
    flat = images.reshape(len(images), -1)
    return np.any((flat <= 0.0) | (flat >= 1.0), axis=1)


def byte_entropy(images: np.ndarray) -> float:
    """Shannon entropy, in bits per byte, of the pixels quantised to 256 levels (8 = uniform bytes)."""
    levels = np.clip((np.ravel(images) * 256).astype(np.int64), 0, 255)
    p = np.bincount(levels, minlength=256) / levels.size
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def pixel_statistics(images: np.ndarray) -> dict:
    """Mean, spread and range of the pixel values, and their byte entropy."""
    flat = np.ravel(images).astype(np.float64)
    return {
        "pixel_mean": float(flat.mean()),
        "pixel_sd": float(flat.std()),
        "pixel_min": float(flat.min()),
        "pixel_max": float(flat.max()),
        "byte_entropy": byte_entropy(images),
    }


def decorrelation_iterates(lyapunov: float, delta: float, size: float = 1.0) -> float:
    """Iterates until a separation delta grows to the attractor's size: ln(size / delta) / lambda."""
    return float(np.log(size / delta) / lyapunov)


def lyapunov_table(r: float, r_text: float, n_steps: int, seed: int, delta: float):
    """Lyapunov exponents of the logistic map at r = 4, r and r_text (from the derivative and from two orbits) and of
    the Henon map, next to the known values, with the iterates a separation ``delta`` needs to reach size 1."""

    rows = [
        {
            "map": label,
            "lambda (derivative)": logistic_lyapunov(rr, n_steps=n_steps, seed=seed),
            "lambda (two orbits)": separation_lyapunov(rr, n_steps=n_steps, seed=seed),
            "known": KNOWN_LYAPUNOV.get(("logistic", rr), np.nan),
        }
        for label, rr in [("logistic r=4", 4.0), (f"logistic r={r:g}", r), (f"logistic r={r_text:g}", r_text)]
    ]
    rows.append(
        {
            "map": "henon",
            "lambda (derivative)": henon_lyapunov(n_steps=n_steps, seed=seed),
            "lambda (two orbits)": np.nan,
            "known": KNOWN_LYAPUNOV[("henon", 1.4)],
        }
    )
    table = pd.DataFrame(rows).set_index("map")
    table["|estimate - known|"] = (table["lambda (derivative)"] - table["known"]).abs()
    table[f"iterates until delta={delta:g} reaches size 1"] = [
        decorrelation_iterates(lam, delta) for lam in table["lambda (derivative)"]
    ]
    return table
