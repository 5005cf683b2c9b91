"""Queue records: categories, the pre-filled answer and the informativeness score.

A record is a Prodigy task (``text``, ``tokens``, ``spans`` or ``cats``, ``meta``,
``_input_hash``, ``_task_hash``) plus a ``harness`` object with what the reviewer
needs: the category, every pipeline's prediction, the gold, and the decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.spans import tokens_to_records
from ..core.tasks import task_of
from ..gold.records import GoldExample, stable_hash
from ..io.clock import now_iso
from ..options import DEFAULT_THRESHOLD

QUEUED_CASES = 20  # failing behavioural cases per check sent to the queue

DECISIONS = ("gold", "llm", "distilled", "edited", "reject", "flag", "skip")
ACCEPTING = ("gold", "llm", "distilled", "edited")  # decisions that carry an answer to apply


def normalise(value: Any, task: str, threshold: float = DEFAULT_THRESHOLD) -> Any:
    """Comparable form of an annotation: a sorted span tuple list, or the set of positive labels."""
    return task_of(task).comparable(value, threshold)


def disagreement_score(distilled: Any, llm: Any, task: str) -> float:
    """How informative a pool text is: the size of the disagreement.

    NER: differing spans over all spans (0..1) plus one per differing span, so that
    larger disagreements come first. Text classification: the summed absolute
    difference of label scores (a margin: close calls between the two models
    score low, flat contradictions high).
    """
    return task_of(task).disagreement(distilled, llm)


def annotation_fields(task: str, value: Any, tokens: Sequence[Any] | None) -> dict[str, Any]:
    """The Prodigy ``spans`` or ``cats`` field for an annotation."""
    return task_of(task).prodigy_fields(value, tokens)


def _plain(value: Any, task: str) -> Any:
    """JSON form of spans (lists) or cats (dict)."""
    return task_of(task).to_json(value)


def make_record(
    *,
    suite: str,
    scope: str,
    category: str,
    example: GoldExample,
    task: str,
    best: Any,
    gold: Any | None,
    predictions: Mapping[str, Any],
    informativeness: float,
) -> dict[str, Any]:
    """One queue task, pre-filled with ``best`` (the answer most likely right)."""
    record: dict[str, Any] = {
        "text": example.text,
        "_input_hash": example.input_hash,
        "meta": {"suite": suite, "category": category, "score": round(informativeness, 4)},
        **annotation_fields(task, best, example.tokens),
    }
    if example.tokens is not None:
        record["tokens"] = tokens_to_records(example.tokens)
    annotation = json.dumps(record.get("spans", record.get("cats")), sort_keys=True)
    record["_task_hash"] = stable_hash(f"{example.input_hash}|{suite}|{annotation}")
    now = now_iso()
    record["harness"] = {
        "suite": suite,
        "scope": scope,
        "category": category,
        "status": "open",
        "decision": None,
        "answer": None,
        "gold": _plain(gold, task) if gold is not None else None,
        "predictions": {name: _plain(v, task) if v is not None else None for name, v in predictions.items()},
        "informativeness": informativeness,
        "first_seen": now,
        "last_seen": now,
        "applied_to": None,
    }
    return record


def eval_records(
    *,
    suite: str,
    task: str,
    examples: Sequence[GoldExample],
    outputs: Mapping[str, Sequence[Any]],
    distilled: str,
    llm: str | None,
    categories: Mapping[int, str],
) -> list[dict[str, Any]]:
    """Queue records for the eval examples the distilled pipeline gets wrong.

    ``outputs`` maps pipeline name -> per-example predictions (same order as
    ``examples``; None where a pipeline gave no answer); ``categories`` are the run's
    (:func:`harness.core.categories.suite_categories`, the ones the report shows). The
    pre-filled answer is the one most likely right: the LLM's for a training signal (it
    equals the gold), the models' shared answer for a suspected gold error, the gold for
    a hard case or a ``regression`` (the blessed baseline got it right, the distilled
    model now does not).
    """
    records = []
    for i, example in enumerate(examples):
        category = categories.get(example.input_hash)
        if category is None:
            continue
        gold = task_of(task).gold_output(example)
        mine = outputs[distilled][i]
        theirs = outputs[llm][i] if llm is not None else None
        best = {"train_signal": theirs, "gold_suspect": mine}.get(category, gold)
        score = disagreement_score(mine, gold, task)
        records.append(
            make_record(
                suite=suite,
                scope="eval",
                category=category,
                example=example,
                task=task,
                best=best,
                gold=gold,
                predictions={name: values[i] for name, values in outputs.items()},
                informativeness=score,
            )
        )
    return records


def behaviour_records(suite: str, task: str, results: Sequence[Any]) -> list[dict[str, Any]]:
    """Queue records for failing behavioural cases: the perturbed text, pre-filled with what
    the check expected (a reviewer confirms or corrects it; applied, it becomes training data)."""
    records: dict[int, dict[str, Any]] = {}
    for result in results:
        # The shrunk cases first (the smallest change that fails: the clearest to review), then
        # the generated ones, QUEUED_CASES per check: the queue is for reviewing, not a dump.
        for case in [*result.shrunk, *result.failures][:QUEUED_CASES]:
            example = GoldExample(
                input_hash=stable_hash(case.text),
                text=case.text,
                split="behaviour",
                **task_of(task).example_fields(case.expected),
            )
            record = make_record(
                suite=suite,
                scope="behaviour",
                category="behaviour",
                example=example,
                task=task,
                best=case.expected,
                gold=None,
                predictions={result.pipeline: case.predicted},
                informativeness=disagreement_score(case.predicted, case.expected, task),
            )
            record["meta"]["check"] = result.check
            record["meta"]["change"] = case.change
            record["meta"]["original_input_hash"] = case.input_hash
            records.setdefault(example.input_hash, record)
    return list(records.values())
