"""Likely annotation errors in gold, from an out-of-fold student's probabilities (pure; the
students and their probabilities come from :mod:`harness.loop.cross_fit`).

A student that never saw an example is asked about it. Where it is confident and the gold
says otherwise, the gold is suspect:

- ``rejected``: a gold span (or category) the student gives probability <= 1 - confident;
- ``relabel``: a gold span the student confidently gives another label (same offsets);
- ``missing``: a span (or category) the student is confident of and the gold lacks.

An example's suspicion is its most confident finding times how much of the rest of its
gold the student confirms (``(confirmed + 1) / (gold items + 1)``): a student that agrees
with an example everywhere but in one place points at a gold error, one that disagrees
everywhere points at its own failure. (Measured on 10% planted errors in a 420-example cut
of restaurant-reviews, 3 students of 600 steps: precision of the top 20 0.10 by confidence
alone, 0.50 with the agreement factor; tests/integration/test_gold_audit.py.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..options import DEFAULT_AUDIT_CONFIDENT as DEFAULT_CONFIDENT
from .expected_errors import Span


@dataclass(frozen=True)
class Finding:
    """One reason to doubt the gold: its kind, the gold span or label it is about (None for
    ``missing``), what the student proposes instead (None for ``rejected``) and how sure it is."""

    kind: str
    gold: Span | str | None
    proposed: Span | str | None
    confidence: float

    def describe(self) -> str:
        """One line for the reviewer, e.g. ``relabel 4-9 Dish -> Cuisine (0.93)``."""

        def show(item: Span | str | None) -> str:
            return f"{item[0]}-{item[1]} {item[2]}" if isinstance(item, tuple) else str(item)

        if self.kind == "relabel":
            return (
                f"relabel {show(self.gold)} -> {self.proposed[2] if isinstance(self.proposed, tuple) else self.proposed} ({self.confidence:.2f})"
            )
        target = self.gold if self.kind == "rejected" else self.proposed
        return f"{self.kind} {show(target)} ({self.confidence:.2f})"


@dataclass(frozen=True)
class Suspect:
    """An example whose gold the audit doubts, with its findings (most confident first)."""

    input_hash: int
    findings: tuple[Finding, ...]
    agreement: float = 1.0  # share of the example's other gold the student confirms (smoothed)

    @property
    def confidence(self) -> float:
        return self.findings[0].confidence

    @property
    def suspicion(self) -> float:
        return self.confidence * self.agreement

    def order(self) -> tuple[float, float, int]:
        return (-self.suspicion, -self.confidence, self.input_hash)


def span_findings(gold_spans: Iterable[Span], probabilities: Mapping[Span, float], confident: float = DEFAULT_CONFIDENT) -> list[Finding]:
    """What a student's span probabilities say against one example's gold spans."""
    gold = set(gold_spans)
    found: list[Finding] = []
    relabelled: set[Span] = set()
    for span in sorted(gold):
        start, end, label = span
        others = [(p, other) for other, p in probabilities.items() if other[:2] == (start, end) and other[2] != label]
        best = max(others, default=None)
        if best is not None and best[0] >= confident:
            found.append(Finding("relabel", span, best[1], best[0]))
            relabelled.add(best[1])
        elif 1.0 - probabilities.get(span, 0.0) >= confident:
            found.append(Finding("rejected", span, None, 1.0 - probabilities.get(span, 0.0)))
    for span, p in probabilities.items():
        if span not in gold and span not in relabelled and p >= confident:
            found.append(Finding("missing", None, span, p))
    return sorted(found, key=lambda f: (-f.confidence, f.kind, str(f.gold), str(f.proposed)))


def category_findings(gold_positive: Iterable[str], probabilities: Mapping[str, float], confident: float = DEFAULT_CONFIDENT) -> list[Finding]:
    """What a student's category probabilities say against one example's gold categories."""
    given = set(gold_positive)
    found = [Finding("rejected", label, None, 1.0 - probabilities.get(label, 0.0)) for label in sorted(given)]
    found = [f for f in found if f.confidence >= confident]
    found += [Finding("missing", None, label, p) for label, p in sorted(probabilities.items()) if label not in given and p >= confident]
    return sorted(found, key=lambda f: (-f.confidence, f.kind, str(f.gold), str(f.proposed)))


def span_agreement(gold_spans: Iterable[Span], probabilities: Mapping[Span, float]) -> float:
    """(gold spans the student gives p >= 0.5, plus one) / (gold spans, plus one)."""
    gold = set(gold_spans)
    return (sum(1 for span in gold if probabilities.get(span, 0.0) >= 0.5) + 1) / (len(gold) + 1)


def category_agreement(gold_positive: Iterable[str], probabilities: Mapping[str, float]) -> float:
    """(labels on which the student's decision at 0.5 is the gold's, plus one) / (labels, plus one)."""
    given = set(gold_positive)
    labels = set(probabilities) | given
    return (sum(1 for label in labels if (probabilities.get(label, 0.0) >= 0.5) == (label in given)) + 1) / (len(labels) + 1)


def ranked_suspects(findings: Mapping[int, list[Finding]], agreement: Mapping[int, float] | None = None) -> list[Suspect]:
    """Examples with at least one finding, most suspect first."""
    suspects = [Suspect(h, tuple(f), (agreement or {}).get(h, 1.0)) for h, f in findings.items() if f]
    return sorted(suspects, key=Suspect.order)


def proposed_spans(gold_spans: Iterable[Span], findings: Iterable[Finding]) -> tuple[Span, ...]:
    """The gold spans with the findings applied (the reviewer's pre-filled answer): rejected
    spans dropped, relabelled ones changed, missing ones added where they overlap nothing kept."""
    spans = set(gold_spans)
    added: list[Span] = []
    for finding in findings:
        if finding.kind in ("rejected", "relabel") and isinstance(finding.gold, tuple):
            spans.discard(finding.gold)
        if finding.kind in ("relabel", "missing") and isinstance(finding.proposed, tuple):
            added.append(finding.proposed)
    for span in added:
        if all(span[1] <= s or span[0] >= e for s, e, _ in spans):
            spans.add(span)
    return tuple(sorted(spans))


def proposed_categories(gold_cats: Mapping[str, float], findings: Iterable[Finding]) -> dict[str, float]:
    """The gold categories with the findings applied: rejected labels off, missing ones on."""
    cats = dict(gold_cats)
    for finding in findings:
        if finding.kind == "rejected" and isinstance(finding.gold, str):
            cats[finding.gold] = 0.0
        if finding.kind == "missing" and isinstance(finding.proposed, str):
            cats[finding.proposed] = 1.0
    return cats
