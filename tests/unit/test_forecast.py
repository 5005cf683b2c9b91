"""The effort forecast: the learning-curve fit, its crossing, and the shared bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.core.forecast import Curve, fit_curve, forecast, micro_f_replicates

TRUE = Curve(0.80, 0.35, 0.3)
ROUNDS = [0, 250, 500, 750, 1000]


def test_the_fit_recovers_a_known_curve_and_its_crossing() -> None:
    curve = fit_curve(ROUNDS, [TRUE.f(c) for c in ROUNDS])
    assert abs(curve.f(5000) - TRUE.f(5000)) < 0.01
    assert curve.crossing(0.74) == pytest.approx(TRUE.crossing(0.74), rel=0.15)
    assert curve.asymptote <= 1.0 and curve.scale >= 0


def test_a_target_above_the_plateau_is_not_reachable_and_one_below_is_reached() -> None:
    flat = [0.60, 0.66, 0.69, 0.70, 0.705]
    assert math.isinf(fit_curve(ROUNDS, flat).crossing(0.80))
    assert fit_curve(ROUNDS, flat).crossing(0.50) == 0.0
    replicates = np.array([[f + d for d in np.linspace(-0.01, 0.01, 50)] for f in flat])
    assert forecast(ROUNDS, replicates, 0.80).median is None
    assert "not reachable" in forecast(ROUNDS, replicates, 0.80).text()
    assert forecast(ROUNDS, replicates, 0.50).median == 0.0


def test_the_interval_covers_the_truth_on_noisy_rounds() -> None:
    rng = np.random.default_rng(0)
    truth = TRUE.crossing(0.77) - ROUNDS[-1]
    # 200 replicates: the true curve plus eval noise shared by the rounds of a replicate.
    shared = rng.normal(0, 0.008, size=200)
    replicates = np.array([[TRUE.f(c) + s + rng.normal(0, 0.004) for s in shared] for c in ROUNDS])
    result = forecast(ROUNDS, replicates, 0.77)
    assert result.median is not None and result.low is not None
    assert result.low <= truth <= (result.high if result.high is not None else math.inf)
    assert result.reachable > 0.5 and "more corrections to F 0.770" in result.text()


def test_replicates_share_one_resample_across_rounds() -> None:
    rng = np.random.default_rng(1)
    first = rng.integers(0, 3, size=(300, 3)).astype(float)
    same = micro_f_replicates([first, first.copy()], resamples=100, seed=7)
    assert same.shape == (2, 100) and np.array_equal(same[0], same[1])
    whole = 2 * first[:, 0].sum() / (2 * first[:, 0].sum() + first[:, 1].sum() + first[:, 2].sum())
    assert abs(same[0].mean() - whole) < 0.01
    with pytest.raises(ValueError, match="same eval examples"):
        micro_f_replicates([first, first[:10]], resamples=5, seed=0)


def rounds_towards(f_values: list[float], llm_f: float) -> list:
    """Loop rows whose per-example counts give each round's micro F (400 eval examples)."""
    from harness.loop.demo import LoopRound

    rows = []
    for i, f in enumerate(f_values):
        tp = round(400 * f)  # one gold span per example; the rest missed (fn), no false positives
        counts = np.array([[1.0, 0.0, 0.0]] * tp + [[0.0, 0.0, 1.0]] * (400 - tp))
        rows.append(LoopRound(i, 250 * i, 2 * tp / (2 * tp + 400 - tp), (0.0, 1.0), llm_f, 1000.0, f"t@v{i + 1}", counts=counts))
    return rows


def test_the_loop_forecasts_from_round_two_and_backtests_its_crossing() -> None:
    from harness.loop.demo import backtest, round_forecast

    # Recall 0.55 .. 0.80 with no false positives: micro F 0.710, 0.810, 0.851, 0.873, 0.889.
    rows = rounds_towards([0.55, 0.68, 0.74, 0.775, 0.80], llm_f=0.92)
    assert round_forecast(rows[:2], 0.92, seed=0) is None
    ahead = round_forecast(rows[:3], 0.92, seed=0)
    assert ahead is not None and ahead.rounds == 3
    tested = backtest(rows, seed=0)
    assert [end for end, _, _ in tested] == [2, 3, 4] and all(actual is None for _, _, actual in tested)  # never crossed
    crossed = rounds_towards([0.55, 0.68, 0.74, 0.775, 0.92], llm_f=0.95)  # round 4: F 0.958
    assert [(end, actual) for end, _, actual in backtest(crossed, seed=0)] == [(2, 1000.0), (3, 1000.0)]  # prefixes before it


def test_no_forecast_once_the_target_is_reached() -> None:
    from harness.loop.demo import round_forecast

    rows = rounds_towards([0.55, 0.68, 0.80], llm_f=0.85)  # round 2: F 0.889, past the LLM
    assert round_forecast(rows, 0.85, seed=0) is None


def test_the_offset_is_fitted_so_a_loop_that_starts_from_silver_still_forecasts() -> None:
    """A curve whose round 0 already stands on silver data (worth c0 = 600 corrections) is
    recovered with its offset; a curve through c + 1 would saturate early."""
    shifted = Curve(0.85, 3.0, 0.5, offset=600.0)
    rounds = [0, 250, 500, 750]
    curve = fit_curve(rounds, [shifted.f(c) for c in rounds])
    assert curve.crossing(0.78) == pytest.approx(shifted.crossing(0.78), rel=0.1)
    assert abs(curve.f(3000) - shifted.f(3000)) < 0.01


def test_all_replicates_fit_at_once_as_one_by_one() -> None:
    from harness.core.forecast import fit_curves

    rng = np.random.default_rng(3)
    replicates = np.array([[TRUE.f(c) + rng.normal(0, 0.01) for _ in range(20)] for c in ROUNDS])
    together = fit_curves(ROUNDS, replicates)
    alone = [fit_curve(ROUNDS, replicates[:, r]) for r in range(20)]
    assert [(c.alpha, c.offset) for c in together] == [(c.alpha, c.offset) for c in alone]
    assert [x for c in together for x in (c.asymptote, c.scale)] == pytest.approx([x for c in alone for x in (c.asymptote, c.scale)], rel=1e-9)
    assert all(c.asymptote <= 1.0 and c.scale >= 0.0 and 0.2 <= c.alpha <= 2.0 and c.offset >= 1.0 for c in together)


def test_the_band_brackets_the_median_and_reaches_past_the_forecast() -> None:
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 0.008, size=100)
    replicates = np.array([[TRUE.f(c) + s for s in shared] for c in ROUNDS])
    result = forecast(ROUNDS, replicates, 0.77)
    assert result.band and all(lo <= mid <= hi for _, lo, mid, hi in result.band)
    assert result.median is not None and result.band[-1][0] >= ROUNDS[-1] + result.median


def test_the_learning_curve_says_why_there_is_no_forecast() -> None:
    from harness.core.forecast import LearningCurve

    assert "no target" in LearningCurve("s", ((0, 0.5),), None, None).text()
    assert "reached" in LearningCurve("s", ((0, 0.5), (100, 0.8)), 0.7, None).text()
    assert "too few points" in LearningCurve("s", ((0, 0.5), (100, 0.6)), 0.7, None).text()
