"""Streams of bits for the randomness batteries: where each bit comes from and how it is read off.

A *source* gives either bits of its own (``native``: the controls) or a matrix of float32 values, rows x
units (PCG64's uniforms, logistic-map orbits cut into rows, or a trained encoder's latents of freshly made
images). An *extraction* turns values into bits:

- ``threshold``: each active value (|v| > 1e-6) against the median of its unit's active values, estimated on a
  first chunk of rows that gives no bits: 1 above, 0 otherwise;
- ``support``: the Top-K support pattern, 1 for the k units of largest |v| in a row and 0 for the rest, so
  k/L of the bits are ones by construction, for any source;
- ``mantissa``: the lowest bits of each active value's float32 pattern. Whether the last bits of a
  floating-point computation look random depends on the arithmetic that produced them (rounding often makes
  them so; NumPy's float32 uniforms, multiples of 2^-24, have zeros there below 1/2), not on chaos or on what a
  model learned: a trap, whose passes and failures are equally uninformative, shown with the controls.

Bits are read row by row (units in order within a row), chunk by chunk; every stream is an array of 0/1
``uint8`` of the requested length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from ksc.data.chaos import IMAGE_SIDE, PIXELS, logistic_starts, uniform_noise_images
from ksc.measures.metrics import THRESHOLD

NATIVE_SOURCES = ("pcg64", "biased", "logistic_399", "logistic_4", "logistic_4_float32")
VALUE_SOURCES = ("pcg64", "logistic_399", "logistic_4", "v4", "dense_relu", "v3", "v4_noise")
SOURCES = tuple(dict.fromkeys(NATIVE_SOURCES + VALUE_SOURCES))
MODEL_SOURCES = {"v4": ("v4", "logistic"), "dense_relu": ("dense_relu", "logistic"), "v3": ("v3", "logistic")}
MODEL_SOURCES["v4_noise"] = ("v4", "noise")
EXTRACTIONS = ("native", "threshold", "support", "mantissa")
DESCRIPTIONS = {
    "pcg64": "NumPy's PCG64 (positive control: random bits, uniform float32 values)",
    "biased": "a biased coin from PCG64 (negative control)",
    "logistic_399": "logistic map r = 3.99, x > 1/2 (negative control: the invariant density is not uniform)",
    "logistic_4": "logistic map r = 4 in float64, x > 1/2 (fair in exact arithmetic)",
    "logistic_4_float32": "the same map iterated in float32 (finite precision: orbits fall into short cycles)",
    "v4": "V4's latents of fresh logistic images",
    "dense_relu": "dense ReLU's latents of fresh logistic images",
    "v3": "V3's (ReLU Top-K) latents of fresh logistic images",
    "v4_noise": "V4 trained on uniform noise, latents of fresh noise images",
}
ORBIT_STEPS = 10_000  # iterates kept per logistic orbit, each from its own start
ORBIT_BURN_IN = 1_000
ROW_UNITS = 128  # orbit values and PCG64 values are cut into rows of this many 'units'
CHUNK_ROWS = 8_192
MAX_CHUNKS = 256  # a source that yields fewer bits than asked for in this many chunks gives a shorter stream


def streams_of(sources, extractions) -> list[tuple[str, str]]:
    """Every (source, extraction) pair that is defined: native bits for the controls, value extractions for
    the sources that give values."""
    pairs = []
    for source in sources:
        for extraction in extractions:
            if (extraction == "native" and source in NATIVE_SOURCES) or (
                extraction != "native" and source in VALUE_SOURCES
            ):
                pairs.append((source, extraction))
    return pairs


def logistic_orbits(r: float, n_orbits: int, steps: int, seed, dtype=np.float64) -> np.ndarray:
    """(n_orbits, steps) iterates after a burn-in, each orbit from x0 ~ U(0, 1), computed in ``dtype``."""
    x = np.random.default_rng(seed).uniform(0.0, 1.0, n_orbits).astype(dtype)
    r, one = dtype(r), dtype(1.0)
    out = np.empty((n_orbits, steps), dtype=dtype)
    for t in range(ORBIT_BURN_IN + steps):
        x = r * x * (one - x)
        if t >= ORBIT_BURN_IN:
            out[:, t - ORBIT_BURN_IN] = x
    return out


def _orbit_spec(source: str) -> tuple[float, type]:
    return {"logistic_399": (3.99, np.float64), "logistic_4": (4.0, np.float64)}.get(source, (4.0, np.float32))


def native_bits(source: str, n_bits: int, seed, biased_p: float = 0.51) -> np.ndarray:
    """A control's own bits."""
    rng = np.random.default_rng([*np.atleast_1d(seed), 1])
    if source == "pcg64":
        return np.unpackbits(np.frombuffer(rng.bytes(-(-n_bits // 8)), np.uint8))[:n_bits]
    if source == "biased":
        return (rng.random(n_bits) < biased_p).astype(np.uint8)
    r, dtype = _orbit_spec(source)
    orbits = logistic_orbits(r, -(-n_bits // ORBIT_STEPS), ORBIT_STEPS, [*np.atleast_1d(seed), 2], dtype)
    return (orbits.reshape(-1)[:n_bits] > 0.5).astype(np.uint8)


def logistic_images(n: int, r: float = 3.99, seed=0) -> np.ndarray:
    """:func:`ksc.data.chaos.logistic_images`, the same numbers (``tests/unit/test_randomness.py``), faster: the
    iterates are stored time-major, one contiguous row per step, and transposed once at the end."""
    x = logistic_starts(n, seed)
    out = np.empty((PIXELS, n), dtype=np.float64)
    for t in range(PIXELS):
        x = r * x * (1.0 - x)
        out[t] = x
    return out.T.reshape(n, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)


def value_chunks(source: str, seed, encoders: dict | None = None, r: float = 3.99) -> Iterator[np.ndarray]:
    """Chunks of float32 values (rows x units) of a value source, at most :data:`MAX_CHUNKS`; ``encoders`` maps
    a model source to its trained encoder (image -> latent); ``r`` is the logistic images' parameter."""
    for chunk in range(MAX_CHUNKS):
        chunk_seed = [*np.atleast_1d(seed), 3, chunk]
        if source == "pcg64":
            yield np.random.default_rng(chunk_seed).random((CHUNK_ROWS, ROW_UNITS), dtype=np.float32)
        elif source in ("logistic_399", "logistic_4"):
            r, dtype = _orbit_spec(source)
            orbits = logistic_orbits(r, CHUNK_ROWS * ROW_UNITS // ORBIT_STEPS + 1, ORBIT_STEPS, chunk_seed, dtype)
            yield orbits.reshape(-1)[: CHUNK_ROWS * ROW_UNITS].reshape(CHUNK_ROWS, ROW_UNITS).astype(np.float32)
        else:
            model, data = MODEL_SOURCES[source]
            if data == "logistic":
                images = logistic_images(CHUNK_ROWS, r, chunk_seed)
            else:
                images = uniform_noise_images(CHUNK_ROWS, chunk_seed)
            yield np.asarray(encoders[source](images), dtype=np.float32)


def unit_medians(values: np.ndarray) -> np.ndarray:
    """The median of each unit's active values (inf where a unit has fewer than two, so it gives no bits)."""
    active = np.abs(values) > THRESHOLD
    enough = active.sum(axis=0) >= 2
    median = np.full(values.shape[1], np.inf, dtype=np.float32)
    median[enough] = np.nanmedian(np.where(active, values, np.nan)[:, enough], axis=0)
    return median


def threshold_bits(values: np.ndarray, median: np.ndarray) -> np.ndarray:
    """Active values against their unit's median (estimated on other rows: on the same rows every unit would be
    exactly half ones, more balanced than a random source); units with an infinite median give none."""
    keep = (np.abs(values) > THRESHOLD) & np.isfinite(median)[None, :]
    return (values > median[None, :])[keep].astype(np.uint8)


def support_bits(values: np.ndarray, k: int) -> np.ndarray:
    """The Top-K support pattern: per row, 1 at the k units of largest |v|."""
    top = np.argpartition(-np.abs(values), k - 1, axis=1)[:, :k]
    mask = np.zeros(values.shape, dtype=np.uint8)
    np.put_along_axis(mask, top, 1, axis=1)
    return mask.reshape(-1)


def mantissa_bits(values: np.ndarray, n_low: int) -> np.ndarray:
    """The ``n_low`` lowest bits of every active value's float32 pattern, highest of them first."""
    words = values[np.abs(values) > THRESHOLD].astype(np.float32).view(np.uint32)
    shifts = np.arange(n_low - 1, -1, -1, dtype=np.uint32)
    return ((words[:, None] >> shifts[None, :]) & 1).astype(np.uint8).reshape(-1)


def extractor(extraction: str, k: int, mantissa_low: int, median=None) -> Callable[[np.ndarray], np.ndarray]:
    return {
        "threshold": lambda v: threshold_bits(v, median),
        "support": lambda v: support_bits(v, k),
        "mantissa": lambda v: mantissa_bits(v, mantissa_low),
    }[extraction]


def value_bits(
    source: str, extractions, n_bits: int, seed, k: int, mantissa_low: int, encoders=None, r: float = 3.99
) -> dict:
    """extraction -> up to n_bits bits, all read from one run of the source's chunks (the same values feed every
    extraction); shorter where the source runs out of chunks, empty where it has no active values."""
    parts = {e: [np.zeros(0, np.uint8)] for e in extractions}
    have = dict.fromkeys(extractions, 0)
    median = None
    for chunk, values in enumerate(value_chunks(source, seed, encoders, r)):
        if chunk == 0:  # the threshold's medians come from the first chunk, which gives it no bits
            median = unit_medians(values)
        # an extraction that found no active value in the first chunks will find none
        wanted = [e for e in extractions if have[e] < n_bits and not (chunk >= 4 and have[e] == 0)]
        if not wanted:
            break
        for e in wanted:
            if e == "threshold" and chunk == 0:
                continue
            bits = extractor(e, k, mantissa_low, median)(values)
            parts[e].append(bits)
            have[e] += len(bits)
    return {e: np.concatenate(parts[e])[:n_bits] for e in extractions}


def orbit_periods(source: str, n_orbits: int = 100, seed=0) -> np.ndarray:
    """The period each orbit of a logistic source has settled into by its last iterate (0: no repeat within
    :data:`ORBIT_STEPS`), found as the distance back to the last iterate's previous occurrence."""
    r, dtype = _orbit_spec(source)
    orbits = logistic_orbits(r, n_orbits, ORBIT_STEPS, [*np.atleast_1d(seed), 2], dtype)
    periods = np.zeros(n_orbits, dtype=np.int64)
    for i, orbit in enumerate(orbits):
        earlier = np.flatnonzero(orbit[:-1] == orbit[-1])
        periods[i] = len(orbit) - 1 - earlier[-1] if len(earlier) else 0
    return periods
