"""Small statistics shared by runners and reports (pure Python, no numpy)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in [0, 1]); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def percentile_or_none(values: Sequence[float], q: float) -> float | None:
    """:func:`percentile`, or None when there is nothing to summarise."""
    return percentile(values, q) if values else None


def format_interval(interval: tuple[float, float] | None, *, signed: bool = False) -> str:
    """``[0.718, 0.775]`` (``[-0.764, -0.715]`` with ``signed``): brackets and a comma, so a
    negative bound never reads as a range (``-0.764--0.715``). ``-`` when undefined."""
    if interval is None or any(math.isnan(x) for x in interval):
        return "-"
    fmt = "+.3f" if signed else ".3f"
    return f"[{interval[0]:{fmt}}, {interval[1]:{fmt}}]"


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sound near 0 and 1, unlike the normal
    approximation); (nan, nan) for no trials."""
    if trials <= 0:
        return float("nan"), float("nan")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def json_number(value: float | None) -> float | None:
    """JSON has no NaN: an undefined figure becomes null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def json_interval(interval: tuple[float, float] | None) -> list[float | None] | None:
    """An interval for JSON: ``[low, high]`` with undefined bounds as null."""
    return None if interval is None else [json_number(interval[0]), json_number(interval[1])]


def keyed_uniform(*key: object) -> float:
    """A uniform draw in [0, 1) that depends only on ``key`` (stable across runs, processes and
    machines: ``random`` hashes a string seed with SHA-512)."""
    return random.Random(":".join(map(str, key))).random()
