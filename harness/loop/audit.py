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

from ..core.gold_audit import Suspect, ranked_suspects
from ..core.tasks import task_of
from ..gold.records import GoldExample
from ..gold.store import GoldVersion
from ..options import DEFAULT_AUDIT_CONFIDENT, DEFAULT_AUDIT_FOLDS, DEFAULT_REPORTS_DIR, SPLITS
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


def judge(examples: Sequence[GoldExample], scored: Scored, task: str, confident: float = DEFAULT_AUDIT_CONFIDENT) -> list[Audited]:
    """Suspects among ``examples`` from out-of-fold probabilities, most suspect first."""
    kind = task_of(task)
    gold = {e.input_hash: kind.gold_output(e) for e in examples}
    found = {h: kind.audit_findings(g, scored.probabilities[h], confident) for h, g in gold.items()}
    agreement = {h: kind.audit_agreement(g, scored.probabilities[h]) for h, g in gold.items()}
    by_hash = {e.input_hash: e for e in examples}
    return [Audited(by_hash[s.input_hash], s, kind.audit_proposal(gold[s.input_hash], s.findings)) for s in ranked_suspects(found, agreement)]


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
