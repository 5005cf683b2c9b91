"""How many more corrections until the distilled model reaches the LLM (pure).

The learning curve of distilled micro F against corrections is fitted as an inverse power
law, bounded (F never above 1, never falling with more data)::

    F(c) = A - B * (c + 1) ** -alpha        A <= 1, B >= 0, alpha in [0.2, 2]

(alpha on a grid, A and B by least squares for each alpha, weighted towards later rounds,
whose figures rest on more training data). The crossing of a target F is
``(B / (A - target)) ** (1 / alpha) - 1`` when the asymptote ``A`` is above the target, else
never. Uncertainty comes from bootstrap replicates that share one eval resample across
rounds (:func:`micro_f_replicates`): each replicate is fitted, and the forecast is the
median crossing with an 80% interval, or "not reachable with this data" when most
replicates' asymptotes stay below the target or cross it only beyond HORIZON times the
corrections made so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Below 0.2 a power law is indistinguishable from a logarithm on a few rounds and puts the
# asymptote wherever it likes; learning curves of supervised NER/textcat sit well above it.
ALPHAS = np.linspace(0.2, 2.0, 73)
#: A crossing further than this many times the corrections made so far is an extrapolation
#: the data cannot support: "not reachable with this data".
HORIZON = 20
FORECAST_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Curve:
    asymptote: float  # A
    scale: float  # B
    alpha: float

    def f(self, corrections: float) -> float:
        return float(self.asymptote - self.scale * (corrections + 1) ** -self.alpha)

    def crossing(self, target: float) -> float:
        """Corrections at which the curve reaches ``target`` (inf: never; 0: already there)."""
        if self.asymptote <= target:
            return math.inf
        if self.scale <= 0:
            return 0.0
        return max(0.0, float((self.scale / (self.asymptote - target)) ** (1 / self.alpha)) - 1)


def fit_curve(corrections: Sequence[float], f: Sequence[float] | np.ndarray) -> Curve:
    """The bounded inverse power law closest (weighted least squares) to the rounds' figures."""
    c = np.asarray(corrections, dtype=float)
    y = np.asarray(f, dtype=float)
    weights = np.sqrt(1.0 + np.arange(len(c)))  # later rounds: more data behind the figure
    best: tuple[float, Curve] | None = None
    for alpha in ALPHAS:
        x = -((c + 1) ** -alpha)
        design = np.stack([np.ones_like(x), x], axis=1) * weights[:, None]
        (a, b), *_ = np.linalg.lstsq(design, y * weights, rcond=None)
        a, b = min(float(a), 1.0), max(float(b), 0.0)
        if b == 0.0:  # a flat curve: the weighted mean
            a = float(np.average(y, weights=weights**2))
        loss = float(np.sum((weights * (y - (a + b * x))) ** 2))
        if best is None or loss < best[0]:
            best = (loss, Curve(a, b, float(alpha)))
    assert best is not None
    return best[1]


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

    def text(self) -> str:
        if self.median is None:
            return f"not reachable with this data (asymptote below {self.target:.3f} in {1 - self.reachable:.0%} of replicates)"
        high = f"{self.high:,.0f}" if self.high is not None else "never"
        return f"~{self.median:,.0f} more corrections to F {self.target:.3f} (80%: {self.low:,.0f} - {high})"


def forecast(corrections: Sequence[float], replicates: np.ndarray, target: float) -> Forecast:
    """Fit every replicate (a column of ``replicates``, rounds x resamples) and read off the
    corrections past the last round at which F reaches ``target``."""
    last = float(corrections[-1])
    needed = np.array([fit_curve(corrections, replicates[:, b]).crossing(target) for b in range(replicates.shape[1])])
    needed[needed > HORIZON * max(last, 1.0)] = np.inf  # beyond what the rounds can say
    remaining = np.maximum(needed - last, 0.0)
    reachable = float(np.mean(np.isfinite(remaining)))
    tail = (1 - FORECAST_CONFIDENCE) / 2
    if reachable < 0.5:
        return Forecast(target, None, None, None, reachable, len(corrections))
    # Unreachable replicates sort last: the median and the low end stay finite, the high end may not.
    ordered = np.sort(remaining)

    def pick(q: float) -> float:
        return float(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))])

    high = pick(1 - tail)
    return Forecast(target, pick(0.5), pick(tail), high if math.isfinite(high) else None, reachable, len(corrections))
