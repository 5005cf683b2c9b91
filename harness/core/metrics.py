"""Pure metrics: additive counts that remember their examples, and bootstrap CIs.

Nothing here imports spaCy. Formulas mirror spaCy's ``PRFScore`` (including its
``1e-100`` smoothing) so that strict scores equal ``spacy.scorer.Scorer`` to 1e-9;
``tests/integration/test_scorer_equality.py`` proves it on every shipped dataset.

Examples are identified by their *position* in the evaluated sequence (0..n-1);
callers map positions to input hashes. Keeping positions (with multiplicity) in
every tp/fp/fn bucket is what lets the correction queue find the failing cases
and lets the bootstrap resample examples rather than spans.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..options import CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_THRESHOLD
from .spans import SpanTuple

Interval = tuple[float, float]


def precision_recall_f(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    """spaCy's PRFScore arithmetic, smoothing included, so results match to the bit."""
    p = tp / (tp + fp + 1e-100)
    r = tp / (tp + fn + 1e-100)
    return p, r, 2 * ((p * r) / (p + r + 1e-100))


@dataclass(frozen=True)
class Counts:
    """tp/fp/fn as example positions (a position repeats once per counted item).

    Additive like spaCy's PRFScore: ``a + b`` concatenates the buckets.
    """

    tp: tuple[int, ...] = ()
    fp: tuple[int, ...] = ()
    fn: tuple[int, ...] = ()

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def prf(self) -> tuple[float, float, float]:
        return precision_recall_f(len(self.tp), len(self.fp), len(self.fn))

    @property
    def support(self) -> int:
        return len(self.tp) + len(self.fn)


class _CountsBuilder:
    """Mutable accumulator used while scanning documents; frozen into :class:`Counts`."""

    __slots__ = ("tp", "fp", "fn")

    def __init__(self) -> None:
        self.tp: list[int] = []
        self.fp: list[int] = []
        self.fn: list[int] = []

    def freeze(self) -> Counts:
        return Counts(tuple(self.tp), tuple(self.fp), tuple(self.fn))


def _freeze(builders: Mapping[str, _CountsBuilder], labels: Iterable[str]) -> dict[str, Counts]:
    out = {label: builders[label].freeze() if label in builders else Counts() for label in labels}
    for label, builder in builders.items():
        out.setdefault(label, builder.freeze())
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class SpanCounts:
    """Per-label counts for spans: strict (exact boundaries and label) and overlap."""

    strict: Mapping[str, Counts]
    overlap: Mapping[str, Counts]
    n_examples: int


def count_spans(
    gold: Iterable[Sequence[SpanTuple]],
    predicted: Iterable[Sequence[SpanTuple]],
    labels: Iterable[str] = (),
) -> SpanCounts:
    """Count strict and overlap matches per label over paired documents.

    Strict: a predicted span is a true positive when a gold span has the same
    start, end and label (spaCy's ``ents_per_type``). Overlap: remaining spans
    of the same label whose character ranges intersect are matched one-to-one
    (leftmost first) and counted as true positives too, the "partial" scheme.
    """
    strict: defaultdict[str, _CountsBuilder] = defaultdict(_CountsBuilder)
    overlap: defaultdict[str, _CountsBuilder] = defaultdict(_CountsBuilder)
    n = 0
    for i, (gold_spans, pred_spans) in enumerate(zip(gold, predicted, strict=True)):
        n = i + 1
        if gold_spans == pred_spans:  # fast path (the common case): every span is a strict and overlap match
            for span in set(gold_spans):
                strict[span[2]].tp.append(i)
                overlap[span[2]].tp.append(i)
            continue
        gold_set, pred_set = set(gold_spans), set(pred_spans)
        for span in gold_set & pred_set:
            strict[span[2]].tp.append(i)
            overlap[span[2]].tp.append(i)
        missed = sorted(gold_set - pred_set)
        spurious = sorted(pred_set - gold_set)
        for span in missed:
            strict[span[2]].fn.append(i)
        for span in spurious:
            strict[span[2]].fp.append(i)
        if not missed or not spurious:
            for span in missed:
                overlap[span[2]].fn.append(i)
            for span in spurious:
                overlap[span[2]].fp.append(i)
            continue
        used: set[SpanTuple] = set()
        for g in missed:
            match = next((p for p in spurious if p not in used and p[2] == g[2] and p[0] < g[1] and g[0] < p[1]), None)
            if match is None:
                overlap[g[2]].fn.append(i)
            else:
                used.add(match)
                overlap[g[2]].tp.append(i)
        for p in spurious:
            if p not in used:
                overlap[p[2]].fp.append(i)
    labels = list(labels)
    return SpanCounts(_freeze(strict, labels), _freeze(overlap, labels), n)


@dataclass(frozen=True)
class CatCounts:
    """Per-label counts for text classification plus the scores needed for ROC-AUC."""

    per_label: Mapping[str, Counts]
    auc_pairs: Mapping[str, tuple[tuple[float, float], ...]]  # label -> ((score, gold), ...)
    n_examples: int


def count_cats(
    gold: Iterable[Mapping[str, float]],
    predicted: Iterable[Mapping[str, float]],
    labels: Sequence[str],
    *,
    multi_label: bool,
    threshold: float = DEFAULT_THRESHOLD,
) -> CatCounts:
    """Mirror ``spacy.scorer.Scorer.score_cats`` (spaCy 3.8), keeping example positions."""
    builders = {label: _CountsBuilder() for label in labels}
    auc: dict[str, list[tuple[float, float]]] = {label: [] for label in labels}
    n = 0
    for i, (gold_all, pred_all) in enumerate(zip(gold, predicted, strict=True)):
        n = i + 1
        pred_cats = {k: v for k, v in pred_all.items() if k in builders}
        gold_cats = {k: v for k, v in gold_all.items() if k in builders}
        for label in labels:
            pred_score = pred_cats.get(label, 0.0)
            gold_score = gold_cats.get(label)
            if not gold_score and not multi_label:
                gold_score = 0.0
            if gold_score is not None:
                auc[label].append((pred_score, gold_score))
        if multi_label:
            for label in labels:
                pred_score = pred_cats.get(label, 0.0)
                gold_score = gold_cats.get(label)
                if gold_score is None:
                    continue
                # spaCy's rule for a gold category (any positive score), mirrored exactly:
                # gold scores are 0 or 1, where it agrees with options.GOLD_POSITIVE
                if pred_score >= threshold and gold_score > 0:
                    builders[label].tp.append(i)
                elif pred_score >= threshold and gold_score == 0:
                    builders[label].fp.append(i)
                elif pred_score < threshold and gold_score > 0:
                    builders[label].fn.append(i)
        elif pred_cats and gold_cats:
            pred_label = max(pred_cats.items(), key=lambda it: it[1])[0]
            gold_label = max(gold_cats.items(), key=lambda it: it[1])[0]
            if pred_label == gold_label:
                builders[pred_label].tp.append(i)
            else:
                builders[gold_label].fn.append(i)
                builders[pred_label].fp.append(i)
        elif gold_cats:
            gold_label, gold_score = max(gold_cats.items(), key=lambda it: it[1])
            if gold_score > 0:
                builders[gold_label].fn.append(i)
        elif pred_cats:
            builders[max(pred_cats.items(), key=lambda it: it[1])[0]].fp.append(i)
    return CatCounts(
        {label: builders[label].freeze() for label in labels},
        {label: tuple(pairs) for label, pairs in auc.items()},
        n,
    )


# --------------------------------------------------------------------------- bootstrap


def _row_groups(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one row per group of identical rows, the group sizes), rows compared as bytes.

    The matrix holds counts (whole numbers), so small ones compare as 16-bit integers.
    """
    compact = matrix.astype(np.uint16) if matrix.max(initial=0) < 2**16 else matrix
    compact = np.ascontiguousarray(compact)
    rows = compact.view(np.dtype((np.void, compact.dtype.itemsize * compact.shape[1]))).ravel()
    _, first, sizes = np.unique(rows, return_index=True, return_counts=True)
    return matrix[first], sizes


def bootstrap_sums(matrix: np.ndarray, resamples: int, seed: int, *, max_cells: int = 2_000_000) -> np.ndarray:
    """Column sums of ``matrix`` (examples x k) under each bootstrap resample: (resamples, k).

    A resample draws ``n`` examples with replacement; its sums are ``weights @ matrix``
    where ``weights`` counts how often each example was drawn. Drawn exactly, but
    cheaply, in two stages:

    1. examples with identical rows are interchangeable in every sum, so only the
       total weight of each *group* of identical rows matters;
    2. groups of the same size are equally likely, so draw how many of the ``n``
       draws land in each *size class* (a multinomial over a few dozen classes),
       then spread a class's draws uniformly over its groups (index draws; a
       class with one group takes them all).

    The result has the distribution of index-by-index resampling at a cost of
    about the number of examples in shared size classes per resample (100,000
    synthetic documents: ~60,000), vectorised in chunks of bounded memory.
    Seeded: stacking two pipelines' matrices side by side gives them the same
    draws (a paired bootstrap).
    """
    n_examples = matrix.shape[0]
    if n_examples == 0 or resamples <= 0:
        return np.zeros((0, matrix.shape[1]))
    if matrix.shape[1] == 0:
        return np.zeros((resamples, 0))
    rng = np.random.default_rng(seed)
    patterns, sizes = _row_groups(matrix)
    # float32 sums of integer counts are exact below 2**24: use them when no sum can reach it.
    dtype = np.float32 if n_examples * float(matrix.max(initial=0)) < 2**24 else np.float64
    class_sizes, class_of, class_counts = np.unique(sizes, return_inverse=True, return_counts=True)
    order = np.argsort(class_of, kind="stable")  # groups of one class side by side
    patterns = patterns[order].astype(dtype)
    bounds = np.concatenate([[0], np.cumsum(class_counts)])
    class_probabilities = class_sizes * class_counts / n_examples
    n_groups = len(sizes)
    out = np.empty((resamples, matrix.shape[1]))
    chunk = max(1, min(resamples, max_cells // n_groups))
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        totals = rng.multinomial(n_examples, class_probabilities, size=rows)
        weights = np.empty((rows, n_groups), dtype=dtype)
        for c, (first, last) in enumerate(zip(bounds[:-1], bounds[1:])):
            width = last - first
            if width == 1:
                weights[:, first] = totals[:, c]
                continue
            # int32 halves the memory traffic of the (many) index draws; rows * width is far below 2**31.
            owner = np.repeat(np.arange(0, rows * width, width, dtype=np.int32), totals[:, c])
            landed = owner + rng.integers(0, width, size=owner.size, dtype=np.int32)
            weights[:, first:last] = np.bincount(landed, minlength=rows * width).reshape(rows, width)
        out[start : start + rows] = weights @ patterns
    return out


def count_matrix(counts: Mapping[str, Counts], labels: Sequence[str], n_examples: int) -> np.ndarray:
    """(examples x 3*labels) matrix of per-example tp, fp, fn for each label."""
    matrix = np.zeros((n_examples, 3 * len(labels)), dtype=np.float64)
    for j, label in enumerate(labels):
        c = counts.get(label, Counts())
        for k, ids in enumerate((c.tp, c.fp, c.fn)):
            if ids:
                matrix[:, 3 * j + k] = np.bincount(np.asarray(ids, dtype=np.int64), minlength=n_examples)
    return matrix


def prf_arrays(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`precision_recall_f` over arrays of bootstrap counts."""
    p = tp / (tp + fp + 1e-100)
    r = tp / (tp + fn + 1e-100)
    return p, r, 2 * ((p * r) / (p + r + 1e-100))


def percentile_interval(values: np.ndarray) -> Interval:
    """The central :data:`~harness.options.CONFIDENCE` interval of bootstrap values (NaN for none)."""
    if values.size == 0:
        return (float("nan"), float("nan"))
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return (float(low), float(high))


def percentile_intervals(values: np.ndarray) -> list[Interval]:
    """:func:`percentile_interval` of every column of ``values`` (resamples x m), in one call."""
    if values.shape[0] == 0:
        return [(float("nan"), float("nan"))] * values.shape[1]
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail], axis=0)
    return [(float(a), float(b)) for a, b in zip(low, high)]


@dataclass(frozen=True)
class LabelScore:
    """Precision, recall and F for one label (or ``micro``), with 95% bootstrap CIs."""

    label: str
    p: float
    r: float
    f: float
    tp: int
    fp: int
    fn: int
    p_ci: Interval
    r_ci: Interval
    f_ci: Interval
    fp_examples: tuple[int, ...] = ()  # example positions, for the queue
    fn_examples: tuple[int, ...] = ()

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass(frozen=True)
class ScoreTable:
    """Per-label and overall scores of one pipeline under one matching scheme."""

    variant: str  # "strict", "overlap" or "threshold"
    labels: tuple[LabelScore, ...]
    micro: LabelScore
    macro_p: float
    macro_r: float
    macro_f: float
    macro_f_ci: Interval
    n_examples: int
    resamples: int
    seed: int
    extras: Mapping[str, float] = field(default_factory=dict)

    def label(self, name: str) -> LabelScore:
        for score in self.labels:
            if score.label == name:
                return score
        raise KeyError(name)


def score_table(
    counts: Mapping[str, Counts],
    n_examples: int,
    *,
    variant: str,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    extras: Mapping[str, float] | None = None,
) -> ScoreTable:
    """Turn per-label counts into P/R/F with percentile bootstrap 95% CIs.

    Resampling is over examples (documents), the unit that was sampled, with
    ``resamples`` draws from a seeded generator: same inputs, same intervals.
    """
    labels = sorted(counts)
    sums = bootstrap_sums(count_matrix(counts, labels, n_examples), resamples, seed)
    # Every label's P, R, F (columns 3j..3j+2), then micro P, R, F and macro F: one
    # percentile call over all columns instead of one per figure.
    label_p, label_r, label_f = prf_arrays(sums[:, 0::3], sums[:, 1::3], sums[:, 2::3])
    micro_boot = prf_arrays(sums[:, 0::3].sum(axis=1), sums[:, 1::3].sum(axis=1), sums[:, 2::3].sum(axis=1))
    n_labels = len(labels) + 1e-100
    if len(sums):
        boot = np.column_stack(
            [np.stack([label_p, label_r, label_f], axis=2).reshape(len(sums), -1), *micro_boot, label_f.sum(axis=1) / n_labels]
        )
    else:  # no examples or no resamples: every interval is undefined
        boot = np.zeros((0, 3 * len(labels) + 4))
    intervals = percentile_intervals(boot)
    per_label = []
    for j, label in enumerate(labels):
        c = counts[label]
        p, r, f = c.prf
        p_ci, r_ci, f_ci = intervals[3 * j : 3 * j + 3]
        per_label.append(
            LabelScore(label, p, r, f, len(c.tp), len(c.fp), len(c.fn), p_ci, r_ci, f_ci, tuple(sorted(set(c.fp))), tuple(sorted(set(c.fn))))
        )
    total = Counts()
    for label in labels:
        total = total + counts[label]
    p, r, f = total.prf
    k = 3 * len(labels)
    p_ci, r_ci, f_ci = intervals[k : k + 3]
    micro = LabelScore("micro", p, r, f, len(total.tp), len(total.fp), len(total.fn), p_ci, r_ci, f_ci)
    macro_p = sum(s.p for s in per_label) / n_labels
    macro_r = sum(s.r for s in per_label) / n_labels
    macro_f = sum(s.f for s in per_label) / n_labels
    return ScoreTable(
        variant,
        tuple(per_label),
        micro,
        macro_p,
        macro_r,
        macro_f,
        intervals[k + 3],
        n_examples,
        resamples,
        seed,
        dict(extras or {}),
    )
