"""How figures print, for every report: one number formatter and the trend sparkline."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

from rich.text import Text

from ..core.text import printable

Justify = Literal["left", "right"]  # rich's column justifications, as the terminal tables use them

SPARK = "▁▂▃▄▅▆▇█"
MISSING = "–"  # an undefined or unmeasured figure


def number(value: Any, fmt: str = ".3f", missing: str = MISSING) -> str:
    """``value`` in ``fmt``; ``missing`` for None or NaN (a figure that was not measured)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, fmt)


def sparkline(values: Iterable[float | None]) -> str:
    """``▁▃█``-style trend of ``values`` (a gap for a missing one). Changes under 0.1% of
    the values are drawn flat: a model 150 bytes smaller is not a trend."""
    values = list(values)
    present = [v for v in values if v is not None and v == v]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = high - low
    if span <= 1e-3 * max(abs(low), abs(high)):
        span = 0.0
    out = []
    for v in values:
        if v is None or v != v:
            out.append(" ")
        else:
            out.append(SPARK[0 if span == 0 else min(len(SPARK) - 1, int((v - low) / span * (len(SPARK) - 1) + 0.5))])
    return "".join(out)


def plain(text: object) -> Text:
    """User text as a rich Text: no markup is interpreted and control characters are shown escaped."""
    return Text(printable(str(text)))


def ascii_number(value: float | None, fmt: str) -> str:
    """:func:`number` for the terminal's tables, which use ASCII for a missing figure."""
    return number(value, fmt, missing="-")
