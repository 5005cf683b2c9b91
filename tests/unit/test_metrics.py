"""Metrics: hand-checked cases plus Hypothesis properties (pure, no spaCy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.core.metrics import (
    Counts,
    bootstrap_sums,
    count_cats,
    count_matrix,
    count_spans,
    precision_recall_f,
    score_table,
)

LABELS = ["A", "B", "C"]


@st.composite
def span_docs(draw: st.DrawFn) -> list[tuple[int, int, str]]:
    """Non-overlapping spans over a 60-character document."""
    cuts = sorted(draw(st.sets(st.integers(0, 60), max_size=12)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        if start < end:
            spans.append((start, end, draw(st.sampled_from(LABELS))))
    return spans


corpora = st.lists(st.tuples(span_docs(), span_docs()), max_size=15)


def test_hand_computed_strict_and_overlap() -> None:
    gold = [[(0, 5, "A"), (10, 15, "B")], [(0, 3, "A")]]
    pred = [[(0, 5, "A"), (11, 15, "B"), (20, 22, "C")], []]
    counts = count_spans(gold, pred)
    assert counts.strict["A"] == Counts(tp=(0,), fp=(), fn=(1,))
    assert counts.strict["B"] == Counts(tp=(), fp=(0,), fn=(0,))
    assert counts.strict["C"] == Counts(tp=(), fp=(0,), fn=())
    # The off-by-one B span overlaps its gold span: a partial match.
    assert counts.overlap["B"] == Counts(tp=(0,), fp=(), fn=())
    p, r, f = counts.strict["A"].prf
    assert (p, r) == pytest.approx((1.0, 0.5))
    assert f == pytest.approx(2 / 3)


def test_overlap_needs_same_label_and_matches_one_to_one() -> None:
    gold = [[(0, 10, "A")]]
    pred = [[(0, 4, "A"), (5, 10, "A"), (0, 10, "B")]]
    counts = count_spans(gold, pred)
    assert len(counts.overlap["A"].tp) == 1
    assert len(counts.overlap["A"].fp) == 1
    assert len(counts.overlap["B"].fp) == 1


def test_precision_recall_f_matches_prfscore_smoothing() -> None:
    assert precision_recall_f(0, 0, 0) == (0.0, 0.0, 0.0)
    p, r, f = precision_recall_f(3, 1, 2)
    assert p == 3 / (4 + 1e-100) and r == 3 / (5 + 1e-100)
    assert f == 2 * ((p * r) / (p + r + 1e-100))


@given(corpora)
def test_counts_are_additive_over_documents(corpus: list) -> None:
    """Scoring two halves and adding equals scoring the whole (PRFScore-style)."""
    half = len(corpus) // 2
    whole = count_spans([g for g, _ in corpus], [p for _, p in corpus])
    first = count_spans([g for g, _ in corpus[:half]], [p for _, p in corpus[:half]])
    second = count_spans([g for g, _ in corpus[half:]], [p for _, p in corpus[half:]])
    for label in LABELS:
        a, b, w = first.strict.get(label, Counts()), second.strict.get(label, Counts()), whole.strict.get(label, Counts())
        shifted = Counts(tuple(i + half for i in b.tp), tuple(i + half for i in b.fp), tuple(i + half for i in b.fn))
        assert sorted((a + shifted).tp) == sorted(w.tp)
        assert sorted((a + shifted).fp) == sorted(w.fp)
        assert sorted((a + shifted).fn) == sorted(w.fn)


@given(corpora)
def test_every_span_lands_in_exactly_one_bucket(corpus: list) -> None:
    counts = count_spans([g for g, _ in corpus], [p for _, p in corpus])
    for variant in (counts.strict, counts.overlap):
        for label in LABELS:
            c = variant.get(label, Counts())
            n_gold = sum(1 for g, _ in corpus for s in g if s[2] == label)
            n_pred = sum(1 for _, p in corpus for s in p if s[2] == label)
            assert len(c.tp) + len(c.fn) == n_gold
            assert len(c.tp) + len(c.fp) == n_pred
    for label in LABELS:
        assert len(counts.overlap.get(label, Counts()).tp) >= len(counts.strict.get(label, Counts()).tp)


@given(st.lists(span_docs(), max_size=10))
def test_perfect_predictions_score_one(docs: list) -> None:
    table = score_table(count_spans(docs, docs).strict, len(docs), variant="strict", resamples=50)
    total = sum(len(d) for d in docs)
    assert table.micro.f == pytest.approx(1.0 if total else 0.0)
    assert table.micro.fp == table.micro.fn == 0


@given(corpora, st.integers(0, 2**31))
def test_bootstrap_is_seeded_and_bounded(corpus: list, seed: int) -> None:
    counts = count_spans([g for g, _ in corpus], [p for _, p in corpus], LABELS).strict
    a = score_table(counts, len(corpus), variant="strict", resamples=40, seed=seed)
    b = score_table(counts, len(corpus), variant="strict", resamples=40, seed=seed)
    assert repr(a) == repr(b)  # repr: NaN intervals (empty corpus) never compare equal
    for score in (*a.labels, a.micro):
        for low, high in (score.p_ci, score.r_ci, score.f_ci):
            if corpus:
                assert 0.0 <= low <= high <= 1.0
            else:
                assert math.isnan(low) and math.isnan(high)


def test_bootstrap_sums_are_sums_of_n_drawn_rows() -> None:
    """Each resample is the column sum of exactly n rows of the matrix (with repeats):
    grouping identical rows changes the cost, not what is summed."""
    rng = np.random.default_rng(1)
    matrix = rng.integers(0, 3, size=(37, 6)).astype(float)
    matrix[5] = 0
    matrix[6] = matrix[7]  # identical rows form one group
    marker = np.hstack([matrix, np.ones((37, 1))])  # a column of ones counts the rows drawn
    sums = bootstrap_sums(marker, 200, seed=7)
    assert sums.shape == (200, 7)
    np.testing.assert_array_equal(sums[:, -1], 37.0)
    assert (sums[:, :-1] >= 0).all() and (sums[:, :-1] <= 37 * matrix.max(axis=0)).all()
    np.testing.assert_array_equal(sums, bootstrap_sums(marker, 200, seed=7))  # seeded


def test_bootstrap_distribution_matches_index_resampling() -> None:
    """Mean and variance of the resampled sums equal those of drawing n indices with
    replacement (E = column sum, Var = n * var of a single draw), within sampling error."""
    rng = np.random.default_rng(3)
    matrix = rng.integers(0, 4, size=(50, 3)).astype(float)
    sums = bootstrap_sums(matrix, 20_000, seed=11)
    n = matrix.shape[0]
    expected_mean = matrix.sum(axis=0)
    expected_var = n * matrix.var(axis=0)  # population variance of one draw, times n draws
    np.testing.assert_allclose(sums.mean(axis=0), expected_mean, rtol=0.01)
    np.testing.assert_allclose(sums.var(axis=0), expected_var, rtol=0.05)


def test_count_matrix_puts_each_bucket_in_its_column() -> None:
    counts = {"A": Counts(tp=(0, 0, 2), fp=(1,), fn=())}
    matrix = count_matrix(counts, ["A"], 3)
    assert matrix.tolist() == [[2, 0, 0], [0, 1, 0], [1, 0, 0]]


def test_macro_is_mean_of_label_f_and_keeps_failing_examples() -> None:
    gold = [[(0, 1, "A")], [(0, 1, "B")], [(0, 1, "B")]]
    pred = [[(0, 1, "A")], [], [(0, 1, "A")]]
    table = score_table(count_spans(gold, pred).strict, 3, variant="strict", resamples=100)
    assert table.macro_f == pytest.approx((table.label("A").f + table.label("B").f) / 2)
    assert table.label("B").fn_examples == (1, 2)
    assert table.label("A").fp_examples == (2,)


def test_multilabel_cats_threshold_and_missing_gold_label() -> None:
    gold = [{"a": 1.0, "b": 0.0}, {"a": 0.0}, {"a": 1.0, "b": 1.0}]
    pred = [{"a": 0.7, "b": 0.6}, {"a": 0.5, "b": 0.9}, {"a": 0.2, "b": 0.5}]
    counts = count_cats(gold, pred, ["a", "b"], multi_label=True, threshold=0.5)
    assert counts.per_label["a"] == Counts(tp=(0,), fp=(1,), fn=(2,))
    # Example 1 has no gold for "b": it is not counted at all (spaCy's behaviour).
    assert counts.per_label["b"] == Counts(tp=(2,), fp=(0,), fn=())
    assert len(counts.auc_pairs["b"]) == 2


def test_exclusive_cats_use_argmax() -> None:
    gold = [{"x": 1.0, "y": 0.0}, {"x": 0.0, "y": 1.0}]
    pred = [{"x": 0.4, "y": 0.3}, {"x": 0.6, "y": 0.4}]
    counts = count_cats(gold, pred, ["x", "y"], multi_label=False)
    assert counts.per_label["x"] == Counts(tp=(0,), fp=(1,), fn=())
    assert counts.per_label["y"] == Counts(tp=(), fp=(), fn=(1,))
    assert counts.auc_pairs["x"] == ((0.4, 1.0), (0.6, 0.0))
