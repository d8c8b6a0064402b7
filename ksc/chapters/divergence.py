"""Do latent codes of two nearby orbits separate the way the orbits do? (Section 6.3 of the draft.)

Two protocols:

- ``draft_protocol``: the authors' test. Two orbits start delta apart; frame t is the 784-iterate
  image started from the t-th point of each orbit; the latent distance of frame t is compared
  between t = 0 and t = n_steps - 1. With lambda ~ 0.6 per iterate the orbits decorrelate within
  a few dozen iterates, i.e. inside frame 0, so every frame pair is already unrelated.
- ``window_protocol``: a protocol that can see divergence. One reference orbit; a copy of it is
  nudged by delta at the last pixel of the first 784-iterate window; frame t is the window that ends
  t iterates later. The two frames share every pixel before the nudge, and their difference grows
  like delta * exp(lambda t) until it saturates, so the input distance sweeps many decades and we
  can ask whether the latent distance follows it.

Around them: the two encoders the chapter trains (``train_encoders``), why the draft's frames are unrelated
(``run_separations``, ``attractor_size``, ``iterates_until``, ``decorrelation_table``) and the chapter's
measured rows for the claims registry (``measured_rows``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.data.chaos import IMAGE_SIDE, PIXELS, decorrelation_iterates, logistic_orbit
from ksc.evidence import claims
from ksc.models.training import Fit, train_many
from ksc.runtime.backend import keras

V4 = "v4"  # the label of the V4 encoder; the dense one's is ``dense_label(small_latent)``

# the columns of the table of the two trained encoders
FIT_COLUMNS = ["variance", "dead_units", "dead_fraction", "test_mse", "mean_predictor_mse", "fve", "wall_seconds"]


def dense_label(small_latent: int) -> str:
    """The label of the small dense ReLU encoder: ``dense_relu_<latent units>``."""
    return f"dense_relu_{small_latent}"


def train_encoders(
    data, seed: int, small_latent: int, latent_dim: int, k: int, epochs: int, batch_size: int, learning_rate: float
) -> dict[str, Fit]:
    """The two encoders of the draft's test, trained on ``data`` with one seed: first a dense ReLU encoder with
    ``small_latent`` units, then V4 with ``latent_dim`` units and Top-K ``k``; keyed by their labels."""
    training = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
    dense = dense_label(small_latent)
    return {
        dense: train_many("dense_relu", data, seeds=[seed], latent_dim=small_latent, labels=dense, **training)[0],
        V4: train_many("v4", data, seeds=[seed], latent_dim=latent_dim, k=k, labels=V4, **training)[0],
    }


def _encode(encoder, frames: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(encoder(frames.astype(np.float32), training=False)).astype(np.float64)


def forward_frames(x0: float, r: float, n_frames: int) -> np.ndarray:
    """Frame t = the 784 iterates after the t-th point of the orbit of x0; shape (n_frames, 28, 28)."""
    orbit = logistic_orbit(np.array([x0]), r, n_frames - 1 + PIXELS)[0]
    windows = np.lib.stride_tricks.sliding_window_view(orbit, PIXELS)[:n_frames]
    return windows.reshape(n_frames, IMAGE_SIDE, IMAGE_SIDE)


def orbit_separation(x0: float, delta: float, r: float, n_steps: int) -> np.ndarray:
    """|x_t - y_t| for the orbits of x0 and x0 + delta, t = 1..n_steps (float64)."""
    orbits = logistic_orbit(np.array([x0, x0 + delta]), r, n_steps)
    return np.abs(orbits[1] - orbits[0])


def draft_protocol(
    encoders: dict, r: float = 3.99, delta: float = 1e-6, n_steps: int = 10, n_runs: int = 5, seed: int = 0
) -> pd.DataFrame:
    """The authors' test: rows (encoder, run, step, input_distance, latent_distance)."""
    rng = np.random.default_rng(seed)
    starts = 0.4 + rng.uniform(-0.1, 0.1, size=n_runs)
    rows = []
    for run, x0 in enumerate(starts):
        a, b = forward_frames(x0, r, n_steps), forward_frames(x0 + delta, r, n_steps)
        input_distance = np.linalg.norm((a - b).reshape(n_steps, -1), axis=1)
        for name, encoder in encoders.items():
            latent_distance = np.linalg.norm(_encode(encoder, a) - _encode(encoder, b), axis=1)
            rows += [
                {
                    "encoder": name,
                    "run": run,
                    "x0": x0,
                    "step": t,
                    "input_distance": input_distance[t],
                    "latent_distance": latent_distance[t],
                }
                for t in range(n_steps)
            ]
    return pd.DataFrame(rows)


def run_separations(draft: pd.DataFrame, delta: float, r: float, n_steps: int = 2000) -> np.ndarray:
    """(runs, n_steps): the raw orbit separation behind the draft protocol's frames, one row per run's start x0."""
    starts = draft.drop_duplicates("run").x0.to_numpy()
    return np.stack([orbit_separation(x0, delta, r, n_steps) for x0 in starts])


def attractor_size(r: float) -> float:
    """Mean distance of two independent points of the attractor: the separation of two unrelated orbits
    (two orbits from 0.3 and 0.7, 20000 iterates, the first 1000 left out)."""
    reference = logistic_orbit(np.array([0.3, 0.7]), r, 20000)[:, 1000:]
    return float(np.mean(np.abs(reference[0] - reference[1])))


def iterates_until(separations: np.ndarray, size: float, fraction: float = 0.1) -> list[int]:
    """Per run: the first iterate (counted from 1) at which the separation reaches ``fraction`` of ``size``."""
    return [int(np.argmax(s >= fraction * size)) + 1 for s in separations]


def decorrelation_table(lyapunov: float, delta: float, reached: list[int]) -> pd.DataFrame:
    """One row: the Lyapunov exponent, the iterates ln(1/delta)/lambda it predicts until the orbits are unrelated,
    the iterates they took to reach 10 % of the attractor's size (``reached``, from ``iterates_until`` with its
    default fraction; mean over runs) and the iterates in one frame."""
    return pd.DataFrame(
        {
            "lambda (per iterate)": [lyapunov],
            "predicted ln(1/delta)/lambda": [decorrelation_iterates(lyapunov, delta)],
            "iterates until 10% of attractor size (mean over runs)": [np.mean(reached)],
            "iterates in one frame": [PIXELS],
        }
    )


def draft_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per encoder: mean ± sd of all distances, and the ratio d[last] / d[0] averaged over runs."""
    last = table.step.max()
    rows = []
    for name, group in table.groupby("encoder", sort=False):
        by_run = group.pivot(index="run", columns="step", values="latent_distance")
        ratios = by_run[last] / by_run[0]
        rows.append(
            {
                "encoder": name,
                "distance_mean": group.latent_distance.mean(),
                "distance_sd": group.latent_distance.std(ddof=1),
                "ratio_mean": ratios.mean(),
                "ratio_sd": ratios.std(ddof=1),
                "input_distance_mean": group.input_distance.mean(),
                "n_runs": len(by_run),
            }
        )
    return pd.DataFrame(rows)


def window_protocol(
    encoders: dict, r: float = 3.99, deltas=(1e-12, 1e-9, 1e-6, 1e-3), n_steps: int = 40, n_runs: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Nudge at the end of a window, then slide: rows (encoder, run, delta, t, input_distance, latent_distance)."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        start = logistic_orbit(rng.uniform(0.1, 0.9, size=1), r, 1000)[0, -1]  # a point on the attractor
        reference = logistic_orbit(np.array([start]), r, PIXELS + n_steps)[0]
        frames_a = np.lib.stride_tricks.sliding_window_view(reference, PIXELS)[: n_steps + 1]
        nudge_at = PIXELS - 1
        for delta in deltas:
            copy = reference.copy()
            copy[nudge_at] += delta
            copy[nudge_at + 1 :] = logistic_orbit(copy[nudge_at : nudge_at + 1], r, n_steps)[0]
            frames_b = np.lib.stride_tricks.sliding_window_view(copy, PIXELS)[: n_steps + 1]
            a = frames_a.reshape(-1, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)
            b = frames_b.reshape(-1, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)
            # distances as the encoder sees them: between the float32 images
            input_distance = np.linalg.norm((a.astype(np.float64) - b).reshape(len(a), -1), axis=1)
            for name, encoder in encoders.items():
                latent_distance = np.linalg.norm(_encode(encoder, a) - _encode(encoder, b), axis=1)
                rows += [
                    {
                        "encoder": name,
                        "run": run,
                        "delta": delta,
                        "t": t,
                        "input_distance": input_distance[t],
                        "latent_distance": latent_distance[t],
                    }
                    for t in range(len(a))
                ]
    return pd.DataFrame(rows)


def growth_rate(t: np.ndarray, distance: np.ndarray, low: float, high: float) -> float:
    """Slope of ln(distance) against t over the points with low < distance < high (nan if fewer than 3)."""
    keep = (distance > low) & (distance < high)
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(t[keep], np.log(distance[keep]), 1)[0])


def growth_rates(table: pd.DataFrame, low: float = 1e-5, high: float = 1e-2) -> pd.DataFrame:
    """Per encoder: exponential growth rate of the input and of the latent distance in the window protocol.

    Each (run, delta) curve is fitted on its own, over the t where the input distance lies in
    (low, high): above float32 resolution and below saturation. Rates are the median over curves.
    """
    rows = []
    for name, g in table.groupby("encoder", sort=False):
        per_curve = []
        for _, curve in g.groupby(["run", "delta"]):
            band = (curve.input_distance > low) & (curve.input_distance < high)
            t = curve.t.to_numpy()[band]
            per_curve.append(
                (
                    growth_rate(t, curve.input_distance.to_numpy()[band], 0, np.inf),
                    growth_rate(t, curve.latent_distance.to_numpy()[band], 0, np.inf),
                )
            )
        rates = np.array(per_curve, dtype=float)
        rows.append(
            {
                "encoder": name,
                "input growth rate": float(np.nanmedian(rates[:, 0])),
                "latent growth rate": float(np.nanmedian(rates[:, 1])),
                "curves fitted": int(np.sum(np.isfinite(rates[:, 1]))),
            }
        )
    return pd.DataFrame(rows).set_index("encoder")


def rates_against_lyapunov(table: pd.DataFrame, lyapunov: float) -> pd.DataFrame:
    """``growth_rates`` of the window protocol, with the Lyapunov exponent and the latent rate over the input's."""
    rates = growth_rates(table)
    rates["lambda"] = lyapunov
    rates["latent / input rate"] = rates["latent growth rate"] / rates["input growth rate"]
    return rates


def latent_follows_input(rates: pd.DataFrame, within: float = 0.2) -> pd.Series:
    """Per encoder: True where its latent growth rate is within ``within`` (relative) of the input's."""
    return (rates["latent / input rate"] - 1).abs() < within


def claim_ids(registry: pd.DataFrame) -> list[str]:
    """The registry's Section 6.3 claims this chapter measures: all but the Lyapunov exponent (chapter 00's)."""
    return [i for i in registry.id if i.startswith("s6.3-") and i != "s6.3-lyapunov"]


def measured_rows(
    per_fit: pd.DataFrame, summary: pd.DataFrame, rates: pd.DataFrame, n_runs: int, dense: str, v4: str = V4
) -> pd.DataFrame:
    """The chapter's measurements in the registry's long (model, quantity, mean, sd, n) form.

    Variance and dead fraction of each encoder (``per_fit``); from the draft protocol (``draft_summary``), each
    encoder's mean latent distance and distance ratio and V4's mean distance over the dense encoder's
    (``<v4>/<dense>``); from the window protocol (``rates``), each encoder's latent growth rate over the input's,
    with the number of curves fitted as n.
    """
    s = summary.set_index("encoder")
    draft_rows = [
        claims.rows(
            name,
            {"latent_distance_mean": s.loc[name, "distance_mean"], "distance_ratio": s.loc[name, "ratio_mean"]},
            n_runs,
        )
        for name in s.index
    ]
    separation = s.loc[v4, "distance_mean"] / s.loc[dense, "distance_mean"]
    window_rows = [
        claims.rows(
            name,
            {"latent_input_rate_ratio": rates.loc[name, "latent / input rate"]},
            int(rates.loc[name, "curves fitted"]),
        )
        for name in rates.index
    ]
    return pd.concat(
        [
            claims.summarise(per_fit, ["variance", "dead_fraction"]),
            *draft_rows,
            claims.rows(f"{v4}/{dense}", {"latent_distance_ratio": separation}, n_runs),
            *window_rows,
        ],
        ignore_index=True,
    )
