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

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

Span = tuple[int, int, str]
T = TypeVar("T")


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


def error_contributions(llm_spans: Iterable[Span], probabilities: Mapping[Span, float]) -> list[tuple[float, str, Span]]:
    """Each term of :func:`expected_errors`, largest first: (expected error, ``"wrong"`` for an
    LLM span the student doubts or ``"missed"`` for a span the student expects and the LLM
    left out, the span). The first one is the record's evidence and its diversity key."""
    answered = set(llm_spans)
    terms = [(1.0 - probabilities.get(span, 0.0), "wrong", span) for span in answered]
    terms += [(p, "missed", span) for span, p in probabilities.items() if span not in answered]
    return sorted(terms, key=lambda t: (-t[0], t[2]))


@dataclass(frozen=True)
class Recalibration:
    """A monotone map from a raw probability to how often such spans were right, fitted by
    isotonic regression (pool-adjacent-violators) on an eval split with gold: ``knots`` are
    (highest raw probability of a block, share correct in the block), increasing."""

    knots: tuple[tuple[float, float], ...]
    spans: int

    def __call__(self, probability: float) -> float:
        """The calibrated probability: the share of the first block whose raw probabilities
        reach ``probability`` (the last block's above them all); unchanged when nothing was fitted."""
        if not self.knots:
            return probability
        for upper, share in self.knots:
            if probability <= upper:
                return share
        return self.knots[-1][1]


def isotonic(scored: Sequence[tuple[float, bool]]) -> Recalibration:
    """Fit :class:`Recalibration` on (raw probability, whether right) pairs."""
    groups: dict[float, list[float]] = {}  # equal raw scores are one block: one value each
    for probability, correct in scored:
        group = groups.setdefault(probability, [0.0, 0.0])
        group[0] += float(correct)
        group[1] += 1.0
    blocks: list[list[float]] = []  # [highest raw probability, right, count]
    for probability in sorted(groups):
        blocks.append([probability, *groups[probability]])
        # Merge while the previous block is right at least as often as this one (a violation).
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            blocks[-1] = [last[0], blocks[-1][1] + last[1], blocks[-1][2] + last[2]]
    return Recalibration(tuple((upper, right / n) for upper, right, n in blocks), len(scored))


def diverse_top(ranked: Iterable[T], limit: int, key: Callable[[T], Hashable], cap: int) -> list[T]:
    """The first ``limit`` of ``ranked`` (best first) taking at most ``cap`` items of each
    ``key``: one frequent confusion (a surface form and label) cannot fill the queue."""
    taken: list[T] = []
    per_key: dict[Hashable, int] = {}
    for item in ranked:
        if len(taken) >= limit:
            break
        k = key(item)
        if per_key.get(k, 0) >= cap:
            continue
        per_key[k] = per_key.get(k, 0) + 1
        taken.append(item)
    return taken
