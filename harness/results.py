"""Frozen result types and their JSON form (documented in docs/results-schema.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .metrics import LabelScore, ScoreTable

RESULTS_SCHEMA = "distill-harness/results/v1"


@dataclass(frozen=True)
class SpeedStats:
    """Throughput and latency, measured during the prediction pass itself.

    The first ``latency_docs`` texts go through ``nlp(text)`` one at a time: they
    warm the pipeline up and give per-document latency. The rest go through
    ``nlp.pipe`` in batches, each timed on its own; ``words_per_second`` is the
    median over those timed batches (words = tokens, as ``spacy benchmark speed``
    counts them). No text is processed twice, so evaluation costs one pass.
    """

    words_per_second: float
    words: int
    docs: int
    seconds: float
    latency_p50_ms: float
    latency_p95_ms: float
    timed_batches: int
    batch_size: int
    method: str = "median words/s over timed nlp.pipe batches after per-doc warm-up"


@dataclass(frozen=True)
class GoldInfo:
    """Which gold a result was computed on: results only compare on the same sha256."""

    name: str
    version: int
    sha256: str
    task: str
    train_examples: int
    eval_examples: int

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class PipelineResult:
    """Everything measured about one pipeline on one gold eval split."""

    name: str
    kind: str
    path: str
    task: str
    scores: ScoreTable
    overlap: ScoreTable | None
    macro_auc: float | None
    speed: SpeedStats
    size_bytes: int
    n_params: int | None
    train_examples: int | None
    eval_examples: int
    example_ids: tuple[int, ...]  # position -> gold input hash
    training: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one gate: pure data, no printing."""

    gate_id: str
    pipeline: str
    passed: bool
    measured: float
    threshold: float
    op: str
    ci: tuple[float, float] | None
    message: str


@dataclass(frozen=True)
class SuiteResult:
    """One suite's gold, pipeline results (or errors) and gate verdicts."""

    name: str
    file: str
    gold: GoldInfo
    pipelines: Mapping[str, PipelineResult]
    errors: Mapping[str, str]
    verdicts: Sequence[Verdict]

    @property
    def passed(self) -> bool:
        return not self.errors and all(v.passed for v in self.verdicts)


def _num(value: float | None) -> float | None:
    """JSON has no NaN: undefined figures become null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _ci(interval: tuple[float, float] | None) -> list[float | None] | None:
    return None if interval is None else [_num(interval[0]), _num(interval[1])]


def label_score_to_dict(score: LabelScore, example_ids: Sequence[int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "p": score.p, "r": score.r, "f": score.f,
        "tp": score.tp, "fp": score.fp, "fn": score.fn, "support": score.support,
        "p_ci": _ci(score.p_ci), "r_ci": _ci(score.r_ci), "f_ci": _ci(score.f_ci),
    }
    if example_ids is not None:
        out["fp_examples"] = [example_ids[i] for i in score.fp_examples]
        out["fn_examples"] = [example_ids[i] for i in score.fn_examples]
    return out


def score_table_to_dict(table: ScoreTable, example_ids: Sequence[int]) -> dict[str, Any]:
    return {
        "variant": table.variant,
        "micro": label_score_to_dict(table.micro),
        "macro": {"p": table.macro_p, "r": table.macro_r, "f": table.macro_f, "f_ci": _ci(table.macro_f_ci)},
        "labels": {s.label: label_score_to_dict(s, example_ids) for s in table.labels},
    }


def pipeline_to_dict(result: PipelineResult) -> dict[str, Any]:
    strict = score_table_to_dict(result.scores, result.example_ids)
    speed = result.speed
    return {
        "kind": result.kind,
        "path": result.path,
        "task": result.task,
        "micro": strict["micro"],
        "macro": strict["macro"],
        "labels": strict["labels"],
        "match": result.scores.variant,
        "overlap": score_table_to_dict(result.overlap, result.example_ids) if result.overlap else None,
        "macro_auc": _num(result.macro_auc),
        "words_per_second": speed.words_per_second,
        "speed": {
            "words_per_second": speed.words_per_second, "words": speed.words, "docs": speed.docs,
            "seconds": speed.seconds, "latency_p50_ms": _num(speed.latency_p50_ms),
            "latency_p95_ms": _num(speed.latency_p95_ms), "timed_batches": speed.timed_batches,
            "batch_size": speed.batch_size, "method": speed.method,
        },
        "size_bytes": result.size_bytes,
        "n_params": result.n_params,
        "train_examples": result.train_examples,
        "eval_examples": result.eval_examples,
        "bootstrap": {"resamples": result.scores.resamples, "seed": result.scores.seed, "confidence": 0.95,
                      "unit": "document"},
        "training": dict(result.training),
    }


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "id": verdict.gate_id, "pipeline": verdict.pipeline, "passed": verdict.passed,
        "measured": _num(verdict.measured), "threshold": verdict.threshold, "op": verdict.op,
        "ci": _ci(verdict.ci), "message": verdict.message,
    }


def suite_to_dict(result: SuiteResult, *, created: str, harness_version: str) -> dict[str, Any]:
    """The JSON document written to ``reports/<suite>.json``."""
    gold = result.gold
    return {
        "schema": RESULTS_SCHEMA,
        "harness_version": harness_version,
        "created": created,
        "suite": {"name": result.name, "file": result.file},
        "gold": {"name": gold.name, "version": gold.version, "ref": gold.ref, "sha256": gold.sha256,
                 "task": gold.task, "train_examples": gold.train_examples, "eval_examples": gold.eval_examples},
        "pipelines": {name: pipeline_to_dict(p) for name, p in result.pipelines.items()},
        "errors": dict(result.errors),
        "gates": [verdict_to_dict(v) for v in result.verdicts],
        "passed": result.passed,
    }
