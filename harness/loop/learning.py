"""The learning curve of a suite: one point per retrained model (its training version, the
corrections in it, its per-eval-example counts), kept in ``reports/learning/<suite>.jsonl``,
and the effort forecast read from it (:mod:`harness.core.forecast`).

``harness retrain`` (and every round of ``harness loop``) adds a point; a retrain on the same
training version replaces that version's point. ``harness forecast SUITE``, the pytest
terminal summary and the HTML report read the points scored on the current eval split
(same gold sha256) and forecast the corrections still needed to reach the LLM's F.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.forecast import LearningCurve, forecast, micro_f_replicates
from ..core.metrics import count_matrix
from ..core.results import PipelineResult
from ..errors import InputError
from ..io import atomic
from ..io.clock import now_iso
from ..io.jsonl import read_jsonl
from . import queue

LEARNING_DIRNAME = "learning"
FORECAST_RESAMPLES = 200
FORECAST_MIN_POINTS = 3  # a curve through fewer points says nothing


@dataclass(frozen=True)
class LearningPoint:
    """A retrained model on the learning curve."""

    training: str
    corrected: int
    micro_f: float
    llm_f: float | None
    gold_sha256: str
    created: str
    # Per eval example: true positives, false positives, false negatives (the forecast's bootstrap).
    counts: np.ndarray = field(repr=False, compare=False)


def micro_counts(result: PipelineResult) -> np.ndarray:
    """(examples x 3) true positives, false positives, false negatives per eval example, all labels together."""
    labels = [s.label for s in result.scores.labels]
    matrix = count_matrix(result.counts, labels, result.eval_examples)
    return np.stack([matrix[:, k::3].sum(axis=1) for k in range(3)], axis=1)


def learning_path(reports_dir: str | Path, suite: str) -> Path:
    return queue.queue_path(reports_dir, suite).parent.parent / LEARNING_DIRNAME / f"{suite}.jsonl"


def load_points(reports_dir: str | Path, suite: str) -> list[LearningPoint]:
    """The suite's points, oldest first (none when it has no file); a damaged line is an error naming it."""
    path = learning_path(reports_dir, suite)
    if not path.exists():
        return []
    points = []
    for number, row in read_jsonl(path):
        try:
            points.append(
                LearningPoint(
                    str(row["training"]),
                    int(row["corrected"]),
                    float(row["micro_f"]),
                    None if row.get("llm_f") is None else float(row["llm_f"]),
                    str(row["gold_sha256"]),
                    str(row["created"]),
                    np.asarray(row["counts"], dtype=float).reshape(-1, 3),
                )
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"not a learning-curve point: {err}", path=path, line=number) from None
    return points


def record_point(
    reports_dir: str | Path, suite: str, training: str, corrected: int, result: PipelineResult, llm_f: float | None, gold_sha256: str
) -> Path:
    """Add (or replace, for the same training version) the point of a retrained model."""
    path = learning_path(reports_dir, suite)
    point = {
        "training": training,
        "corrected": corrected,
        "micro_f": result.scores.micro.f,
        "llm_f": llm_f,
        "gold_sha256": gold_sha256,
        "created": now_iso(),
        "counts": micro_counts(result).astype(int).tolist(),
    }
    with queue.locked(path):
        kept = [json.dumps(row, sort_keys=True) for _, row in (read_jsonl(path) if path.exists() else []) if row.get("training") != training]
        atomic.write_text(path, "".join(f"{line}\n" for line in [*kept, json.dumps(point, sort_keys=True)]))
    return path


def current_points(points: Sequence[LearningPoint]) -> list[LearningPoint]:
    """The points scored on the newest point's eval split, by corrections."""
    if not points:
        return []
    current = [p for p in points if p.gold_sha256 == points[-1].gold_sha256 and p.counts.shape == points[-1].counts.shape]
    return sorted(current, key=lambda p: (p.corrected, p.created))


def suite_forecast(suite: str, points: Sequence[LearningPoint], *, target: float | None = None, seed: int = 0) -> LearningCurve:
    """The learning curve and forecast from the points on the current eval split; the target
    is the newest LLM F recorded unless one is given."""
    current = current_points(points)
    if target is None:
        target = next((p.llm_f for p in reversed(points) if p.llm_f is not None), None)
    shown = tuple((p.corrected, p.micro_f) for p in current)
    if target is None or len(current) < FORECAST_MIN_POINTS or current[-1].micro_f >= target:
        return LearningCurve(suite, shown, target, None)
    replicates = micro_f_replicates([p.counts for p in current], FORECAST_RESAMPLES, seed)
    return LearningCurve(suite, shown, target, forecast([p.corrected for p in current], replicates, target))
