"""Expected LLM errors from span probabilities, and the calibration check of those probabilities."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.core.expected_errors import (
    calibration,
    diverse_top,
    error_contributions,
    expected_errors,
    isotonic,
)
from harness.loop.cross_fit import Folds


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


SPANS = st.dictionaries(st.tuples(st.integers(0, 20), st.integers(21, 40), st.sampled_from("ABC")), st.floats(0, 1), max_size=8)


@given(SPANS, st.lists(st.tuples(st.integers(0, 20), st.integers(21, 40), st.sampled_from("ABCD")), max_size=6))
def test_error_contributions_are_the_terms_of_expected_errors(probabilities: dict, answer: list) -> None:
    terms = error_contributions(answer, probabilities)
    assert sum(t[0] for t in terms) == pytest.approx(expected_errors(answer, probabilities))
    assert [t[0] for t in terms] == sorted((t[0] for t in terms), reverse=True)
    assert {t[2] for t in terms if t[1] == "wrong"} == set(answer)


def test_expected_category_errors() -> None:
    # gives "baking" (p 0.9: 0.1 expected wrong), leaves out "bread" (p 0.7: 0.7 expected missed),
    # and gives "eggs", which the student does not know at all (1.0)
    from harness.core.tasks import task_of

    terms = task_of("textcat_multilabel").error_terms({"baking": 1.0, "eggs": 1.0}, {"baking": 0.9, "bread": 0.7}, 0.5)
    assert sum(t[0] for t in terms) == pytest.approx(0.1 + 0.7 + 1.0)


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=200))
def test_isotonic_recalibration_is_monotone_and_keeps_the_mean(pairs: list) -> None:
    """Pool-adjacent-violators: a non-decreasing map into [0, 1] whose mean over the data is
    the share of right answers (each block's value is its own share)."""
    fitted = isotonic(pairs)
    values = [fitted(p) for p, _ in sorted(pairs)]
    assert values == sorted(values) and all(0.0 <= v <= 1.0 for v in values)
    assert sum(values) / len(values) == pytest.approx(sum(r for _, r in pairs) / len(pairs))


def test_isotonic_recalibration_fixes_overconfidence() -> None:
    rng = random.Random(0)
    # a model that says 0.95 and is right 60% of the time, says 0.3 and is right 10%
    pairs = [(0.95, rng.random() < 0.6) for _ in range(500)] + [(0.3, rng.random() < 0.1) for _ in range(500)]
    fitted = isotonic(pairs)
    assert calibration(pairs).ece > 0.15
    assert calibration([(fitted(p), r) for p, r in pairs]).ece < 0.01
    assert fitted(0.95) == pytest.approx(sum(r for p, r in pairs if p == 0.95) / 500)


def test_diverse_top_caps_each_key_and_keeps_the_order() -> None:
    ranked = [("pizza", 9), ("pizza", 8), ("pizza", 7), ("sushi", 6), ("pizza", 5), ("tacos", 4), ("sushi", 3)]
    top = diverse_top(ranked, 4, key=lambda item: item[0], cap=2)
    assert top == [("pizza", 9), ("pizza", 8), ("sushi", 6), ("tacos", 4)]
    assert diverse_top(ranked, 10, key=lambda item: item[0], cap=1) == [("pizza", 9), ("sushi", 6), ("tacos", 4)]


@given(st.sets(st.integers(0, 2**32 - 1), min_size=1, max_size=300), st.integers(2, 6), st.integers(0, 5))
def test_folds_are_per_text_and_do_not_depend_on_the_others(keys: set, k: int, seed: int) -> None:
    folds = Folds(k, seed)
    assert all(0 <= folds.of(key) < k for key in keys)
    assert {key: folds.of(key) for key in keys} == {key: Folds(k, seed).of(key) for key in sorted(keys, reverse=True)}


def test_rank_one_scores_spans_and_categories_with_their_evidence() -> None:
    from harness.loop.error_rank import rank_one

    text = "cheap pizza near me"
    found = {(0, 5, "Price"): 0.9, (6, 11, "Dish"): 0.3, (6, 11, "Cuisine"): 0.6}
    ranked = rank_one(7, text, [(6, 11, "Dish")], found, "ner", 0.5)
    # the LLM's Dish is doubted (0.7), the Price it missed is likely (0.9), the Cuisine too (0.6)
    assert ranked.score == pytest.approx(0.7 + 0.9 + 0.6)
    assert ranked.evidence[0] == "missed 0-5 Price 'cheap' (0.90)" and ranked.confusion == ("cheap", "Price")
    assert ranked.student == ((0, 5, "Price"), (6, 11, "Cuisine"))
    cats = rank_one(8, "how long to boil eggs", {"eggs": 1.0, "baking": 0.0}, {"eggs": 0.8, "baking": 0.7}, "textcat_multilabel", 0.5)
    assert cats.score == pytest.approx(0.2 + 0.7) and cats.evidence[0] == "missed baking (0.70)" and cats.confusion == ("", "baking")
