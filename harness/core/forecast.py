"""How many more corrections until the distilled model reaches the LLM (pure).

The learning curve of distilled micro F against corrections is fitted as an inverse power
law with an offset, bounded (F never above 1, never falling with more data)::

    F(c) = A - B * (c + c0) ** -alpha        A <= 1, B >= 0, alpha in [0.2, 2], c0 >= 1

``c0`` is what the training data was worth before the first correction, in corrections (the
loop starts from the LLM's silver labels, not from nothing: a curve through ``c + 1`` makes
round 0 a model trained on nothing and saturates early). ``alpha`` and ``c0`` are on grids,
``A`` and ``B`` by weighted least squares for each pair (later rounds weigh more: their
figures rest on more training data), all replicates at once. The crossing of a target F is
``(B / (A - target)) ** (1 / alpha) - c0`` when the asymptote ``A`` is above the target,
else never. Uncertainty comes from bootstrap replicates that share one eval resample across
rounds (:func:`micro_f_replicates`): each replicate is fitted, and the forecast is the
median crossing with an 80% interval, or "not reachable with this data" when most
replicates' asymptotes stay below the target or cross it only beyond HORIZON times the
corrections made so far. The band of the fitted curves (10th, 50th, 90th percentile of F at
each number of corrections) is what the reports draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# Below 0.2 a power law is indistinguishable from a logarithm on a few rounds and puts the
# asymptote wherever it likes; learning curves of supervised NER/textcat sit well above it.
ALPHAS = np.linspace(0.2, 2.0, 73)
OFFSETS = 40  # c0 on a geometric grid from 1 to OFFSET_SPAN times the corrections made
OFFSET_SPAN = 4.0
#: A crossing further than this many times the corrections made so far is an extrapolation
#: the data cannot support: "not reachable with this data".
HORIZON = 20
FORECAST_CONFIDENCE = 0.8
BAND_POINTS = 24  # points of the drawn curve, from 0 to past the forecast


@dataclass(frozen=True)
class Curve:
    asymptote: float  # A
    scale: float  # B
    alpha: float
    offset: float = 1.0  # c0

    def f(self, corrections: float) -> float:
        return float(self.asymptote - self.scale * (corrections + self.offset) ** -self.alpha)

    def crossing(self, target: float) -> float:
        """Corrections at which the curve reaches ``target`` (inf: never; 0: already there)."""
        if self.asymptote <= target:
            return math.inf
        if self.scale <= 0:
            return 0.0
        return max(0.0, float((self.scale / (self.asymptote - target)) ** (1 / self.alpha)) - self.offset)


def _grid(corrections: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, c0) of every grid point."""
    offsets = np.geomspace(1.0, max(OFFSET_SPAN * float(corrections.max()), 2.0), OFFSETS)
    alpha, c0 = np.meshgrid(ALPHAS, offsets, indexing="ij")
    return alpha.ravel(), c0.ravel()


def fit_curves(corrections: Sequence[float], replicates: np.ndarray) -> list[Curve]:
    """The bounded curve closest (weighted least squares) to each column of ``replicates``
    (rounds x replicates), over the (alpha, c0) grid, in closed form for all at once."""
    c = np.asarray(corrections, dtype=float)
    y = np.asarray(replicates, dtype=float).reshape(len(c), -1)
    weights = 1.0 + np.arange(len(c))  # squared weights: later rounds rest on more data
    weights = weights / weights.sum()
    alpha, c0 = _grid(c)
    x = -((c[None, :] + c0[:, None]) ** -alpha[:, None])  # grid x rounds
    wx, wy = x @ weights, weights @ y  # weighted means: grid, replicates
    sxx = ((x - wx[:, None]) ** 2) @ weights
    wxy, wxx, wyy = (x * weights) @ y, (x * x) @ weights, weights @ (y * y)
    b = (wxy - wx[:, None] * wy[None, :]) / np.maximum(sxx, 1e-300)[:, None]
    a = wy[None, :] - b * wx[:, None]
    flat = b < 0  # falling with more data: the flat curve at the weighted mean
    b, a = np.where(flat, 0.0, b), np.where(flat, wy[None, :], a)
    capped = a > 1.0  # above a perfect score: A = 1 and B refitted
    b_capped = np.maximum((wxy - wx[:, None]) / np.maximum(wxx, 1e-300)[:, None], 0.0)
    b, a = np.where(capped, b_capped, b), np.where(capped, 1.0, a)
    loss = wyy[None, :] - 2 * a * wy[None, :] - 2 * b * wxy + a * a + 2 * a * b * wx[:, None] + b * b * wxx[:, None]
    best = np.argmin(loss, axis=0)
    columns = np.arange(y.shape[1])
    return [Curve(float(a[g, r]), float(b[g, r]), float(alpha[g]), float(c0[g])) for r, g in zip(columns, best, strict=True)]


def fit_curve(corrections: Sequence[float], f: Sequence[float] | np.ndarray) -> Curve:
    """The bounded curve closest to one series of figures."""
    return fit_curves(corrections, np.asarray(f, dtype=float)[:, None])[0]


def micro_f_replicates(per_round: Sequence[np.ndarray], resamples: int, seed: int) -> np.ndarray:
    """Micro F of each round on ``resamples`` bootstrap resamples of the eval documents, the
    same resample for every round (rows: rounds). ``per_round[r]``: an (examples x 3)
    array of true positives, false positives and false negatives per eval example."""
    n = per_round[0].shape[0]
    if any(m.shape[0] != n for m in per_round):
        raise ValueError("every round must be scored on the same eval examples")
    indices = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    out = np.empty((len(per_round), resamples))
    for r, matrix in enumerate(per_round):
        sums = matrix[indices].sum(axis=1)  # resamples x 3
        tp, fp, fn = sums[:, 0], sums[:, 1], sums[:, 2]
        denominator = 2 * tp + fp + fn
        out[r] = np.divide(2 * tp, denominator, out=np.zeros_like(denominator, dtype=float), where=denominator > 0)
    return out


@dataclass(frozen=True)
class Forecast:
    """Corrections still needed (beyond the last round) to reach ``target``."""

    target: float
    median: float | None  # None: not reachable with this data
    low: float | None  # 80% interval over the bootstrap replicates (None: unbounded)
    high: float | None
    reachable: float  # share of replicates whose curve reaches the target
    rounds: int
    # The fitted curves' band: (corrections, F 10th, 50th, 90th percentile) from 0 to past the forecast.
    band: tuple[tuple[float, float, float, float], ...] = field(default=(), compare=False)

    def text(self) -> str:
        if self.median is None:
            return f"not reachable with this data (asymptote below {self.target:.3f} in {1 - self.reachable:.0%} of replicates)"
        high = f"{self.high:,.0f}" if self.high is not None else "never"
        return f"~{self.median:,.0f} more corrections to F {self.target:.3f} (80%: {self.low:,.0f} - {high})"


def curve_band(curves: Sequence[Curve], until: float) -> tuple[tuple[float, float, float, float], ...]:
    """(corrections, F at the 10th, 50th and 90th percentile of the curves) from 0 to ``until``."""
    points = np.linspace(0.0, max(until, 1.0), BAND_POINTS)
    values = np.array([[curve.f(float(c)) for c in points] for curve in curves])
    low, mid, high = np.percentile(values, [10, 50, 90], axis=0)
    return tuple((float(c), float(lo), float(m), float(hi)) for c, lo, m, hi in zip(points, low, mid, high, strict=True))


def forecast(corrections: Sequence[float], replicates: np.ndarray, target: float) -> Forecast:
    """Fit every replicate (a column of ``replicates``, rounds x resamples) and read off the
    corrections past the last round at which F reaches ``target``."""
    last = float(corrections[-1])
    curves = fit_curves(corrections, replicates)
    needed = np.array([curve.crossing(target) for curve in curves])
    needed[needed > HORIZON * max(last, 1.0)] = np.inf  # beyond what the rounds can say
    remaining = np.maximum(needed - last, 0.0)
    reachable = float(np.mean(np.isfinite(remaining)))
    tail = (1 - FORECAST_CONFIDENCE) / 2
    if reachable < 0.5:
        return Forecast(target, None, None, None, reachable, len(corrections), curve_band(curves, 2 * max(last, 1.0)))
    # Unreachable replicates sort last: the median and the low end stay finite, the high end may not.
    ordered = np.sort(remaining)

    def pick(q: float) -> float:
        return float(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))])

    high = pick(1 - tail)
    band = curve_band(curves, max(2 * last, last + 1.5 * (high if math.isfinite(high) else pick(0.5))))
    return Forecast(target, pick(0.5), pick(tail), high if math.isfinite(high) else None, reachable, len(corrections), band)


@dataclass(frozen=True)
class LearningCurve:
    """What the reports show of a suite's learning curve: the measured points (corrections,
    distilled micro F), the target (the LLM's F) and the forecast (None: too few points, or
    the target reached already)."""

    suite: str
    points: tuple[tuple[int, float], ...]
    target: float | None
    forecast: Forecast | None

    def text(self) -> str:
        """One line: the forecast, or why there is none."""
        if self.target is None:
            return "no target: no LLM F recorded with the learning curve (retrain with the LLM evaluated)"
        if self.forecast is not None:
            return self.forecast.text()
        if self.points and self.points[-1][1] >= self.target:
            return f"reached: distilled F {self.points[-1][1]:.3f} >= {self.target:.3f} at {self.points[-1][0]:,} corrections"
        return f"too few points for a forecast: {len(self.points)} retrained model(s) on this eval split, 3 needed"
