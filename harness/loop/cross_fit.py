"""Cross-fitted students: every text is scored by a model that never saw it.

A model trained on a text reproduces its labels, right or wrong, so its confidence there
says nothing about them. K students are trained, student ``i`` on the examples outside
fold ``i``; a training text of fold ``i`` is then scored by student ``i`` only, any other
text by all K (a committee, their probabilities averaged). Folds are drawn per
input hash (:func:`harness.core.stats.keyed_uniform`), so a text keeps its fold when others
come and go. The same students rank the pool by expected LLM error (``queue fill --rank
expected-error``) and audit gold (``harness gold audit``).

Raw probabilities (spaCy's beam for spans, ``doc.cats`` for categories) are recalibrated
per student by isotonic regression on the suite gold's eval split when one is given
(:func:`harness.core.expected_errors.isotonic`), measured before and after as expected
calibration error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.expected_errors import Calibration, Recalibration, calibration, isotonic
from ..core.stats import keyed_uniform
from ..core.tasks import task_of
from ..errors import InputError
from ..gold.records import GoldExample, with_split
from ..gold.store import GoldStore
from ..runners.span_probabilities import probabilities
from ..specs import PipelineSpec
from .retrain import train_distilled

MIN_FOLD_EXAMPLES = 20  # a student trained on fewer says nothing


@dataclass(frozen=True)
class Folds:
    """``k`` folds drawn per input hash with ``seed``."""

    k: int
    seed: int = 0

    def of(self, input_hash: int) -> int:
        return min(self.k - 1, int(keyed_uniform(self.seed, "fold", input_hash) * self.k))


@dataclass(frozen=True)
class Student:
    """One fold's student: where it is, which texts it was trained on, its recalibration
    (None: raw probabilities) and its calibration on the eval split before and after."""

    fold: int
    path: Path
    trained_on: frozenset[int]
    recalibration: Recalibration | None = None
    before: Calibration | None = None
    after: Calibration | None = None


@dataclass(frozen=True)
class Scored:
    """Per input hash: the (recalibrated) probabilities and the folds of the students that gave them."""

    probabilities: dict[int, dict[Any, float]]
    scored_by: dict[int, tuple[int, ...]]
    students: tuple[Student, ...] = field(default=())


def train_students(
    examples: Sequence[GoldExample],
    folds: Folds,
    *,
    distilled: PipelineSpec,
    task: str,
    workdir: Path,
    max_steps: int | None,
    step_share: float = 1.0,
    lang: str = "en",
) -> list[Student]:
    """K students, student ``i`` trained (with the distilled pipeline's settings) on the
    ``examples`` outside fold ``i``; their data versions are written under ``workdir``, never
    into the suite's gold."""
    if folds.k < 2:
        raise InputError(f"cross-fitting needs at least 2 folds, got {folds.k}", field="folds")
    store = GoldStore(workdir / "gold")
    students = []
    for fold in range(folds.k):
        kept = [with_split(e, "train") for e in examples if folds.of(e.input_hash) != fold]
        if len(kept) < MIN_FOLD_EXAMPLES:
            raise InputError(f"fold {fold} of {folds.k} leaves {len(kept)} training examples (fewer than {MIN_FOLD_EXAMPLES})", field="folds")
        version = store.write_version(
            f"fold-{fold}-of-{folds.k}", kept, task=task, source={"cross_fit": fold}, eval_fraction=0.0, seed=0, lang=lang
        )
        trained = train_distilled(distilled, version, workdir / "students" / f"fold-{fold}", max_steps, step_share=step_share)
        students.append(Student(fold, Path(trained.output), frozenset(e.input_hash for e in kept)))
    return students


def recalibrated(student: Student, task: str, eval_examples: Sequence[GoldExample]) -> Student:
    """``student`` with an isotonic recalibration fitted on ``eval_examples`` (with gold) and
    its calibration there before and after. "After" is measured out of sample: fitted on one
    half of the eval documents and measured on the other, both ways (a fit measured on its
    own data would look perfect)."""
    found = probabilities(student.path, [e.text for e in eval_examples], spans=task_of(task).has_spans)
    kind = task_of(task)
    per_doc = [kind.calibration_pairs(kind.gold_output(e), scores) for e, scores in zip(eval_examples, found, strict=True)]
    pairs = [pair for doc in per_doc for pair in doc]
    if not pairs:
        return student
    halves = ([p for doc in per_doc[0::2] for p in doc], [p for doc in per_doc[1::2] for p in doc])
    held_out = []
    for fit_on, measure_on in (halves, halves[::-1]):
        fitted_half = isotonic(fit_on) if fit_on else None
        held_out += [(fitted_half(p) if fitted_half else p, right) for p, right in measure_on]
    return Student(student.fold, student.path, student.trained_on, isotonic(pairs), calibration(pairs), calibration(held_out))


def score_out_of_fold(students: Sequence[Student], texts: Mapping[int, str], task: str) -> Scored:
    """Each text's probabilities from the students that never saw it: the one student of its
    fold for a text they were trained on, all of them (a committee: their probabilities
    averaged) for any other text. Each student's probabilities are recalibrated first when it
    has a recalibration. A text every student saw is a bug in the folds, and an error."""
    eligible = {key: tuple(s.fold for s in students if key not in s.trained_on) for key in texts}
    unscored = [key for key, folds in eligible.items() if not folds]
    if unscored:
        raise InputError(f"{len(unscored)} text(s) were seen by every student (e.g. input hash {unscored[0]}): nothing can score them")
    summed: dict[int, dict[Any, float]] = {key: {} for key in texts}
    for student in students:
        keys = [key for key in texts if student.fold in eligible[key]]
        raw = probabilities(student.path, [texts[k] for k in keys], spans=task_of(task).has_spans)
        fix = student.recalibration
        for key, scores in zip(keys, raw, strict=True):
            into = summed[key]
            for item, p in scores.items():
                into[item] = into.get(item, 0.0) + (fix(p) if fix else p)
    found = {key: {item: total / len(eligible[key]) for item, total in scores.items()} for key, scores in summed.items()}
    return Scored(found, eligible, tuple(students))


def describe_calibration(students: Sequence[Student]) -> str:
    """One line: how the probabilities were calibrated, with the eval split's ECE."""
    fitted = [s for s in students if s.before is not None and s.after is not None]
    if not fitted:
        return "raw probabilities (no eval split to calibrate on)"
    before = sum(s.before.ece for s in fitted if s.before) / len(fitted)
    after = sum(s.after.ece for s in fitted if s.after) / len(fitted)
    return (
        f"isotonic recalibration on the eval split (mean ECE of {len(fitted)} students: raw {before:.3f}, "
        f"recalibrated {after:.3f}, measured on eval documents the fit did not see)"
    )
