"""Expected LLM errors from span probabilities, and the calibration check of those probabilities."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.core.expected_errors import calibration, expected_errors


def test_expected_errors_count_wrong_answers_and_missed_spans() -> None:
    probabilities = {(0, 5, "Dish"): 0.9, (6, 10, "Location"): 0.6, (11, 15, "Price"): 0.2}
    # The LLM answered the Dish (likely right) and a Rating the student never scored (surely wrong),
    # and missed the Location (0.6 likely true) and the Price (0.2).
    assert expected_errors([(0, 5, "Dish"), (16, 20, "Rating")], probabilities) == pytest.approx(0.1 + 1.0 + 0.6 + 0.2)
    assert expected_errors([], {}) == 0.0


@given(st.dictionaries(st.tuples(st.integers(0, 20), st.integers(21, 40), st.sampled_from("ABC")), st.floats(0, 1), max_size=8))
def test_the_student_own_answer_has_the_fewest_expected_errors(probabilities: dict) -> None:
    """Answering exactly the spans with p > 0.5 minimises the expected errors (a property of the sum)."""
    best = [s for s, p in probabilities.items() if p > 0.5]
    floor = expected_errors(best, probabilities)
    for other in ([], list(probabilities), [s for s, p in probabilities.items() if p <= 0.5]):
        assert expected_errors(other, probabilities) >= floor - 1e-9


def test_calibration_is_zero_for_honest_probabilities_and_large_for_overconfident_ones() -> None:
    rng = random.Random(0)
    honest = [(p, rng.random() < p) for p in (rng.random() for _ in range(20_000))]
    assert calibration(honest).ece < 0.02
    overconfident = [(0.99, rng.random() < 0.7) for _ in range(1000)]
    c = calibration(overconfident)
    assert c.ece == pytest.approx(0.29, abs=0.05) and c.spans == 1000 and len(c.bins) == 1
