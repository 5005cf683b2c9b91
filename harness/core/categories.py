"""Queue categories of an eval example: which kind of error the distilled model made,
seen against the gold and the LLM (pure; the queue, the reports and the HTML use it)."""

from __future__ import annotations

from typing import Any

from ..options import DEFAULT_THRESHOLD
from .tasks import task_of

#: What a queue record can be, in review priority order (CATEGORY_ORDER).
QUEUE_CATEGORIES = ("regression", "train_signal", "hard_case", "gold_suspect", "disagreement", "behaviour")
#: Review order: what most needs a human first.
CATEGORY_ORDER = {"regression": 0, "gold_suspect": 1, "train_signal": 2, "disagreement": 3, "hard_case": 4, "behaviour": 5}


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
