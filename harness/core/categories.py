"""Queue categories of an eval example: which kind of error the distilled model made,
seen against the gold and the LLM (pure; the queue, the reports and the HTML use it)."""

from __future__ import annotations

from typing import Any

from ..options import DEFAULT_THRESHOLD
from .results import PipelineResult, SuiteResult
from .tasks import task_of

#: What a queue record can be, in review priority order (CATEGORY_ORDER).
QUEUE_CATEGORIES = ("regression", "train_signal", "hard_case", "gold_suspect", "disagreement", "sampled", "behaviour")
#: Review order: what most needs a human first ("sampled": a pool text picked at random, --rank random).
CATEGORY_ORDER = {"regression": 0, "gold_suspect": 1, "train_signal": 2, "disagreement": 3, "sampled": 3, "hard_case": 4, "behaviour": 5}


def categorize(gold: Any, distilled: Any, llm: Any | None, task: str, threshold: float = DEFAULT_THRESHOLD) -> str | None:
    """Which queue category an eval example falls in, or None if the distilled model is right:
    ``train_signal`` (the LLM got it right), ``gold_suspect`` (LLM and distilled agree against
    the gold), ``hard_case`` (both wrong, differently). Without an LLM, every distilled error
    is a ``hard_case``. (A ``regression``, newly broken since the baseline, is decided by the
    caller, which knows the flips.)
    """
    kind = task_of(task)
    g, d = kind.comparable(gold, threshold), kind.comparable(distilled, threshold)
    if llm is None:
        return None if d == g else "hard_case"
    m = kind.comparable(llm, threshold)
    if d == g:
        return None
    if m == g:
        return "train_signal"
    return "gold_suspect" if m == d else "hard_case"


def answered_outputs(result: PipelineResult) -> tuple[Any, ...]:
    """A pipeline's outputs with None where it gave no answer (an empty or unparseable LLM
    answer must not count as agreeing with anything)."""
    unanswered = set(result.unanswered)
    return tuple(None if i in unanswered else output for i, output in enumerate(result.outputs))


def _aligned(result: PipelineResult, position: int, input_hash: int) -> bool:
    return position < len(result.outputs) and result.example_ids[position] == input_hash


def suite_categories(result: SuiteResult) -> dict[int, str]:
    """The queue category of every eval example the distilled pipeline gets wrong, by input
    hash: computed once per run and used by both the JSON report (the example browser) and
    the correction queue. Newly broken since the baseline is ``regression``."""
    if result.distilled is None or result.distilled not in result.pipelines:
        return {}
    distilled = result.pipelines[result.distilled]
    llm = result.pipelines.get(result.llm) if result.llm is not None else None
    mine = answered_outputs(distilled)
    theirs_all = answered_outputs(llm) if llm is not None else ()
    compared = result.baselines.get(result.distilled)
    broken = {flip.input_hash for flip in compared.broken} if compared is not None else set()
    out: dict[int, str] = {}
    for position, example in enumerate(result.examples):
        if not _aligned(distilled, position, example.input_hash):
            continue  # a result on another split order (never from a session)
        theirs = theirs_all[position] if llm is not None and _aligned(llm, position, example.input_hash) else None
        category = categorize(example.gold, mine[position], theirs, result.gold.task, result.threshold)
        if category is not None:
            out[example.input_hash] = "regression" if example.input_hash in broken else category
    return out
