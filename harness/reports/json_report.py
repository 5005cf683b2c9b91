"""JSON results per suite (schema in docs/results-schema.md), written atomically, compact
(`python -m json.tool reports/x.json` indents one; the HTML report shows them)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.categories import suite_categories
from ..core.metrics import LabelScore, ScoreTable
from ..core.results import (
    BaselineComparison,
    Comparison,
    Difference,
    Flip,
    LLMStats,
    Output,
    PipelineResult,
    RegressionTest,
    SuiteResult,
    Verdict,
)
from ..core.stats import json_interval as _ci
from ..core.stats import json_number as _num
from ..core.tasks import task_of
from ..environment import environment
from ..io import atomic
from ..io.clock import now_iso
from ..options import CONFIDENCE, REPORT_EXAMPLES_CAP

RESULTS_SCHEMA = "distill-harness/results/v1"


def report_path(reports_dir: Path, suite_name: str) -> Path:
    """``reports/<suite>.json`` with the suite name made file-safe."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", suite_name)
    return reports_dir / f"{safe}.json"


def write_suite_json(reports_dir: str | Path, result: SuiteResult, path: str | Path | None = None) -> Path:
    """Write one suite's results (to ``path``, else ``reports/<suite>.json``); returns the path written."""
    target = Path(path) if path is not None else report_path(Path(reports_dir), result.name)
    atomic.write_json_compact(target, suite_to_dict(result, created=now_iso(), harness_version=__version__))
    return target


def label_score_to_dict(score: LabelScore, example_ids: Sequence[int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "p": score.p,
        "r": score.r,
        "f": score.f,
        "tp": score.tp,
        "fp": score.fp,
        "fn": score.fn,
        "support": score.support,
        "p_ci": _ci(score.p_ci),
        "r_ci": _ci(score.r_ci),
        "f_ci": _ci(score.f_ci),
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
            "words_per_second": _num(speed.words_per_second),
            "words": speed.words,
            "docs": speed.docs,
            "seconds": speed.seconds,
            "latency_p50_ms": _num(speed.latency_p50_ms),
            "latency_p95_ms": _num(speed.latency_p95_ms),
            "timed_batches": speed.timed_batches,
            "batch_size": speed.batch_size,
            "method": speed.method,
        },
        "size_bytes": result.size_bytes,
        "size_source": result.size_source,
        "n_params": result.n_params,
        "train_examples": result.train_examples,
        "eval_examples": result.eval_examples,
        "bootstrap": {"resamples": result.scores.resamples, "seed": result.scores.seed, "confidence": CONFIDENCE, "unit": "document"},
        "training": dict(result.training),
        "llm": llm_to_dict(result.llm) if result.llm is not None else None,
        "missing_predictions": result.missing_predictions,
        "warnings": list(result.warnings),
    }


def llm_to_dict(stats: LLMStats) -> dict[str, Any]:
    return {
        "mode": stats.mode,
        "simulated": stats.simulated,
        "model": dict(stats.model),
        "responses": stats.responses,
        "unparseable": stats.unparseable,
        "unparseable_share": stats.unparseable_share,
        "unparseable_examples": [{"text": t, "response": r} for t, r in stats.unparseable_examples],
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "tokens_estimated": stats.tokens_estimated,
        "cost_usd": _num(stats.cost_usd),
        "recorded_latency_p50_ms": _num(stats.recorded_latency_p50_ms),
        "recorded_latency_p95_ms": _num(stats.recorded_latency_p95_ms),
        "record_words_per_second": _num(stats.record_words_per_second),
        "calls_made": stats.calls_made,
        "cached": stats.cached,
        "failures": stats.failures,
    }


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "id": verdict.gate_id,
        "pipeline": verdict.pipeline,
        "passed": verdict.passed,
        "measured": _num(verdict.measured),
        "threshold": verdict.threshold,
        "op": verdict.op,
        "ci": _ci(verdict.ci),
        "message": verdict.message,
        "skipped": verdict.skipped,
        "baseline": _num(verdict.baseline),
        "delta": _num(verdict.delta),
        "p_value": _num(verdict.p_value),
        "p_adjusted": _num(verdict.p_adjusted),
        "noise": verdict.noise,
        "min_detectable_drop": _num(verdict.min_detectable),
        "warning": verdict.warning,
        "decision": verdict.decision,
    }


def regression_test_to_dict(t: RegressionTest) -> dict[str, Any]:
    """One scope against the blessed configuration (see harness.core.noise)."""
    return {
        "scope": t.scope,
        "support": t.support,
        "current_f": t.current_f,
        "reference_f": t.reference_f,
        "blessed_f": t.blessed_f,
        "models": t.models,
        "reference_range": _ci(t.reference_range),
        "train_sd": _num(t.train_sd),
        "se_eval": t.se_eval,
        "se": t.se,
        "diff": t.diff,
        "ci": _ci(t.ci),
        "p_value": t.p_value,
        "noise": t.sources,
    }


def _difference(d: Difference) -> dict[str, Any]:
    return {"a_f": d.a_f, "b_f": d.b_f, "diff": d.diff, "ci": _ci(d.ci), "significant": d.significant}


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    """``a`` minus ``b`` (e.g. distilled minus LLM), paired bootstrap CIs."""
    return {
        "a": c.a,
        "b": c.b,
        "micro": _difference(c.micro),
        "macro": _difference(c.macro),
        "labels": {d.label: _difference(d) for d in c.labels},
        "speed_ratio": _num(c.speed_ratio),
        "size_ratio": _num(c.size_ratio),
        "bootstrap": {"resamples": c.resamples, "seed": c.seed, "paired": True},
    }


def _annotation(value: Output) -> object:
    if isinstance(value, dict):
        return {k: float(v) for k, v in value.items()}
    return [list(span) for span in value]


def _browser_annotation(value: Output) -> object:
    """An annotation for the example browser (display only; baselines keep them exact):
    label scores of at least 0.01, to 3 decimals; a label left out scored below that."""
    if isinstance(value, dict):
        return {k: round(float(v), 3) for k, v in value.items() if float(v) >= 0.01}
    return [list(span) for span in value]


def flip_to_dict(flip: Flip) -> dict[str, Any]:
    return {
        "label": flip.label,
        "input_hash": flip.input_hash,
        "broken": flip.broken,
        "text": flip.text,
        "gold": _annotation(flip.gold),
        "baseline": _annotation(flip.baseline),
        "current": _annotation(flip.current),
    }


def baseline_to_dict(b: BaselineComparison) -> dict[str, Any]:
    """Current minus the blessed baseline, paired on the examples whose gold is unchanged."""
    return {
        "file": b.baseline_file,
        "blessed": b.blessed,
        "baseline_gold": b.baseline_gold,
        "compared": b.compared,
        "eval_examples": b.eval_examples,
        "changed_gold": b.changed,
        "not_in_baseline": b.unseen,
        "identical_model": b.identical_model,
        "identical_predictions": b.identical_predictions,
        "differing_predictions": b.differing_predictions,
        "problem": b.problem,
        "comparison": comparison_to_dict(b.comparison) if b.comparison is not None else None,
        "baseline_words_per_second": _num(b.baseline_words_per_second),
        "baseline_size_bytes": b.baseline_size_bytes,
        "same_machine": b.same_machine,
        "newly_broken": len(b.broken),
        "newly_fixed": len(b.fixed),
        "flips": [flip_to_dict(f) for f in b.flips],
        "replicates": b.replicates,
        "tests": [regression_test_to_dict(t) for t in b.tests],
    }


def _example_items(result: SuiteResult, cap: int, categories: Mapping[int, str]) -> dict[str, Any]:
    """Every eval example (up to ``cap``, failing ones first) with each pipeline's answer,
    its errors by kind, the queue category and the labels newly broken since the baseline."""
    task = result.gold.task
    kind = task_of(task)
    pipelines = result.pipelines
    distilled = result.distilled
    broken: dict[int, list[str]] = {}
    if distilled is not None and distilled in result.baselines:
        for flip in result.baselines[distilled].broken:
            broken.setdefault(flip.input_hash, []).append(flip.label)
    unanswered = {name: set(p.unanswered) for name, p in pipelines.items()}  # once, not per example
    items: list[dict[str, Any]] = []
    for i, example in enumerate(result.examples):
        predictions: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, p in pipelines.items():
            if i >= len(p.outputs) or p.example_ids[i] != example.input_hash:
                continue  # a result on another split order (never from a session); nothing to show
            answered = i not in unanswered[name]
            predictions[name] = _browser_annotation(p.outputs[i]) if answered else None
            errors[name] = kind.errors(example.gold, p.outputs[i] if answered else None, result.threshold)
            for error in errors[name]:
                if "score" in error:
                    error["score"] = round(error["score"], 3)
        items.append(
            {
                "input_hash": example.input_hash,
                "text": example.text,
                "gold": _browser_annotation(example.gold),
                "predictions": predictions,
                "errors": errors,
                "category": categories.get(example.input_hash),
                "broken": sorted(broken.get(example.input_hash, [])),
            }
        )
    total = len(items)
    if total > cap:
        # Failing examples first (what a reviewer looks for), then the rest, in split order.
        items = sorted(items, key=lambda item: not any(item["errors"].values()))[:cap]
    return {
        "total": total,
        "included": len(items),
        "cap": cap,
        "order": "eval split order" if total <= cap else "failing first, then eval split order",
        "items": items,
    }


def _confusions(result: SuiteResult) -> dict[str, Any]:
    kind = task_of(result.gold.task)
    labels = sorted({s.label for p in result.pipelines.values() for s in p.scores.labels})
    out = {}
    for name, p in result.pipelines.items():
        if len(p.outputs) != len(result.examples):
            continue
        unanswered = set(p.unanswered)
        errors = [kind.errors(e.gold, None if i in unanswered else p.outputs[i], result.threshold) for i, e in enumerate(result.examples)]
        out[name] = kind.confusion(errors, labels)
    return out


def behaviour_case_to_dict(case: Any) -> dict[str, Any]:
    return {
        "input_hash": case.input_hash,
        "original": case.original,
        "text": case.text,
        "change": case.change,
        "expected": _browser_annotation(case.expected),
        "predicted": _browser_annotation(case.predicted),
        "passed": case.passed,
    }


def behaviour_to_dict(result: Any) -> dict[str, Any]:
    """One behavioural check: pass rate over the generated cases, its 95% Wilson CI, shrunk failures."""
    return {
        "pipeline": result.pipeline,
        "check": result.check,
        "cases": result.cases,
        "passed": result.passed,
        "pass_rate": _num(result.pass_rate),
        "ci": _ci(result.ci),
        "min_pass_rate": result.min_pass_rate,
        "skipped": result.skipped,
        "note": result.note,
        "seconds": round(result.seconds, 3),
        "shrunk": [behaviour_case_to_dict(c) for c in result.shrunk],
        "failures": [behaviour_case_to_dict(c) for c in result.failures],
    }


def suite_to_dict(result: SuiteResult, *, created: str, harness_version: str, categories: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The JSON document written to ``reports/<suite>.json`` (``categories``: the run's queue
    categories, :func:`~harness.core.categories.suite_categories`, computed here when not given)."""
    categories = suite_categories(result) if categories is None else categories
    gold = result.gold
    return {
        "schema": RESULTS_SCHEMA,
        "harness_version": harness_version,
        "environment": environment(),
        "created": created,
        "suite": {"name": result.name, "file": result.file},
        "gold": {
            "name": gold.name,
            "version": gold.version,
            "ref": gold.ref,
            "sha256": gold.sha256,
            "task": gold.task,
            "train_examples": gold.train_examples,
            "eval_examples": gold.eval_examples,
        },
        "pipelines": {name: pipeline_to_dict(p) for name, p in result.pipelines.items()},
        "errors": dict(result.errors),
        "gates": [verdict_to_dict(v) for v in result.verdicts],
        "comparisons": [comparison_to_dict(c) for c in result.comparisons],
        "baselines": {name: baseline_to_dict(b) for name, b in result.baselines.items()},
        "baseline_problem": result.baseline_problem,
        "threshold": result.threshold,
        "behaviour": [behaviour_to_dict(b) for b in result.behaviour],
        "confusion": _confusions(result),
        "examples": _example_items(result, REPORT_EXAMPLES_CAP, categories),
        "passed": result.passed,
        "status": result.status,  # PASSED | FAILED | INCOMPLETE
        "incomplete": result.incomplete,  # why not every gate was judged (interrupted, deselected, no gates)
        "gates_total": result.gates_total,
    }
