"""Small statistics shared by runners and reports (pure Python, no numpy)."""

from __future__ import annotations

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
