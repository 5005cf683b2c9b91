"""``harness queue fill``: LLM/distilled disagreements on the unlabelled pool, most informative first."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..options import DEFAULT_QUEUE_FILL, DEFAULT_REPORTS_DIR
from ..specs import SuiteSpec
from . import queue
from .pool import gold_store, pool_examples, predict_outputs, training_hashes
from .records import disagreement_score, make_record, normalise


@dataclass(frozen=True)
class FillSummary:
    """Pool size, new disagreements found, records queued, and the queue file."""

    pool: int
    disagreements: int
    queued: int
    path: Path


def fill(
    spec: SuiteSpec,
    *,
    reports_dir: str | Path = DEFAULT_REPORTS_DIR,
    limit: int = DEFAULT_QUEUE_FILL,
    llm_mode: str | None = None,
    distilled_path: str | None = None,
    skip_trained: bool = False,
) -> FillSummary:
    """Run the distilled and LLM pipelines on the pool; queue the ``limit`` most
    informative disagreements not already queued.

    ``skip_trained`` leaves out texts already in the newest training version: a
    model trained on silver labels of a text reproduces them, so disagreement
    there says little (the loop distils from part of the pool and fills from the rest).
    """
    gold = gold_store(spec).resolve(spec.gold)
    examples = pool_examples(spec)
    path = queue.queue_path(reports_dir, spec.name)
    known = {int(r["_input_hash"]) for r in queue.load(path)}
    if skip_trained:
        known |= training_hashes(spec)
    candidates = [e for e in examples if e.input_hash not in known]
    distilled = spec.require_distilled()
    if distilled_path is not None:
        distilled = dataclasses.replace(distilled, path=distilled_path)
    llm = spec.require_llm()
    mine = predict_outputs(distilled, candidates, gold.task)
    theirs = predict_outputs(llm, candidates, gold.task, llm_mode)
    scored = []
    for example, d, m in zip(candidates, mine, theirs):
        if normalise(d, gold.task, spec.threshold) == normalise(m, gold.task, spec.threshold):
            continue
        scored.append((disagreement_score(d, m, gold.task), example, d, m))
    scored.sort(key=lambda item: (-item[0], item[1].input_hash))
    fresh = [
        make_record(
            suite=spec.name,
            scope="pool",
            category="disagreement",
            example=example,
            task=gold.task,
            best=m,
            gold=None,
            predictions={distilled.name: d, llm.name: m},
            informativeness=score,
        )
        for score, example, d, m in scored[:limit]
    ]
    queue.update(path, fresh, scope="pool", dataset=spec.gold.name)
    return FillSummary(len(examples), len(scored), len(fresh), path)
