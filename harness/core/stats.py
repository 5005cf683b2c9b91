"""Small statistics shared by runners and reports (pure Python, no numpy)."""

from __future__ import annotations

import math
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
