"""What differs between the tasks (``ner``, ``textcat``, ``textcat_multilabel``), in one place.

Everything else asks a :class:`Task` (``task_of(gold.task)``) instead of comparing
task names: the gold output of an example, the empty output, the positive rule for
categories, normalisation, how outputs are counted and how errors and
disagreements are sized. A new task is one more subclass here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ..options import GOLD_POSITIVE
from .confusion import cat_errors, confusion, span_errors
from .expected_errors import error_contributions
from .gold_audit import (
    Finding,
    category_agreement,
    category_findings,
    proposed_categories,
    proposed_spans,
    span_agreement,
    span_findings,
)
from .metrics import CatCounts, Counts, ScoreTable, SpanCounts, count_cats, count_spans, score_table
from .results import Output
from .spans import SpanTuple, spans_to_records


class Annotated(Protocol):
    """What a task reads from a gold example (``GoldExample`` and its views)."""

    @property
    def spans(self) -> Sequence[SpanTuple]: ...

    @property
    def cats(self) -> Mapping[str, float] | None: ...


@dataclass(frozen=True)
class TaskScores:
    """A task's headline scores: strict spans or thresholded categories, the overlap variant
    (spans only), the pairs behind ROC-AUC (categories only) and the per-label counts."""

    headline: ScoreTable
    overlap: ScoreTable | None
    auc_pairs: Mapping[str, tuple[tuple[float, float], ...]] | None
    counts: Mapping[str, Counts]


@dataclass(frozen=True)
class Task:
    """One task's rules. ``family`` is the spacy-llm/prompt family ("ner" or "textcat")."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    has_spans: ClassVar[bool] = False
    multi_label: ClassVar[bool] = False

    def gold_output(self, example: Annotated) -> Output:
        """The example's gold annotation as an output (spans or a category dict)."""
        raise NotImplementedError

    def empty_output(self) -> Output:
        raise NotImplementedError

    def normalise(self, value: Any) -> Output:
        """An output read from JSON or a model, in the one shape the harness compares."""
        raise NotImplementedError

    def count(self, gold: Sequence[Output], predicted: Sequence[Output], labels: Sequence[str], *, threshold: float) -> Mapping[str, Counts]:
        """Per-label counts of ``predicted`` against ``gold`` (the headline scores' counts)."""
        raise NotImplementedError

    def scores(
        self, gold: Sequence[Output], predicted: Sequence[Output], labels: Sequence[str], *, resamples: int, seed: int, threshold: float
    ) -> TaskScores:
        """Scores with bootstrap intervals of ``predicted`` against ``gold``."""
        raise NotImplementedError

    def errors(self, gold: Any, predicted: Any, threshold: float) -> list[dict[str, Any]]:
        """One example's errors by kind (missed, spurious, boundary, wrong label)."""
        raise NotImplementedError

    def confusion(self, errors: Sequence[Sequence[Mapping[str, Any]]], labels: Sequence[str]) -> dict[str, Any]:
        """Counts over every example's :meth:`errors` (see :func:`harness.core.confusion.confusion`)."""
        return confusion(errors, labels, spans=self.has_spans)

    def label_view(self, value: Output | None, label: str) -> Output:
        """What a flip shows of an annotation for one label."""
        raise NotImplementedError

    def disagreement(self, a: Any, b: Any) -> float:
        """How much two outputs differ (the correction queue's ranking)."""
        raise NotImplementedError

    def comparable(self, value: Any, threshold: float = GOLD_POSITIVE) -> tuple[Any, ...]:
        """A hashable form in which two equal answers compare equal (categories: those on at ``threshold``)."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """JSON form: spans as lists, categories as a dict of floats."""
        raise NotImplementedError

    def prodigy_fields(self, value: Any, tokens: Sequence[Any] | None) -> dict[str, Any]:
        """The Prodigy task field (``spans`` or ``cats``) holding ``value``."""
        raise NotImplementedError

    def example_fields(self, value: Any) -> dict[str, Any]:
        """Keyword arguments of a gold example annotated with ``value`` (``spans`` and ``cats``)."""
        raise NotImplementedError

    def to_stored(self, value: Any, decimals: int | None = None) -> Any:
        """A prediction as a baseline stores it: sorted, typed; scores rounded to ``decimals``."""
        raise NotImplementedError

    def from_stored(self, value: Any) -> Output:
        """A stored prediction read back (raises TypeError/ValueError/... on a malformed one)."""
        raise NotImplementedError

    def same(self, expected: Any, predicted: Any, threshold: float) -> bool:
        """Whether a prediction says what was expected (categories: the same ones on at ``threshold``)."""
        raise NotImplementedError

    def says_something(self, value: Any, threshold: float) -> bool:
        """An entity, or a category on at ``threshold``."""
        raise NotImplementedError

    # -- student probabilities (spans or categories -> probability): expected errors, audit --

    def error_terms(self, llm_output: Any, probabilities: Mapping[Any, float], threshold: float) -> list[tuple[float, str, Any]]:
        """The expected errors of an LLM answer, one term per span or label, largest first:
        (expected error, ``"wrong"`` or ``"missed"``, the span or label)."""
        raise NotImplementedError

    def describe_item(self, text: str, item: Any) -> str:
        """A span or label as the reviewer reads it in the evidence."""
        raise NotImplementedError

    def confusion_key(self, text: str, item: Any) -> tuple[str, str]:
        """(surface form, label) of a span or label: what the queue's diversity cap counts."""
        raise NotImplementedError

    def student_answer(self, probabilities: Mapping[Any, float]) -> Output:
        """The student's own answer from its probabilities."""
        raise NotImplementedError

    def calibration_pairs(self, gold: Output, probabilities: Mapping[Any, float]) -> list[tuple[float, bool]]:
        """(probability, whether the gold agrees) for every scored span or label."""
        raise NotImplementedError

    def audit_findings(self, gold: Output, probabilities: Mapping[Any, float], confident: float) -> list[Finding]:
        """What a student's confident probabilities say against the gold (:mod:`harness.core.gold_audit`)."""
        raise NotImplementedError

    def audit_agreement(self, gold: Output, probabilities: Mapping[Any, float]) -> float:
        """How much of the gold the student confirms."""
        raise NotImplementedError

    def audit_proposal(self, gold: Output, findings: Sequence[Finding]) -> Output:
        """The gold with the findings applied (the reviewer's pre-filled answer)."""
        raise NotImplementedError


@dataclass(frozen=True)
class SpanTask(Task):
    name: ClassVar[str] = "ner"
    family: ClassVar[str] = "ner"
    has_spans: ClassVar[bool] = True

    def gold_output(self, example: Annotated) -> Output:
        return tuple(example.spans)

    def empty_output(self) -> Output:
        return ()

    def normalise(self, value: Any) -> Output:
        return tuple(sorted((int(s), int(e), str(label)) for s, e, label in (value or ())))

    def count_both(self, gold: Iterable[Sequence[SpanTuple]], predicted: Iterable[Sequence[SpanTuple]], labels: Iterable[str]) -> SpanCounts:
        """Strict and overlap counts (only spans have an overlap variant)."""
        return count_spans(gold, predicted, labels)

    def count(self, gold: Sequence[Output], predicted: Sequence[Output], labels: Sequence[str], *, threshold: float) -> Mapping[str, Counts]:
        return count_spans(_spans(gold), _spans(predicted), labels).strict

    def scores(
        self, gold: Sequence[Output], predicted: Sequence[Output], labels: Sequence[str], *, resamples: int, seed: int, threshold: float
    ) -> TaskScores:
        counts = count_spans(_spans(gold), _spans(predicted), labels)
        n = len(gold)
        strict = score_table(counts.strict, n, variant="strict", resamples=resamples, seed=seed)
        overlap = score_table(counts.overlap, n, variant="overlap", resamples=resamples, seed=seed)
        return TaskScores(strict, overlap, None, counts.strict)

    def errors(self, gold: Any, predicted: Any, threshold: float) -> list[dict[str, Any]]:
        return span_errors(gold or (), predicted or ())

    def label_view(self, value: Output | None, label: str) -> Output:
        return tuple(s for s in _spans([value or ()])[0] if s[2] == label)

    def disagreement(self, a: Any, b: Any) -> float:
        # differing spans, plus their share of all spans (ties broken towards flat contradictions)
        first, second = set(self.comparable(a)), set(self.comparable(b))
        diff = len(first ^ second)
        return diff + diff / max(1, len(first | second))

    def comparable(self, value: Any, threshold: float = GOLD_POSITIVE) -> tuple[Any, ...]:
        return tuple(sorted(tuple(s) for s in value or ()))

    def to_json(self, value: Any) -> Any:
        return [list(s) for s in value or ()]

    def prodigy_fields(self, value: Any, tokens: Sequence[Any] | None) -> dict[str, Any]:
        return {"spans": spans_to_records((tuple(s) for s in value or ()), tokens)}

    def example_fields(self, value: Any) -> dict[str, Any]:
        return {"spans": tuple(tuple(s) for s in value or ()), "cats": None}

    def to_stored(self, value: Any, decimals: int | None = None) -> Any:
        return [[int(s[0]), int(s[1]), str(s[2])] for s in sorted(value)]

    def from_stored(self, value: Any) -> Output:
        return tuple((int(s[0]), int(s[1]), str(s[2])) for s in value)

    def same(self, expected: Any, predicted: Any, threshold: float) -> bool:
        return set(expected) == set(predicted)

    def says_something(self, value: Any, threshold: float) -> bool:
        return bool(value)

    def error_terms(self, llm_output: Any, probabilities: Mapping[Any, float], threshold: float) -> list[tuple[float, str, Any]]:
        return error_contributions(self.comparable(llm_output), probabilities)

    def describe_item(self, text: str, item: Any) -> str:
        start, end, label = item
        return f"{start}-{end} {label} {text[start:end]!r}"

    def confusion_key(self, text: str, item: Any) -> tuple[str, str]:
        return (text[item[0] : item[1]].lower(), item[2])

    def student_answer(self, probabilities: Mapping[Any, float]) -> Output:
        # its most likely spans (p >= 0.5), without overlaps, the most probable first
        kept: list[SpanTuple] = []
        for span, p in sorted(probabilities.items(), key=lambda item: (-item[1], item[0])):
            if p >= GOLD_POSITIVE and all(span[1] <= s or span[0] >= e for s, e, _ in kept):
                kept.append(span)
        return tuple(sorted(kept))

    def calibration_pairs(self, gold: Output, probabilities: Mapping[Any, float]) -> list[tuple[float, bool]]:
        spans = set(self.comparable(gold))
        return [(p, span in spans) for span, p in probabilities.items()]

    def audit_findings(self, gold: Output, probabilities: Mapping[Any, float], confident: float) -> list[Finding]:
        return span_findings(self.comparable(gold), probabilities, confident)

    def audit_agreement(self, gold: Output, probabilities: Mapping[Any, float]) -> float:
        return span_agreement(self.comparable(gold), probabilities)

    def audit_proposal(self, gold: Output, findings: Sequence[Finding]) -> Output:
        return proposed_spans(self.comparable(gold), findings)


@dataclass(frozen=True)
class CategoryTask(Task):
    name: ClassVar[str] = "textcat"
    family: ClassVar[str] = "textcat"

    def gold_output(self, example: Annotated) -> Output:
        return dict(example.cats or {})

    def empty_output(self) -> Output:
        return {}

    def normalise(self, value: Any) -> Output:
        return {str(k): float(v) for k, v in dict(value or {}).items()}

    def positives(self, cats: Mapping[str, float] | None, threshold: float = GOLD_POSITIVE) -> set[str]:
        """The labels on at ``threshold`` (the gold's rule by default)."""
        return {k for k, v in (cats or {}).items() if v >= threshold}

    def count_cats(
        self, gold: Iterable[Mapping[str, float]], predicted: Iterable[Mapping[str, float]], labels: Sequence[str], *, threshold: float
    ) -> CatCounts:
        """Counts and AUC pairs, as spaCy's ``Scorer.score_cats`` makes them."""
        return count_cats(gold, predicted, labels, multi_label=self.multi_label, threshold=threshold)

    def count(self, gold: Sequence[Output], predicted: Sequence[Output], labels: Sequence[str], *, threshold: float) -> Mapping[str, Counts]:
        return self.count_cats(_cats(gold), _cats(predicted), labels, threshold=threshold).per_label

    def scores(
        self, gold: Sequence[Output], predicted: Sequence[Output], labels: Sequence[str], *, resamples: int, seed: int, threshold: float
    ) -> TaskScores:
        counts = self.count_cats(_cats(gold), _cats(predicted), labels, threshold=threshold)
        table = score_table(counts.per_label, len(gold), variant="threshold", resamples=resamples, seed=seed, extras={"threshold": threshold})
        return TaskScores(table, None, counts.auc_pairs, counts.per_label)

    def errors(self, gold: Any, predicted: Any, threshold: float) -> list[dict[str, Any]]:
        return cat_errors(gold or {}, predicted or {}, threshold)

    def label_view(self, value: Output | None, label: str) -> Output:
        return dict(_cats([value or {}])[0])

    def disagreement(self, a: Any, b: Any) -> float:
        # summed differences of the label scores: a margin (close calls score low)
        labels = set(a or {}) | set(b or {})
        return float(sum(abs(float((a or {}).get(x, 0.0)) - float((b or {}).get(x, 0.0))) for x in labels))

    def comparable(self, value: Any, threshold: float = GOLD_POSITIVE) -> tuple[Any, ...]:
        return tuple(sorted(self.positives(value, threshold)))

    def to_json(self, value: Any) -> Any:
        return {k: float(v) for k, v in (value or {}).items()}

    def prodigy_fields(self, value: Any, tokens: Sequence[Any] | None) -> dict[str, Any]:
        return {"cats": self.to_json(value)}

    def example_fields(self, value: Any) -> dict[str, Any]:
        return {"spans": (), "cats": dict(value or {})}

    def to_stored(self, value: Any, decimals: int | None = None) -> Any:
        if decimals is None:
            return {str(k): float(v) for k, v in sorted(value.items())}
        return {str(k): round(float(v), decimals) for k, v in sorted(value.items())}

    def from_stored(self, value: Any) -> Output:
        return {str(k): float(v) for k, v in value.items()}

    def same(self, expected: Any, predicted: Any, threshold: float) -> bool:
        return self.positives(expected, threshold) == self.positives(predicted, threshold)

    def says_something(self, value: Any, threshold: float) -> bool:
        return any(float(v) >= threshold for v in dict(value or {}).values())

    def error_terms(self, llm_output: Any, probabilities: Mapping[Any, float], threshold: float) -> list[tuple[float, str, Any]]:
        given = self.positives(llm_output, threshold)
        terms = [((1.0 - p, "wrong", label) if label in given else (p, "missed", label)) for label, p in probabilities.items()]
        terms += [(1.0, "wrong", label) for label in given if label not in probabilities]  # a label the student does not know
        return sorted(terms, key=lambda t: (-t[0], t[2]))

    def describe_item(self, text: str, item: Any) -> str:
        return str(item)

    def confusion_key(self, text: str, item: Any) -> tuple[str, str]:
        return ("", str(item))

    def student_answer(self, probabilities: Mapping[Any, float]) -> Output:
        return {str(k): float(v) for k, v in probabilities.items()}

    def calibration_pairs(self, gold: Output, probabilities: Mapping[Any, float]) -> list[tuple[float, bool]]:
        positive = self.positives(gold)  # type: ignore[arg-type]
        return [(p, label in positive) for label, p in probabilities.items()]

    def audit_findings(self, gold: Output, probabilities: Mapping[Any, float], confident: float) -> list[Finding]:
        return category_findings(self.positives(gold), probabilities, confident)  # type: ignore[arg-type]

    def audit_agreement(self, gold: Output, probabilities: Mapping[Any, float]) -> float:
        return category_agreement(self.positives(gold), probabilities)  # type: ignore[arg-type]

    def audit_proposal(self, gold: Output, findings: Sequence[Finding]) -> Output:
        return proposed_categories(gold, findings)  # type: ignore[arg-type]


@dataclass(frozen=True)
class MultiLabelTask(CategoryTask):
    name: ClassVar[str] = "textcat_multilabel"
    multi_label: ClassVar[bool] = True


def _spans(values: Sequence[Output]) -> list[Sequence[SpanTuple]]:
    return [v for v in values if not isinstance(v, dict)] if all(not isinstance(v, dict) for v in values) else _wrong("spans")


def _cats(values: Sequence[Output]) -> list[Mapping[str, float]]:
    return [v for v in values if isinstance(v, dict)] if all(isinstance(v, dict) for v in values) else _wrong("categories")


def _wrong(expected: str) -> Any:
    raise TypeError(f"expected {expected} for this task's outputs")


TASKS: dict[str, Task] = {task.name: task for task in (SpanTask(), CategoryTask(), MultiLabelTask())}


def task_of(name: str) -> Task:
    """The task called ``name`` (a gold manifest's ``task``)."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r} (known: {', '.join(TASKS)})") from None


#: The category rules (textcat and textcat_multilabel share them): the gold's positive rule.
CATEGORY_RULES = CategoryTask()
