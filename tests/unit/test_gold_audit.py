"""Gold audit findings from out-of-fold probabilities (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.core.gold_audit import category_findings, proposed_categories, proposed_spans, ranked_suspects, span_findings


def test_span_findings_name_rejected_relabelled_and_missing_spans() -> None:
    gold = [(0, 5, "Dish"), (6, 10, "Location"), (11, 15, "Price")]
    probabilities = {
        (0, 5, "Dish"): 0.97,  # agrees
        (6, 10, "Cuisine"): 0.9,  # same offsets, other label
        (11, 15, "Price"): 0.05,  # rejected
        (16, 20, "Rating"): 0.85,  # missing from gold
        (21, 25, "Hours"): 0.5,  # not confident either way
    }
    found = span_findings(gold, probabilities, confident=0.8)
    kinds = {(f.kind, f.gold, f.proposed) for f in found}
    assert kinds == {
        ("relabel", (6, 10, "Location"), (6, 10, "Cuisine")),
        ("rejected", (11, 15, "Price"), None),
        ("missing", None, (16, 20, "Rating")),
    }
    assert [f.confidence for f in found] == sorted((f.confidence for f in found), reverse=True)
    assert found[0].describe() == "rejected 11-15 Price (0.95)"
    assert proposed_spans(gold, found) == ((0, 5, "Dish"), (6, 10, "Cuisine"), (16, 20, "Rating"))


def test_a_gold_the_student_agrees_with_is_not_suspect() -> None:
    gold = [(0, 5, "Dish")]
    assert span_findings(gold, {(0, 5, "Dish"): 0.9, (0, 5, "Cuisine"): 0.1}) == []
    assert category_findings({"baking"}, {"baking": 0.95, "bread": 0.1}) == []


def test_category_findings_and_proposal() -> None:
    found = category_findings({"baking"}, {"baking": 0.1, "bread": 0.92, "eggs": 0.3}, confident=0.8)
    assert {(f.kind, f.gold, f.proposed) for f in found} == {("rejected", "baking", None), ("missing", None, "bread")}
    assert proposed_categories({"baking": 1.0, "bread": 0.0}, found) == {"baking": 0.0, "bread": 1.0}


@given(st.dictionaries(st.integers(0, 1000), st.lists(st.floats(0.8, 1.0), min_size=0, max_size=3), max_size=30))
def test_suspects_are_ranked_by_their_most_confident_finding(confidences: dict) -> None:
    from harness.core.gold_audit import Finding

    findings = {h: sorted((Finding("rejected", (0, 1, "X"), None, c) for c in cs), key=lambda f: -f.confidence) for h, cs in confidences.items()}
    ranked = ranked_suspects(findings)
    assert {s.input_hash for s in ranked} == {h for h, cs in confidences.items() if cs}
    assert [s.confidence for s in ranked] == sorted((s.confidence for s in ranked), reverse=True)
