"""Checks of notebook parameters that stop a run at once with one readable line.

Every chapter calls these in the first code cell after its ``parameters`` cell, so a bad value
fails before any training starts and before any results file is touched.
"""
from __future__ import annotations

from numbers import Integral, Real


class ParameterError(ValueError):
    """A notebook parameter outside what the chapter accepts."""

    def _render_traceback_(self):
        # IPython (and so Jupyter and papermill) shows exactly this instead of a traceback.
        return [f"ParameterError: {self}"]


def _fail(name, value, allowed):
    raise ParameterError(f"{name} = {value!r} is not allowed: {allowed}")


def integer(name: str, value, low: int = 1, high: int | None = None) -> int:
    """An int in [low, high] (bools are refused)."""
    allowed = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        _fail(name, value, allowed)
    if value < low or (high is not None and value > high):
        _fail(name, value, allowed)
    return int(value)


def real(name: str, value, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
    """A number in the interval from low to high (open or closed at each end)."""
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    allowed = f"a number in {interval}"
    if isinstance(value, bool) or not isinstance(value, Real):
        _fail(name, value, allowed)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        _fail(name, value, allowed)
    return float(value)


def choice(name: str, value, options) -> str:
    """One of a fixed set of names."""
    if value not in options:
        _fail(name, value, "one of " + ", ".join(repr(o) for o in options))
    return value


def integers(name: str, values, low: int = 0, high: int | None = None, min_len: int = 1) -> list[int]:
    """A non-empty list of ints, each in [low, high]."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        _fail(name, values, f"a list of at least {min_len} integers")
    values = list(values)
    if len(values) < min_len:
        _fail(name, values, f"a list of at least {min_len} integers")
    for i, v in enumerate(values):
        integer(f"{name}[{i}]", v, low, high)
    return [int(v) for v in values]


def text(name: str, value) -> str:
    """A non-empty string (a path or a label)."""
    if not isinstance(value, str) or not value.strip():
        _fail(name, value, "a non-empty string")
    return value


def choices(name: str, values, options) -> list[str]:
    """A non-empty list of names, each one of a fixed set."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or not list(values):
        _fail(name, values, "a non-empty list drawn from " + ", ".join(repr(o) for o in options))
    for i, v in enumerate(values):
        choice(f"{name}[{i}]", v, options)
    return list(values)


def reals(name: str, values, low: float, high: float, low_open: bool = False) -> list[float]:
    """A non-empty list of numbers, each in the interval from low to high."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or not list(values):
        _fail(name, values, "a non-empty list of numbers")
    return [real(f"{name}[{i}]", v, low, high, low_open=low_open) for i, v in enumerate(values)]
