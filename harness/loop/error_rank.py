"""``queue fill --rank expected-error``: pool texts ranked by the expected number of errors
in the LLM's answer, from cross-fitted students (:mod:`harness.loop.cross_fit`).

Disagreement ranking asks "where does the distilled model differ from the LLM?", but a
student trained on the LLM's silver copies its systematic errors, so it agrees exactly
where the LLM is consistently wrong. Here every pool text is scored by a student that never
saw it, with probabilities recalibrated on the eval split, and the expected number of LLM
errors (:func:`harness.core.expected_errors.expected_errors`) ranks the queue. A diversity
cap keeps one confusion (a surface form and label) from filling it.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.expected_errors import diverse_top
from ..core.tasks import task_of
from ..gold.records import GoldExample
from ..options import DEFAULT_FOLDS, DEFAULT_THRESHOLD, DIVERSITY_SHARE
from ..specs import PipelineSpec
from .cross_fit import Folds, Scored, recalibrated, score_out_of_fold, train_students

EVIDENCE_SHOWN = 3


@dataclass(frozen=True)
class Ranked:
    """A pool text's expected LLM errors, what drives them (for the reviewer) and the
    confusion it counts against in the diversity cap."""

    score: float
    key: int
    text: str
    student: Any
    evidence: tuple[str, ...]
    confusion: tuple[str, str]


def rank_one(key: int, text: str, llm_output: Any, found: Mapping[Any, float], task: str, threshold: float) -> Ranked:
    """One text's expected LLM errors given the student's (recalibrated) probabilities."""
    kind = task_of(task)
    terms = kind.error_terms(llm_output, found, threshold)
    evidence = tuple(f"{why} {kind.describe_item(text, item)} ({p:.2f})" for p, why, item in terms[:EVIDENCE_SHOWN])
    confusion = kind.confusion_key(text, terms[0][2]) if terms else ("", "")
    return Ranked(sum(t[0] for t in terms), key, text, kind.student_answer(found), evidence, confusion)


def rank(
    texts: Mapping[int, str], llm_outputs: Mapping[int, Any], scored: Scored, task: str, *, limit: int, threshold: float = DEFAULT_THRESHOLD
) -> list[Ranked]:
    """The ``limit`` texts with the most expected LLM errors (ties: input hash, then text),
    at most ``ceil(limit * DIVERSITY_SHARE)`` of them led by the same confusion."""
    ranked = sorted(
        (rank_one(key, texts[key], llm_outputs[key], scored.probabilities[key], task, threshold) for key in texts),
        key=lambda r: (-r.score, r.key, r.text),
    )
    return diverse_top(ranked, limit, lambda r: r.confusion, max(1, math.ceil(limit * DIVERSITY_SHARE)))


def cross_fitted_scores(
    *,
    training: Sequence[GoldExample],
    texts: Mapping[int, str],
    eval_examples: Sequence[GoldExample],
    distilled: PipelineSpec,
    task: str,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    max_steps: int | None = None,
    workdir: Path | None = None,
    lang: str = "en",
) -> Scored:
    """Train ``folds`` students on ``training`` (fold-wise), recalibrate each on
    ``eval_examples`` and score every text of ``texts`` with the student that never saw it.
    The students live in ``workdir`` (a temporary directory, removed after, when None)."""
    plan = Folds(folds, seed)
    with tempfile.TemporaryDirectory(prefix="harness-students-") as scratch:
        where = workdir or Path(scratch)
        students = train_students(training, plan, distilled=distilled, task=task, workdir=where, max_steps=max_steps, lang=lang)
        if eval_examples:
            students = [recalibrated(s, task, eval_examples) for s in students]
        return score_out_of_fold(students, texts, task)
