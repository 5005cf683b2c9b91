"""``harness gold audit``: likely annotation errors in a gold version, from out-of-fold students.

K students are trained over the whole version (both splits; student ``i`` without fold
``i``) with the suite's distilled training settings; each example is then judged by the
student that never saw it (:mod:`harness.loop.cross_fit`, :mod:`harness.core.gold_audit`).
Suspects go to the suite's queue as ``gold_suspect`` records of scope ``gold``: reviewed as
gold checks (an answer other than the gold corrects it in a new gold version), never
training data. Probabilities are the students' raw ones (spaCy's beam for spans, ``doc.cats``
for categories): there is no gold beyond the one being audited to recalibrate them on.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.gold_audit import (
    Finding,
    Suspect,
    category_agreement,
    category_findings,
    proposed_categories,
    proposed_spans,
    ranked_suspects,
    span_agreement,
    span_findings,
)
from ..core.tasks import task_of
from ..gold.records import GoldExample
from ..gold.store import GoldVersion
from ..options import DEFAULT_AUDIT_CONFIDENT, DEFAULT_AUDIT_FOLDS, DEFAULT_REPORTS_DIR, DEFAULT_THRESHOLD, SPLITS
from ..specs import PipelineSpec, SuiteSpec
from . import queue
from .cross_fit import Folds, Scored, score_out_of_fold, train_students
from .records import make_record

STUDENT_NAME = "out-of-fold student"


@dataclass(frozen=True)
class Audited:
    """A suspect example: the example, its findings and the answer they propose."""

    example: GoldExample
    suspect: Suspect
    proposal: Any


@dataclass(frozen=True)
class AuditResult:
    """What an audit found in ``version``: suspects, most confident first."""

    version: str
    examples: int
    folds: int
    suspects: tuple[Audited, ...]


def findings_for(example: GoldExample, found: dict[Any, float], task: str, confident: float) -> list[Finding]:
    """One example's findings against its gold."""
    kind = task_of(task)
    if kind.has_spans:
        return span_findings(example.spans, found, confident)
    return category_findings(kind.comparable(kind.gold_output(example), DEFAULT_THRESHOLD), found, confident)


def agreement_for(example: GoldExample, found: dict[Any, float], task: str) -> float:
    """How much of the example's gold the student confirms (:mod:`harness.core.gold_audit`)."""
    kind = task_of(task)
    if kind.has_spans:
        return span_agreement(example.spans, found)
    return category_agreement(kind.comparable(kind.gold_output(example), DEFAULT_THRESHOLD), found)


def judge(examples: Sequence[GoldExample], scored: Scored, task: str, confident: float = DEFAULT_AUDIT_CONFIDENT) -> list[Audited]:
    """Suspects among ``examples`` from out-of-fold probabilities, most suspect first."""
    by_hash = {e.input_hash: e for e in examples}
    found = {e.input_hash: findings_for(e, scored.probabilities[e.input_hash], task, confident) for e in examples}
    agreement = {e.input_hash: agreement_for(e, scored.probabilities[e.input_hash], task) for e in examples}
    out = []
    for suspect in ranked_suspects(found, agreement):
        example = by_hash[suspect.input_hash]
        gold = task_of(task).gold_output(example)
        proposal = proposed_spans(gold, suspect.findings) if task_of(task).has_spans else proposed_categories(gold, suspect.findings)  # type: ignore[arg-type]
        out.append(Audited(example, suspect, proposal))
    return out


def audit(
    version: GoldVersion,
    distilled: PipelineSpec,
    *,
    folds: int = DEFAULT_AUDIT_FOLDS,
    seed: int = 0,
    max_steps: int | None = None,
    confident: float = DEFAULT_AUDIT_CONFIDENT,
    workdir: Path | None = None,
) -> AuditResult:
    """Train ``folds`` students over every example of ``version`` and judge each example
    with the one that never saw it."""
    examples = [e for split in SPLITS for e in version.iter_examples(split)]
    plan = Folds(folds, seed)
    with tempfile.TemporaryDirectory(prefix="harness-audit-") as scratch:
        students = train_students(
            examples,
            plan,
            distilled=distilled,
            task=version.task,
            workdir=workdir or Path(scratch),
            max_steps=max_steps,
            lang=str(version.manifest.get("lang", "en")),
        )
        scored = score_out_of_fold(students, {e.input_hash: e.text for e in examples}, version.task)
    return AuditResult(version.ref, len(examples), folds, tuple(judge(examples, scored, version.task, confident)))


def queue_suspects(spec: SuiteSpec, result: AuditResult, task: str, *, limit: int, reports_dir: str | Path = DEFAULT_REPORTS_DIR) -> Path:
    """The ``limit`` most suspect examples as ``gold_suspect`` records of scope ``gold`` in the
    suite's queue (the student's proposal pre-filled, the findings as evidence)."""
    fresh = []
    for item in result.suspects[:limit]:
        gold = task_of(task).gold_output(item.example)
        record = make_record(
            suite=spec.name,
            scope="gold",
            category="gold_suspect",
            example=item.example,
            task=task,
            best=item.proposal,
            gold=gold,
            predictions={STUDENT_NAME: item.proposal},
            informativeness=item.suspect.suspicion,
        )
        record["meta"]["evidence"] = [f.describe() for f in item.suspect.findings]
        record["meta"]["audit"] = result.version
        record["meta"]["split"] = item.example.split
        fresh.append(record)
    path = queue.queue_path(reports_dir, spec.name)
    queue.update(path, fresh, scope="gold", dataset=spec.gold.name)
    return path
