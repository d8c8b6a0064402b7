"""How much memory a chapter's arrays need, estimated from its parameters, and which size to lower when it is too much.

The estimate is an upper-bound sketch, not an accounting: every image is counted as float64 twice
(generated, then copied to float32 and into the trainer), every weight four times (the weight, its
gradient and Adam's two moments), every model's test outputs twice. A chapter whose estimate exceeds
half of this machine's physical memory (the rest is left to TensorFlow, the kernel and the system) is
refused before anything is computed, with one line naming the size that contributes most and the
largest value of it that fits with the other parameters as set.
"""

from __future__ import annotations

import os

PIXELS = 28 * 28
FLOAT64, FLOAT32 = 8, 4
# the sizes the estimate depends on: a ParameterError names one of these
SIZES = (
    "n_train",
    "n_val",
    "n_test",
    "n_identical",
    "n_seeds",
    "latent_dim",
    "small_latent",
    "image_latents",
    "wide_latents",
    "synthetic_latents",
    "dim",
    "n_features",
    "synthetic_train",
    "synthetic_test",
    "count_samples",
    "network_train",
    "network_latents",
    "overcomplete_latents",
    "n_frames",
    "n_runs",
    "members",
    "n_sequences",
    "sequence_bits",
)


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small laptop
        return 8 * 2**30


def budget() -> int:
    """What a chapter's arrays may take: half of the physical memory."""
    return physical_memory() // 2


def _count(values: dict, name: str, default: int = 0) -> int:
    value = values.get(name, default)
    return max(value) if isinstance(value, (list, tuple)) else value


def estimate(values: dict) -> int:
    """Bytes the chapter's largest arrays need, for the parameters in ``values`` (missing sizes count as 0)."""
    get = lambda name, default=0: _count(values, name, default)
    n_seeds = max(get("n_seeds", 1), get("members", 1))
    data_sets = max(len(values.get("datasets") or ()), len(values.get("systems") or ()), 4)
    if values.get("vary_data"):
        data_sets = max(data_sets, n_seeds)
    # the Performance page times V4 at its default width
    latents = max(
        get("latent_dim"),
        get("image_latents"),
        get("wide_latents"),
        get("small_latent"),
        128 if "members" in values else 0,
    )
    models = max(len(values.get("models") or ()), 1)
    images = (get("n_train") + get("n_val") + get("n_test")) * data_sets + get("n_identical")
    total = images * PIXELS * FLOAT64 * 2
    total += get("n_test") * (PIXELS + latents) * FLOAT32 * n_seeds * models * 2  # every model's test outputs
    total += 2 * PIXELS * latents * FLOAT32 * 4 * n_seeds  # encoder and decoder of the models trained together
    total += get("n_runs") * get("n_frames") * (PIXELS + latents) * FLOAT64 * 2  # divergence orbits and codes
    synthetic = get("synthetic_train") + get("synthetic_test")
    total += synthetic * get("dim") * FLOAT64 * 3  # samples, their features' codes and scaled copies
    total += get("synthetic_test") * get("synthetic_latents") * FLOAT32 * n_seeds * models
    total += get("n_features") * get("dim") * FLOAT64 * 2 + get("n_features") * synthetic // 8  # directions, masks
    total += 2 * get("dim") * get("synthetic_latents") * FLOAT32 * 4 * n_seeds
    if values.get("betas"):  # chapter 06's design: at most 8 cells with AuxK on and off, each at every beta
        members = 8 * len(values["betas"]) * max(len(values.get("ks") or ()), 1) * n_seeds
        width = max(get("synthetic_latents"), get("network_latents"))
        total += max(get("synthetic_test"), get("network_train")) * (width + get("dim")) * FLOAT32 * members
        total += get("count_samples") * get("dim") * FLOAT64 * 2
        total += get("synthetic_test") * get("overcomplete_latents") * FLOAT32 * n_seeds * 8
    if values.get("bit_sources"):  # chapter 12: up to four uint8 streams per source (one byte a bit), images
        # each stream is held once, then handed to the battery workers (measured peak at 55 sequences: under 1.5 GB)
        total += 4 * len(values["bit_sources"]) * get("n_sequences") * get("sequence_bits")
        total += 8_192 * PIXELS * FLOAT64 * 2
    return int(total)


def _with(values: dict, name: str, value: int) -> dict:
    old = values[name]
    return {**values, name: [value] * len(old) if isinstance(old, (list, tuple)) else value}


def largest_fitting(values: dict, name: str, limit: int) -> int:
    """The largest value of ``name`` (each element, for a list) whose estimate stays within ``limit`` bytes."""
    low, high = 0, max(_count(values, name), 1)
    while estimate(_with(values, name, high)) <= limit:  # grow until it does not fit (the estimate rises with size)
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if estimate(_with(values, name, middle)) <= limit else (low, middle)
    return low


def too_large(values: dict, limit: int | None = None) -> tuple[str, int, int, int] | None:
    """None if the arrays fit; else (the size contributing most, its value, the largest that fits, the estimate)."""
    limit = budget() if limit is None else limit
    need = estimate(values)
    if need <= limit:
        return None
    present = [name for name in SIZES if name in values]
    if not present:
        return None
    name = max(present, key=lambda n: need - estimate(_with(values, n, 1)))
    return name, values[name], largest_fitting(values, name, limit), need


def gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"
