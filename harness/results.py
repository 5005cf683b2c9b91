"""Frozen result types and their JSON form (documented in docs/results-schema.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .metrics import Counts, LabelScore, ScoreTable

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
class LLMStats:
    """What is particular to an LLM pipeline (figures from the run and its cassette)."""

    mode: str  # replay | record | live
    simulated: bool
    model: Mapping[str, Any]
    responses: int
    unparseable: int  # empty answers or answers the task's parser takes nothing from
    unparseable_examples: tuple[tuple[str, str], ...]  # (text, response) of the first few
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool  # True when the backend reported no usage (chars / 4)
    cost_usd: float | None
    recorded_latency_p50_ms: float | None
    recorded_latency_p95_ms: float | None
    record_words_per_second: float | None  # words / sum of recorded latencies (sequential)
    calls_made: int
    cached: int
    failures: int

    @property
    def unparseable_share(self) -> float:
        return self.unparseable / self.responses if self.responses else 0.0


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
    size_source: str = "disk"  # disk | declared | unknown
    llm: LLMStats | None = None
    missing_predictions: int = 0  # imported predictions: eval examples without one
    counts: Mapping[str, Counts] = field(default_factory=dict)  # per label, for paired comparisons
    # Per example (same order as example_ids): spans tuples (NER) or cats dicts, for the queue.
    outputs: tuple[Any, ...] = ()

    @property
    def words_per_second(self) -> float:
        """The speed a user gets: for an LLM, the recorded calls' (replaying a cassette
        is not running the model); for anything else, the measured speed."""
        if self.llm is not None and self.llm.record_words_per_second is not None:
            return self.llm.record_words_per_second
        return self.speed.words_per_second


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
class Difference:
    """F of a, F of b, a - b and its paired 95% CI."""

    label: str
    a_f: float
    b_f: float
    diff: float
    ci: tuple[float, float]

    @property
    def significant(self) -> bool:
        """The CI excludes zero."""
        return not math.isnan(self.ci[0]) and (self.ci[0] > 0 or self.ci[1] < 0)


@dataclass(frozen=True)
class Comparison:
    """``a`` (e.g. the distilled model) against ``b`` (e.g. the LLM)."""

    a: str
    b: str
    micro: Difference
    macro: Difference
    labels: tuple[Difference, ...]
    speed_ratio: float | None  # words/s of a over b
    size_ratio: float | None  # size of a over b
    resamples: int
    seed: int

    def label(self, name: str) -> Difference:
        for difference in self.labels:
            if difference.label == name:
                return difference
        raise KeyError(name)


@dataclass(frozen=True)
class SuiteResult:
    """One suite's gold, pipeline results (or errors) and gate verdicts."""

    name: str
    file: str
    gold: GoldInfo
    pipelines: Mapping[str, PipelineResult]
    errors: Mapping[str, str]
    verdicts: Sequence[Verdict]
    comparisons: Sequence[Comparison] = ()

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
        "words_per_second": _num(result.words_per_second),
        "speed": {
            "words_per_second": _num(speed.words_per_second), "words": speed.words, "docs": speed.docs,
            "seconds": speed.seconds, "latency_p50_ms": _num(speed.latency_p50_ms),
            "latency_p95_ms": _num(speed.latency_p95_ms), "timed_batches": speed.timed_batches,
            "batch_size": speed.batch_size, "method": speed.method,
        },
        "size_bytes": result.size_bytes,
        "size_source": result.size_source,
        "n_params": result.n_params,
        "train_examples": result.train_examples,
        "eval_examples": result.eval_examples,
        "bootstrap": {"resamples": result.scores.resamples, "seed": result.scores.seed, "confidence": 0.95,
                      "unit": "document"},
        "training": dict(result.training),
        "llm": llm_to_dict(result.llm) if result.llm is not None else None,
        "missing_predictions": result.missing_predictions,
    }


def llm_to_dict(stats: LLMStats) -> dict[str, Any]:
    return {
        "mode": stats.mode, "simulated": stats.simulated, "model": dict(stats.model),
        "responses": stats.responses, "unparseable": stats.unparseable, "unparseable_share": stats.unparseable_share,
        "unparseable_examples": [{"text": t, "response": r} for t, r in stats.unparseable_examples],
        "prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.completion_tokens,
        "tokens_estimated": stats.tokens_estimated, "cost_usd": _num(stats.cost_usd),
        "recorded_latency_p50_ms": _num(stats.recorded_latency_p50_ms),
        "recorded_latency_p95_ms": _num(stats.recorded_latency_p95_ms),
        "record_words_per_second": _num(stats.record_words_per_second),
        "calls_made": stats.calls_made, "cached": stats.cached, "failures": stats.failures,
    }


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "id": verdict.gate_id, "pipeline": verdict.pipeline, "passed": verdict.passed,
        "measured": _num(verdict.measured), "threshold": verdict.threshold, "op": verdict.op,
        "ci": _ci(verdict.ci), "message": verdict.message,
    }


def _difference(d: Difference) -> dict[str, Any]:
    return {"a_f": d.a_f, "b_f": d.b_f, "diff": d.diff, "ci": _ci(d.ci), "significant": d.significant}


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    """``a`` minus ``b`` (e.g. distilled minus LLM), paired bootstrap CIs."""
    return {
        "a": c.a, "b": c.b, "micro": _difference(c.micro), "macro": _difference(c.macro),
        "labels": {d.label: _difference(d) for d in c.labels},
        "speed_ratio": _num(c.speed_ratio), "size_ratio": _num(c.size_ratio),
        "bootstrap": {"resamples": c.resamples, "seed": c.seed, "paired": True},
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
        "comparisons": [comparison_to_dict(c) for c in result.comparisons],
        "passed": result.passed,
    }
