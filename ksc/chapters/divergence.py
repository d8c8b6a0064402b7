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

Null encoders (``null_encoders``) go through the same window protocol (same runs, nudges and steps): the 784 pixels
themselves (``identity``), a fixed random Gaussian projection 784 -> latent_dim scaled by 1/sqrt(784)
(``random projection``, seeded with the training seed), V4 at its initial weights for the training seed
(``untrained v4``) and V4's architecture with tanh in place of the chaos activation under the same Top-K and penalty,
trained like V4 (``tanh + top-k``, ``ksc.chapters.ablations.variants``). Any smooth map passes a small difference on
linearly, so a latent rate near the input's is what these give too; the table ``null_encoders`` says whether V4's
does more.

Top-K switching. For an encoder with Top-K, the kept set S(z) of a code z is its non-zero entries. On one curve
(run, delta) with reference frames a_t and nudged frames b_t, t = 0..n_steps, the support difference is
D_t = S(z(a_t)) symmetric-difference S(z(b_t)): the units kept in one of the two codes and not in the other. A
*support change* (a switch) happens at step t >= 1 when D_t != D_{t-1}: a unit enters or leaves the difference, in
either direction (the two kept sets part, part further, or meet again). Each such unit adds or removes a kept value
of the size of the Top-K threshold, not of the input difference, so the latent distance jumps there. The steps of
a curve fall into *segments*, maximal runs of consecutive t with the same D_t; the segment of t is the number of
switches at steps 1..t. ``between_switch_rate`` fits ln(latent distance) against t with one intercept per segment
(the within-segment slopes pooled by least squares), on the same points as the plain fit (``growth_rates``: input
distance in the band, latent distance > 0). Encoders without Top-K have no switches (one segment), and their
between-switch rate is the plain rate. ``support_changes_per_step`` counts the switches a plain fit would see: per
curve, the switches at steps t whose input distances at t - 1 and at t both lie in the band, over the number of
such steps; then the mean over curves that have such steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.ablations.variants import Variant, VariantMembers
from ksc.chapters.training_controls.diagnostics import untrained
from ksc.data.chaos import IMAGE_SIDE, PIXELS, decorrelation_iterates, logistic_orbit
from ksc.evidence import claims
from ksc.models.training import Fit, train_many
from ksc.runtime.backend import keras

V4 = "v4"  # the label of the V4 encoder; the dense one's is ``dense_label(small_latent)``
IDENTITY, PROJECTION, UNTRAINED, TANH = "identity", "random projection", "untrained v4", "tanh + top-k"
MODEL, NULL = "model", "null"  # the roles of the table ``null_encoders``
TOPK = frozenset({V4, UNTRAINED, TANH})  # the encoders that end in Top-K (dense ReLU and the linear nulls do not)
TRANSMITS = 0.5  # the pre-registered rule: an encoder transmits divergence if its between-switch rate ratio >= this
BAND = (1e-5, 1e-2)  # the input distances the growth rates are fitted over: above float32 resolution, below saturation
NULL_COLUMNS = [
    "encoder",
    "role",
    "rate_ratio",
    "rate_ratio_between_switches",
    "support_changes_per_step",
    "transmits",
]

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


def identity_encoder(frames, training=False) -> np.ndarray:
    """The null "encoder" whose code is the image itself: the 784 pixels (float64 of the float32 frames)."""
    return np.asarray(frames, np.float64).reshape(len(frames), -1)


def random_projection(latent_dim: int, seed: int):
    """The null encoder x -> x P with P a fixed (784, latent_dim) standard Gaussian matrix drawn from ``seed`` and
    scaled by 1/sqrt(784): each latent coordinate of a difference d has mean square |d|^2 / 784, so the code's length
    is about sqrt(latent_dim / 784) of the image's (a scale the growth rates do not see)."""
    projection = np.random.default_rng(seed).standard_normal((PIXELS, latent_dim)) / np.sqrt(PIXELS)

    def encode(frames, training=False) -> np.ndarray:
        return identity_encoder(frames) @ projection

    return encode


class _KeepMembers(keras.callbacks.Callback):
    """Keeps the member model a ``train_many`` call trains, so that its members can be read after training."""

    members = None

    def on_train_end(self, logs=None):
        self.members = self.model


def _member_encoder(members, member: int = 0):
    """Member ``member``'s latent code (after Top-K) of (B, 28, 28) frames, read through the members' forward pass
    (a variant's activation lives in no Keras model). It reads the weights the members hold when it is called."""

    def encode(frames, training=False):
        return members.forward(np.asarray(frames, np.float32))[1][member]

    return encode


def null_encoders(
    data, seed: int, latent_dim: int, k: int, epochs: int, batch_size: int, learning_rate: float
) -> tuple[dict, dict[str, Fit]]:
    """The null encoders of the window protocol, keyed by their labels (``IDENTITY``, ``PROJECTION``, ``UNTRAINED``,
    ``TANH``), and the fit of the one that is trained (``TANH``: V4's architecture, Top-K and draft penalty with tanh
    in place of the chaos activation, as chapter 11 builds it, trained on ``data`` with ``seed`` like V4).

    ``UNTRAINED`` is V4 (``latent_dim``, ``k``) at the initial weights its training starts from for ``seed``.
    """
    keep = _KeepMembers()
    variant = Variant(TANH, "activation", activation="tanh", k=k, latent_dim=latent_dim)
    tanh_fit = train_many(
        "v4",
        data,
        seeds=[seed],
        labels=TANH,
        ks=[variant.kept],
        latent_dim=latent_dim,
        variance_penalty="none",  # the variant's own penalty (the draft's form) is added by its members
        member_type=VariantMembers,
        member_options={"variants": (variant,)},
        callbacks=[keep],
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
    )[0]
    _, initial = untrained("v4", data, seed, label=UNTRAINED, latent_dim=latent_dim, k=k)
    encoders = {
        IDENTITY: identity_encoder,
        PROJECTION: random_projection(latent_dim, seed),
        UNTRAINED: initial.encoder,
        TANH: _member_encoder(keep.members),
    }
    return encoders, {TANH: tanh_fit}


def roles(small_latent: int) -> dict[str, str]:
    """Every encoder of the window protocol in the order of the table ``null_encoders``, with its role."""
    return {V4: MODEL, dense_label(small_latent): MODEL, IDENTITY: NULL, PROJECTION: NULL, UNTRAINED: NULL, TANH: NULL}


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


def support_changes(codes_a: np.ndarray, codes_b: np.ndarray) -> np.ndarray:
    """(T,) bool: whether the support difference of two sequences of Top-K codes ((T, units) each, frames a_t and
    b_t) changes at step t: D_t != D_{t-1} with D_t the units kept (non-zero) in one code of step t and not in the
    other. Step 0 has no earlier step and is False (see the module docstring)."""
    difference = (np.asarray(codes_a) != 0) != (np.asarray(codes_b) != 0)
    changed = np.any(difference[1:] != difference[:-1], axis=1)
    return np.r_[False, changed]


def window_protocol(
    encoders: dict,
    r: float = 3.99,
    deltas=(1e-12, 1e-9, 1e-6, 1e-3),
    n_steps: int = 40,
    n_runs: int = 5,
    seed: int = 0,
    topk=(),
) -> pd.DataFrame:
    """Nudge at the end of a window, then slide: rows (encoder, run, delta, t, input_distance, latent_distance,
    support_changed); ``support_changed`` (``support_changes``) for the encoders named in ``topk``, False for the
    others."""
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
                code_a, code_b = _encode(encoder, a), _encode(encoder, b)
                latent_distance = np.linalg.norm(code_a - code_b, axis=1)
                changed = support_changes(code_a, code_b) if name in topk else np.zeros(len(a), bool)
                rows += [
                    {
                        "encoder": name,
                        "run": run,
                        "delta": delta,
                        "t": t,
                        "input_distance": input_distance[t],
                        "latent_distance": latent_distance[t],
                        "support_changed": bool(changed[t]),
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


def growth_rates(table: pd.DataFrame, low: float = BAND[0], high: float = BAND[1]) -> pd.DataFrame:
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


def between_switch_rate(t: np.ndarray, distance: np.ndarray, changed: np.ndarray, keep: np.ndarray) -> float:
    """Slope of ln(distance) against t with one intercept per segment between support changes, pooled by least
    squares over the points where ``keep`` and distance > 0; segments with one such point are left out; nan if
    fewer than 3 points remain.

    ``changed`` (bool, one per step of the whole curve, in order of t) marks the support changes; a point's segment
    is the number of changes up to and including its step, counted over the whole curve (not only the kept points).
    """
    t, distance = np.asarray(t, float), np.asarray(distance, float)
    segment = np.cumsum(np.asarray(changed, bool))
    keep = np.asarray(keep, bool) & (distance > 0)
    t, y, segment = t[keep], np.log(distance[keep]), segment[keep]
    labels, counts = np.unique(segment, return_counts=True)
    shared = np.isin(segment, labels[counts >= 2])
    if shared.sum() < 3:
        return float("nan")
    t, y, segment = t[shared], y[shared], segment[shared]
    frame = pd.DataFrame({"t": t, "y": y, "segment": segment})
    centred = frame[["t", "y"]] - frame.groupby("segment")[["t", "y"]].transform("mean")
    spread = float(np.sum(centred.t**2))
    return float(np.sum(centred.t * centred.y) / spread) if spread > 0 else float("nan")


def switch_fraction(changed: np.ndarray, in_band: np.ndarray) -> float:
    """The support changes a plain fit would see on one curve: the changes at steps t whose points t - 1 and t both
    lie in the band, over the number of such steps (nan if none). Both arrays: one entry per step, in order of t."""
    changed, in_band = np.asarray(changed, bool), np.asarray(in_band, bool)
    steps = in_band[1:] & in_band[:-1]
    return float(np.sum(changed[1:] & steps) / steps.sum()) if steps.any() else float("nan")


def null_encoder_table(
    table: pd.DataFrame, roles: dict[str, str], low: float = BAND[0], high: float = BAND[1]
) -> pd.DataFrame:
    """The table ``null_encoders``: one row per encoder of ``roles`` (label -> ``MODEL`` or ``NULL``), in its order.

    ``rate_ratio`` is the latent over the input growth rate as ``growth_rates`` gives them (medians over curves);
    ``rate_ratio_between_switches`` the median over curves of ``between_switch_rate`` over the same input rate;
    ``support_changes_per_step`` the mean over curves of ``switch_fraction`` (0 for an encoder without Top-K, whose
    ``support_changed`` is never set; nan where no curve has two neighbouring points in the band);
    ``transmits``: ``rate_ratio_between_switches`` >= ``TRANSMITS`` (False where that ratio is nan).
    """
    plain = growth_rates(table, low, high)
    rows = []
    for name, role in roles.items():
        curves = table[table.encoder == name].sort_values(["run", "delta", "t"]).groupby(["run", "delta"])
        between, fractions = [], []
        for _, curve in curves:
            in_band = ((curve.input_distance > low) & (curve.input_distance < high)).to_numpy()
            changed = curve.support_changed.to_numpy()
            between.append(between_switch_rate(curve.t, curve.latent_distance, changed, in_band))
            fractions.append(switch_fraction(changed, in_band))
        input_rate = plain.loc[name, "input growth rate"]
        ratio_between = float(np.nanmedian(between) / input_rate) if np.isfinite(between).any() else float("nan")
        rows.append(
            {
                "encoder": name,
                "role": role,
                "rate_ratio": float(plain.loc[name, "latent growth rate"] / input_rate),
                "rate_ratio_between_switches": ratio_between,
                "support_changes_per_step": float(np.nanmean(fractions)) if np.isfinite(fractions).any() else np.nan,
                "transmits": bool(ratio_between >= TRANSMITS),
            }
        )
    return pd.DataFrame(rows, columns=NULL_COLUMNS)


def pre_registered_reading(nulls: pd.DataFrame, v4: str = V4) -> dict:
    """The pre-registered rule on the table ``null_encoders``: V4 transmits divergence if its
    ``rate_ratio_between_switches`` >= ``TRANSMITS``; the verdict is informative only if at least one null encoder's is
    below it. Returns v4_ratio, v4_transmits, nulls_below (labels), informative."""
    by_name = nulls.set_index("encoder")
    ratio = float(by_name.loc[v4, "rate_ratio_between_switches"])
    null_rows = nulls[nulls.role == NULL]
    below = null_rows.encoder[null_rows.rate_ratio_between_switches < TRANSMITS].tolist()
    return {
        "v4_ratio": ratio,
        "v4_transmits": bool(ratio >= TRANSMITS),
        "nulls_below": below,
        "informative": bool(below),
    }


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
    with the number of curves fitted as n. Only the two models (``dense`` and ``v4``) are read: the null encoders
    of ``per_fit`` and ``rates`` measure no claim.
    """
    models = [dense, v4]
    per_fit = per_fit[per_fit.model.isin(models)]
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
        if name in models
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
