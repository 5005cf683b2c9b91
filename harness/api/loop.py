"""The correction queue and retraining.

Imports inside functions: this package loads with every command (see :mod:`harness.api`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..gold.store import GoldStore
from ..options import (
    DEFAULT_QUEUE_SHOWN,
    DEFAULT_REPORTS_DIR,
)
from ..specs import SuiteSpec

if TYPE_CHECKING:
    from ..core.forecast import LearningCurve


from .suite import parse_suite


def queue_records(suite: str, *, reports_dir: str = DEFAULT_REPORTS_DIR) -> tuple[Path, list[dict[str, Any]]]:
    """The suite's queue file and all its records, most useful first."""
    from ..loop import queue

    spec = parse_suite(suite)
    path = queue.queue_path(reports_dir, spec.name)
    return path, queue.load(path)


def queue_show(
    suite: str, *, reports_dir: str = DEFAULT_REPORTS_DIR, limit: int = DEFAULT_QUEUE_SHOWN, show_all: bool = False
) -> list[dict[str, Any]]:
    """Queue records, most useful first (open ones only unless ``show_all``)."""
    _, records = queue_records(suite, reports_dir=reports_dir)
    if not show_all:
        records = [r for r in records if r["harness"].get("status") == "open"]
    return records[:limit] if limit else records


def queue_counts(records: Sequence[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """How many records per (status, category)."""
    return Counter((r["harness"]["status"], r["harness"]["category"]) for r in records)


def retrain_and_compare(
    suite: str,
    *,
    pipeline: str | None = None,
    output: str | None = None,
    promote: bool = False,
    max_steps: int | None = None,
    force: bool = False,
    reports_dir: str | Path = DEFAULT_REPORTS_DIR,
) -> tuple[Any, Any, SuiteSpec]:
    """Retrain the distilled model (``harness retrain``) and evaluate it beside the LLM:
    (retrain summary, suite result of the new model, the suite)."""
    from ..core.compare import compare
    from ..core.results import SuiteResult
    from ..evaluate import gold_info
    from ..loop.retrain import retrain

    spec = parse_suite(suite)
    summary = retrain(spec, pipeline=pipeline, output=output, promote=promote, max_steps=max_steps, force=force, reports_dir=reports_dir)
    pipelines = {summary.result.name: summary.result}
    comparisons = []
    if summary.llm is not None:
        pipelines[summary.llm.name] = summary.llm
        comparisons.append(compare(summary.result, summary.llm, resamples=spec.resamples, seed=spec.seed))
    gold = GoldStore(spec.gold_dir).resolve(spec.gold)
    from ..evaluate import eval_views

    distilled, llm = spec.roles(pipelines)
    result = SuiteResult(
        f"{spec.name} (retrained)",
        str(spec.file),
        gold_info(gold),
        pipelines,
        {},
        [],
        comparisons,
        examples=eval_views(gold.task, list(gold.iter_examples("eval"))),
        threshold=spec.threshold,
        distilled=distilled,
        llm=llm,
    )
    return summary, result, spec


# -- baselines and history ------------------------------------------------------------


def learning_forecast(suite: str, *, reports_dir: str | Path = DEFAULT_REPORTS_DIR, target: float | None = None) -> LearningCurve:
    """The suite's learning curve (one point per ``harness retrain``, in ``reports/learning/``)
    and the corrections still needed to reach ``target`` (default: the LLM's F recorded
    with the points)."""
    from ..loop.learning import load_points, suite_forecast

    spec = parse_suite(suite)
    return suite_forecast(spec.name, load_points(reports_dir, spec.name), target=target, seed=spec.seed)
