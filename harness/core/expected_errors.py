"""How many errors an LLM answer is expected to hold, from a student's per-span probabilities
(pure; the probabilities come from :mod:`harness.runners.span_probabilities`).

For one text, with ``p(s)`` the probability the student gives that span ``s`` (start, end,
label) is a true entity::

    E[LLM errors] = sum over LLM spans s of (1 - p(s))          # spans the LLM got wrong
                  + sum over other spans t of p(t)               # true spans the LLM missed

This is the ranking the issue asks for (``--rank expected-error``), once the student is
trained without the text (cross-fitting) and its probabilities are calibrated; whether
they are is measured by :func:`calibration` (expected calibration error over equal-width
bins) on an eval split with gold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Span = tuple[int, int, str]


def expected_errors(llm_spans: Iterable[Span], probabilities: Mapping[Span, float]) -> float:
    """The expected number of errors in ``llm_spans`` given the student's span probabilities
    (a span the student never scored counts as probability 0)."""
    answered = set(llm_spans)
    wrong = sum(1.0 - probabilities.get(span, 0.0) for span in answered)
    missed = sum(p for span, p in probabilities.items() if span not in answered)
    return wrong + missed


@dataclass(frozen=True)
class Calibration:
    """How well span probabilities match how often such spans are right: per bin (low, high,
    spans, mean probability, share correct) and the expected calibration error."""

    bins: tuple[tuple[float, float, int, float, float], ...]
    ece: float
    spans: int


def calibration(scored: Sequence[tuple[float, bool]], bins: int = 10) -> Calibration:
    """``scored``: (probability, whether the span is in the gold) for every scored span."""
    counts = [[0, 0.0, 0] for _ in range(bins)]  # spans, summed probability, correct
    for probability, correct in scored:
        i = min(bins - 1, int(probability * bins))
        counts[i][0] += 1
        counts[i][1] += probability
        counts[i][2] += int(correct)
    rows = []
    ece = 0.0
    total = len(scored)
    for i, (n, summed, right) in enumerate(counts):
        if n == 0:
            continue
        mean, share = summed / n, right / n
        rows.append((i / bins, (i + 1) / bins, int(n), mean, share))
        ece += n / total * abs(mean - share)
    return Calibration(tuple(rows), ece, total)
