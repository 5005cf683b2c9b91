"""The learning curve and effort forecast of a suite, for the terminal and the HTML page:
the measured points (corrections, distilled F), the fitted curves' 80% band and median, the
target (the LLM's F) and the forecast line (:class:`harness.core.forecast.LearningCurve`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from ..core.forecast import LearningCurve


BAR_WIDTH = 36
TERMINAL_BAND_ROWS = 6  # fitted points shown past the last measured one
PLOT = {"width": 420.0, "height": 170.0, "left": 48.0, "top": 12.0}


def _f_range(curve: LearningCurve) -> tuple[float, float]:
    band = curve.forecast.band if curve.forecast else ()
    values = [f for _, f in curve.points] + [b[1] for b in band] + [b[3] for b in band] + ([curve.target] if curve.target is not None else [])
    low, high = math.floor(min(values) * 20) / 20, math.ceil(max(values) * 20) / 20
    return low, max(high, low + 0.05)


def _bar(low: float, high: float, span: tuple[float, float], mark: float | None, target: float | None) -> Text:
    """One row of the terminal chart: the band as a line, the median as a dot, the target as a bar."""

    def at(value: float) -> int:
        return max(0, min(BAR_WIDTH - 1, round((value - span[0]) / (span[1] - span[0]) * (BAR_WIDTH - 1))))

    cells = [" "] * BAR_WIDTH
    for i in range(at(low), at(high) + 1):
        cells[i] = "─"
    if target is not None:
        cells[at(target)] = "┆"
    if mark is not None:
        cells[at(mark)] = "●"
    return Text("".join(cells), style="cyan")


def render_learning(console: Console, curve: LearningCurve) -> None:
    """The curve as a table with a bar per row: measured points, then the fitted band ahead."""
    console.print(Text("effort forecast: ", style="bold") + Text(curve.text()))
    span = _f_range(curve)
    table = Table(title=f"learning curve ({curve.suite}): distilled F by corrections; ┆ = target {curve.target or 0:.3f}", title_justify="left")
    for column in ("corrections", "measured F", "fitted F [80% band]", f"{span[0]:.2f} … {span[1]:.2f}"):
        table.add_column(column, justify="right" if column in ("corrections", "measured F") else "left", no_wrap=True)
    band = curve.forecast.band if curve.forecast else ()
    last = curve.points[-1][0] if curve.points else 0
    ahead = [b for b in band if b[0] > last]
    step = max(1, len(ahead) // TERMINAL_BAND_ROWS)
    for corrections, f in curve.points:
        table.add_row(f"{corrections:,}", f"{f:.3f}", "", _bar(f, f, span, f, curve.target))
    for at, low, mid, high in ahead[::step]:
        table.add_row(f"{at:,.0f}", "", f"{mid:.3f} [{low:.3f}, {high:.3f}]", _bar(low, high, span, mid, curve.target))
    console.print(table)


def learning_svg(curve: LearningCurve | None) -> dict[str, Any] | None:
    """What the page draws: the band polygon, the median polyline, the measured points, the
    target line and the axes, in a fixed box (None: no points)."""
    if curve is None or not curve.points:
        return None
    band = curve.forecast.band if curve.forecast else ()
    x_max = max([c for c, _ in curve.points] + [b[0] for b in band]) or 1.0
    low, high = _f_range(curve)
    width, height, left, top = PLOT["width"], PLOT["height"], PLOT["left"], PLOT["top"]

    def x(c: float) -> float:
        return round(left + c / x_max * width, 1)

    def y(f: float) -> float:
        return round(top + (high - f) / (high - low) * height, 1)

    upper = [f"{x(c)},{y(hi)}" for c, _, _, hi in band]
    lower = [f"{x(c)},{y(lo)}" for c, lo, _, _ in reversed(band)]
    return {
        "text": curve.text(),
        "band": " ".join(upper + lower),
        "median": " ".join(f"{x(c)},{y(mid)}" for c, _, mid, _ in band),
        "points": [{"x": x(c), "y": y(f), "label": f"{c:,} corrections: F {f:.3f}"} for c, f in curve.points],
        "target": None if curve.target is None else {"y": y(curve.target), "label": f"LLM F {curve.target:.3f}"},
        "x_ticks": [{"x": x(c), "label": f"{c:,.0f}"} for c in (0.0, x_max / 2, x_max)],
        "y_ticks": [{"y": y(f), "label": f"{f:.2f}"} for f in (low, (low + high) / 2, high)],
        "left": left,
        "right": left + width,
        "bottom": top + height,
        "width": left + width + 110,
        "height": top + height + 36,
    }
